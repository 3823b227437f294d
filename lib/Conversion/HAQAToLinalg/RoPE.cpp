//===- RoPE.cpp - haqa.rope as a linalg generic -----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa.rope: one parallel generic rotating each pair of a head by its
// position's angle, with the frequencies (and sign) as constant tables.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

namespace {
struct RoPELowering : KernelLowering {
  using KernelLowering::KernelLowering;
  FailureOr<Value> lower(RoPEOp op);
};
} // namespace

/// y[t, h, d] = x[t, h, d] * cos(p_t f_d) + sign_d * x[t, h, partner(d)] *
/// sin(p_t f_d), with f_d the frequency of d's pair (a constant table, freq
/// factors divided in) and partner(d) the other member of the pair:
/// d xor 1 interleaved, (d + D/2) mod D for the half style. The partner is
/// read with tensor.extract in the body: an indexing map with `mod` would
/// give tiling wrong slice bounds.
FailureOr<Value> RoPELowering::lower(RoPEOp op) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t hd = type.getDimSize(2);
  bool interleaved = op.getStyle() == RoPEStyle::interleaved;
  SmallVector<float> freq(hd), sign(hd);
  for (int64_t dd = 0; dd < hd; ++dd) {
    int64_t pair = interleaved ? dd / 2 : dd % (hd / 2);
    bool first = interleaved ? dd % 2 == 0 : dd < hd / 2;
    freq[dd] = static_cast<float>(getRoPEFrequency(op, pair, hd));
    sign[dd] = first ? -1.0f : 1.0f;
  }
  auto tableType = RankedTensorType::get({hd}, b.getF32Type());
  Value freqs = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType, ArrayRef<float>(freq)));
  Value signs = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType, ArrayRef<float>(sign)));
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap all = b.getMultiDimIdentityMap(3);
  SmallVector<Value> ins = {x, op.getPositions(), freqs, signs};
  SmallVector<AffineMap> maps = {all, AffineMap::get(3, 0, d(0)),
                                 AffineMap::get(3, 0, d(2)),
                                 AffineMap::get(3, 0, d(2))};
  bool hasFactors = static_cast<bool>(op.getFreqFactors());
  Value factors;
  if (hasFactors) {
    FailureOr<Value> f = plainWeight(op.getFreqFactors());
    if (failed(f))
      return failure();
    factors = *f;
  }
  maps.push_back(all);
  return generic(
      type, ins, emptyLike(x), maps, {kPar, kPar, kPar}, {0, 1, 2},
      [&, hasFactors, interleaved, hd](OpBuilder &nb, Location nl,
                                       ValueRange a) {
        Value t = linalg::IndexOp::create(nb, nl, 0);
        Value h = linalg::IndexOp::create(nb, nl, 1);
        Value dd = linalg::IndexOp::create(nb, nl, 2);
        Value partner =
            interleaved
                ? arith::XOrIOp::create(
                      nb, nl, dd, arith::ConstantIndexOp::create(nb, nl, 1))
                      .getResult()
                : arith::RemUIOp::create(
                      nb, nl,
                      arith::AddIOp::create(
                          nb, nl, dd,
                          arith::ConstantIndexOp::create(nb, nl, hd / 2)),
                      arith::ConstantIndexOp::create(nb, nl, hd))
                      .getResult();
        Value other =
            tensor::ExtractOp::create(nb, nl, x, ValueRange{t, h, partner});
        Value pos = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[1]);
        Value f = a[2];
        if (hasFactors) {
          // The factor of d's pair: d / 2 interleaved, d mod D/2 half.
          Value pair =
              interleaved
                  ? arith::DivUIOp::create(
                        nb, nl, dd, arith::ConstantIndexOp::create(nb, nl, 2))
                        .getResult()
                  : arith::RemUIOp::create(
                        nb, nl, dd,
                        arith::ConstantIndexOp::create(nb, nl, hd / 2))
                        .getResult();
          Value factor = tensor::ExtractOp::create(nb, nl, factors, pair);
          f = arith::DivFOp::create(nb, nl, f, toF32(nb, nl, factor));
        }
        Value angle = arith::MulFOp::create(nb, nl, pos, f);
        Value c = math::CosOp::create(nb, nl, angle);
        Value s = math::SinOp::create(nb, nl, angle);
        Value y = arith::MulFOp::create(nb, nl, a[0], c);
        Value o = arith::MulFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, other, s), a[3]);
        return arith::AddFOp::create(nb, nl, y, o);
      });
}

void mlir::haqa::to_linalg::populateRoPEPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<RoPEOp, RoPELowering>>(patterns.getContext(),
                                                    options);
}
