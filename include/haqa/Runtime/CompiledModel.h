//===- CompiledModel.h - an imported model compiled for a device -*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A model (an import directory, or a module in memory with its weights)
// compiled for a target: every kernel gets a schedule (its own, the
// target's default otherwise), @prefill and @decode are compiled and run on
// the weight bytes in the module's storage (the stored bytes, no copy, when
// the weights file holds that storage; else quantized in memory once) with
// KV caches kept between calls: the compiled counterpart of ReferenceModel,
// with the same interface.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_COMPILEDMODEL_H
#define HAQA_RUNTIME_COMPILEDMODEL_H

#include "haqa/Reference/Model.h"
#include "haqa/Runtime/Device.h"
#include "haqa/Support/Sampling.h"
#include "haqa/Weights/WeightStore.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::haqa {

struct CompiledModelOptions {
  /// Host threads for the default schedules (0: all cores).
  int64_t threads = 0;
  /// cpu; cuda: the first NVIDIA GPU, weights and KV caches kept in its
  /// memory; gpu-on-cpu: the CUDA schedules' structure run as CPU loops
  /// (checks their numerics on a whole model without a GPU).
  CompileTarget target = CompileTarget::CPU;
  /// Default schedules on the CPU: "host" (micro-kernels in the best
  /// instruction set of this machine: dot = i8 for Q8_0 / Q4_0 / Q4_1
  /// matmuls, as ggml computes them, dot = fma for F16 ones, attn = fused),
  /// an instruction set (scalar, avx2, avx_vnni, avx512_vnni) or ""
  /// (generated loops). Kernels that carry a schedule keep it.
  std::string microKernels = "host";
  /// With micro-kernels, the matmuls' default schedules fuse their
  /// neighbours (fuse = [norm, swiglu, residual]), and haqa-fuse-matmuls
  /// rewrites every matmul whose schedule asks for it, defaulted or not.
  bool fuse = true;
  /// @prefill's logits for every prompt token; false (the default): for the
  /// last one only (haqa-last-logits), as generation needs and llama.cpp
  /// computes them. The CUDA target keeps every row for now (the row slice
  /// has not run on a GPU).
  bool allPromptLogits = false;
};

class CompiledModel {
public:
  /// `path`: an import directory or a .mlir file with its weights beside it.
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  load(llvm::StringRef path, CompiledModelOptions options = {});
  /// Whether a model on `target` computes @prefill's output head on the
  /// last prompt row (haqa-last-logits, unless allPromptLogits): not on
  /// CUDA yet, where a device buffer's row slice between kernels has not
  /// run on a GPU, nor on OpenCL, whose host-memory pass refuses that
  /// strided copy on the host.
  static bool lastLogitsOn(CompileTarget target) {
    return target != CompileTarget::CUDA && target != CompileTarget::OpenCL;
  }
  /// Whether a process that ran a model on `target` may still fork
  /// children that run code on it: not CUDA (after cuInit) nor OpenCL
  /// (a driver's threads, PoCL's, do not survive a fork).
  static bool deviceSurvivesFork(CompileTarget target) {
    return target != CompileTarget::CUDA && target != CompileTarget::OpenCL;
  }
  /// Whether a model on `target` runs a prompt as decode steps, one token
  /// each, instead of compiling @prefill: on OpenCL, whose launch plans
  /// have static shapes (@prefill's token count is dynamic).
  static bool prefillsByDecode(CompileTarget target) {
    return target == CompileTarget::OpenCL;
  }
  /// Compiles a copy of `module` (left as it is; its context must outlive
  /// the model and must not be used by another thread meanwhile) over
  /// `weights`.
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  create(ModuleOp module, std::shared_ptr<WeightStore> weights,
         CompiledModelOptions options = {});

  /// Clears the KV caches.
  void reset();
  /// Moves the next position back to `position` (not forward), keeping the
  /// KV cache rows before it: the next call overwrites the rows from there
  /// before any query reads them (a query sees the rows up to its own
  /// position). What a server reusing a shared prompt prefix needs.
  void rewind(int64_t position);
  /// @prefill on `tokens` at the next positions; the logits of the last
  /// one ([vocab]), or with allPromptLogits of every position ([n, vocab],
  /// row-major).
  llvm::Expected<std::vector<float>> prefill(llvm::ArrayRef<int64_t> tokens);
  /// @decode on one token at the next position; [vocab] logits.
  llvm::Expected<std::vector<float>> decode(int64_t token);
  /// Continuation of `prompt`, greedy as ReferenceModel::generate unless a
  /// `sampler` draws the tokens: at most getMaxNewTokens tokens (it stops
  /// where the context is full, with what it generated); an error if the
  /// prompt does not fit. `stop` sees every generated token. `cached`:
  /// the cache already holds the prompt's first `cached` tokens, which end
  /// at the current position (after rewind), so only the rest is
  /// prefilled; it is less than the prompt's length.
  llvm::Expected<std::vector<int64_t>>
  generate(llvm::ArrayRef<int64_t> prompt, int64_t n,
           llvm::function_ref<bool(int64_t)> stop = nullptr,
           Sampler *sampler = nullptr, int64_t cached = 0);
  /// Tokens a generation from the current position after a prompt of
  /// `promptTokens` can produce: the cache holds all but the last.
  int64_t getMaxNewTokens(int64_t promptTokens) const;
  /// An error unless a prompt of `promptTokens` (at least 1) fits the
  /// context from the current position.
  llvm::Error checkPromptFits(int64_t promptTokens) const;

  int64_t position() const { return pos; }
  int64_t contextLength() const { return context; }
  int64_t vocabSize() const { return vocab; }
  /// Seconds spent lowering and JIT-compiling both functions.
  double compileSeconds() const { return compileSec; }
  const WeightStore &getWeights() const { return *weights; }
  /// The module as compiled, before the last-row and fusion rewrites:
  /// every kernel op with the schedule it runs (its own or the default).
  ModuleOp getScheduledModule() const { return *scheduled; }
  /// Wall-clock seconds of the last prefill call and of every decode call
  /// since the last reset.
  double lastPrefillSeconds() const { return prefillSec; }
  const std::vector<double> &decodeSeconds() const { return decodeSec; }
  /// The reference executor over the module as compiled (every kernel with
  /// the schedule it runs with: the given ones, the defaults for the others)
  /// and this model's weights, with QuantizedActivations::AsScheduled: the
  /// oracle of this model's arithmetic. It borrows the module, which the
  /// model owns: the model must outlive it.
  llvm::Expected<std::unique_ptr<ReferenceModel>> createReference() const;

private:
  CompiledModel() = default;
  llvm::Expected<std::vector<float>> call(llvm::StringRef func,
                                          llvm::ArrayRef<int64_t> tokens);

  /// load()'s context (the executable does not refer to it).
  std::unique_ptr<MLIRContext> ownedContext;
  std::shared_ptr<WeightStore> weights;
  OwningOpRef<ModuleOp> scheduled;
  std::unique_ptr<Executable> exe;
  /// Per function: the bytes of its weight arguments, in order.
  llvm::StringMap<std::vector<BufferRef>> weightArgs;
  std::vector<std::vector<float>> caches;
  llvm::SmallVector<int64_t, 3> cacheShape;
  int64_t pos = 0, context = 0, vocab = 0;
  /// @prefill returns one row of logits (haqa-last-logits ran).
  bool lastLogitsOnly = false;
  /// Prompts run as @decode steps (prefillsByDecode).
  bool byDecode = false;
  bool allPromptLogits = false;
  double compileSec = 0, prefillSec = 0;
  std::vector<double> decodeSec;
};

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_COMPILEDMODEL_H
