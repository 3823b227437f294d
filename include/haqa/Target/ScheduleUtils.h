//===- ScheduleUtils.h - transforms shared by every target ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The upstream transformations the schedule fields become on every target:
// TilingInterface tiling, the linalg vectorizer and loop unrolling.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TARGET_SCHEDULEUTILS_H
#define HAQA_TARGET_SCHEDULEUTILS_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::haqa {

/// How a linalg op of a kernel's lowering maps to the kernel's iteration
/// dimensions (what the schedule's `tile` and `order` index): from the op's
/// `haqa.loop_dims` (identity without it) and `haqa.loop_strides`.
struct KernelLoops {
  /// The linalg loops of each kernel dimension (a dimension may have none:
  /// the softmax rows of attention do not walk head_dim).
  SmallVector<SmallVector<unsigned>> loopsOf;
  /// Kernel dimensions, outermost first, as `order` gives them (identity
  /// when empty).
  SmallVector<int64_t> order;
  /// The op's loops in `order`, outermost first.
  SmallVector<unsigned> loopOrder;
  DenseI64ArrayAttr strides;

  /// `tile` in units of each kernel dimension's most significant loop (K as
  /// blocks x 32 values is tiled in whole blocks: a K tile of 64 is two
  /// blocks), per loop; 0 for loops it does not tile. Sizes of dynamic
  /// loops count as 1 (`ranges` are the op's static loop ranges).
  SmallVector<int64_t> tileInLoopUnits(ArrayRef<int64_t> tile,
                                       ArrayRef<int64_t> ranges) const;
};

/// The loop map of `op` under `schedule` (may be null); the error (on
/// `op`) names a malformed haqa.loop_dims / haqa.loop_strides or an `order`
/// of the wrong size.
FailureOr<KernelLoops> getKernelLoops(linalg::LinalgOp op,
                                      ScheduleAttr schedule);

/// Tiles `op` with `options`, replaces it, and returns the tiled op and the
/// loops (outermost first).
FailureOr<std::pair<linalg::LinalgOp, SmallVector<LoopLikeOpInterface>>>
tileLinalgOp(RewriterBase &rw, linalg::LinalgOp op,
             const scf::SCFTilingOptions &options);

/// Vectorizes `op` (a tile whose loops have at most `sizes`: dynamic loop
/// ranges are masked to them, 0 standing for 1) and replaces it. With
/// `gatherActivations`, N-d tensor.extract of activations (a rope's pair
/// partner) become contiguous loads or vector.gather (the CPU lowers them;
/// not of weights, whose strided views vector.gather cannot read).
LogicalResult vectorizeTile(RewriterBase &rw, linalg::LinalgOp op,
                            ArrayRef<int64_t> sizes,
                            bool gatherActivations = false);

/// Unrolls `loop` by `factor` when its trip count is constant (partial
/// tiles' masked vector ops do not survive the unroller's epilogue);
/// remarks and leaves it otherwise.
LogicalResult unrollStatic(scf::ForOp loop, int64_t factor);

} // namespace mlir::haqa

#endif // HAQA_TARGET_SCHEDULEUTILS_H
