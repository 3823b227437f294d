//===- Staging.cpp - staging in workgroup / private memory ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa-gpu-apply-schedule's staging copies (`placement`): a block tile of
// an operand copied into a workgroup-memory buffer by the block's threads
// (`shared`), or each thread's tile copied into private memory
// (`register`); each a bufferization.alloc_tensor in the
// #gpu.address_space (none when address spaces are off, for the CPU) and
// a linalg.copy tagged haqa.gpu.staged.
//
//===----------------------------------------------------------------------===//

#include "Scheduler.h"
#include "haqa/Target/GPU/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::gpu_schedule;

FailureOr<SmallVector<int64_t>> gpu_schedule::staticBounds(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      continue;
    FailureOr<int64_t> ub = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB, ValueBoundsConstraintSet::Variable(v, d),
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(ub))
      return failure();
    shape[d] = *ub;
  }
  return shape;
}

FailureOr<linalg::CopyOp>
gpu_schedule::stage(OpBuilder &b, Location loc, Value v,
                    std::optional<gpu::AddressSpace> space, int64_t &bytes) {
  FailureOr<SmallVector<int64_t>> shape = staticBounds(v);
  if (failed(shape))
    return failure();
  auto type = cast<RankedTensorType>(v.getType());
  auto bufType = RankedTensorType::get(*shape, type.getElementType());
  Attribute spaceAttr;
  if (space)
    spaceAttr = gpu::AddressSpaceAttr::get(b.getContext(), *space);
  Value buf = bufferization::AllocTensorOp::create(
      b, loc, bufType, ValueRange{}, Value(), Value(), spaceAttr);
  int64_t n = 1;
  for (int64_t s : *shape)
    n *= s;
  bytes += n * ((type.getElementTypeBitWidth() + 7) / 8);
  if (!type.hasStaticShape()) {
    SmallVector<OpFoldResult> zeros(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> ones(type.getRank(), b.getIndexAttr(1));
    buf = tensor::ExtractSliceOp::create(
        b, loc, type, buf, zeros, tensor::getMixedSizes(b, loc, v), ones);
  }
  return linalg::CopyOp::create(b, loc, v, buf);
}

void gpu_schedule::recordWorkgroupBytes(scf::ForallOp block, int64_t bytes) {
  if (bytes > 0)
    block->setAttr(
        kWorkgroupBytesAttrName,
        IntegerAttr::get(IntegerType::get(block.getContext(), 64), bytes));
}

/// Workgroup memory: the block tile of each of `cur`'s inputs placed in
/// shared memory, copied by all the threads (the copies returned, for the
/// caller to spread over them), read from there. Adds the buffers' bytes to
/// `bytes`.
FailureOr<SmallVector<linalg::CopyOp>>
Scheduler::stageWorkgroup(linalg::LinalgOp cur, const LoopPlan &p,
                          int64_t &bytes) {
  rw.setInsertionPoint(cur);
  SmallVector<linalg::CopyOp> copies;
  for (OpOperand *operand : cur.getDpsInputOperands()) {
    if (placementOf(p, operand->getOperandNumber()) != MemSpace::shared ||
        !isa<RankedTensorType>(operand->get().getType()))
      continue;
    FailureOr<linalg::CopyOp> copy =
        stage(rw, cur.getLoc(), operand->get(),
              spaceFor(gpu::AddressSpace::Workgroup), bytes);
    if (failed(copy))
      return cur.emitOpError("placement = shared needs a static bound of the "
                             "block tile");
    (*copy)->setAttr("haqa.gpu.staged", rw.getUnitAttr());
    operand->set((*copy)->getResult(0));
    copies.push_back(*copy);
  }
  return copies;
}

/// Registers: each thread's tile of each of `cur`'s operands placed in
/// registers, copied into private memory by the thread (`cur` is one
/// thread's tile). An operand whose tile has no static bound stays where it
/// is, with a remark.
void Scheduler::stagePrivate(linalg::LinalgOp cur, const LoopPlan &p) {
  rw.setInsertionPoint(cur);
  int64_t privateBytes = 0;
  for (OpOperand &operand : cur->getOpOperands()) {
    if (placementOf(p, operand.getOperandNumber()) != MemSpace::reg ||
        !isa<RankedTensorType>(operand.get().getType()))
      continue;
    FailureOr<linalg::CopyOp> copy =
        stage(rw, cur.getLoc(), operand.get(),
              spaceFor(gpu::AddressSpace::Private), privateBytes);
    if (failed(copy)) {
      cur.emitRemark("placement = register not applied to operand ")
          << operand.getOperandNumber()
          << ": each thread's tile has no static bound";
      continue;
    }
    (*copy)->setAttr("haqa.gpu.staged", rw.getUnitAttr());
    operand.set((*copy)->getResult(0));
  }
}
