//===- KernelTuning.h - the tuner's view of harness kernels -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Glue between the kernel harness (a one-kernel module, measured on a
// device) and the agent: the search space of a harness kernel (its iteration
// space read from the haqa op, its default schedule from
// haqa-default-schedule for the profile) and the measurement of one
// configuration as a Trial.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_AGENT_KERNELTUNING_H
#define HAQA_AGENT_KERNELTUNING_H

#include "haqa/Agent/SearchSpace.h"
#include "haqa/Agent/Strategy.h"
#include "haqa/Runtime/KernelHarness.h"

namespace mlir::haqa {

/// The search space of `spec` on `profile`.
llvm::Expected<SearchSpace> getKernelSearchSpace(const KernelSpec &spec,
                                                 const HardwareProfile &profile);

/// Compiles, checks and times `spec` under `schedule` on `options.target`
/// (the host CPU or the GPU, in a child process): never takes the caller
/// down.
Trial measureTrial(const KernelSpec &spec, const std::string &schedule,
                   const MeasureOptions &options);

/// The paper's Table 3 kernels for `tokens` token counts, matmul with each of
/// `weights`.
std::vector<KernelSpec> getTable3Kernels(llvm::ArrayRef<int64_t> tokens,
                                         llvm::ArrayRef<std::string> weights);

/// One kernel op of a model that the harness can measure in isolation: its
/// harness spec (shapes from the op's types, T = 1 in @decode) and the op.
struct ModelKernel {
  KernelSpec spec;
  Operation *op;
};

/// The kernel ops of `func` with a harness (matmul, rms_norm, rope, swiglu,
/// add, mul, silu, softmax with static shapes); `skipped` counts the others
/// by kernel name (embedding, kv_write, attention: no isolated harness yet,
/// they keep the default schedule).
std::vector<ModelKernel>
collectModelKernels(Operation *func, llvm::StringMap<int> &skipped);

/// Sets `schedule` (#haqa.schedule text) on `op`; the error says why the
/// text does not parse or fit the op.
llvm::Error setScheduleFromText(Operation *op, llvm::StringRef schedule);

} // namespace mlir::haqa

#endif // HAQA_AGENT_KERNELTUNING_H
