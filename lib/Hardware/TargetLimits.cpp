//===- TargetLimits.cpp - generic per-target limits -------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Hardware/TargetLimits.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"
#include <algorithm>
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
    // per block; 128-bit loads are 4 f32; tensor cores.
    return {kind, 4, 256, 1024, 32, 1, 48 * 1024, true};
  case TargetKind::OpenCL:
    // Adreno 7xx: 64-wide subgroups (wave64 mode), 1024 work-items per
    // workgroup, 32 KiB local memory; float4 loads.
    return {kind, 4, 128, 1024, 64, 1, 32 * 1024};
  }
  return {kind, 1, 1, 1, 1, 1, 0};
}

std::optional<MmaTiles> mlir::haqa::chooseMmaTiles(int64_t m, int64_t n,
                                                   int64_t k, int64_t tileM,
                                                   int64_t tileN, int64_t tileK,
                                                   int64_t threads,
                                                   std::string *whyNot) {
  auto fail = [&](std::string why) -> std::optional<MmaTiles> {
    if (whyNot)
      *whyNot = std::move(why);
    return std::nullopt;
  };
  if (n <= 0 || n % 16 != 0)
    return fail("mma = 1 needs N a multiple of 16, got " + std::to_string(n));
  if (k <= 0 || k % 32 != 0)
    return fail("mma = 1 needs K a multiple of 32, got " + std::to_string(k));
  constexpr int64_t kMax = 128;
  auto roundUp = [](int64_t v, int64_t to) { return (v + to - 1) / to * to; };
  // The largest multiple of `unit` dividing `extent` that is at most `want`
  // (and at least `unit`).
  auto dividing = [&](int64_t extent, int64_t want, int64_t unit) {
    int64_t best = unit;
    for (int64_t t = unit; t <= std::min(want, kMax); t += unit)
      if (extent % t == 0)
        best = t;
    return best;
  };
  MmaTiles t;
  int64_t mCap = m > 0 ? std::min(kMax, roundUp(m, 16)) : kMax;
  t.bm = std::clamp<int64_t>(roundUp(tileM > 0 ? tileM : 64, 16), 16, mCap);
  t.bn = dividing(n, tileN > 0 ? tileN : 64, 16);
  t.bk = dividing(k, tileK > 0 ? tileK : 32, 32);
  int64_t warps = std::max<int64_t>(1, threads / 32);
  int64_t fm = t.bm / 16, fn = t.bn / 16;
  for (int64_t w = std::min(warps, fn); w >= 1; --w)
    if (fn % w == 0) {
      t.warpsN = w;
      break;
    }
  for (int64_t w = std::min(warps / t.warpsN, fm); w >= 1; --w)
    if (fm % w == 0) {
      t.warpsM = w;
      break;
    }
  t.sharedBytes = t.bm * t.bn * 4 + (t.bm + t.bn) * t.bk * 2;
  return t;
}

llvm::StringRef mlir::haqa::stringifyTargetKind(TargetKind kind) {
  switch (kind) {
  case TargetKind::CPU:
    return "cpu";
  case TargetKind::CUDA:
    return "cuda";
  case TargetKind::OpenCL:
    return "opencl";
  }
  return "?";
}

std::vector<std::string> mlir::haqa::getCPUISAFeatures(llvm::StringRef isa) {
  if (isa == "avx2")
    return {"avx2", "fma", "f16c"};
  if (isa == "avx_vnni")
    return {"avx2", "fma", "f16c", "avxvnni"};
  if (isa == "avx512_vnni")
    return {"avx512f", "avx512bw", "avx512vl", "avx512vnni", "fma", "f16c"};
  return {};
}

std::vector<std::string> mlir::haqa::getHostCPUFeatureNames() {
  std::vector<std::string> features;
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    if (f.second)
      features.push_back(f.first().str());
  return features;
}

std::string
mlir::haqa::getMissingCPUFeature(llvm::StringRef isa,
                                 llvm::ArrayRef<std::string> features) {
  for (const std::string &f : getCPUISAFeatures(isa))
    if (!llvm::is_contained(features, f))
      return f;
  return "";
}
