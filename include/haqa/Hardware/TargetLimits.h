//===- TargetLimits.h - what a default schedule must respect ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The handful of per-target limits the default schedule is derived from.
// Full hardware profiles (bandwidth, peak throughput per type, caches) are a
// separate component; these are the generic defaults for each target kind.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_HARDWARE_TARGETLIMITS_H
#define HAQA_HARDWARE_TARGETLIMITS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::haqa {

enum class TargetKind { CPU, CUDA, OpenCL };

struct TargetLimits {
  TargetKind kind;
  /// SIMD lanes of f32 (CPU) or elements per vector load (GPU).
  int64_t vectorLanes;
  /// Threads per block / workgroup the default schedule uses.
  int64_t preferredThreadsPerBlock;
  int64_t maxThreadsPerBlock;
  /// Warp (CUDA) or subgroup (OpenCL) size; 1 on CPU.
  int64_t subgroupSize;
  /// Host threads (CPU).
  int64_t cpuThreads;
  /// Bytes of shared / local memory per block.
  int64_t sharedMemoryBytes;
  /// Tensor cores (CUDA): 16x16x16 f16 fragments with f32 sums.
  bool tensorCores = false;
};

/// The CPU features (LLVM / GCC names) a micro-kernel instruction set needs:
/// "scalar" none; "avx2" avx2, fma, f16c; "avx_vnni" those and avxvnni;
/// "avx512_vnni" avx512f, avx512bw, avx512vl, avx512vnni, fma, f16c. Empty
/// for an unknown name too.
std::vector<std::string> getCPUISAFeatures(llvm::StringRef isa);

/// The CPU features this host has, as LLVM names them (its host feature
/// detection): what "the host" means to the micro-kernel checks.
std::vector<std::string> getHostCPUFeatureNames();

/// The first feature `isa` needs that `features` lacks, or "" when it has
/// them all.
std::string getMissingCPUFeature(llvm::StringRef isa,
                                 llvm::ArrayRef<std::string> features);

/// The block of a tensor-core (mma = 1) matmul: a bm x bn output tile per
/// block, summed in shared memory over K steps of bk, each warp owning
/// warpM x warpN 16x16 fragments' worth of the tile.
struct MmaTiles {
  int64_t bm = 0, bn = 0, bk = 0;
  /// Warps along M and N (a warpsM x warpsN grid over the fragments).
  int64_t warpsM = 1, warpsN = 1;
  /// Shared memory per block: the f32 sums and the f16 A and B tiles.
  int64_t sharedBytes = 0;
};

/// The tensor-core tiles for an M x N x K matmul (M 0 when dynamic) under
/// the schedule's `tile` (0: none) and `threads`: tiles rounded to 16 (M,
/// N) and 32 (K, one GGUF block) multiples that divide N and K, at most
/// 128, default 64 x 64 x 32. An error names why N or K cannot be tiled.
std::optional<MmaTiles> chooseMmaTiles(int64_t m, int64_t n, int64_t k,
                                       int64_t tileM, int64_t tileN,
                                       int64_t tileK, int64_t threads,
                                       std::string *whyNot = nullptr);

/// Parses "cpu", "cuda" or "opencl".
std::optional<TargetKind> parseTargetKind(llvm::StringRef name);
/// "cpu", "cuda" or "opencl".
llvm::StringRef stringifyTargetKind(TargetKind kind);

/// Generic limits of a target kind: an AVX-512 host with `cpuThreads` threads
/// (this machine's hardware threads when 0), an sm_80+ NVIDIA GPU, or an
/// Adreno-class OpenCL device.
TargetLimits getDefaultLimits(TargetKind kind, int64_t cpuThreads = 0);

} // namespace mlir::haqa

#endif // HAQA_HARDWARE_TARGETLIMITS_H
