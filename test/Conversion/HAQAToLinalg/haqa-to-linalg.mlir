// RUN: haqa-opt %s --convert-haqa-to-linalg --split-input-file --verify-diagnostics | FileCheck %s
// RUN: haqa-opt %s --convert-haqa-to-linalg=attention-whole-cache=true --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=WHOLE

// Q8_0: the weight becomes a byte-buffer argument; quants and scales are
// strided views of the GGUF blocks (34 bytes: f16 scale, 32 x i8). One
// generic over (m, n, h, b, j) dequantizes in its body into 16 partial sums
// per output, j parallel (value j + 16 h of block b); a second generic
// sums them once per output.
// CHECK-DAG: #[[$GX:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d2, d4)>
// CHECK-DAG: #[[$GQ:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
// CHECK-DAG: #[[$GD:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3)>
// CHECK-DAG: #[[$GP:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
// CHECK-LABEL: func.func @q8_0(
// CHECK-SAME: %[[ARG:.*]]: tensor<2x64xf32>, %[[W:.*]]: memref<544xi8> {haqa.weight = "w"}) -> tensor<2x8xf32>
// CHECK: tensor.expand_shape %[[ARG]] {{\[\[}}0], [1, 2, 3]] output_shape [2, 2, 2, 16]
// CHECK: memref.reinterpret_cast %[[W]] to offset: [2], sizes: [8, 2, 2, 16], strides: [68, 34, 16, 1]
// CHECK: memref.view %[[W]]{{.*}} to memref<272xf16>
// CHECK: memref.reinterpret_cast {{.*}} to offset: [0], sizes: [8, 2], strides: [34, 17]
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[$GX]], #[[$GQ]], #[[$GD]], #[[$GP]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel"]}
// CHECK-SAME: outs(%{{.*}} : tensor<2x8x16xf32>)
// CHECK-SAME: haqa.kernel = "matmul", haqa.loop_dims = array<i64: 0, 1, 2, 2, 2>, haqa.loop_strides = array<i64: 1, 1, 16, 32, 1>
// CHECK-DAG: arith.sitofp %{{.*}} : i8 to f32
// CHECK-DAG: arith.extf %{{.*}} : f16 to f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]] : tensor<2x8x16xf32>) outs(%{{.*}} : tensor<2x8xf32>)
func.func @q8_0(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w : tensor<2x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A bias: the product, then one more generic adding b[n] to every row.
// CHECK-LABEL: func.func @q8_0_bias(
// CHECK: %[[Y:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: %[[B:.+]] = bufferization.to_tensor %{{.*}} : memref<8xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<8xf32>) outs(%[[Y]] : tensor<2x8xf32>)
// CHECK-SAME: haqa.kernel = "matmul", haqa.loop_dims = array<i64: 0, 1>, haqa.matmul_part = #haqa<matmul_part bias>, haqa.operands = array<i64: 2, 3>
// CHECK: arith.addf
func.func @q8_0_bias(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %b = haqa.weight "b" : !haqa.weight<8, #haqa.quant<f32>>
  %y = haqa.matmul %x, %w bias(%b : !haqa.weight<8, #haqa.quant<f32>>) : tensor<2x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A dynamic number of rows (prefill): the partial sums take it too.
// CHECK-LABEL: func.func @dynamic_rows_q8_0(
// CHECK: tensor.expand_shape {{.*}} output_shape [%{{.*}}, 2, 2, 16] : tensor<?x64xf32> into tensor<?x2x2x16xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x8x16xf32>)
func.func @dynamic_rows_q8_0(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w : tensor<?x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Q4_0: 18-byte blocks; byte j of a block holds value j in its low nibble
// (h = 0) and j + 16 in its high nibble (h = 1), as ggml packs them.
// CHECK-LABEL: func.func @q4_0(
// CHECK-SAME: memref<288xi8> {haqa.weight = "w"}
// CHECK: tensor.expand_shape {{.*}} output_shape [2, 2, 2, 16]
// CHECK: memref.reinterpret_cast {{.*}} to offset: [2], sizes: [8, 2, 16], strides: [36, 18, 1]
// CHECK: to offset: [0], sizes: [8, 2], strides: [18, 9]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel"]
// CHECK-SAME: haqa.loop_dims = array<i64: 0, 1, 2, 2, 2>
// CHECK: linalg.index 2
// CHECK: arith.andi
// CHECK: arith.shrui
// CHECK: arith.select
// CHECK: arith.subf
func.func @q4_0(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %w : tensor<2x64xf32>, !haqa.weight<8x64, #haqa.quant<q4_0>> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
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

// Q4_K: 144-byte super-blocks of 256 values read in place; the partial sums
// have one loop per level of the layout (m, n, h, hh, p, s, j: value
// 256 s + 64 p + 32 hh + 16 h + j), the nibbles a view from byte 16, the
// 6-bit scales and mins three views of the 12 scale bytes (at 0, 4 and 8),
// d and dmin the block's two f16s.
// CHECK-LABEL: func.func @q4_k(
// CHECK-SAME: memref<2304xi8> {haqa.weight = "w"}
// CHECK: to offset: [16], sizes: [8, 2, 4, 2, 16], strides: [288, 144, 32, 16, 1]
// CHECK: to offset: [0], sizes: [8, 2, 4, 2], strides: [288, 144, 2, 1]
// CHECK: to offset: [4], sizes: [8, 2, 4, 2], strides: [288, 144, 2, 1]
// CHECK: to offset: [8], sizes: [8, 2, 4, 2], strides: [288, 144, 2, 1]
// CHECK: to offset: [0], sizes: [8, 2], strides: [144, 72]
// CHECK: to offset: [1], sizes: [8, 2], strides: [144, 72]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction", "parallel"]
// CHECK-SAME: haqa.loop_dims = array<i64: 0, 1, 2, 2, 2, 2, 2>, haqa.loop_strides = array<i64: 1, 1, 16, 32, 64, 256, 1>, haqa.matmul_part = #haqa<matmul_part partial_sums>
// CHECK: arith.select
// CHECK: arith.subf
// CHECK: haqa.matmul_part = #haqa<matmul_part lane_sum>
func.func @q4_k(%x: tensor<?x512xf32>) -> tensor<?x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x512, #haqa.quant<q4_k>>
  %y = haqa.matmul %x, %w : tensor<?x512xf32>, !haqa.weight<8x512, #haqa.quant<q4_k>> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Q6_K: 210-byte super-blocks; loops (m, n, h, c0, c1, hf, s, j), value
// 256 s + 128 hf + 32 (c0 + 2 c1) + 16 h + j: the low 4 bits from ql, the
// high 2 from qh (shifted by 2 (c0 + 2 c1)), the int8 scale per 16 values
// and d, the block's last f16.
// CHECK-LABEL: func.func @q6_k(
// CHECK: to offset: [0], sizes: [8, 2, 2, 2, 2, 16], strides: [420, 210, 64, 32, 16, 1]
// CHECK: to offset: [128], sizes: [8, 2, 2, 2, 16], strides: [420, 210, 32, 16, 1]
// CHECK: to offset: [192], sizes: [8, 2, 2, 2, 2, 2], strides: [420, 210, 8, 4, 2, 1]
// CHECK: to offset: [104], sizes: [8, 2], strides: [210, 105]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "reduction", "reduction", "parallel"]
// CHECK-SAME: haqa.loop_strides = array<i64: 1, 1, 16, 32, 64, 128, 256, 1>
// CHECK: arith.shrui
// CHECK: arith.sitofp
func.func @q6_k(%x: tensor<?x512xf32>) -> tensor<?x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x512, #haqa.quant<q6_k>>
  %y = haqa.matmul %x, %w : tensor<?x512xf32>, !haqa.weight<8x512, #haqa.quant<q6_k>> -> tensor<?x8xf32>
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

// rope (interleaved): frequencies and signs are constant tables; the partner
// of d (d xor 1) is read with tensor.extract, not through an indexing map.
// CHECK-LABEL: func.func @rope(
// CHECK: arith.constant dense<[1.000000e+00, 1.000000e+00, 1.000000e-01, 1.000000e-01
// CHECK: linalg.generic
// CHECK: %[[D:.*]] = linalg.index 2
// CHECK: %[[P:.*]] = arith.xori %[[D]]
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %[[P]]]
// CHECK: math.cos
// CHECK: math.sin
func.func @rope(%x: tensor<2x4x8xf32>, %p: tensor<2xi32>) -> tensor<2x4x8xf32> {
  %y = haqa.rope %x, %p {theta = 10000.0 : f32} : tensor<2x4x8xf32>, tensor<2xi32> -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

// embedding (Q8_0 table): one parallel generic over (t, e) reading the
// selected row's quant and block scale with tensor.extract.
// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: %[[TOK:.*]]: tensor<?xi32>, %[[W:.*]]: memref<2176xi8> {haqa.weight = "tok"}
// CHECK-DAG: %[[QS:.*]] = memref.reinterpret_cast %[[W]] to offset: [2], sizes: [32, 2, 32], strides: [68, 34, 1]
// CHECK-DAG: %[[DS:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [32, 2], strides: [34, 17]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} ins(%[[TOK]] : tensor<?xi32>){{.*}}haqa.kernel = "embedding"
// CHECK: arith.index_cast
// CHECK: arith.divui
// CHECK: tensor.extract
// CHECK: arith.sitofp
func.func @embedding(%t: tensor<?xi32>) -> tensor<?x64xf32> {
  %w = haqa.weight "tok" : !haqa.weight<32x64, #haqa.quant<q8_0>>
  %e = haqa.embedding %w[%t] : !haqa.weight<32x64, #haqa.quant<q8_0>>, tensor<?xi32> -> tensor<?x64xf32>
  return %e : tensor<?x64xf32>
}

// -----

// kv_write: a loop over the new rows, each inserted at its position.
// CHECK-LABEL: func.func @kv_write(
// CHECK-SAME: %[[C:.*]]: tensor<8x2x16xf32>, %[[V:.*]]: tensor<?x2x16xf32>, %[[P:.*]]: tensor<?xi32>
// CHECK: %[[N:.*]] = tensor.dim %[[V]], %c0
// CHECK: scf.for %[[T:.*]] = %c0 to %[[N]] step %c1 iter_args(%[[ACC:.*]] = %[[C]])
// CHECK:   %[[POS:.*]] = tensor.extract %[[P]][%[[T]]]
// CHECK:   %[[ROW:.*]] = arith.index_cast %[[POS]]
// CHECK:   %[[NEW:.*]] = tensor.extract_slice %[[V]][%[[T]], 0, 0] [1, 2, 16]
// CHECK:   tensor.insert_slice %[[NEW]] into %[[ACC]][%[[ROW]], 0, 0] [1, 2, 16]
// CHECK: haqa.kernel = "kv_write"
func.func @kv_write(%c: tensor<8x2x16xf32>, %v: tensor<?x2x16xf32>, %p: tensor<?xi32>) -> tensor<8x2x16xf32> {
  %r = haqa.kv_write %c, %v, %p : tensor<8x2x16xf32>, tensor<?x2x16xf32>, tensor<?xi32> -> tensor<8x2x16xf32>
  return %r : tensor<8x2x16xf32>
}

// -----

// attention (4 query heads over 2 KV heads): the visible rows are
// 0 .. max(positions); scores over (t, g, r, j, d) with the query heads
// split as [KV head g, r], a causal mask, softmax over j, then P V.
// CHECK-LABEL: func.func @attention(
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]
// CHECK: arith.maxsi
// CHECK: %[[LEN:.*]] = arith.addi
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0] [%[[LEN]], 2, 16]
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2], [3]] output_shape [1, 2, 2, 16]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]{{.*}}haqa.kernel = "attention", haqa.loop_dims = array<i64: 1, 0, 0, 2, 3>
// CHECK: arith.cmpi sle
// CHECK: arith.select
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}haqa.loop_dims = array<i64: 1, 0, 0, 3, 2>
// CHECK: arith.divf
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3]] : tensor<1x2x2x16xf32> into tensor<1x4x16xf32>
// attention-whole-cache (the GPU pipelines): the scores cover all 8 rows of
// the cache, static; no max(positions) read back for their size.
// WHOLE-LABEL: func.func @attention
// WHOLE-NOT: tensor.extract %
// WHOLE: linalg.fill {{.*}} -> tensor<1x2x2x8xf32>
// WHOLE: arith.cmpi sle
// WHOLE: math.exp
// WHOLE: return
func.func @attention(%q: tensor<1x4x16xf32>, %k: tensor<8x2x16xf32>, %v: tensor<8x2x16xf32>, %p: tensor<1xi32>) -> tensor<1x4x16xf32> {
  %o = haqa.attention %q, %k, %v, %p {scale = 0.25 : f32} : tensor<1x4x16xf32>, tensor<8x2x16xf32>, tensor<8x2x16xf32>, tensor<1xi32> -> tensor<1x4x16xf32>
  return %o : tensor<1x4x16xf32>
}

// -----

// Bad input: a weight that is a function argument, not a haqa.weight op (the
// runtime binds weights by that op's name). An error, not a crash.
func.func @weight_argument(%x: tensor<1x64xf32>, %w: !haqa.weight<64x64, #haqa.quant<q8_0>>) -> tensor<1x64xf32> {
  // expected-error @below {{'haqa.matmul' op operand #1 is a weight that no haqa.weight op defines (a function argument?)}}
  %y = haqa.matmul %x, %w : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
