//===- Scheduler.h - haqa-gpu-apply-schedule's shared helpers ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Private to lib/Target/GPU: the Scheduler that haqa-gpu-apply-schedule
// (the pass driver, ApplySchedule.cpp) hands each op to, and the helpers
// its files share. A linalg op becomes GPU blocks, K steps and threads in
// Scheduler.cpp; operands are staged into workgroup / private buffers in
// Staging.cpp; the blocked matmul's one-kernel form on CUDA cores is in
// BlockedMatmul.cpp and its tensor-core form in TensorCores.cpp; kv_write's
// row loop becomes blocks in KVWrite.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_TARGET_GPU_SCHEDULER_H
#define HAQA_LIB_TARGET_GPU_SCHEDULER_H

#include "haqa/Target/GPU/LoopPlan.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace mlir::haqa::gpu_schedule {

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> v);

enum class Level { Block, Warp, Thread };

/// Mapping attributes for `count` forall dimensions, linear_dim_0 the
/// innermost (last) one.
SmallVector<Attribute> linearMapping(MLIRContext *ctx, unsigned count,
                                     Level level);
SmallVector<Attribute> linearMapping(MLIRContext *ctx, unsigned count,
                                     bool blocks);

/// A static upper bound of every dimension of `v` (a tensor).
FailureOr<SmallVector<int64_t>> staticBounds(Value v);

/// `v` copied into a new buffer in `space` (a static buffer of `v`'s upper
/// bound shape, sliced to `v`'s sizes when they are dynamic). Adds the
/// buffer's bytes to `bytes`.
FailureOr<linalg::CopyOp> stage(OpBuilder &b, Location loc, Value v,
                                std::optional<gpu::AddressSpace> space,
                                int64_t &bytes);

/// Records on `block` (a block-level scf.forall) the bytes of workgroup
/// memory each of its blocks uses (kWorkgroupBytesAttrName), which
/// haqa-gpu-check-limits checks against the target's limit; nothing where
/// there are none.
void recordWorkgroupBytes(scf::ForallOp block, int64_t bytes);

/// Rewrites linalg ops (on tensors) into block and thread loops, one op or
/// one blocked matmul at a time; the pass driver decides which call each
/// op gets.
class Scheduler {
public:
  Scheduler(IRRewriter &rw, int64_t defaultThreads, int64_t sharedLimit,
            bool addressSpaces)
      : rw(rw), defaultThreads(defaultThreads), sharedLimit(sharedLimit),
        addressSpaces(addressSpaces) {}

  /// `op` in a kernel of its own, with its schedule (Scheduler.cpp).
  LogicalResult run(linalg::LinalgOp op);
  /// `op`, inside a block, over the block's threads as `p` says.
  LogicalResult threadLevel(linalg::LinalgOp op, const LoopPlan &p);
  /// A blocked matmul on CUDA cores in one kernel: `partial`'s sums over K
  /// blocks per lane kept in workgroup memory, then `sum` adding the lanes.
  /// false (and nothing changed) where it does not apply; failure() after an
  /// error.
  FailureOr<bool> runFusedSum(linalg::GenericOp partial, linalg::GenericOp sum);
  /// A blocked matmul with `mma = 1` on tensor cores (TensorCores.cpp).
  LogicalResult runMma(linalg::GenericOp partial, linalg::GenericOp sum);

  /// Fills initialising the one result of the op that uses them: run()
  /// makes them in that op's kernel, each block filling its tile before its
  /// K steps, instead of a kernel of their own.
  DenseSet<Operation *> fusedFills;

private:
  IRRewriter &rw;
  /// Threads per block of ops without a schedule; the workgroup memory a
  /// block may use, where a form is chosen by what fits (blocks beyond it
  /// are haqa-gpu-check-limits' error, from what recordWorkgroupBytes
  /// leaves on them).
  int64_t defaultThreads, sharedLimit;
  bool addressSpaces;

  std::optional<gpu::AddressSpace> spaceFor(gpu::AddressSpace s) const {
    if (addressSpaces)
      return s;
    return std::nullopt;
  }

  /// Where `p` places operand `operand` of its op (global without a
  /// placement for it).
  MemSpace placementOf(const LoopPlan &p, unsigned operand) const;

  LogicalResult perThread(linalg::LinalgOp op, const LoopPlan &p);
  LogicalResult inBlock(scf::ForallOp block, linalg::LinalgOp cur,
                        const LoopPlan &p, linalg::FillOp blockFill,
                        int64_t sharedUsed = 0);
  LogicalResult runOnOneThread(linalg::LinalgOp op);
  FailureOr<SmallVector<linalg::CopyOp>>
  stageWorkgroup(linalg::LinalgOp cur, const LoopPlan &p, int64_t &bytes);
  void stagePrivate(linalg::LinalgOp cur, const LoopPlan &p);
};

/// kv_write's loop over new rows as a forall over blocks (one row each),
/// whose row copy is a linalg.copy for the block's threads.
LogicalResult kvWriteToForall(IRRewriter &rw, scf::ForOp loop,
                              Scheduler &scheduler);

} // namespace mlir::haqa::gpu_schedule

#endif // HAQA_LIB_TARGET_GPU_SCHEDULER_H
