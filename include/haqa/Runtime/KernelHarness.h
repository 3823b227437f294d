//===- KernelHarness.h - measure one kernel under one schedule --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The agent's measurement step for one kernel. A kernel module holds one
// kernel op alone (`func.func @kernel`, its tensor operands as arguments,
// its weights as `haqa.weight` ops), made by cloning a model's op or built
// from a kernel's name and shape (the paper's Table 3 kernels, haqa-bench).
// A KernelProblem fills it with seeded random inputs and weights (in memory,
// in the op's storage) and computes the reference executor's output once;
// measureKernel then compiles, checks and times the kernel under a schedule
// on a device, in a forked child with a time limit.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_KERNELHARNESS_H
#define HAQA_RUNTIME_KERNELHARNESS_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Runtime/Device.h"
#include "haqa/Support/Statistics.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace mlir::haqa {

/// A kernel given by name and shape, for kernels that are in no model.
struct KernelSpec {
  /// softmax, silu, swiglu, add, mul, rms_norm, rope or matmul.
  std::string kernel;
  /// Shape in ggml order (innermost first), as in the paper's Table 3:
  /// softmax [1024,T,32], silu [11008,T,1], rms_norm [4096,T,1],
  /// rope [128,T,1] (head size, tokens, heads), matmul [K,T,N].
  llvm::SmallVector<int64_t, 3> ne;
  /// Weight storage for matmul: f32, f16, bf16, q8_0, q4_0, q4_1.
  std::string weights = "f16";

  /// "matmul [2048,1,2048] q4_0": what getKernelLabel gives its kernel op.
  std::string getLabel() const;
};

/// The paper's Table 3 kernels for `tokens` token counts, matmul with each
/// of `weights`.
std::vector<KernelSpec> getTable3Kernels(llvm::ArrayRef<int64_t> tokens,
                                         llvm::ArrayRef<std::string> weights);

/// The module of `spec`'s kernel, built in `ctx`; the error names a bad
/// kernel name, shape or storage.
llvm::Expected<OwningOpRef<ModuleOp>> buildKernelModule(MLIRContext *ctx,
                                                        const KernelSpec &spec);

/// The module of `op` alone: `op` cloned (without its schedule) into a new
/// module of its context with its weights. A dynamic dimension (the token
/// count of @prefill) becomes `dynamicRows` (> 0): a representative size
/// whose best schedule the dynamic op then takes. The error says why it
/// cannot be measured alone (KernelOpInterface::isMeasurableAlone, dynamic
/// shapes without `dynamicRows`, a shape the op refuses).
llvm::Expected<OwningOpRef<ModuleOp>>
buildKernelModule(KernelOpInterface op, int64_t dynamicRows = 0);

/// The kernel op of a kernel module.
KernelOpInterface getKernelOp(ModuleOp kernelModule);

/// "matmul [2048,1,2048] q4_0": the kernel's signature and the storage of
/// its 2-d weights, if any; what tuning records are keyed by.
std::string getKernelLabel(KernelOpInterface kernel);

/// A kernel module with its inputs, weights and reference output.
struct KernelProblem {
  /// Cache rows before the last synthetic position (see prepare).
  static constexpr int64_t kRepresentativeContext = 256;

  /// The kernel module (the caller's; not owned).
  ModuleOp module;
  /// Raw bytes of each function argument, then of each weight argument of
  /// the compiled function (in the lowering's order), and their shapes.
  std::vector<std::vector<uint8_t>> inputBytes, weightBytes;
  std::vector<llvm::SmallVector<int64_t, 4>> inputShapes, weightShapes;
  /// The reference executor's result.
  llvm::SmallVector<int64_t, 4> outputShape;
  std::vector<float> reference;
  /// For matmuls with Q8_0 / Q4_0 / Q4_1 weights, the reference executor's
  /// result with ggml's Q8 activations (QuantizedActivations::GGML): what a
  /// schedule with `dot = i8` is checked against. Empty for other kernels.
  std::vector<float> referenceGGML;
  uint64_t flops = 0, bytes = 0;

  /// Seeded random inputs and weights in the module's storages, and the
  /// reference executor's output on them:
  /// - f32 operands (activations, KV caches) uniform in [-1, 1];
  /// - integer operands (token ids, positions) the consecutive positions of
  ///   a running generation whose last token sits at row
  ///   min(kRepresentativeContext, bound) - 1 (bound: the operand's
  ///   KernelOpInterface::getIndexBound), so a decode attention reads 256
  ///   cache rows, as in the middle of a 512-token conversation;
  /// - weights: norm weights near 1, others scaled by 1 / sqrt(K).
  static llvm::Expected<KernelProblem> prepare(ModuleOp kernelModule,
                                               uint64_t seed = 1);
};

struct KernelMeasurement {
  enum Status { OK, CompileError, Crashed, TimedOut, WrongResult, BadSpec };
  Status status = OK;
  std::string message;    ///< why it is not OK
  std::string schedule;   ///< the schedule that ran
  double maxAbsError = 0; ///< against the reference executor
  double maxRelError = 0; ///< max abs error / max |reference|
  TimingStats timing;
  /// With MeasureOptions::pairWithDefault: the default schedule's times in
  /// the same pairs, and the median of default / schedule per pair with its
  /// 95% interval (samples: the pairs). A schedule that is the default
  /// itself is not paired with itself: speedup 1 exactly, no pairs.
  TimingStats defaultTiming;
  MedianInterval speedup;
  uint64_t flops = 0, bytes = 0;
  static llvm::StringRef getStatusName(Status s);
};

struct MeasureOptions {
  TimingOptions timing;
  double timeoutSeconds = 120;
  /// Accept when max abs error <= tolerance * max(1, max |reference|).
  double tolerance = 1e-3;
  /// Run in a forked child (off only for debugging).
  bool isolate = true;
  /// Where it runs; without a schedule, the default schedule of its kind
  /// (the CUDA one for cuda and gpu-on-cpu).
  CompileTarget target = CompileTarget::CPU;
  /// CPU: the host threads the default schedule may use (0: all cores).
  int64_t cpuThreads = 0;
  /// CPU: before every timed run, read a buffer of this many bytes (more
  /// than the last-level cache) so that the kernel's weights come from DRAM,
  /// as in a model's decode step, where every weight is read once per token.
  /// 0: the weights stay in cache between runs.
  uint64_t evictBytes = 0;
  /// Time the schedule against the target's default schedule, both compiled
  /// in the same child and run on the same inputs in interleaved pairs
  /// (timePaired): at least `minPairs` pairs, then until the speedup's 95%
  /// interval is within `pairTolerance`, timing.repeats pairs or
  /// timing.maxSeconds.
  bool pairWithDefault = false;
  int minPairs = 6;
  double pairTolerance = 0.02;
};

/// Compiles `problem`'s kernel under `schedule` (null: the target's default
/// schedule), checks it against the reference output and times it on
/// `options.target`. The child that does it is forked: the problem's
/// context gets its multithreading turned off first.
KernelMeasurement measureKernel(const KernelProblem &problem,
                                ScheduleAttr schedule,
                                const MeasureOptions &options);

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_KERNELHARNESS_H
