//===- CUDADevice.h - NVIDIA GPUs through the CUDA driver API ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_CUDADEVICE_H
#define HAQA_RUNTIME_CUDADEVICE_H

#include "haqa/Runtime/Device.h"

#include "mlir/Pass/PassManager.h"

namespace mlir::haqa {

struct CUDALoweringOptions {
  /// Hardware profile id or path checked against (threads, shared memory);
  /// empty: no profile check. Its `arch` is the default chip.
  std::string profile;
  /// sm_80, sm_86, sm_89, sm_90, ...; empty: the profile's, else sm_80.
  std::string chip;
  /// PTX ISA version feature.
  std::string features = "+ptx80";
  /// isa (PTX, JIT-compiled by the driver), bin (cubin via ptxas) or fatbin.
  std::string format = "isa";
  /// Where ptxas / fatbinary are for format = bin / fatbin.
  std::string toolkit = "/usr/local/cuda";
};

/// The passes from haqa IR (kernel ops with #haqa.schedule) to the LLVM
/// dialect for the host with the kernels as gpu.binary objects: the
/// profile check, convert-haqa-to-linalg, haqa-gpu-apply-schedule,
/// bufferization, haqa-gpu-map-forall, haqa-gpu-host-memory, vector and loop
/// lowering, gpu-kernel-outlining, NVVM, gpu-to-llvm, gpu-module-to-binary.
/// The error names a profile that cannot be read.
llvm::Error buildCUDALoweringPipeline(OpPassManager &pm,
                                      const CUDALoweringOptions &options);

/// Registers `haqa-cuda-lower{profile=h100 chip=sm_90 format=isa}`.
void registerCUDAPipelines();

/// An NVIDIA GPU: kernels compiled to PTX / cubin, the host side JIT-ed
/// with the mgpu* wrappers bound to HAQA's own (over the driver API),
/// buffers copied to device memory for each run, timed with CUDA events.
class CUDADevice : public Device {
public:
  /// The first GPU; the error says why there is none (no driver, ...).
  static llvm::Expected<std::unique_ptr<CUDADevice>>
  create(CUDALoweringOptions options = {});

  std::string getName() const override { return name; }
  /// "sm_90" from the device's compute capability.
  llvm::StringRef getChip() const { return options.chip; }
  llvm::Expected<std::unique_ptr<Executable>> compile(ModuleOp module) override;

private:
  CUDADevice() = default;
  std::string name;
  CUDALoweringOptions options;
};

/// Whether a CUDA device can be opened here; `why` says why not.
bool isCUDAAvailable(std::string *why = nullptr);

/// isCUDAAvailable asked in a forked child: for processes that measure in
/// forked children themselves (CUDA does not survive a fork after cuInit).
bool isCUDAAvailableInChild(std::string *why = nullptr);

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_CUDADEVICE_H
