// The CUDA pipeline makes the decode matmul in two launches: the partial
// sums over K blocks, then their sum. Each kernel zero-fills its own block's
// tile of its result first (haqa-gpu-apply-schedule: a fill whose one use is
// another op's result makes no kernel of its own), and the sum is computed
// in the caller's buffer (eliminate-empty-tensors before bufferization), so
// no temporary result is allocated and copied there. The only allocation is
// the partial sums. Before: four launches, two allocations and a copy.
// RUN: haqa-opt %s --haqa-default-schedule=target=cuda --haqa-cuda-lower=profile=h100 2>/dev/null | FileCheck %s
// The partial-sum kernel's threads zero their block's tile, then wait for
// each other (bar.sync) before the K steps accumulate into it:
// RUN: rm -rf %t && haqa-opt %s --haqa-default-schedule=target=cuda --haqa-cuda-lower=profile=h100 2>/dev/null | %python %haqa_src_root/python/extract_ptx.py - %t > /dev/null
// RUN: FileCheck %s --check-prefix=PTX < %t/matmul_kernel_kernel.ptx
// PTX: st.global.v4.b32 {{.*}}{0f00000000, 0f00000000, 0f00000000, 0f00000000}
// PTX-NEXT: bar.sync
// PTX: ld.shared.v4.b32

// CHECK-LABEL: llvm.func @matmul_kernel(
// CHECK: call @mgpuMemAlloc
// CHECK-NOT: mgpuMemAlloc
// CHECK-COUNT-2: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: mgpuMemcpy
// CHECK: llvm.return
func.func @kernel(%x: tensor<1x576xf32>) -> tensor<1x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<576x576, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<576x576, #haqa.quant<q4_0>> -> tensor<1x576xf32>
  return %y : tensor<1x576xf32>
}
