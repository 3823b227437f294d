//===- Model.h - an imported model run by the reference executor -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Loads an import directory (model.mlir + model.weights.gguf), keeps the KV
// caches between calls, and exposes prefill / decode / greedy generation and
// perplexity on top of ReferenceExecutor.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_REFERENCE_MODEL_H
#define HAQA_REFERENCE_MODEL_H

#include "haqa/Reference/Executor.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::haqa {

class ReferenceModel {
public:
  /// `path`: an import directory or a .mlir file whose weights file sits
  /// beside it. `bits` (16, 8 or 4) runs --haqa-quantize on the loaded
  /// module first: the weights are requantized from the file on load.
  static llvm::Expected<std::unique_ptr<ReferenceModel>>
  load(llvm::StringRef path, ReferenceOptions options = {}, int64_t bits = 0);
  /// `module` (not copied: it and its context must outlive the model) over
  /// `weights`.
  static llvm::Expected<std::unique_ptr<ReferenceModel>>
  create(ModuleOp module, std::shared_ptr<WeightStore> weights,
         ReferenceOptions options = {});

  /// Clears the KV caches.
  void reset();
  /// Runs @prefill on `tokens` at positions [pos, pos + n) and returns the
  /// logits of every position ([n, vocab], row-major).
  llvm::Expected<HostTensor> prefill(llvm::ArrayRef<int64_t> tokens);
  /// Runs @decode on one token at the next position; returns [1, vocab].
  llvm::Expected<HostTensor> decode(int64_t token);
  /// Greedy continuation of `prompt` by `n` tokens (stops early at a token
  /// for which `stop` returns true). `onLogits`, if set, sees each step's
  /// last-position logits.
  llvm::Expected<std::vector<int64_t>>
  generate(llvm::ArrayRef<int64_t> prompt, int64_t n,
           llvm::function_ref<bool(int64_t)> stop = nullptr,
           llvm::function_ref<void(llvm::ArrayRef<float>)> onLogits = nullptr);

  /// Perplexity over `tokens` as llama.cpp's llama-perplexity computes it:
  /// chunks of `chunk` tokens, each run from an empty cache, scoring the
  /// predictions of the second half of each chunk. At most `maxChunks`
  /// chunks (0: all). Returns exp(mean negative log-likelihood) and the
  /// number of scored tokens.
  llvm::Expected<std::pair<double, int64_t>>
  perplexity(llvm::ArrayRef<int64_t> tokens, int64_t chunk,
             int64_t maxChunks = 0);

  int64_t position() const { return pos; }
  int64_t contextLength() const { return context; }
  /// Tokens a generation from the current position after a prompt of
  /// `promptTokens` can produce (the cache holds all but the last);
  /// generate stops there.
  int64_t getMaxNewTokens(int64_t promptTokens) const;
  /// An error unless a prompt of `promptTokens` (at least 1) fits the
  /// context from the current position.
  llvm::Error checkPromptFits(int64_t promptTokens) const;
  int64_t vocabSize() const { return vocab; }
  ModuleOp getModule() { return module; }
  WeightStore &getWeights() { return *weights; }

private:
  ReferenceModel() = default;
  llvm::Expected<HostTensor> call(llvm::StringRef func,
                                  llvm::ArrayRef<int64_t> tokens);

  /// What load() parsed; create() borrows the caller's.
  std::unique_ptr<MLIRContext> ownedContext;
  OwningOpRef<ModuleOp> ownedModule;
  ModuleOp module;
  std::shared_ptr<WeightStore> weights;
  std::unique_ptr<ReferenceExecutor> executor;
  std::vector<HostTensor> caches;
  llvm::SmallVector<int64_t, 3> cacheShape;
  int64_t pos = 0, context = 0, vocab = 0;
};

} // namespace mlir::haqa

#endif // HAQA_REFERENCE_MODEL_H
