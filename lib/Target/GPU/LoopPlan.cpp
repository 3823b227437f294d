//===- LoopPlan.cpp - how a linalg op's loops map to the GPU ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The loop planner of haqa-gpu-apply-schedule on plain data (loop kinds,
// ranges, the schedule's GPU fields in loop units), and its adapters that
// read those from a linalg op and its #haqa.schedule.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/LoopPlan.h"
#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Target/ScheduleUtils.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::haqa;

int64_t mlir::haqa::extentOf(int64_t range) {
  return ShapedType::isDynamic(range) ? kDynamicExtent : range;
}

int64_t mlir::haqa::evenThreads(int64_t extent, int64_t per, int64_t limit) {
  int64_t want = llvm::divideCeil(extent, per);
  int64_t t = std::clamp<int64_t>(want, 1, limit);
  if (extent == kDynamicExtent || extent % per != 0 || want % t == 0)
    return t;
  for (int64_t d = t; d * 2 >= t; --d)
    if (want % d == 0)
      return d;
  return t;
}

SmallVector<int64_t> mlir::haqa::blockThreads(ScheduleAttr schedule,
                                              int64_t defaultThreads) {
  if (schedule && !schedule.getThreads().empty())
    return SmallVector<int64_t>(schedule.getThreads());
  return {defaultThreads};
}

LoopPlan mlir::haqa::planLoops(const PlanInput &in) {
  LoopPlan p;
  unsigned n = in.iters.size();
  p.numLoops = n;
  p.iters = in.iters;
  p.ranges = in.ranges;
  p.loopOrder = in.loopOrder;
  ArrayRef<int64_t> threads = in.threads;
  for (int64_t t : threads)
    p.totalThreads *= t;
  p.vector = in.vector;
  p.unroll = in.unroll;
  p.grid = in.grid;

  // User tiles, at most the whole loop.
  SmallVector<int64_t> userTile(n, 0);
  for (unsigned l = 0; l < n && l < in.tile.size(); ++l)
    if (in.tile[l])
      userTile[l] = std::min(in.tile[l], extentOf(p.ranges[l]));

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
    p.blockTile[l] =
        userTile[l] ? userTile[l] : std::min(t * per, extentOf(p.ranges[l]));
  }
  for (unsigned l = 0; l < n; ++l)
    if (p.iters[l] != utils::IteratorType::parallel && userTile[l] &&
        userTile[l] < extentOf(p.ranges[l]))
      p.kStep[l] = userTile[l];
  return p;
}

/// `op`'s haqa.operands (the kernel operand each of its operands reads),
/// empty without one.
static SmallVector<int64_t> kernelOperandsOf(Operation *op) {
  if (auto a = op->getAttrOfType<DenseI64ArrayAttr>(kOperandsAttrName))
    return SmallVector<int64_t>(a.asArrayRef());
  return {};
}

FailureOr<LoopPlan> mlir::haqa::planLoops(linalg::LinalgOp op,
                                          ScheduleAttr schedule,
                                          int64_t defaultThreads) {
  PlanInput in;
  in.iters = op.getIteratorTypesArray();
  in.ranges = op.getStaticLoopRanges();
  FailureOr<KernelLoops> loops = getKernelLoops(op, schedule);
  if (failed(loops))
    return failure();
  in.loopOrder = loops->loopOrder;
  in.threads = blockThreads(schedule, defaultThreads);
  // `tile` in units of each kernel dimension's most significant loop.
  in.tile = loops->tileInLoopUnits(
      schedule ? schedule.getTile() : ArrayRef<int64_t>{}, in.ranges);
  if (schedule) {
    in.vector = schedule.getVector().value_or(1);
    in.unroll = schedule.getUnroll().value_or(1);
    in.grid.assign(schedule.getGrid().begin(), schedule.getGrid().end());
  }
  LoopPlan p = planLoops(in);
  if (schedule)
    p.placement.assign(schedule.getPlacement().begin(),
                       schedule.getPlacement().end());
  p.operands = kernelOperandsOf(op);
  return p;
}

LoopPlan mlir::haqa::flatPlan(ArrayRef<utils::IteratorType> iters,
                              ArrayRef<int64_t> ranges, int64_t threads,
                              int64_t vector) {
  LoopPlan cp;
  cp.numLoops = iters.size();
  cp.iters.assign(iters.begin(), iters.end());
  cp.ranges.assign(ranges.begin(), ranges.end());
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

LoopPlan mlir::haqa::flatPlan(linalg::LinalgOp op, int64_t threads,
                              int64_t vector) {
  return flatPlan(op.getIteratorTypesArray(), op.getStaticLoopRanges(), threads,
                  vector);
}
