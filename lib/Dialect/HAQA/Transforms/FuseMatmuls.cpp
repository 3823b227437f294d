//===- FuseMatmuls.cpp - neighbours into CPU matmul kernels ------*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Rewrites the rms_norm before a matmul and the swiglu / add after it into
// the matmul's fused operands when its schedule's `fuse` asks for them; see
// HAQAFuseMatmulsPass in HAQAPasses.td.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAFUSEMATMULSPASS
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// The only user of `v`, if it has exactly one.
Operation *soleUser(Value v) {
  return v.hasOneUse() ? *v.user_begin() : nullptr;
}

/// Fuses into `m` what its schedule asks for and the IR around it allows.
void fuse(MatmulOp m) {
  ScheduleAttr s = m.getScheduleAttr();
  if (!s || s.getFuse().empty() || !s.isMicroKernelDot() ||
      !m.getType().getElementType().isF32())
    return;
  Value input = m.getInput(), norm = m.getNorm(), gate = m.getGate(),
        residual = m.getResidual();
  FloatAttr epsilon = m.getEpsilonAttr();
  RMSNormOp rmsNorm;
  SmallVector<Operation *> absorbed; // after m, in order
  if (s.fuses(FuseKind::norm) && !norm) {
    auto n = input.getDefiningOp<RMSNormOp>();
    auto rows = n ? dyn_cast<RankedTensorType>(n.getInput().getType())
                  : RankedTensorType();
    if (n && rows && rows.getRank() == 2 && rows.getElementType().isF32() &&
        n.getWeight().getType().getShape().size() == 1 &&
        n.getWeight().getType().getQuant().getKind() == ElemKind::f32) {
      rmsNorm = n;
      input = n.getInput();
      norm = n.getWeight();
      epsilon = n.getEpsilonAttr();
    }
  }
  Value out = m.getResult();
  // A bias comes before the epilogues: none fuse after it (matmul_c8).
  bool biased = static_cast<bool>(m.getBias());
  if (s.fuses(FuseKind::swiglu) && !gate && !biased) {
    auto sw = dyn_cast_or_null<SwiGLUOp>(soleUser(out));
    if (sw && sw.getRhs() == out && sw.getLhs() != out) {
      gate = sw.getLhs();
      absorbed.push_back(sw);
      out = sw.getResult();
    }
  }
  if (s.fuses(FuseKind::residual) && !residual && !biased) {
    auto add = dyn_cast_or_null<AddOp>(soleUser(out));
    if (add && add.getLhs() != add.getRhs()) {
      residual = add.getLhs() == out ? add.getRhs() : add.getLhs();
      absorbed.push_back(add);
      out = add.getResult();
    }
  }
  if (!rmsNorm && absorbed.empty())
    return;
  // Where the last absorbed op was: its operands (gate, residual) and m's
  // are all defined by then.
  Operation *last = absorbed.empty() ? m.getOperation() : absorbed.back();
  OpBuilder b(last);
  auto fused =
      MatmulOp::create(b, m.getLoc(), m.getType(), input, m.getWeight(),
                       m.getBias(), norm, gate, residual, epsilon, s);
  out.replaceAllUsesWith(fused.getResult());
  for (Operation *op : llvm::reverse(absorbed))
    op->erase();
  m.erase();
  if (rmsNorm && rmsNorm->use_empty())
    rmsNorm.erase();
}

struct HAQAFuseMatmulsPass
    : haqa::impl::HAQAFuseMatmulsPassBase<HAQAFuseMatmulsPass> {
  void runOnOperation() override {
    SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](MatmulOp m) { matmuls.push_back(m); });
    for (MatmulOp m : matmuls)
      fuse(m);
  }
};

} // namespace
