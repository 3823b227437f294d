// Fragment matmuls tagged haqa.mma become warp-synchronous tensor-core ops.
// RUN: haqa-opt %s --haqa-gpu-mma-to-wmma --split-input-file --verify-diagnostics | FileCheck %s

// A 16 x 64 by 64 x 16 fragment matmul in workgroup memory: the sums are
// loaded once, four K steps of 16 load A and B fragments (row-major, the
// leading dimension from each view's row stride) and accumulate, and the
// sums are stored back. Untagged matmuls are left alone.
// CHECK-LABEL: func.func @fragment(
// CHECK-SAME: %[[A:.*]]: memref<16x64xf16, {{.*}}>, %[[B:.*]]: memref<64x16xf16, {{.*}}>, %[[C:.*]]: memref<16x16xf32, {{.*}}>
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[ACC:.*]] = gpu.subgroup_mma_load_matrix %[[C]][%[[C0]], %[[C0]]] {leadDimension = 32 : index} : memref<16x16xf32, {{.*}}> -> !gpu.mma_matrix<16x16xf32, "COp">
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[SUM:.*]] = scf.for %[[K:.*]] = %[[C0]] to %[[C64]] step %[[C16]] iter_args(%[[IT:.*]] = %[[ACC]])
// CHECK: %[[FA:.*]] = gpu.subgroup_mma_load_matrix %[[A]][%[[C0]], %[[K]]] {leadDimension = 64 : index} : {{.*}} -> !gpu.mma_matrix<16x16xf16, "AOp">
// CHECK: %[[FB:.*]] = gpu.subgroup_mma_load_matrix %[[B]][%[[K]], %[[C0]]] {leadDimension = 32 : index} : {{.*}} -> !gpu.mma_matrix<16x16xf16, "BOp">
// CHECK: %[[R:.*]] = gpu.subgroup_mma_compute %[[FA]], %[[FB]], %[[IT]]
// CHECK: scf.yield %[[R]]
// CHECK: gpu.subgroup_mma_store_matrix %[[SUM]], %[[C]][%[[C0]], %[[C0]]] {leadDimension = 32 : index}
// CHECK-NOT: linalg.matmul {haqa.mma}
// CHECK: linalg.matmul ins
func.func @fragment(%a: memref<16x64xf16, strided<[64, 1], offset: ?>, #gpu.address_space<workgroup>>,
                    %b: memref<64x16xf16, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>,
                    %c: memref<16x16xf32, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>,
                    %x: memref<4x4xf32>, %y: memref<4x4xf32>, %z: memref<4x4xf32>) {
  linalg.matmul {haqa.mma} ins(%a, %b : memref<16x64xf16, strided<[64, 1], offset: ?>, #gpu.address_space<workgroup>>, memref<64x16xf16, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>) outs(%c : memref<16x16xf32, strided<[32, 1], offset: ?>, #gpu.address_space<workgroup>>)
  linalg.matmul ins(%x, %y : memref<4x4xf32>, memref<4x4xf32>) outs(%z : memref<4x4xf32>)
  return
}

// -----

// Not a 16 x 16 fragment.
func.func @not_a_fragment(%a: memref<8x64xf16>, %b: memref<64x16xf16>, %c: memref<8x16xf32>) {
  // expected-error @+1 {{haqa.mma: expected a 16xK by Kx16 fragment matmul with K a multiple of 16}}
  linalg.matmul {haqa.mma} ins(%a, %b : memref<8x64xf16>, memref<64x16xf16>) outs(%c : memref<8x16xf32>)
  return
}

// -----

// Tensor cores take f16 inputs here.
func.func @f32_inputs(%a: memref<16x16xf32>, %b: memref<16x16xf32>, %c: memref<16x16xf32>) {
  // expected-error @+1 {{haqa.mma: expected f16 inputs and f32 sums}}
  linalg.matmul {haqa.mma} ins(%a, %b : memref<16x16xf32>, memref<16x16xf32>) outs(%c : memref<16x16xf32>)
  return
}

// -----

// A dynamic row stride cannot be a fragment's leading dimension.
func.func @dynamic_stride(%a: memref<16x16xf16, strided<[?, 1]>>, %b: memref<16x16xf16>, %c: memref<16x16xf32>) {
  // expected-error @+1 {{haqa.mma: operands need static row strides and contiguous rows}}
  linalg.matmul {haqa.mma} ins(%a, %b : memref<16x16xf16, strided<[?, 1]>>, memref<16x16xf16>) outs(%c : memref<16x16xf32>)
  return
}
