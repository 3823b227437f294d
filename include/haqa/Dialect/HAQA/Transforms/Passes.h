//===- Passes.h - HAQA dialect passes ---------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DIALECT_HAQA_TRANSFORMS_PASSES_H
#define HAQA_DIALECT_HAQA_TRANSFORMS_PASSES_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Hardware/TargetLimits.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
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

/// The micro-kernel schedule of a matmul on the CPU: `dot = i8` with Q8_0 /
/// Q4_0 / Q4_1 weights, `dot = fma` with F16 ones; in `isa`, register block
/// [1, 4] at one row (decode), [4, 4] otherwise ([4, 16], packed panels,
/// for int8 dots in avx512_vnni), the host threads of `limits`.
ScheduleAttr getMicroKernelDotSchedule(MatmulOp matmul, CPUISA isa,
                                       const TargetLimits &limits);
/// The output head of `f` as haqa-last-logits finds it: the row-wise ops
/// (haqa.rms_norm, haqa.matmul, each of one use) that end in its first
/// result, last first; empty when there are none.
SmallVector<Operation *> getOutputHead(func::FuncOp f);

/// The `attn = fused` schedule of an attention on the CPU: the micro-kernel
/// in `isa` over the host threads of `limits`.
ScheduleAttr getFusedAttentionSchedule(AttentionOp attention, CPUISA isa,
                                       const TargetLimits &limits);

} // namespace mlir::haqa

#endif // HAQA_DIALECT_HAQA_TRANSFORMS_PASSES_H
