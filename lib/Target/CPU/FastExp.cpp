//===- FastExp.cpp - exp = fast: a short exp in plain arithmetic -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// math.exp on f32 (scalar or vector) as
//   x' = clamp(x, -87.33654, 88.72283)      (e^x' stays a normal float)
//   n  = roundeven(x' * log2(e))
//   r  = x' - n ln2   (ln2 split in a high and a low part, two FMAs)
//   p  = 1 + r (1 + r (1/2 + r (1/6 + r (1/24 + r (1/120 + r / 720)))))
//   e^x = p * 2^n, by adding n to p's exponent bits
// with 0 below the clamp (-inf included) and NaN passed through: about 19
// operations, where MLIR's polynomial approximation (exp = poly) takes
// about 25 with its own clamps and a split of the exponent into two powers
// of two. |r| <= ln2 / 2, so the Taylor polynomial's truncation is under
// 2e-7 relative; no subnormal results (0 below e^-87.34), and e^88.73 and
// above is FLT_MAX rather than infinity.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/CPU/FastExp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;

namespace {

struct FastExpPattern : OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::ExpOp op,
                                PatternRewriter &rw) const override {
    Type type = op.getType();
    auto vec = dyn_cast<VectorType>(type);
    if (!getElementTypeOrSelf(type).isF32())
      return rw.notifyMatchFailure(op, "not f32");
    Location loc = op.getLoc();
    Type i32 = rw.getI32Type();
    Type intType = vec ? Type(vec.clone(i32)) : i32;
    // A scalar constant, or its splat in the vector shape of `type`.
    auto constant = [&](TypedAttr a) -> Value {
      if (vec)
        a = DenseElementsAttr::get(vec.clone(a.getType()), a);
      return arith::ConstantOp::create(rw, loc, a);
    };
    auto f = [&](float v) { return constant(rw.getF32FloatAttr(v)); };
    auto fma = [&](Value a, Value b, Value c) -> Value {
      return math::FmaOp::create(rw, loc, a, b, c);
    };
    // NaN is passed through by the last select, so the clamp need not
    // propagate it (maxnum / minnum are one instruction each on x86).
    Value x = op.getOperand();
    Value lo = f(-87.33654f);
    Value xc = arith::MinNumFOp::create(
        rw, loc, arith::MaxNumFOp::create(rw, loc, x, lo), f(88.72283f));
    Value n = math::RoundEvenOp::create(
        rw, loc, arith::MulFOp::create(rw, loc, xc, f(1.44269504f)));
    Value negN = arith::NegFOp::create(rw, loc, n);
    // ln2 = 0.693145752 (exact in 16 bits) + 1.42860677e-6.
    Value r = fma(negN, f(0.693145752f), xc);
    r = fma(negN, f(1.42860677e-6f), r);
    Value p = f(1.0f / 720.0f);
    for (float c : {1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f})
      p = fma(p, r, f(c));
    Value scale = arith::ShLIOp::create(
        rw, loc, arith::FPToSIOp::create(rw, loc, intType, n),
        constant(rw.getI32IntegerAttr(23)));
    Value bits = arith::AddIOp::create(
        rw, loc, arith::BitcastOp::create(rw, loc, intType, p), scale);
    Value result = arith::BitcastOp::create(rw, loc, type, bits);
    // Below the clamp (-inf included: a masked score) exp is 0, as expf's
    // underflow; NaN stays NaN.
    Value under =
        arith::CmpFOp::create(rw, loc, arith::CmpFPredicate::OLT, x, lo);
    result = arith::SelectOp::create(rw, loc, under, f(0.0f), result);
    Value isNaN =
        arith::CmpFOp::create(rw, loc, arith::CmpFPredicate::UNO, x, x);
    rw.replaceOpWithNewOp<arith::SelectOp>(op, isNaN, x, result);
    return success();
  }
};

} // namespace

void mlir::haqa::populateFastExpPattern(RewritePatternSet &patterns) {
  patterns.add<FastExpPattern>(patterns.getContext());
}
