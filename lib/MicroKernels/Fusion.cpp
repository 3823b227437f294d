//===- Fusion.cpp - Micro-kernels fused around a matmul -------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa_uk_rms_norm_f32_<isa> (the RMS norm prologue of a matmul) and
// haqa_uk_epilogue_f32_<isa> (its SiLU-gate and residual epilogue), every
// ISA variant in this file. The scalar variants are the reference (std::exp);
// the x86 ones carry per-function target attributes like the rest of the
// library, keep per-lane partial sums of the squares and use the polynomial
// exp of VectorMath.h. Vector tails are masked.
//
//===----------------------------------------------------------------------===//

#include "MicroKernelsImpl.h"
#include "VectorMath.h"
#include "haqa/MicroKernels/MicroKernels.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>

using ::mlir::haqa::uk::expY;
using ::mlir::haqa::uk::expZ;
using ::mlir::haqa::uk::firstLanes16;
using ::mlir::haqa::uk::firstLanesY;
using ::mlir::haqa::uk::reduceAddY;
#endif

namespace {

/// The scale of a row whose squares sum to `ss` over k values; every
/// variant computes it the same way, in float.
inline float rmsScale(float ss, int64_t k, float eps) {
  return 1.0f / std::sqrt(ss / static_cast<float>(k) + eps);
}

/// The epilogue of rows [0, rows) x columns [0, len), every pointer at
/// column n0 of row 0; gate / residual are used only where the template says.
using EpilogueRows = void (*)(float *y, int64_t ys, const float *g, int64_t gs,
                              const float *r, int64_t rs, int64_t rows,
                              int64_t len);

/// The variants of one ISA, [gate != null][residual != null].
using EpilogueTable = EpilogueRows[2][2];

#define HAQA_UK_EPILOGUE_TABLE(K)                                              \
  {                                                                            \
    {nullptr, K<false, true>}, { K<true, false>, K<true, true> }               \
  }

void runEpilogue(const EpilogueTable &table, float *y, int64_t yStride,
                 const float *gate, int64_t gateStride, const float *residual,
                 int64_t residualStride, int64_t rows, int64_t n0, int64_t n1) {
  if (rows <= 0 || n1 <= n0 || (!gate && !residual))
    return;
  table[gate != nullptr][residual != nullptr](
      y + n0, yStride, gate ? gate + n0 : nullptr, gateStride,
      residual ? residual + n0 : nullptr, residualStride, rows, n1 - n0);
}

void rmsNormScalar(const float *x, int64_t xStride, const float *w, float *y,
                   int64_t yStride, int64_t rows, int64_t k, float eps) {
  if (k <= 0)
    return;
  for (int64_t m = 0; m < rows; ++m) {
    const float *xm = x + m * xStride;
    float *ym = y + m * yStride;
    float ss = 0.0f;
    for (int64_t i = 0; i < k; ++i)
      ss += xm[i] * xm[i];
    const float r = rmsScale(ss, k, eps);
    for (int64_t i = 0; i < k; ++i)
      ym[i] = xm[i] * r * w[i];
  }
}

template <bool Gate, bool Residual>
void epilogueScalar(float *y, int64_t ys, const float *g, int64_t gs,
                    const float *r, int64_t rs, int64_t rows, int64_t len) {
  for (int64_t m = 0; m < rows; ++m) {
    float *ym = y + m * ys;
    for (int64_t i = 0; i < len; ++i) {
      float v = ym[i];
      if constexpr (Gate) {
        const float gv = g[m * gs + i];
        v = gv / (1.0f + std::exp(-gv)) * v;
      }
      if constexpr (Residual)
        v = v + r[m * rs + i];
      ym[i] = v;
    }
  }
}

} // namespace

#if defined(__x86_64__)

//===----------------------------------------------------------------------===//
// AVX2: 256 bits
//===----------------------------------------------------------------------===//

#define HAQA_UK_AVX2 __attribute__((target("avx2,fma")))
#define HAQA_UK_AVX2_INLINE HAQA_UK_AVX2 inline __attribute__((always_inline))

namespace {

/// g / (1 + exp(-g)), lane by lane.
HAQA_UK_AVX2_INLINE __m256 siluY(__m256 g) {
  const __m256 negG = _mm256_xor_ps(g, _mm256_set1_ps(-0.0f));
  return _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), expY(negG)));
}

HAQA_UK_AVX2 void rmsNormY(const float *x, int64_t xStride, const float *w,
                           float *y, int64_t yStride, int64_t rows, int64_t k,
                           float eps) {
  if (k <= 0)
    return;
  const int64_t kFull = k & ~int64_t(7);
  const __m256i tail = firstLanesY(k - kFull);
  for (int64_t m = 0; m < rows; ++m) {
    const float *xm = x + m * xStride;
    float *ym = y + m * yStride;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
      const __m256 a = _mm256_loadu_ps(xm + i), b = _mm256_loadu_ps(xm + i + 8);
      s0 = _mm256_fmadd_ps(a, a, s0);
      s1 = _mm256_fmadd_ps(b, b, s1);
    }
    if (i < kFull) {
      const __m256 a = _mm256_loadu_ps(xm + i);
      s0 = _mm256_fmadd_ps(a, a, s0);
    }
    if (kFull < k) {
      const __m256 a = _mm256_maskload_ps(xm + kFull, tail);
      s1 = _mm256_fmadd_ps(a, a, s1);
    }
    const __m256 r =
        _mm256_set1_ps(rmsScale(reduceAddY(_mm256_add_ps(s0, s1)), k, eps));
    for (i = 0; i < kFull; i += 8)
      _mm256_storeu_ps(ym + i,
                       _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xm + i), r),
                                     _mm256_loadu_ps(w + i)));
    if (kFull < k)
      _mm256_maskstore_ps(
          ym + kFull, tail,
          _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(xm + kFull, tail), r),
                        _mm256_maskload_ps(w + kFull, tail)));
  }
}

/// The epilogue of 8 columns; mask-loaded lanes of a tail are zeros, whose
/// results the caller does not store.
template <bool Gate, bool Residual>
HAQA_UK_AVX2_INLINE __m256 epilogueY(__m256 v, __m256 g, __m256 r) {
  if constexpr (Gate)
    v = _mm256_mul_ps(siluY(g), v);
  if constexpr (Residual)
    v = _mm256_add_ps(v, r);
  return v;
}

template <bool Gate, bool Residual>
HAQA_UK_AVX2 void epilogueRowsY(float *y, int64_t ys, const float *g,
                                int64_t gs, const float *r, int64_t rs,
                                int64_t rows, int64_t len) {
  const int64_t full = len & ~int64_t(7);
  const __m256i tail = firstLanesY(len - full);
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t m = 0; m < rows; ++m) {
    float *ym = y + m * ys;
    const float *gm = Gate ? g + m * gs : nullptr;
    const float *rm = Residual ? r + m * rs : nullptr;
    for (int64_t i = 0; i < full; i += 8)
      _mm256_storeu_ps(ym + i, epilogueY<Gate, Residual>(
                                   _mm256_loadu_ps(ym + i),
                                   Gate ? _mm256_loadu_ps(gm + i) : zero,
                                   Residual ? _mm256_loadu_ps(rm + i) : zero));
    if (full < len)
      _mm256_maskstore_ps(
          ym + full, tail,
          epilogueY<Gate, Residual>(
              _mm256_maskload_ps(ym + full, tail),
              Gate ? _mm256_maskload_ps(gm + full, tail) : zero,
              Residual ? _mm256_maskload_ps(rm + full, tail) : zero));
  }
}

} // namespace

#undef HAQA_UK_AVX2_INLINE
#undef HAQA_UK_AVX2

//===----------------------------------------------------------------------===//
// AVX-512: 512 bits, masked tails
//===----------------------------------------------------------------------===//

// GCC 12 warns that the self-initialized _mm512_undefined_* inside the
// intrinsics "may be used uninitialized"; they are meant to be undefined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define HAQA_UK_AVX512 __attribute__((target("avx512f,avx512vl,fma")))
#define HAQA_UK_AVX512_INLINE                                                  \
  HAQA_UK_AVX512 inline __attribute__((always_inline))

namespace {

/// g / (1 + exp(-g)), lane by lane.
HAQA_UK_AVX512_INLINE __m512 siluZ(__m512 g) {
  const __m512 negG = _mm512_castsi512_ps(
      _mm512_xor_si512(_mm512_castps_si512(g), _mm512_set1_epi32(INT32_MIN)));
  return _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), expZ(negG)));
}

HAQA_UK_AVX512 void rmsNormZ(const float *x, int64_t xStride, const float *w,
                             float *y, int64_t yStride, int64_t rows, int64_t k,
                             float eps) {
  if (k <= 0)
    return;
  const int64_t kFull = k & ~int64_t(15);
  const __mmask16 tail = firstLanes16(k - kFull);
  for (int64_t m = 0; m < rows; ++m) {
    const float *xm = x + m * xStride;
    float *ym = y + m * yStride;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
      const __m512 a = _mm512_loadu_ps(xm + i),
                   b = _mm512_loadu_ps(xm + i + 16);
      s0 = _mm512_fmadd_ps(a, a, s0);
      s1 = _mm512_fmadd_ps(b, b, s1);
    }
    if (i < kFull) {
      const __m512 a = _mm512_loadu_ps(xm + i);
      s0 = _mm512_fmadd_ps(a, a, s0);
    }
    if (kFull < k) {
      const __m512 a = _mm512_maskz_loadu_ps(tail, xm + kFull);
      s1 = _mm512_fmadd_ps(a, a, s1);
    }
    const __m512 r = _mm512_set1_ps(
        rmsScale(_mm512_reduce_add_ps(_mm512_add_ps(s0, s1)), k, eps));
    for (i = 0; i < kFull; i += 16)
      _mm512_storeu_ps(ym + i,
                       _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(xm + i), r),
                                     _mm512_loadu_ps(w + i)));
    if (kFull < k)
      _mm512_mask_storeu_ps(
          ym + kFull, tail,
          _mm512_mul_ps(
              _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, xm + kFull), r),
              _mm512_maskz_loadu_ps(tail, w + kFull)));
  }
}

/// The epilogue of 16 columns under `mask` (all ones but in a tail).
template <bool Gate, bool Residual>
HAQA_UK_AVX512_INLINE void epilogueZ(float *y, const float *g, const float *r,
                                     __mmask16 mask) {
  __m512 v = _mm512_maskz_loadu_ps(mask, y);
  if constexpr (Gate)
    v = _mm512_mul_ps(siluZ(_mm512_maskz_loadu_ps(mask, g)), v);
  if constexpr (Residual)
    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, r));
  _mm512_mask_storeu_ps(y, mask, v);
}

template <bool Gate, bool Residual>
HAQA_UK_AVX512 void epilogueRowsZ(float *y, int64_t ys, const float *g,
                                  int64_t gs, const float *r, int64_t rs,
                                  int64_t rows, int64_t len) {
  const int64_t full = len & ~int64_t(15);
  const __mmask16 tail = firstLanes16(len - full);
  for (int64_t m = 0; m < rows; ++m) {
    float *ym = y + m * ys;
    const float *gm = Gate ? g + m * gs : nullptr;
    const float *rm = Residual ? r + m * rs : nullptr;
    for (int64_t i = 0; i < full; i += 16)
      epilogueZ<Gate, Residual>(ym + i, Gate ? gm + i : nullptr,
                                Residual ? rm + i : nullptr, 0xffff);
    if (full < len)
      epilogueZ<Gate, Residual>(ym + full, Gate ? gm + full : nullptr,
                                Residual ? rm + full : nullptr, tail);
  }
}

} // namespace

#undef HAQA_UK_AVX512_INLINE
#undef HAQA_UK_AVX512

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif // __x86_64__

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

#define HAQA_UK_DEFINE_FUSION(isa, rmsNorm, epilogue)                          \
  extern "C" void haqa_uk_rms_norm_f32_##isa(                                  \
      const float *x, int64_t x_stride, const float *w, float *y,              \
      int64_t y_stride, int64_t rows, int64_t k, float eps) {                  \
    rmsNorm(x, x_stride, w, y, y_stride, rows, k, eps);                        \
  }                                                                            \
  extern "C" void haqa_uk_epilogue_f32_##isa(                                  \
      float *y, int64_t y_stride, const float *gate, int64_t gate_stride,      \
      const float *residual, int64_t residual_stride, int64_t rows,            \
      int64_t n0, int64_t n1) {                                                \
    static const EpilogueTable table = HAQA_UK_EPILOGUE_TABLE(epilogue);       \
    runEpilogue(table, y, y_stride, gate, gate_stride, residual,               \
                residual_stride, rows, n0, n1);                                \
  }

HAQA_UK_DEFINE_FUSION(scalar, rmsNormScalar, epilogueScalar)
#if defined(__x86_64__)
// AVX-VNNI hosts have AVX2 and FMA, and these kernels have no int8 dots.
HAQA_UK_DEFINE_FUSION(avx2, rmsNormY, epilogueRowsY)
HAQA_UK_DEFINE_FUSION(avxvnni, rmsNormY, epilogueRowsY)
HAQA_UK_DEFINE_FUSION(avx512vnni, rmsNormZ, epilogueRowsZ)
#endif

#undef HAQA_UK_DEFINE_FUSION
#undef HAQA_UK_EPILOGUE_TABLE
