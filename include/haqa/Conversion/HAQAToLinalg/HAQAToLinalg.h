//===- HAQAToLinalg.h - haqa kernel ops to linalg on tensors ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The pieces of convert-haqa-to-linalg for code that builds its own
// pipeline: the weight arguments (haqa.weight ops become byte-buffer function
// arguments) and the patterns that lower each kernel op to linalg generics
// reading those bytes. The pass (haqa/Conversion/Passes.h) runs both, and
// outlines kernels into private functions when asked.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_CONVERSION_HAQATOLINALG_HAQATOLINALG_H
#define HAQA_CONVERSION_HAQATOLINALG_HAQATOLINALG_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::haqa {

/// The choices of the kernel patterns (the pass's options but outlining).
struct HAQAToLinalgOptions {
  /// Attention scores over every row of the KV cache rather than over
  /// 0 .. max(positions) (`attention-whole-cache`).
  bool attentionWholeCache = false;
};

/// The weights `func` reads, in the order convert-haqa-to-linalg appends
/// them as byte-buffer arguments (first use in the body; each name once).
SmallVector<WeightOp> getWeightArguments(func::FuncOp func);

/// Appends one byte-buffer argument per weight `func` reads (`memref<S x
/// i8>`, S the weight's stored bytes, with the argument attribute
/// `haqa.weight = "name"`), in getWeightArguments' order. The haqa.weight
/// ops stay (the kernel patterns read through them); fails if one name is
/// used with two storages.
LogicalResult addWeightArguments(func::FuncOp func);

/// The byte buffer behind the weight value `weight`: the argument
/// addWeightArguments made for its haqa.weight op, or the operand of an
/// outlined kernel's placeholder cast (`builtin.unrealized_conversion_cast`
/// of its byte argument). Null if it has none.
Value getWeightBytes(Value weight);

/// Adds the patterns that lower each haqa kernel op to linalg on tensors
/// (linalg.generic with the discardable attributes of Contract.h; kv_write
/// to an scf.for of tensor.insert_slice). Weights must have byte buffers
/// (addWeightArguments). A pattern that cannot lower its op says why with an
/// error on the op: the pass applies each pattern once per op, in program
/// order. No TypeConverter: a weight is not converted value by value but
/// bound by name to its function's byte-buffer argument (getWeightBytes).
void populateHAQAToLinalgConversionPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options = {});

} // namespace mlir::haqa

#endif // HAQA_CONVERSION_HAQATOLINALG_HAQATOLINALG_H
