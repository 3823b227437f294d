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

/// Kernels (other than matmul and attention) of at most this many elements
/// run on one host thread.
constexpr int64_t kOneThreadElements = 16384;

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
  // A kernel of a few thousand elements (a decode step's norms, rotations,
  // additions) costs less than waking a second thread: one thread.
  int64_t threads = limits.cpuThreads;
  int64_t elements = 1;
  for (int64_t d : dims)
    elements = ShapedType::isDynamic(d) || elements > kOneThreadElements
                   ? kOneThreadElements + 1
                   : elements * d;
  if (!isa<MatmulOp, AttentionOp>(kernel.getOperation()) &&
      elements <= kOneThreadElements)
    threads = 1;
  // Exponentials as the short polynomial (exp = fast: 12-20% faster than
  // MLIR's on silu, swiglu and softmax at 64 and 128 rows, errors 1e-7 and
  // below), a rope's sines and cosines as MLIR's polynomials; vectorized
  // with the rest of the body.
  std::optional<ExpKind> exp;
  if (isa<SoftmaxOp, SiLUOp, SwiGLUOp, AttentionOp>(kernel.getOperation()))
    exp = ExpKind::fast;
  else if (isa<RoPEOp>(kernel.getOperation()))
    exp = ExpKind::poly;
  return ScheduleAttr::get(ctx, tile, order, unroll, vector, {}, {}, threads,
                           {}, prefetch, {}, std::nullopt, std::nullopt,
                           std::nullopt, {}, exp, std::nullopt, {});
}

/// Matmuls with at least this many rows (prefill) use the tensor cores.
constexpr int64_t kMmaMinRows = 16;
constexpr int64_t kMmaThreads = 128;

/// GPU: threads cover the innermost dimension (`vector` elements each, up
/// to the preferred block size) and the blocks follow from the tiles that
/// makes (haqa-gpu-apply-schedule); a matmul block of 256 threads covers
/// the 16 lanes of each K block (4 threads of 4-wide vectors) for 64 output
/// columns, with the activations staged in shared memory.
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
  SmallVector<MemSpace> placement;
  bool dynamicRows = ShapedType::isDynamic(dims[0]);
  auto matmul = dyn_cast<MatmulOp>(op);
  if (matmul && limits.tensorCores &&
      matmul.getWeight().getType().getQuant().getLayout() !=
          StorageLayout::gguf_k &&
      (dynamicRows || dims[0] >= kMmaMinRows) &&
      chooseMmaTiles(dynamicRows ? 0 : dims[0], dims[1], dims[2], 0, 0, 0,
                     kMmaThreads)) {
    // Prefill-sized matmuls (a model's prefill has a dynamic row count) on
    // tensor cores: 64 x 64 output tiles per block of 4 warps, K in steps of
    // one GGUF block.
    return ScheduleAttr::get(ctx,
                             {dynamicRows ? 64 : std::min<int64_t>(64, dims[0]),
                              std::min<int64_t>(64, dims[1]), 32},
                             {}, std::nullopt, limits.vectorLanes,
                             {kMmaThreads}, {}, std::nullopt, {}, std::nullopt,
                             {}, 1);
  }
  if (isa<MatmulOp>(op)) {
    threads = limits.preferredThreadsPerBlock;
    // Activations are reused by every column of the block: stage them in
    // shared memory when a row of them fits; weights stream from global;
    // sums stay in registers.
    int64_t k = ShapedType::isDynamic(dims[2]) ? 0 : dims[2];
    bool fits = k && k * 4 <= limits.sharedMemoryBytes / 4;
    placement = {fits ? MemSpace::shared : MemSpace::global, MemSpace::global,
                 MemSpace::reg};
    // A bias (operand 2) streams from global, read once per output.
    if (cast<MatmulOp>(op).getBias())
      placement.insert(placement.begin() + 2, MemSpace::global);
  }
  int64_t unroll = 4;
  if (!ShapedType::isDynamic(inner) && inner < threads * vector * unroll)
    unroll = 1;
  return ScheduleAttr::get(ctx, {}, {}, unroll, vector, {threads}, {},
                           std::nullopt, placement, std::nullopt, {},
                           std::nullopt);
}

/// The best micro-kernel instruction set of this host.
CPUISA getBestHostISA() {
  std::vector<std::string> features = getHostCPUFeatureNames();
  for (CPUISA isa :
       {CPUISA::avx512_vnni, CPUISA::avx_vnni, CPUISA::avx2})
    if (getMissingCPUFeature(stringifyCPUISA(isa), features).empty())
      return isa;
  return CPUISA::scalar;
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
    std::optional<CPUISA> isa;
    if (!microKernels.empty()) {
      isa = microKernels == "host" ? getBestHostISA()
                                   : symbolizeCPUISA(microKernels);
      if (!isa || *kind != TargetKind::CPU) {
        getOperation().emitError()
            << "micro-kernels=" << microKernels
            << (isa ? " applies to target=cpu only"
                    : " is no instruction set (expected scalar, avx2, "
                      "avx_vnni, avx512_vnni or host)");
        return signalPassFailure();
      }
    }
    getOperation().walk([&](KernelOpInterface kernel) {
      if (kernel.getSchedule())
        return;
      ScheduleAttr s = getDefaultSchedule(kernel, limits);
      auto matmul = dyn_cast<MatmulOp>(kernel.getOperation());
      StringRef gguf =
          matmul ? matmul.getWeight().getType().getQuant().getGGUFName() : "";
      if (isa && (hasInt8DotKernels(gguf) || hasFMADotKernels(gguf))) {
        s = getMicroKernelDotSchedule(matmul, *isa, limits);
        if (fuse)
          s = s.withFuse(
              {FuseKind::norm, FuseKind::swiglu, FuseKind::residual});
      }
      if (auto attention = dyn_cast<AttentionOp>(kernel.getOperation());
          attention && isa && canFuseAttention(attention))
        s = getFusedAttentionSchedule(attention, *isa, limits);
      kernel.setSchedule(s);
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

ScheduleAttr mlir::haqa::getMicroKernelDotSchedule(MatmulOp matmul,
                                                   CPUISA isa,
                                                   const TargetLimits &limits) {
  DotKind dot =
      hasFMADotKernels(matmul.getWeight().getType().getQuant().getGGUFName())
          ? DotKind::fma
          : DotKind::i8;
  // Decode (one row): four weight rows per activation block load; prefill:
  // four activation rows by four weight rows, 16 accumulators (measured
  // 2.0-2.3x faster than [4, 1] at 64 and 128 rows with every instruction
  // set, AVX2's 16 registers included: docs/performance.md), and with
  // AVX-512 VNNI int8 dots four rows by packed panels of 16 weight rows
  // (1.7-2.5x faster than [4, 4] at 64 and 128 rows; slower at one row,
  // where each panel is packed for a single use).
  int64_t rows = matmul.getType().getDimSize(0);
  SmallVector<int64_t> micro = {1, 4};
  if (rows != 1)
    micro = {4, dot == DotKind::i8 && isa == CPUISA::avx512_vnni ? 16 : 4};
  return ScheduleAttr::get(matmul.getContext(), {}, {}, std::nullopt,
                           std::nullopt, {}, {}, limits.cpuThreads, {},
                           std::nullopt, {}, std::nullopt, dot, isa, micro,
                           std::nullopt, std::nullopt, {});
}

ScheduleAttr mlir::haqa::getFusedAttentionSchedule(AttentionOp attention,
                                                   CPUISA isa,
                                                   const TargetLimits &limits) {
  return ScheduleAttr::get(attention.getContext(), {}, {}, std::nullopt,
                           std::nullopt, {}, {}, limits.cpuThreads, {},
                           std::nullopt, {}, std::nullopt, std::nullopt, isa,
                           {}, std::nullopt, AttnKind::fused, {});
}
