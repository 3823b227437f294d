//===- Sampling.h - choosing the next token from logits ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Greedy decoding and the context's bound on a generation, shared by the
// reference model and the compiled models, so that both pick the same token
// from the same logits and stop at the same place.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_SUPPORT_SAMPLING_H
#define HAQA_SUPPORT_SAMPLING_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

namespace mlir::haqa {

/// Index of the largest value (first on ties), as llama.cpp's greedy sampler.
int64_t argmax(llvm::ArrayRef<float> values);

/// Tokens a generation from cache position `pos` after a prompt of
/// `promptTokens` can produce in a cache of `context` rows: all but the
/// last token go into the cache.
int64_t getMaxNewTokens(int64_t pos, int64_t promptTokens, int64_t context);

/// An error unless a prompt of `promptTokens` (at least 1) fits a cache of
/// `context` rows from position `pos`.
llvm::Error checkPromptFits(int64_t pos, int64_t promptTokens, int64_t context);

/// For the tools: checkPromptFits, then how many of the `n` tokens asked
/// for will be generated, with a note to `notes` when the context holds
/// fewer.
llvm::Expected<int64_t> boundGeneration(int64_t pos, int64_t promptTokens,
                                        int64_t n, int64_t context,
                                        llvm::raw_ostream &notes);

} // namespace mlir::haqa

#endif // HAQA_SUPPORT_SAMPLING_H
