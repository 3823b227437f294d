//===- Codecs.h - weight storages: number formats, (de)quantization -*- C++
//-*-//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Everything that turns weight bytes into values and back: the number
// formats and ggml's dequantizers (Dequantize.h, which needs no MLIR), HAQA's
// round-to-nearest quantizers into any `#haqa.quant` storage (the GGUF
// layouts follow ggml's reference quantizers quantize_row_q8_0_ref, _q4_0_ref,
// _q4_1_ref operation for operation, so the bytes equal llama.cpp's and the
// gguf package's for the same input), and the mapping between ggml types and
// `#haqa.quant`.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_CODECS_H
#define HAQA_WEIGHTS_CODECS_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Weights/Dequantize.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::haqa {

//===----------------------------------------------------------------------===//
// ggml types <-> #haqa.quant
//===----------------------------------------------------------------------===//

/// The #haqa.quant a ggml type is stored as in HAQA, or null for types HAQA
/// stores dequantized (K-quants become f32).
QuantAttr getQuantForGGMLType(MLIRContext *ctx, uint32_t ggmlType);

/// The ggml type of an exact GGUF storage (inverse of the above), if any.
std::optional<uint32_t> getGGMLTypeForQuant(QuantAttr quant);

/// How a weight of `type` is laid out in a GGUF weights file: the ggml type
/// of its storage and its shape, or, for planar storages (which have no ggml
/// type), GGMLType::I8 bytes of shape {storage bytes}, read as the module's
/// type says.
struct GGUFTensorLayout {
  uint32_t ggmlType;
  llvm::SmallVector<int64_t, 4> shape;
};
GGUFTensorLayout getGGUFTensorLayout(WeightType type);

//===----------------------------------------------------------------------===//
// Dequantization and quantization
//===----------------------------------------------------------------------===//

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
