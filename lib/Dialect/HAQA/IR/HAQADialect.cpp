//===- HAQADialect.cpp - HAQA dialect registration --------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"

using namespace mlir;
using namespace mlir::haqa;

#include "haqa/Dialect/HAQA/IR/HAQADialect.cpp.inc"

void HAQADialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "haqa/Dialect/HAQA/IR/HAQAOps.cpp.inc"
      >();
}
