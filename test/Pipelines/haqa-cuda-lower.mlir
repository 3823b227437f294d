// The NVIDIA pipeline from its typed options: the profile sets the check,
// the chip and the shared-memory limit; format picks the binary.
// RUN: haqa-opt %s --pass-pipeline='builtin.module(haqa-cuda-lower{profile=h100})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=H100
// RUN: haqa-opt %s --pass-pipeline='builtin.module(haqa-cuda-lower{chip=sm_86 format=bin})' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOPROFILE
// RUN: haqa-opt %s --haqa-default-schedule=target=cuda --haqa-cuda-lower=profile=h100 | FileCheck %s
// RUN: not haqa-opt %s --haqa-cuda-lower=profile=tpu9 2>&1 | FileCheck %s --check-prefix=BADPROFILE

// H100: haqa-gpu-check-limits{{.*}}profile=h100
// H100: convert-haqa-to-linalg{attention-whole-cache=true outline-kernels=true}
// H100: haqa-gpu-apply-schedule{{.*}}shared-memory-bytes=49152
// H100: haqa-gpu-check-limits{{.*}}profile=h100
// H100: eliminate-empty-tensors
// H100: haqa-gpu-mma-to-wmma
// H100: haqa-gpu-map-forall
// H100: haqa-gpu-host-memory
// H100: gpu-kernel-outlining
// H100: nvvm-attach-target{O=3 chip=sm_90 {{.*}}features=+ptx80
// H100: convert-gpu-to-nvvm
// H100: gpu-to-llvm
// H100: gpu-module-to-binary{{.*}}format=isa{{.*}}toolkit=/usr/local/cuda

// NOPROFILE-NOT: haqa-gpu-check-limits{{.*}}profile=h
// NOPROFILE: haqa-gpu-apply-schedule{{.*}}shared-memory-bytes=49152
// NOPROFILE: haqa-gpu-check-limits{hardware-dir= limit-source={CUDA static shared memory per block} profile= shared-memory-bytes=49152}
// NOPROFILE: nvvm-attach-target{{.*}}chip=sm_86
// NOPROFILE: gpu-module-to-binary{{.*}}format=bin

// CHECK-LABEL: llvm.func @silu_kernel
// CHECK: gpu.launch_func @silu_kernel_kernel::@silu_kernel_kernel
// CHECK: gpu.binary @silu_kernel_kernel {{.*}}#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">

// BADPROFILE: error: {{.*}}tpu9
func.func @silu(%x: tensor<2x256xf32>) -> tensor<2x256xf32> {
  %y = haqa.silu %x : tensor<2x256xf32>
  return %y : tensor<2x256xf32>
}
