//===- CompiledModel.h - an imported model compiled for a device -*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Loads an import directory (model.mlir + model.weights.gguf), gives every
// kernel a schedule (its own, the target's default otherwise), compiles
// @prefill and @decode for the host CPU and runs them on the stored weight
// bytes (no copy, no requantization) with KV caches kept between calls:
// the compiled counterpart of ReferenceModel, with the same interface.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_COMPILEDMODEL_H
#define HAQA_RUNTIME_COMPILEDMODEL_H

#include "haqa/Reference/Executor.h"
#include "haqa/Runtime/Device.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::haqa {

struct CompiledModelOptions {
  /// Host threads for the default schedules (0: all cores).
  int64_t threads = 0;
  /// "cpu"; "cuda": the first NVIDIA GPU, weights and KV caches kept in
  /// its memory; "gpu-on-cpu": the CUDA schedules' structure run as CPU
  /// loops (checks their numerics on a whole model without a GPU).
  std::string target = "cpu";
};

class CompiledModel {
public:
  /// `path`: an import directory or a .mlir file with its weights beside it.
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  load(llvm::StringRef path, CompiledModelOptions options = {});

  /// Clears the KV caches.
  void reset();
  /// @prefill on `tokens` at the next positions; the logits of every
  /// position ([n, vocab], row-major).
  llvm::Expected<std::vector<float>> prefill(llvm::ArrayRef<int64_t> tokens);
  /// @decode on one token at the next position; [vocab] logits.
  llvm::Expected<std::vector<float>> decode(int64_t token);
  /// Greedy continuation, as ReferenceModel::generate.
  llvm::Expected<std::vector<int64_t>>
  generate(llvm::ArrayRef<int64_t> prompt, int64_t n,
           llvm::function_ref<bool(int64_t)> stop = nullptr);

  int64_t position() const { return pos; }
  int64_t contextLength() const { return context; }
  int64_t vocabSize() const { return vocab; }
  /// Seconds spent lowering and JIT-compiling both functions.
  double compileSeconds() const { return compileSec; }
  const WeightStore &getWeights() const { return *weights; }
  /// Wall-clock seconds of the last prefill call and of every decode call
  /// since the last reset.
  double lastPrefillSeconds() const { return prefillSec; }
  const std::vector<double> &decodeSeconds() const { return decodeSec; }

private:
  CompiledModel() = default;
  llvm::Expected<std::vector<float>> call(llvm::StringRef func,
                                          llvm::ArrayRef<int64_t> tokens);

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<WeightStore> weights;
  std::unique_ptr<Executable> exe;
  /// Per function: the stored bytes of its weight arguments, in order.
  llvm::StringMap<std::vector<BufferRef>> weightArgs;
  std::vector<std::vector<float>> caches;
  llvm::SmallVector<int64_t, 3> cacheShape;
  int64_t pos = 0, context = 0, vocab = 0;
  double compileSec = 0, prefillSec = 0;
  std::vector<double> decodeSec;
};

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_COMPILEDMODEL_H
