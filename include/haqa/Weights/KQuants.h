//===- KQuants.h - ggml K-quant blocks Q4_K and Q6_K ------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Quantizers and dequantizers for two of ggml's "K-quant" super-block
// formats, plain C++ over bytes (no MLIR, no LLVM). The quantizers follow
// ggml-quants.c's reference quantizers quantize_row_q4_K_ref and
// quantize_row_q6_K_ref operation for operation, so for the same input the
// bytes equal llama.cpp's (checked by scripts/check-kquants.sh); the
// dequantizers compute ggml's dequantize_row_q4_K / _q6_K formulas.
//
// Both formats cover kQK_K = 256 values per super-block. Half values (f16)
// are IEEE binary16, little-endian; conversions round to nearest even.
//
// Q4_K, 144 bytes (block_q4_K):
//   [0, 2)     f16 d       super-scale of the sub-block scales
//   [2, 4)     f16 dmin    super-scale of the sub-block mins
//   [4, 16)    u8 scales[12]: eight 6-bit scales sc[j] and eight 6-bit mins
//              m[j], one per 32-value sub-block j, packed as
//                j < 4:  sc[j] = s[j] & 63,  m[j] = s[j + 4] & 63
//                j >= 4: sc[j] = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4
//                        m[j]  = (s[j + 4] >> 4) | (s[j]     >> 6) << 4
//              (s = scales)
//   [16, 144)  u8 qs[128]: 4-bit codes q in [0, 15]; the 64 values
//              [64k, 64k + 64) use qs[32k, 32k + 32): value 64k + l is the
//              low nibble of qs[32k + l], value 64k + 32 + l its high nibble.
//   Value i (sub-block j = i / 32): y = d * sc[j] * q - dmin * m[j]
//   (computed in float as (float(d) * sc[j]) * q - float(dmin) * m[j]).
//
// Q6_K, 210 bytes (block_q6_K):
//   [0, 128)   u8 ql[128]: low 4 bits of the 6-bit codes
//   [128, 192) u8 qh[64]:  high 2 bits of the 6-bit codes
//   [192, 208) i8 scales[16]: one signed 8-bit scale per 16-value sub-block
//   [208, 210) f16 d
//   Each half h (values [128h, 128h + 128)) uses ql[64h, 64h + 64) and
//   qh[32h, 32h + 32); for l in [0, 32), with L = ql + 64h, H = qh + 32h:
//     value 128h +      l: (L[l]      & 15) | ((H[l] >> 0) & 3) << 4
//     value 128h + 32 + l: (L[l + 32] & 15) | ((H[l] >> 2) & 3) << 4
//     value 128h + 64 + l: (L[l]      >> 4) | ((H[l] >> 4) & 3) << 4
//     value 128h + 96 + l: (L[l + 32] >> 4) | ((H[l] >> 6) & 3) << 4
//   Value i with code q in [0, 63]: y = d * scales[i / 16] * (q - 32)
//   (computed in float as (float(d) * scales[i / 16]) * (q - 32)).
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_KQUANTS_H
#define HAQA_WEIGHTS_KQUANTS_H

#include <cstdint>

namespace mlir::haqa {

/// Values per K-quant super-block.
constexpr int64_t kQK_K = 256;
/// Bytes of one Q4_K / Q6_K super-block.
constexpr int64_t kQ4_KBytes = 144;
constexpr int64_t kQ6_KBytes = 210;

/// Quantizes kQK_K floats `x` into one Q4_K block of kQ4_KBytes bytes at
/// `out` (bytes equal to ggml's quantize_row_q4_K_ref).
void quantizeQ4_KBlock(const float *x, uint8_t *out);

/// Quantizes kQK_K floats `x` into one Q6_K block of kQ6_KBytes bytes at
/// `out` (bytes equal to ggml's quantize_row_q6_K_ref).
void quantizeQ6_KBlock(const float *x, uint8_t *out);

/// Decodes one Q4_K block of kQ4_KBytes bytes at `in` into kQK_K floats.
void dequantizeQ4_KBlock(const uint8_t *in, float *y);

/// Decodes one Q6_K block of kQ6_KBytes bytes at `in` into kQK_K floats.
void dequantizeQ6_KBlock(const uint8_t *in, float *y);

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_KQUANTS_H
