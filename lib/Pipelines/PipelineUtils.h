//===- PipelineUtils.h - pieces the target pipelines share ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_PIPELINES_PIPELINEUTILS_H
#define HAQA_LIB_PIPELINES_PIPELINEUTILS_H

#include "mlir/Pass/PassManager.h"

#include <memory>

namespace mlir::haqa {

/// The front half of every pipeline: kernel ops to linalg on tensors (one
/// outlined function per distinct kernel; attention over the whole KV cache
/// when `wholeCacheAttention`), each function's schedules applied by
/// `applySchedule` (a func.func pass), masked vector ops lowered, cleanup,
/// then one-shot bufferization of the module with results as
/// out-parameters and KV caches updated in place. With
/// `resultsInDestination`, empty tensors are eliminated first so that each
/// kernel computes into the caller's destination.
void addScheduleAndBufferize(OpPassManager &pm, bool wholeCacheAttention,
                             std::unique_ptr<Pass> applySchedule,
                             std::unique_ptr<Pass> checkSchedule,
                             bool resultsInDestination);

/// The GPU pipelines' middle, after addScheduleAndBufferize: scheduled
/// loops to launches (haqa-gpu-map-forall; workgroup buffers as launch
/// attributions, or allocations for SPIR-V), host buffers and copies to the
/// gpu dialect, loops and vector lowering, and kernel outlining. `wmma`:
/// tensor-core fragments to gpu.subgroup_mma first (CUDA);
/// `hoistConstants`: constant tables become kernel arguments (SPIR-V).
struct GPUKernelFormation {
  bool wmma = false;
  bool attributions = true;
  bool hoistConstants = false;
};
void addGPUKernelFormation(OpPassManager &pm, const GPUKernelFormation &o);

} // namespace mlir::haqa

#endif // HAQA_LIB_PIPELINES_PIPELINEUTILS_H
