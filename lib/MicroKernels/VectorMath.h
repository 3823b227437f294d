//===- VectorMath.h - Vector helpers shared by the f32 micro-kernels -*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// What the attention softmax and the fused rms_norm / SiLU kernels share on
// x86: the vector exp, expY (AVX2, 8 lanes) and expZ (AVX-512, 16 lanes),
// AVX2's tail mask (firstLanesY) and horizontal sum (reduceAddY). All carry
// target attributes and are always inlined, so their callers need at least
// the same targets (avx2,fma for the Y ones; avx512f,avx512vl,fma for expZ).
//
// The vector exp is Cephes' expf: x clamped to [-88, 88], n = round(x
// log2(e)), r = x - n ln2 in two parts (n * kLn2Hi is exact), e^r by a
// degree-7 polynomial, times 2^n added to the exponent bits. Results below
// FLT_MIN (x < ln FLT_MIN) are flushed to zero: the exponent addition would
// make garbage of them, and softmax terms that small vanish next to the
// maximum's 1 anyway. NaN propagates (the clamps keep it). Above 88 the
// result is e^88, not infinity.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_MICROKERNELS_VECTORMATH_H
#define HAQA_LIB_MICROKERNELS_VECTORMATH_H

#if defined(__x86_64__)

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace mlir::haqa::uk {

constexpr float kExpLo = -88.0f, kExpHi = 88.0f;
constexpr float kLog2E = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kLnFltMin = -87.3365447505531f;
constexpr float kExpP[6] = {1.9875691500E-4f, 1.3981999507E-3f,
                            8.3334519073E-3f, 4.1665795894E-2f,
                            1.6666665459E-1f, 5.0000001201E-1f};

#define HAQA_UK_VEXP_AVX2                                                      \
  __attribute__((target("avx2,fma"))) inline __attribute__((always_inline))
#define HAQA_UK_VEXP_AVX512                                                    \
  __attribute__((target("avx512f,avx512vl,fma"))) inline                       \
      __attribute__((always_inline))

/// Lanes [0, count) set, count clamped to [0, 8].
HAQA_UK_VEXP_AVX2 __m256i firstLanesY(int64_t count) {
  const int c = static_cast<int>(std::clamp<int64_t>(count, 0, 8));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// The sum of the 8 lanes.
HAQA_UK_VEXP_AVX2 float reduceAddY(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

HAQA_UK_VEXP_AVX2 __m256 expY(__m256 x) {
  const __m256 xc = _mm256_min_ps(_mm256_set1_ps(kExpHi),
                                  _mm256_max_ps(_mm256_set1_ps(kExpLo), x));
  const __m256 fx =
      _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2E)),
                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpP[0]);
  for (int i = 1; i < 6; ++i)
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP[i]));
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r),
                                 _mm256_set1_ps(1.0f));
  const __m256i n = _mm256_slli_epi32(_mm256_cvtps_epi32(fx), 23);
  const __m256 e =
      _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), n));
  return _mm256_andnot_ps(
      _mm256_cmp_ps(x, _mm256_set1_ps(kLnFltMin), _CMP_LT_OQ), e);
}

// GCC 12 warns that the self-initialized _mm512_undefined_* inside the
// intrinsics "may be used uninitialized"; they are meant to be undefined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

HAQA_UK_VEXP_AVX512 __m512 expZ(__m512 x) {
  const __m512 xc = _mm512_min_ps(_mm512_set1_ps(kExpHi),
                                  _mm512_max_ps(_mm512_set1_ps(kExpLo), x));
  const __m512 fx =
      _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2E)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpP[0]);
  for (int i = 1; i < 6; ++i)
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP[i]));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r),
                                 _mm512_set1_ps(1.0f));
  const __m512i n = _mm512_slli_epi32(_mm512_cvtps_epi32(fx), 23);
  const __mmask16 normal =
      _mm512_cmp_ps_mask(x, _mm512_set1_ps(kLnFltMin), _CMP_NLT_UQ);
  return _mm512_maskz_mov_ps(
      normal, _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(y), n)));
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#undef HAQA_UK_VEXP_AVX512
#undef HAQA_UK_VEXP_AVX2

} // namespace mlir::haqa::uk

#endif // __x86_64__

#endif // HAQA_LIB_MICROKERNELS_VECTORMATH_H
