//===- WeightArguments.cpp - weights as byte-buffer arguments ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Each weight a function reads becomes one argument holding its stored
// bytes, `memref<S x i8> {haqa.weight = "name"}`, which the runtime binds by
// position (getWeightArguments gives the order) and the kernel patterns read
// through typed strided views: GGUF blocks are never repacked.
//
//===----------------------------------------------------------------------===//

#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Conversion/HAQAToLinalg/HAQAToLinalg.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::haqa;

SmallVector<WeightOp> mlir::haqa::getWeightArguments(func::FuncOp func) {
  SmallVector<WeightOp> order;
  llvm::StringSet<> seen;
  func.walk([&](WeightOp w) {
    if (seen.insert(w.getName()).second)
      order.push_back(w);
  });
  return order;
}

LogicalResult mlir::haqa::addWeightArguments(func::FuncOp func) {
  SmallVector<WeightOp> weights;
  func.walk([&](WeightOp w) { weights.push_back(w); });
  llvm::StringMap<Value> byName;
  for (WeightOp w : getWeightArguments(func)) {
    Value &arg = byName[w.getName()];
    unsigned index = func.getNumArguments();
    auto type =
        MemRefType::get({static_cast<int64_t>(w.getType().getStorageBytes())},
                        IntegerType::get(func.getContext(), 8));
    if (failed(func.insertArgument(
            index, type,
            DictionaryAttr::get(
                func.getContext(),
                {NamedAttribute(
                    StringAttr::get(func.getContext(), kWeightArgAttrName),
                    w.getNameAttr())}),
            w.getLoc())))
      return w.emitOpError("cannot become a function argument");
    arg = func.getArgument(index);
  }
  for (WeightOp w : weights) {
    Value arg = byName.lookup(w.getName());
    if (arg && cast<MemRefType>(arg.getType()).getNumElements() !=
                   static_cast<int64_t>(w.getType().getStorageBytes()))
      return w.emitOpError("weight '")
             << w.getName() << "' is used with two different storages";
  }
  return success();
}

Value mlir::haqa::getWeightBytes(Value weight) {
  if (!isa<WeightType>(weight.getType()))
    return {};
  // An outlined kernel's placeholder for its byte argument.
  if (auto cast = weight.getDefiningOp<UnrealizedConversionCastOp>())
    return cast->getNumOperands() == 1 ? cast.getOperand(0) : Value();
  auto w = weight.getDefiningOp<WeightOp>();
  if (!w)
    return {};
  auto func = w->getParentOfType<FunctionOpInterface>();
  if (!func)
    return {};
  // The last argument of that name: addWeightArguments appends them.
  for (unsigned i = func.getNumArguments(); i-- > 0;)
    if (func.getArgAttr(i, kWeightArgAttrName) == w.getNameAttr())
      return func.getArgument(i);
  return {};
}
