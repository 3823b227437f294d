//===- CheckLimits.cpp - schedules against the GPU's limits -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Target/GPU/Passes.h"
#include "haqa/Hardware/Profile.h"


namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAGPUCHECKLIMITSPASS
#include "haqa/Target/GPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

struct HAQAGPUCheckLimitsPass
    : haqa::impl::HAQAGPUCheckLimitsPassBase<HAQAGPUCheckLimitsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
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
          kernel->emitOpError()
              << "schedule has " << t << " threads along "
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
        kernel->emitOpError()
            << "schedule has " << blocks << " blocks; " << who
            << " allows at most 2147483647 (grid x limit)";
        ok = false;
      }
    });
    if (!ok)
      signalPassFailure();
  }
};

} // namespace
