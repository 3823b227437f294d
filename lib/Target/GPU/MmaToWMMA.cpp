//===- MmaToWMMA.cpp - fragment matmuls to gpu.subgroup_mma ops -*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUMMATOWMMAPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

constexpr int64_t kFragment = 16;

/// The leading dimension (row stride) of a row-major 2-d memref with a
/// static stride and unit inner stride.
FailureOr<int64_t> leadDimension(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  if (!type || type.getRank() != 2)
    return failure();
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides[1] != 1 ||
      ShapedType::isDynamic(strides[0]))
    return failure();
  return strides[0];
}

LogicalResult convert(RewriterBase &rw, linalg::MatmulOp op) {
  Value a = op.getDpsInputOperand(0)->get(),
        b = op.getDpsInputOperand(1)->get();
  Value c = op.getDpsInitOperand(0)->get();
  auto aType = dyn_cast<MemRefType>(a.getType());
  auto bType = dyn_cast<MemRefType>(b.getType());
  auto cType = dyn_cast<MemRefType>(c.getType());
  if (!aType || !bType || !cType)
    return op.emitOpError("haqa.mma: expected memrefs (run after "
                          "bufferization)");
  int64_t k = aType.getDimSize(1);
  if (aType.getShape() != ArrayRef<int64_t>{kFragment, k} ||
      bType.getShape() != ArrayRef<int64_t>{k, kFragment} ||
      cType.getShape() != ArrayRef<int64_t>{kFragment, kFragment} ||
      ShapedType::isDynamic(k) || k % kFragment != 0)
    return op.emitOpError("haqa.mma: expected a 16xK by Kx16 fragment "
                          "matmul with K a multiple of 16");
  if (!aType.getElementType().isF16() || !bType.getElementType().isF16() ||
      !cType.getElementType().isF32())
    return op.emitOpError("haqa.mma: expected f16 inputs and f32 sums");
  FailureOr<int64_t> lda = leadDimension(a), ldb = leadDimension(b),
                     ldc = leadDimension(c);
  if (failed(lda) || failed(ldb) || failed(ldc))
    return op.emitOpError("haqa.mma: operands need static row strides and "
                          "contiguous rows");
  Location loc = op.getLoc();
  rw.setInsertionPoint(op);
  auto fragment = [&](Type elem, StringRef which) {
    return gpu::MMAMatrixType::get({kFragment, kFragment}, elem, which);
  };
  Value zero = arith::ConstantIndexOp::create(rw, loc, 0);
  auto load = [&](Value src, Value row, Value col, int64_t ld,
                  gpu::MMAMatrixType type) -> Value {
    return gpu::SubgroupMmaLoadMatrixOp::create(
        rw, loc, type, src, ValueRange{row, col}, rw.getIndexAttr(ld),
        UnitAttr());
  };
  Type f16 = aType.getElementType(), f32 = cType.getElementType();
  Value acc = load(c, zero, zero, *ldc, fragment(f32, "COp"));
  auto loop = scf::ForOp::create(
      rw, loc, zero, arith::ConstantIndexOp::create(rw, loc, k),
      arith::ConstantIndexOp::create(rw, loc, kFragment), ValueRange{acc});
  {
    OpBuilder::InsertionGuard g(rw);
    rw.setInsertionPointToStart(loop.getBody());
    Value kk = loop.getInductionVar();
    Value fa = load(a, zero, kk, *lda, fragment(f16, "AOp"));
    Value fb = load(b, kk, zero, *ldb, fragment(f16, "BOp"));
    Value sum = gpu::SubgroupMmaComputeOp::create(
        rw, loc, fa, fb, loop.getRegionIterArgs()[0], UnitAttr(), UnitAttr());
    scf::YieldOp::create(rw, loc, sum);
  }
  rw.setInsertionPointAfter(loop);
  gpu::SubgroupMmaStoreMatrixOp::create(rw, loc, loop.getResult(0), c,
                                        ValueRange{zero, zero},
                                        rw.getIndexAttr(*ldc), UnitAttr());
  rw.eraseOp(op);
  return success();
}

struct HAQAGPUMmaToWMMAPass
    : haqa::impl::HAQAGPUMmaToWMMAPassBase<HAQAGPUMmaToWMMAPass> {
  void runOnOperation() override {
    IRRewriter rw(&getContext());
    SmallVector<linalg::MatmulOp> ops;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (op->hasAttr("haqa.mma"))
        ops.push_back(op);
    });
    for (linalg::MatmulOp op : ops)
      if (failed(convert(rw, op)))
        return signalPassFailure();
  }
};

} // namespace
