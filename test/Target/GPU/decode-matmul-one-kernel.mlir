// The decode matmul in one launch and no device allocation: each block
// keeps its columns' partial sums over the K blocks (one per lane) in
// workgroup memory, zeroed by its threads first, then adds the lanes into
// the caller's buffer (haqa-gpu-apply-schedule's fused partial sums; a fill
// whose one use is another op's result makes no kernel of its own;
// eliminate-empty-tensors before bufferization, so the result is written
// where the caller wants it, no temporary copied there). Before: four
// launches, two allocations and a copy.
// RUN: haqa-opt %s --haqa-default-schedule=target=cuda --haqa-cuda-lower=profile=h100 2>/dev/null | FileCheck %s
// The kernel zeroes the sums and waits (bar.sync) before the K steps add to
// them, and waits again before the lanes are added:
// RUN: rm -rf %t && haqa-opt %s --haqa-default-schedule=target=cuda --haqa-cuda-lower=profile=h100 2>/dev/null | %python %haqa_src_root/python/extract_ptx.py - %t > /dev/null
// RUN: FileCheck %s --check-prefix=PTX < %t/matmul_kernel_kernel.ptx

// CHECK-LABEL: llvm.func @matmul_kernel(
// CHECK-NOT: mgpuMemAlloc
// CHECK: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: mgpuMemAlloc
// CHECK-NOT: mgpuMemcpy
// CHECK: llvm.return

// PTX: st.shared.v4.b32 {{.*}}{0f00000000, 0f00000000, 0f00000000, 0f00000000}
// PTX-NEXT: bar.sync
// PTX: ld.shared.v4.b32
// PTX: st.shared.v4.b32
// PTX-NEXT: bar.sync
// PTX: st.global.b32
func.func @kernel(%x: tensor<1x576xf32>) -> tensor<1x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<576x576, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<576x576, #haqa.quant<q4_0>> -> tensor<1x576xf32>
  return %y : tensor<1x576xf32>
}
