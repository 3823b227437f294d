// Alignment of outlined kernels' buffers.
// RUN: haqa-opt %s --haqa-gpu-align-workgroup --split-input-file | FileCheck %s --check-prefix=WG
// RUN: haqa-opt %s --haqa-gpu-align-workgroup=alignment=64 --split-input-file | FileCheck %s --check-prefix=WG64
// RUN: not haqa-opt %s --haqa-gpu-align-workgroup=alignment=24 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: haqa-opt %s --haqa-gpu-align-kernel-args --split-input-file | FileCheck %s --check-prefix=ARGS

// Workgroup buffers get an alignment (wmma fragments need 32 bytes); one
// already set is kept.
// WG: gpu.func @k() workgroup(%{{.*}} : memref<16x16xf16, #gpu.address_space<workgroup>> {llvm.align = 32 : i64}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 8 : i64})
// WG64: workgroup(%{{.*}} : memref<16x16xf16, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 8 : i64})
// BAD: alignment must be a power of two, got 24
gpu.module @m {
  gpu.func @k() workgroup(%a : memref<16x16xf16, #gpu.address_space<workgroup>>, %b : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 8 : i64}) kernel {
    gpu.return
  }
}

// -----

// Kernel arguments that view a device allocation from its first byte (a
// host argument through a subview / reinterpret_cast / view at byte 0, or a
// gpu.alloc) at every launch are marked aligned (128-bit loads); a view at
// byte 4, an index, and an argument unaligned at one of two launches are
// not.
// ARGS: gpu.func @k(%{{.*}}: memref<4x8xf32, strided<[16, 1], offset: ?>> {llvm.align = 16 : i64}, %{{.*}}: memref<8xf32> {llvm.align = 16 : i64}, %{{.*}}: memref<8xf32>, %{{.*}}: index, %{{.*}}: memref<8xf32> {llvm.align = 16 : i64}, %{{.*}}: memref<8xf32>)
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k(%a: memref<4x8xf32, strided<[16, 1], offset: ?>>, %b: memref<8xf32>, %c: memref<8xf32>, %i: index, %d: memref<8xf32>, %e: memref<8xf32>) kernel {
      gpu.return
    }
  }
  func.func @host(%x: memref<8x16xf32>, %bytes: memref<64xi8>, %i: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %sub = memref.subview %x[%i, 0] [4, 8] [1, 1] : memref<8x16xf32> to memref<4x8xf32, strided<[16, 1], offset: ?>>
    %v0 = memref.view %bytes[%c0][] : memref<64xi8> to memref<8xf32>
    %v4 = memref.view %bytes[%c4][] : memref<64xi8> to memref<8xf32>
    %dev = gpu.alloc () : memref<8xf32>
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%sub : memref<4x8xf32, strided<[16, 1], offset: ?>>, %v0 : memref<8xf32>, %v4 : memref<8xf32>, %i : index, %dev : memref<8xf32>, %dev : memref<8xf32>)
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%sub : memref<4x8xf32, strided<[16, 1], offset: ?>>, %v0 : memref<8xf32>, %v4 : memref<8xf32>, %i : index, %dev : memref<8xf32>, %v4 : memref<8xf32>)
    return
  }
}
