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

/// The kinds of the discardable attributes declared in ODS (the contract of
/// convert-haqa-to-linalg, haqa/Conversion/HAQAToLinalg/Contract.h). Other
/// `haqa.*` attributes are checked by the passes that read them.
LogicalResult HAQADialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  auto expect = [&](bool ok, StringRef kind) -> LogicalResult {
    if (ok)
      return success();
    // contract_c1
    return op->emitOpError()
           << "expected " << name << " to be " << kind << ", got " << value;
  };
  if (name == KernelAttrHelper::getNameStr())
    return expect(isa<StringAttr>(value), "a string");
  if (name == LoopDimsAttrHelper::getNameStr() ||
      name == LoopStridesAttrHelper::getNameStr() ||
      name == OperandsAttrHelper::getNameStr())
    return expect(isa<DenseI64ArrayAttr>(value), "an array<i64>");
  if (name == ScheduleAttrHelper::getNameStr())
    return expect(isa<ScheduleAttr>(value), "a #haqa.schedule");
  if (name == MatmulPartAttrHelper::getNameStr())
    return expect(isa<MatmulPartAttr>(value),
                  "a #haqa<matmul_part partial_sums|lane_sum>");
  return success();
}
