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

#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <optional>

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
};

/// Parses "cpu", "cuda" or "opencl".
std::optional<TargetKind> parseTargetKind(llvm::StringRef name);

/// Generic limits of a target kind: an AVX-512 host with `cpuThreads` threads
/// (this machine's hardware threads when 0), an sm_80+ NVIDIA GPU, or an
/// Adreno-class OpenCL device.
TargetLimits getDefaultLimits(TargetKind kind, int64_t cpuThreads = 0);

} // namespace mlir::haqa

#endif // HAQA_HARDWARE_TARGETLIMITS_H
