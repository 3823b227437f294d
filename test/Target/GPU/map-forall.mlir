// scf.forall mapped to GPU blocks and threads becomes gpu.launch.
// RUN: haqa-opt %s --haqa-gpu-map-forall --canonicalize --split-input-file --verify-diagnostics | FileCheck %s
// For SPIR-V (attributions=false) the staging buffer stays an allocation,
// at the start of the launch:
// RUN: haqa-opt %s --haqa-gpu-map-forall=attributions=false --canonicalize --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=ALLOC
// ALLOC-LABEL: func.func @blocks_and_threads(
// ALLOC: gpu.launch blocks({{.*}}) threads({{.*}}) in ({{.*}}) {
// ALLOC-NEXT: %[[WG:.*]] = memref.alloc() : memref<1x256xf32, #gpu.address_space<workgroup>>
// ALLOC: memref.load %[[WG]]

// One block per iteration of the block loop, the block size from
// haqa.threads; the staging buffer becomes a workgroup attribution. A thread
// loop with fewer iterations than threads is guarded, one with more walks
// them with a stride of the block; a barrier follows every thread loop but
// the last; memref.copy in the kernel is a linalg.copy.
// CHECK-LABEL: func.func @blocks_and_threads(
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C4]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[TX:.*]], %[[TY:.*]], %[[TZ:.*]]) in (%{{.*}} = %[[C128]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) workgroup(%[[WG:.*]] : memref<1x256xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[TID:.*]], %{{.*}} : index
// CHECK: scf.if %[[IN]] {
// CHECK: linalg.copy ins(%{{.*}} : memref<1x4xf32, {{.*}}>) outs(%{{.*}} : memref<1x4xf32, {{.*}}#gpu.address_space<workgroup>>)
// CHECK: }
// CHECK-NEXT: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %[[C128]] {
// CHECK: memref.load %[[WG]]
// CHECK: }
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
func.func @blocks_and_threads(%x: memref<4x256xf32>, %y: memref<4x256xf32>) {
  scf.forall (%i) in (4) {
    %sx = memref.subview %x[%i, 0] [1, 256] [1, 1] : memref<4x256xf32> to memref<1x256xf32, strided<[256, 1], offset: ?>>
    %buf = memref.alloc() : memref<1x256xf32, #gpu.address_space<workgroup>>
    scf.forall (%t) in (64) {
      %j = affine.apply affine_map<(d0) -> (d0 * 4)>(%t)
      %src = memref.subview %sx[0, %j] [1, 4] [1, 1] : memref<1x256xf32, strided<[256, 1], offset: ?>> to memref<1x4xf32, strided<[256, 1], offset: ?>>
      %dst = memref.subview %buf[0, %j] [1, 4] [1, 1] : memref<1x256xf32, #gpu.address_space<workgroup>> to memref<1x4xf32, strided<[256, 1], offset: ?>, #gpu.address_space<workgroup>>
      memref.copy %src, %dst : memref<1x4xf32, strided<[256, 1], offset: ?>> to memref<1x4xf32, strided<[256, 1], offset: ?>, #gpu.address_space<workgroup>>
    } {mapping = [#gpu.thread<linear_dim_0>]}
    scf.forall (%t) in (256) {
      %c0 = arith.constant 0 : index
      %v = memref.load %buf[%c0, %t] : memref<1x256xf32, #gpu.address_space<workgroup>>
      %w = arith.addf %v, %v : f32
      memref.store %w, %y[%i, %t] : memref<4x256xf32>
    } {mapping = [#gpu.thread<linear_dim_0>]}
  } {haqa.threads = array<i64: 128>, mapping = [#gpu.block<linear_dim_0>]}
  return
}

// -----

// haqa.grid: two blocks walk the 8 tiles with a stride of 2; linear thread
// ids over a 2-d thread loop (linear_dim_0 fastest).
// CHECK-LABEL: func.func @grid_stride(
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C2]],
// CHECK: scf.for %[[TILE:.*]] = %[[BX]] to %[[C8]] step %[[C2]] {
// CHECK: arith.remui %{{.*}}, %{{.*}} : index
// CHECK: arith.divui %{{.*}}, %{{.*}} : index
// CHECK: memref.store
func.func @grid_stride(%y: memref<8x64xf32>) {
  scf.forall (%i) in (8) {
    scf.forall (%r, %c) in (2, 32) {
      %cst = arith.constant 1.0 : f32
      %col = affine.apply affine_map<(d0, d1) -> (d0 * 32 + d1)>(%r, %c)
      memref.store %cst, %y[%i, %col] : memref<8x64xf32>
    } {mapping = [#gpu.thread<linear_dim_1>, #gpu.thread<linear_dim_0>]}
  } {haqa.grid = 2 : i64, haqa.threads = array<i64: 64>, mapping = [#gpu.block<linear_dim_0>]}
  return
}

// -----

func.func @unbufferized(%y: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{must be bufferized before haqa-gpu-map-forall}}
  %r = scf.forall (%i) in (8) shared_outs(%o = %y) -> (tensor<8xf32>) {
  } {mapping = [#gpu.block<linear_dim_0>]}
  return %r : tensor<8xf32>
}

// -----

func.func @global_alloc_in_kernel(%y: memref<8xf32>) {
  scf.forall (%i) in (8) {
    // expected-error @+1 {{allocates global memory inside a GPU kernel}}
    %b = memref.alloc() : memref<4xf32>
    scf.forall (%t) in (4) {
      %cst = arith.constant 1.0 : f32
      memref.store %cst, %b[%t] : memref<4xf32>
    } {mapping = [#gpu.thread<linear_dim_0>]}
  } {haqa.threads = array<i64: 4>, mapping = [#gpu.block<linear_dim_0>]}
  return
}

// -----

// A forall mapped to warps: the warp id is the linear thread id over 32;
// 128 threads are 4 warps, so 2 iterations are guarded and 8 are strided;
// a barrier follows the warp loop when more work of the block follows.
// CHECK-LABEL: func.func @warps(
// CHECK: gpu.launch
// CHECK: %[[WARP:.*]] = arith.divui %{{.*}}, %c32 : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[WARP]], %c2 : index
// CHECK: scf.if %[[IN]] {
// CHECK: memref.store
// CHECK: }
// CHECK-NEXT: gpu.barrier
// CHECK: %[[WARP2:.*]] = arith.divui %{{.*}}, %c32 : index
// CHECK: scf.for %{{.*}} = %[[WARP2]] to %c8 step %c4 {
func.func @warps(%y: memref<8xf32>) {
  scf.forall (%i) in (1) {
    scf.forall (%w) in (2) {
      %cst = arith.constant 1.0 : f32
      memref.store %cst, %y[%w] : memref<8xf32>
    } {mapping = [#gpu.warp<linear_dim_0>]}
    scf.forall (%w) in (8) {
      %cst = arith.constant 2.0 : f32
      memref.store %cst, %y[%w] : memref<8xf32>
    } {mapping = [#gpu.warp<linear_dim_0>]}
  } {haqa.threads = array<i64: 128>, mapping = [#gpu.block<linear_dim_0>]}
  return
}

// -----

func.func @warps_of_odd_blocks(%y: memref<8xf32>) {
  scf.forall (%i) in (1) {
    // expected-error @+1 {{is mapped to warps but the block has 48 threads, not a multiple of 32}}
    scf.forall (%w) in (2) {
      %cst = arith.constant 1.0 : f32
      memref.store %cst, %y[%w] : memref<8xf32>
    } {mapping = [#gpu.warp<linear_dim_0>]}
  } {haqa.threads = array<i64: 48>, mapping = [#gpu.block<linear_dim_0>]}
  return
}

// -----

// A thread's private buffer: a private attribution, or (attributions=false)
// an alloca at the start of the launch.
// CHECK-LABEL: func.func @private_buffer(
// CHECK: gpu.launch {{.*}} private(%[[P:.*]] : memref<1xf32, #gpu.address_space<private>>)
// CHECK: memref.store %{{.*}}, %[[P]]
// ALLOC-LABEL: func.func @private_buffer(
// ALLOC: gpu.launch
// ALLOC-NEXT: %[[P:.*]] = memref.alloca() : memref<1xf32, #gpu.address_space<private>>
// ALLOC: memref.store %{{.*}}, %[[P]]
func.func @private_buffer(%x: memref<64xf32>, %y: memref<64xf32>) {
  scf.forall (%i) in (1) {
    scf.forall (%t) in (64) {
      %c0 = arith.constant 0 : index
      %p = memref.alloc() : memref<1xf32, #gpu.address_space<private>>
      %v = memref.load %x[%t] : memref<64xf32>
      memref.store %v, %p[%c0] : memref<1xf32, #gpu.address_space<private>>
      %w = memref.load %p[%c0] : memref<1xf32, #gpu.address_space<private>>
      memref.store %w, %y[%t] : memref<64xf32>
      memref.dealloc %p : memref<1xf32, #gpu.address_space<private>>
    } {mapping = [#gpu.thread<linear_dim_0>]}
  } {haqa.threads = array<i64: 64>, mapping = [#gpu.block<linear_dim_0>]}
  return
}
