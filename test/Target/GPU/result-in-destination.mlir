// The CUDA pipeline computes a kernel's result in the caller's buffer
// (eliminate-empty-tensors before bufferization): the decode matmul makes
// its four launches (zero fill, zero partial sums, the partial sums, their
// sum) and allocates only the partial sums, with no device-to-device copy of
// a temporary result at the end (one launch and one allocation fewer per
// kernel call; 423 copies fewer per SmolLM2 decode step).
// RUN: haqa-opt %s --haqa-default-schedule=target=cuda --haqa-cuda-lower=profile=h100 2>/dev/null | FileCheck %s

// CHECK-LABEL: llvm.func @matmul_kernel(
// CHECK-NOT: mgpuMemAlloc
// CHECK: gpu.launch_func
// CHECK: call @mgpuMemAlloc
// CHECK-NOT: mgpuMemAlloc
// CHECK-COUNT-3: gpu.launch_func
// CHECK-NOT: mgpuMemcpy
// CHECK: llvm.return
func.func @kernel(%x: tensor<1x576xf32>) -> tensor<1x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<576x576, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<576x576, #haqa.quant<q4_0>> -> tensor<1x576xf32>
  return %y : tensor<1x576xf32>
}
