//===- ScheduleUtils.cpp - transforms shared by every target ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/ScheduleUtils.h"

#include "haqa/Conversion/HAQAToLinalg/Contract.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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
                                        ArrayRef<int64_t> sizes,
                                        bool gatherActivations) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  unsigned n = bounds.size();
  for (unsigned l = 0; l < n; ++l)
    if (ShapedType::isDynamic(bounds[l]))
      bounds[l] = l < sizes.size() && sizes[l] ? sizes[l] : 1;
  rw.setInsertionPoint(op);
  // Weights' views are strided (a Q8_0 scale every 34 bytes): no gathers.
  bool ndExtract = gatherActivations;
  op->walk([&](tensor::ExtractOp e) {
    Value src = e.getTensor();
    while (auto slice = src.getDefiningOp<tensor::ExtractSliceOp>())
      src = slice.getSource();
    if (src.getDefiningOp<bufferization::ToTensorOp>())
      ndExtract = false;
  });
  FailureOr<linalg::VectorizationResult> v =
      linalg::vectorize(rw, op, bounds, SmallVector<bool>(n, false),
                        ndExtract);
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

FailureOr<mlir::haqa::KernelLoops>
mlir::haqa::getKernelLoops(linalg::LinalgOp op, ScheduleAttr schedule) {
  unsigned n = op.getNumLoops();
  SmallVector<int64_t> loopDims(n);
  if (auto dims = op->getAttrOfType<DenseI64ArrayAttr>(kLoopDimsAttrName))
    loopDims.assign(dims.asArrayRef().begin(), dims.asArrayRef().end());
  else
    for (unsigned i = 0; i < n; ++i)
      loopDims[i] = i;
  if (loopDims.size() != n)
    return op.emitOpError("haqa.loop_dims does not match the loops");
  KernelLoops k;
  k.strides = op->getAttrOfType<DenseI64ArrayAttr>(kLoopStridesAttrName);
  if (k.strides && k.strides.size() != static_cast<int64_t>(n))
    return op.emitOpError("haqa.loop_strides does not match the loops");
  int64_t kernelDims = n ? *llvm::max_element(loopDims) + 1 : 0;
  if (schedule)
    kernelDims = std::max<int64_t>(kernelDims, schedule.getOrder().size());
  k.loopsOf.resize(kernelDims);
  for (unsigned l = 0; l < n; ++l)
    k.loopsOf[loopDims[l]].push_back(l);
  if (schedule)
    k.order.assign(schedule.getOrder().begin(), schedule.getOrder().end());
  if (k.order.empty())
    for (int64_t d = 0; d < kernelDims; ++d)
      k.order.push_back(d);
  if (static_cast<int64_t>(k.order.size()) != kernelDims)
    return op.emitOpError("schedule order has ")
           << k.order.size() << " dimensions, the kernel " << kernelDims;
  for (int64_t kd : k.order)
    for (unsigned l : k.loopsOf[kd])
      k.loopOrder.push_back(l);
  return k;
}

SmallVector<int64_t>
mlir::haqa::KernelLoops::tileInLoopUnits(ArrayRef<int64_t> tile,
                                         ArrayRef<int64_t> ranges) const {
  SmallVector<int64_t> sizes(ranges.size(), 0);
  for (int64_t kd = 0;
       kd < static_cast<int64_t>(loopsOf.size()) &&
       kd < static_cast<int64_t>(tile.size());
       ++kd) {
    if (loopsOf[kd].empty())
      continue;
    // The most significant loop of the dimension, in units of its step:
    // haqa.loop_strides where the lowering gives them, row-major otherwise.
    unsigned first = loopsOf[kd].front();
    int64_t inner = 1;
    if (strides) {
      for (unsigned l : loopsOf[kd])
        if (strides[l] > strides[first])
          first = l;
      inner = strides[first];
    } else {
      for (unsigned l : ArrayRef(loopsOf[kd]).drop_front())
        inner *= ShapedType::isDynamic(ranges[l]) ? 1 : ranges[l];
    }
    sizes[first] = std::max<int64_t>(1, (tile[kd] + inner - 1) / inner);
  }
  return sizes;
}
