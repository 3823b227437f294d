//===- DistinctKernels.h - the kernels of a module, each once ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The agent's view of a model: its kernel ops grouped into distinct kernels
// (getKernelKey: same op, types and attributes), in program order. What
// haqa-extract-kernels lists and what the tuner tunes.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DIALECT_HAQA_TRANSFORMS_DISTINCTKERNELS_H
#define HAQA_DIALECT_HAQA_TRANSFORMS_DISTINCTKERNELS_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "llvm/ADT/SmallVector.h"

namespace mlir::haqa {

struct DistinctKernel {
  /// The first occurrence in program order.
  KernelOpInterface first;
  /// Every occurrence, `first` included.
  llvm::SmallVector<Operation *> ops;
};

/// The distinct kernels of the kernel ops under `root`. With `bySchedule`,
/// ops with different schedules are different kernels (what
/// haqa-extract-kernels lists); without, the schedule is ignored (what the
/// tuner chooses one schedule for).
llvm::SmallVector<DistinctKernel> collectDistinctKernels(Operation *root,
                                                         bool bySchedule);

} // namespace mlir::haqa

#endif // HAQA_DIALECT_HAQA_TRANSFORMS_DISTINCTKERNELS_H
