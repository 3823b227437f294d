//===- Dequantize.h - ggml number formats and dequantization ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// IEEE half / bfloat16 conversions and ggml's dequantizers for the block
// types of GGMLTypes.h: plain C++ over bytes, no MLIR (the model readers'
// fuzzers link them alone).
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_DEQUANTIZE_H
#define HAQA_WEIGHTS_DEQUANTIZE_H

#include "haqa/Dialect/HAQA/IR/GGMLTypes.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace mlir::haqa {

/// IEEE half and bfloat16 to float.
float halfToFloat(uint16_t h);
float bf16ToFloat(uint16_t b);
/// Round-to-nearest-even float to IEEE half (as ggml's GGML_FP32_TO_FP16).
uint16_t floatToHalf(float f);
/// Float to bfloat16 with round-to-nearest-even (as ggml's
/// GGML_FP32_TO_BF16).
uint16_t floatToBF16(float f);

/// Dequantizes `dst.size()` values of ggml `type` from `src`. `dst.size()`
/// must be a multiple of the type's block size and `src` exactly the bytes of
/// those blocks.
llvm::Error dequantize(uint32_t type, llvm::ArrayRef<uint8_t> src,
                       llvm::MutableArrayRef<float> dst);

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_DEQUANTIZE_H
