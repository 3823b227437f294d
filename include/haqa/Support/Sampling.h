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
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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

/// Where the first of `stops` begins in `text` (the earliest; npos for
/// none): a generation stops there and its text ends before it, as the
/// OpenAI API's `stop` does. Empty stop strings never match.
size_t findStop(llvm::StringRef text, llvm::ArrayRef<std::string> stops);

/// How the next token is drawn from the logits, llama.cpp's sampler chain in
/// its order: the repetition penalty, then top-k, top-p and min-p cut the
/// candidates, the temperature scales what is left, and a seeded draw picks
/// one. Temperature 0 is greedy (argmax after the penalty): the default.
struct SamplingOptions {
  double temperature = 0;
  /// Keep the k most likely tokens (0: all).
  int64_t topK = 0;
  /// Keep the most likely tokens whose probabilities sum to p (1: all).
  double topP = 1;
  /// Drop tokens less likely than min-p times the most likely one (0: none).
  double minP = 0;
  /// Divide a positive logit (multiply a negative one) of every token seen
  /// in the last `repeatLastN` tokens of the context by this (1: none).
  double repetitionPenalty = 1;
  int64_t repeatLastN = 64;
  uint64_t seed = 0;

  bool isGreedy() const { return temperature == 0; }
};

/// An error naming the option (`--temp`, `--top-k`, ...) unless every value
/// lies in its range: temperature in [0, 100], top-k >= 0, top-p in (0, 1],
/// min-p in [0, 1), repetition penalty in (0, 100], the window >= 0.
llvm::Error checkSamplingOptions(const SamplingOptions &o);

/// Draws tokens as `SamplingOptions` say, deterministically for a seed (its
/// own generator: the same seed, logits and context give the same tokens on
/// every platform).
class Sampler {
public:
  explicit Sampler(SamplingOptions options);
  /// The next token after `context` (prompt and generated so far).
  int64_t next(llvm::ArrayRef<float> logits, llvm::ArrayRef<int64_t> context);
  /// The tokens the draw picks among after the penalty, top-k, top-p and
  /// min-p (an unspecified order; valid until the next call).
  llvm::ArrayRef<int64_t> getCandidates(llvm::ArrayRef<float> logits,
                                        llvm::ArrayRef<int64_t> context);
  const SamplingOptions &getOptions() const { return options; }
  /// Only tokens `allowed` accepts are drawn (constrained output, e.g. JSON);
  /// null: all. When it accepts none, the most likely token is drawn.
  void setAllowed(std::function<bool(int64_t)> allowed) {
    this->allowed = std::move(allowed);
  }

private:
  /// `logits` with the repetition penalty applied (a working copy).
  const std::vector<float> &penalize(llvm::ArrayRef<float> logits,
                                     llvm::ArrayRef<int64_t> context);
  /// Uniform in [0, 1), from the top 53 bits of a 64-bit draw.
  double uniform();
  SamplingOptions options;
  uint64_t state;
  std::function<bool(int64_t)> allowed;
  /// Working buffers, kept between tokens (a vocabulary's worth of floats
  /// allocated per token is page faults every time).
  std::vector<float> logits;
  std::vector<int64_t> ids;
  std::vector<float> probs;
};

} // namespace mlir::haqa

#endif // HAQA_SUPPORT_SAMPLING_H
