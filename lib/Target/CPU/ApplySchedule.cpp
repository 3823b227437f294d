//===- ApplySchedule.cpp - #haqa.schedule as upstream transforms -*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Each schedule field becomes one upstream transformation on the linalg
// ops of a kernel: scf.forall tiling for host threads, TilingInterface
// tiling (with interchange) for tile and order, the linalg vectorizer for
// the vector width, scf unrolling and memref.prefetch.
//
//===----------------------------------------------------------------------===//

#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Target/CPU/FastExp.h"
#include "haqa/Target/CPU/Passes.h"
#include "haqa/Target/ScheduleUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQACPUAPPLYSCHEDULEPASS
#include "haqa/Target/CPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// memref.prefetch of every weight slice read in `loop`'s body, `distance`
/// iterations ahead. A weight slice is a tensor.extract_slice of a
/// bufferization.to_tensor (the views convert-haqa-to-linalg makes).
void insertPrefetches(IRRewriter &rw, scf::ForOp loop, int64_t distance) {
  Value iv = loop.getInductionVar();
  SmallVector<tensor::ExtractSliceOp> slices;
  loop.getBody()->walk([&](tensor::ExtractSliceOp s) {
    auto src = s.getSource().getDefiningOp<bufferization::ToTensorOp>();
    if (src && llvm::any_of(s.getOffsets(), [&](Value v) {
          return v == iv ||
                 (v.getDefiningOp() &&
                  llvm::is_contained(v.getDefiningOp()->getOperands(), iv));
        }))
      slices.push_back(s);
  });
  if (slices.empty())
    return;
  rw.setInsertionPointToStart(loop.getBody());
  Location loc = loop.getLoc();
  Value ahead = arith::AddIOp::create(
      rw, loc, iv,
      arith::MulIOp::create(rw, loc, loop.getStep(),
                            arith::ConstantIndexOp::create(rw, loc, distance)));
  for (tensor::ExtractSliceOp s : slices) {
    auto src = s.getSource().getDefiningOp<bufferization::ToTensorOp>();
    IRMapping map;
    map.map(iv, ahead);
    SmallVector<Value> indices;
    for (OpFoldResult ofr : s.getMixedOffsets()) {
      if (auto attr = dyn_cast<Attribute>(ofr)) {
        indices.push_back(arith::ConstantIndexOp::create(
            rw, loc, cast<IntegerAttr>(attr).getInt()));
        continue;
      }
      Value v = cast<Value>(ofr);
      if (v == iv) {
        indices.push_back(ahead);
      } else if (Operation *def = v.getDefiningOp();
                 def && loop->isProperAncestor(def)) {
        indices.push_back(rw.clone(*def, map)->getResult(0));
      } else {
        indices.push_back(v);
      }
    }
    memref::PrefetchOp::create(rw, loc, src.getBuffer(), indices,
                               /*isWrite=*/false, /*localityHint=*/3,
                               /*isDataCache=*/true);
  }
}

/// `v` as index attributes, for tiling options.
SmallVector<OpFoldResult> sizesOf(OpBuilder &b, ArrayRef<int64_t> v) {
  return llvm::to_vector(llvm::map_range(
      v, [&](int64_t s) -> OpFoldResult { return b.getIndexAttr(s); }));
}

/// The V-wide vector step of `op`, a linalg op whose innermost loop is a
/// reduction of a static size that V divides: its other loops cut to size
/// 1, then the reduction tiled by V with partial results (a V-lane
/// accumulator, one combine per piece, one V-to-1 reduction after the
/// loop), every piece vectorized and the accumulator carried in a vector
/// register. Returns the loop over the pieces.
FailureOr<scf::ForOp> vectorizeReductionInLanes(IRRewriter &rw,
                                                linalg::LinalgOp op,
                                                int64_t vector) {
  unsigned n = op.getNumLoops();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<int64_t> outer(n, 1);
  outer.back() = 0;
  for (unsigned l = 0; l + 1 < n; ++l)
    if (!ShapedType::isDynamic(ranges[l]) && ranges[l] <= 1)
      outer[l] = 0;
  if (llvm::any_of(outer, [](int64_t t) { return t != 0; })) {
    scf::SCFTilingOptions options;
    options.setTileSizes(sizesOf(rw, outer));
    auto tiled = tileLinalgOp(rw, op, options);
    if (failed(tiled))
      return failure();
    op = tiled->first;
  }
  SmallVector<int64_t> lanes(n, 0);
  lanes.back() = vector;
  rw.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> r = scf::tileReductionUsingScf(
      rw, cast<PartialReductionOpInterface>(op.getOperation()),
      sizesOf(rw, lanes));
  if (failed(r) || r->loops.size() != 1)
    return failure();
  rw.replaceOp(op, r->replacements);
  auto loop = cast<scf::ForOp>(r->loops.front().getOperation());
  // Every piece as vectors: the accumulator's fill, the per-piece combine
  // (all loops parallel now) and the final reduction.
  SmallVector<Operation *> pieces;
  for (Value v : r->initialValues)
    if (Operation *def = v.getDefiningOp())
      pieces.push_back(def);
  llvm::append_range(pieces, r->tiledOps);
  llvm::append_range(pieces, r->mergeOps);
  for (Operation *piece : pieces) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(piece);
    if (!linalgOp)
      continue;
    SmallVector<int64_t> shape = linalgOp.getStaticLoopRanges();
    if (llvm::any_of(shape, ShapedType::isDynamic) ||
        failed(vectorizeTile(rw, linalgOp, shape,
                             /*gatherActivations=*/true)))
      return failure();
  }
  // The accumulator's transfer_read / transfer_write pair becomes a vector
  // the loop carries (once the whole-accumulator slices around them fold
  // away).
  {
    RewritePatternSet patterns(rw.getContext());
    tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns,
                                                        rw.getContext());
    tensor::InsertSliceOp::getCanonicalizationPatterns(patterns,
                                                       rw.getContext());
    GreedyRewriteConfig config;
    config.setScope(&loop.getRegion());
    if (failed(applyPatternsGreedily(loop.getRegion(), std::move(patterns),
                                     config)))
      return failure();
  }
  LoopLikeOpInterface hoisted = hoistLoopInvariantSubsets(
      rw, cast<LoopLikeOpInterface>(loop.getOperation()));
  return cast<scf::ForOp>(hoisted.getOperation());
}

LogicalResult applySchedule(IRRewriter &rw, linalg::GenericOp generic) {
  auto schedule = generic->getAttrOfType<ScheduleAttr>(kScheduleAttrName);
  unsigned n = generic.getNumLoops();
  FailureOr<KernelLoops> loops = getKernelLoops(generic, schedule);
  if (failed(loops))
    return failure();
  const SmallVector<SmallVector<unsigned>> &loopsOf = loops->loopsOf;
  ArrayRef<int64_t> order = loops->order;
  SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iters = generic.getIteratorTypesArray();
  for (MemSpace m : schedule.getPlacement())
    if (m != MemSpace::global)
      generic.emitRemark("placement other than global has no CPU lowering "
                         "yet; ignored");
  for (OperandLayout l : schedule.getLayout())
    if (l != OperandLayout::row)
      generic.emitRemark("layout other than row has no CPU lowering yet; "
                         "ignored");

  // exp = poly: MLIR's polynomial approximations in the body (exp and tanh;
  // a rope's sin and cos), before tiling and vectorization (they are plain
  // arithmetic, so the vectorizer widens them with the rest).
  // exp = fast: the short exp of FastExp.cpp for math.exp, MLIR's
  // approximations for the rest.
  if (schedule.getExp() && *schedule.getExp() != ExpKind::libm) {
    RewritePatternSet patterns(rw.getContext());
    if (*schedule.getExp() == ExpKind::fast)
      populateFastExpPattern(patterns);
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef op) {
          return op == "math.exp" || op == "math.tanh" || op == "math.sin" ||
                 op == "math.cos";
        });
    if (failed(applyPatternsGreedily(generic.getRegion(),
                                     std::move(patterns))))
      return generic.emitOpError("cannot approximate its exponentials");
  }

  linalg::LinalgOp cur = generic;

  // Host threads: the outermost parallel kernel dimension in `order`.
  int64_t threads = schedule.getCpuThreads().value_or(1);
  if (threads > 1) {
    for (int64_t kd : order) {
      if (loopsOf[kd].empty())
        continue;
      unsigned l = loopsOf[kd].front();
      if (iters[l] != utils::IteratorType::parallel ||
          (!ShapedType::isDynamic(ranges[l]) && ranges[l] < 2))
        continue;
      SmallVector<int64_t> numThreads(n, 0);
      numThreads[l] = ShapedType::isDynamic(ranges[l])
                          ? threads
                          : std::min<int64_t>(threads, ranges[l]);
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setNumThreads(sizesOf(rw, numThreads));
      auto tiled = tileLinalgOp(rw, cur, options);
      if (failed(tiled))
        return generic.emitOpError("cannot split over host threads");
      cur = tiled->first;
      break;
    }
  }

  // Tile loops in `order`.
  SmallVector<int64_t> tileSizes =
      loops->tileInLoopUnits(schedule.getTile(), ranges);
  {
    SmallVector<int64_t> curRanges = cur.getStaticLoopRanges();
    for (unsigned l = 0; l < n; ++l)
      if (!ShapedType::isDynamic(curRanges[l]) && tileSizes[l] >= curRanges[l])
        tileSizes[l] = 0;
  }
  SmallVector<int64_t> interchange(loops->loopOrder.begin(),
                                   loops->loopOrder.end());
  SmallVector<LoopLikeOpInterface> tileLoops;
  if (llvm::any_of(tileSizes, [](int64_t t) { return t != 0; })) {
    scf::SCFTilingOptions options;
    options.setTileSizes(sizesOf(rw, tileSizes));
    options.setInterchange(interchange);
    auto tiled = tileLinalgOp(rw, cur, options);
    if (failed(tiled))
      return generic.emitOpError("cannot tile with ") << schedule;
    cur = tiled->first;
    tileLoops = tiled->second;
  }

  // Prefetch in the innermost tile loop that walks a weight.
  if (int64_t distance = schedule.getPrefetch().value_or(0))
    for (LoopLikeOpInterface loop : llvm::reverse(tileLoops))
      if (auto f = dyn_cast<scf::ForOp>(loop.getOperation())) {
        insertPrefetches(rw, f, distance);
        break;
      }

  // Vector width: cut the innermost loop into V-wide pieces, vectorize.
  int64_t vector = schedule.getVector().value_or(1);
  scf::ForOp innermost;
  if (!tileLoops.empty())
    innermost = dyn_cast<scf::ForOp>(tileLoops.back().getOperation());
  if (vector > 1) {
    // One vector of V lanes along the innermost loop: every other loop of
    // the tile is cut to size 1, so vectors stay 1-D whatever the tile.
    SmallVector<int64_t> curRanges = cur.getStaticLoopRanges();
    SmallVector<int64_t> sizes(n, 1);
    sizes.back() = vector;
    for (unsigned l = 0; l < n; ++l)
      if (!ShapedType::isDynamic(curRanges[l]) && curRanges[l] <= sizes[l])
        sizes[l] = 0;
    // A reduction along the innermost loop accumulates V lanes apart and
    // reduces them once at the end (partial-reduction tiling), rather than
    // reducing each V-wide piece to one value.
    if (iters[n - 1] == utils::IteratorType::reduction &&
        !ShapedType::isDynamic(curRanges[n - 1]) &&
        curRanges[n - 1] % vector == 0 && curRanges[n - 1] > vector &&
        cur->getNumResults() == 1) {
      FailureOr<scf::ForOp> lanes = vectorizeReductionInLanes(rw, cur, vector);
      if (failed(lanes))
        return generic.emitOpError("cannot accumulate the reduction in ")
               << vector << " lanes";
      innermost = *lanes;
      int64_t unroll = schedule.getUnroll().value_or(1);
      if (unroll > 1 && failed(unrollStatic(innermost, unroll)))
        return generic.emitOpError("cannot unroll by ") << unroll;
      return success();
    }
    if (llvm::any_of(sizes, [](int64_t t) { return t != 0; })) {
      scf::SCFTilingOptions options;
      options.setTileSizes(sizesOf(rw, sizes));
      auto tiled = tileLinalgOp(rw, cur, options);
      if (failed(tiled))
        return generic.emitOpError("cannot cut the innermost loop by ")
               << vector;
      cur = tiled->first;
      innermost = cast<scf::ForOp>(tiled->second.back().getOperation());
    }
    if (failed(vectorizeTile(rw, cur, sizes, /*gatherActivations=*/true)))
      cur.emitRemark("the linalg vectorizer rejected this tile: left as "
                     "scalar loops");
  }

  // Unroll the innermost loop.
  int64_t unroll = schedule.getUnroll().value_or(1);
  if (unroll > 1 && innermost && failed(unrollStatic(innermost, unroll)))
    return generic.emitOpError("cannot unroll by ") << unroll;
  return success();
}

struct HAQACPUApplySchedulePass
    : haqa::impl::HAQACPUApplySchedulePassBase<HAQACPUApplySchedulePass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op->hasAttr(kScheduleAttrName))
        ops.push_back(op);
    });
    IRRewriter rw(&getContext());
    for (linalg::GenericOp op : ops)
      if (failed(applySchedule(rw, op)))
        return signalPassFailure();
  }
};

} // namespace
