//===- DotF16.cpp - F16- and BF16-weight dot micro-kernels ----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa_uk_dot_f16_<isa> and haqa_uk_dot_bf16_<isa>, every ISA variant in this
// file: f32 activation rows times 16-bit weight rows, IEEE half (f16) or
// bfloat16 (bf16). Both formats share one kernel body per ISA, a template on
// a weight format (F16, BF16 below) that only says how loaded weights widen
// to f32. One driver splits a call into mr x nr register blocks as the int8
// dots do (blocks of weight rows outermost, each reused for all activation
// rows); the kernel of a block keeps its MR x NR accumulators in registers
// over the whole k loop, converts each weight vector once for its MR
// activation rows, uses each activation vector for its NR weight rows and
// sums the lanes once at the end. The x86 kernels carry per-function target
// attributes like the rest of the library.
//
//===----------------------------------------------------------------------===//

#include "MicroKernelsImpl.h"
#include "haqa/MicroKernels/MicroKernels.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>

using ::mlir::haqa::uk::firstLanes16;

#define HAQA_UK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define HAQA_UK_AVX2_INLINE HAQA_UK_AVX2 inline __attribute__((always_inline))

// avx512bw for the 16-bit masked load of the tail; the avx512vnni variant's
// hosts have it (isMicroKernelISASupported checks it).
#define HAQA_UK_AVX512                                                         \
  __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define HAQA_UK_AVX512_INLINE                                                  \
  HAQA_UK_AVX512 inline __attribute__((always_inline))

// GCC 12 warns that the self-initialized _mm512_undefined_* inside the
// intrinsics "may be used uninitialized"; they are meant to be undefined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#endif // __x86_64__

namespace {

//===----------------------------------------------------------------------===//
// Weight formats
//===----------------------------------------------------------------------===//

// What the kernels ask of a weight format: toFloat(one weight), and on x86
// widen8 / widen16(8 / 16 loaded weights) as f32 lanes. Both conversions are
// exact, so a dot's result depends on the format only through the values.

/// IEEE half: F16C's conversions.
struct F16 {
  static float toFloat(uint16_t h) { return ::mlir::haqa::uk::halfToFloat(h); }
#if defined(__x86_64__)
  static HAQA_UK_AVX2_INLINE __m256 widen8(__m128i h) {
    return _mm256_cvtph_ps(h);
  }
  static HAQA_UK_AVX512_INLINE __m512 widen16(__m256i h) {
    return _mm512_cvtph_ps(h);
  }
#endif
};

/// bfloat16, the top 16 bits of an f32: shifted into place (infinities, NaNs
/// and subnormals included).
struct BF16 {
  static float toFloat(uint16_t b) {
    return ::mlir::haqa::uk::bitsFloat(static_cast<uint32_t>(b) << 16);
  }
#if defined(__x86_64__)
  static HAQA_UK_AVX2_INLINE __m256 widen8(__m128i b) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
  }
  static HAQA_UK_AVX512_INLINE __m512 widen16(__m256i b) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
  }
#endif
};

//===----------------------------------------------------------------------===//
// Scalar
//===----------------------------------------------------------------------===//

/// One register block: y[m * ys + n] for m < MR, n < NR, weight row n at
/// w + n * ws, activation row m at x + m * xs.
using Dot16Kernel = void (*)(const uint16_t *w, int64_t ws, const float *x,
                             int64_t xs, float *y, int64_t ys, int64_t k);

/// The kernels of one format and ISA, [log2 MR][log2 NR].
using Dot16KernelTable = Dot16Kernel[3][3];

/// Fills a Dot16KernelTable from a kernel template K<W, MR, NR>.
#define HAQA_UK_DOT16_KERNEL_TABLE(K, W)                                       \
  {                                                                            \
    {K<W, 1, 1>, K<W, 1, 2>, K<W, 1, 4>},                                      \
        {K<W, 2, 1>, K<W, 2, 2>, K<W, 2, 4>},                                  \
        {K<W, 4, 1>, K<W, 4, 2>, K<W, 4, 4>},                                  \
  }

/// The reference: each sum in index order, in float.
template <class W, int MR, int NR>
void kernelScalar(const uint16_t *w, int64_t ws, const float *x, int64_t xs,
                  float *y, int64_t ys, int64_t k) {
  float acc[MR][NR] = {};
  for (int64_t i = 0; i < k; ++i)
    for (int n = 0; n < NR; ++n) {
      const float wv = W::toFloat(w[n * ws + i]);
      for (int m = 0; m < MR; ++m)
        acc[m][n] += x[m * xs + i] * wv;
    }
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NR; ++n)
      y[m * ys + n] = acc[m][n];
}

} // namespace

#if defined(__x86_64__)

// Both x86 kernels take k in steps of 32 weights (64 bytes, a cache line of
// each weight row) while they prefetch: the same offset in the next group of
// NR weight rows, whose lines are then in cache when the caller's next
// register block reaches them (a decode streams each weight once from DRAM,
// and NR interleaved row streams are more than the hardware prefetcher
// follows at full speed; see kernelZ of the int8 dots).

//===----------------------------------------------------------------------===//
// AVX2: 256 bits
//===----------------------------------------------------------------------===//

namespace {

/// acc[m][n] += x[m][i, i + 8) * w[n][i, i + 8), lane by lane.
template <class W, int MR, int NR>
HAQA_UK_AVX2_INLINE void stepY(const uint16_t *const *w, const float *const *x,
                               int64_t i, __m256 (&acc)[MR][NR]) {
#pragma GCC unroll 4
  for (int n = 0; n < NR; ++n) {
    const __m256 wv =
        W::widen8(_mm_loadu_si128(reinterpret_cast<const __m128i *>(w[n] + i)));
#pragma GCC unroll 4
    for (int m = 0; m < MR; ++m)
      acc[m][n] = _mm256_fmadd_ps(_mm256_loadu_ps(x[m] + i), wv, acc[m][n]);
  }
}

/// Stores the sums of acc[0, NR) at y[0, NR).
template <int NR>
HAQA_UK_AVX2_INLINE void storeSumsY(const __m256 (&acc)[NR], float *y) {
  __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                 _mm256_setzero_ps()};
#pragma GCC unroll 4
  for (int n = 0; n < NR; ++n)
    a[n] = acc[n];
  const __m256 h =
      _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  const __m128 s =
      _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  if constexpr (NR == 4)
    _mm_storeu_ps(y, s);
  else if constexpr (NR == 2)
    _mm_storel_pi(reinterpret_cast<__m64 *>(y), s);
  else
    _mm_store_ss(y, s);
}

template <class W, int MR, int NR>
HAQA_UK_AVX2 void kernelY(const uint16_t *w, int64_t ws, const float *x,
                          int64_t xs, float *y, int64_t ys, int64_t k) {
  __m256 acc[MR][NR];
  const uint16_t *wr[NR];
  const float *xr[MR];
#pragma GCC unroll 4
  for (int n = 0; n < NR; ++n)
    wr[n] = w + n * ws;
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m) {
    xr[m] = x + m * xs;
#pragma GCC unroll 4
    for (int n = 0; n < NR; ++n)
      acc[m][n] = _mm256_setzero_ps();
  }
  const int64_t ahead = NR * ws;
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
#pragma GCC unroll 4
    for (int n = 0; n < NR; ++n)
      _mm_prefetch(reinterpret_cast<const char *>(wr[n] + ahead + i),
                   _MM_HINT_T0);
#pragma GCC unroll 4
    for (int j = 0; j < 32; j += 8)
      stepY<W, MR, NR>(wr, xr, i + j, acc);
  }
  for (; i + 8 <= k; i += 8)
    stepY<W, MR, NR>(wr, xr, i, acc);
  if (i < k) {
    // AVX2 has no 16-bit masked load: the last k - i < 8 values go through
    // zero-padded copies (0 * 0 adds nothing; both formats widen 0 to +0).
    uint16_t wt[NR][8] = {};
    float xt[MR][8] = {};
    const uint16_t *wp[NR];
    const float *xp[MR];
    for (int n = 0; n < NR; ++n) {
      std::memcpy(wt[n], wr[n] + i, (k - i) * sizeof(uint16_t));
      wp[n] = wt[n];
    }
    for (int m = 0; m < MR; ++m) {
      std::memcpy(xt[m], xr[m] + i, (k - i) * sizeof(float));
      xp[m] = xt[m];
    }
    stepY<W, MR, NR>(wp, xp, 0, acc);
  }
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
    storeSumsY<NR>(acc[m], y + m * ys);
}

} // namespace

//===----------------------------------------------------------------------===//
// AVX-512: 512 bits, masked tails
//===----------------------------------------------------------------------===//

namespace {

/// acc[m][n] += x[m][i, i + 16) * w[n][i, i + 16), lane by lane; Masked: only
/// the lanes of `mask` are read (the others are zero), so nothing past the
/// ends of the rows is touched.
template <class W, int MR, int NR, bool Masked>
HAQA_UK_AVX512_INLINE void stepZ(const uint16_t *const *w,
                                 const float *const *x, int64_t i,
                                 __mmask16 mask, __m512 (&acc)[MR][NR]) {
  __m512 wv[NR];
#pragma GCC unroll 4
  for (int n = 0; n < NR; ++n)
    wv[n] = W::widen16(
        Masked
            ? _mm256_maskz_loadu_epi16(mask, w[n] + i)
            : _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w[n] + i)));
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m) {
    const __m512 xv = Masked ? _mm512_maskz_loadu_ps(mask, x[m] + i)
                             : _mm512_loadu_ps(x[m] + i);
#pragma GCC unroll 4
    for (int n = 0; n < NR; ++n)
      acc[m][n] = _mm512_fmadd_ps(xv, wv[n], acc[m][n]);
  }
}

/// Stores the sums of acc[0, NR) at y[0, NR).
template <int NR>
HAQA_UK_AVX512_INLINE void storeSumsZ(const __m512 (&acc)[NR], float *y) {
  __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                 _mm512_setzero_ps()};
#pragma GCC unroll 4
  for (int n = 0; n < NR; ++n)
    a[n] = acc[n];
  // Per 128-bit lane: t0 = {a0 0+2, a1 0+2, a0 1+3, a1 1+3}, t1 alike, u the
  // lane's sums of a0 .. a3; then the four lanes are added.
  const __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(a[0], a[1]),
                                  _mm512_unpackhi_ps(a[0], a[1]));
  const __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(a[2], a[3]),
                                  _mm512_unpackhi_ps(a[2], a[3]));
  const __m512 u =
      _mm512_add_ps(_mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)),
                    _mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 h = _mm256_add_ps(
      _mm512_castps512_ps256(u),
      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
  _mm_mask_storeu_ps(
      y, static_cast<__mmask8>((1u << NR) - 1),
      _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

template <class W, int MR, int NR>
HAQA_UK_AVX512 void kernelZ(const uint16_t *w, int64_t ws, const float *x,
                            int64_t xs, float *y, int64_t ys, int64_t k) {
  __m512 acc[MR][NR];
  const uint16_t *wr[NR];
  const float *xr[MR];
#pragma GCC unroll 4
  for (int n = 0; n < NR; ++n)
    wr[n] = w + n * ws;
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m) {
    xr[m] = x + m * xs;
#pragma GCC unroll 4
    for (int n = 0; n < NR; ++n)
      acc[m][n] = _mm512_setzero_ps();
  }
  const int64_t ahead = NR * ws;
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
#pragma GCC unroll 4
    for (int n = 0; n < NR; ++n)
      _mm_prefetch(reinterpret_cast<const char *>(wr[n] + ahead + i),
                   _MM_HINT_T0);
    stepZ<W, MR, NR, false>(wr, xr, i, 0, acc);
    stepZ<W, MR, NR, false>(wr, xr, i + 16, 0, acc);
  }
  for (; i < k; i += 16)
    stepZ<W, MR, NR, true>(wr, xr, i, firstLanes16(k - i), acc);
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
    storeSumsZ<NR>(acc[m], y + m * ys);
}

} // namespace

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#undef HAQA_UK_AVX512_INLINE
#undef HAQA_UK_AVX512
#undef HAQA_UK_AVX2_INLINE
#undef HAQA_UK_AVX2

#endif // __x86_64__

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// haqa_uk_dot_<fmt>_<isa> from the kernel template K<W, MR, NR>.
#define HAQA_UK_DEFINE_DOT16(fmt, W, isa, K)                                   \
  extern "C" void haqa_uk_dot_##fmt##_##isa(                                   \
      const uint16_t *w, int64_t w_row_stride, const float *x,                 \
      int64_t x_stride, float *y, int64_t y_stride, int64_t rows_m,            \
      int64_t n0, int64_t n1, int64_t k, int64_t mr, int64_t nr) {             \
    static const Dot16KernelTable table = HAQA_UK_DOT16_KERNEL_TABLE(K, W);    \
    ::mlir::haqa::uk::runBlocks(table, w, w_row_stride, x, x_stride, y,        \
                                y_stride, rows_m, n0, n1, k, mr, nr);          \
  }

/// The f16 and bf16 dots of one ISA, one kernel template for both.
#define HAQA_UK_DEFINE_DOTS16(isa, K)                                          \
  HAQA_UK_DEFINE_DOT16(f16, F16, isa, K)                                       \
  HAQA_UK_DEFINE_DOT16(bf16, BF16, isa, K)

HAQA_UK_DEFINE_DOTS16(scalar, kernelScalar)
#if defined(__x86_64__)
// AVX-VNNI adds only int8 dots, which these kernels have none of.
HAQA_UK_DEFINE_DOTS16(avx2, kernelY)
HAQA_UK_DEFINE_DOTS16(avxvnni, kernelY)
HAQA_UK_DEFINE_DOTS16(avx512vnni, kernelZ)
#endif

#undef HAQA_UK_DEFINE_DOTS16
#undef HAQA_UK_DEFINE_DOT16
#undef HAQA_UK_DOT16_KERNEL_TABLE
