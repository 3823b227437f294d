//===- CPUDevice.h - the host CPU target ------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_CPUDEVICE_H
#define HAQA_RUNTIME_CPUDEVICE_H

#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Runtime/Device.h"

namespace mlir::haqa {

/// The host CPU: JIT through MLIR's ExecutionEngine, code generated for the
/// host's own CPU name and features (AVX-512, VNNI, ... where present).
class CPUDevice : public Device {
public:
  /// Compiles with the CPU pipeline under `options` (gpuSchedules: the GPU
  /// schedules' loop structure run on the CPU, the gpu-on-cpu target).
  explicit CPUDevice(CPUPipelineOptions options = {}) : options(options) {}
  std::string getName() const override;
  llvm::Expected<std::unique_ptr<Executable>> compile(ModuleOp module) override;

private:
  CPUPipelineOptions options;
};

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_CPUDEVICE_H
