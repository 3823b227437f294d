//===- OpenCLDevice.h - OpenCL devices through launch plans -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_OPENCLDEVICE_H
#define HAQA_RUNTIME_OPENCLDEVICE_H

#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Runtime/Device.h"

namespace mlir::haqa {

/// An OpenCL device (any ICD): haqa-opencl-lower's SPIR-V kernels, built as
/// IL where the device reports SPIR-V in CL_DEVICE_IL_VERSION, else
/// translated to SPIR 1.2 bitcode with llvm-spirv (cl_khr_spir: PoCL 3.1);
/// the host functions run as launch plans (LaunchPlan.h); buffers stay on
/// the device as their residency says.
class OpenCLDevice : public Device {
public:
  /// Device `index` (HAQA_OPENCL_DEVICE, default 0) of all platforms'; the
  /// error says why there is none. Probed in a forked child; the device is
  /// opened by compile(), in the process that runs the executable.
  static llvm::Expected<std::unique_ptr<OpenCLDevice>>
  create(OpenCLPipelineOptions options = {});

  std::string getName() const override { return name; }
  llvm::Expected<std::unique_ptr<Executable>> compile(ModuleOp module) override;

private:
  OpenCLDevice() = default;
  std::string name;
  int index = 0;
  OpenCLPipelineOptions options;
};

/// Whether an OpenCL device can be opened here (asked in a forked child, as
/// every OpenCL probe); `why` says why not.
bool isOpenCLAvailable(std::string *why = nullptr);

/// The llvm-spirv that translates SPIR-V to SPIR bitcode for devices
/// without IL support: $HAQA_LLVM_SPIRV, else llvm-spirv-15 or llvm-spirv
/// on PATH.
llvm::Expected<std::string> findLLVMSPIRV();

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_OPENCLDEVICE_H
