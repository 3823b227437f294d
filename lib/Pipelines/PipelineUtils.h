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

} // namespace mlir::haqa

#endif // HAQA_LIB_PIPELINES_PIPELINEUTILS_H
