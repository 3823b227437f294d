//===- Target.h - where compiled code runs ----------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The compile targets, in one table: each has a name (what --target takes),
// the kind of hardware whose schedules it applies, and a lowering pipeline
// (Pipelines.h). Every tool, the runtime and the tuner name targets through
// this enum; adding a target is an entry here, its pipeline file and its
// device (docs/extending.md).
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_PIPELINES_TARGET_H
#define HAQA_PIPELINES_TARGET_H

#include "haqa/Hardware/TargetLimits.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::haqa {

enum class CompileTarget {
  /// The host CPU: CPU schedules, OpenMP host threads, JIT-compiled.
  CPU,
  /// An NVIDIA GPU: CUDA schedules, PTX / cubin kernels, a JIT-compiled host
  /// side calling the CUDA driver.
  CUDA,
  /// CUDA schedules with their block / thread / staging loops run as host
  /// CPU loops: the numerics of GPU schedules checked without a GPU.
  GPUOnCPU,
  /// An OpenCL device (Adreno-class GPUs; PoCL on the host here): OpenCL
  /// schedules, SPIR-V kernels run from a launch plan.
  OpenCL,
};

struct CompileTargetInfo {
  CompileTarget target;
  /// What --target takes: "cpu", "cuda", "gpu-on-cpu", "opencl".
  llvm::StringLiteral name;
  /// One line for --help and messages.
  llvm::StringLiteral description;
  /// Whose schedules it applies (haqa-default-schedule's target, the search
  /// space of the tuner).
  TargetKind scheduleKind;
  /// Whether it runs on a device other than the host CPU (a missing one is
  /// reported before anything is compiled).
  bool needsDevice;
};

/// Every compile target, in the order --help lists them.
llvm::ArrayRef<CompileTargetInfo> getCompileTargets();
const CompileTargetInfo &getCompileTargetInfo(CompileTarget target);
llvm::StringRef getCompileTargetName(CompileTarget target);
/// The target named `name`; the error lists the names.
llvm::Expected<CompileTarget> parseCompileTarget(llvm::StringRef name);
/// "cpu, cuda or gpu-on-cpu".
std::string getCompileTargetNames();
/// --help text of a --target option: every target with its description.
std::string describeCompileTargets();

} // namespace mlir::haqa

#endif // HAQA_PIPELINES_TARGET_H
