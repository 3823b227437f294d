//===- ApplySchedule.cpp - #haqa.schedule as GPU blocks / threads -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Each linalg op of a kernel becomes a block-level scf.forall (one block
// tile per iteration), an optional scf.for over K steps, staging copies to
// workgroup memory, a thread-level scf.forall, and per-thread loops that
// are vectorized and unrolled. Mapping the foralls to gpu.launch happens
// after bufferization (haqa-gpu-map-forall).
//
//===----------------------------------------------------------------------===//

#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Hardware/TargetLimits.h"
#include "haqa/Target/GPU/Passes.h"
#include "haqa/Target/ScheduleUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUAPPLYSCHEDULEPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

constexpr int64_t kDynamicExtent = 1 << 20;
/// Threads per block of kv_write (one block per new row).
constexpr int64_t kKVWriteThreads = 128;

/// How one linalg op's loops map to the GPU.
struct LoopPlan {
  unsigned numLoops = 0;
  SmallVector<utils::IteratorType> iters;
  SmallVector<int64_t> ranges;      ///< static ranges (dynamic: ShapedType)
  SmallVector<unsigned> loopOrder;  ///< loops, outermost first (`order`)
  SmallVector<int64_t> blockTile;   ///< per loop; 0: whole range
  SmallVector<int64_t> kStep;       ///< per reduction loop; 0: whole range
  SmallVector<int64_t> threadsPer;  ///< per parallel loop; 0: none
  int64_t vector = 1, unroll = 1;
  int64_t totalThreads = 1;
  SmallVector<int64_t> grid;
  ArrayRef<MemSpace> placement;
  DenseI64ArrayAttr operands; ///< haqa.operands: kernel operand per operand
};

/// The block's thread counts: the schedule's `threads`, else one dimension
/// of `defaultThreads`.
SmallVector<int64_t> blockThreads(ScheduleAttr schedule,
                                  int64_t defaultThreads) {
  if (schedule && !schedule.getThreads().empty())
    return SmallVector<int64_t>(schedule.getThreads());
  return {defaultThreads};
}

/// The generic adding the lanes of a blocked matmul's partial-sum generic
/// (haqa.matmul_part = partial_sums, one use: the generic marked lane_sum;
/// Contract.h), or null.
linalg::GenericOp laneSumOf(linalg::GenericOp partial) {
  if (!partial || getMatmulPart(partial) != MatmulPart::partial_sums ||
      !partial->hasOneUse())
    return {};
  auto sum = dyn_cast<linalg::GenericOp>(*partial->getUsers().begin());
  return sum && getMatmulPart(sum) == MatmulPart::lane_sum
             ? sum
             : linalg::GenericOp();
}

int64_t extentOf(int64_t range) {
  return ShapedType::isDynamic(range) ? kDynamicExtent : range;
}

/// Threads for a loop of `extent` elements, `per` each, at most `limit`:
/// the most that split it into equal whole pieces when that is at least
/// half of what could be used (no partial tiles, no dynamic sizes), else
/// as many as there are pieces.
int64_t evenThreads(int64_t extent, int64_t per, int64_t limit) {
  int64_t want = llvm::divideCeil(extent, per);
  int64_t t = std::clamp<int64_t>(want, 1, limit);
  if (extent == kDynamicExtent || extent % per != 0 || want % t == 0)
    return t;
  for (int64_t d = t; d * 2 >= t; --d)
    if (want % d == 0)
      return d;
  return t;
}

/// Works out the plan of `op` under `schedule` (see the pass description).
FailureOr<LoopPlan> planLoops(linalg::LinalgOp op, ScheduleAttr schedule,
                              int64_t defaultThreads) {
  LoopPlan p;
  unsigned n = op.getNumLoops();
  p.numLoops = n;
  p.iters = op.getIteratorTypesArray();
  p.ranges = op.getStaticLoopRanges();
  FailureOr<KernelLoops> loops = getKernelLoops(op, schedule);
  if (failed(loops))
    return failure();
  p.loopOrder = loops->loopOrder;
  SmallVector<int64_t> threads = blockThreads(schedule, defaultThreads);
  for (int64_t t : threads)
    p.totalThreads *= t;
  p.vector = schedule ? schedule.getVector().value_or(1) : 1;
  p.unroll = schedule ? schedule.getUnroll().value_or(1) : 1;
  if (schedule) {
    p.grid.assign(schedule.getGrid().begin(), schedule.getGrid().end());
    p.placement = schedule.getPlacement();
  }
  p.operands = op->getAttrOfType<DenseI64ArrayAttr>("haqa.operands");

  // User tiles, in units of each kernel dimension's most significant loop,
  // at most the whole loop.
  SmallVector<int64_t> userTile = loops->tileInLoopUnits(
      schedule ? schedule.getTile() : ArrayRef<int64_t>{}, p.ranges);
  for (unsigned l = 0; l < n; ++l)
    if (userTile[l])
      userTile[l] = std::min(userTile[l], extentOf(p.ranges[l]));

  // Threads go to the parallel loops innermost first; the innermost loop
  // of all gives each thread `vector` elements.
  p.blockTile.assign(n, 0);
  p.kStep.assign(n, 0);
  p.threadsPer.assign(n, 0);
  // With one thread count, the threads fill the loops innermost first; with
  // [x, y, z], x goes to the innermost parallel loop, y to the next, ...
  unsigned innermost = p.loopOrder.empty() ? 0 : p.loopOrder.back();
  int64_t remaining = p.totalThreads;
  unsigned rank = 0;
  for (unsigned l : llvm::reverse(p.loopOrder)) {
    if (p.iters[l] != utils::IteratorType::parallel)
      continue;
    int64_t per = (l == innermost) ? p.vector : 1;
    int64_t extent = userTile[l] ? userTile[l] : extentOf(p.ranges[l]);
    int64_t limit = threads.size() > 1
                        ? (rank < threads.size() ? threads[rank] : 1)
                        : remaining;
    ++rank;
    int64_t t = 1;
    if (limit > 1)
      t = evenThreads(extent, per, limit);
    p.threadsPer[l] = t;
    remaining /= t;
    p.blockTile[l] = userTile[l] ? userTile[l]
                                 : std::min(t * per, extentOf(p.ranges[l]));
  }
  for (unsigned l = 0; l < n; ++l)
    if (p.iters[l] != utils::IteratorType::parallel && userTile[l] &&
        userTile[l] < extentOf(p.ranges[l]))
      p.kStep[l] = userTile[l];
  return p;
}

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> v) {
  return llvm::to_vector(llvm::map_range(
      v, [&](int64_t s) -> OpFoldResult { return b.getIndexAttr(s); }));
}

enum class Level { Block, Warp, Thread };

/// Mapping attributes for `count` forall dimensions, linear_dim_0 the
/// innermost (last) one.
SmallVector<Attribute> linearMapping(MLIRContext *ctx, unsigned count,
                                     Level level) {
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

SmallVector<Attribute> linearMapping(MLIRContext *ctx, unsigned count,
                                     bool blocks) {
  return linearMapping(ctx, count, blocks ? Level::Block : Level::Thread);
}

/// A static upper bound of every dimension of `v` (a tensor).
FailureOr<SmallVector<int64_t>> staticBounds(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      continue;
    FailureOr<int64_t> ub = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB, ValueBoundsConstraintSet::Variable(v, d),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(ub))
      return failure();
    shape[d] = *ub;
  }
  return shape;
}

/// `v` copied into a new buffer in `space` (a static buffer of `v`'s upper
/// bound shape, sliced to `v`'s sizes when they are dynamic). Adds the
/// buffer's bytes to `bytes`.
FailureOr<linalg::CopyOp> stage(OpBuilder &b, Location loc, Value v,
                                std::optional<gpu::AddressSpace> space,
                                int64_t &bytes) {
  FailureOr<SmallVector<int64_t>> shape = staticBounds(v);
  if (failed(shape))
    return failure();
  auto type = cast<RankedTensorType>(v.getType());
  auto bufType = RankedTensorType::get(*shape, type.getElementType());
  Attribute spaceAttr;
  if (space)
    spaceAttr = gpu::AddressSpaceAttr::get(b.getContext(), *space);
  Value buf = bufferization::AllocTensorOp::create(
      b, loc, bufType, ValueRange{}, Value(), Value(), spaceAttr);
  int64_t n = 1;
  for (int64_t s : *shape)
    n *= s;
  bytes += n * ((type.getElementTypeBitWidth() + 7) / 8);
  if (!type.hasStaticShape()) {
    SmallVector<OpFoldResult> zeros(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> ones(type.getRank(), b.getIndexAttr(1));
    buf = tensor::ExtractSliceOp::create(b, loc, type, buf, zeros,
                                         tensor::getMixedSizes(b, loc, v),
                                         ones);
  }
  return linalg::CopyOp::create(b, loc, v, buf);
}

/// The plan of a copy (or any all-parallel op) run by `threads` threads of
/// one block: innermost loop first, `vector` wide where it divides.
LoopPlan flatPlan(linalg::LinalgOp op, int64_t threads, int64_t vector) {
  LoopPlan cp;
  cp.numLoops = op.getNumLoops();
  cp.iters = op.getIteratorTypesArray();
  cp.ranges = op.getStaticLoopRanges();
  cp.totalThreads = threads;
  for (unsigned l = 0; l < cp.numLoops; ++l)
    cp.loopOrder.push_back(l);
  cp.threadsPer.assign(cp.numLoops, 0);
  int64_t inner = cp.numLoops ? extentOf(cp.ranges.back()) : 1;
  cp.vector = (vector > 1 && inner % vector == 0) ? vector : 1;
  int64_t remaining = threads;
  for (unsigned l = cp.numLoops; l-- > 0;) {
    if (cp.iters[l] != utils::IteratorType::parallel)
      continue;
    int64_t per = l + 1 == cp.numLoops ? cp.vector : 1;
    int64_t t = 1;
    if (remaining > 1)
      t = evenThreads(extentOf(cp.ranges[l]), per, remaining);
    cp.threadsPer[l] = t;
    remaining /= t;
  }
  return cp;
}

class Scheduler {
public:
  Scheduler(IRRewriter &rw, int64_t defaultThreads, int64_t sharedLimit,
            std::string limitSource, bool addressSpaces)
      : rw(rw), defaultThreads(defaultThreads), sharedLimit(sharedLimit),
        limitSource(std::move(limitSource)), addressSpaces(addressSpaces) {}

  LogicalResult run(linalg::LinalgOp op);
  LogicalResult threadLevel(linalg::LinalgOp op, const LoopPlan &p);
  /// A blocked matmul on CUDA cores in one kernel: `partial`'s sums over K
  /// blocks per lane kept in workgroup memory, then `sum` adding the lanes.
  /// false (and nothing changed) where it does not apply; failure() after an
  /// error.
  FailureOr<bool> runFusedSum(linalg::GenericOp partial, linalg::GenericOp sum);
  LogicalResult runMma(linalg::GenericOp partial, linalg::GenericOp sum);

  /// Fills initialising the one result of the op that uses them: run()
  /// makes them in that op's kernel, each block filling its tile before its
  /// K steps, instead of a kernel of their own.
  DenseSet<Operation *> fusedFills;

private:
  IRRewriter &rw;
  int64_t defaultThreads, sharedLimit;
  std::string limitSource;
  bool addressSpaces;

  std::optional<gpu::AddressSpace> spaceFor(gpu::AddressSpace s) const {
    if (addressSpaces)
      return s;
    return std::nullopt;
  }

  MemSpace placementOf(const LoopPlan &p, unsigned operand) const {
    if (!p.operands || operand >= p.operands.size())
      return MemSpace::global;
    int64_t k = p.operands[operand];
    if (k < 0 || k >= static_cast<int64_t>(p.placement.size()))
      return MemSpace::global;
    return p.placement[k];
  }

  LogicalResult perThread(linalg::LinalgOp op, const LoopPlan &p);
  LogicalResult inBlock(linalg::LinalgOp cur, const LoopPlan &p,
                        linalg::FillOp blockFill, int64_t sharedUsed = 0);
  LogicalResult runOnOneThread(linalg::LinalgOp op);
};

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
    return wrap(blockOut, false, [&](OpBuilder &, Value threadOut) {
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

  // Registers: each thread's tile of an operand in private memory.
  rw.setInsertionPoint(cur);
  int64_t privateBytes = 0;
  for (OpOperand &operand : cur->getOpOperands()) {
    if (placementOf(p, operand.getOperandNumber()) != MemSpace::reg ||
        !isa<RankedTensorType>(operand.get().getType()))
      continue;
    FailureOr<linalg::CopyOp> copy =
        stage(rw, cur.getLoc(), operand.get(),
              spaceFor(gpu::AddressSpace::Private), privateBytes);
    if (failed(copy)) {
      cur.emitRemark("placement = register not applied to operand ")
          << operand.getOperandNumber()
          << ": each thread's tile has no static bound";
      continue;
    }
    (*copy)->setAttr("haqa.gpu.staged", rw.getUnitAttr());
    operand.set((*copy)->getResult(0));
  }
  return perThread(cur, p);
}

LogicalResult Scheduler::run(linalg::LinalgOp op) {
  auto schedule = op->getAttrOfType<ScheduleAttr>("haqa.schedule");
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

  return inBlock(cur, p, blockFill);
}

/// Inside one block: the K steps of `cur` (its block tile), the workgroup
/// copies of its shared operands, `blockFill` (the fill of its result
/// tile, if any) and `cur` itself over the block's threads.
LogicalResult Scheduler::inBlock(linalg::LinalgOp cur, const LoopPlan &p,
                                 linalg::FillOp blockFill, int64_t sharedUsed) {
  // K steps.
  if (llvm::any_of(p.kStep, [](int64_t s) { return s != 0; })) {
    scf::SCFTilingOptions options;
    options.setTileSizes(indexAttrs(rw, p.kStep));
    auto tiled = tileLinalgOp(rw, cur, options);
    if (failed(tiled))
      return cur.emitOpError("cannot tile the reduction into K steps");
    cur = tiled->first;
  }

  // Workgroup memory: the block tile of each shared operand, copied by all
  // the threads, read from there.
  rw.setInsertionPoint(cur);
  int64_t sharedBytes = sharedUsed;
  SmallVector<linalg::CopyOp> copies;
  for (OpOperand *operand : cur.getDpsInputOperands()) {
    if (placementOf(p, operand->getOperandNumber()) != MemSpace::shared ||
        !isa<RankedTensorType>(operand->get().getType()))
      continue;
    FailureOr<linalg::CopyOp> copy =
        stage(rw, cur.getLoc(), operand->get(),
              spaceFor(gpu::AddressSpace::Workgroup), sharedBytes);
    if (failed(copy))
      return cur.emitOpError("placement = shared needs a static bound of the "
                             "block tile");
    (*copy)->setAttr("haqa.gpu.staged", rw.getUnitAttr());
    operand->set((*copy)->getResult(0));
    copies.push_back(*copy);
  }
  if (sharedBytes > sharedLimit)
    return cur.emitOpError("schedule stages ")
           << sharedBytes << " bytes of shared memory per block; the limit is "
           << sharedLimit << " bytes (" << limitSource << ")";

  if (blockFill &&
      failed(threadLevel(blockFill,
                         flatPlan(blockFill, p.totalThreads, p.vector))))
    return failure();
  for (linalg::CopyOp copy : copies)
    if (failed(threadLevel(copy, flatPlan(copy, p.totalThreads, p.vector))))
      return failure();
  return threadLevel(cur, p);
}

FailureOr<bool> Scheduler::runFusedSum(linalg::GenericOp partial,
                                       linalg::GenericOp sum) {
  // Loops: the partial's (row, column, K block, half block, lane), the
  // sum's (row, column, lane).
  using utils::IteratorType;
  auto schedule = partial->getAttrOfType<ScheduleAttr>("haqa.schedule");
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
  auto sumSchedule = sum->getAttrOfType<ScheduleAttr>("haqa.schedule");
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

  if (failed(inBlock(tiledPartial, p, accFill, accBytes)))
    return failure();
  if (outFill &&
      failed(threadLevel(outFill, flatPlan(outFill, p.totalThreads, 1))))
    return failure();
  // The sum's threads, with its placement (register: each thread's sums in
  // private memory).
  LoopPlan sp = flatPlan(tiledSum, p.totalThreads, 1);
  if (sumSchedule)
    sp.placement = sumSchedule.getPlacement();
  sp.operands = tiledSum->getAttrOfType<DenseI64ArrayAttr>("haqa.operands");
  if (failed(threadLevel(tiledSum, sp)))
    return failure();
  return true;
}

/// The dequantized weight `w` of a blocked matmul's partial-sum body
/// `acc + x * w` (x the first block argument, acc the last).
FailureOr<Value> dequantizedWeight(linalg::GenericOp partial) {
  Block &body = partial.getRegion().front();
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return failure();
  Value acc = body.getArguments().back();
  Value prod = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = prod.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return failure();
  Value x = body.getArgument(0);
  if (mul.getLhs() == x)
    return mul.getRhs();
  if (mul.getRhs() == x)
    return mul.getLhs();
  return failure();
}

/// The weight of a blocked matmul (loops m, n, h, b, j over x[m, b, h, j]
/// and its weight operands) dequantized to f16 as a generic over (n, b, h,
/// j) writing W[b, h, j, n]: the partial body's weight computation, cloned.
FailureOr<linalg::GenericOp> dequantToF16(RewriterBase &rw,
                                          linalg::GenericOp partial) {
  FailureOr<Value> w = dequantizedWeight(partial);
  if (failed(w))
    return failure();
  Location loc = partial.getLoc();
  MLIRContext *ctx = rw.getContext();
  auto e = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // Partial loop -> dequant loop: m (unused), n, h, b, j -> 0, 2, 1, 3.
  const int64_t newDim[5] = {-1, 0, 2, 1, 3};
  SmallVector<AffineExpr> sub = {getAffineConstantExpr(0, ctx), e(0), e(2),
                                 e(1), e(3)};
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (OpOperand *in : partial.getDpsInputOperands()) {
    if (in->getOperandNumber() == 0)
      continue;
    AffineMap m = partial.getMatchingIndexingMap(in);
    if (m.isFunctionOfDim(0))
      return failure();
    ins.push_back(in->get());
    maps.push_back(m.replaceDimsAndSymbols(sub, {}, 4, 0));
  }
  SmallVector<int64_t> ranges = partial.getStaticLoopRanges();
  int64_t n = ranges[1], blocks = ranges[3];
  auto type = RankedTensorType::get({blocks, 2, 16, n}, rw.getF16Type());
  Value empty =
      tensor::EmptyOp::create(rw, loc, type.getShape(), type.getElementType());
  maps.push_back(AffineMap::get(4, 0, {e(1), e(2), e(3), e(0)}, ctx));
  Block &body = partial.getRegion().front();
  Operation *mul = body.getTerminator()->getOperand(0).getDefiningOp();
  bool ok = true;
  auto op = linalg::GenericOp::create(
      rw, loc, TypeRange{type}, ins, ValueRange{empty}, maps,
      SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange args) {
        IRMapping map;
        for (unsigned i = 1; i + 1 < body.getNumArguments(); ++i)
          map.map(body.getArgument(i), args[i - 1]);
        Value x = body.getArgument(0), acc = body.getArguments().back();
        for (Operation &o : body.without_terminator()) {
          if (&o == mul || llvm::is_contained(o.getUsers(), mul))
            continue;
          if (llvm::is_contained(o.getOperands(), x) ||
              llvm::is_contained(o.getOperands(), acc)) {
            ok = false;
            continue;
          }
          if (auto index = dyn_cast<linalg::IndexOp>(o)) {
            int64_t d = newDim[index.getDim()];
            if (d < 0) {
              ok = false;
              continue;
            }
            map.map(index.getResult(),
                    linalg::IndexOp::create(b, l, d).getResult());
            continue;
          }
          b.clone(o, map);
        }
        Value wv = map.lookupOrDefault(*w);
        linalg::YieldOp::create(
            b, l,
            arith::TruncFOp::create(b, l, b.getF16Type(), wv).getResult());
      });
  if (!ok) {
    rw.eraseOp(op);
    return failure();
  }
  return op;
}

/// A blocked matmul on tensor cores (schedule mma = 1): a block forall over
/// bm x bn output tiles whose sums live in workgroup memory; per K step of
/// bk, the threads convert the activation tile to f16 and dequantize the
/// weight tile to f16 into workgroup memory, then each warp multiplies its
/// 16 x 16 fragments (a linalg.matmul tagged haqa.mma, which
/// haqa-gpu-mma-to-wmma turns into gpu.subgroup_mma ops on CUDA and the CPU
/// runs as loops); finally the threads copy the sums out.
LogicalResult Scheduler::runMma(linalg::GenericOp partial,
                                linalg::GenericOp sum) {
  auto schedule = partial->getAttrOfType<ScheduleAttr>("haqa.schedule");
  Location loc = partial.getLoc();
  MLIRContext *ctx = rw.getContext();
  auto expand = partial.getDpsInputOperand(0)
                    ->get()
                    .getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand)
    return partial.emitOpError("mma = 1: activations of unexpected form");
  Value x = expand.getSrc();
  SmallVector<int64_t> ranges = partial.getStaticLoopRanges();
  int64_t m = ranges[0], n = ranges[1], k = ranges[3] * 32;
  ArrayRef<int64_t> tile = schedule.getTile();
  auto tileAt = [&](size_t i) -> int64_t {
    return i < tile.size() ? tile[i] : 0;
  };
  int64_t threads = 1;
  for (int64_t t : blockThreads(schedule, defaultThreads))
    threads *= t;
  std::string whyNot;
  std::optional<MmaTiles> t =
      chooseMmaTiles(ShapedType::isDynamic(m) ? 0 : m, n, k, tileAt(0),
                     tileAt(1), tileAt(2), threads, &whyNot);
  if (!t)
    return partial.emitOpError(whyNot);
  if (threads < 32)
    return partial.emitOpError("mma = 1 needs at least one warp (32 "
                               "threads) per block, got ")
           << threads;
  if (t->sharedBytes > sharedLimit)
    return partial.emitOpError("schedule stages ")
           << t->sharedBytes << " bytes of shared memory per block (mma tiles "
           << t->bm << "x" << t->bn << "x" << t->bk << "); the limit is "
           << sharedLimit << " bytes (" << limitSource << ")";

  rw.setInsertionPoint(partial);
  FailureOr<linalg::GenericOp> dequant = dequantToF16(rw, partial);
  if (failed(dequant))
    return partial.emitOpError("mma = 1: matmul body of unexpected form");
  Type f16 = rw.getF16Type(), f32 = rw.getF32Type();
  auto xType = cast<RankedTensorType>(x.getType());
  Value emptyA =
      tensor::EmptyOp::create(rw, loc, tensor::getMixedSizes(rw, loc, x), f16);
  AffineMap id2 = rw.getMultiDimIdentityMap(2);
  auto toF16 = linalg::GenericOp::create(
      rw, loc, TypeRange{emptyA.getType()}, ValueRange{x}, ValueRange{emptyA},
      SmallVector<AffineMap>{id2, id2},
      SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(
            b, l, arith::TruncFOp::create(b, l, f16, args[0]).getResult());
      });
  (void)xType;

  rw.setInsertionPoint(sum);
  Value dest = sum.getDpsInitOperand(0)->get();
  if (auto fill = dest.getDefiningOp<linalg::FillOp>())
    dest = fill.getDpsInitOperand(0)->get();
  OpFoldResult mSize = tensor::getMixedSize(rw, loc, dest, 0);
  auto forall = scf::ForallOp::create(
      rw, loc, ArrayRef<OpFoldResult>{rw.getIndexAttr(0), rw.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{mSize, rw.getIndexAttr(n)},
      ArrayRef<OpFoldResult>{rw.getIndexAttr(t->bm), rw.getIndexAttr(t->bn)},
      ValueRange{dest}, rw.getArrayAttr(linearMapping(ctx, 2, Level::Block)));
  forall->setAttr("haqa.threads", rw.getDenseI64ArrayAttr({threads}));
  if (!schedule.getGrid().empty()) {
    int64_t g = 1;
    for (int64_t v : schedule.getGrid())
      g *= v;
    forall->setAttr("haqa.grid", rw.getI64IntegerAttr(g));
  }
  rw.setInsertionPointToStart(forall.getBody());
  Value i = forall.getInductionVars()[0], j = forall.getInductionVars()[1];
  Value out = forall.getRegionIterArgs()[0];
  bool fullRows = !ShapedType::isDynamic(m) && m % t->bm == 0;
  OpFoldResult rows = rw.getIndexAttr(t->bm);
  if (!fullRows) {
    AffineExpr d0 = getAffineDimExpr(0, ctx), s0 = getAffineSymbolExpr(0, ctx);
    rows = affine::makeComposedFoldedAffineMin(
        rw, loc,
        AffineMap::get(1, 1, {getAffineConstantExpr(t->bm, ctx), s0 - d0}, ctx),
        {i, mSize});
  }
  Attribute space;
  if (addressSpaces)
    space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](ArrayRef<int64_t> shape, Type elem) -> Value {
    return bufferization::AllocTensorOp::create(
        rw, loc, RankedTensorType::get(shape, elem), ValueRange{}, Value(),
        Value(), space);
  };
  auto zero = [&](Type type) -> Value {
    return arith::ConstantOp::create(rw, loc, rw.getZeroAttr(type));
  };
  SmallVector<linalg::LinalgOp> spread; // ops for all the block's threads
  auto fillZero = [&](Value buf) -> Value {
    auto fill = linalg::FillOp::create(
        rw, loc, zero(cast<ShapedType>(buf.getType()).getElementType()), buf);
    spread.push_back(fill);
    return fill.getResult(0);
  };
  Value acc = fillZero(shared({t->bm, t->bn}, f32));
  auto loop = scf::ForOp::create(
      rw, loc, arith::ConstantIndexOp::create(rw, loc, 0),
      arith::ConstantIndexOp::create(rw, loc, k),
      arith::ConstantIndexOp::create(rw, loc, t->bk), ValueRange{acc});
  rw.setInsertionPointToStart(loop.getBody());
  Value kk = loop.getInductionVar();
  SmallVector<OpFoldResult> zeros2(2, rw.getIndexAttr(0)),
      ones2(2, rw.getIndexAttr(1));
  // The activation tile (rows past M stay zero).
  Value as = shared({t->bm, t->bk}, f16);
  if (!fullRows)
    as = fillZero(as);
  SmallVector<OpFoldResult> aSizes = {rows, rw.getIndexAttr(t->bk)};
  Value aSlice =
      tensor::ExtractSliceOp::create(rw, loc, as, zeros2, aSizes, ones2);
  FailureOr<TilingResult> tiledA =
      cast<TilingInterface>(toF16.getOperation())
          .getTiledImplementation(rw, {i, kk}, aSizes);
  if (failed(tiledA))
    return partial.emitOpError("mma = 1: cannot tile the activations");
  auto aOp = cast<linalg::LinalgOp>(tiledA->tiledOps.front());
  aOp.getDpsInitOperand(0)->set(aSlice);
  spread.push_back(aOp);
  as = tensor::InsertSliceOp::create(rw, loc, aOp->getResult(0), as, zeros2,
                                     aSizes, ones2);
  // The weight tile, dequantized to [bk / 32, 2, 16, bn] = [bk, bn].
  Value bs4 = shared({t->bk / 32, 2, 16, t->bn}, f16);
  Value kBlock = arith::DivUIOp::create(
      rw, loc, kk, arith::ConstantIndexOp::create(rw, loc, 32));
  FailureOr<TilingResult> tiledB =
      cast<TilingInterface>(dequant->getOperation())
          .getTiledImplementation(
              rw, {j, kBlock, rw.getIndexAttr(0), rw.getIndexAttr(0)},
              {rw.getIndexAttr(t->bn), rw.getIndexAttr(t->bk / 32),
               rw.getIndexAttr(2), rw.getIndexAttr(16)});
  if (failed(tiledB))
    return partial.emitOpError("mma = 1: cannot tile the weight");
  auto bOp = cast<linalg::LinalgOp>(tiledB->tiledOps.front());
  bOp.getDpsInitOperand(0)->set(bs4);
  spread.push_back(bOp);
  Value bs = tensor::CollapseShapeOp::create(
      rw, loc, RankedTensorType::get({t->bk, t->bn}, f16), bOp->getResult(0),
      SmallVector<ReassociationIndices>{{0, 1, 2}, {3}});
  auto mm = linalg::MatmulOp::create(rw, loc, TypeRange{acc.getType()},
                                     ValueRange{as, bs},
                                     ValueRange{loop.getRegionIterArgs()[0]});
  scf::YieldOp::create(rw, loc, mm->getResult(0));
  rw.setInsertionPointAfter(loop);
  SmallVector<OpFoldResult> outOffsets = {i, j},
                            outSizes = {rows, rw.getIndexAttr(t->bn)};
  Value outSlice =
      tensor::ExtractSliceOp::create(rw, loc, out, outOffsets, outSizes, ones2);
  Value accSlice = tensor::ExtractSliceOp::create(rw, loc, loop.getResult(0),
                                                  zeros2, outSizes, ones2);
  auto copy = linalg::CopyOp::create(rw, loc, accSlice, outSlice);
  rw.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, copy->getResult(0), out,
                                        outOffsets, outSizes, ones2);
  spread.push_back(copy);

  // The old generics and the full-size conversions are replaced.
  SmallVector<Operation *> fills;
  for (Value v :
       {sum.getDpsInitOperand(0)->get(), partial.getDpsInitOperand(0)->get()})
    if (auto fill = v.getDefiningOp<linalg::FillOp>())
      fills.push_back(fill);
  rw.replaceOp(sum, forall->getResults());
  rw.eraseOp(partial);
  rw.eraseOp(*dequant);
  rw.eraseOp(toF16);
  for (Operation *fill : fills)
    if (fill->use_empty())
      rw.eraseOp(fill);

  // Threads: the fills, conversions and copy; warps: the fragments.
  for (linalg::LinalgOp op : spread) {
    int64_t vector = op == bOp ? 1 : schedule.getVector().value_or(1);
    if (failed(threadLevel(op, flatPlan(op, threads, vector))))
      return failure();
  }
  scf::SCFTilingOptions warps;
  warps.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  warps.setNumThreads(indexAttrs(rw, {t->warpsM, t->warpsN, 0}));
  warps.setMapping(linearMapping(ctx, 2, Level::Warp));
  auto perWarp =
      tileLinalgOp(rw, cast<linalg::LinalgOp>(mm.getOperation()), warps);
  if (failed(perWarp))
    return partial.emitOpError("mma = 1: cannot distribute over warps");
  scf::SCFTilingOptions fragments;
  fragments.setTileSizes(indexAttrs(rw, {16, 16, 0}));
  auto perFragment = tileLinalgOp(rw, perWarp->first, fragments);
  if (failed(perFragment))
    return partial.emitOpError("mma = 1: cannot tile into 16x16 fragments");
  perFragment->first->setAttr("haqa.mma", rw.getUnitAttr());
  return success();
}

/// kv_write's loop over new rows as a forall over blocks (one row each),
/// whose row copy is a linalg.copy for the block's threads.
LogicalResult kvWriteToForall(IRRewriter &rw, scf::ForOp loop,
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
  forall->setAttr("haqa.threads",
                  rw.getDenseI64ArrayAttr({kKVWriteThreads}));
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
    offsets.push_back(isa<Value>(o) ? OpFoldResult(map.lookupOrDefault(
                                          cast<Value>(o)))
                                    : o);
  sizes = insert.getMixedSizes();
  strides = insert.getMixedStrides();
  auto srcType = cast<RankedTensorType>(src.getType());
  Value target = tensor::ExtractSliceOp::create(rw, loc, srcType, dest,
                                                offsets, sizes, strides);
  auto copy = linalg::CopyOp::create(rw, loc, src, target);
  rw.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, copy->getResult(0), dest,
                                        offsets, sizes, strides);
  rw.replaceOp(loop, forall->getResults());
  return scheduler.threadLevel(copy, flatPlan(copy, kKVWriteThreads, 1));
}

struct HAQAGPUApplySchedulePass
    : haqa::impl::HAQAGPUApplySchedulePassBase<HAQAGPUApplySchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rw(&getContext());
    Scheduler scheduler(rw, defaultThreads, sharedMemoryBytes, limitSource,
                        addressSpaces);
    SmallVector<scf::ForOp> kvLoops;
    getOperation().walk([&](scf::ForOp loop) {
      if (auto k = loop->getAttrOfType<StringAttr>("haqa.kernel");
          k && k.getValue() == "kv_write")
        kvLoops.push_back(loop);
    });
    // Matmuls on tensor cores (mma = 1): the partial-sum generic of a
    // blocked matmul and the generic summing its lanes.
    SmallVector<std::pair<linalg::GenericOp, linalg::GenericOp>> mmas;
    DenseSet<Operation *> inMma;
    WalkResult bad = getOperation().walk([&](linalg::LinalgOp op) {
      auto s = op->getAttrOfType<ScheduleAttr>("haqa.schedule");
      if (!s || s.getMma().value_or(0) != 1 || isa<linalg::FillOp>(op) ||
          inMma.contains(op))
        return WalkResult::advance();
      auto partial = dyn_cast<linalg::GenericOp>(op.getOperation());
      linalg::GenericOp sum = laneSumOf(partial);
      if (!sum) {
        op.emitOpError("mma = 1 applies only to matmuls with K a multiple "
                       "of 32 (GGUF blocks)");
        return WalkResult::interrupt();
      }
      mmas.push_back({partial, sum});
      inMma.insert(sum);
      return WalkResult::advance();
    });
    if (bad.wasInterrupted())
      return signalPassFailure();
    for (auto [partial, sum] : mmas)
      if (failed(scheduler.runMma(partial, sum)))
        return signalPassFailure();

    // Blocked matmuls on CUDA cores: the partial sums and their sum in one
    // kernel where a block can hold every lane of its columns.
    SmallVector<std::pair<linalg::GenericOp, linalg::GenericOp>> blocked;
    getOperation().walk([&](linalg::GenericOp partial) {
      if (partial->getParentOfType<scf::ForallOp>())
        return;
      if (linalg::GenericOp sum = laneSumOf(partial);
          sum && !sum->getParentOfType<scf::ForallOp>())
        blocked.push_back({partial, sum});
    });
    for (auto [partial, sum] : blocked)
      if (failed(scheduler.runFusedSum(partial, sum)))
        return signalPassFailure();

    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<scf::ForallOp>() && op.hasPureTensorSemantics())
        ops.push_back(op);
    });
    // A fill whose one use is the one init of another op here is made in
    // that op's kernel (one launch fewer).
    DenseSet<Operation *> scheduled;
    for (linalg::LinalgOp op : ops)
      scheduled.insert(op.getOperation());
    for (linalg::LinalgOp op : ops) {
      auto fill = dyn_cast<linalg::FillOp>(op.getOperation());
      if (!fill || !fill->hasOneUse())
        continue;
      auto user = dyn_cast<linalg::LinalgOp>(*fill->getUsers().begin());
      if (user && scheduled.contains(user) && user.getNumDpsInits() == 1 &&
          user.getDpsInitOperand(0)->get() == fill.getResult(0))
        scheduler.fusedFills.insert(fill);
    }
    // (Compared by address only: a fused fill is erased or scheduled by its
    // user's run.)
    DenseSet<Operation *> fused = scheduler.fusedFills;
    for (linalg::LinalgOp op : ops) {
      if (fused.contains(op.getOperation()))
        continue;
      if (failed(scheduler.run(op)))
        return signalPassFailure();
    }
    for (scf::ForOp loop : kvLoops)
      if (failed(kvWriteToForall(rw, loop, scheduler)))
        return signalPassFailure();
  }
};

} // namespace
