//===- CPUDevice.h - the host CPU target ------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_CPUDEVICE_H
#define HAQA_RUNTIME_CPUDEVICE_H

#include "haqa/Runtime/Device.h"

#include "mlir/Pass/PassManager.h"

namespace mlir::haqa {

/// The passes from haqa IR (kernel ops carrying #haqa.schedule) to the LLVM
/// dialect for the host: convert-haqa-to-linalg, haqa-cpu-apply-schedule,
/// bufferization (results become out-parameters), vector and loop lowering,
/// OpenMP for host threads, then LLVM.
///
/// With `gpuSchedule`, the schedules are the GPU ones, applied by
/// haqa-gpu-apply-schedule without address spaces: block and thread loops,
/// K steps and staging copies run as CPU loops, so the numerics of a GPU
/// schedule can be checked on a machine without a GPU (`haqa-gpu-on-cpu-lower`).
void buildCPULoweringPipeline(OpPassManager &pm, bool gpuSchedule = false);

/// Registers `haqa-cpu-lower` (the pipeline above) with the pass registry.
void registerCPUPipelines();

/// The host CPU: JIT through MLIR's ExecutionEngine, code generated for the
/// host's own CPU name and features (AVX-512, VNNI, ... where present).
class CPUDevice : public Device {
public:
  /// `gpuSchedule`: run GPU schedules' loop structure on the CPU (above).
  explicit CPUDevice(bool gpuSchedule = false) : gpuSchedule(gpuSchedule) {}
  std::string getName() const override;
  llvm::Expected<std::unique_ptr<Executable>> compile(ModuleOp module) override;

private:
  bool gpuSchedule;
};

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_CPUDEVICE_H
