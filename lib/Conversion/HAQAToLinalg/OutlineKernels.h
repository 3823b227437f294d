//===- OutlineKernels.h - one private function per kernel -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Private to lib/Conversion/HAQAToLinalg: the `outline-kernels` option of
// convert-haqa-to-linalg.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_HAQATOLINALG_OUTLINEKERNELS_H
#define LIB_CONVERSION_HAQATOLINALG_OUTLINEKERNELS_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::haqa::to_linalg {

/// Moves the kernel ops of a module's functions into private functions, one
/// per distinct kernel (op, operand and result types, attributes and
/// schedule; weights by type only), which the functions call.
class KernelOutliner {
public:
  explicit KernelOutliner(ModuleOp module) : module(module), symbols(module) {}

  /// Replaces each kernel op of `func` (kv_write excepted) whose result has
  /// at most a dynamic leading dimension by a call passing its operands
  /// (weights as their byte buffers) and a destination for its result. Its
  /// weights must have byte buffers (addWeightArguments).
  void outline(func::FuncOp func);

  /// The private functions made so far, in order: each holds one kernel op
  /// whose weights are placeholder casts of its byte arguments, to lower.
  ArrayRef<func::FuncOp> getCallees() const { return callees; }

  /// In a lowered private function, computes the result into the
  /// destination argument itself: the empty tensor at the root of the
  /// result's chain of destination-style ops (a linalg.fill, then the
  /// kernel's generic, say) becomes the destination, and the
  /// bufferization.materialize_in_destination goes. Bufferization then
  /// neither allocates nor copies per call. Chains with another op, or
  /// with a value used twice, keep their copy.
  static void computeIntoDestination(func::FuncOp callee);

private:
  ModuleOp module;
  SymbolTable symbols;
  /// getKernelKey (schedule included; weights by type only) -> private
  /// function.
  llvm::StringMap<func::FuncOp> outlined;
  SmallVector<func::FuncOp> callees;
};

} // namespace mlir::haqa::to_linalg

#endif // LIB_CONVERSION_HAQATOLINALG_OUTLINEKERNELS_H
