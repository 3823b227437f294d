//===- Codecs.h - weight storages: number formats, (de)quantization -*- C++
//-*-//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Everything that turns weight bytes into values and back: IEEE half and
// bfloat16, ggml's dequantizers for the block types of GGMLTypes.h, HAQA's
// round-to-nearest quantizers into any `#haqa.quant` storage (the GGUF
// layouts follow ggml's reference quantizers quantize_row_q8_0_ref, _q4_0_ref,
// _q4_1_ref operation for operation, so the bytes equal llama.cpp's and the
// gguf package's for the same input), and the mapping between ggml types and
// `#haqa.quant`.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_CODECS_H
#define HAQA_WEIGHTS_CODECS_H

#include "haqa/Dialect/HAQA/IR/GGMLTypes.h"
#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::haqa {

//===----------------------------------------------------------------------===//
// Number formats
//===----------------------------------------------------------------------===//

/// IEEE half and bfloat16 to float.
float halfToFloat(uint16_t h);
float bf16ToFloat(uint16_t b);
/// Round-to-nearest-even float to IEEE half (as ggml's GGML_FP32_TO_FP16).
uint16_t floatToHalf(float f);
/// Float to bfloat16 with round-to-nearest-even (as ggml's
/// GGML_FP32_TO_BF16).
uint16_t floatToBF16(float f);

//===----------------------------------------------------------------------===//
// ggml types <-> #haqa.quant
//===----------------------------------------------------------------------===//

/// The #haqa.quant a ggml type is stored as in HAQA, or null for types HAQA
/// stores dequantized (K-quants become f32).
QuantAttr getQuantForGGMLType(MLIRContext *ctx, uint32_t ggmlType);

/// The ggml type of an exact GGUF storage (inverse of the above), if any.
std::optional<uint32_t> getGGMLTypeForQuant(QuantAttr quant);

//===----------------------------------------------------------------------===//
// Dequantization and quantization
//===----------------------------------------------------------------------===//

/// Dequantizes `dst.size()` values of ggml `type` from `src`. `dst.size()`
/// must be a multiple of the type's block size and `src` exactly the bytes of
/// those blocks.
llvm::Error dequantize(uint32_t type, llvm::ArrayRef<uint8_t> src,
                       llvm::MutableArrayRef<float> dst);

/// Bytes of `values` (rows of `rowLength`, quantization groups along rows)
/// stored as `quant`: plain f32/f16/bf16, the GGUF layouts, and the planar
/// layout (see docs/Spec.md) for any group size.
llvm::Expected<std::vector<uint8_t>>
quantizeWeights(QuantAttr quant, llvm::ArrayRef<float> values,
                int64_t rowLength);

/// The values a planar-layout buffer holds (inverse of quantizeWeights for
/// the planar layout).
llvm::Error dequantizePlanar(QuantAttr quant, llvm::ArrayRef<uint8_t> bytes,
                             llvm::MutableArrayRef<float> values);

/// The values `bytes` hold in storage `quant` (any #haqa.quant: the GGUF
/// layouts through their ggml type, the planar one directly).
llvm::Error dequantizeWeights(QuantAttr quant, llvm::ArrayRef<uint8_t> bytes,
                              llvm::MutableArrayRef<float> values);

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_CODECS_H
