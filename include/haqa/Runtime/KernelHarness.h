//===- KernelHarness.h - measure one kernel under one schedule --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The agent's measurement step for one kernel: build a one-kernel haqa
// module (the paper's Table 3 kernels in ggml shape order), fill it with
// seeded random inputs and weights in the requested storage, compute the
// reference executor's output, then compile, check and time the candidate
// on a device in a child process with a time limit.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_KERNELHARNESS_H
#define HAQA_RUNTIME_KERNELHARNESS_H

#include "haqa/Runtime/Device.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace mlir::haqa {

struct KernelSpec {
  /// softmax, silu, swiglu, add, mul, rms_norm, rope or matmul.
  std::string kernel;
  /// Shape in ggml order (innermost first), as in the paper's Table 3:
  /// softmax [1024,T,32], silu [11008,T,1], rms_norm [4096,T,1],
  /// rope [128,T,1] (head size, tokens, heads), matmul [K,T,N].
  llvm::SmallVector<int64_t, 3> ne;
  /// Weight storage for matmul: f32, f16, bf16, q8_0, q4_0, q4_1.
  std::string weights = "f16";
  /// `#haqa.schedule<...>` text; empty: haqa-default-schedule for the
  /// measuring target.
  std::string schedule;
  uint64_t seed = 1;

  /// "matmul [2048,1,2048] q4_0".
  std::string getLabel() const;
};

struct KernelMeasurement {
  enum Status { OK, CompileError, Crashed, TimedOut, WrongResult, BadSpec };
  Status status = OK;
  std::string message;    ///< why it is not OK
  std::string schedule;   ///< the schedule that ran
  double maxAbsError = 0; ///< against the reference executor
  double maxRelError = 0; ///< max abs error / max |reference|
  TimingStats timing;
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
  /// "cpu", "cuda" (the first GPU; its default schedule is the CUDA one) or
  /// "gpu-on-cpu" (CUDA schedules, their loop structure run on the CPU).
  std::string target = "cpu";
};

/// `#haqa.schedule<...>` text from the schedule's fields as JSON
/// ({"tile": [1, 16, 256], "vector": 16, "placement": ["shared"], ...});
/// the error names an unknown field or a malformed value.
llvm::Expected<std::string>
scheduleTextFromJSON(const llvm::json::Object &fields);

/// The one-kernel module for `spec` (function @kernel), as text.
llvm::Expected<std::string> buildKernelModule(const KernelSpec &spec);

/// Builds, checks and times `spec` on `options.target`.
KernelMeasurement measureKernel(const KernelSpec &spec,
                                const MeasureOptions &options);

/// Builds, checks and times `spec` on the host CPU.
KernelMeasurement measureKernelOnCPU(const KernelSpec &spec,
                                     MeasureOptions options);

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_KERNELHARNESS_H
