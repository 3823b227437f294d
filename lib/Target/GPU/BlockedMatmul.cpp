//===- BlockedMatmul.cpp - a blocked matmul in one kernel -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A blocked matmul (convert-haqa-to-linalg's partial-sum generic over
// row, column, K block, half block and lane, then a generic adding the
// lanes) on CUDA cores. Where one block holds all the lanes of its columns,
// its tiles divide the result and the sums fit in workgroup memory (the
// decode matmuls), runFusedSum makes it one kernel: each block's partial
// sums per lane in workgroup memory, then the lanes added by the block's
// threads into the result. Elsewhere it changes nothing and the pass driver
// schedules the two generics as two kernels with Scheduler::run (partial
// sums in global memory, then their sum).
//
//===----------------------------------------------------------------------===//

#include "Scheduler.h"
#include "haqa/Conversion/HAQAToLinalg/Contract.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::gpu_schedule;

FailureOr<bool> Scheduler::runFusedSum(linalg::GenericOp partial,
                                       linalg::GenericOp sum) {
  // Loops: the partial's (row, column, K block, half block, lane), the
  // sum's (row, column, lane).
  using utils::IteratorType;
  auto schedule = partial->getAttrOfType<ScheduleAttr>(kScheduleAttrName);
  if (sum.getNumDpsInputs() != 1 || sum.getNumDpsInits() != 1 ||
      partial.getNumDpsInits() != 1 ||
      sum.getDpsInputOperand(0)->get() != partial->getResult(0) ||
      partial.getIteratorTypesArray() !=
          SmallVector<IteratorType>{
              IteratorType::parallel, IteratorType::parallel,
              IteratorType::reduction, IteratorType::reduction,
              IteratorType::parallel} ||
      sum.getIteratorTypesArray() !=
          SmallVector<IteratorType>{IteratorType::parallel,
                                    IteratorType::parallel,
                                    IteratorType::reduction})
    return false;
  MLIRContext *ctx = rw.getContext();
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d4 = getAffineDimExpr(4, ctx);
  if (partial.getMatchingIndexingMap(partial.getDpsInitOperand(0)) !=
          AffineMap::get(5, 0, {d0, d1, d4}, ctx) ||
      !sum.getMatchingIndexingMap(sum.getDpsInputOperand(0)).isIdentity() ||
      sum.getMatchingIndexingMap(sum.getDpsInitOperand(0)) !=
          AffineMap::get(3, 0, {d0, d1}, ctx))
    return false;
  auto partialFill =
      partial.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
  if (!partialFill)
    return false;
  FailureOr<LoopPlan> plan = planLoops(partial, schedule, defaultThreads);
  if (failed(plan))
    return failure();
  LoopPlan &p = *plan;
  if (!p.grid.empty() || llvm::any_of(p.ranges, ShapedType::isDynamic))
    return false;
  int64_t bm = p.blockTile[0] ? p.blockTile[0] : p.ranges[0];
  int64_t bn = p.blockTile[1] ? p.blockTile[1] : p.ranges[1];
  int64_t lanes = p.ranges[4];
  Type elem = getElementTypeOrSelf(partial->getResult(0).getType());
  int64_t accBytes = bm * bn * lanes * 4;
  // One block must hold every lane of its columns; tiles divide the result;
  // the sums and the staged activation tile (f32 rows of the K step) fit in
  // workgroup memory, where the two-kernel form would have fit.
  int64_t stagedBytes = 0;
  for (OpOperand *in : partial.getDpsInputOperands()) {
    if (placementOf(p, in->getOperandNumber()) != MemSpace::shared)
      continue;
    if (in->getOperandNumber() != 0)
      return false;
    stagedBytes = 4 * bm * lanes;
    for (unsigned l : {2u, 3u})
      stagedBytes *= p.kStep[l] ? p.kStep[l] : p.ranges[l];
  }
  if ((p.blockTile[4] && p.blockTile[4] != lanes) || p.ranges[0] % bm ||
      p.ranges[1] % bn || !elem.isF32() || accBytes + stagedBytes > sharedLimit)
    return false;

  Location loc = partial.getLoc();
  auto sumSchedule = sum->getAttrOfType<ScheduleAttr>(kScheduleAttrName);
  rw.setInsertionPoint(sum);
  Value dest = sum.getDpsInitOperand(0)->get();
  auto sumFill = dest.getDefiningOp<linalg::FillOp>();
  if (sumFill)
    dest = sumFill.getDpsInitOperand(0)->get();
  auto forall = scf::ForallOp::create(
      rw, loc, ArrayRef<OpFoldResult>{rw.getIndexAttr(0), rw.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{rw.getIndexAttr(p.ranges[0]),
                             rw.getIndexAttr(p.ranges[1])},
      ArrayRef<OpFoldResult>{rw.getIndexAttr(bm), rw.getIndexAttr(bn)},
      ValueRange{dest}, rw.getArrayAttr(linearMapping(ctx, 2, Level::Block)));
  SmallVector<int64_t> threads = blockThreads(schedule, defaultThreads);
  forall->setAttr("haqa.threads", rw.getDenseI64ArrayAttr(threads));
  rw.setInsertionPointToStart(forall.getBody());
  OpFoldResult i = forall.getInductionVars()[0],
               j = forall.getInductionVars()[1];
  Value out = forall.getRegionIterArgs()[0];

  // The block's sums per lane, in workgroup memory, from zero.
  Attribute space;
  if (addressSpaces)
    space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value acc = bufferization::AllocTensorOp::create(
      rw, loc, RankedTensorType::get({bm, bn, lanes}, elem), ValueRange{},
      Value(), Value(), space);
  auto accFill = linalg::FillOp::create(rw, loc, partialFill.getInputs(), acc);
  auto index = [&](int64_t v) -> OpFoldResult { return rw.getIndexAttr(v); };
  FailureOr<TilingResult> tp =
      cast<TilingInterface>(partial.getOperation())
          .getTiledImplementation(rw, {i, j, index(0), index(0), index(0)},
                                  {index(bm), index(bn), index(p.ranges[2]),
                                   index(p.ranges[3]), index(lanes)});
  if (failed(tp) || tp->tiledOps.size() != 1)
    return partial.emitOpError("cannot take the block tile of the partial "
                               "sums");
  auto tiledPartial = cast<linalg::LinalgOp>(tp->tiledOps.front());
  tiledPartial.getDpsInitOperand(0)->set(accFill.getResult(0));

  // Their sum over the lanes into the block's tile of the result.
  SmallVector<OpFoldResult> offsets = {i, j}, sizes = {index(bm), index(bn)},
                            ones = {index(1), index(1)};
  Value outInit =
      tensor::ExtractSliceOp::create(rw, loc, out, offsets, sizes, ones);
  linalg::FillOp outFill;
  if (sumFill) {
    outFill = linalg::FillOp::create(rw, loc, sumFill.getInputs(), outInit);
    outInit = outFill.getResult(0);
  }
  FailureOr<TilingResult> ts =
      cast<TilingInterface>(sum.getOperation())
          .getTiledImplementation(rw, {i, j, index(0)},
                                  {index(bm), index(bn), index(lanes)});
  if (failed(ts) || ts->tiledOps.size() != 1)
    return sum.emitOpError("cannot take the block tile of the lane sum");
  auto tiledSum = cast<linalg::LinalgOp>(ts->tiledOps.front());
  tiledSum.getDpsInputOperand(0)->set(tiledPartial->getResult(0));
  tiledSum.getDpsInitOperand(0)->set(outInit);
  rw.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, tiledSum->getResult(0), out,
                                        offsets, sizes, ones);
  rw.replaceOp(sum, forall->getResults());
  // The slices of the originals that the tiled ops no longer read.
  for (Operation *slice :
       llvm::concat<Operation *const>(tp->generatedSlices, ts->generatedSlices))
    if (slice->use_empty())
      rw.eraseOp(slice);
  // (Run before the fills to fuse are chosen: none of these is among them.)
  for (Operation *dead : {partial.getOperation(), partialFill.getOperation(),
                          sumFill ? sumFill.getOperation() : nullptr})
    if (dead && dead->use_empty())
      rw.eraseOp(dead);

  if (failed(inBlock(forall, tiledPartial, p, accFill, accBytes)))
    return failure();
  if (outFill &&
      failed(threadLevel(outFill, flatPlan(outFill, p.totalThreads, 1))))
    return failure();
  // The sum's threads, with its placement (register: each thread's sums in
  // private memory).
  LoopPlan sp = flatPlan(tiledSum, p.totalThreads, 1);
  if (sumSchedule)
    sp.placement.assign(sumSchedule.getPlacement().begin(),
                        sumSchedule.getPlacement().end());
  if (auto operands =
          tiledSum->getAttrOfType<DenseI64ArrayAttr>(kOperandsAttrName))
    sp.operands.assign(operands.asArrayRef().begin(),
                       operands.asArrayRef().end());
  if (failed(threadLevel(tiledSum, sp)))
    return failure();
  return true;
}
