//===- HalfAsBits.cpp - 16-bit float storage as bits -----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUHALFASBITSPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// Which 16-bit float types the pass rewrites.
struct Rewritten {
  bool f16, bf16;
  bool scalar(Type t) const {
    return (f16 && t.isF16()) || (bf16 && t.isBF16());
  }
  bool in(Type t) const {
    if (scalar(t))
      return true;
    if (auto s = dyn_cast<ShapedType>(t))
      return scalar(s.getElementType());
    if (auto f = dyn_cast<FunctionType>(t))
      return llvm::any_of(f.getInputs(), [&](Type i) { return in(i); }) ||
             llvm::any_of(f.getResults(), [&](Type r) { return in(r); });
    return false;
  }
  bool isLegal(Operation *op) const {
    auto has = [&](Type t) { return in(t); };
    if (llvm::any_of(op->getOperandTypes(), has) ||
        llvm::any_of(op->getResultTypes(), has))
      return false;
    for (Region &r : op->getRegions())
      for (Block &b : r)
        if (llvm::any_of(b.getArgumentTypes(), has))
          return false;
    if (auto f = dyn_cast<FunctionOpInterface>(op))
      return !in(f.getFunctionType());
    return true;
  }
};

/// The f32 of bf16 bits `h` (i16 or a vector of them): its high half.
Value decodeBF16(OpBuilder &b, Location loc, Value h, Type f32Type) {
  Type i32Type = b.getI32Type();
  TypedAttr sixteen = b.getI32IntegerAttr(16);
  if (auto v = dyn_cast<VectorType>(h.getType())) {
    i32Type = VectorType::get(v.getShape(), b.getI32Type());
    sixteen = DenseElementsAttr::get(cast<ShapedType>(i32Type), sixteen);
  }
  Value x = arith::ExtUIOp::create(b, loc, i32Type, h);
  Value bits = arith::ShLIOp::create(
      b, loc, x, arith::ConstantOp::create(b, loc, i32Type, sixteen));
  return arith::BitcastOp::create(b, loc, f32Type, bits);
}

/// The f32 of f16 bits `h` (i16 or a vector of them): exact, subnormals,
/// infinities and NaNs included.
Value decode(OpBuilder &b, Location loc, Value h, Type f32Type) {
  Type i32 = b.getI32Type();
  Type i32Type = i32;
  if (auto v = dyn_cast<VectorType>(h.getType()))
    i32Type = VectorType::get(v.getShape(), i32);
  auto c = [&](int64_t v) -> Value {
    TypedAttr a = b.getI32IntegerAttr(v);
    if (auto vt = dyn_cast<VectorType>(i32Type))
      a = DenseElementsAttr::get(vt, b.getI32IntegerAttr(v));
    return arith::ConstantOp::create(b, loc, i32Type, a);
  };
  Value x = arith::ExtUIOp::create(b, loc, i32Type, h);
  Value sign = arith::ShLIOp::create(
      b, loc, arith::AndIOp::create(b, loc, x, c(0x8000)), c(16));
  Value exp = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, x, c(10)), c(0x1f));
  Value mant = arith::AndIOp::create(b, loc, x, c(0x3ff));
  Value mantHigh = arith::ShLIOp::create(b, loc, mant, c(13));
  // Normal: exponent rebiased (127 - 15 = 112).
  Value normal = arith::OrIOp::create(
      b, loc,
      arith::ShLIOp::create(b, loc, arith::AddIOp::create(b, loc, exp, c(112)),
                            c(23)),
      mantHigh);
  // Infinity / NaN: all exponent bits.
  Value special = arith::OrIOp::create(b, loc, c(0x7f800000), mantHigh);
  // Zero / subnormal: mantissa x 2^-24, exact in f32.
  Value small = arith::MulFOp::create(
      b, loc, arith::UIToFPOp::create(b, loc, f32Type, mant),
      arith::ConstantOp::create(
          b, loc, f32Type,
          isa<VectorType>(f32Type)
              ? cast<TypedAttr>(DenseElementsAttr::get(
                    cast<ShapedType>(f32Type), b.getF32FloatAttr(0x1p-24f)))
              : cast<TypedAttr>(b.getF32FloatAttr(0x1p-24f))));
  Value smallBits = arith::BitcastOp::create(b, loc, i32Type, small);
  Value isZeroExp =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, exp, c(0));
  Value isMaxExp =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, exp, c(0x1f));
  Value bits = arith::SelectOp::create(
      b, loc, isZeroExp, smallBits,
      arith::SelectOp::create(b, loc, isMaxExp, special, normal));
  bits = arith::OrIOp::create(b, loc, bits, sign);
  return arith::BitcastOp::create(b, loc, f32Type, bits);
}

struct ExtFPattern : OpConversionPattern<arith::ExtFOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(arith::ExtFOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Type from = getElementTypeOrSelf(op.getIn().getType());
    Type to = getElementTypeOrSelf(op.getType());
    if (adaptor.getIn().getType() == op.getIn().getType() || !to.isF32())
      return rw.notifyMatchFailure(op, "not a rewritten type to f32");
    rw.replaceOp(
        op, from.isBF16()
                ? decodeBF16(rw, op.getLoc(), adaptor.getIn(), op.getType())
                : decode(rw, op.getLoc(), adaptor.getIn(), op.getType()));
    return success();
  }
};

struct ConstantPattern : OpConversionPattern<arith::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(arith::ConstantOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rw) const override {
    Type type = getTypeConverter()->convertType(op.getType());
    Attribute value = op.getValue();
    TypedAttr bits;
    if (auto f = dyn_cast<FloatAttr>(value))
      bits = rw.getIntegerAttr(type, f.getValue().bitcastToAPInt());
    else if (auto d = dyn_cast<DenseFPElementsAttr>(value))
      bits = d.bitcast(rw.getI16Type());
    if (!bits)
      return rw.notifyMatchFailure(op, "not an f16 constant");
    rw.replaceOpWithNewOp<arith::ConstantOp>(op, type, bits);
    return success();
  }
};

/// Ops that only carry f16 values or memrefs (views, loads, stores,
/// allocations, launches): the same op on the converted types.
struct CarryPattern : ConversionPattern {
  CarryPattern(const TypeConverter &converter, MLIRContext *ctx)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), 1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                                ConversionPatternRewriter &rw) const override {
    if (!isa<memref::ViewOp, memref::ReinterpretCastOp, memref::SubViewOp,
             memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp,
             memref::LoadOp, memref::StoreOp, memref::AllocOp, memref::AllocaOp,
             memref::DeallocOp, vector::LoadOp, vector::StoreOp,
             vector::BroadcastOp, vector::ExtractOp, vector::InsertOp,
             vector::FromElementsOp, vector::ShapeCastOp, arith::SelectOp,
             gpu::LaunchFuncOp, gpu::AllocOp, gpu::DeallocOp, gpu::MemcpyOp,
             func::CallOp, func::ReturnOp, ub::PoisonOp>(op) ||
        op->getNumRegions())
      return rw.notifyMatchFailure(op, "not an op that only carries values");
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(), types)))
      return failure();
    OperationState state(op->getLoc(), op->getName(), operands, types,
                         op->getAttrs(), op->getSuccessors());
    Operation *clone = rw.create(state);
    rw.replaceOp(op, clone->getResults());
    return success();
  }
};

struct HAQAGPUHalfAsBitsPass
    : haqa::impl::HAQAGPUHalfAsBitsPassBase<HAQAGPUHalfAsBitsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Rewritten rewritten{f16, bf16};
    TypeConverter converter;
    Type i16 = IntegerType::get(ctx, 16);
    converter.addConversion([](Type t) { return t; });
    converter.addConversion(
        [=](FloatType t) -> Type { return rewritten.scalar(t) ? i16 : t; });
    converter.addConversion([=](VectorType t) -> Type {
      return rewritten.scalar(t.getElementType()) ? t.clone(i16) : t;
    });
    converter.addConversion([=](MemRefType t) -> Type {
      return rewritten.scalar(t.getElementType()) ? t.clone(i16) : t;
    });
    ConversionTarget target(*ctx);
    target.markUnknownOpDynamicallyLegal(
        [=](Operation *op) { return rewritten.isLegal(op); });
    RewritePatternSet patterns(ctx);
    patterns.add<ExtFPattern, ConstantPattern>(converter, ctx);
    patterns.add<CarryPattern>(converter, ctx);
    populateAnyFunctionOpInterfaceTypeConversionPattern(patterns, converter);
    scf::populateSCFStructuralTypeConversions(converter, patterns);
    if (failed(
            applyFullConversion(getOperation(), target, std::move(patterns)))) {
      getOperation().emitError()
          << "haqa-gpu-half-as-bits: a 16-bit float is used by more than "
             "loads, stores and conversions to f32 (see the op above): this "
             "code needs a device with 16-bit float arithmetic";
      signalPassFailure();
    }
  }
};

} // namespace
