//===- MicroKernelsAVX512VNNI.cpp - AVX512-VNNI micro-kernels ------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The avx512vnni variants: every function carries
// target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c"), so this file
// builds for any x86-64 and its code only runs where the caller checked
// isMicroKernelISASupported("avx512vnni").
//
// The dots hold two blocks per 512-bit register (block b in the low 256
// bits, b + 1 in the high ones) and take 16 / NR blocks of NR weight rows a
// step, otherwise as the 256-bit kernels of X86Kernels.inc, which finish the
// blocks left at the end of a row. The quantizer takes a block in two zmm and
// narrows with vpmovsdb.
//
//===----------------------------------------------------------------------===//

#include "MicroKernelsImpl.h"
#include "haqa/MicroKernels/MicroKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <type_traits>
#include <vector>

// GCC 12 warns that the self-initialized _mm512_undefined_* inside the
// intrinsics "may be used uninitialized"; they are meant to be undefined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace mlir::haqa::uk::avx512vnni {
#define HAQA_UK_TARGET                                                         \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")))
#define HAQA_UK_DOT 2
#include "X86Kernels.inc"

#define HAQA_UK_INLINE HAQA_UK_TARGET inline __attribute__((always_inline))

/// The 256 bits at p0 (low) and p1 (high).
HAQA_UK_INLINE __m512i loadPairZ(const uint8_t *p0, const uint8_t *p1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(loadY(p0)), loadY(p1), 1);
}

/// The 16 bytes at p0, p1, p2, p3 in the four 128-bit lanes.
HAQA_UK_INLINE __m512i loadQuarters(const uint8_t *p0, const uint8_t *p1,
                                    const uint8_t *p2, const uint8_t *p3) {
  __m512i v = _mm512_castsi128_si512(loadX(p0));
  v = _mm512_inserti32x4(v, loadX(p1), 1);
  v = _mm512_inserti32x4(v, loadX(p2), 2);
  return _mm512_inserti32x4(v, loadX(p3), 3);
}

//===----------------------------------------------------------------------===//
// Lane layouts and scales
//===----------------------------------------------------------------------===//

/// Q8_0, 512 bits: eight vectors i = bp * NR + n holding blocks 2 bp + h of
/// row n in their 256-bit halves h; reduce8Z puts them at laneZ(i, h).
constexpr int laneZ(int i, int h) { return 8 * (i / 4) + 4 * h + i % 4; }

template <int NR> struct Q8LayoutZ {
  static constexpr StepLayout<16> make() {
    StepLayout<16> l;
    for (int bp = 0; bp < 8 / NR; ++bp)
      for (int n = 0; n < NR; ++n)
        for (int h = 0; h < 2; ++h)
          l.set(laneZ(bp * NR + n, h), 2 * bp + h, n);
    return l.finish(16 / NR);
  }
  static constexpr StepLayout<16> value = make();
  static_assert(value.foldsBy(NR), "lane % NR is the weight row");
};

/// Q4, 512 bits: four vectors i = qd * NR + n holding blocks 4 qd + k of row
/// n in their 128-bit lanes k; lane 4 k + i.
template <int NR> struct Q4LayoutZ {
  static constexpr StepLayout<16> make() {
    StepLayout<16> l;
    for (int qd = 0; qd < 4 / NR; ++qd)
      for (int n = 0; n < NR; ++n)
        for (int k = 0; k < 4; ++k)
          l.set(4 * k + qd * NR + n, 4 * qd + k, n);
    return l.finish(16 / NR);
  }
  static constexpr StepLayout<16> value = make();
  static_assert(value.foldsBy(NR), "lane % NR is the weight row");
};

HAQA_UK_INLINE __m512 cvtHalves16(const uint64_t (&q)[4]) {
  return _mm512_cvtph_ps(_mm256_set_epi64x(
      static_cast<int64_t>(q[3]), static_cast<int64_t>(q[2]),
      static_cast<int64_t>(q[1]), static_cast<int64_t>(q[0])));
}

template <class F, class L>
HAQA_UK_INLINE __m512 weightHalvesZ(const uint8_t *const *wb, int off) {
  uint64_t q[4];
  packWeightHalves<F, 16>(q, L::value, wb, off);
  return cvtHalves16(q);
}

template <class L>
HAQA_UK_INLINE __m512 activationHalvesZ(const uint8_t *xb, int off) {
  uint64_t q[4];
  packActivationHalves<16>(q, L::value.blocks, xb, off);
  return _mm512_permutexvar_ps(_mm512_loadu_si512(L::value.xLane),
                               cvtHalves16(q));
}

/// The vpermt2w indices of halves4x4: lane 4 k + n (k, n < 4) takes word
/// Off + Stride * k of table n, tables 0 and 1 (and 2 and 3) first merged as
/// the low and high four words of one vector.
template <int Stride, int Off> struct Gather4x4 {
  static_assert(Off + 3 * Stride < 32, "in the first 64 bytes");
  static constexpr int pair(int j) { // word j of vpermt2w(t0, t1)
    return (j < 4 ? 0 : 32) + Off + Stride * (j % 4);
  }
  static constexpr int merge(int i) { // lane i = 4 k + n of vpermt2w(a, b)
    return (i % 4 < 2 ? 0 : 32) + 4 * (i % 2) + i / 4;
  }
};

/// The 16 f16 at word offset Off of blocks k < 4 (Stride words apart) of
/// four 64-byte tables, lane 4 k + n from table n: three vpermt2w, where
/// packing them through general-purpose registers takes 16 loads and 30
/// shifts and ors.
template <int Stride, int Off>
HAQA_UK_INLINE __m512 halves4x4(__m512i t0, __m512i t1, __m512i t2,
                                __m512i t3) {
  using G = Gather4x4<Stride, Off>;
  const __m512i pairIdx = _mm512_setr_epi32(
      G::pair(0) | G::pair(1) << 16, G::pair(2) | G::pair(3) << 16,
      G::pair(4) | G::pair(5) << 16, G::pair(6) | G::pair(7) << 16, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i mergeIdx = _mm512_setr_epi32(
      G::merge(0) | G::merge(1) << 16, G::merge(2) | G::merge(3) << 16,
      G::merge(4) | G::merge(5) << 16, G::merge(6) | G::merge(7) << 16,
      G::merge(8) | G::merge(9) << 16, G::merge(10) | G::merge(11) << 16,
      G::merge(12) | G::merge(13) << 16, G::merge(14) | G::merge(15) << 16, 0,
      0, 0, 0, 0, 0, 0, 0);
  const __m512i a = _mm512_permutex2var_epi16(t0, pairIdx, t1);
  const __m512i b = _mm512_permutex2var_epi16(t2, pairIdx, t3);
  return _mm512_cvtph_ps(
      _mm512_castsi512_si256(_mm512_permutex2var_epi16(a, mergeIdx, b)));
}

/// Lanes 4 k + n: the f16 at word Off + 18 k (the activation blocks k < 4,
/// kXBytes apart) of the 128 bytes at xb, in one vpermt2w.
template <int Off>
HAQA_UK_INLINE __m512 activationHalves4x4(__m512i x0, __m512i x1) {
  constexpr int S = kXBytes / 2;
  static_assert(Off + 3 * S < 64, "in the 128 bytes");
  const __m512i idx = _mm512_setr_epi32(
      Off | Off << 16, Off | Off << 16, (Off + S) | (Off + S) << 16,
      (Off + S) | (Off + S) << 16, (Off + 2 * S) | (Off + 2 * S) << 16,
      (Off + 2 * S) | (Off + 2 * S) << 16, (Off + 3 * S) | (Off + 3 * S) << 16,
      (Off + 3 * S) | (Off + 3 * S) << 16, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_cvtph_ps(
      _mm512_castsi512_si256(_mm512_permutex2var_epi16(x0, idx, x1)));
}

/// As accumulateY.
template <class F, class L>
HAQA_UK_INLINE __m512 accumulateZ(__m512 acc, __m512i sums, __m512 wd,
                                  const uint8_t *const *wb, const uint8_t *xb) {
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums),
                        _mm512_mul_ps(wd, activationHalvesZ<L>(xb, 0)), acc);
  if constexpr (std::is_same_v<F, Q4_1>)
    acc = _mm512_fmadd_ps(weightHalvesZ<F, L>(wb, 2),
                          activationHalvesZ<L>(xb, 2), acc);
  return acc;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// Per 128-bit lane: [sum a, sum b, sum c, sum d] over that lane.
HAQA_UK_INLINE __m512i transposeAdd4Z(__m512i a, __m512i b, __m512i c,
                                      __m512i d) {
  __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b),
                                _mm512_unpackhi_epi32(a, b));
  __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d),
                                _mm512_unpackhi_epi32(c, d));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd),
                          _mm512_unpackhi_epi64(ab, cd));
}

/// Lane laneZ(i, h): the exact sum of the eight int32 lanes of half h of v[i].
HAQA_UK_INLINE __m512i reduce8Z(const __m512i (&v)[8]) {
  __m512i q0 = transposeAdd4Z(v[0], v[1], v[2], v[3]);
  __m512i q1 = transposeAdd4Z(v[4], v[5], v[6], v[7]);
  return _mm512_add_epi32(
      _mm512_shuffle_i32x4(q0, q1, _MM_SHUFFLE(2, 0, 2, 0)),
      _mm512_shuffle_i32x4(q0, q1, _MM_SHUFFLE(3, 1, 3, 1)));
}

//===----------------------------------------------------------------------===//
// Steps
//===----------------------------------------------------------------------===//

/// Q8_0, 16 / NR blocks of an MR x NR register block, as stepQ8Y.
template <int MR, int NR>
HAQA_UK_INLINE void stepQ8Z(const uint8_t *const *wb, const uint8_t *const *xb,
                            __m512 (&acc)[MR]) {
  using F = Q8_0;
  using L = Q8LayoutZ<NR>;
  constexpr int BP = 8 / NR;
  const __m512i signBit = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i wv[BP][NR];
#pragma GCC unroll 16
  for (int bp = 0; bp < BP; ++bp)
#pragma GCC unroll 16
    for (int n = 0; n < NR; ++n) {
      const uint8_t *p = wb[n] + 2 * bp * F::kBytes + F::kQsOffset;
      wv[bp][n] = _mm512_xor_si512(loadPairZ(p, p + F::kBytes), signBit);
    }
  const __m512 wd = weightHalvesZ<F, L>(wb, 0);
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    __m512i v[8];
#pragma GCC unroll 16
    for (int bp = 0; bp < BP; ++bp) {
      const uint8_t *x0 = xb[m] + 2 * bp * kXBytes + kXQsOffset;
      const __m512i xv = loadPairZ(x0, x0 + kXBytes);
      const __m512i zero = _mm512_setzero_si512();
      const __m512i bias =
          _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, signBit, xv));
#pragma GCC unroll 16
      for (int n = 0; n < NR; ++n)
        v[bp * NR + n] = _mm512_dpbusd_epi32(bias, wv[bp][n], xv);
    }
    acc[m] = accumulateZ<F, L>(acc[m], reduce8Z(v), wd, wb, xb[m]);
  }
}

/// Q4_0 / Q4_1, 16 / NR blocks of an MR x NR register block, four blocks
/// per register, as stepQ4Y.
template <class F, int MR, int NR>
HAQA_UK_INLINE void stepQ4Z(const uint8_t *const *wb, const uint8_t *const *xb,
                            __m512 (&acc)[MR]) {
  using L = Q4LayoutZ<NR>;
  constexpr int QN = 4 / NR; // vectors per row
  const __m512i low = _mm512_set1_epi8(0x0f);
  __m512i lo[QN][NR], hi[QN][NR];
#pragma GCC unroll 16
  for (int qd = 0; qd < QN; ++qd)
#pragma GCC unroll 16
    for (int n = 0; n < NR; ++n) {
      const uint8_t *p = wb[n] + 4 * qd * F::kBytes + F::kQsOffset;
      __m512i q =
          loadQuarters(p, p + F::kBytes, p + 2 * F::kBytes, p + 3 * F::kBytes);
      lo[qd][n] = _mm512_and_si512(q, low);
      hi[qd][n] = _mm512_and_si512(_mm512_srli_epi16(q, 4), low);
    }
  // NR = 4 (the decode block): the scales of the step's 4 x 4 blocks come
  // from the first 64 bytes of each row's 72 (Q4_0) or 80 (Q4_1), and the
  // activation scales from the first 128 of the 144 (lanes 4 k + n: block k
  // of row n, as L).
  __m512i wt[4];
  __m512 wd, wm;
  if constexpr (NR == 4) {
    static_assert(4 * F::kBytes >= 64 && 4 * kXBytes >= 128, "in the step");
#pragma GCC unroll 16
    for (int n = 0; n < 4; ++n)
      wt[n] = _mm512_loadu_si512(wb[n]);
    wd = halves4x4<F::kBytes / 2, 0>(wt[0], wt[1], wt[2], wt[3]);
    if constexpr (std::is_same_v<F, Q4_1>)
      wm = halves4x4<F::kBytes / 2, 1>(wt[0], wt[1], wt[2], wt[3]);
  } else {
    wd = weightHalvesZ<F, L>(wb, 0);
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    __m512i v[4];
#pragma GCC unroll 16
    for (int qd = 0; qd < QN; ++qd) {
      const uint8_t *x0 = xb[m] + 4 * qd * kXBytes + kXQsOffset;
      const __m512i xlo =
          loadQuarters(x0, x0 + kXBytes, x0 + 2 * kXBytes, x0 + 3 * kXBytes);
      const __m512i xhi =
          loadQuarters(x0 + 16, x0 + kXBytes + 16, x0 + 2 * kXBytes + 16,
                       x0 + 3 * kXBytes + 16);
      __m512i bias = _mm512_setzero_si512();
      if constexpr (std::is_same_v<F, Q4_0>) { // -8 * sum(x)
        const __m512i eight = _mm512_set1_epi8(8);
        bias = _mm512_sub_epi32(
            bias, _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(bias, eight, xlo),
                                      eight, xhi));
      }
#pragma GCC unroll 16
      for (int n = 0; n < NR; ++n)
        v[qd * NR + n] = _mm512_dpbusd_epi32(
            _mm512_dpbusd_epi32(bias, lo[qd][n], xlo), hi[qd][n], xhi);
    }
    const __m512i sums = transposeAdd4Z(v[0], v[1], v[2], v[3]);
    if constexpr (NR == 4) {
      const __m512i x0 = _mm512_loadu_si512(xb[m]);
      const __m512i x1 = _mm512_loadu_si512(xb[m] + 64);
      acc[m] = _mm512_fmadd_ps(
          _mm512_cvtepi32_ps(sums),
          _mm512_mul_ps(wd, activationHalves4x4<0>(x0, x1)), acc[m]);
      if constexpr (std::is_same_v<F, Q4_1>)
        acc[m] = _mm512_fmadd_ps(wm, activationHalves4x4<1>(x0, x1), acc[m]);
    } else {
      acc[m] = accumulateZ<F, L>(acc[m], sums, wd, wb, xb[m]);
    }
  }
}

template <class F, int MR, int NR>
HAQA_UK_TARGET void kernelZ(const uint8_t *w, int64_t wrb, const uint8_t *x,
                            int64_t xrb, float *y, int64_t ys, int64_t blocks) {
  constexpr int BB = 16 / NR;
  __m512 acc[MR];
  __m256 tail[MR];
  const uint8_t *wb[NR], *xb[MR];
#pragma GCC unroll 16
  for (int n = 0; n < NR; ++n)
    wb[n] = w + n * wrb;
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    xb[m] = x + m * xrb;
    acc[m] = _mm512_setzero_ps();
    tail[m] = _mm256_setzero_ps();
  }
  // A later group of NR weight rows, at the same offset (see
  // prefetchAhead): its lines are in cache when the caller's register block
  // reaches them.
  const int64_t ahead = prefetchAhead<F>(NR * wrb);
  int64_t b = 0;
  for (; b + BB <= blocks; b += BB) {
#pragma GCC unroll 16
    for (int n = 0; n < NR; ++n) {
      const char *p = reinterpret_cast<const char *>(wb[n] + ahead);
#pragma GCC unroll 4
      for (int l = 0; l < (BB * F::kBytes + 63) / 64; ++l)
        _mm_prefetch(p + 64 * l, _MM_HINT_T0);
    }
    if constexpr (std::is_same_v<F, Q8_0>)
      stepQ8Z<MR, NR>(wb, xb, acc);
    else
      stepQ4Z<F, MR, NR>(wb, xb, acc);
#pragma GCC unroll 16
    for (int n = 0; n < NR; ++n)
      wb[n] += BB * F::kBytes;
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
      xb[m] += BB * kXBytes;
  }
  runStepsY<F, MR, NR>(wb, xb, blocks - b, tail);
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    // Lanes l and l + 8 hold the same weight row (NR divides 8).
    __m256 s = _mm256_add_ps(
        _mm512_castps512_ps256(acc[m]),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[m]), 1)));
    storeFoldedY<NR>(_mm256_add_ps(s, tail[m]), y + m * ys);
  }
}

/// q = roundf(clamp(v * id, -127, 127)) with NaN -> 0, as int32 lanes (see
/// quantizeLanesY).
HAQA_UK_INLINE __m512i quantizeLanesZ(__m512 v, __m512 id) {
  __m512 t = _mm512_mul_ps(v, id);
  t = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(t, t, _CMP_ORD_Q), t);
  t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-127.0f)),
                    _mm512_set1_ps(127.0f));
  __m512 tr = _mm512_roundscale_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(t, tr)),
                                    _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  __m512 step = _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_and_si512(_mm512_castps_si512(t),
                       _mm512_set1_epi32(static_cast<int>(0x80000000u))),
      _mm512_castps_si512(_mm512_set1_ps(1.0f))));
  return _mm512_cvttps_epi32(_mm512_mask_add_ps(tr, up, tr, step));
}

HAQA_UK_TARGET void quantizeBlockZ(const float *x, uint8_t *out) {
  const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
  // NaN lanes lose: vmaxps returns its second operand when either is NaN.
  __m512 mx = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps());
  mx = _mm512_max_ps(_mm512_abs_ps(v1), mx);
  const float amax = _mm512_reduce_max_ps(mx);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const __m512 vid = _mm512_set1_ps(id);
  const __m512i q0 = quantizeLanesZ(v0, vid), q1 = quantizeLanesZ(v1, vid);
  const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
  _mm_storeu_si128(reinterpret_cast<__m128i *>(out + kXQsOffset),
                   _mm512_cvtsepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i *>(out + kXQsOffset + 16),
                   _mm512_cvtsepi32_epi8(q1));
  store16(out, floatToHalf(d));
  store16(out + 2, floatToHalf(d * static_cast<float>(sum)));
}

HAQA_UK_TARGET void quantizeRowsZ(const float *x, int64_t xStride, int64_t rows,
                                  int64_t k, uint8_t *out,
                                  int64_t outRowBytes) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < k / 32; ++b)
      quantizeBlockZ(x + r * xStride + b * 32,
                     out + r * outRowBytes + b * kXBytes);
}

//===----------------------------------------------------------------------===//
// Packed panels (nr = 16)
//===----------------------------------------------------------------------===//
//
// With nr = 16 a call packs each 16 weight rows of its range once into a
// buffer of its thread (a panel), then runs every activation row block over
// it. A panel's lane L holds weight row panelRow(L), and per block it holds
//   one cache line of scales: the 16 f16 d, for Q4_1 then the 16 f16 m,
//   the quants as vectors of one dword per lane: quad j holds bytes
//   4 j .. 4 j + 3 of the lane's row, four quads for Q4 (the 16 nibble
//   bytes), eight for Q8_0 (the 32 quants, xor 0x80 to read as unsigned).
// Quad j (low nibbles for Q4 j < 4, high nibbles as quad j + 4) pairs with
// activation bytes 4 j .. 4 j + 3, broadcast to every lane, so one vpdpbusd
// adds four products to each of 16 weight rows and no lane sums across rows:
// a block's sum per row is exact in its lane, as in the 4 x 4 kernels, then
// converted and accumulated with one FMA by d_w * d_x. The corrections (the
// activation block sums times 8 for Q4_0, 128 for Q8_0) start each block's
// integer sum. The packing reads the weight once per call, and the panel
// stays in L1 / L2 while every activation row passes over it, which is why
// it pays at prefill and not at one row.

/// The weight row in lane L of a panel (the 4 x 4 dword transpose of
/// packPanel leaves row 4 i + k in lane 4 k + i); its own inverse.
constexpr int panelRow(int lane) { return 4 * (lane % 4) + lane / 4; }

/// The scales take one cache line (Q4_1: d, then m; else d and 32 bytes
/// unused), so that every quad vector is a whole, aligned line.
template <class F> struct PanelLayout {
  static constexpr int kQuads = std::is_same_v<F, Q8_0> ? 8 : 4;
  static constexpr int64_t kScaleBytes = 64;
  static constexpr int64_t kBlockBytes = kScaleBytes + 64 * kQuads;
};

/// The 16 bytes at `off` of rows 4 i .. 4 i + 3 (i < 4) of a block, as four
/// vectors of one dword per lane (lane 4 k + i: row 4 i + k), dwords 0..3.
HAQA_UK_INLINE void transposeQuads(const uint8_t *w, int64_t wrb,
                                   int64_t off, __m512i (&out)[4]) {
  __m512i z[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const uint8_t *r = w + 4 * i * wrb + off;
    z[i] = loadQuarters(r, r + wrb, r + 2 * wrb, r + 3 * wrb);
  }
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]);
  const __m512i t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]);
  const __m512i t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(t0, t2);
  out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3);
  out[3] = _mm512_unpackhi_epi64(t1, t3);
}

/// Packs weight rows [0, 16) at w (rows wrb bytes apart) into `panel`.
template <class F>
HAQA_UK_TARGET void packPanel(const uint8_t *w, int64_t wrb, int64_t blocks,
                              uint8_t *panel) {
  using P = PanelLayout<F>;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *blk = w + b * F::kBytes;
    uint8_t *out = panel + b * P::kBlockBytes;
    for (int l = 0; l < 16; ++l) {
      const uint8_t *row = blk + panelRow(l) * wrb;
      std::memcpy(out + 2 * l, row, 2);
      if constexpr (std::is_same_v<F, Q4_1>)
        std::memcpy(out + 32 + 2 * l, row + 2, 2);
    }
    uint8_t *q = out + P::kScaleBytes;
    __m512i v[4];
#pragma GCC unroll 2
    for (int half = 0; half < P::kQuads / 4; ++half) {
      transposeQuads(blk, wrb, F::kQsOffset + 16 * half, v);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        __m512i qv = v[j];
        if constexpr (std::is_same_v<F, Q8_0>)
          qv = _mm512_xor_si512(qv, _mm512_set1_epi8(static_cast<char>(0x80)));
        _mm512_storeu_si512(q + 64 * (4 * half + j), qv);
      }
    }
  }
}

/// y[m * ys + n] (m < MR, n < 16) from a packed panel and MR activation
/// rows; per (row, block): the correction `bias`, the scale `dx` and (Q4_1)
/// the scaled sum `sx`, `blocks` apart per row.
template <class F, int MR>
HAQA_UK_TARGET void panelKernel(const uint8_t *panel, const uint8_t *x,
                                int64_t xrb, const int32_t *bias,
                                const float *dx, const float *sx,
                                int64_t blocks, float *y, int64_t ys) {
  using P = PanelLayout<F>;
  __m512 acc[MR];
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
    acc[m] = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0f);
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *p = panel + b * P::kBlockBytes;
    const __m512 dw = _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
    __m512 mw;
    if constexpr (std::is_same_v<F, Q4_1>)
      mw = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + 32)));
    const uint8_t *q = p + P::kScaleBytes;
    __m512i wv[8];
    if constexpr (std::is_same_v<F, Q8_0>) {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j)
        wv[j] = _mm512_loadu_si512(q + 64 * j);
    } else {
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m512i v = _mm512_loadu_si512(q + 64 * j);
        wv[j] = _mm512_and_si512(v, low);
        wv[4 + j] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      }
    }
#pragma GCC unroll 4
    for (int m = 0; m < MR; ++m) {
      const uint8_t *xq = x + m * xrb + b * kXBytes + kXQsOffset;
      const int64_t t = m * blocks + b;
      // Two chains of four, so that MR rows give 2 MR independent ones.
      __m512i s0 = _mm512_set1_epi32(bias[t]), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int j = 0; j < 8; j += 2) {
        int32_t x0, x1;
        std::memcpy(&x0, xq + 4 * j, 4);
        std::memcpy(&x1, xq + 4 * j + 4, 4);
        s0 = _mm512_dpbusd_epi32(s0, wv[j], _mm512_set1_epi32(x0));
        s1 = _mm512_dpbusd_epi32(s1, wv[j + 1], _mm512_set1_epi32(x1));
      }
      acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)),
                               _mm512_mul_ps(dw, _mm512_set1_ps(dx[t])),
                               acc[m]);
      if constexpr (std::is_same_v<F, Q4_1>)
        acc[m] = _mm512_fmadd_ps(mw, _mm512_set1_ps(sx[t]), acc[m]);
    }
  }
  const __m512i toRows = _mm512_setr_epi32(
      panelRow(0), panelRow(1), panelRow(2), panelRow(3), panelRow(4),
      panelRow(5), panelRow(6), panelRow(7), panelRow(8), panelRow(9),
      panelRow(10), panelRow(11), panelRow(12), panelRow(13), panelRow(14),
      panelRow(15));
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
    _mm512_storeu_ps(y + m * ys, _mm512_permutexvar_ps(toRows, acc[m]));
}

/// Per (activation row, block): the correction of F's unsigned reading
/// (-8 sum(x) for Q4_0, -128 sum(x) for Q8_0, none for Q4_1), d_x and, for
/// Q4_1 (the only reader), s_x.
template <class F>
HAQA_UK_TARGET void blockTerms(const uint8_t *x, int64_t xrb, int64_t rowsM,
                               int64_t blocks, int32_t *bias, float *dx,
                               float *sx) {
  constexpr int32_t kScale =
      std::is_same_v<F, Q4_0> ? -8 : std::is_same_v<F, Q8_0> ? -128 : 0;
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t m = 0; m < rowsM; ++m)
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t *xb = x + m * xrb + b * kXBytes;
      const int64_t t = m * blocks + b;
      dx[t] = halfToFloat(load16(xb));
      if constexpr (std::is_same_v<F, Q4_1>)
        sx[t] = halfToFloat(load16(xb + 2));
      if constexpr (kScale != 0) {
        const __m256i s =
            _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, loadY(xb + kXQsOffset));
        bias[t] = kScale * _mm512_reduce_add_epi32(_mm512_zextsi256_si512(s));
      } else {
        bias[t] = 0;
      }
    }
}

/// A dot call with nr = 16: whole panels of 16 weight rows packed and run
/// by panelKernel, the rows left at the end of [n0, n1) by the 4-row
/// kernels.
template <class F>
HAQA_UK_TARGET void runPanels(const DotKernelTable &table, const uint8_t *w,
                              int64_t wrb, const uint8_t *x, int64_t xrb,
                              float *y, int64_t ys, int64_t rowsM, int64_t n0,
                              int64_t n1, int64_t blocks, int64_t mr) {
  if (blocks < 0)
    blocks = 0;
  int64_t n = n0;
  if (rowsM > 0 && n1 - n0 >= 16) {
    thread_local std::vector<int32_t> bias;
    thread_local std::vector<float> dx, sx;
    thread_local std::vector<uint8_t> panel;
    bias.resize(rowsM * blocks);
    dx.resize(rowsM * blocks);
    sx.resize(rowsM * blocks);
    panel.resize(blocks * PanelLayout<F>::kBlockBytes + 64);
    // 64-byte aligned: every quad vector is one cache line.
    uint8_t *pp = panel.data() + (-reinterpret_cast<uintptr_t>(panel.data()) & 63);
    blockTerms<F>(x, xrb, rowsM, blocks, bias.data(), dx.data(), sx.data());
    // [log2 MR], as runBlocks's tables.
    using Kernel = void (*)(const uint8_t *, const uint8_t *, int64_t,
                            const int32_t *, const float *, const float *,
                            int64_t, float *, int64_t);
    static constexpr Kernel kernels[3] = {panelKernel<F, 1>, panelKernel<F, 2>,
                                          panelKernel<F, 4>};
    const int mrb = registerBlock(mr);
    for (; n + 16 <= n1; n += 16) {
      packPanel<F>(w + n * wrb, wrb, blocks, pp);
      for (int64_t m = 0; m < rowsM;) {
        const int mb = blockFor(mrb, rowsM - m);
        const int64_t t = m * blocks;
        kernels[log2Block(mb)](pp, x + m * xrb, xrb, bias.data() + t,
                               dx.data() + t, sx.data() + t, blocks,
                               y + m * ys + n, ys);
        m += mb;
      }
    }
  }
  if (n < n1)
    runDot(table, w, wrb, x, xrb, y, ys, rowsM, n, n1, blocks, mr, 4);
}

#undef HAQA_UK_INLINE
#undef HAQA_UK_DOT
#undef HAQA_UK_TARGET
} // namespace mlir::haqa::uk::avx512vnni

extern "C" void haqa_uk_quantize_q8_avx512vnni(const float *x, int64_t x_stride,
                                               int64_t rows, int64_t k,
                                               uint8_t *out,
                                               int64_t out_row_bytes) {
  mlir::haqa::uk::avx512vnni::quantizeRowsZ(x, x_stride, rows, k, out,
                                            out_row_bytes);
}

// nr = 16 (and above): packed panels; else register blocks of kernelZ.
#define HAQA_UK_DEFINE_PANEL_DOT(fmt, F)                                       \
  extern "C" void haqa_uk_dot_##fmt##_avx512vnni(                              \
      const uint8_t *w, int64_t w_row_bytes, const uint8_t *xq,                \
      int64_t xq_row_bytes, float *y, int64_t y_stride, int64_t rows_m,        \
      int64_t n0, int64_t n1, int64_t blocks, int64_t mr, int64_t nr) {        \
    static const ::mlir::haqa::uk::DotKernelTable table =                      \
        HAQA_UK_KERNEL_TABLE(::mlir::haqa::uk::avx512vnni::kernelZ, F);        \
    if (nr >= 16)                                                              \
      ::mlir::haqa::uk::avx512vnni::runPanels<F>(table, w, w_row_bytes, xq,    \
                                                 xq_row_bytes, y, y_stride,    \
                                                 rows_m, n0, n1, blocks, mr);  \
    else                                                                       \
      ::mlir::haqa::uk::runDot(table, w, w_row_bytes, xq, xq_row_bytes, y,     \
                               y_stride, rows_m, n0, n1, blocks, mr, nr);      \
  }
HAQA_UK_DEFINE_PANEL_DOT(q8_0, ::mlir::haqa::uk::Q8_0)
HAQA_UK_DEFINE_PANEL_DOT(q4_0, ::mlir::haqa::uk::Q4_0)
HAQA_UK_DEFINE_PANEL_DOT(q4_1, ::mlir::haqa::uk::Q4_1)
#undef HAQA_UK_DEFINE_PANEL_DOT

#endif // __x86_64__
