//===- MicroKernelsScalar.cpp - Reference micro-kernels ------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The scalar variants: plain C++, the reference the vector variants are
// tested against, and what non-x86 hosts run.
//
//===----------------------------------------------------------------------===//

#include "MicroKernelsImpl.h"
#include "haqa/MicroKernels/MicroKernels.h"

#include <cmath>
#include <type_traits>

using namespace mlir::haqa::uk;

namespace {

void quantizeBlock(const float *x, uint8_t *out) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) {
    float a = std::fabs(x[j]);
    if (a > amax) // NaN never wins
      amax = a;
  }
  float d = amax / 127.0f;
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    float v = x[j] * id;
    if (!(v == v))
      v = 0.0f;
    v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
    int q = static_cast<int>(std::roundf(v));
    out[kXQsOffset + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    sum += q;
  }
  store16(out, floatToHalf(d));
  store16(out + 2, floatToHalf(d * static_cast<float>(sum)));
}

/// The integer dot of one weight block with one activation block.
template <class F> int blockDot(const uint8_t *wb, const int8_t *xq) {
  const uint8_t *qs = wb + F::kQsOffset;
  int sumi = 0;
  if constexpr (std::is_same_v<F, Q8_0>) {
    for (int j = 0; j < 32; ++j)
      sumi += static_cast<int8_t>(qs[j]) * xq[j];
  } else {
    constexpr int bias = std::is_same_v<F, Q4_0> ? 8 : 0;
    for (int j = 0; j < 16; ++j)
      sumi +=
          ((qs[j] & 15) - bias) * xq[j] + ((qs[j] >> 4) - bias) * xq[j + 16];
  }
  return sumi;
}

template <class F, int MR, int NR>
void scalarKernel(const uint8_t *w, int64_t wrb, const uint8_t *x, int64_t xrb,
                  float *y, int64_t ys, int64_t blocks) {
  float acc[MR][NR] = {};
  for (int64_t b = 0; b < blocks; ++b) {
    for (int m = 0; m < MR; ++m) {
      const uint8_t *xb = x + m * xrb + b * kXBytes;
      const float dx = halfToFloat(load16(xb));
      const float sx = halfToFloat(load16(xb + 2));
      const int8_t *xq = reinterpret_cast<const int8_t *>(xb + kXQsOffset);
      for (int n = 0; n < NR; ++n) {
        const uint8_t *wb = w + n * wrb + b * F::kBytes;
        const float dw = halfToFloat(load16(wb));
        const int sumi = blockDot<F>(wb, xq);
        if constexpr (std::is_same_v<F, Q4_1>) {
          const float mw = halfToFloat(load16(wb + 2));
          acc[m][n] += dw * dx * static_cast<float>(sumi) + mw * sx;
        } else {
          acc[m][n] += dw * dx * static_cast<float>(sumi);
        }
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NR; ++n)
      y[m * ys + n] = acc[m][n];
}

} // namespace

extern "C" void haqa_uk_quantize_q8_scalar(const float *x, int64_t x_stride,
                                           int64_t rows, int64_t k,
                                           uint8_t *out,
                                           int64_t out_row_bytes) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < k / 32; ++b)
      quantizeBlock(x + r * x_stride + b * 32,
                    out + r * out_row_bytes + b * kXBytes);
}

HAQA_UK_DEFINE_DOTS(scalarKernel, scalar)
