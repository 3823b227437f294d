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
  /// Compiles with the lowering of `target`, one that runs on the host
  /// (cpu, or gpu-on-cpu: the GPU schedules' loop structure run on the CPU).
  explicit CPUDevice(CompileTarget target = CompileTarget::CPU,
                     PipelineOptions options = {})
      : target(target), options(std::move(options)) {}
  std::string getName() const override;
  llvm::Expected<std::unique_ptr<Executable>> compile(ModuleOp module) override;

private:
  CompileTarget target;
  PipelineOptions options;
};

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_CPUDEVICE_H
