//===- Passes.h - HAQA lowering passes --------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_CONVERSION_PASSES_H
#define HAQA_CONVERSION_PASSES_H

#include "haqa/Conversion/HAQAToLinalg/HAQAToLinalg.h"
#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::haqa {

#define GEN_PASS_DECL
#include "haqa/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "haqa/Conversion/Passes.h.inc"

} // namespace mlir::haqa

#endif // HAQA_CONVERSION_PASSES_H
