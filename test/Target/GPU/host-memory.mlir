// The host side of a GPU function only allocates device memory, copies
// between buffers and launches.
// RUN: haqa-opt %s --haqa-gpu-host-memory --split-input-file --verify-diagnostics | FileCheck %s

// A temporary becomes a device allocation (async on a stream of its own,
// waited for), freed at the return; a result copy is a gpu.memcpy; a scalar
// the host reads is first copied into host memory.
// CHECK-LABEL: func.func @host_side(
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[TMP:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] () : memref<4xf32>
// CHECK: gpu.wait [%[[T1]]]
// CHECK: gpu.launch
// CHECK: %[[HOST:.*]] = memref.alloc() : memref<i32>
// CHECK: %[[T2:.*]] = gpu.wait async
// CHECK: %[[T3:.*]] = gpu.memcpy async [%[[T2]]] %[[HOST]], %{{.*}} : memref<i32>, memref<i32>
// CHECK: gpu.wait [%[[T3]]]
// CHECK: memref.load %[[HOST]][] : memref<i32>
// CHECK: memref.dealloc %[[HOST]] : memref<i32>
// CHECK: gpu.memcpy async [%{{.*}}] %{{.*}}, %[[TMP]] : memref<4xf32>, memref<4xf32>
// CHECK: gpu.dealloc async [%{{.*}}] %[[TMP]] : memref<4xf32>
// CHECK: return
func.func @host_side(%last: memref<i32>, %out: memref<4xf32>) -> i32 {
  %tmp = memref.alloc() : memref<4xf32>
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%b0, %b1, %b2) in (%g0 = %c1, %g1 = %c1, %g2 = %c1) threads(%t0, %t1, %t2) in (%s0 = %c1, %s1 = %c1, %s2 = %c1) {
    %cst = arith.constant 2.0 : f32
    memref.store %cst, %tmp[%t0] : memref<4xf32>
    gpu.terminator
  }
  %v = memref.load %last[] : memref<i32>
  memref.copy %tmp, %out : memref<4xf32> to memref<4xf32>
  return %v : i32
}

// -----

func.func @compute_left_on_host(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{reads or writes memory outside a GPU kernel: the GPU schedule left it on the host}}
  linalg.copy ins(%x : memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

func.func @strided_copy(%x: memref<4x4xf32>, %y: memref<4xf32>) {
  %s = memref.subview %x[0, 1] [4, 1] [1, 1] : memref<4x4xf32> to memref<4xf32, strided<[4], offset: 1>>
  // expected-error @+1 {{copies a strided view on the host; GPU kernels must make this copy}}
  memref.copy %s, %y : memref<4xf32, strided<[4], offset: 1>> to memref<4xf32>
  return
}
