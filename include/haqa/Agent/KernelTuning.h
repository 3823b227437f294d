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

/// Compiles, checks and times `spec` under `schedule` on the host CPU (in a
/// child process): never takes the caller down.
Trial measureTrialOnCPU(const KernelSpec &spec, const std::string &schedule,
                        const MeasureOptions &options);

/// The paper's Table 3 kernels for `tokens` token counts, matmul with each of
/// `weights`.
std::vector<KernelSpec> getTable3Kernels(llvm::ArrayRef<int64_t> tokens,
                                         llvm::ArrayRef<std::string> weights);

} // namespace mlir::haqa

#endif // HAQA_AGENT_KERNELTUNING_H
