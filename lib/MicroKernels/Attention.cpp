//===- Attention.cpp - Causal grouped-query attention micro-kernels -------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa_uk_attention_f32_<isa>, every ISA variant in this file. One driver
// walks the work units (a query row of one head) and calls the unit kernel
// of its ISA, which makes two passes over the visible cache rows: the scores
// into a scratch buffer shared by all units of the call, turned into exp in
// place, then P.V into registers, divided by the sum once at the end. The x86
// kernels carry per-function target attributes like the rest of the library.
//
//===----------------------------------------------------------------------===//

#include "MicroKernelsImpl.h"
#include "VectorMath.h"
#include "haqa/MicroKernels/MicroKernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>

using ::mlir::haqa::uk::expY;
using ::mlir::haqa::uk::expZ;
using ::mlir::haqa::uk::firstLanes16;
using ::mlir::haqa::uk::firstLanesY;
using ::mlir::haqa::uk::reduceAddY;
#endif

namespace {

/// One work unit: q and out at the unit's head, k and v at row 0 of its KV
/// head; rows >= 1 cache rows are visible and scores holds that many floats.
using UnitKernel = void (*)(const float *q, const float *k, const float *v,
                            int64_t kvStride, int64_t rows, int64_t hd,
                            float scale, float *scores, float *out);

int64_t visibleRows(int32_t position, int64_t cacheRows) {
  if (position < 0 || cacheRows <= 0)
    return 0;
  return std::min<int64_t>(position, cacheRows - 1) + 1;
}

void runAttention(UnitKernel kernel, const float *q, int64_t qStride,
                  const float *k, const float *v, int64_t kvStride,
                  int64_t cacheRows, const int32_t *positions, float *out,
                  int64_t outStride, int64_t headsQ, int64_t headsKv,
                  int64_t hd, float scale, int64_t u0, int64_t u1) {
  if (u0 >= u1 || hd <= 0)
    return;
  int64_t maxRows = 0;
  for (int64_t t = u0 / headsQ; t <= (u1 - 1) / headsQ; ++t)
    maxRows = std::max(maxRows, visibleRows(positions[t], cacheRows));
  std::vector<float> scores(maxRows);
  const int64_t group = headsQ / headsKv;
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t t = u / headsQ, h = u % headsQ;
    float *o = out + t * outStride + h * hd;
    const int64_t rows = visibleRows(positions[t], cacheRows);
    if (rows == 0) {
      std::fill(o, o + hd, 0.0f);
      continue;
    }
    const int64_t kv = h / group * hd;
    kernel(q + t * qStride + h * hd, k + kv, v + kv, kvStride, rows, hd, scale,
           scores.data(), o);
  }
}

void unitScalar(const float *q, const float *k, const float *v,
                int64_t kvStride, int64_t rows, int64_t hd, float scale,
                float *scores, float *out) {
  float m = -INFINITY;
  for (int64_t j = 0; j < rows; ++j) {
    const float *kj = k + j * kvStride;
    float dot = 0.0f;
    for (int64_t d = 0; d < hd; ++d)
      dot += q[d] * kj[d];
    scores[j] = dot * scale;
    m = std::max(m, scores[j]);
  }
  float l = 0.0f;
  for (int64_t j = 0; j < rows; ++j) {
    scores[j] = std::exp(scores[j] - m);
    l += scores[j];
  }
  std::fill(out, out + hd, 0.0f);
  for (int64_t j = 0; j < rows; ++j) {
    const float *vj = v + j * kvStride;
    for (int64_t d = 0; d < hd; ++d)
      out[d] += scores[j] * vj[d];
  }
  for (int64_t d = 0; d < hd; ++d)
    out[d] /= l;
}

void expScalar(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = std::exp(x[i]);
}

} // namespace

#if defined(__x86_64__)

// The vector exp (expY, expZ), firstLanesY and reduceAddY are in VectorMath.h
// (shared with the fused rms_norm and SiLU kernels of Fusion.cpp).

//===----------------------------------------------------------------------===//
// AVX2: 256 bits
//===----------------------------------------------------------------------===//

#define HAQA_UK_AVX2 __attribute__((target("avx2,fma")))
#define HAQA_UK_AVX2_INLINE HAQA_UK_AVX2 inline __attribute__((always_inline))

namespace {

/// The sums of a0, a1, a2, a3, in that order.
HAQA_UK_AVX2_INLINE __m128 reduceAdd4Y(__m256 a0, __m256 a1, __m256 a2,
                                       __m256 a3) {
  const __m256 s =
      _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

HAQA_UK_AVX2_INLINE float reduceMaxY(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

/// out[0, 8 NV) = sum_j p[j] v[j][0, 8 NV) / l, the NV accumulators in
/// registers over all rows.
template <int NV>
HAQA_UK_AVX2_INLINE void accumulatePVY(const float *v, int64_t kvStride,
                                       int64_t rows, const float *p, __m256 l,
                                       float *out) {
  __m256 acc[NV];
#pragma GCC unroll 8
  for (int i = 0; i < NV; ++i)
    acc[i] = _mm256_setzero_ps();
  for (int64_t j = 0; j < rows; ++j) {
    const __m256 pj = _mm256_broadcast_ss(p + j);
    const float *vj = v + j * kvStride;
#pragma GCC unroll 8
    for (int i = 0; i < NV; ++i)
      acc[i] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * i), acc[i]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < NV; ++i)
    _mm256_storeu_ps(out + 8 * i, _mm256_div_ps(acc[i], l));
}

HAQA_UK_AVX2 void unitY(const float *q, const float *k, const float *v,
                        int64_t kvStride, int64_t rows, int64_t hd, float scale,
                        float *scores, float *out) {
  // Four rows a step share the loads of q and one horizontal reduction; the
  // last step repeats the last row where fewer are left and stores only the
  // scores of its own rows.
  const int64_t hdFull = hd & ~int64_t(7);
  const __m256i hdTail = firstLanesY(hd - hdFull);
  const __m128 scale4 = _mm_set1_ps(scale);
  for (int64_t j = 0; j < rows; j += 4) {
    const float *k0 = k + j * kvStride,
                *k1 = k + std::min(j + 1, rows - 1) * kvStride,
                *k2 = k + std::min(j + 2, rows - 1) * kvStride,
                *k3 = k + std::min(j + 3, rows - 1) * kvStride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t d = 0; d < hdFull; d += 8) {
      const __m256 qd = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k0 + d), a0);
      a1 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k1 + d), a1);
      a2 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k2 + d), a2);
      a3 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k3 + d), a3);
    }
    if (hdFull < hd) {
      const __m256 qd = _mm256_maskload_ps(q + hdFull, hdTail);
      a0 = _mm256_fmadd_ps(qd, _mm256_maskload_ps(k0 + hdFull, hdTail), a0);
      a1 = _mm256_fmadd_ps(qd, _mm256_maskload_ps(k1 + hdFull, hdTail), a1);
      a2 = _mm256_fmadd_ps(qd, _mm256_maskload_ps(k2 + hdFull, hdTail), a2);
      a3 = _mm256_fmadd_ps(qd, _mm256_maskload_ps(k3 + hdFull, hdTail), a3);
    }
    const __m128 s = _mm_mul_ps(reduceAdd4Y(a0, a1, a2, a3), scale4);
    _mm_maskstore_ps(scores + j, _mm256_castsi256_si128(firstLanesY(rows - j)),
                     s);
  }

  // mx starts at a score so that the tail's masked-off lanes can keep it.
  const int64_t rowsFull = rows & ~int64_t(7);
  const __m256i rowsTail = firstLanesY(rows - rowsFull);
  __m256 mx = _mm256_set1_ps(scores[0]);
  for (int64_t j = 0; j < rowsFull; j += 8)
    mx = _mm256_max_ps(mx, _mm256_loadu_ps(scores + j));
  if (rowsFull < rows)
    mx = _mm256_max_ps(
        mx,
        _mm256_blendv_ps(mx, _mm256_maskload_ps(scores + rowsFull, rowsTail),
                         _mm256_castsi256_ps(rowsTail)));
  const __m256 m = _mm256_set1_ps(reduceMaxY(mx));

  __m256 sum = _mm256_setzero_ps();
  for (int64_t j = 0; j < rowsFull; j += 8) {
    const __m256 p = expY(_mm256_sub_ps(_mm256_loadu_ps(scores + j), m));
    _mm256_storeu_ps(scores + j, p);
    sum = _mm256_add_ps(sum, p);
  }
  if (rowsFull < rows) {
    const __m256 p = _mm256_and_ps(
        expY(_mm256_sub_ps(_mm256_maskload_ps(scores + rowsFull, rowsTail), m)),
        _mm256_castsi256_ps(rowsTail));
    _mm256_maskstore_ps(scores + rowsFull, rowsTail, p);
    sum = _mm256_add_ps(sum, p);
  }
  const float l = reduceAddY(sum);

  // Columns in 64s, then 8s, then the last hd % 8 one at a time.
  const __m256 lv = _mm256_set1_ps(l);
  int64_t d = 0;
  for (; d + 64 <= hd; d += 64)
    accumulatePVY<8>(v + d, kvStride, rows, scores, lv, out + d);
  for (; d + 8 <= hd; d += 8)
    accumulatePVY<1>(v + d, kvStride, rows, scores, lv, out + d);
  for (; d < hd; ++d) {
    float acc = 0.0f;
    for (int64_t j = 0; j < rows; ++j)
      acc += scores[j] * v[j * kvStride + d];
    out[d] = acc / l;
  }
}

HAQA_UK_AVX2 void expRowsY(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, expY(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i mask = firstLanesY(n - i);
    _mm256_maskstore_ps(y + i, mask, expY(_mm256_maskload_ps(x + i, mask)));
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

/// The sums of a0, a1, a2, a3, in that order.
HAQA_UK_AVX512_INLINE __m128 reduceAdd4Z(__m512 a0, __m512 a1, __m512 a2,
                                         __m512 a3) {
  // Per 128-bit lane: t0 = {a0 0+2, a1 0+2, a0 1+3, a1 1+3}, t1 alike, u the
  // lane's sums of a0 .. a3; then the four lanes are added.
  const __m512 t0 =
      _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  const __m512 t1 =
      _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  const __m512 u =
      _mm512_add_ps(_mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)),
                    _mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 h = _mm256_add_ps(
      _mm512_castps512_ps256(u),
      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

HAQA_UK_AVX512 void unitZ(const float *q, const float *k, const float *v,
                          int64_t kvStride, int64_t rows, int64_t hd,
                          float scale, float *scores, float *out) {
  // As unitY: four rows a step, the last one repeated in a partial step.
  const int64_t hdFull = hd & ~int64_t(15);
  const __mmask16 hdTail = firstLanes16(hd - hdFull);
  const __m128 scale4 = _mm_set1_ps(scale);
  for (int64_t j = 0; j < rows; j += 4) {
    const float *k0 = k + j * kvStride,
                *k1 = k + std::min(j + 1, rows - 1) * kvStride,
                *k2 = k + std::min(j + 2, rows - 1) * kvStride,
                *k3 = k + std::min(j + 3, rows - 1) * kvStride;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t d = 0; d < hdFull; d += 16) {
      const __m512 qd = _mm512_loadu_ps(q + d);
      a0 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(k0 + d), a0);
      a1 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(k1 + d), a1);
      a2 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(k2 + d), a2);
      a3 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(k3 + d), a3);
    }
    if (hdFull < hd) {
      const __m512 qd = _mm512_maskz_loadu_ps(hdTail, q + hdFull);
      a0 = _mm512_fmadd_ps(qd, _mm512_maskz_loadu_ps(hdTail, k0 + hdFull), a0);
      a1 = _mm512_fmadd_ps(qd, _mm512_maskz_loadu_ps(hdTail, k1 + hdFull), a1);
      a2 = _mm512_fmadd_ps(qd, _mm512_maskz_loadu_ps(hdTail, k2 + hdFull), a2);
      a3 = _mm512_fmadd_ps(qd, _mm512_maskz_loadu_ps(hdTail, k3 + hdFull), a3);
    }
    const __m128 s = _mm_mul_ps(reduceAdd4Z(a0, a1, a2, a3), scale4);
    _mm_mask_storeu_ps(scores + j,
                       static_cast<__mmask8>(firstLanes16(rows - j) & 15), s);
  }

  __m512 mx = _mm512_set1_ps(scores[0]);
  for (int64_t j = 0; j < rows; j += 16) {
    const __mmask16 mask = firstLanes16(rows - j);
    mx = _mm512_mask_max_ps(mx, mask, mx,
                            _mm512_maskz_loadu_ps(mask, scores + j));
  }
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));

  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < rows; j += 16) {
    const __mmask16 mask = firstLanes16(rows - j);
    const __m512 p =
        expZ(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, scores + j), m));
    _mm512_mask_storeu_ps(scores + j, mask, p);
    sum = _mm512_mask_add_ps(sum, mask, sum, p);
  }
  const __m512 l = _mm512_set1_ps(_mm512_reduce_add_ps(sum));

  // 64 columns a pass, their four accumulators in registers over all rows.
  for (int64_t d = 0; d < hd; d += 64) {
    const __mmask16 m0 = firstLanes16(hd - d), m1 = firstLanes16(hd - d - 16),
                    m2 = firstLanes16(hd - d - 32),
                    m3 = firstLanes16(hd - d - 48);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t j = 0; j < rows; ++j) {
      const __m512 p = _mm512_set1_ps(scores[j]);
      const float *vj = v + j * kvStride + d;
      a0 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m0, vj), a0);
      a1 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m1, vj + 16), a1);
      a2 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m2, vj + 32), a2);
      a3 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m3, vj + 48), a3);
    }
    _mm512_mask_storeu_ps(out + d, m0, _mm512_div_ps(a0, l));
    _mm512_mask_storeu_ps(out + d + 16, m1, _mm512_div_ps(a1, l));
    _mm512_mask_storeu_ps(out + d + 32, m2, _mm512_div_ps(a2, l));
    _mm512_mask_storeu_ps(out + d + 48, m3, _mm512_div_ps(a3, l));
  }
}

HAQA_UK_AVX512 void expRowsZ(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = firstLanes16(n - i);
    _mm512_mask_storeu_ps(y + i, mask,
                          expZ(_mm512_maskz_loadu_ps(mask, x + i)));
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

#define HAQA_UK_DEFINE_ATTENTION(isa, kernel)                                  \
  extern "C" void haqa_uk_attention_f32_##isa(                                 \
      const float *q, int64_t q_stride, const float *k, const float *v,        \
      int64_t kv_stride, int64_t cache_rows, const int32_t *positions,         \
      float *out, int64_t out_stride, int64_t heads_q, int64_t heads_kv,       \
      int64_t hd, float scale, int64_t u0, int64_t u1) {                       \
    runAttention(kernel, q, q_stride, k, v, kv_stride, cache_rows, positions,  \
                 out, out_stride, heads_q, heads_kv, hd, scale, u0, u1);       \
  }

HAQA_UK_DEFINE_ATTENTION(scalar, unitScalar)
#if defined(__x86_64__)
// AVX-VNNI hosts have AVX2 and FMA, and attention has no int8 dots.
HAQA_UK_DEFINE_ATTENTION(avx2, unitY)
HAQA_UK_DEFINE_ATTENTION(avxvnni, unitY)
HAQA_UK_DEFINE_ATTENTION(avx512vnni, unitZ)
#endif

#undef HAQA_UK_DEFINE_ATTENTION

bool mlir::haqa::microKernelAttentionExp(const char *isa, const float *x,
                                         float *y, int64_t n) {
  if (!isa)
    return false;
  void (*fn)(const float *, float *, int64_t) = nullptr;
  if (std::strcmp(isa, "scalar") == 0)
    fn = expScalar;
#if defined(__x86_64__)
  else if (std::strcmp(isa, "avx2") == 0 || std::strcmp(isa, "avxvnni") == 0)
    fn = expRowsY;
  else if (std::strcmp(isa, "avx512vnni") == 0)
    fn = expRowsZ;
#endif
  if (!fn)
    return false;
  fn(x, y, n);
  return true;
}
