//===- Passes.h - host CPU target passes ------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TARGET_CPU_PASSES_H
#define HAQA_TARGET_CPU_PASSES_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::haqa {

/// haqa-cpu-drop-aliased-results: on a function nothing in the module calls,
/// the argument index of each result it dropped (one per dropped result, in
/// result order); a caller finds those results in these arguments.
constexpr StringLiteral kAliasedResultsAttrName = "haqa.aliased_results";

#define GEN_PASS_DECL
#include "haqa/Target/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "haqa/Target/CPU/Passes.h.inc"

} // namespace mlir::haqa

#endif // HAQA_TARGET_CPU_PASSES_H
