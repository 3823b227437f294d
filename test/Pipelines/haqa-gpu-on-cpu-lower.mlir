// GPU schedules run as CPU loops: the CPU pipeline with the GPU schedule
// pass (no address spaces), attention over the whole KV cache and results
// computed in the caller's destination, as in the CUDA pipeline.
// RUN: haqa-opt %s --pass-pipeline='builtin.module(haqa-gpu-on-cpu-lower)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPE
// RUN: haqa-opt %s --haqa-default-schedule=target=cuda --haqa-gpu-on-cpu-lower | FileCheck %s

// PIPE: convert-haqa-to-linalg{attention-whole-cache=true outline-kernels=true}
// PIPE: haqa-gpu-apply-schedule{address-spaces=false
// PIPE-NOT: haqa-cpu-apply-schedule
// PIPE: haqa-gpu-check-limits{{.*}}profile= shared-memory-bytes=0}
// PIPE: eliminate-empty-tensors
// PIPE: one-shot-bufferize
// PIPE: convert-scf-to-openmp
// PIPE: reconcile-unrealized-casts

// CHECK-LABEL: llvm.func @silu
// CHECK-NOT: gpu.launch
func.func @silu(%x: tensor<2x256xf32>) -> tensor<2x256xf32> {
  %y = haqa.silu %x : tensor<2x256xf32>
  return %y : tensor<2x256xf32>
}
