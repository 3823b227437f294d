//===- Scheduler.cpp - one linalg op as GPU blocks and threads --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The general schedule of haqa-gpu-apply-schedule, for any linalg op: a
// block-level scf.forall over the block tiles of its parallel loops (with
// the fill of its result, where it has one to itself), an scf.for over K
// steps, the staging copies of its shared operands, a thread-level
// scf.forall and per-thread loops that are vectorized and unrolled, as its
// LoopPlan says. An op with no parallel loop runs on one thread of one
// block.
//
//===----------------------------------------------------------------------===//

#include "Scheduler.h"
#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Target/ScheduleUtils.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::gpu_schedule;

SmallVector<OpFoldResult> gpu_schedule::indexAttrs(OpBuilder &b,
                                                   ArrayRef<int64_t> v) {
  return llvm::to_vector(llvm::map_range(
      v, [&](int64_t s) -> OpFoldResult { return b.getIndexAttr(s); }));
}

SmallVector<Attribute>
gpu_schedule::linearMapping(MLIRContext *ctx, unsigned count, Level level) {
  SmallVector<Attribute> m;
  for (unsigned i = 0; i < count; ++i) {
    auto id = static_cast<gpu::MappingId>(
        static_cast<uint64_t>(gpu::MappingId::LinearDim0) + (count - 1 - i));
    switch (level) {
    case Level::Block:
      m.push_back(gpu::GPUBlockMappingAttr::get(ctx, id));
      break;
    case Level::Warp:
      m.push_back(gpu::GPUWarpMappingAttr::get(ctx, id));
      break;
    case Level::Thread:
      m.push_back(gpu::GPUThreadMappingAttr::get(ctx, id));
      break;
    }
  }
  return m;
}

SmallVector<Attribute>
gpu_schedule::linearMapping(MLIRContext *ctx, unsigned count, bool blocks) {
  return linearMapping(ctx, count, blocks ? Level::Block : Level::Thread);
}

MemSpace Scheduler::placementOf(const LoopPlan &p, unsigned operand) const {
  if (operand >= p.operands.size())
    return MemSpace::global;
  int64_t k = p.operands[operand];
  if (k < 0 || k >= static_cast<int64_t>(p.placement.size()))
    return MemSpace::global;
  return p.placement[k];
}

/// An op with no parallel loop (a reduction to a scalar, a 0-d fill): one
/// block of one thread, an scf.forall of one iteration at each level.
LogicalResult Scheduler::runOnOneThread(linalg::LinalgOp op) {
  if (op->getNumResults() != 1)
    return op.emitOpError("has no parallel loop and not one result");
  Location loc = op.getLoc();
  MLIRContext *ctx = rw.getContext();
  Value init = op.getDpsInitOperand(0)->get();
  auto type = cast<RankedTensorType>(init.getType());
  auto wrap = [&](Value dest, bool blocks,
                  function_ref<Value(OpBuilder &, Value)> body) {
    auto forall = scf::ForallOp::create(
        rw, loc, ArrayRef<OpFoldResult>{rw.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rw.getIndexAttr(1)},
        ArrayRef<OpFoldResult>{rw.getIndexAttr(1)}, ValueRange{dest},
        rw.getArrayAttr(linearMapping(ctx, 1, blocks)));
    OpBuilder::InsertionGuard g(rw);
    rw.setInsertionPointToStart(forall.getBody());
    Value v = body(rw, forall.getRegionIterArgs()[0]);
    rw.setInsertionPointToStart(forall.getTerminator().getBody());
    SmallVector<OpFoldResult> zeros(type.getRank(), rw.getIndexAttr(0));
    SmallVector<OpFoldResult> ones(type.getRank(), rw.getIndexAttr(1));
    tensor::ParallelInsertSliceOp::create(
        rw, loc, v, forall.getRegionIterArgs()[0], zeros,
        tensor::getMixedSizes(rw, loc, init), ones);
    return forall;
  };
  rw.setInsertionPoint(op);
  scf::ForallOp outer = wrap(init, true, [&](OpBuilder &, Value blockOut) {
    return wrap(blockOut, false,
                [&](OpBuilder &, Value threadOut) {
                  Operation *clone = rw.clone(*op);
                  clone->setOperand(op.getDpsInitOperand(0)->getOperandNumber(),
                                    threadOut);
                  return clone->getResult(0);
                })
        ->getResult(0);
  });
  outer->setAttr("haqa.threads", rw.getDenseI64ArrayAttr({1}));
  rw.replaceOp(op, outer->getResults());
  return success();
}

/// Per thread: loops in `order`, the innermost cut into `vector`-wide
/// pieces and vectorized, then unrolled.
LogicalResult Scheduler::perThread(linalg::LinalgOp op, const LoopPlan &p) {
  unsigned n = op.getNumLoops();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<int64_t> sizes(n, 1);
  int64_t vector = p.vector;
  if (n)
    sizes.back() = vector;
  for (unsigned l = 0; l < n; ++l)
    if (!ShapedType::isDynamic(ranges[l]) && ranges[l] <= sizes[l])
      sizes[l] = 0;
  SmallVector<int64_t> interchange(p.loopOrder.begin(), p.loopOrder.end());
  if (interchange.size() != n) {
    interchange.clear();
    for (unsigned l = 0; l < n; ++l)
      interchange.push_back(l);
  }
  scf::ForOp innermost;
  linalg::LinalgOp cur = op;
  if (llvm::any_of(sizes, [](int64_t t) { return t != 0; })) {
    scf::SCFTilingOptions options;
    options.setTileSizes(indexAttrs(rw, sizes));
    options.setInterchange(interchange);
    auto tiled = tileLinalgOp(rw, cur, options);
    if (failed(tiled))
      return op.emitOpError("cannot tile each thread's loops");
    cur = tiled->first;
    if (!tiled->second.empty())
      innermost = dyn_cast<scf::ForOp>(tiled->second.back().getOperation());
  }
  if (vector > 1 && failed(vectorizeTile(rw, cur, sizes)))
    cur.emitRemark("the linalg vectorizer rejected this tile: left as "
                   "scalar loops");
  if (p.unroll > 1 && innermost)
    if (failed(unrollStatic(innermost, p.unroll)))
      return innermost.emitOpError("cannot unroll by ") << p.unroll;
  return success();
}

/// The block's threads: an scf.forall over the parallel loops; operands
/// placed in registers are copied per thread.
LogicalResult Scheduler::threadLevel(linalg::LinalgOp op, const LoopPlan &p) {
  unsigned n = op.getNumLoops();
  SmallVector<int64_t> numThreads(n, 0);
  unsigned mapped = 0;
  for (unsigned l = 0; l < n && l < p.threadsPer.size(); ++l)
    if (p.threadsPer[l] > 0 &&
        (ShapedType::isDynamic(op.getStaticLoopRanges()[l]) ||
         op.getStaticLoopRanges()[l] > 0)) {
      numThreads[l] = p.threadsPer[l];
      ++mapped;
    }
  if (!mapped) {
    // Work with no parallel loop of its own still needs one thread of the
    // block, not all of them.
    for (unsigned l = 0; l < n; ++l)
      if (p.iters[l] == utils::IteratorType::parallel) {
        numThreads[l] = 1;
        mapped = 1;
        break;
      }
    if (!mapped)
      return op.emitOpError("has no parallel loop to give the GPU threads");
  }
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  options.setNumThreads(indexAttrs(rw, numThreads));
  options.setMapping(linearMapping(rw.getContext(), mapped, /*blocks=*/false));
  auto tiled = tileLinalgOp(rw, op, options);
  if (failed(tiled))
    return op.emitOpError("cannot distribute over the block's threads");
  linalg::LinalgOp cur = tiled->first;

  stagePrivate(cur, p);
  return perThread(cur, p);
}

LogicalResult Scheduler::run(linalg::LinalgOp op) {
  auto schedule = op->getAttrOfType<ScheduleAttr>(kScheduleAttrName);
  FailureOr<LoopPlan> plan = planLoops(op, schedule, defaultThreads);
  if (failed(plan))
    return failure();
  LoopPlan &p = *plan;
  unsigned n = op.getNumLoops();

  // Blocks.
  SmallVector<int64_t> blockSizes(n, 0);
  unsigned mapped = 0;
  for (unsigned l = 0; l < n; ++l)
    if (p.iters[l] == utils::IteratorType::parallel) {
      blockSizes[l] = p.blockTile[l] ? p.blockTile[l] : extentOf(p.ranges[l]);
      ++mapped;
    }
  linalg::FillOp fill;
  if (op.getNumDpsInits() == 1)
    if (auto f = op.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
        f && fusedFills.erase(f))
      fill = f;
  if (!mapped) {
    if (fill && failed(run(fill)))
      return failure();
    return runOnOneThread(op);
  }
  scf::SCFTilingOptions blockOptions;
  blockOptions.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  blockOptions.setTileSizes(indexAttrs(rw, blockSizes));
  blockOptions.setMapping(
      linearMapping(rw.getContext(), mapped, /*blocks=*/true));
  auto blocks = tileLinalgOp(rw, op, blockOptions);
  if (failed(blocks))
    return op.emitOpError("cannot tile over GPU blocks");
  linalg::LinalgOp cur = blocks->first;
  auto forall = cast<scf::ForallOp>(blocks->second.front().getOperation());
  if (!p.grid.empty()) {
    int64_t g = 1;
    for (int64_t v : p.grid)
      g *= v;
    forall->setAttr("haqa.grid", rw.getI64IntegerAttr(g));
  }
  SmallVector<int64_t> threads = blockThreads(schedule, defaultThreads);
  forall->setAttr("haqa.threads", rw.getDenseI64ArrayAttr(threads));

  // The fill of the result, per block tile in this kernel: the block forall
  // starts from the fill's destination, each block fills its own tile
  // (blocks split only parallel loops, so no two share an element).
  linalg::FillOp blockFill;
  if (fill && forall.getOutputs().size() == 1) {
    forall.getOutputsMutable()[0].assign(fill.getDpsInitOperand(0)->get());
    rw.setInsertionPoint(cur);
    blockFill = linalg::FillOp::create(rw, fill.getLoc(), fill.getInputs(),
                                       cur.getDpsInitOperand(0)->get());
    cur.getDpsInitOperand(0)->set(blockFill.getResult(0));
    if (fill->use_empty())
      rw.eraseOp(fill);
  } else if (fill && failed(run(fill))) {
    return failure();
  }

  return inBlock(forall, cur, p, blockFill);
}

/// Inside one block of `block`: the K steps of `cur` (its block tile), the
/// workgroup copies of its shared operands, `blockFill` (the fill of its
/// result tile, if any) and `cur` itself over the block's threads.
/// `sharedUsed`: workgroup bytes the block already has; the total is
/// recorded on `block`.
LogicalResult Scheduler::inBlock(scf::ForallOp block, linalg::LinalgOp cur,
                                 const LoopPlan &p, linalg::FillOp blockFill,
                                 int64_t sharedUsed) {
  // K steps.
  if (llvm::any_of(p.kStep, [](int64_t s) { return s != 0; })) {
    scf::SCFTilingOptions options;
    options.setTileSizes(indexAttrs(rw, p.kStep));
    auto tiled = tileLinalgOp(rw, cur, options);
    if (failed(tiled))
      return cur.emitOpError("cannot tile the reduction into K steps");
    cur = tiled->first;
  }

  // Workgroup memory: the block tile of each shared operand.
  int64_t sharedBytes = sharedUsed;
  FailureOr<SmallVector<linalg::CopyOp>> copies =
      stageWorkgroup(cur, p, sharedBytes);
  if (failed(copies))
    return failure();
  recordWorkgroupBytes(block, sharedBytes);

  if (blockFill &&
      failed(threadLevel(blockFill,
                         flatPlan(blockFill, p.totalThreads, p.vector))))
    return failure();
  for (linalg::CopyOp copy : *copies)
    if (failed(threadLevel(copy, flatPlan(copy, p.totalThreads, p.vector))))
      return failure();
  return threadLevel(cur, p);
}
