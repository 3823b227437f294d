//===- KVWrite.cpp - kv_write's row loop as GPU blocks ----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// convert-haqa-to-linalg lowers kv_write to an scf.for over the new rows
// (tagged haqa.kernel = "kv_write"), each inserting one row into the
// cache. On the GPU it becomes a forall over blocks, one row each, whose
// row copy is spread over kKVWriteThreads threads of the block.
//
//===----------------------------------------------------------------------===//

#include "Scheduler.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::gpu_schedule;

/// Threads per block of kv_write (one block per new row).
static constexpr int64_t kKVWriteThreads = 128;

LogicalResult gpu_schedule::kvWriteToForall(IRRewriter &rw, scf::ForOp loop,
                                            Scheduler &scheduler) {
  auto insert = dyn_cast<tensor::InsertSliceOp>(
      loop.getBody()->getTerminator()->getOperand(0).getDefiningOp());
  if (!insert || loop.getNumResults() != 1)
    return loop.emitOpError("kv_write loop of unexpected form");
  rw.setInsertionPoint(loop);
  Location loc = loop.getLoc();
  auto forall = scf::ForallOp::create(
      rw, loc, ArrayRef<OpFoldResult>{loop.getLowerBound()},
      ArrayRef<OpFoldResult>{loop.getUpperBound()},
      ArrayRef<OpFoldResult>{loop.getStep()}, loop.getInitArgs(),
      rw.getArrayAttr(linearMapping(rw.getContext(), 1, /*blocks=*/true)));
  forall->setAttr("haqa.threads", rw.getDenseI64ArrayAttr({kKVWriteThreads}));
  Block *body = forall.getBody();
  IRMapping map;
  map.map(loop.getInductionVar(), forall.getInductionVars()[0]);
  map.map(loop.getRegionIterArgs()[0], forall.getRegionIterArgs()[0]);
  rw.setInsertionPointToStart(body);
  for (Operation &op : loop.getBody()->without_terminator())
    if (&op != insert.getOperation())
      rw.clone(op, map);
  Value src = map.lookup(insert.getSource());
  Value dest = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (OpFoldResult o : insert.getMixedOffsets())
    offsets.push_back(
        isa<Value>(o) ? OpFoldResult(map.lookupOrDefault(cast<Value>(o))) : o);
  sizes = insert.getMixedSizes();
  strides = insert.getMixedStrides();
  auto srcType = cast<RankedTensorType>(src.getType());
  Value target = tensor::ExtractSliceOp::create(rw, loc, srcType, dest, offsets,
                                                sizes, strides);
  auto copy = linalg::CopyOp::create(rw, loc, src, target);
  rw.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, copy->getResult(0), dest,
                                        offsets, sizes, strides);
  rw.replaceOp(loop, forall->getResults());
  return scheduler.threadLevel(copy, flatPlan(copy, kKVWriteThreads, 1));
}
