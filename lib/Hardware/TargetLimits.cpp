//===- TargetLimits.cpp - generic per-target limits -------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Hardware/TargetLimits.h"

#include "llvm/ADT/StringSwitch.h"
#include <thread>

using namespace mlir::haqa;

std::optional<TargetKind> mlir::haqa::parseTargetKind(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<TargetKind>>(name)
      .Case("cpu", TargetKind::CPU)
      .Case("cuda", TargetKind::CUDA)
      .Case("opencl", TargetKind::OpenCL)
      .Default(std::nullopt);
}

TargetLimits mlir::haqa::getDefaultLimits(TargetKind kind, int64_t cpuThreads) {
  switch (kind) {
  case TargetKind::CPU: {
    if (cpuThreads <= 0)
      cpuThreads = std::max(1u, std::thread::hardware_concurrency());
    // AVX-512: 16 f32 lanes.
    return {kind, 16, 1, 1, 1, cpuThreads, 0};
  }
  case TargetKind::CUDA:
    // sm_80+: 32-thread warps, 1024 threads and 48 KiB static shared memory
    // per block; 128-bit loads are 4 f32.
    return {kind, 4, 256, 1024, 32, 1, 48 * 1024};
  case TargetKind::OpenCL:
    // Adreno 7xx: 64-wide subgroups (wave64 mode), 1024 work-items per
    // workgroup, 32 KiB local memory; float4 loads.
    return {kind, 4, 128, 1024, 64, 1, 32 * 1024};
  }
  return {kind, 1, 1, 1, 1, 1, 0};
}
