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

/// Q4_K / Q6_K: `blocks` activation blocks, blocks / 8 super-blocks; per
/// activation block b = 8 s + j of super-block s (see MicroKernels.h):
///   Q4_K: acc += (d * sc_j) * x.d * sumi - (dmin * m_j) * x.s;
///   Q6_K: acc += d * x.d * (sc_a * sumi_a + sc_b * sumi_b).
template <class F, int MR, int NR>
void scalarKQuantKernel(const uint8_t *w, int64_t wrb, const uint8_t *x,
                        int64_t xrb, float *y, int64_t ys, int64_t blocks) {
  float acc[MR][NR] = {};
  for (int64_t s = 0; s < blocks / kSuperBlockBlocks; ++s) {
    for (int m = 0; m < MR; ++m) {
      for (int n = 0; n < NR; ++n) {
        const uint8_t *wb = w + n * wrb + s * F::kBytes;
        const float d = halfToFloat(load16(wb + F::kDOffset));
        for (int j = 0; j < 8; ++j) {
          const uint8_t *xb = x + m * xrb + (8 * s + j) * kXBytes;
          const float dx = halfToFloat(load16(xb));
          const int8_t *xq = reinterpret_cast<const int8_t *>(xb + kXQsOffset);
          if constexpr (std::is_same_v<F, Q4_K>) {
            // Sub-block j: nibble j % 2 of qs[32 (j / 2) + l].
            const uint8_t *qs = wb + F::kQsOffset + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            int sumi = 0;
            for (int l = 0; l < 32; ++l)
              sumi += ((qs[l] >> shift) & 15) * xq[l];
            int sc, mn;
            q4KScaleMin(j, wb + F::kScalesOffset, sc, mn);
            const float dmin = halfToFloat(load16(wb + F::kDMinOffset));
            const float sx = halfToFloat(load16(xb + 2));
            acc[m][n] +=
                (d * static_cast<float>(sc)) * dx * static_cast<float>(sumi) -
                (dmin * static_cast<float>(mn)) * sx;
          } else {
            // Group (h, c) = (j / 4, j % 4).
            const int h = j / 4, c = j % 4;
            const uint8_t *ql = wb + F::kQlOffset + 64 * h + 32 * (c & 1);
            const uint8_t *qh = wb + F::kQhOffset + 32 * h;
            const int8_t *sc =
                reinterpret_cast<const int8_t *>(wb + F::kScalesOffset) +
                8 * h + 2 * c;
            int sumi[2] = {0, 0};
            for (int l = 0; l < 32; ++l) {
              const int q = ((ql[l] >> (4 * (c >> 1))) & 15) |
                            (((qh[l] >> (2 * c)) & 3) << 4);
              sumi[l / 16] += (q - 32) * xq[l];
            }
            acc[m][n] +=
                d * dx * static_cast<float>(sc[0] * sumi[0] + sc[1] * sumi[1]);
          }
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
HAQA_UK_DEFINE_KQUANT_DOTS(scalarKQuantKernel, scalar)
