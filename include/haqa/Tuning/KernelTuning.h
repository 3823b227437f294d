//===- KernelTuning.h - the tuner's view of a kernel ------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Glue between the kernel harness (a kernel module measured on a device)
// and the agent: the search space of a kernel op (its iteration space from
// KernelOpInterface, its default schedule from haqa-default-schedule for the
// profile), a measurement as a Trial, and a chosen schedule set on an op.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TUNING_KERNELTUNING_H
#define HAQA_TUNING_KERNELTUNING_H

#include "haqa/Agent/SearchSpace.h"
#include "haqa/Agent/Strategy.h"
#include "haqa/Runtime/KernelHarness.h"

namespace mlir::haqa {

/// The search space of `kernel` on `profile`; its schedules live in the
/// kernel's context.
llvm::Expected<SearchSpace>
getKernelSearchSpace(KernelOpInterface kernel, const HardwareProfile &profile);

/// Compiles, checks and times `problem` under `schedule` on
/// `options.target` (in a child process): never takes the caller down.
Trial measureTrial(const KernelProblem &problem, ScheduleAttr schedule,
                   const MeasureOptions &options);

/// Sets `schedule` on `kernel`; the error says why it does not fit the op.
llvm::Error setKernelSchedule(KernelOpInterface kernel, ScheduleAttr schedule);

} // namespace mlir::haqa

#endif // HAQA_TUNING_KERNELTUNING_H
