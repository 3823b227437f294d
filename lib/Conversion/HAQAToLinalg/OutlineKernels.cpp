//===- OutlineKernels.cpp - one private function per kernel -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// `outline-kernels`: each distinct kernel is lowered once, into a private
// function that every layer calls with its own weight bytes, so that the 30
// layers of a model share one copy of each kernel. Calls pass a destination
// the caller allocates (destination-passing style): bufferization then
// needs no out-parameter of unknown size and no copy.
//
//===----------------------------------------------------------------------===//

#include "OutlineKernels.h"

#include "haqa/Conversion/HAQAToLinalg/HAQAToLinalg.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

void KernelOutliner::outline(func::FuncOp func) {
  SmallVector<KernelOpInterface> kernels;
  func.walk([&](KernelOpInterface k) {
    // Cache writes stay in the caller: in place, a few instructions.
    if (!isa<KVWriteOp>(k.getOperation()))
      kernels.push_back(k);
  });
  for (KernelOpInterface k : kernels) {
    Operation *op = k.getOperation();
    // Destination-passing style: the caller allocates the result (its
    // dynamic leading size is that of the first operand), the kernel
    // writes into it; bufferization then needs no out-param of unknown
    // size and no copy.
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    auto first = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    bool leadingOnly = true;
    for (int64_t d = 1; d < resultType.getRank(); ++d)
      leadingOnly &= !resultType.isDynamicDim(d);
    if (!leadingOnly || (resultType.isDynamicDim(0) && !first))
      continue; // lowered in place
    OpBuilder cb(op);
    SmallVector<Value> dynSizes;
    if (resultType.isDynamicDim(0))
      dynSizes.push_back(
          tensor::DimOp::create(cb, op->getLoc(), op->getOperand(0), 0));
    // alloc_tensor, not tensor.empty: CSE would merge equal-sized
    // empties into one destination shared by several calls.
    Value dest = bufferization::AllocTensorOp::create(cb, op->getLoc(),
                                                      resultType, dynSizes);
    SmallVector<Value> args;
    SmallVector<Type> argTypes;
    for (Value v : op->getOperands()) {
      Value arg = isa<WeightType>(v.getType()) ? getWeightBytes(v) : v;
      args.push_back(arg);
      argTypes.push_back(arg.getType());
    }
    args.push_back(dest);
    argTypes.push_back(resultType);
    func::FuncOp &callee = outlined[getKernelKey(op, /*withSchedule=*/true)];
    if (!callee) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      callee = func::FuncOp::create(
          b, op->getLoc(), (k.getKernelName() + "_kernel").str(),
          b.getFunctionType(argTypes, op->getResultTypes()));
      callee.setPrivate();
      symbols.insert(callee); // uniquifies the name
      Block *body = callee.addEntryBlock();
      b.setInsertionPointToStart(body);
      IRMapping mapping;
      for (auto [i, v] : llvm::enumerate(op->getOperands())) {
        Value arg = body->getArgument(i);
        if (isa<WeightType>(v.getType())) {
          // A typed placeholder for the kernel op; the lowering reads
          // the byte argument behind it (getWeightBytes).
          arg = UnrealizedConversionCastOp::create(b, op->getLoc(), v.getType(),
                                                   arg)
                    .getResult(0);
        }
        mapping.map(v, arg);
      }
      Operation *clone = b.clone(*op, mapping);
      auto into = bufferization::MaterializeInDestinationOp::create(
          b, op->getLoc(), clone->getResult(0), body->getArguments().back());
      func::ReturnOp::create(b, op->getLoc(), into.getResult());
      callees.push_back(callee);
    }
    OpBuilder b(op);
    auto call = func::CallOp::create(b, op->getLoc(), callee, args);
    op->replaceAllUsesWith(call.getResults());
    op->erase();
  }
}

void KernelOutliner::computeIntoDestination(func::FuncOp callee) {
  SmallVector<bufferization::MaterializeInDestinationOp> copies;
  callee.walk(
      [&](bufferization::MaterializeInDestinationOp m) { copies.push_back(m); });
  for (bufferization::MaterializeInDestinationOp m : copies) {
    Value dest = m.getDest();
    if (!isa<BlockArgument>(dest) || !m.getResult().hasOneUse() ||
        !isa<func::ReturnOp>(*m.getResult().getUsers().begin()))
      continue;
    // Down the tied inits from the result to the empty tensor they start
    // at; every value on the way used once (by the next op of the chain).
    Value v = m.getSource();
    OpOperand *root = nullptr;
    while (v.hasOneUse()) {
      auto dps = v.getDefiningOp<DestinationStyleOpInterface>();
      if (!dps)
        break;
      OpOperand *init = dps.getTiedOpOperand(cast<OpResult>(v));
      if (init->get().getDefiningOp<tensor::EmptyOp>()) {
        if (init->get().hasOneUse() && init->get().getType() == dest.getType())
          root = init;
        break;
      }
      v = init->get();
    }
    if (!root)
      continue;
    Operation *empty = root->get().getDefiningOp();
    root->set(dest);
    empty->erase();
    m.getResult().replaceAllUsesWith(m.getSource());
    m.erase();
  }
}
