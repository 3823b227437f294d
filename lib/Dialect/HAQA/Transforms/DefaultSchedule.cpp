//===- DefaultSchedule.cpp - attach default #haqa.schedule ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Gives every kernel without a schedule one derived from the target's limits
// and the kernel's iteration space: the starting point the agent improves on.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Hardware/TargetLimits.h"

#include "llvm/Support/MathExtras.h"
#include <numeric>

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQADEFAULTSCHEDULEPASS
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// Largest power of two <= `limit` that divides `dim` (1 if none; `limit`
/// when the dimension is dynamic).
int64_t fittingPowerOfTwo(int64_t dim, int64_t limit) {
  if (ShapedType::isDynamic(dim))
    return limit;
  int64_t p = 1;
  while (p * 2 <= limit && dim % (p * 2) == 0)
    p *= 2;
  return p;
}

int64_t clampToDim(int64_t value, int64_t dim) {
  return ShapedType::isDynamic(dim) ? value : std::min(value, dim);
}

/// CPU: walk the outer dimensions one at a time and give the innermost loop
/// a cache-sized tile that the SIMD width divides; matmul also tiles rows
/// and columns and prefetches the streamed weight.
ScheduleAttr cpuSchedule(MLIRContext *ctx, KernelOpInterface kernel,
                         const TargetLimits &limits) {
  SmallVector<int64_t> dims = kernel.getIterationSpace();
  SmallVector<int64_t> tile(dims.size(), 1);
  int64_t inner = dims.back();
  tile.back() = clampToDim(256, inner);
  std::optional<int64_t> prefetch;
  if (isa<MatmulOp>(kernel.getOperation())) {
    tile[0] = clampToDim(4, dims[0]);
    tile[1] = clampToDim(16, dims[1]);
    // The whole reduction in one tile: its 16-lane partial sums stay in
    // registers from the first block of K to the last.
    tile.back() = inner;
    prefetch = 2;
  }
  int64_t vector = fittingPowerOfTwo(inner, limits.vectorLanes);
  int64_t unroll = tile.back() / vector >= 4 ? 4 : 1;
  SmallVector<int64_t> order(dims.size());
  std::iota(order.begin(), order.end(), 0);
  return ScheduleAttr::get(ctx, tile, order, unroll, vector, {}, {},
                           limits.cpuThreads, {}, prefetch, {});
}

/// GPU: one block per row of the innermost dimension for reductions
/// (softmax, rms_norm, attention rows) and matmul outputs (one warp per
/// output column), a flat grid over all elements otherwise.
ScheduleAttr gpuSchedule(MLIRContext *ctx, KernelOpInterface kernel,
                         const TargetLimits &limits) {
  SmallVector<int64_t> dims = kernel.getIterationSpace();
  Operation *op = kernel.getOperation();
  int64_t inner = dims.back();
  int64_t vector = fittingPowerOfTwo(inner, limits.vectorLanes);
  int64_t threads = limits.preferredThreadsPerBlock;
  if (!ShapedType::isDynamic(inner))
    threads = std::clamp<int64_t>(
        llvm::PowerOf2Ceil(llvm::divideCeil(inner, vector)),
        limits.subgroupSize, limits.preferredThreadsPerBlock);
  int64_t rows = 1;
  for (int64_t d : ArrayRef(dims).drop_back())
    rows *= ShapedType::isDynamic(d) ? 1 : d;

  SmallVector<int64_t> grid;
  SmallVector<MemSpace> placement;
  if (auto mm = dyn_cast<MatmulOp>(op)) {
    // dims = [M, N, K]: a warp per output column, threads / warp columns
    // per block, one grid row per activation row.
    threads = limits.preferredThreadsPerBlock;
    int64_t columnsPerBlock = threads / limits.subgroupSize;
    int64_t n = ShapedType::isDynamic(dims[1]) ? 1 : dims[1];
    int64_t m = ShapedType::isDynamic(dims[0]) ? 1 : dims[0];
    grid = {static_cast<int64_t>(llvm::divideCeil(n, columnsPerBlock)), m};
    // Activations are reused by every warp of the block: stage them in
    // shared memory; weights stream from global; sums stay in registers.
    placement = {MemSpace::shared, MemSpace::global, MemSpace::reg};
  } else if (isa<SoftmaxOp, RMSNormOp, AttentionOp>(op)) {
    grid = {rows};
  } else {
    int64_t total = rows * (ShapedType::isDynamic(inner) ? 1 : inner);
    grid = {std::max<int64_t>(
        1, static_cast<int64_t>(llvm::divideCeil(total, threads * vector)))};
  }
  int64_t unroll = 4;
  if (!ShapedType::isDynamic(inner) && inner < threads * vector * unroll)
    unroll = 1;
  return ScheduleAttr::get(ctx, {}, {}, unroll, vector, {threads}, grid,
                           std::nullopt, placement, std::nullopt, {});
}

struct DefaultSchedulePass final
    : haqa::impl::HAQADefaultSchedulePassBase<DefaultSchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<TargetKind> kind = parseTargetKind(target);
    if (!kind) {
      getOperation().emitError()
          << "unknown target '" << target << "' (expected cpu, cuda or opencl)";
      return signalPassFailure();
    }
    if (cpuThreads < 0) {
      getOperation().emitError()
          << "expected cpu-threads >= 0, got " << cpuThreads;
      return signalPassFailure();
    }
    TargetLimits limits = getDefaultLimits(*kind, cpuThreads);
    getOperation().walk([&](KernelOpInterface kernel) {
      if (kernel.getSchedule())
        return;
      kernel.setSchedule(getDefaultSchedule(kernel, limits));
    });
  }
};

} // namespace

ScheduleAttr mlir::haqa::getDefaultSchedule(KernelOpInterface kernel,
                                            const TargetLimits &limits) {
  MLIRContext *ctx = kernel->getContext();
  return limits.kind == TargetKind::CPU ? cpuSchedule(ctx, kernel, limits)
                                        : gpuSchedule(ctx, kernel, limits);
}
