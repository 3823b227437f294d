//===- Quantize.h - round-to-nearest weight quantization --------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Packs float weights into a #haqa.quant storage. The GGUF layouts follow
// ggml's reference quantizers (quantize_row_q8_0_ref, _q4_0_ref, _q4_1_ref)
// operation for operation, so the bytes equal llama.cpp's and the gguf
// package's for the same input.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_IMPORT_QUANTIZE_H
#define HAQA_IMPORT_QUANTIZE_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "llvm/Support/Error.h"

#include <vector>

namespace mlir::haqa {

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

/// Float to bfloat16 with round-to-nearest-even (as ggml's
/// GGML_FP32_TO_BF16).
uint16_t floatToBF16(float f);

} // namespace mlir::haqa

#endif // HAQA_IMPORT_QUANTIZE_H
