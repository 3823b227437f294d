// A constant table read in a kernel moves out of the launch, so that
// outlining passes it as a kernel argument (SPIR-V for OpenCL lowers no
// memref global in a kernel).
// RUN: haqa-opt %s --haqa-gpu-hoist-constants | FileCheck %s
// RUN: haqa-opt %s --haqa-gpu-hoist-constants --gpu-kernel-outlining | FileCheck %s --check-prefix=OUTLINED

// CHECK-LABEL: func.func @rope_like(
// CHECK: %[[SIGNS:.*]] = memref.get_global @signs
// CHECK-NEXT: gpu.launch
// CHECK-NOT: memref.get_global
// CHECK: memref.load %[[SIGNS]]

// OUTLINED: %[[SIGNS:.*]] = memref.get_global @signs
// OUTLINED: gpu.launch_func  @rope_like_kernel::@rope_like_kernel {{.*}} args(%arg0 : memref<4xf32>, %[[SIGNS]] : memref<4xf32>, %arg1 : memref<4xf32>)
// OUTLINED: gpu.func @rope_like_kernel(%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>) kernel
// OUTLINED-NOT: memref.get_global
memref.global "private" constant @signs : memref<4xf32> = dense<[-1.0, 1.0, -1.0, 1.0]>
func.func @rope_like(%x: memref<4xf32>, %y: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %s = memref.get_global @signs : memref<4xf32>
    %v = memref.load %x[%tx] : memref<4xf32>
    %m = memref.load %s[%tx] : memref<4xf32>
    %p = arith.mulf %v, %m : f32
    memref.store %p, %y[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}
