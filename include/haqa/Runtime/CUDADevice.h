//===- CUDADevice.h - NVIDIA GPUs through the CUDA driver API ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_CUDADEVICE_H
#define HAQA_RUNTIME_CUDADEVICE_H

#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Runtime/Device.h"

namespace mlir::haqa {

/// An NVIDIA GPU: kernels compiled to PTX / cubin, the host side JIT-ed
/// with the mgpu* wrappers bound to HAQA's own (over the driver API),
/// buffers copied to device memory for each run, timed with CUDA events.
class CUDADevice : public Device {
public:
  /// The first GPU; the error says why there is none (no driver, ...).
  static llvm::Expected<std::unique_ptr<CUDADevice>>
  create(CUDAPipelineOptions options = {});

  std::string getName() const override { return name; }
  /// "sm_90" from the device's compute capability.
  llvm::StringRef getChip() const { return options.chip; }
  llvm::Expected<std::unique_ptr<Executable>> compile(ModuleOp module) override;

private:
  CUDADevice() = default;
  std::string name;
  CUDAPipelineOptions options;
};

/// Whether a CUDA device can be opened here; `why` says why not.
bool isCUDAAvailable(std::string *why = nullptr);

/// isCUDAAvailable asked in a forked child: for processes that measure in
/// forked children themselves (CUDA does not survive a fork after cuInit).
bool isCUDAAvailableInChild(std::string *why = nullptr);

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_CUDADEVICE_H
