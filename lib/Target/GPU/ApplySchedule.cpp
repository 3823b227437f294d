//===- ApplySchedule.cpp - #haqa.schedule as GPU blocks / threads -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The driver of haqa-gpu-apply-schedule: it finds what each linalg op of a
// kernel gets and hands it to the Scheduler (Scheduler.h): blocked matmuls
// with `mma = 1` on tensor cores, the other blocked matmuls in one
// CUDA-core kernel where they fit, every remaining op its own block and
// thread loops (with the fill of its result where that fill has no other
// use), and kv_write's row loop as blocks. Mapping the foralls to
// gpu.launch happens after bufferization (haqa-gpu-map-forall).
//
//===----------------------------------------------------------------------===//

#include "Scheduler.h"
#include "haqa/Conversion/HAQAToLinalg/Contract.h"
#include "haqa/Target/GPU/Passes.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUAPPLYSCHEDULEPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::gpu_schedule;

namespace {

/// The generic adding the lanes of a blocked matmul's partial-sum generic
/// (haqa.matmul_part = partial_sums, one use: the generic marked lane_sum;
/// Contract.h), or null.
linalg::GenericOp laneSumOf(linalg::GenericOp partial) {
  if (!partial || getMatmulPart(partial) != MatmulPart::partial_sums ||
      !partial->hasOneUse())
    return {};
  auto sum = dyn_cast<linalg::GenericOp>(*partial->getUsers().begin());
  return sum && getMatmulPart(sum) == MatmulPart::lane_sum
             ? sum
             : linalg::GenericOp();
}

struct HAQAGPUApplySchedulePass
    : haqa::impl::HAQAGPUApplySchedulePassBase<HAQAGPUApplySchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    // CPU micro-kernels (schedule dot = i8 or fma, attn = fused) have no GPU
    // form.
    if (getOperation()
            .walk([](MicroKernelOp op) {
              op.emitOpError("is a CPU micro-kernel (schedule dot = i8 or "
                             "fma, attn = fused); the GPU lowerings have "
                             "none");
              return WalkResult::interrupt();
            })
            .wasInterrupted())
      return signalPassFailure();
    IRRewriter rw(&getContext());
    Scheduler scheduler(rw, defaultThreads, sharedMemoryBytes, addressSpaces);
    SmallVector<scf::ForOp> kvLoops;
    getOperation().walk([&](scf::ForOp loop) {
      if (auto k = loop->getAttrOfType<StringAttr>(kKernelAttrName);
          k && k.getValue() == "kv_write")
        kvLoops.push_back(loop);
    });
    // Matmuls on tensor cores (mma = 1): the partial-sum generic of a
    // blocked matmul and the generic summing its lanes.
    SmallVector<std::pair<linalg::GenericOp, linalg::GenericOp>> mmas;
    DenseSet<Operation *> inMma;
    WalkResult bad = getOperation().walk([&](linalg::LinalgOp op) {
      auto s = op->getAttrOfType<ScheduleAttr>(kScheduleAttrName);
      if (!s || s.getMma().value_or(0) != 1 || isa<linalg::FillOp>(op) ||
          inMma.contains(op))
        return WalkResult::advance();
      auto partial = dyn_cast<linalg::GenericOp>(op.getOperation());
      linalg::GenericOp sum = laneSumOf(partial);
      // The bias a matmul adds after its sums (matmul_c8) is no
      // tensor-core work: it runs on the default thread mapping.
      if (partial && getMatmulPart(partial) == MatmulPart::bias) {
        op->removeAttr(kScheduleAttrName);
        return WalkResult::advance();
      }
      if (!sum) {
        op.emitOpError("mma = 1 applies only to matmuls with K a multiple "
                       "of 32 (GGUF blocks)");
        return WalkResult::interrupt();
      }
      mmas.push_back({partial, sum});
      inMma.insert(sum);
      return WalkResult::advance();
    });
    if (bad.wasInterrupted())
      return signalPassFailure();
    for (auto [partial, sum] : mmas)
      if (failed(scheduler.runMma(partial, sum)))
        return signalPassFailure();

    // Blocked matmuls on CUDA cores: the partial sums and their sum in one
    // kernel where a block can hold every lane of its columns.
    SmallVector<std::pair<linalg::GenericOp, linalg::GenericOp>> blocked;
    getOperation().walk([&](linalg::GenericOp partial) {
      if (partial->getParentOfType<scf::ForallOp>())
        return;
      if (linalg::GenericOp sum = laneSumOf(partial);
          sum && !sum->getParentOfType<scf::ForallOp>())
        blocked.push_back({partial, sum});
    });
    for (auto [partial, sum] : blocked)
      if (failed(scheduler.runFusedSum(partial, sum)))
        return signalPassFailure();

    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<scf::ForallOp>() && op.hasPureTensorSemantics())
        ops.push_back(op);
    });
    // A fill whose one use is the one init of another op here is made in
    // that op's kernel (one launch fewer).
    DenseSet<Operation *> scheduled;
    for (linalg::LinalgOp op : ops)
      scheduled.insert(op.getOperation());
    for (linalg::LinalgOp op : ops) {
      auto fill = dyn_cast<linalg::FillOp>(op.getOperation());
      if (!fill || !fill->hasOneUse())
        continue;
      auto user = dyn_cast<linalg::LinalgOp>(*fill->getUsers().begin());
      if (user && scheduled.contains(user) && user.getNumDpsInits() == 1 &&
          user.getDpsInitOperand(0)->get() == fill.getResult(0))
        scheduler.fusedFills.insert(fill);
    }
    // (Compared by address only: a fused fill is erased or scheduled by its
    // user's run.)
    DenseSet<Operation *> fused = scheduler.fusedFills;
    for (linalg::LinalgOp op : ops) {
      if (fused.contains(op.getOperation()))
        continue;
      if (failed(scheduler.run(op)))
        return signalPassFailure();
    }
    for (scf::ForOp loop : kvLoops)
      if (failed(kvWriteToForall(rw, loop, scheduler)))
        return signalPassFailure();
  }
};

} // namespace
