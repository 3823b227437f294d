//===- Sampling.h - choosing the next token from logits ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Greedy decoding shared by the reference model and the compiled models, so
// that both pick the same token from the same logits.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_SUPPORT_SAMPLING_H
#define HAQA_SUPPORT_SAMPLING_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace mlir::haqa {

/// Index of the largest value (first on ties), as llama.cpp's greedy sampler.
int64_t argmax(llvm::ArrayRef<float> values);

} // namespace mlir::haqa

#endif // HAQA_SUPPORT_SAMPLING_H
