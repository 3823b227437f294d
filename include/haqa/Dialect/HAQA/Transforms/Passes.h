//===- Passes.h - HAQA dialect passes ---------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DIALECT_HAQA_TRANSFORMS_PASSES_H
#define HAQA_DIALECT_HAQA_TRANSFORMS_PASSES_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Hardware/TargetLimits.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::haqa {

#define GEN_PASS_DECL
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"

/// The schedule haqa-default-schedule gives `kernel` on a target with
/// `limits`: the starting point the agent improves on.
ScheduleAttr getDefaultSchedule(KernelOpInterface kernel,
                                const TargetLimits &limits);

} // namespace mlir::haqa

#endif // HAQA_DIALECT_HAQA_TRANSFORMS_PASSES_H
