//===- LoopPlan.h - how a linalg op's loops map to the GPU ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The loop planner of haqa-gpu-apply-schedule: from a linalg op's loops
// (iterator kinds and static ranges) and its schedule's GPU fields, the
// block tile of each loop, the K steps of the reduction loops, the threads
// along each parallel loop and the per-thread vector width. The planner
// works on plain data (PlanInput), so it is tested without IR; planLoops
// and flatPlan on a linalg op gather that data from the op and its
// #haqa.schedule.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TARGET_GPU_LOOPPLAN_H
#define HAQA_TARGET_GPU_LOOPPLAN_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

namespace mlir::haqa {

/// The extent a dynamic loop range counts as (thread counts, block tiles).
constexpr int64_t kDynamicExtent = 1 << 20;

/// `range` (a static loop range, or ShapedType::kDynamic) as an extent.
int64_t extentOf(int64_t range);

/// How one linalg op's loops map to the GPU.
struct LoopPlan {
  unsigned numLoops = 0;
  SmallVector<utils::IteratorType> iters;
  SmallVector<int64_t> ranges;     ///< static ranges (dynamic: ShapedType)
  SmallVector<unsigned> loopOrder; ///< loops, outermost first (`order`)
  SmallVector<int64_t> blockTile;  ///< per loop; 0: whole range
  SmallVector<int64_t> kStep;      ///< per reduction loop; 0: whole range
  SmallVector<int64_t> threadsPer; ///< per parallel loop; 0: none
  int64_t vector = 1, unroll = 1;
  int64_t totalThreads = 1;
  SmallVector<int64_t> grid;
  /// The schedule's `placement` and the op's haqa.operands (the kernel
  /// operand each of its operands reads): where each operand is staged.
  /// Taken from the IR; the planner leaves them empty.
  SmallVector<MemSpace> placement;
  SmallVector<int64_t> operands;
};

/// What the planner reads: one linalg op's loops and its schedule's GPU
/// fields, per loop of the op.
struct PlanInput {
  SmallVector<utils::IteratorType> iters; ///< per loop
  SmallVector<int64_t> ranges;     ///< static ranges (ShapedType::kDynamic)
  SmallVector<unsigned> loopOrder; ///< loops, outermost first (`order`)
  /// `tile` per loop, in units of the loop (KernelLoops::tileInLoopUnits);
  /// 0: none. Empty: no tile.
  SmallVector<int64_t> tile;
  /// The block's thread counts: [n] or [x, y, z] (blockThreads).
  SmallVector<int64_t> threads = {1};
  int64_t vector = 1, unroll = 1;
  SmallVector<int64_t> grid;
};

/// Threads for a loop of `extent` elements, `per` each, at most `limit`:
/// the most that split it into equal whole pieces when that is at least
/// half of what could be used (no partial tiles, no dynamic sizes), else
/// as many as there are pieces.
int64_t evenThreads(int64_t extent, int64_t per, int64_t limit);

/// The block's thread counts: the schedule's `threads`, else one dimension
/// of `defaultThreads`.
SmallVector<int64_t> blockThreads(ScheduleAttr schedule,
                                  int64_t defaultThreads);

/// The plan of one op (see haqa-gpu-apply-schedule's description): threads
/// go to the parallel loops innermost (in `loopOrder`) first, the
/// innermost loop of all giving each thread `vector` elements; with one
/// thread count the threads fill the loops in turn, with [x, y, z] x goes
/// to the innermost parallel loop, y to the next, ... A loop's block tile
/// is its `tile`, else what its threads cover; a reduction loop's `tile`
/// smaller than the loop is its K step.
LoopPlan planLoops(const PlanInput &in);

/// The plan of `op` under `schedule` (may be null; threads then
/// `defaultThreads`). Fails (the error on `op`) where the op's loop map
/// does not match the schedule (getKernelLoops).
FailureOr<LoopPlan> planLoops(linalg::LinalgOp op, ScheduleAttr schedule,
                              int64_t defaultThreads);

/// The plan of a copy (or any all-parallel op) with loops `iters` over
/// `ranges`, run by `threads` threads of one block: innermost loop first,
/// `vector` wide where it divides the innermost range.
LoopPlan flatPlan(ArrayRef<utils::IteratorType> iters, ArrayRef<int64_t> ranges,
                  int64_t threads, int64_t vector);

/// flatPlan of `op`'s loops.
LoopPlan flatPlan(linalg::LinalgOp op, int64_t threads, int64_t vector);

} // namespace mlir::haqa

#endif // HAQA_TARGET_GPU_LOOPPLAN_H
