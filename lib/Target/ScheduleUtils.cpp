//===- ScheduleUtils.cpp - transforms shared by every target ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/ScheduleUtils.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"

using namespace mlir;

FailureOr<std::pair<linalg::LinalgOp, SmallVector<LoopLikeOpInterface>>>
mlir::haqa::tileLinalgOp(RewriterBase &rw, linalg::LinalgOp op,
                         const scf::SCFTilingOptions &options) {
  rw.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> r =
      scf::tileUsingSCF(rw, cast<TilingInterface>(op.getOperation()), options);
  if (failed(r))
    return failure();
  if (op->getNumResults())
    rw.replaceOp(op, r->replacements);
  else
    rw.eraseOp(op);
  auto tiled = dyn_cast<linalg::LinalgOp>(r->tiledOps.back());
  if (!tiled)
    return failure();
  return std::make_pair(tiled, r->loops);
}

LogicalResult mlir::haqa::vectorizeTile(RewriterBase &rw, linalg::LinalgOp op,
                                        ArrayRef<int64_t> sizes) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  unsigned n = bounds.size();
  for (unsigned l = 0; l < n; ++l)
    if (ShapedType::isDynamic(bounds[l]))
      bounds[l] = l < sizes.size() && sizes[l] ? sizes[l] : 1;
  rw.setInsertionPoint(op);
  FailureOr<linalg::VectorizationResult> v =
      linalg::vectorize(rw, op, bounds, SmallVector<bool>(n, false));
  if (failed(v))
    return failure();
  if (op->getNumResults())
    rw.replaceOp(op, v->replacements);
  else
    rw.eraseOp(op);
  return success();
}

LogicalResult mlir::haqa::unrollStatic(scf::ForOp loop, int64_t factor) {
  if (!loop.getStaticTripCount()) {
    loop.emitRemark("dynamic trip count: not unrolled");
    return success();
  }
  return loopUnrollByFactor(loop, factor);
}
