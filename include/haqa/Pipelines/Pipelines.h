//===- Pipelines.h - each target's lowering, from typed options -*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The pass pipelines from haqa IR (kernel ops carrying #haqa.schedule) to
// what a device runs, built with OpPassManager from typed options (no
// pipeline text, so a misspelt pass is a compile error) and registered with
// PassPipelineRegistration, so that `haqa-opt --haqa-cpu-lower`,
// `--haqa-gpu-on-cpu-lower` and `--haqa-cuda-lower{...}` run the very
// pipelines the runtime compiles with.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_PIPELINES_PIPELINES_H
#define HAQA_PIPELINES_PIPELINES_H

#include "haqa/Pipelines/Target.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::haqa {

/// The host CPU pipeline (`haqa-cpu-lower`): convert-haqa-to-linalg with
/// kernel outlining, haqa-cpu-apply-schedule, bufferization (results become
/// out-parameters), vector and loop lowering, OpenMP for host threads, LLVM.
struct CPUPipelineOptions {
  /// Apply the GPU schedules instead (`haqa-gpu-on-cpu-lower`): attention
  /// over the whole KV cache, haqa-gpu-apply-schedule without address
  /// spaces (block and thread loops, K steps and staging copies as CPU
  /// loops) and results computed in the caller's destination, as on CUDA.
  bool gpuSchedules = false;
  /// The CPU features the code may use (haqa-cpu-lower-micro-kernels checks
  /// each micro-kernel's `isa` against them): "host", "any" or a
  /// comma-separated list of LLVM feature names.
  std::string features = "host";
  /// Buffers allocated and freed through the generic functions
  /// (`_mlir_memref_to_llvm_alloc` / `_aligned_alloc` / `_free`), which the
  /// CPU runtime implements with reused buffers (haqa/Runtime/BufferCache.h);
  /// false: malloc / aligned_alloc / free.
  bool bufferCache = true;
};
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// The NVIDIA pipeline (`haqa-cuda-lower`): the profile check,
/// convert-haqa-to-linalg, haqa-gpu-apply-schedule, bufferization,
/// haqa-gpu-map-forall, haqa-gpu-host-memory, vector and loop lowering,
/// gpu-kernel-outlining, NVVM, gpu-to-llvm, gpu-module-to-binary.
struct CUDAPipelineOptions {
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
/// The error names a profile that cannot be read or is no NVIDIA GPU, or
/// an unknown format.
llvm::Error buildCUDAPipeline(OpPassManager &pm,
                              const CUDAPipelineOptions &options);

/// The OpenCL pipeline (`haqa-opencl-lower`): the profile check,
/// convert-haqa-to-linalg, haqa-gpu-apply-schedule, bufferization,
/// haqa-gpu-map-forall (workgroup buffers as allocations), host memory,
/// vector and loop lowering, constant tables as kernel arguments,
/// gpu-kernel-outlining, spirv-attach-target (Kernel capability, OpenCL),
/// convert-gpu-to-spirv and gpu-module-to-binary. The host functions stay
/// func / gpu / memref ops, the OpenCL runtime's launch plan.
struct OpenCLPipelineOptions {
  /// Hardware profile id or path (an OpenCL device: workgroup size,
  /// local memory).
  std::string profile = "adreno740";
  /// SPIR-V version of the kernels (OpenCL 2.1 and 3.0 drivers take 1.0 and
  /// newer; PoCL reads them through SPIR 1.2 bitcode).
  std::string spirvVersion = "v1.0";
  /// Whether the device computes in f16 (cl_khr_fp16: the Float16
  /// capability). Without it f16 storage is read as 16-bit integers and
  /// decoded to f32 (haqa-gpu-half-as-bits); the OpenCL device sets it from
  /// what the driver reports.
  bool nativeF16 = true;
};
/// The error names a profile that cannot be read or is no OpenCL device.
llvm::Error buildOpenCLPipeline(OpPassManager &pm,
                                const OpenCLPipelineOptions &options);

/// The options of every target's pipeline; each target reads its own.
struct PipelineOptions {
  CPUPipelineOptions cpu;
  CUDAPipelineOptions cuda;
  OpenCLPipelineOptions opencl;
};

/// The lowering of `target` (gpu-on-cpu: the CPU pipeline with GPU
/// schedules, whatever `options.cpu` says).
llvm::Error buildLoweringPipeline(OpPassManager &pm, CompileTarget target,
                                  const PipelineOptions &options = {});

/// Registers `haqa-cpu-lower`, `haqa-gpu-on-cpu-lower`, `haqa-cuda-lower` and
/// `haqa-opencl-lower`.
void registerHAQAPipelines();

} // namespace mlir::haqa

#endif // HAQA_PIPELINES_PIPELINES_H
