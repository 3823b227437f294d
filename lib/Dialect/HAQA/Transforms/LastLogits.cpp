//===- LastLogits.cpp - a prompt step's logits for its last token -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Slices the last row of the hidden state before the row-wise ops that end
// in a function's first result (the output head) and rebuilds them on one
// row; see HAQALastLogitsPass in HAQAPasses.td.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQALASTLOGITSPASS
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// The type of `t` with one row.
RankedTensorType oneRow(Type t) {
  auto r = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape(r.getShape());
  shape[0] = 1;
  return r.clone(shape);
}

struct HAQALastLogitsPass
    : haqa::impl::HAQALastLogitsPassBase<HAQALastLogitsPass> {
  using Base::Base;

  void runOnOperation() override {
    auto f = getOperation().lookupSymbol<func::FuncOp>(function);
    if (!f || f.isExternal()) {
      getOperation().emitError()
          << "haqa-last-logits: no function @" << function;
      return signalPassFailure();
    }
    if (f.getNumResults() == 0 || !f.getBody().hasOneBlock()) {
      f.emitError("haqa-last-logits: expected one block and a first result");
      return signalPassFailure();
    }
    auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
    SmallVector<Operation *> chain = getOutputHead(f);
    Value v = chain.empty() ? Value() : chain.back()->getOperand(0);
    auto rowsType = v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
    if (chain.empty() || !rowsType || rowsType.getRank() != 2 ||
        rowsType.isDynamicDim(1)) {
      f.emitError("haqa-last-logits: @")
          << function
          << "'s first result is no haqa.rms_norm / haqa.matmul chain over "
             "2-d rows of a static width";
      return signalPassFailure();
    }
    if (rowsType.getDimSize(0) == 1)
      return; // one row already
    // Everything the chain's ops use dominates its last op (the result's).
    OpBuilder b(chain.front());
    Location loc = chain.back()->getLoc();
    Value rows = tensor::DimOp::create(b, loc, v, 0);
    Value last = arith::SubIOp::create(
        b, loc, rows, arith::ConstantIndexOp::create(b, loc, 1));
    SmallVector<OpFoldResult> offsets = {last, b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                       b.getIndexAttr(rowsType.getDimSize(1))};
    SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
    Value row = tensor::ExtractSliceOp::create(b, loc, oneRow(rowsType), v,
                                               offsets, sizes, strides);
    // Rebuilt first to last on the row; their many-row schedules dropped.
    IRMapping map;
    map.map(v, row);
    Value result;
    for (Operation *op : llvm::reverse(chain)) {
      Operation *c = b.clone(*op, map);
      c->getResult(0).setType(oneRow(op->getResult(0).getType()));
      c->removeAttr("schedule");
      map.map(op->getResult(0), c->getResult(0));
      result = c->getResult(0);
    }
    ret->setOperand(0, result);
    for (Operation *op : chain)
      op->erase();
    SmallVector<Type> results(f.getResultTypes());
    results[0] = result.getType();
    f.setType(FunctionType::get(&getContext(), f.getArgumentTypes(), results));
  }
};

} // namespace

SmallVector<Operation *> mlir::haqa::getOutputHead(func::FuncOp f) {
  SmallVector<Operation *> chain;
  if (f.isExternal() || f.getNumResults() == 0 || !f.getBody().hasOneBlock())
    return chain;
  // Each op computes row i of its result from row i of its first operand.
  Value v = f.getBody().front().getTerminator()->getOperand(0);
  while (Operation *op = v.getDefiningOp()) {
    if (!isa<RMSNormOp, MatmulOp>(op) || !v.hasOneUse())
      break;
    chain.push_back(op);
    v = op->getOperand(0);
  }
  return chain;
}
