//===- MicroKernelsImpl.h - Shared parts of the micro-kernels ----*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// What every ISA variant of the micro-kernels shares: the f16 conversions,
// the block layouts and the driver that splits a dot call into mr x nr
// register blocks. Compiled without target attributes; the kernels it calls
// carry their own.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_MICROKERNELS_MICROKERNELSIMPL_H
#define HAQA_LIB_MICROKERNELS_MICROKERNELSIMPL_H

#include <cstdint>
#include <cstring>

namespace mlir::haqa::uk {

//===----------------------------------------------------------------------===//
// f16 <-> f32
//===----------------------------------------------------------------------===//

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// IEEE half to float; NaN payloads are kept.
inline float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return bitsFloat(floatBits(v) | sign);
  }
  if (exp == 31)
    return bitsFloat(sign | 0x7f800000u | (mant << 13));
  return bitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

/// Float to IEEE half, rounded to nearest even; overflow gives infinity and
/// NaN the quiet NaN 0x7e00 with the sign kept.
inline uint16_t floatToHalf(float f) {
  uint32_t u = floatBits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u)
    return static_cast<uint16_t>(sign | 0x7e00u);
  uint32_t e = a >> 23; // biased float exponent
  if (e >= 143)         // >= 2^16, or infinity
    return static_cast<uint16_t>(sign | 0x7c00u);
  uint32_t mant = a & 0x7fffffu;
  if (e >= 113) { // normal half
    uint32_t h = ((e - 112) << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
      ++h; // a carry moves into the exponent, up to infinity
    return static_cast<uint16_t>(sign | h);
  }
  // Subnormal half (or zero): (1.mant) * 2^(e-127) in units of 2^-24.
  if (e < 102) // below 2^-25, half the smallest subnormal: zero
    return static_cast<uint16_t>(sign);
  uint32_t m = mant | 0x800000u;
  uint32_t shift = 126 - e; // 14 .. 24
  uint32_t h = m >> shift;
  uint32_t rest = m & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1u)))
    ++h; // may become 0x400, the smallest normal
  return static_cast<uint16_t>(sign | h);
}

inline uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline void store16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

//===----------------------------------------------------------------------===//
// Block layouts
//===----------------------------------------------------------------------===//

/// Q8 activation block: {f16 d; f16 s; int8 qs[32]}.
constexpr int64_t kXBytes = 36;
constexpr int64_t kXQsOffset = 4;

/// Weight formats: block bytes and where qs starts.
struct Q8_0 {
  static constexpr int64_t kBytes = 34;
  static constexpr int64_t kQsOffset = 2;
};
struct Q4_0 {
  static constexpr int64_t kBytes = 18;
  static constexpr int64_t kQsOffset = 2;
};
struct Q4_1 {
  static constexpr int64_t kBytes = 20;
  static constexpr int64_t kQsOffset = 4;
};

/// K-quant weight formats: a block is a super-block of 256 values, eight
/// activation blocks; kBytes is the super-block's size.
/// Q4_K: {f16 d; f16 dmin; uint8 scales[12]; uint8 qs[128]}.
struct Q4_K {
  static constexpr int64_t kBytes = 144;
  static constexpr int64_t kDOffset = 0;
  static constexpr int64_t kDMinOffset = 2;
  static constexpr int64_t kScalesOffset = 4;
  static constexpr int64_t kQsOffset = 16;
};
/// Q6_K: {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d}.
struct Q6_K {
  static constexpr int64_t kBytes = 210;
  static constexpr int64_t kQlOffset = 0;
  static constexpr int64_t kQhOffset = 128;
  static constexpr int64_t kScalesOffset = 192;
  static constexpr int64_t kDOffset = 208;
};

/// Activation blocks per K-quant super-block.
constexpr int64_t kSuperBlockBlocks = 8;

/// The 6-bit scale and min of sub-block j (0..7) of a Q4_K super-block from
/// its 12 scale bytes (ggml's get_scale_min_k4).
inline void q4KScaleMin(int j, const uint8_t *q, int &sc, int &m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/// All eight 6-bit scales (bytes 0..7 of *sc) and mins (*mins) of a Q4_K
/// super-block, as ggml's kernels unpack them with 32-bit masks.
inline void q4KScalesMins(const uint8_t *q, uint64_t &sc, uint64_t &mins) {
  uint32_t u[3];
  std::memcpy(u, q, 12);
  const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const uint32_t sc0 = u[0] & m6;
  const uint32_t sc1 = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);
  const uint32_t mn0 = u[1] & m6;
  const uint32_t mn1 = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
  sc = sc0 | static_cast<uint64_t>(sc1) << 32;
  mins = mn0 | static_cast<uint64_t>(mn1) << 32;
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

/// One register block: y[m * ys + n] for m < MR, n < NR, weight row n at
/// w + n * wrb, activation row m at x + m * xrb.
using DotKernel = void (*)(const uint8_t *w, int64_t wrb, const uint8_t *x,
                           int64_t xrb, float *y, int64_t ys, int64_t blocks);

/// The kernels of one format and ISA, [log2 MR][log2 NR].
using DotKernelTable = DotKernel[3][3];

inline int registerBlock(int64_t v) { return v >= 4 ? 4 : v >= 2 ? 2 : 1; }
inline int log2Block(int v) { return v == 4 ? 2 : v == 2 ? 1 : 0; }
/// The register block (at most `block`, halved) that fits the `left` rows.
inline int blockFor(int block, int64_t left) {
  while (block > left)
    block >>= 1;
  return block;
}

/// Covers [0, rows_m) x [n0, n1) with blocks of at most mr x nr, weight row
/// blocks outermost: `table[log2 MR][log2 NR]` is called with weight rows
/// `ws` elements apart, activation rows `xs` apart and the reduction length
/// `len` (blocks for the int8 dots, values for the F16 one).
template <class Kernel, class W, class X>
inline void runBlocks(const Kernel (&table)[3][3], const W *w, int64_t ws,
                      const X *x, int64_t xs, float *y, int64_t ys,
                      int64_t rowsM, int64_t n0, int64_t n1, int64_t len,
                      int64_t mr, int64_t nr) {
  const int mrb = registerBlock(mr), nrb = registerBlock(nr);
  for (int64_t n = n0; n < n1;) {
    const int nb = blockFor(nrb, n1 - n);
    for (int64_t m = 0; m < rowsM;) {
      const int mb = blockFor(mrb, rowsM - m);
      table[log2Block(mb)][log2Block(nb)](w + n * ws, ws, x + m * xs, xs,
                                          y + m * ys + n, ys, len);
      m += mb;
    }
    n += nb;
  }
}

/// runBlocks for the int8 dots; a negative block count is none.
inline void runDot(const DotKernelTable &table, const uint8_t *w, int64_t wrb,
                   const uint8_t *x, int64_t xrb, float *y, int64_t ys,
                   int64_t rowsM, int64_t n0, int64_t n1, int64_t blocks,
                   int64_t mr, int64_t nr) {
  runBlocks(table, w, wrb, x, xrb, y, ys, rowsM, n0, n1,
            blocks < 0 ? 0 : blocks, mr, nr);
}

/// The first `count` of 16 lanes as an AVX-512 mask (__mmask16), count
/// clamped to [0, 16]. Plain integer code: no target attribute needed.
inline uint16_t firstLanes16(int64_t count) {
  return count >= 16  ? uint16_t(0xffff)
         : count <= 0 ? uint16_t(0)
                      : static_cast<uint16_t>((1u << count) - 1);
}

/// Fills a DotKernelTable from a kernel template K<F, MR, NR>.
#define HAQA_UK_KERNEL_TABLE(K, F)                                             \
  {                                                                            \
    {K<F, 1, 1>, K<F, 1, 2>, K<F, 1, 4>},                                      \
        {K<F, 2, 1>, K<F, 2, 2>, K<F, 2, 4>},                                  \
        {K<F, 4, 1>, K<F, 4, 2>, K<F, 4, 4>},                                  \
  }

/// Defines the three extern "C" dot entry points of one ISA from a kernel
/// template K<F, MR, NR>.
#define HAQA_UK_DEFINE_DOTS(K, isa)                                            \
  HAQA_UK_DEFINE_DOT(K, isa, q8_0, ::mlir::haqa::uk::Q8_0)                     \
  HAQA_UK_DEFINE_DOT(K, isa, q4_0, ::mlir::haqa::uk::Q4_0)                     \
  HAQA_UK_DEFINE_DOT(K, isa, q4_1, ::mlir::haqa::uk::Q4_1)

/// Defines the two extern "C" K-quant dot entry points (q4_k, q6_k) of one
/// ISA from a kernel template K<F, MR, NR> whose `blocks` argument counts
/// activation blocks (eight per super-block).
#define HAQA_UK_DEFINE_KQUANT_DOTS(K, isa)                                     \
  HAQA_UK_DEFINE_DOT(K, isa, q4_k, ::mlir::haqa::uk::Q4_K)                     \
  HAQA_UK_DEFINE_DOT(K, isa, q6_k, ::mlir::haqa::uk::Q6_K)

#define HAQA_UK_DEFINE_DOT(K, isa, fmt, F)                                     \
  extern "C" void haqa_uk_dot_##fmt##_##isa(                                   \
      const uint8_t *w, int64_t w_row_bytes, const uint8_t *xq,                \
      int64_t xq_row_bytes, float *y, int64_t y_stride, int64_t rows_m,        \
      int64_t n0, int64_t n1, int64_t blocks, int64_t mr, int64_t nr) {        \
    static const ::mlir::haqa::uk::DotKernelTable table =                      \
        HAQA_UK_KERNEL_TABLE(K, F);                                            \
    ::mlir::haqa::uk::runDot(table, w, w_row_bytes, xq, xq_row_bytes, y,       \
                             y_stride, rows_m, n0, n1, blocks, mr, nr);        \
  }

} // namespace mlir::haqa::uk

#endif // HAQA_LIB_MICROKERNELS_MICROKERNELSIMPL_H
