//===- Normalization.cpp - rms_norm and softmax -----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa.rms_norm and haqa.softmax over the last dimension: row reductions
// (sum of squares; maximum and sum of exponentials) then an elementwise
// generic.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

namespace {
struct NormalizationLowering : KernelLowering {
  using KernelLowering::KernelLowering;
  FailureOr<Value> lower(RMSNormOp op);
  FailureOr<Value> lower(SoftmaxOp op);
};
} // namespace

/// y = x * rsqrt(mean(x^2) + eps) * w over the last dimension: a sum of
/// squares reduction, then an elementwise scale.
FailureOr<Value> NormalizationLowering::lower(RMSNormOp op) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  int64_t dim = type.getShape().back();
  FailureOr<Value> w = plainWeight(op.getWeight());
  if (failed(w))
    return failure();
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> rowSizes = tensor::getMixedSizes(b, loc, x);
  rowSizes.pop_back();
  auto rowType =
      RankedTensorType::get(type.getShape().drop_back(), b.getF32Type());
  Value rows =
      filled(tensor::EmptyOp::create(b, loc, rowSizes, b.getF32Type()), 0.0);
  AffineMap all = b.getMultiDimIdentityMap(rank);
  AffineMap row = all.dropResult(rank - 1);
  AffineMap last = AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, ctx));
  SmallVector<IteratorType> reduce(rank, kPar);
  reduce.back() = kRed;
  Value ss = generic(rowType, x, rows, {all, row}, reduce, identity(rank),
                     [](OpBuilder &nb, Location nl, ValueRange a) {
                       Value sq = arith::MulFOp::create(nb, nl, a[0], a[0]);
                       return arith::AddFOp::create(nb, nl, a[1], sq);
                     });
  float eps = op.getEpsilon().convertToFloat();
  return generic(
      type, {x, ss, *w}, emptyLike(x), {all, row, last, all},
      SmallVector<IteratorType>(rank, kPar), identity(rank),
      [dim, eps](OpBuilder &nb, Location nl, ValueRange a) {
        Value inv = arith::ConstantOp::create(
            nb, nl, nb.getF32FloatAttr(1.0f / static_cast<float>(dim)));
        Value e = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(eps));
        Value mean = arith::MulFOp::create(nb, nl, a[1], inv);
        Value r = math::RsqrtOp::create(nb, nl,
                                        arith::AddFOp::create(nb, nl, mean, e));
        Value y = arith::MulFOp::create(nb, nl, a[0], r);
        return arith::MulFOp::create(nb, nl, y, toF32(nb, nl, a[2]));
      });
}

/// Softmax over the last dimension: row maximum, row sum of exp(x - max),
/// then exp(x - max) / sum.
FailureOr<Value> NormalizationLowering::lower(SoftmaxOp op) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> rowSizes = tensor::getMixedSizes(b, loc, x);
  rowSizes.pop_back();
  auto rowType =
      RankedTensorType::get(type.getShape().drop_back(), b.getF32Type());
  Value rowsEmpty = tensor::EmptyOp::create(b, loc, rowSizes, b.getF32Type());
  AffineMap all = b.getMultiDimIdentityMap(rank);
  AffineMap row = all.dropResult(rank - 1);
  SmallVector<IteratorType> reduce(rank, kPar);
  reduce.back() = kRed;
  Value mx = generic(rowType, x,
                     filled(rowsEmpty, -std::numeric_limits<float>::infinity()),
                     {all, row}, reduce, identity(rank),
                     [](OpBuilder &nb, Location nl, ValueRange a) {
                       return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
                     });
  Value sum =
      generic(rowType, {x, mx}, filled(rowsEmpty, 0.0), {all, row, row}, reduce,
              identity(rank), [](OpBuilder &nb, Location nl, ValueRange a) {
                Value e = math::ExpOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                return arith::AddFOp::create(nb, nl, a[2], e);
              });
  return generic(type, {x, mx, sum}, emptyLike(x), {all, row, row, all},
                 SmallVector<IteratorType>(rank, kPar), identity(rank),
                 [](OpBuilder &nb, Location nl, ValueRange a) {
                   Value e = math::ExpOp::create(
                       nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                   return arith::DivFOp::create(nb, nl, e, a[2]);
                 });
}

void mlir::haqa::to_linalg::populateNormalizationPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<RMSNormOp, NormalizationLowering>,
               KernelPattern<SoftmaxOp, NormalizationLowering>>(
      patterns.getContext(), options);
}
