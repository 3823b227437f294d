// The OpenCL pipeline from its typed options: the profile sets the check and
// the local-memory limit; workgroup buffers stay allocations (SPIR-V lowers
// no attribution); constant tables become kernel arguments; 16-bit floats
// the device cannot compute in are decoded from their bits; the kernels
// become SPIR-V (Kernel capability) in gpu.binary ops and the host stays
// func / gpu / memref ops, the runtime's launch plan.
// RUN: haqa-opt %s --pass-pipeline='builtin.module(haqa-opencl-lower{profile=adreno740})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: haqa-opt %s --pass-pipeline='builtin.module(haqa-opencl-lower{profile=adreno740 native-f16=false})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOF16
// RUN: haqa-opt %s --haqa-default-schedule=target=opencl --haqa-opencl-lower=profile=adreno740 | FileCheck %s
// RUN: not haqa-opt %s --haqa-opencl-lower=profile=h100 2>&1 | FileCheck %s --check-prefix=NOTOPENCL
// RUN: not haqa-opt %s --haqa-opencl-lower=profile=tpu9 2>&1 | FileCheck %s --check-prefix=BADPROFILE

// PIPELINE: haqa-gpu-check-limits{{.*}}profile=adreno740
// PIPELINE: convert-haqa-to-linalg{attention-whole-cache=true outline-kernels=true}
// PIPELINE: haqa-gpu-apply-schedule{{.*}}shared-memory-bytes=32768
// PIPELINE: haqa-gpu-map-forall{attributions=false}
// PIPELINE: haqa-gpu-host-memory
// PIPELINE: haqa-gpu-hoist-constants
// PIPELINE: gpu-kernel-outlining
// PIPELINE: haqa-gpu-half-as-bits{bf16=true f16=false}
// PIPELINE: spirv-attach-target{caps={Kernel,Addresses,Int64,Int8,Int16,Vector16,Float16} client_api=OpenCL
// PIPELINE: haqa-gpu-prepare-spirv
// PIPELINE: convert-math-to-spirv
// PIPELINE: convert-gpu-to-spirv{use-64bit-index=true}
// PIPELINE: spirv-lower-abi-attrs
// PIPELINE: haqa-spirv-expand-composite-construct
// PIPELINE: spirv-update-vce
// PIPELINE: gpu-module-to-binary

// NOF16: haqa-gpu-half-as-bits{bf16=true f16=true}
// NOF16: spirv-attach-target{caps={Kernel,Addresses,Int64,Int8,Int16,Vector16} client_api=OpenCL

// CHECK-LABEL: func.func private @silu_kernel(
// CHECK: gpu.launch_func  @silu_kernel_kernel::@silu_kernel_kernel blocks in
// CHECK-NEXT: return
// CHECK: gpu.binary @silu_kernel_kernel [#gpu.object<#spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses, Int64, Int8, Int16, Vector16, Float16], []>, api=OpenCL

// NOTOPENCL: profile 'h100' is not an OpenCL device
// BADPROFILE: tpu9
func.func @kernel(%x: tensor<2x256xf32>) -> tensor<2x256xf32> {
  %y = haqa.silu %x : tensor<2x256xf32>
  return %y : tensor<2x256xf32>
}
