//===- Elementwise.cpp - silu, swiglu, add and mul -------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The elementwise kernels (haqa.silu, haqa.swiglu, haqa.add, haqa.mul): one
// identity-map parallel generic each.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

namespace {

/// silu(x) = x / (1 + exp(-x)).
Value silu(OpBuilder &nb, Location nl, Value x) {
  Value one = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1.0));
  Value neg = arith::NegFOp::create(nb, nl, x);
  Value e = math::ExpOp::create(nb, nl, neg);
  Value d = arith::AddFOp::create(nb, nl, one, e);
  return arith::DivFOp::create(nb, nl, x, d);
}

struct ElementwiseLowering : KernelLowering {
  using KernelLowering::KernelLowering;

  FailureOr<Value> lower(SiLUOp op) {
    return elementwise(op.getInput(), op.getInput(),
                       [&](OpBuilder &nb, Location nl, ValueRange a) {
                         return silu(nb, nl, a[0]);
                       });
  }

  /// silu(gate) * up.
  FailureOr<Value> lower(SwiGLUOp op) {
    return elementwise({op.getLhs(), op.getRhs()}, op.getLhs(),
                       [&](OpBuilder &nb, Location nl, ValueRange a) {
                         return arith::MulFOp::create(nb, nl,
                                                      silu(nb, nl, a[0]), a[1]);
                       });
  }

  FailureOr<Value> lower(AddOp op) {
    return elementwise({op.getLhs(), op.getRhs()}, op.getLhs(),
                       [&](OpBuilder &nb, Location nl, ValueRange a) {
                         return arith::AddFOp::create(nb, nl, a[0], a[1]);
                       });
  }

  FailureOr<Value> lower(MulOp op) {
    return elementwise({op.getLhs(), op.getRhs()}, op.getLhs(),
                       [&](OpBuilder &nb, Location nl, ValueRange a) {
                         return arith::MulFOp::create(nb, nl, a[0], a[1]);
                       });
  }
};

} // namespace

void mlir::haqa::to_linalg::populateElementwisePatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<SiLUOp, ElementwiseLowering>,
               KernelPattern<SwiGLUOp, ElementwiseLowering>,
               KernelPattern<AddOp, ElementwiseLowering>,
               KernelPattern<MulOp, ElementwiseLowering>>(patterns.getContext(),
                                                          options);
}
