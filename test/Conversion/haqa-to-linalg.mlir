// RUN: haqa-opt %s --convert-haqa-to-linalg --split-input-file --verify-diagnostics | FileCheck %s

// Q8_0: the weight becomes a byte-buffer argument; quants and scales are
// strided views of the GGUF blocks (34 bytes: f16 scale, 32 x i8), and one
// generic over (m, n, block, j) dequantizes in its body.
// CHECK-DAG: #[[$X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[$D:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-LABEL: func.func @q8_0(
// CHECK-SAME: %[[ARG:.*]]: tensor<1x64xf32>, %[[W:.*]]: memref<544xi8> {haqa.weight = "w"}) -> tensor<1x8xf32>
// CHECK: tensor.expand_shape %[[ARG]] {{\[\[}}0], [1, 2]] output_shape [1, 2, 32]
// CHECK: memref.reinterpret_cast %[[W]] to offset: [2], sizes: [8, 2, 32], strides: [68, 34, 1]
// CHECK: memref.view %[[W]]{{.*}} to memref<272xf16>
// CHECK: memref.reinterpret_cast {{.*}} to offset: [0], sizes: [8, 2], strides: [34, 17]
// CHECK: linalg.generic {indexing_maps = [#[[$X]], #[[$Q]], #[[$D]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: haqa.kernel = "matmul", haqa.loop_dims = array<i64: 0, 1, 2, 2>
// CHECK: arith.sitofp %{{.*}} : i8 to f32
// CHECK: arith.extf %{{.*}} : f16 to f32
func.func @q8_0(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// Q4_0: 18-byte blocks; loops (m, n, block, h, j), h choosing the low
// (value j) or high (value j + 16) nibble of byte j, as ggml packs them.
// CHECK-LABEL: func.func @q4_0(
// CHECK-SAME: memref<288xi8> {haqa.weight = "w"}
// CHECK: tensor.expand_shape {{.*}} output_shape [1, 2, 2, 16]
// CHECK: memref.reinterpret_cast {{.*}} to offset: [2], sizes: [8, 2, 16], strides: [36, 18, 1]
// CHECK: to offset: [0], sizes: [8, 2], strides: [18, 9]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK-SAME: haqa.loop_dims = array<i64: 0, 1, 2, 2, 2>
// CHECK: linalg.index 3
// CHECK: arith.andi
// CHECK: arith.shrui
// CHECK: arith.select
// CHECK: arith.subf
func.func @q4_0(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %w : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q4_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// Q4_1: 20-byte blocks, the min is the second f16 of each block.
// CHECK-LABEL: func.func @q4_1(
// CHECK: to offset: [4], sizes: [8, 2, 16], strides: [40, 20, 1]
// CHECK: to offset: [0], sizes: [8, 2], strides: [20, 10]
// CHECK: to offset: [1], sizes: [8, 2], strides: [20, 10]
func.func @q4_1(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q4_1>>
  %y = haqa.matmul %x, %w : tensor<?x64xf32>, !haqa.weight<8x64, #haqa.quant<q4_1>> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// F16 weights: a typed view, extended in the body; the schedule moves to
// the generic.
// CHECK-LABEL: func.func @f16(
// CHECK: memref.view {{.*}} : memref<1024xi8> to memref<8x64xf16>
// CHECK: linalg.generic {{.*}} haqa.schedule = #haqa.schedule<tile = [1, 4, 32], vector = 8>
// CHECK: arith.extf
func.func @f16(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<f16>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [1, 4, 32], vector = 8>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<f16>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// rms_norm: a sum-of-squares reduction, then the scale; softmax: max, sum
// of exp, normalize; silu elementwise.
// CHECK-LABEL: func.func @norm_softmax_silu(
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]{{.*}}haqa.kernel = "rms_norm"
// CHECK: math.rsqrt
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]{{.*}}haqa.kernel = "softmax"
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}}haqa.kernel = "softmax"
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}haqa.kernel = "softmax"
// CHECK: arith.divf
// CHECK: linalg.generic {{.*}}haqa.kernel = "silu"
// CHECK: math.exp
func.func @norm_softmax_silu(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %w = haqa.weight "n" : !haqa.weight<64, #haqa.quant<f32>>
  %y = haqa.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<?x64xf32>
  %s = haqa.softmax %y : tensor<?x64xf32>
  %t = haqa.silu %s : tensor<?x64xf32>
  return %t : tensor<?x64xf32>
}

// -----

// rope (interleaved): the partner of d is d + 1 - 2 (d mod 2); frequencies
// and signs are constant tables.
// CHECK-DAG: #[[$PARTNER:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2 - (d2 mod 2) * 2 + 1)>
// CHECK-LABEL: func.func @rope(
// CHECK: arith.constant dense<[1.000000e+00, 1.000000e+00, 1.000000e-01, 1.000000e-01
// CHECK: linalg.generic {indexing_maps = [{{.*}}, #[[$PARTNER]]
// CHECK: math.cos
// CHECK: math.sin
func.func @rope(%x: tensor<2x4x8xf32>, %p: tensor<2xi32>) -> tensor<2x4x8xf32> {
  %y = haqa.rope %x, %p {theta = 10000.0 : f32} : tensor<2x4x8xf32>, tensor<2xi32> -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

// Not lowered yet: a clear error naming the op.
func.func @attention(%q: tensor<1x4x16xf32>, %k: tensor<8x2x16xf32>, %v: tensor<8x2x16xf32>, %p: tensor<1xi32>) -> tensor<1x4x16xf32> {
  // expected-error @below {{'haqa.attention' op unimplemented: no CPU lowering for this kernel yet}}
  %o = haqa.attention %q, %k, %v, %p {scale = 0.25 : f32} : tensor<1x4x16xf32>, tensor<8x2x16xf32>, tensor<8x2x16xf32>, tensor<1xi32> -> tensor<1x4x16xf32>
  return %o : tensor<1x4x16xf32>
}
