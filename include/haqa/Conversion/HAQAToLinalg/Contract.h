//===- Contract.h - what convert-haqa-to-linalg tells targets ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The discardable attributes convert-haqa-to-linalg puts on the ops it
// makes, which the targets (haqa-cpu-apply-schedule, haqa-gpu-apply-schedule
// and getKernelLoops in ScheduleUtils) read instead of guessing from shapes.
// They are declared once, in ODS (`discardableAttrs` of the haqa dialect,
// dialects/haqa/HAQADialect.td, which generates HAQADialect::<Name>AttrHelper
// and has HAQADialect::verifyOperationAttribute check their kinds); this
// header names them and says what each promises.
//
//   haqa.kernel        on every linalg.generic of a kernel, and on
//                      kv_write's scf.for: the kernel op's name ("matmul").
//   haqa.loop_dims     on every generic: per loop, the kernel iteration
//                      dimension (KernelOpInterface) it walks.
//   haqa.loop_strides  on generics where several loops walk one kernel
//                      dimension: per loop, its step along that dimension
//                      (blocked matmul: [1, 1, 16, 32, 1], K = 32 b + 16 h +
//                      j). Absent: the loops of a dimension are row-major.
//   haqa.schedule      on every generic of a kernel that has a schedule: the
//                      kernel's #haqa.schedule.
//   haqa.operands      on every generic: per operand (inputs then inits),
//                      the kernel operand it reads or writes, -1 for an
//                      intermediate of the lowering (what `placement[i]`
//                      refers to).
//   haqa.matmul_part   on both generics of a blocked matmul (K a multiple of
//                      32): `partial_sums` (loops m, n, h, b, j; 16 sums per
//                      output, the weight dequantized in the body) and
//                      `lane_sum` (loops m, n, j; its one input is the
//                      partial sums' result).
//
// And one argument attribute: haqa.weight = "name" on each byte-buffer
// argument holding a weight's stored bytes.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_CONVERSION_HAQATOLINALG_CONTRACT_H
#define HAQA_CONVERSION_HAQATOLINALG_CONTRACT_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include <optional>

namespace mlir::haqa {

/// `haqa.kernel`: the name of the kernel op an op lowers.
constexpr StringLiteral kKernelAttrName =
    HAQADialect::KernelAttrHelper::getNameStr();
/// `haqa.loop_dims`: the kernel dimension each loop walks.
constexpr StringLiteral kLoopDimsAttrName =
    HAQADialect::LoopDimsAttrHelper::getNameStr();
/// `haqa.loop_strides`: each loop's step along its kernel dimension.
constexpr StringLiteral kLoopStridesAttrName =
    HAQADialect::LoopStridesAttrHelper::getNameStr();
/// `haqa.schedule`: the kernel's #haqa.schedule.
constexpr StringLiteral kScheduleAttrName =
    HAQADialect::ScheduleAttrHelper::getNameStr();
/// `haqa.operands`: the kernel operand each operand reads or writes.
constexpr StringLiteral kOperandsAttrName =
    HAQADialect::OperandsAttrHelper::getNameStr();
/// `haqa.matmul_part`: which generic of a blocked matmul an op is.
constexpr StringLiteral kMatmulPartAttrName =
    HAQADialect::MatmulPartAttrHelper::getNameStr();
/// `haqa.weight`: the weight name of a byte-buffer function argument.
constexpr StringLiteral kWeightArgAttrName = "haqa.weight";

/// The part of a blocked matmul `op` is, if it is one.
inline std::optional<MatmulPart> getMatmulPart(Operation *op) {
  if (auto part = op->getAttrOfType<MatmulPartAttr>(kMatmulPartAttrName))
    return part.getValue();
  return std::nullopt;
}

/// Marks `op` as `part` of a blocked matmul.
inline void setMatmulPart(Operation *op, MatmulPart part) {
  op->setAttr(kMatmulPartAttrName, MatmulPartAttr::get(op->getContext(), part));
}

} // namespace mlir::haqa

#endif // HAQA_CONVERSION_HAQATOLINALG_CONTRACT_H
