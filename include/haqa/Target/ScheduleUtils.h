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

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::haqa {

/// Tiles `op` with `options`, replaces it, and returns the tiled op and the
/// loops (outermost first).
FailureOr<std::pair<linalg::LinalgOp, SmallVector<LoopLikeOpInterface>>>
tileLinalgOp(RewriterBase &rw, linalg::LinalgOp op,
             const scf::SCFTilingOptions &options);

/// Vectorizes `op` (a tile whose loops have at most `sizes`: dynamic loop
/// ranges are masked to them, 0 standing for 1) and replaces it.
LogicalResult vectorizeTile(RewriterBase &rw, linalg::LinalgOp op,
                            ArrayRef<int64_t> sizes);

/// Unrolls `loop` by `factor` when its trip count is constant (partial
/// tiles' masked vector ops do not survive the unroller's epilogue);
/// remarks and leaves it otherwise.
LogicalResult unrollStatic(scf::ForOp loop, int64_t factor);

} // namespace mlir::haqa

#endif // HAQA_TARGET_SCHEDULEUTILS_H
