//===- HAQATypes.cpp - !haqa.weight -----------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::haqa;

/// `576x576` (static dimensions only).
static ParseResult parseShape(AsmParser &parser, SmallVector<int64_t> &shape) {
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false))
    return failure();
  if (shape.empty())
    return parser.emitError(loc, "expected a static shape");
  return success();
}

static void printShape(AsmPrinter &printer, ArrayRef<int64_t> shape) {
  printer.printDimensionList(shape);
}

#define GET_TYPEDEF_CLASSES
#include "haqa/Dialect/HAQA/IR/HAQATypes.cpp.inc"

void HAQADialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "haqa/Dialect/HAQA/IR/HAQATypes.cpp.inc"
      >();
}

LogicalResult WeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, QuantAttr quant) {
  // weight_c1
  if (shape.empty() || shape.size() > 2)
    return emitError() << "expected a 1-d or 2-d weight, got rank "
                       << shape.size();
  // weight_c2
  for (int64_t d : shape)
    if (d <= 0)
      return emitError() << "expected positive weight dimensions, got " << d;
  // weight_c3
  if (quant.isQuantized() && shape.back() % quant.getGroup() != 0)
    return emitError() << "expected group size to divide the innermost "
                          "dimension ("
                       << shape.back() << "), got " << quant.getGroup();
  // weight_c4
  if (quant.getLayout() == StorageLayout::gguf_k && shape.back() % 256 != 0)
    return emitError() << "expected the innermost dimension (" << shape.back()
                       << ") to be a multiple of 256 for "
                       << quant.getGGUFName() << " super-blocks";
  return success();
}

int64_t WeightType::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : getShape())
    n *= d;
  return n;
}

uint64_t WeightType::getStorageBytes(QuantAttr q) const {
  QuantAttr quant = q ? q : getQuant();
  return quant.getStorageBytes(getNumElements());
}
