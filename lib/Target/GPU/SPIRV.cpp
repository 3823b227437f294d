//===- SPIRV.cpp - what the SPIR-V (OpenCL) lowering needs ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Two passes of the OpenCL pipeline around gpu-kernel-outlining: constant
// tables become kernel arguments, and each gpu.module gets the target
// environment, entry point ABI and storage classes convert-gpu-to-spirv
// reads.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/Passes.h"

#include "mlir/Conversion/MemRefToSPIRV/MemRefToSPIRV.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUHOISTCONSTANTSPASS
#define GEN_PASS_DEF_HAQAGPUPREPARESPIRVPASS
#define GEN_PASS_DEF_HAQASPIRVEXPANDCOMPOSITECONSTRUCTPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

struct HAQAGPUHoistConstantsPass
    : haqa::impl::HAQAGPUHoistConstantsPassBase<HAQAGPUHoistConstantsPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::LaunchOp launch) {
      launch.getBody().walk(
          [&](memref::GetGlobalOp g) { g->moveBefore(launch); });
    });
  }
};

/// OpenCL's storage class of a GPU address space. Memrefs without one
/// (kernel arguments, which must keep the host's types until
/// convert-gpu-to-spirv) stay as they are: that pass maps them to
/// CrossWorkgroup.
std::optional<spirv::StorageClass> getOpenCLStorageClass(Attribute space) {
  if (!space)
    return std::nullopt;
  if (auto gpuSpace = dyn_cast<gpu::AddressSpaceAttr>(space)) {
    switch (gpuSpace.getValue()) {
    case gpu::AddressSpace::Global:
      return spirv::StorageClass::CrossWorkgroup;
    case gpu::AddressSpace::Workgroup:
      return spirv::StorageClass::Workgroup;
    case gpu::AddressSpace::Private:
      return spirv::StorageClass::Function;
    }
  }
  return spirv::mapMemorySpaceToOpenCLStorageClass(space);
}

/// Math ops on vector<1xT> as ops on T: convert-math-to-spirv would leave
/// casts between the two (its type converter makes one-element vectors
/// scalars) that convert-gpu-to-spirv cannot remove.
void scalarizeOneElementMath(gpu::GPUModuleOp module) {
  auto isOneElement = [](Type t) {
    auto v = dyn_cast<VectorType>(t);
    return v && v.getRank() == 1 && v.getNumElements() == 1 && !v.isScalable();
  };
  SmallVector<Operation *> ops;
  module.walk([&](Operation *op) {
    if (op->getDialect() &&
        op->getDialect()->getNamespace() ==
            math::MathDialect::getDialectNamespace() &&
        op->getNumResults() == 1 && op->getNumRegions() == 0 &&
        isOneElement(op->getResult(0).getType()) &&
        llvm::all_of(op->getOperandTypes(), isOneElement))
      ops.push_back(op);
  });
  OpBuilder b(module.getContext());
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    SmallVector<Value> scalars;
    for (Value v : op->getOperands())
      scalars.push_back(
          vector::ExtractOp::create(b, op->getLoc(), v, ArrayRef<int64_t>{0}));
    auto vectorType = cast<VectorType>(op->getResult(0).getType());
    OperationState state(op->getLoc(), op->getName(), scalars,
                         {vectorType.getElementType()}, op->getAttrs());
    Operation *scalar = b.create(state);
    Value back = vector::BroadcastOp::create(b, op->getLoc(), vectorType,
                                             scalar->getResult(0));
    op->getResult(0).replaceAllUsesWith(back);
    op->erase();
  }
}

/// A one-dimensional vector.create_mask as a comparison of the lane
/// indices with its bound (vector-to-spirv has no pattern for it).
struct CreateMaskAsCompare : OpRewritePattern<vector::CreateMaskOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::CreateMaskOp op,
                                PatternRewriter &rw) const override {
    VectorType type = op.getType();
    if (type.getRank() != 1 || type.isScalable())
      return failure();
    Location loc = op.getLoc();
    auto indexVector = VectorType::get(type.getShape(), rw.getIndexType());
    SmallVector<APInt> lanes;
    for (int64_t i = 0; i < type.getNumElements(); ++i)
      lanes.push_back(APInt(64, i));
    Value steps = arith::ConstantOp::create(
        rw, loc, indexVector, DenseElementsAttr::get(indexVector, lanes));
    Value bound =
        vector::BroadcastOp::create(rw, loc, indexVector, op.getOperand(0));
    rw.replaceOpWithNewOp<arith::CmpIOp>(op, arith::CmpIPredicate::slt, steps,
                                         bound);
    return success();
  }
};

/// A masked vector.reduction as the reduction of the vector with its
/// masked-off lanes replaced by the combining kind's identity.
struct MaskedReductionAsSelect : OpRewritePattern<vector::MaskOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::MaskOp op,
                                PatternRewriter &rw) const override {
    auto reduction = dyn_cast_or_null<vector::ReductionOp>(op.getMaskableOp());
    if (!reduction || op.hasPassthru())
      return failure();
    VectorType type = reduction.getSourceVectorType();
    Type element = type.getElementType();
    std::optional<TypedAttr> identity;
    using Kind = vector::CombiningKind;
    switch (reduction.getKind()) {
    case Kind::ADD:
    case Kind::XOR:
    case Kind::OR:
      identity = rw.getZeroAttr(element);
      break;
    case Kind::MUL:
      identity = isa<FloatType>(element)
                     ? TypedAttr(rw.getFloatAttr(element, 1.0))
                     : TypedAttr(rw.getIntegerAttr(element, 1));
      break;
    case Kind::MAXIMUMF:
    case Kind::MAXNUMF:
    case Kind::MINIMUMF:
    case Kind::MINNUMF: {
      auto f = cast<FloatType>(element);
      bool max = reduction.getKind() == Kind::MAXIMUMF ||
                 reduction.getKind() == Kind::MAXNUMF;
      identity = rw.getFloatAttr(
          f, llvm::APFloat::getInf(f.getFloatSemantics(), /*Negative=*/max));
      break;
    }
    default:
      return failure();
    }
    Location loc = op.getLoc();
    Value fill = arith::ConstantOp::create(
        rw, loc, type, DenseElementsAttr::get(type, *identity));
    Value kept = arith::SelectOp::create(rw, loc, op.getMask(),
                                         reduction.getVector(), fill);
    Value result = vector::ReductionOp::create(
        rw, loc, reduction.getType(), reduction.getKindAttr(), kept,
        reduction.getAcc(), reduction.getFastmathAttr());
    rw.replaceOp(op, result);
    return success();
  }
};

/// A float sum over more than 4 lanes as one per 4 lanes, chained (of
/// products where it sums products): convert-gpu-to-spirv makes a float
/// sum an OpDot (with ones, or of the products), whose OpenCL builtin
/// (dot) takes at most 4 components.
struct SplitWideDot : OpRewritePattern<vector::ReductionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::ReductionOp op,
                                PatternRewriter &rw) const override {
    VectorType type = op.getSourceVectorType();
    int64_t n = type.getNumElements();
    auto mul = op.getVector().getDefiningOp<arith::MulFOp>();
    if (op.getKind() != vector::CombiningKind::ADD ||
        !isa<FloatType>(type.getElementType()) || type.getRank() != 1 ||
        n <= 4 || n % 4)
      return failure();
    Location loc = op.getLoc();
    Value acc = op.getAcc();
    for (int64_t i = 0; i < n; i += 4) {
      auto slice = [&](Value v) -> Value {
        return vector::ExtractStridedSliceOp::create(
            rw, loc, v, ArrayRef<int64_t>{i}, ArrayRef<int64_t>{4},
            ArrayRef<int64_t>{1});
      };
      Value product = mul ? arith::MulFOp::create(rw, loc, slice(mul.getLhs()),
                                                  slice(mul.getRhs()),
                                                  mul.getFastmathAttr())
                                .getResult()
                          : slice(op.getVector());
      acc = vector::ReductionOp::create(rw, loc, op.getType(), op.getKindAttr(),
                                        product, acc, op.getFastmathAttr());
    }
    rw.replaceOp(op, acc);
    return success();
  }
};

/// Masked loads and stores (partial tiles) as scalar accesses under
/// scf.if, masked reductions as reductions of a select, masks as
/// comparisons (convert-gpu-to-spirv lowers none of them), and sums of
/// products over more than 4 lanes in pieces of 4 (OpenCL's dot).
LogicalResult emulateMaskedAccesses(gpu::GPUModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  vector::populateVectorMaskedLoadStoreEmulationPatterns(patterns);
  vector::populateVectorMaskOpLoweringPatterns(patterns);
  patterns.add<CreateMaskAsCompare, MaskedReductionAsSelect, SplitWideDot>(
      module.getContext());
  return applyPatternsGreedily(module, std::move(patterns));
}

struct HAQAGPUPrepareSPIRVPass
    : haqa::impl::HAQAGPUPrepareSPIRVPassBase<HAQAGPUPrepareSPIRVPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    spirv::MemorySpaceToStorageClassConverter converter(getOpenCLStorageClass);
    WalkResult result = getOperation().walk([&](gpu::GPUModuleOp module) {
      spirv::TargetEnvAttr env;
      if (ArrayAttr targets = module.getTargetsAttr())
        for (Attribute t : targets)
          if (auto e = dyn_cast<spirv::TargetEnvAttr>(t))
            env = e;
      if (!env)
        return WalkResult::skip();
      module->setAttr(spirv::getTargetEnvAttrName(), env);
      for (auto func : module.getOps<gpu::GPUFuncOp>()) {
        if (!func.isKernel() ||
            func->hasAttr(spirv::getEntryPointABIAttrName()))
          continue;
        std::optional<ArrayRef<int32_t>> block = func.getKnownBlockSize();
        if (!block) {
          func.emitOpError("has no known block size, which the SPIR-V entry "
                           "point needs (launches made by haqa-gpu-map-forall "
                           "have one)");
          return WalkResult::interrupt();
        }
        func->setAttr(spirv::getEntryPointABIAttrName(),
                      spirv::getEntryPointABIAttr(ctx, *block));
      }
      spirv::convertMemRefTypesAndAttrs(module, converter);
      scalarizeOneElementMath(module);
      if (failed(emulateMaskedAccesses(module))) {
        module.emitError("masked vector accesses could not be emulated");
        return WalkResult::interrupt();
      }
      return WalkResult::skip();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

struct HAQASPIRVExpandCompositeConstructPass
    : haqa::impl::HAQASPIRVExpandCompositeConstructPassBase<
          HAQASPIRVExpandCompositeConstructPass> {
  void runOnOperation() override {
    SmallVector<spirv::CompositeConstructOp> ops;
    getOperation().walk([&](spirv::CompositeConstructOp op) {
      auto vector = dyn_cast<VectorType>(op.getType());
      if (!vector ||
          static_cast<int64_t>(op.getConstituents().size()) !=
              vector.getNumElements() ||
          llvm::all_of(op.getConstituents(),
                       [](Value v) { return matchPattern(v, m_Constant()); }))
        return;
      ops.push_back(op);
    });
    OpBuilder b(&getContext());
    for (spirv::CompositeConstructOp op : ops) {
      b.setInsertionPoint(op);
      Value v = spirv::UndefOp::create(b, op.getLoc(), op.getType());
      for (auto [i, element] : llvm::enumerate(op.getConstituents()))
        v = spirv::CompositeInsertOp::create(b, op.getLoc(), element, v,
                                             {static_cast<int32_t>(i)});
      op.replaceAllUsesWith(v);
      op.erase();
    }
  }
};

} // namespace
