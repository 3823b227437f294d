//===- MicroKernels.h - CPU micro-kernels -----------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Hand-written CPU kernels that JIT-compiled code calls by name: a quantizer
// of f32 activations into Q8 activation blocks, int8 block dot products of
// ggml Q8_0 / Q4_0 / Q4_1 / Q4_K / Q6_K weight rows with those blocks, dots of
// f32 activation rows with IEEE half or bfloat16 weight rows, f32 causal
// grouped-query attention over a KV cache, and the RMS norm prologue and
// SiLU-gate / residual epilogue fused into a matmul. Plain C++, no MLIR:
// every ISA variant is compiled into one library with per-function target
// attributes, so the library runs on any x86-64 host and a caller picks the
// variants the host supports (isMicroKernelISASupported).
//
// Quantized formats (K, the reduction length, is a multiple of 32):
//  - Q8_0 weight block, 34 bytes: {f16 d; int8 qs[32]}, value j = d * qs[j].
//  - Q4_0 weight block, 18 bytes: {f16 d; uint8 qs[16]}, value j (j < 16) =
//    d * ((qs[j] & 15) - 8), value j + 16 = d * ((qs[j] >> 4) - 8).
//  - Q4_1 weight block, 20 bytes: {f16 d; f16 m; uint8 qs[16]}, value j =
//    d * (qs[j] & 15) + m, value j + 16 = d * (qs[j] >> 4) + m.
//  - Q4_K weight super-block of 256 values, 144 bytes: {f16 d; f16 dmin;
//    uint8 scales[12]; uint8 qs[128]}. Sub-block j (0..7) of 32 values has
//    a 6-bit scale sc_j and min m_j (ggml's get_scale_min_k4: j < 4:
//    sc = scales[j] & 63, m = scales[j + 4] & 63; else
//    sc = (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4,
//    m = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4); value 32 j + l
//    (l < 32) = d * sc_j * nib - dmin * m_j, nib the low (j even) or high
//    (j odd) nibble of qs[32 (j / 2) + l].
//  - Q6_K weight super-block of 256 values, 210 bytes: {uint8 ql[128];
//    uint8 qh[64]; int8 scales[16]; f16 d}. Value 128 h + 32 c + l (h < 2,
//    c < 4, l < 32) = d * scales[8 h + 2 c + l / 16] * (q - 32), q =
//    ((ql[64 h + 32 (c & 1) + l] >> 4 (c >> 1)) & 15) |
//    ((qh[32 h + l] >> 2 c) & 3) << 4.
//  - Q8 activation block, 36 bytes: {f16 d; f16 s; int8 qs[32]} with
//    s = f16(d * sum(qs)) (see haqa_uk_quantize_q8_*).
// A row of K values is K / 32 consecutive blocks (K / 256 super-blocks for
// Q4_K and Q6_K, K a multiple of 256 there); nothing needs alignment.
//
// Function names are haqa_uk_<op>_<isa>, <isa> one of scalar, avx2, avxvnni,
// avx512vnni (the x86 ones exist on x86-64 hosts only). scalar is the
// reference; vector variants quantize bit-identically and compute the dots
// with the float additions across blocks (f16 / bf16 dots: across values)
// reordered; their attention, RMS norm and epilogue reorder their sums too
// and replace std::exp by a polynomial within a few ulp.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_MICROKERNELS_MICROKERNELS_H
#define HAQA_MICROKERNELS_MICROKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Quantizes `rows` rows of `k` floats (row r at x + r * x_stride) into Q8
/// activation blocks, row r's k / 32 blocks at out + r * out_row_bytes. Per
/// block of 32 values: amax = max |x|, d = amax / 127, id = d ? 1 / d : 0,
/// q[j] = roundf(x[j] * id) (half away from zero), d and s = d * sum(q)
/// stored as f16 rounded to nearest even. Beyond that formula (where it has
/// no defined result): NaN inputs do not count in amax and quantize to 0,
/// and a product x[j] * id outside [-127, 127] (only for infinite inputs or
/// a block whose d underflows so that 1 / d is infinite) is clamped to it,
/// so q is always in [-127, 127]. All variants give identical bytes.
///
/// haqa_uk_dot_<fmt>: y[m * y_stride + n] for m in [0, rows_m), n in
/// [n0, n1): the dot of weight row n (at w + n * w_row_bytes) with activation
/// row m (at xq + m * xq_row_bytes) over `blocks` blocks of 32:
///   acc = 0; for each block: sumi = sum_j wq[j] * xq[j] (int32) where wq is
///   qs (Q8_0), nibble - 8 (Q4_0), nibble (Q4_1);
///   acc += w.d * x.d * sumi (+ w.m * x.s for Q4_1).
/// Q4_K and Q6_K (`blocks` a multiple of 8, blocks / 8 super-blocks per
/// weight row; a remainder of blocks is ignored): activation block
/// b = 8 s + j meets sub-block j of super-block s (Q4_K), the group
/// (h, c) = (j / 4, j % 4) of 32 values of super-block s (Q6_K):
///   Q4_K: sumi = sum_l nib_l * xq[l] (int32);
///         acc += (d * sc_j) * x.d * sumi - (dmin * m_j) * x.s;
///   Q6_K: sumi_a, sumi_b = sum of (q - 32) * xq over l < 16 and l >= 16
///         (int32), sc_a, sc_b = scales[8 h + 2 c], scales[8 h + 2 c + 1];
///         acc += d * x.d * (sc_a * sumi_a + sc_b * sumi_b)
/// (the products in float in that order, the sums in brackets in int32).
/// Activation qs must be in [-127, 127], as the quantizer makes them (the
/// avx2 variant's int16 pair sums rely on it).
/// mr x nr (each 1, 2 or 4; 3 acts as 2, larger as 4, smaller as 1) is the
/// register block: mr activation rows times nr weight rows are computed
/// together, their accumulators in registers over the whole K loop; the
/// edges of rows_m and n1 - n0 use smaller blocks. Blocks of nr weight rows
/// are the outer loop, each reused for all activation rows. nr >= 16 on
/// avx512vnni (every format): each 16 weight rows of [n0, n1) are packed
/// once per call into a per-thread panel (K-quants: decoded to bytes and
/// per-32-value float scales) that every block of mr activation rows runs
/// over; the rows past the last whole panel take nr = 4. On avx512vnni,
/// Q4_K and Q6_K with rows_m = 1 and nr >= 4 (the decode) instead re-lay the
/// activation row once per call and take 4 weight rows a step with 512-bit
/// registers. Elsewhere nr >= 16 acts as 4.
///
/// haqa_uk_dot_f16: y[m * y_stride + n] for m in [0, rows_m), n in
/// [n0, n1): the dot of weight row n (k IEEE halves at w + n * w_row_stride)
/// with activation row m (k floats at x + m * x_stride), in float:
///   y[m, n] = sum_j x[m, j] * float(w[n, j]) for j in [0, k).
/// k is any length (k <= 0 writes zeros); strides count elements, and
/// nothing needs alignment. mr x nr is the register block, as for the int8
/// dots. The scalar variant adds the products in j order; the vector ones
/// keep per-lane partial sums (fused multiply-adds) added at the end.
///
/// haqa_uk_dot_bf16: haqa_uk_dot_f16 with bfloat16 weights: w[n, j] is the
/// top 16 bits of an IEEE f32, float(w) = the f32 of bits w << 16 (exact,
/// infinities, NaNs and subnormals included). Same arguments, blocks and
/// order of the sums as haqa_uk_dot_f16 (the two share their kernels).
///
/// haqa_uk_attention_f32: causal grouped-query softmax attention of query
/// rows over a KV cache, for the work units u in [u0, u1) of tokens *
/// heads_q, u = t * heads_q + h (token t, query head h); callers split the
/// units across threads. hd >= 1 is the head size and heads_q a multiple of
/// heads_kv; query head h reads KV head g = h / (heads_q / heads_kv). Element
/// d of head h of token t is at q[t * q_stride + h * hd + d] and
/// out[t * out_stride + h * hd + d]; of head g of cache row j at
/// k[j * kv_stride + g * hd + d] (v alike). Query t sees the n cache rows
/// 0 .. min(positions[t], cache_rows - 1); per unit:
///   s_j = (sum_d q[t, h, d] * k[j, g, d]) * scale  for j < n;
///   m = max_j s_j; p_j = exp(s_j - m); l = sum_j p_j;
///   out[t, h, d] = (sum_j p_j * v[j, g, d]) / l.
/// A negative position sees nothing: its units write zeros. Only the
/// units' hd floats of out are written. Each call allocates one scratch row
/// of max n floats; scores are kept there between the passes over the rows.
///
/// haqa_uk_rms_norm_f32: the RMS norm prologue of a matmul. For rows m in
/// [0, rows), row m of k floats at x + m * x_stride, into y + m * y_stride:
///   r = 1 / sqrt(sum_j x[m, j]^2 / k + eps)  (the sum of squares in float);
///   y[m, j] = x[m, j] * r * w[j]  for j in [0, k).
/// Strides count elements; y may not alias x; k <= 0 writes nothing. The
/// vector variants keep per-lane partial sums of the squares.
///
/// haqa_uk_epilogue_f32: the epilogue of a matmul piece, in place over rows
/// [0, rows) x columns [n0, n1) of y (element (m, n) at y[m * y_stride + n]):
///   if gate:     y = silu(gate[m * gate_stride + n]) * y,
///                silu(g) = g / (1 + exp(-g));
///   if residual: y = y + residual[m * residual_stride + n] (after the gate).
/// gate and residual may each be null (both null: nothing is done); they are
/// [rows, N] tensors indexed by the same (m, n) as y. Columns outside
/// [n0, n1) are untouched.

void haqa_uk_quantize_q8_scalar(const float *x, int64_t x_stride, int64_t rows,
                                int64_t k, uint8_t *out, int64_t out_row_bytes);
void haqa_uk_dot_q8_0_scalar(const uint8_t *w, int64_t w_row_bytes,
                             const uint8_t *xq, int64_t xq_row_bytes, float *y,
                             int64_t y_stride, int64_t rows_m, int64_t n0,
                             int64_t n1, int64_t blocks, int64_t mr,
                             int64_t nr);
void haqa_uk_dot_q4_0_scalar(const uint8_t *w, int64_t w_row_bytes,
                             const uint8_t *xq, int64_t xq_row_bytes, float *y,
                             int64_t y_stride, int64_t rows_m, int64_t n0,
                             int64_t n1, int64_t blocks, int64_t mr,
                             int64_t nr);
void haqa_uk_dot_q4_1_scalar(const uint8_t *w, int64_t w_row_bytes,
                             const uint8_t *xq, int64_t xq_row_bytes, float *y,
                             int64_t y_stride, int64_t rows_m, int64_t n0,
                             int64_t n1, int64_t blocks, int64_t mr,
                             int64_t nr);
void haqa_uk_dot_q4_k_scalar(const uint8_t *w, int64_t w_row_bytes,
                             const uint8_t *xq, int64_t xq_row_bytes, float *y,
                             int64_t y_stride, int64_t rows_m, int64_t n0,
                             int64_t n1, int64_t blocks, int64_t mr,
                             int64_t nr);
void haqa_uk_dot_q6_k_scalar(const uint8_t *w, int64_t w_row_bytes,
                             const uint8_t *xq, int64_t xq_row_bytes, float *y,
                             int64_t y_stride, int64_t rows_m, int64_t n0,
                             int64_t n1, int64_t blocks, int64_t mr,
                             int64_t nr);
void haqa_uk_dot_f16_scalar(const uint16_t *w, int64_t w_row_stride,
                            const float *x, int64_t x_stride, float *y,
                            int64_t y_stride, int64_t rows_m, int64_t n0,
                            int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_dot_bf16_scalar(const uint16_t *w, int64_t w_row_stride,
                             const float *x, int64_t x_stride, float *y,
                             int64_t y_stride, int64_t rows_m, int64_t n0,
                             int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_attention_f32_scalar(const float *q, int64_t q_stride,
                                  const float *k, const float *v,
                                  int64_t kv_stride, int64_t cache_rows,
                                  const int32_t *positions, float *out,
                                  int64_t out_stride, int64_t heads_q,
                                  int64_t heads_kv, int64_t hd, float scale,
                                  int64_t u0, int64_t u1);
void haqa_uk_rms_norm_f32_scalar(const float *x, int64_t x_stride,
                                 const float *w, float *y, int64_t y_stride,
                                 int64_t rows, int64_t k, float eps);
void haqa_uk_epilogue_f32_scalar(float *y, int64_t y_stride, const float *gate,
                                 int64_t gate_stride, const float *residual,
                                 int64_t residual_stride, int64_t rows,
                                 int64_t n0, int64_t n1);

#if defined(__x86_64__)
void haqa_uk_quantize_q8_avx2(const float *x, int64_t x_stride, int64_t rows,
                              int64_t k, uint8_t *out, int64_t out_row_bytes);
void haqa_uk_dot_q8_0_avx2(const uint8_t *w, int64_t w_row_bytes,
                           const uint8_t *xq, int64_t xq_row_bytes, float *y,
                           int64_t y_stride, int64_t rows_m, int64_t n0,
                           int64_t n1, int64_t blocks, int64_t mr, int64_t nr);
void haqa_uk_dot_q4_0_avx2(const uint8_t *w, int64_t w_row_bytes,
                           const uint8_t *xq, int64_t xq_row_bytes, float *y,
                           int64_t y_stride, int64_t rows_m, int64_t n0,
                           int64_t n1, int64_t blocks, int64_t mr, int64_t nr);
void haqa_uk_dot_q4_1_avx2(const uint8_t *w, int64_t w_row_bytes,
                           const uint8_t *xq, int64_t xq_row_bytes, float *y,
                           int64_t y_stride, int64_t rows_m, int64_t n0,
                           int64_t n1, int64_t blocks, int64_t mr, int64_t nr);
void haqa_uk_dot_q4_k_avx2(const uint8_t *w, int64_t w_row_bytes,
                           const uint8_t *xq, int64_t xq_row_bytes, float *y,
                           int64_t y_stride, int64_t rows_m, int64_t n0,
                           int64_t n1, int64_t blocks, int64_t mr, int64_t nr);
void haqa_uk_dot_q6_k_avx2(const uint8_t *w, int64_t w_row_bytes,
                           const uint8_t *xq, int64_t xq_row_bytes, float *y,
                           int64_t y_stride, int64_t rows_m, int64_t n0,
                           int64_t n1, int64_t blocks, int64_t mr, int64_t nr);
void haqa_uk_dot_f16_avx2(const uint16_t *w, int64_t w_row_stride,
                          const float *x, int64_t x_stride, float *y,
                          int64_t y_stride, int64_t rows_m, int64_t n0,
                          int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_dot_bf16_avx2(const uint16_t *w, int64_t w_row_stride,
                           const float *x, int64_t x_stride, float *y,
                           int64_t y_stride, int64_t rows_m, int64_t n0,
                           int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_attention_f32_avx2(const float *q, int64_t q_stride,
                                const float *k, const float *v,
                                int64_t kv_stride, int64_t cache_rows,
                                const int32_t *positions, float *out,
                                int64_t out_stride, int64_t heads_q,
                                int64_t heads_kv, int64_t hd, float scale,
                                int64_t u0, int64_t u1);
void haqa_uk_rms_norm_f32_avx2(const float *x, int64_t x_stride, const float *w,
                               float *y, int64_t y_stride, int64_t rows,
                               int64_t k, float eps);
void haqa_uk_epilogue_f32_avx2(float *y, int64_t y_stride, const float *gate,
                               int64_t gate_stride, const float *residual,
                               int64_t residual_stride, int64_t rows,
                               int64_t n0, int64_t n1);

void haqa_uk_quantize_q8_avxvnni(const float *x, int64_t x_stride, int64_t rows,
                                 int64_t k, uint8_t *out,
                                 int64_t out_row_bytes);
void haqa_uk_dot_q8_0_avxvnni(const uint8_t *w, int64_t w_row_bytes,
                              const uint8_t *xq, int64_t xq_row_bytes, float *y,
                              int64_t y_stride, int64_t rows_m, int64_t n0,
                              int64_t n1, int64_t blocks, int64_t mr,
                              int64_t nr);
void haqa_uk_dot_q4_0_avxvnni(const uint8_t *w, int64_t w_row_bytes,
                              const uint8_t *xq, int64_t xq_row_bytes, float *y,
                              int64_t y_stride, int64_t rows_m, int64_t n0,
                              int64_t n1, int64_t blocks, int64_t mr,
                              int64_t nr);
void haqa_uk_dot_q4_1_avxvnni(const uint8_t *w, int64_t w_row_bytes,
                              const uint8_t *xq, int64_t xq_row_bytes, float *y,
                              int64_t y_stride, int64_t rows_m, int64_t n0,
                              int64_t n1, int64_t blocks, int64_t mr,
                              int64_t nr);
void haqa_uk_dot_q4_k_avxvnni(const uint8_t *w, int64_t w_row_bytes,
                              const uint8_t *xq, int64_t xq_row_bytes, float *y,
                              int64_t y_stride, int64_t rows_m, int64_t n0,
                              int64_t n1, int64_t blocks, int64_t mr,
                              int64_t nr);
void haqa_uk_dot_q6_k_avxvnni(const uint8_t *w, int64_t w_row_bytes,
                              const uint8_t *xq, int64_t xq_row_bytes, float *y,
                              int64_t y_stride, int64_t rows_m, int64_t n0,
                              int64_t n1, int64_t blocks, int64_t mr,
                              int64_t nr);
void haqa_uk_dot_f16_avxvnni(const uint16_t *w, int64_t w_row_stride,
                             const float *x, int64_t x_stride, float *y,
                             int64_t y_stride, int64_t rows_m, int64_t n0,
                             int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_dot_bf16_avxvnni(const uint16_t *w, int64_t w_row_stride,
                              const float *x, int64_t x_stride, float *y,
                              int64_t y_stride, int64_t rows_m, int64_t n0,
                              int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_attention_f32_avxvnni(const float *q, int64_t q_stride,
                                   const float *k, const float *v,
                                   int64_t kv_stride, int64_t cache_rows,
                                   const int32_t *positions, float *out,
                                   int64_t out_stride, int64_t heads_q,
                                   int64_t heads_kv, int64_t hd, float scale,
                                   int64_t u0, int64_t u1);
void haqa_uk_rms_norm_f32_avxvnni(const float *x, int64_t x_stride,
                                  const float *w, float *y, int64_t y_stride,
                                  int64_t rows, int64_t k, float eps);
void haqa_uk_epilogue_f32_avxvnni(float *y, int64_t y_stride, const float *gate,
                                  int64_t gate_stride, const float *residual,
                                  int64_t residual_stride, int64_t rows,
                                  int64_t n0, int64_t n1);

void haqa_uk_quantize_q8_avx512vnni(const float *x, int64_t x_stride,
                                    int64_t rows, int64_t k, uint8_t *out,
                                    int64_t out_row_bytes);
void haqa_uk_dot_q8_0_avx512vnni(const uint8_t *w, int64_t w_row_bytes,
                                 const uint8_t *xq, int64_t xq_row_bytes,
                                 float *y, int64_t y_stride, int64_t rows_m,
                                 int64_t n0, int64_t n1, int64_t blocks,
                                 int64_t mr, int64_t nr);
void haqa_uk_dot_q4_0_avx512vnni(const uint8_t *w, int64_t w_row_bytes,
                                 const uint8_t *xq, int64_t xq_row_bytes,
                                 float *y, int64_t y_stride, int64_t rows_m,
                                 int64_t n0, int64_t n1, int64_t blocks,
                                 int64_t mr, int64_t nr);
void haqa_uk_dot_q4_1_avx512vnni(const uint8_t *w, int64_t w_row_bytes,
                                 const uint8_t *xq, int64_t xq_row_bytes,
                                 float *y, int64_t y_stride, int64_t rows_m,
                                 int64_t n0, int64_t n1, int64_t blocks,
                                 int64_t mr, int64_t nr);
void haqa_uk_dot_q4_k_avx512vnni(const uint8_t *w, int64_t w_row_bytes,
                                 const uint8_t *xq, int64_t xq_row_bytes,
                                 float *y, int64_t y_stride, int64_t rows_m,
                                 int64_t n0, int64_t n1, int64_t blocks,
                                 int64_t mr, int64_t nr);
void haqa_uk_dot_q6_k_avx512vnni(const uint8_t *w, int64_t w_row_bytes,
                                 const uint8_t *xq, int64_t xq_row_bytes,
                                 float *y, int64_t y_stride, int64_t rows_m,
                                 int64_t n0, int64_t n1, int64_t blocks,
                                 int64_t mr, int64_t nr);
void haqa_uk_dot_f16_avx512vnni(const uint16_t *w, int64_t w_row_stride,
                                const float *x, int64_t x_stride, float *y,
                                int64_t y_stride, int64_t rows_m, int64_t n0,
                                int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_dot_bf16_avx512vnni(const uint16_t *w, int64_t w_row_stride,
                                 const float *x, int64_t x_stride, float *y,
                                 int64_t y_stride, int64_t rows_m, int64_t n0,
                                 int64_t n1, int64_t k, int64_t mr, int64_t nr);
void haqa_uk_attention_f32_avx512vnni(const float *q, int64_t q_stride,
                                      const float *k, const float *v,
                                      int64_t kv_stride, int64_t cache_rows,
                                      const int32_t *positions, float *out,
                                      int64_t out_stride, int64_t heads_q,
                                      int64_t heads_kv, int64_t hd, float scale,
                                      int64_t u0, int64_t u1);
void haqa_uk_rms_norm_f32_avx512vnni(const float *x, int64_t x_stride,
                                     const float *w, float *y, int64_t y_stride,
                                     int64_t rows, int64_t k, float eps);
void haqa_uk_epilogue_f32_avx512vnni(float *y, int64_t y_stride,
                                     const float *gate, int64_t gate_stride,
                                     const float *residual,
                                     int64_t residual_stride, int64_t rows,
                                     int64_t n0, int64_t n1);
#endif // __x86_64__

#ifdef __cplusplus
} // extern "C"

#include <string>
#include <vector>

namespace mlir::haqa {

/// Bytes of one block of each format.
constexpr int64_t kQ8_0BlockBytes = 34;
constexpr int64_t kQ4_0BlockBytes = 18;
constexpr int64_t kQ4_1BlockBytes = 20;
/// Q4_K and Q6_K: bytes of one super-block of 256 values.
constexpr int64_t kQ4_KBlockBytes = 144;
constexpr int64_t kQ6_KBlockBytes = 210;
constexpr int64_t kQ8ActivationBlockBytes = 36;

/// Bytes of one row of Q8 activation blocks for `k` values (36 * k / 32).
constexpr int64_t getQ8ActivationRowBytes(int64_t k) {
  return kQ8ActivationBlockBytes * (k / 32);
}

struct MicroKernelSymbol {
  const char *name;
  void *address;
};

/// Every kernel of this library compiled for this host's architecture: all
/// ISA variants are listed, callers check isMicroKernelISASupported.
std::vector<MicroKernelSymbol> getMicroKernelSymbols();

/// The address of the kernel named `name` in getMicroKernelSymbols(), or
/// null.
void *findMicroKernel(const std::string &name);

/// The signature of each kernel family (all its ISA variants share it), for
/// callers that look kernels up by name.
using MicroKernelQuantizeFn = decltype(&haqa_uk_quantize_q8_scalar);
using MicroKernelDotFn = decltype(&haqa_uk_dot_q8_0_scalar);
using MicroKernelDotF16Fn = decltype(&haqa_uk_dot_f16_scalar);
using MicroKernelDotBF16Fn = decltype(&haqa_uk_dot_bf16_scalar);
using MicroKernelAttentionFn = decltype(&haqa_uk_attention_f32_scalar);
using MicroKernelRMSNormFn = decltype(&haqa_uk_rms_norm_f32_scalar);
using MicroKernelEpilogueFn = decltype(&haqa_uk_epilogue_f32_scalar);

/// The ISA variants compiled for this architecture, "scalar" first.
std::vector<const char *> getMicroKernelISAs();

/// True when this host can run the variant `isa` ("scalar", "avx2",
/// "avxvnni", "avx512vnni").
bool isMicroKernelISASupported(const char *isa);

/// The f16 conversions the kernels use: IEEE half to float, and float to
/// half rounded to nearest even (bit-identical to halfToFloat / floatToHalf
/// of haqa/Weights/Dequantize.h, without depending on that library).
float microKernelHalfToFloat(uint16_t h);
uint16_t microKernelFloatToHalf(float f);

/// The bf16 conversion the kernels use: the f32 of bits `b` << 16.
float microKernelBF16ToFloat(uint16_t b);

/// y[i] = exp(x[i]) for i < n as the attention kernel of variant `isa`
/// computes it (for tests): std::exp for "scalar", else a polynomial within a
/// few ulp on [ln FLT_MIN, 88] that gives 0 below ln FLT_MIN. False, with y
/// untouched, for an ISA not compiled here; the caller checks
/// isMicroKernelISASupported.
bool microKernelAttentionExp(const char *isa, const float *x, float *y,
                             int64_t n);

} // namespace mlir::haqa

#endif // __cplusplus

#endif // HAQA_MICROKERNELS_MICROKERNELS_H
