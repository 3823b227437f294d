//===- Alignment.cpp - alignment of kernel buffers --------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUALIGNWORKGROUPPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;

namespace {

struct HAQAGPUAlignWorkgroupPass
    : haqa::impl::HAQAGPUAlignWorkgroupPassBase<HAQAGPUAlignWorkgroupPass> {
  using Base::Base;

  void runOnOperation() override {
    if (alignment <= 0 || !llvm::isPowerOf2_64(alignment)) {
      getOperation()->emitError()
          << "haqa-gpu-align-workgroup: alignment must be a power of two, got "
          << static_cast<int64_t>(alignment);
      return signalPassFailure();
    }
    Builder b(&getContext());
    StringRef name = LLVM::LLVMDialect::getAlignAttrName();
    getOperation()->walk([&](gpu::GPUFuncOp func) {
      for (unsigned i = 0, e = func.getNumWorkgroupAttributions(); i < e; ++i)
        if (!func.getWorkgroupAttributionAttr(i, name))
          func.setWorkgroupAttributionAttr(
              i, name, b.getI64IntegerAttr(static_cast<int64_t>(alignment)));
    });
  }
};

} // namespace

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUALIGNKERNELARGSPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

namespace {

/// Whether `v` views a device allocation from its first byte: a function
/// argument or a gpu.alloc, through views that keep the base pointer.
bool viewsAllocationBase(Value v) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return isa<func::FuncOp>(arg.getOwner()->getParentOp()) &&
             arg.getOwner()->isEntryBlock();
    Operation *def = v.getDefiningOp();
    if (isa<gpu::AllocOp>(def))
      return true;
    if (auto view = dyn_cast<memref::ViewOp>(def)) {
      std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
      if (!shift || *shift != 0)
        return false;
      v = view.getSource();
      continue;
    }
    if (isa<memref::SubViewOp, memref::ReinterpretCastOp, memref::ExpandShapeOp,
            memref::CollapseShapeOp, memref::CastOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    return false;
  }
}

struct HAQAGPUAlignKernelArgsPass
    : haqa::impl::HAQAGPUAlignKernelArgsPassBase<HAQAGPUAlignKernelArgsPass> {
  using Base::Base;

  void runOnOperation() override {
    int64_t align = alignment;
    if (align <= 0 || !llvm::isPowerOf2_64(align)) {
      getOperation()->emitError()
          << "haqa-gpu-align-kernel-args: alignment must be a power of two, "
             "got "
          << align;
      return signalPassFailure();
    }
    // Per kernel, per argument: aligned at every launch so far.
    DenseMap<Operation *, SmallVector<bool>> aligned;
    SymbolTableCollection symbols;
    getOperation()->walk([&](gpu::LaunchFuncOp launch) {
      auto func = symbols.lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      if (!func)
        return;
      ValueRange operands = launch.getKernelOperands();
      auto [it, inserted] = aligned.try_emplace(
          func, SmallVector<bool>(func.getNumArguments(), true));
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        it->second[i] = it->second[i] && i < operands.size() &&
                        isa<MemRefType>(operands[i].getType()) &&
                        viewsAllocationBase(operands[i]);
    });
    Builder b(&getContext());
    StringRef name = LLVM::LLVMDialect::getAlignAttrName();
    for (auto &[op, args] : aligned) {
      auto func = cast<gpu::GPUFuncOp>(op);
      for (auto [i, ok] : llvm::enumerate(args))
        if (ok && !func.getArgAttr(i, name))
          func.setArgAttr(i, name, b.getI64IntegerAttr(align));
    }
  }
};

} // namespace
