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
// narrows with vpmovsdb. With nr = 16 every format (Q4_K and Q6_K too) runs
// over packed panels of 16 weight rows (see "Packed panels" below); the
// K-quants with one activation row and nr >= 4 (decode) take 512-bit steps of
// 4 weight rows (see "K-quant decode" below); their other register blocks
// are the 256-bit kernels of X86KQuants.inc.
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
// After X86Kernels.inc, whose helpers it uses.
#include "X86KQuants.inc"

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
    for (int n = 0; n < NR; ++n)
      prefetchBytes<BB * F::kBytes>(wb[n] + ahead);
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

//===----------------------------------------------------------------------===//
// K-quant packed panels (nr = 16)
//===----------------------------------------------------------------------===//
//
// As the panels above, for Q4_K and Q6_K: a call decodes each 16 weight rows
// of its range once into a panel of its thread, per super-block
//   Q4_K: the float d * sc_j of sub-blocks j < 8 (16 lanes each), then the
//         float dmin * m_j, then per pair p < 4 of sub-blocks the eight
//         quads of qs[32 p ..] (bytes 4 i .. 4 i + 3 of each lane's row):
//         the low nibbles are quad i of sub-block 2 p, the high ones of
//         2 p + 1 (as the weights hold them, 2048 bytes);
//   Q6_K: the int32 scales of the 16 half-groups g = 2 j + (l >= 16), the
//         float d, then the eight quads of each group j < 8 as the 6-bit q
//         (0..63) in bytes (decoded from ql and qh).
// One vpdpbusd adds four products to each of the 16 rows, lanes never mix:
// Q4_K sumi of a sub-block is exact in its lane, then
//   acc += sumi * (d sc_j * x.d); acc -= (dmin m_j) * x.s
// (the products and the sums across blocks in another order than the
// scalar formula's). Q6_K starts the two half sums with -32 * (the sum of
// the activation half), so they are sum (q - 32) x exactly, multiplies them
// by their scales in int32 (vpmulld), adds, and acc += isum * (d * x.d).
// The per (activation row, block) terms are computed once per call.

template <class F> struct PanelLayoutK;
template <> struct PanelLayoutK<Q4_K> {
  static constexpr int64_t kScaleBytes = 2 * 8 * 64;
  static constexpr int64_t kBlockBytes = kScaleBytes + 4 * 8 * 64;
};
template <> struct PanelLayoutK<Q6_K> {
  static constexpr int64_t kScaleBytes = 16 * 64 + 64;
  static constexpr int64_t kBlockBytes = kScaleBytes + 8 * 8 * 64;
};

/// Q4_K: packs super-blocks [0, superBlocks) of weight rows [0, 16) at w.
HAQA_UK_TARGET void packPanelQ4K(const uint8_t *w, int64_t wrb,
                                 int64_t superBlocks, uint8_t *panel) {
  using F = Q4_K;
  using P = PanelLayoutK<F>;
  static_assert(F::kDOffset == 0 && F::kDMinOffset == 2 &&
                    F::kScalesOffset == 4 && F::kQsOffset == 16,
                "the first 16 bytes are d, dmin and the 12 scale bytes");
  const __m512i m6 = _mm512_set1_epi32(0x3f3f3f3f);
  const __m512i m4 = _mm512_set1_epi32(0x0f0f0f0f);
  const __m512i m2 = _mm512_set1_epi32(0x03030303);
  const __m512i byte = _mm512_set1_epi32(0xff);
  for (int64_t s = 0; s < superBlocks; ++s) {
    const uint8_t *blk = w + s * F::kBytes;
    uint8_t *out = panel + s * P::kBlockBytes;
    // h[0]: d | dmin << 16; h[1..3]: the scale bytes as q4KScalesMins's u.
    __m512i h[4];
    transposeQuads(blk, wrb, 0, h);
    const __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h[0]));
    const __m512 dmin =
        _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(h[0], 16)));
    const __m512i sc0 = _mm512_and_si512(h[1], m6);
    const __m512i sc1 = _mm512_or_si512(
        _mm512_and_si512(h[3], m4),
        _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h[1], 6), m2), 4));
    const __m512i mn0 = _mm512_and_si512(h[2], m6);
    const __m512i mn1 = _mm512_or_si512(
        _mm512_and_si512(_mm512_srli_epi32(h[3], 4), m4),
        _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(h[2], 6), m2), 4));
    float *fs = reinterpret_cast<float *>(out);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      // Byte j of each lane of v, as float.
#define HAQA_UK_BYTE_J(v)                                                      \
  _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(v, 8 * j), byte))
      _mm512_storeu_ps(fs + 16 * j, _mm512_mul_ps(d, HAQA_UK_BYTE_J(sc0)));
      _mm512_storeu_ps(fs + 16 * (j + 4),
                       _mm512_mul_ps(d, HAQA_UK_BYTE_J(sc1)));
      _mm512_storeu_ps(fs + 128 + 16 * j,
                       _mm512_mul_ps(dmin, HAQA_UK_BYTE_J(mn0)));
      _mm512_storeu_ps(fs + 128 + 16 * (j + 4),
                       _mm512_mul_ps(dmin, HAQA_UK_BYTE_J(mn1)));
#undef HAQA_UK_BYTE_J
    }
    uint8_t *q = out + P::kScaleBytes;
    __m512i v[4];
#pragma GCC unroll 8
    for (int half = 0; half < 8; ++half) { // 16 bytes of qs each
      transposeQuads(blk, wrb, F::kQsOffset + 16 * half, v);
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i)
        _mm512_storeu_si512(q + 64 * (4 * half + i), v[i]);
    }
  }
}

/// Q6_K: packs super-blocks [0, superBlocks) of weight rows [0, 16) at w.
/// The 6-bit q of value l of a group takes the bits of byte l of ql and qh
/// (at the group's offsets) only, so the raw bytes are transposed into
/// quads first and decoded 64 bytes at a time.
HAQA_UK_TARGET void packPanelQ6K(const uint8_t *w, int64_t wrb,
                                 int64_t superBlocks, uint8_t *panel) {
  using F = Q6_K;
  using P = PanelLayoutK<F>;
  const __m512i low = _mm512_set1_epi8(0x0f), high = _mm512_set1_epi8(0x30);
  for (int64_t s = 0; s < superBlocks; ++s) {
    const uint8_t *blk = w + s * F::kBytes;
    uint8_t *out = panel + s * P::kBlockBytes;
    uint8_t *q = out + P::kScaleBytes;
    __m512i v[4];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h)
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) { // values 16 half .. 16 half + 15
        __m512i ql0[4], ql1[4], qh[4];
        transposeQuads(blk, wrb, F::kQlOffset + 64 * h + 16 * half, ql0);
        transposeQuads(blk, wrb, F::kQlOffset + 64 * h + 32 + 16 * half, ql1);
        transposeQuads(blk, wrb, F::kQhOffset + 32 * h + 16 * half, qh);
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          v[0] = _mm512_or_si512(
              _mm512_and_si512(ql0[i], low),
              _mm512_and_si512(_mm512_slli_epi16(qh[i], 4), high));
          v[1] = _mm512_or_si512(
              _mm512_and_si512(ql1[i], low),
              _mm512_and_si512(_mm512_slli_epi16(qh[i], 2), high));
          v[2] = _mm512_or_si512(
              _mm512_and_si512(_mm512_srli_epi16(ql0[i], 4), low),
              _mm512_and_si512(qh[i], high));
          v[3] = _mm512_or_si512(
              _mm512_and_si512(_mm512_srli_epi16(ql1[i], 4), low),
              _mm512_and_si512(_mm512_srli_epi16(qh[i], 2), high));
          // Group j = 4 h + c, quad 4 half + i.
#pragma GCC unroll 4
          for (int c = 0; c < 4; ++c)
            _mm512_storeu_si512(q + 64 * (8 * (4 * h + c) + 4 * half + i),
                                v[c]);
        }
      }
    // The 16 int8 scales, sign-extended: half-group g is byte g % 4 of
    // quad g / 4.
    transposeQuads(blk, wrb, F::kScalesOffset, v);
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g)
      _mm512_storeu_si512(
          out + 64 * g,
          _mm512_srai_epi32(_mm512_slli_epi32(v[g / 4], 24 - 8 * (g % 4)), 24));
    alignas(32) uint16_t d[16];
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l)
      d[l] = load16(blk + panelRow(l) * wrb + F::kDOffset);
    _mm512_storeu_ps(out + 16 * 64, _mm512_cvtph_ps(_mm256_load_si256(
                                        reinterpret_cast<const __m256i *>(d))));
  }
}

/// The int32 sum over 32 activation bytes at xq of the products with the
/// eight quads w (bytes 4 i .. 4 i + 3 of each lane against xq[4 i ..]),
/// started at `init`: two chains of four.
HAQA_UK_INLINE __m512i dotQuads8(__m512i init, const __m512i (&w)[8],
                                 const uint8_t *xq) {
  __m512i s0 = init, s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) {
    int32_t x0, x1;
    std::memcpy(&x0, xq + 4 * i, 4);
    std::memcpy(&x1, xq + 4 * i + 4, 4);
    s0 = _mm512_dpbusd_epi32(s0, w[i], _mm512_set1_epi32(x0));
    s1 = _mm512_dpbusd_epi32(s1, w[i + 1], _mm512_set1_epi32(x1));
  }
  return _mm512_add_epi32(s0, s1);
}

/// Lane L of acc (weight row panelRow(L)) to y[m * ys + panelRow(L)].
template <int MR>
HAQA_UK_INLINE void storePanelRows(const __m512 (&acc)[MR], float *y,
                                   int64_t ys) {
  const __m512i toRows =
      _mm512_setr_epi32(panelRow(0), panelRow(1), panelRow(2), panelRow(3),
                        panelRow(4), panelRow(5), panelRow(6), panelRow(7),
                        panelRow(8), panelRow(9), panelRow(10), panelRow(11),
                        panelRow(12), panelRow(13), panelRow(14), panelRow(15));
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
    _mm512_storeu_ps(y + m * ys, _mm512_permutexvar_ps(toRows, acc[m]));
}

/// Per (activation row, block) terms of the K-quant panels, `blocks` apart
/// per row: Q4_K d_x (t0) and s_x (t1); Q6_K d_x (t0) and -32 times the
/// sums of the two halves of the block's qs (i0, i1).
struct PanelTermsK {
  float *t0, *t1;
  int32_t *i0, *i1;
};

template <class F>
HAQA_UK_TARGET void blockTermsK(const uint8_t *x, int64_t xrb, int64_t rowsM,
                                int64_t blocks, const PanelTermsK &t) {
  for (int64_t m = 0; m < rowsM; ++m)
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t *xb = x + m * xrb + b * kXBytes;
      const int64_t i = m * blocks + b;
      t.t0[i] = halfToFloat(load16(xb));
      if constexpr (std::is_same_v<F, Q4_K>) {
        t.t1[i] = halfToFloat(load16(xb + 2));
      } else {
        const int8_t *q = reinterpret_cast<const int8_t *>(xb + kXQsOffset);
        int32_t s0 = 0, s1 = 0;
        for (int l = 0; l < 16; ++l) {
          s0 += q[l];
          s1 += q[16 + l];
        }
        t.i0[i] = -32 * s0;
        t.i1[i] = -32 * s1;
      }
    }
}

/// y[m * ys + n] (m < MR, n < 16) from a Q4_K panel of `superBlocks` and MR
/// activation rows.
template <int MR>
HAQA_UK_TARGET void panelKernelQ4K(const uint8_t *panel, const uint8_t *x,
                                   int64_t xrb, const PanelTermsK &t,
                                   int64_t blocks, int64_t superBlocks,
                                   float *y, int64_t ys) {
  using P = PanelLayoutK<Q4_K>;
  __m512 acc[MR];
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
    acc[m] = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0f);
  for (int64_t s = 0; s < superBlocks; ++s) {
    const uint8_t *p = panel + s * P::kBlockBytes;
    const float *dsc = reinterpret_cast<const float *>(p);
    const float *dmn = dsc + 128;
    const uint8_t *q = p + P::kScaleBytes;
#pragma GCC unroll 1
    for (int pp = 0; pp < 4; ++pp) {
      __m512i lo[8], hi[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i v = _mm512_loadu_si512(q + 64 * (8 * pp + i));
        lo[i] = _mm512_and_si512(v, low);
        hi[i] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      }
      const __m512 scLo = _mm512_loadu_ps(dsc + 32 * pp);
      const __m512 scHi = _mm512_loadu_ps(dsc + 32 * pp + 16);
      const __m512 mnLo = _mm512_loadu_ps(dmn + 32 * pp);
      const __m512 mnHi = _mm512_loadu_ps(dmn + 32 * pp + 16);
#pragma GCC unroll 4
      for (int m = 0; m < MR; ++m) {
        const int64_t b = 8 * s + 2 * pp, i = m * blocks + b;
        const uint8_t *xq = x + m * xrb + b * kXBytes + kXQsOffset;
        const __m512i sLo = dotQuads8(_mm512_setzero_si512(), lo, xq);
        const __m512i sHi = dotQuads8(_mm512_setzero_si512(), hi, xq + kXBytes);
        __m512 a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sLo),
                                   _mm512_mul_ps(scLo, _mm512_set1_ps(t.t0[i])),
                                   acc[m]);
        a = _mm512_fnmadd_ps(mnLo, _mm512_set1_ps(t.t1[i]), a);
        a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sHi),
                            _mm512_mul_ps(scHi, _mm512_set1_ps(t.t0[i + 1])),
                            a);
        acc[m] = _mm512_fnmadd_ps(mnHi, _mm512_set1_ps(t.t1[i + 1]), a);
      }
    }
  }
  storePanelRows<MR>(acc, y, ys);
}

/// y[m * ys + n] (m < MR, n < 16) from a Q6_K panel of `superBlocks` and MR
/// activation rows.
template <int MR>
HAQA_UK_TARGET void panelKernelQ6K(const uint8_t *panel, const uint8_t *x,
                                   int64_t xrb, const PanelTermsK &t,
                                   int64_t blocks, int64_t superBlocks,
                                   float *y, int64_t ys) {
  using P = PanelLayoutK<Q6_K>;
  __m512 acc[MR];
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
    acc[m] = _mm512_setzero_ps();
  for (int64_t s = 0; s < superBlocks; ++s) {
    const uint8_t *p = panel + s * P::kBlockBytes;
    const int32_t *sc = reinterpret_cast<const int32_t *>(p);
    const __m512 d = _mm512_loadu_ps(p + 16 * 64);
    const uint8_t *q = p + P::kScaleBytes;
#pragma GCC unroll 1
    for (int j = 0; j < 8; ++j) {
      __m512i wa[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i)
        wa[i] = _mm512_loadu_si512(q + 64 * (8 * j + i));
      const __m512i scA = _mm512_loadu_si512(sc + 32 * j);
      const __m512i scB = _mm512_loadu_si512(sc + 32 * j + 16);
#pragma GCC unroll 4
      for (int m = 0; m < MR; ++m) {
        const int64_t b = 8 * s + j, i = m * blocks + b;
        const uint8_t *xq = x + m * xrb + b * kXBytes + kXQsOffset;
        __m512i sA = _mm512_set1_epi32(t.i0[i]);
        __m512i sB = _mm512_set1_epi32(t.i1[i]);
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          int32_t x0, x1;
          std::memcpy(&x0, xq + 4 * k, 4);
          std::memcpy(&x1, xq + 16 + 4 * k, 4);
          sA = _mm512_dpbusd_epi32(sA, wa[k], _mm512_set1_epi32(x0));
          sB = _mm512_dpbusd_epi32(sB, wa[4 + k], _mm512_set1_epi32(x1));
        }
        const __m512i isum = _mm512_add_epi32(_mm512_mullo_epi32(sA, scA),
                                              _mm512_mullo_epi32(sB, scB));
        acc[m] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),
                            _mm512_mul_ps(d, _mm512_set1_ps(t.t0[i])), acc[m]);
      }
    }
  }
  storePanelRows<MR>(acc, y, ys);
}

/// A K-quant dot call with nr = 16: whole panels of 16 weight rows packed
/// and run by the panel kernels, the rows left at the end of [n0, n1) by the
/// 4-row kernels. Q6_K with one activation row takes the 4-row kernels only:
/// its decode into bytes costs more than one row of dots gains. (The
/// avx512vnni entry points send one activation row to runDecodeK instead,
/// faster than these panels for both formats.)
template <class F>
HAQA_UK_TARGET void runPanelsK(const DotKernelTable &table, const uint8_t *w,
                               int64_t wrb, const uint8_t *x, int64_t xrb,
                               float *y, int64_t ys, int64_t rowsM, int64_t n0,
                               int64_t n1, int64_t blocks, int64_t mr) {
  const int64_t superBlocks = blocks > 0 ? blocks / kSuperBlockBlocks : 0;
  const int64_t used = superBlocks * kSuperBlockBlocks;
  int64_t n = n0;
  const int64_t minRows = std::is_same_v<F, Q6_K> ? 2 : 1;
  if (rowsM >= minRows && n1 - n0 >= 16 && superBlocks > 0) {
    thread_local std::vector<float> t0, t1;
    thread_local std::vector<int32_t> i0, i1;
    thread_local std::vector<uint8_t> panel;
    constexpr bool q4 = std::is_same_v<F, Q4_K>;
    t0.resize(rowsM * used);
    if constexpr (q4) {
      t1.resize(rowsM * used);
    } else {
      i0.resize(rowsM * used);
      i1.resize(rowsM * used);
    }
    panel.resize(superBlocks * PanelLayoutK<F>::kBlockBytes + 64);
    // 64-byte aligned: every quad vector is one cache line.
    uint8_t *pp =
        panel.data() + (-reinterpret_cast<uintptr_t>(panel.data()) & 63);
    const PanelTermsK terms{t0.data(), t1.data(), i0.data(), i1.data()};
    blockTermsK<F>(x, xrb, rowsM, used, terms);
    const int mrb = registerBlock(mr);
    for (; n + 16 <= n1; n += 16) {
      if constexpr (std::is_same_v<F, Q4_K>)
        packPanelQ4K(w + n * wrb, wrb, superBlocks, pp);
      else
        packPanelQ6K(w + n * wrb, wrb, superBlocks, pp);
      for (int64_t m = 0; m < rowsM;) {
        const int mb = blockFor(mrb, rowsM - m);
        const PanelTermsK tm{t0.data() + m * used,
                             q4 ? t1.data() + m * used : nullptr,
                             q4 ? nullptr : i0.data() + m * used,
                             q4 ? nullptr : i1.data() + m * used};
        float *ym = y + m * ys + n;
        const uint8_t *xm = x + m * xrb;
        if constexpr (std::is_same_v<F, Q4_K>) {
          if (mb == 4)
            panelKernelQ4K<4>(pp, xm, xrb, tm, used, superBlocks, ym, ys);
          else if (mb == 2)
            panelKernelQ4K<2>(pp, xm, xrb, tm, used, superBlocks, ym, ys);
          else
            panelKernelQ4K<1>(pp, xm, xrb, tm, used, superBlocks, ym, ys);
        } else {
          if (mb == 4)
            panelKernelQ6K<4>(pp, xm, xrb, tm, used, superBlocks, ym, ys);
          else if (mb == 2)
            panelKernelQ6K<2>(pp, xm, xrb, tm, used, superBlocks, ym, ys);
          else
            panelKernelQ6K<1>(pp, xm, xrb, tm, used, superBlocks, ym, ys);
        }
        m += mb;
      }
    }
  }
  if (n < n1)
    runDot(table, w, wrb, x, xrb, y, ys, rowsM, n, n1, blocks, mr, 4);
}

//===----------------------------------------------------------------------===//
// K-quant decode (one activation row, nr 4 .. 15)
//===----------------------------------------------------------------------===//
//
// With one activation row and 4-row register blocks, a call re-lays the row
// once per call into a buffer of its thread (per super-block, below), and
// each 4 weight rows take 512-bit steps of one super-block:
//   Q4_K: the 128 qs bytes of a row are two zmm P0, P1 of 16-byte quarters
//         [A0 B0 A1 B1], [A2 B2 A3 B3] (A_p = qs[32 p ..], B_p =
//         qs[32 p + 16 ..]); vshufi32x4 makes [A0 A1 A2 A3] and
//         [B0 B1 B2 B3], so that 128-bit lane p of the low (high) nibbles
//         holds values 0..15 (16..31) of sub-block 2 p (2 p + 1), and one
//         vpdpbusd chain of two per parity meets the activation quarters
//         laid out alike: lane p sums sub-block 2 p (or 2 p + 1) in four
//         int32. transposeAdd4Z of (even, odd) of two rows sums them exactly:
//         lane 4 p + 2 r + e holds sumi of sub-block 2 p + e of row r; then
//         acc += sumi * ((d sc_j) * x.d) and acc -= (dmin m_j) * x.s, the
//         scales unpacked in general-purpose registers (q4KScalesMins).
//   Q6_K: ql (two zmm) and qh (one, its halves h broadcast by vshufi32x4)
//         give the 6-bit q of groups (h, c), c = 0, 1 (low nibbles, two
//         qh bits shifted per 256-bit half by vpsllvw) and c = 2, 3 (high
//         nibbles, vpsrlvw): four zmm per row whose 128-bit lanes are the
//         16-value halves (each with its own scale) of two groups, against
//         the activation blocks 2 k, 2 k + 1 in one zmm, vpdpbusd started
//         at -32 times the sums of the activation quads, so each lane sums
//         (q - 32) x exactly. transposeAdd4Z leaves the 16 half sums of a
//         row in one zmm (lane 4 q + k: scale 4 k + q, one vpshufb of the
//         16 scale bytes); vpmulld by the scales, the two halves of each
//         group added (vshufi32x4 of two rows), then acc += isum * (d x.d).
// The rows past the last 4 of [n0, n1) take the 256-bit kernels.

/// The re-laid activation row per super-block.
///   Q4_K: XAe, XBe, XAo, XBo (64 bytes each: lane p = values 0..15 or
///         16..31 of block 2 p (e) or 2 p + 1 (o)), then 16 float x.d and
///         16 float x.s, lane 4 p + 2 r + e of block 2 p + e.
///   Q6_K: X_k = [block 2 k | block 2 k + 1] qs (k < 4), then the int32
///         -32 * (sum of each quad of X_k), then 16 float x.d, lane
///         8 r + 4 e + k of block 2 k + e.
template <class F> struct DecodeLayoutK;
template <> struct DecodeLayoutK<Q4_K> {
  static constexpr int64_t kBytes = 4 * 64 + 2 * 64;
};
template <> struct DecodeLayoutK<Q6_K> {
  static constexpr int64_t kBytes = 8 * 64 + 64;
};

template <class F>
HAQA_UK_TARGET void prepareDecodeK(const uint8_t *x, int64_t superBlocks,
                                   uint8_t *out) {
  for (int64_t s = 0; s < superBlocks; ++s) {
    const uint8_t *xb = x + s * kSuperBlockBlocks * kXBytes;
    uint8_t *o = out + s * DecodeLayoutK<F>::kBytes;
    float xd[8], xs[8];
    for (int j = 0; j < 8; ++j) {
      xd[j] = halfToFloat(load16(xb + j * kXBytes));
      xs[j] = halfToFloat(load16(xb + j * kXBytes + 2));
    }
    constexpr int64_t kFloats = std::is_same_v<F, Q4_K> ? 256 : 512;
    float *fd = reinterpret_cast<float *>(o + kFloats);
    if constexpr (std::is_same_v<F, Q4_K>) {
      float *fs = fd + 16;
      for (int p = 0; p < 4; ++p)
        for (int e = 0; e < 2; ++e) {
          const uint8_t *q = xb + (2 * p + e) * kXBytes + kXQsOffset;
          std::memcpy(o + 128 * e + 16 * p, q, 16);
          std::memcpy(o + 128 * e + 64 + 16 * p, q + 16, 16);
          for (int r = 0; r < 2; ++r) {
            fd[4 * p + 2 * r + e] = xd[2 * p + e];
            fs[4 * p + 2 * r + e] = xs[2 * p + e];
          }
        }
    } else {
      int32_t *bias = reinterpret_cast<int32_t *>(o + 256);
      for (int j = 0; j < 8; ++j) {
        const uint8_t *q = xb + j * kXBytes + kXQsOffset;
        std::memcpy(o + 32 * j, q, 32);
        for (int i = 0; i < 8; ++i) {
          int32_t sum = 0;
          for (int l = 0; l < 4; ++l)
            sum += static_cast<int8_t>(q[4 * i + l]);
          bias[8 * j + i] = -32 * sum;
        }
      }
      for (int k = 0; k < 4; ++k)
        for (int e = 0; e < 2; ++e)
          for (int r = 0; r < 2; ++r)
            fd[8 * r + 4 * e + k] = xd[2 * k + e];
    }
  }
}

/// y[0..3] of Q4_K weight rows [0, 4) at w over `superBlocks` with the
/// re-laid activation row xp.
HAQA_UK_TARGET void decodeQ4K4(const uint8_t *w, int64_t wrb, const uint8_t *xp,
                               int64_t superBlocks, float *y, int64_t ahead) {
  using F = Q4_K;
  __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  const __m512i low = _mm512_set1_epi8(0x0f);
  // Lane 4 p + 2 r + e: d (dmin) of row r, from [d0, dmin0, d1, dmin1].
  const __m512i idxD =
      _mm512_setr_epi32(0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2);
  const __m512i idxM =
      _mm512_setr_epi32(1, 1, 3, 3, 1, 1, 3, 3, 1, 1, 3, 3, 1, 1, 3, 3);
  const uint8_t *wb = w;
  for (int64_t s = 0; s < superBlocks; ++s, wb += F::kBytes) {
    if (ahead) {
#pragma GCC unroll 4
      for (int n = 0; n < 4; ++n)
        prefetchBytes<F::kBytes>(wb + n * wrb + ahead);
    }
    const uint8_t *xs = xp + s * DecodeLayoutK<F>::kBytes;
    const __m512i xae = _mm512_loadu_si512(xs);
    const __m512i xbe = _mm512_loadu_si512(xs + 64);
    const __m512i xao = _mm512_loadu_si512(xs + 128);
    const __m512i xbo = _mm512_loadu_si512(xs + 192);
    const __m512 xd = _mm512_loadu_ps(xs + 256);
    const __m512 xsum = _mm512_loadu_ps(xs + 320);
#pragma GCC unroll 2
    for (int r = 0; r < 2; ++r) {
      __m512i v[4];
      uint64_t sc[2], mn[2];
      uint32_t dm[2];
#pragma GCC unroll 2
      for (int e = 0; e < 2; ++e) {
        const uint8_t *b = wb + (2 * r + e) * wrb;
        const __m512i p0 = _mm512_loadu_si512(b + F::kQsOffset);
        const __m512i p1 = _mm512_loadu_si512(b + F::kQsOffset + 64);
        const __m512i za =
            _mm512_shuffle_i32x4(p0, p1, _MM_SHUFFLE(2, 0, 2, 0));
        const __m512i zb =
            _mm512_shuffle_i32x4(p0, p1, _MM_SHUFFLE(3, 1, 3, 1));
        const __m512i zero = _mm512_setzero_si512();
        v[2 * e] = _mm512_dpbusd_epi32(
            _mm512_dpbusd_epi32(zero, _mm512_and_si512(za, low), xae),
            _mm512_and_si512(zb, low), xbe);
        v[2 * e + 1] = _mm512_dpbusd_epi32(
            _mm512_dpbusd_epi32(
                zero, _mm512_and_si512(_mm512_srli_epi16(za, 4), low), xao),
            _mm512_and_si512(_mm512_srli_epi16(zb, 4), low), xbo);
        q4KScalesMins(b + F::kScalesOffset, sc[e], mn[e]);
        std::memcpy(&dm[e], b + F::kDOffset, 4);
      }
      const __m512i sums = transposeAdd4Z(v[0], v[1], v[2], v[3]);
      const __m128i scb =
          _mm_unpacklo_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc[0])),
                             _mm_cvtsi64_si128(static_cast<int64_t>(sc[1])));
      const __m128i mnb =
          _mm_unpacklo_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(mn[0])),
                             _mm_cvtsi64_si128(static_cast<int64_t>(mn[1])));
      const __m512 dmv = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi64_si128(
          static_cast<int64_t>(dm[0] | static_cast<uint64_t>(dm[1]) << 32))));
      const __m512 dsc =
          _mm512_mul_ps(_mm512_permutexvar_ps(idxD, dmv),
                        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(scb)));
      const __m512 dmn =
          _mm512_mul_ps(_mm512_permutexvar_ps(idxM, dmv),
                        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(mnb)));
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(dsc, xd),
                               acc[r]);
      acc[r] = _mm512_fnmadd_ps(dmn, xsum, acc[r]);
    }
  }
  // Lane 4 p + 2 r + e of acc[h] is row 2 h + r.
  __m128 t[2];
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256 a = _mm256_add_ps(
        _mm512_castps512_ps256(acc[h]),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[h]), 1)));
    t[h] = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  }
  _mm_storeu_ps(y, _mm_hadd_ps(t[0], t[1]));
}

/// y[0..3] of Q6_K weight rows [0, 4) at w, as decodeQ4K4.
HAQA_UK_TARGET void decodeQ6K4(const uint8_t *w, int64_t wrb, const uint8_t *xp,
                               int64_t superBlocks, float *y, int64_t ahead) {
  using F = Q6_K;
  __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  const __m512i low = _mm512_set1_epi8(0x0f), high = _mm512_set1_epi8(0x30);
  // Per 256-bit half (c = 0 | 1 and c = 2 | 3): qh bits 2 c to bits 4, 5.
  const __m512i shLo = _mm512_setr_epi64(
      0x0004000400040004, 0x0004000400040004, 0x0004000400040004,
      0x0004000400040004, 0x0002000200020002, 0x0002000200020002,
      0x0002000200020002, 0x0002000200020002);
  const __m512i shHi =
      _mm512_setr_epi64(0, 0, 0, 0, 0x0002000200020002, 0x0002000200020002,
                        0x0002000200020002, 0x0002000200020002);
  // Lane 4 q + k: scale byte 4 k + q.
  const __m128i scaleOrder =
      _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  // Lane 8 r + 4 e + k: d of row r of the pair, from [d0, d1, d2, d3].
  const __m512i idxD0 =
      _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i idxD1 =
      _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const uint8_t *wb = w;
  for (int64_t s = 0; s < superBlocks; ++s, wb += F::kBytes) {
    if (ahead) {
#pragma GCC unroll 4
      for (int n = 0; n < 4; ++n)
        prefetchBytes<F::kBytes>(wb + n * wrb + ahead);
    }
    const uint8_t *xs = xp + s * DecodeLayoutK<F>::kBytes;
    __m512i xv[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      xv[k] = _mm512_loadu_si512(xs + 64 * k);
    const __m512 xd = _mm512_loadu_ps(xs + 512);
    const __m512 dv = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_setr_epi16(
        static_cast<short>(load16(wb + F::kDOffset)),
        static_cast<short>(load16(wb + wrb + F::kDOffset)),
        static_cast<short>(load16(wb + 2 * wrb + F::kDOffset)),
        static_cast<short>(load16(wb + 3 * wrb + F::kDOffset)), 0, 0, 0, 0)));
    __m512i m[4];
#pragma GCC unroll 4
    for (int n = 0; n < 4; ++n) {
      const uint8_t *b = wb + n * wrb;
      const __m512i qh = _mm512_loadu_si512(b + F::kQhOffset);
      __m512i v[4];
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m512i ql = _mm512_loadu_si512(b + F::kQlOffset + 64 * h);
        const __m512i qhh =
            h == 0 ? _mm512_shuffle_i32x4(qh, qh, _MM_SHUFFLE(1, 0, 1, 0))
                   : _mm512_shuffle_i32x4(qh, qh, _MM_SHUFFLE(3, 2, 3, 2));
        const __m512i qlo = _mm512_ternarylogic_epi32(
            ql, low, _mm512_and_si512(_mm512_sllv_epi16(qhh, shLo), high),
            0xea); // (a & b) | c
        const __m512i qhi = _mm512_ternarylogic_epi32(
            _mm512_srli_epi16(ql, 4), low,
            _mm512_and_si512(_mm512_srlv_epi16(qhh, shHi), high), 0xea);
        v[2 * h] = _mm512_dpbusd_epi32(_mm512_loadu_si512(xs + 256 + 128 * h),
                                       qlo, xv[2 * h]);
        v[2 * h + 1] = _mm512_dpbusd_epi32(
            _mm512_loadu_si512(xs + 256 + 128 * h + 64), qhi, xv[2 * h + 1]);
      }
      const __m512i sc = _mm512_cvtepi8_epi32(
          _mm_shuffle_epi8(loadX(b + F::kScalesOffset), scaleOrder));
      m[n] = _mm512_mullo_epi32(transposeAdd4Z(v[0], v[1], v[2], v[3]), sc);
    }
#pragma GCC unroll 2
    for (int r = 0; r < 2; ++r) {
      const __m512i a = m[2 * r], b = m[2 * r + 1];
      const __m512i isum =
          _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
      const __m512 d = _mm512_permutexvar_ps(r == 0 ? idxD0 : idxD1, dv);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(d, xd),
                               acc[r]);
    }
  }
  // Lanes 0..7 of acc[h] are row 2 h, 8..15 row 2 h + 1.
  __m128 t[2];
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256 lo = _mm512_castps512_ps256(acc[h]);
    const __m256 hi =
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[h]), 1));
    const __m256 a = _mm256_hadd_ps(lo, hi); // [l01 l23 h01 h23 | l45 ..]
    t[h] = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  }
  // t[h] = [row 2h (two parts), row 2h + 1 (two parts)].
  _mm_storeu_ps(y, _mm_hadd_ps(t[0], t[1]));
}

/// A K-quant dot call with one activation row and 4-row blocks: the row
/// re-laid once, each 4 weight rows of [n0, n1) by decodeQ4K4 /
/// decodeQ6K4, the rest by the 256-bit kernels.
template <class F>
HAQA_UK_TARGET void runDecodeK(const DotKernelTable &table, const uint8_t *w,
                               int64_t wrb, const uint8_t *x, int64_t xrb,
                               float *y, int64_t ys, int64_t n0, int64_t n1,
                               int64_t blocks) {
  const int64_t superBlocks = blocks > 0 ? blocks / kSuperBlockBlocks : 0;
  int64_t n = n0;
  if (n1 - n0 >= 4 && superBlocks > 0) {
    thread_local std::vector<uint8_t> buf;
    buf.resize(superBlocks * DecodeLayoutK<F>::kBytes + 64);
    uint8_t *xp = buf.data() + (-reinterpret_cast<uintptr_t>(buf.data()) & 63);
    prepareDecodeK<F>(x, superBlocks, xp);
    const int64_t ahead = prefetchAhead<F>(4 * wrb);
    for (; n + 4 <= n1; n += 4) {
      if constexpr (std::is_same_v<F, Q4_K>)
        decodeQ4K4(w + n * wrb, wrb, xp, superBlocks, y + n, ahead);
      else
        decodeQ6K4(w + n * wrb, wrb, xp, superBlocks, y + n, ahead);
    }
  }
  if (n < n1)
    runDot(table, w, wrb, x, xrb, y, ys, 1, n, n1, blocks, 1, 4);
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

// nr = 16 (and above): packed panels (`Run`); else register blocks of
// `Kernel`: kernelZ for the 32-value blocks, for the K-quants the 256-bit
// kernels of X86KQuants.inc (EVEX vpdpbusd on ymm, 32 registers).
#define HAQA_UK_DEFINE_PANEL_DOT(fmt, F, Kernel, Run)                          \
  extern "C" void haqa_uk_dot_##fmt##_avx512vnni(                              \
      const uint8_t *w, int64_t w_row_bytes, const uint8_t *xq,                \
      int64_t xq_row_bytes, float *y, int64_t y_stride, int64_t rows_m,        \
      int64_t n0, int64_t n1, int64_t blocks, int64_t mr, int64_t nr) {        \
    static const ::mlir::haqa::uk::DotKernelTable table =                      \
        HAQA_UK_KERNEL_TABLE(::mlir::haqa::uk::avx512vnni::Kernel, F);         \
    if (nr >= 16)                                                              \
      ::mlir::haqa::uk::avx512vnni::Run<F>(table, w, w_row_bytes, xq,          \
                                           xq_row_bytes, y, y_stride, rows_m,  \
                                           n0, n1, blocks, mr);                \
    else                                                                       \
      ::mlir::haqa::uk::runDot(table, w, w_row_bytes, xq, xq_row_bytes, y,     \
                               y_stride, rows_m, n0, n1, blocks, mr, nr);      \
  }
HAQA_UK_DEFINE_PANEL_DOT(q8_0, ::mlir::haqa::uk::Q8_0, kernelZ, runPanels)
HAQA_UK_DEFINE_PANEL_DOT(q4_0, ::mlir::haqa::uk::Q4_0, kernelZ, runPanels)
HAQA_UK_DEFINE_PANEL_DOT(q4_1, ::mlir::haqa::uk::Q4_1, kernelZ, runPanels)
#undef HAQA_UK_DEFINE_PANEL_DOT

// K-quants: one activation row with nr >= 4 takes runDecodeK, else as
// above (kernelKY register blocks, packed panels for nr >= 16).
#define HAQA_UK_DEFINE_KQUANT_DOT(fmt, F)                                      \
  extern "C" void haqa_uk_dot_##fmt##_avx512vnni(                              \
      const uint8_t *w, int64_t w_row_bytes, const uint8_t *xq,                \
      int64_t xq_row_bytes, float *y, int64_t y_stride, int64_t rows_m,        \
      int64_t n0, int64_t n1, int64_t blocks, int64_t mr, int64_t nr) {        \
    static const ::mlir::haqa::uk::DotKernelTable table =                      \
        HAQA_UK_KERNEL_TABLE(::mlir::haqa::uk::avx512vnni::kernelKY, F);       \
    if (rows_m == 1 && nr >= 4)                                                \
      ::mlir::haqa::uk::avx512vnni::runDecodeK<F>(table, w, w_row_bytes, xq,   \
                                                  xq_row_bytes, y, y_stride,   \
                                                  n0, n1, blocks);             \
    else if (nr >= 16)                                                         \
      ::mlir::haqa::uk::avx512vnni::runPanelsK<F>(table, w, w_row_bytes, xq,   \
                                                  xq_row_bytes, y, y_stride,   \
                                                  rows_m, n0, n1, blocks, mr); \
    else                                                                       \
      ::mlir::haqa::uk::runDot(table, w, w_row_bytes, xq, xq_row_bytes, y,     \
                               y_stride, rows_m, n0, n1, blocks, mr, nr);      \
  }
HAQA_UK_DEFINE_KQUANT_DOT(q4_k, ::mlir::haqa::uk::Q4_K)
HAQA_UK_DEFINE_KQUANT_DOT(q6_k, ::mlir::haqa::uk::Q6_K)
#undef HAQA_UK_DEFINE_KQUANT_DOT

#endif // __x86_64__
