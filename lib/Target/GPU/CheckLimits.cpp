//===- CheckLimits.cpp - schedules against the GPU's limits -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa-gpu-check-limits: each haqa kernel's schedule against a hardware
// profile's thread, grid and tensor-core limits (before the kernels are
// lowered), and the workgroup memory haqa-gpu-apply-schedule recorded on
// each block loop against the profile's shared memory per block (after
// it). Each error names the limit and where it comes from.
//
//===----------------------------------------------------------------------===//

#include "haqa/Hardware/Profile.h"
#include "haqa/Target/GPU/Passes.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUCHECKLIMITSPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// CUDA's static shared memory per block: the limit without a profile.
constexpr int64_t kCUDAStaticSharedBytes = 48 * 1024;

/// Checks every kernel's schedule against `hw`; false after an error.
bool checkKernels(ModuleOp module, const HardwareProfile &hw) {
  TargetLimits limits = hw.getLimits();
  std::string who = (hw.name + " (" + hw.id + ")");
  // Per-dimension block limits: CUDA's x, y <= 1024 and z <= 64.
  const int64_t dimLimit[3] = {1024, 1024, 64};
  bool ok = true;
  module.walk([&](KernelOpInterface kernel) {
    ScheduleAttr s = kernel.getSchedule();
    if (!s)
      return;
    ArrayRef<int64_t> threads = s.getThreads();
    int64_t total = 1;
    for (auto [i, t] : llvm::enumerate(threads)) {
      total *= t;
      if (hw.kind == TargetKind::CUDA && i < 3 && t > dimLimit[i]) {
        kernel->emitOpError() << "schedule has " << t << " threads along "
                              << "xyz"[i] << "; " << who << " allows at most "
                              << dimLimit[i] << " (CUDA block dimension limit)";
        ok = false;
        return;
      }
    }
    if (total > limits.maxThreadsPerBlock) {
      kernel->emitOpError()
          << "schedule has " << total << " threads per block; " << who
          << " allows at most " << limits.maxThreadsPerBlock
          << " (max_threads_per_block)";
      ok = false;
      return;
    }
    if (s.getMma().value_or(0) == 1 &&
        (!hw.tensorCores || hw.kind != TargetKind::CUDA)) {
      kernel->emitOpError() << "schedule has mma = 1; " << who
                            << " has no tensor cores (tensor_cores is false)";
      ok = false;
      return;
    }
    int64_t blocks = 1;
    for (int64_t g : s.getGrid())
      blocks *= g;
    if (blocks > (int64_t{1} << 31) - 1) {
      kernel->emitOpError() << "schedule has " << blocks << " blocks; " << who
                            << " allows at most 2147483647 (grid x limit)";
      ok = false;
    }
  });
  return ok;
}

/// Checks the workgroup memory recorded on every block loop
/// (kWorkgroupBytesAttrName) against `limit` bytes, named `source` in the
/// error; false after an error.
bool checkWorkgroupMemory(ModuleOp module, int64_t limit, StringRef source) {
  bool ok = true;
  module.walk([&](scf::ForallOp block) {
    auto bytes = block->getAttrOfType<IntegerAttr>(kWorkgroupBytesAttrName);
    if (!bytes || bytes.getInt() <= limit)
      return;
    // At the kernel op's location; the block loop itself would print whole.
    InFlightDiagnostic diag = emitError(block.getLoc())
                              << "schedule stages " << bytes.getInt()
                              << " bytes of shared memory per block";
    if (auto tiles = block->getAttrOfType<DenseI64ArrayAttr>(kMmaTilesAttrName);
        tiles && tiles.size() == 3)
      diag << " (mma tiles " << tiles[0] << "x" << tiles[1] << "x" << tiles[2]
           << ")";
    diag << "; the limit is " << limit << " bytes (" << source << ")";
    ok = false;
  });
  return ok;
}

struct HAQAGPUCheckLimitsPass
    : haqa::impl::HAQAGPUCheckLimitsPassBase<HAQAGPUCheckLimitsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t sharedLimit = sharedMemoryBytes;
    std::string source = limitSource;
    bool ok = true;
    if (!profile.empty()) {
      llvm::Expected<HardwareProfile> found =
          loadHardwareProfile(profile, hardwareDir);
      if (!found) {
        module.emitError() << "haqa-gpu-check-limits: "
                           << llvm::toString(found.takeError());
        return signalPassFailure();
      }
      const HardwareProfile &hw = *found;
      if (hw.kind == TargetKind::CPU) {
        module.emitError() << "haqa-gpu-check-limits: profile '" << hw.id
                           << "' is a CPU";
        return signalPassFailure();
      }
      ok = checkKernels(module, hw);
      if (sharedLimit <= 0)
        sharedLimit = hw.getLimits().sharedMemoryBytes;
      if (source.empty())
        source = hw.id + " static shared memory per block";
    }
    if (sharedLimit <= 0)
      sharedLimit = kCUDAStaticSharedBytes;
    if (source.empty())
      source = "shared-memory-bytes";
    if (!checkWorkgroupMemory(module, sharedLimit, source))
      ok = false;
    if (!ok)
      signalPassFailure();
  }
};

} // namespace
