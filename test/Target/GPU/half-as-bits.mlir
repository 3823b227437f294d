// f16 / bf16 storage read as 16-bit integers and decoded to f32 with
// integer operations (devices without 16-bit float arithmetic): the views
// of the weight bytes on the host, the kernel's argument, its loads and
// its conversions change; nothing else does.
// RUN: haqa-opt %s --haqa-gpu-half-as-bits --split-input-file --verify-diagnostics | FileCheck %s
// RUN: haqa-opt %s --haqa-gpu-half-as-bits=f16=false --split-input-file | FileCheck %s --check-prefix=BF16ONLY

// CHECK-LABEL: func.func @scales(
// CHECK: memref.view %{{.*}} : memref<64xi8> to memref<32xi16>
// CHECK: memref.view %{{.*}} : memref<64xi8> to memref<32xi16>
// CHECK: gpu.launch_func {{.*}} args(%{{.*}} : memref<32xi16>, %{{.*}} : memref<32xi16>, %{{.*}} : memref<32xf32>)
// CHECK: gpu.func @k(%{{.*}}: memref<32xi16>, %{{.*}}: memref<32xi16>, %{{.*}}: memref<32xf32>) kernel
// f16: sign, exponent rebiased by 112, mantissa << 13; subnormals x 2^-24;
// all-ones exponent kept.
// CHECK: %[[H:.*]] = vector.load %{{.*}} : memref<32xi16>, vector<4xi16>
// CHECK: arith.extui %[[H]] : vector<4xi16> to vector<4xi32>
// CHECK: arith.constant dense<112>
// CHECK: arith.constant dense<2139095040>
// CHECK: arith.constant dense<5.96046448E-8>
// CHECK: arith.bitcast %{{.*}} : vector<4xi32> to vector<4xf32>
// bf16: the high half of an f32.
// CHECK: %[[B:.*]] = memref.load %{{.*}} : memref<32xi16>
// CHECK: %[[B32:.*]] = arith.extui %[[B]] : i16 to i32
// CHECK: %[[SHIFTED:.*]] = arith.shli %[[B32]], %{{.*}} : i32
// CHECK: arith.bitcast %[[SHIFTED]] : i32 to f32
// CHECK-NOT: f16

// BF16ONLY: gpu.func @k(%{{.*}}: memref<32xf16>, %{{.*}}: memref<32xi16>, %{{.*}}: memref<32xf32>) kernel
// BF16ONLY: arith.extf %{{.*}} : vector<4xf16> to vector<4xf32>
module attributes {gpu.container_module} {
  func.func @scales(%bytes: memref<64xi8>, %out: memref<32xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %h = memref.view %bytes[%c0][] : memref<64xi8> to memref<32xf16>
    %b = memref.view %bytes[%c0][] : memref<64xi8> to memref<32xbf16>
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%h : memref<32xf16>, %b : memref<32xbf16>, %out : memref<32xf32>)
    return
  }
  gpu.module @k {
    gpu.func @k(%h: memref<32xf16>, %b: memref<32xbf16>, %out: memref<32xf32>) kernel {
      %t = gpu.thread_id x
      %c4 = arith.constant 4 : index
      %i = arith.muli %t, %c4 : index
      %v = vector.load %h[%i] : memref<32xf16>, vector<4xf16>
      %f = arith.extf %v : vector<4xf16> to vector<4xf32>
      vector.store %f, %out[%i] : memref<32xf32>, vector<4xf32>
      %s = memref.load %b[%t] : memref<32xbf16>
      %g = arith.extf %s : bf16 to f32
      memref.store %g, %out[%t] : memref<32xf32>
      gpu.return
    }
  }
}

// -----

// f16 arithmetic cannot be decoded away: the error names the op.
// expected-error @+1 {{this code needs a device with 16-bit float arithmetic}}
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%h: memref<32xf16>, %out: memref<32xf16>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %h[%t] : memref<32xf16>
      // expected-error @below {{failed to legalize operation 'arith.addf'}}
      %w = arith.addf %v, %v : f16
      memref.store %w, %out[%t] : memref<32xf16>
      gpu.return
    }
  }
}
