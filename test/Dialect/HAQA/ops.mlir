// RUN: haqa-opt %s | haqa-opt | FileCheck %s
// RUN: haqa-opt %s --mlir-print-op-generic | haqa-opt | FileCheck %s

// Round trip of every op, type and attribute of the haqa dialect.

// CHECK-LABEL: func.func @quant_and_weights
func.func @quant_and_weights() {
  // CHECK: haqa.weight "f32" : !haqa.weight<576, #haqa.quant<f32>>
  %0 = haqa.weight "f32" : !haqa.weight<576, #haqa.quant<f32>>
  // CHECK: haqa.weight "f16" : !haqa.weight<8x64, #haqa.quant<f16>>
  %1 = haqa.weight "f16" : !haqa.weight<8x64, #haqa.quant<f16>>
  // CHECK: haqa.weight "bf16" : !haqa.weight<8x64, #haqa.quant<bf16>>
  %2 = haqa.weight "bf16" : !haqa.weight<8x64, #haqa.quant<bf16>>
  // CHECK: haqa.weight "q8" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %3 = haqa.weight "q8" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  // CHECK: haqa.weight "q40" : !haqa.weight<8x64, #haqa.quant<q4_0>>
  %4 = haqa.weight "q40" : !haqa.weight<8x64, #haqa.quant<q4_0>>
  // CHECK: haqa.weight "q41" : !haqa.weight<8x64, #haqa.quant<q4_1>>
  %5 = haqa.weight "q41" : !haqa.weight<8x64, #haqa.quant<q4_1>>
  // The long spelling of a GGUF block format prints as its short name.
  // CHECK: haqa.weight "long" : !haqa.weight<8x64, #haqa.quant<q4_1>>
  %6 = haqa.weight "long" : !haqa.weight<8x64, #haqa.quant<i4, group = 32, scale = f16, zero = min, layout = gguf>>
  // CHECK: haqa.weight "planar" : !haqa.weight<8x256, #haqa.quant<i4, group = 128, scale = f32, zero = zero_point, layout = planar>>
  %7 = haqa.weight "planar" : !haqa.weight<8x256, #haqa.quant<i4, group = 128, scale = f32, zero = zero_point, layout = planar>>
  // Omitted fields take their defaults: scale f16, zero none, layout planar.
  // CHECK: haqa.weight "defaults" : !haqa.weight<8x64, #haqa.quant<i8, group = 64, scale = f16, zero = none, layout = planar>>
  %8 = haqa.weight "defaults" : !haqa.weight<8x64, #haqa.quant<i8, group = 64>>
  // CHECK: haqa.weight "bf16scale" : !haqa.weight<8x64, #haqa.quant<i8, group = 16, scale = bf16, zero = min, layout = planar>>
  %9 = haqa.weight "bf16scale" : !haqa.weight<8x64, #haqa.quant<i8, group = 16, scale = bf16, zero = min>>
  // K-quant super-blocks (GGUF Q4_K / Q6_K), short and long spellings.
  // CHECK: haqa.weight "q4k" : !haqa.weight<8x256, #haqa.quant<q4_k>>
  %10 = haqa.weight "q4k" : !haqa.weight<8x256, #haqa.quant<q4_k>>
  // CHECK: haqa.weight "q6k" : !haqa.weight<8x512, #haqa.quant<q6_k>>
  %11 = haqa.weight "q6k" : !haqa.weight<8x512, #haqa.quant<q6_k>>
  // CHECK: haqa.weight "q4klong" : !haqa.weight<8x256, #haqa.quant<q4_k>>
  %12 = haqa.weight "q4klong" : !haqa.weight<8x256, #haqa.quant<i4, group = 32, scale = f16, zero = min, layout = gguf_k>>
  // CHECK: haqa.weight "q6klong" : !haqa.weight<8x256, #haqa.quant<q6_k>>
  %13 = haqa.weight "q6klong" : !haqa.weight<8x256, #haqa.quant<i6, group = 16, scale = f16, zero = none, layout = gguf_k>>
  return
}

// CHECK-LABEL: func.func @schedules
func.func @schedules(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // CHECK: haqa.silu %{{.*}} {schedule = #haqa.schedule<>}
  %0 = haqa.silu %x {schedule = #haqa.schedule<>} : tensor<4x1536xf32>
  // Fields print in a fixed order whatever order they were written in.
  // CHECK: haqa.silu %{{.*}} {schedule = #haqa.schedule<tile = [2, 512], order = [1, 0], unroll = 8, vector = 16, threads = [32, 4], grid = [48, 2], cpu_threads = 2, placement = [shared, register], prefetch = 4, layout = [row, col_t], mma = 0>}
  %1 = haqa.silu %0 {schedule = #haqa.schedule<mma = 0, layout = [row, col_t], prefetch = 4, placement = [shared, register], cpu_threads = 2, grid = [48, 2], threads = [32, 4], vector = 16, unroll = 8, order = [1, 0], tile = [2, 512]>} : tensor<4x1536xf32>
  // CHECK: haqa.silu %{{.*}} {schedule = #haqa.schedule<placement = [global, local], layout = [col, row_t]>}
  %2 = haqa.silu %1 {schedule = #haqa.schedule<placement = [global, local], layout = [col, row_t]>} : tensor<4x1536xf32>
  return %2 : tensor<4x1536xf32>
}

// CHECK-LABEL: func.func @kernels
func.func @kernels(%ids: tensor<4xi32>, %pos: tensor<4xi32>, %kc: tensor<2048x3x64xf32>,
                   %vc: tensor<2048x3x64xf32>, %s: tensor<9x4x2048xf32>)
    -> (tensor<4x576xf32>, tensor<9x4x2048xf32>, tensor<4x9x64xf32>) {
  %emb = haqa.weight "token_embd.weight" : !haqa.weight<49152x576, #haqa.quant<q8_0>>
  %norm = haqa.weight "blk.0.attn_norm.weight" : !haqa.weight<576, #haqa.quant<f32>>
  %wq = haqa.weight "blk.0.attn_q.weight" : !haqa.weight<576x576, #haqa.quant<q4_0>>
  // CHECK: %[[X:.+]] = haqa.embedding %{{.*}}[%{{.*}}] : !haqa.weight<49152x576, #haqa.quant<q8_0>>, tensor<4xi32> -> tensor<4x576xf32>
  %x = haqa.embedding %emb[%ids] : !haqa.weight<49152x576, #haqa.quant<q8_0>>, tensor<4xi32> -> tensor<4x576xf32>
  // CHECK: %[[H:.+]] = haqa.rms_norm %[[X]], %{{.*}} {epsilon = 9.99999974E-6 : f32} : tensor<4x576xf32>, !haqa.weight<576, #haqa.quant<f32>> -> tensor<4x576xf32>
  %h = haqa.rms_norm %x, %norm {epsilon = 1.0e-05 : f32} : tensor<4x576xf32>, !haqa.weight<576, #haqa.quant<f32>> -> tensor<4x576xf32>
  // CHECK: %[[Q:.+]] = haqa.matmul %[[H]], %{{.*}} {schedule = #haqa.schedule<tile = [4, 64, 576], prefetch = 2>} : tensor<4x576xf32>, !haqa.weight<576x576, #haqa.quant<q4_0>> -> tensor<4x576xf32>
  %q = haqa.matmul %h, %wq {schedule = #haqa.schedule<tile = [4, 64, 576], prefetch = 2>} : tensor<4x576xf32>, !haqa.weight<576x576, #haqa.quant<q4_0>> -> tensor<4x576xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [4, 9, 64] : tensor<4x576xf32> into tensor<4x9x64xf32>
  // CHECK: %[[R:.+]] = haqa.rope %{{.*}}, %{{.*}} {style = #haqa<rope_style half>, theta = 1.000000e+04 : f32} : tensor<4x9x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
  %r = haqa.rope %q3, %pos {theta = 1.0e+04 : f32, style = #haqa<rope_style half>} : tensor<4x9x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
  // Llama-3 frequency scaling.
  // CHECK: haqa.rope %{{.*}} {high_freq_factor = 4.000000e+00 : f32, low_freq_factor = 1.000000e+00 : f32, original_context = 8192 : i64, scale_factor = 3.200000e+01 : f32, theta = 5.000000e+05 : f32}
  %r2 = haqa.rope %r, %pos {theta = 5.0e+05 : f32, scale_factor = 32.0 : f32, low_freq_factor = 1.0 : f32, high_freq_factor = 4.0 : f32, original_context = 8192 : i64} : tensor<4x9x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
  // Llama 3.1+ GGUF: the scaling as per-pair divisors.
  %ff = haqa.weight "rope_freqs.weight" : !haqa.weight<32, #haqa.quant<f32>>
  // CHECK: haqa.rope %{{.*}}, %{{.*}} freq_factors(%{{.*}} : !haqa.weight<32, #haqa.quant<f32>>) {theta = 5.000000e+05 : f32} : tensor<4x9x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
  %r3 = haqa.rope %r, %pos freq_factors(%ff : !haqa.weight<32, #haqa.quant<f32>>) {theta = 5.0e+05 : f32} : tensor<4x9x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
  %k = tensor.extract_slice %r2[0, 0, 0] [4, 3, 64] [1, 1, 1] : tensor<4x9x64xf32> to tensor<4x3x64xf32>
  // CHECK: %[[KC:.+]] = haqa.kv_write %{{.*}}, %{{.*}}, %{{.*}} : tensor<2048x3x64xf32>, tensor<4x3x64xf32>, tensor<4xi32> -> tensor<2048x3x64xf32>
  %kc1 = haqa.kv_write %kc, %k, %pos : tensor<2048x3x64xf32>, tensor<4x3x64xf32>, tensor<4xi32> -> tensor<2048x3x64xf32>
  // CHECK: haqa.attention %[[R]], %[[KC]], %{{.*}}, %{{.*}} {scale = 1.250000e-01 : f32} : tensor<4x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
  %o = haqa.attention %r, %kc1, %vc, %pos {scale = 0.125 : f32} : tensor<4x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
  // CHECK: haqa.softmax %{{.*}} : tensor<9x4x2048xf32>
  %p = haqa.softmax %s : tensor<9x4x2048xf32>
  // CHECK: haqa.silu %{{.*}} : tensor<4x576xf32>
  %a = haqa.silu %h : tensor<4x576xf32>
  // CHECK: haqa.swiglu %{{.*}}, %{{.*}} : tensor<4x576xf32>
  %g = haqa.swiglu %a, %h : tensor<4x576xf32>
  // CHECK: haqa.add %{{.*}}, %{{.*}} : tensor<4x576xf32>
  %sum = haqa.add %g, %x : tensor<4x576xf32>
  // CHECK: haqa.mul %{{.*}}, %{{.*}} : tensor<4x576xf32>
  %prod = haqa.mul %sum, %x : tensor<4x576xf32>
  return %prod, %p, %o : tensor<4x576xf32>, tensor<9x4x2048xf32>, tensor<4x9x64xf32>
}

// CHECK-LABEL: func.func @f16_and_dynamic
func.func @f16_and_dynamic(%x: tensor<?x576xf16>, %pos: tensor<?xi64>) -> tensor<?x1536xf16> {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<f16>>
  // CHECK: haqa.matmul %{{.*}}, %{{.*}} : tensor<?x576xf16>, !haqa.weight<1536x576, #haqa.quant<f16>> -> tensor<?x1536xf16>
  %y = haqa.matmul %x, %w : tensor<?x576xf16>, !haqa.weight<1536x576, #haqa.quant<f16>> -> tensor<?x1536xf16>
  // CHECK: haqa.silu %{{.*}} {schedule = #haqa.schedule<tile = [1, 1536]>} : tensor<?x1536xf16>
  %z = haqa.silu %y {schedule = #haqa.schedule<tile = [1, 1536]>} : tensor<?x1536xf16>
  return %z : tensor<?x1536xf16>
}

// A bias (Qwen2's attention projections): an f32 weight of the output's size.
// CHECK-LABEL: func.func @matmul_bias
func.func @matmul_bias(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %w = haqa.weight "w" : !haqa.weight<32x64, #haqa.quant<q4_0>>
  %b = haqa.weight "b" : !haqa.weight<32, #haqa.quant<f32>>
  // CHECK: haqa.matmul %{{.*}}, %{{.*}} bias(%{{.*}} : !haqa.weight<32, #haqa.quant<f32>>) : tensor<?x64xf32>, !haqa.weight<32x64, #haqa.quant<q4_0>> -> tensor<?x32xf32>
  %y = haqa.matmul %x, %w bias(%b : !haqa.weight<32, #haqa.quant<f32>>) : tensor<?x64xf32>, !haqa.weight<32x64, #haqa.quant<q4_0>> -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// The CPU micro-kernel fields (dot, isa, micro), each value.
// CHECK-LABEL: func.func private @int8_dot_fields
// CHECK-SAME: schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx512_vnni, micro = [1, 4]>
func.func private @int8_dot_fields() attributes {schedule = #haqa.schedule<micro = [1, 4], isa = avx512_vnni, dot = i8, cpu_threads = 2>}
// CHECK-LABEL: func.func private @dot_f32
// CHECK-SAME: schedule = #haqa.schedule<dot = f32>
func.func private @dot_f32() attributes {schedule = #haqa.schedule<dot = f32>}
// CHECK-LABEL: func.func private @isa_scalar
// CHECK-SAME: schedule = #haqa.schedule<dot = i8, isa = scalar, micro = [2, 2]>
func.func private @isa_scalar() attributes {schedule = #haqa.schedule<dot = i8, isa = scalar, micro = [2, 2]>}
// CHECK-LABEL: func.func private @isa_avx2
// CHECK-SAME: schedule = #haqa.schedule<dot = i8, isa = avx2, micro = [4, 1]>
func.func private @isa_avx2() attributes {schedule = #haqa.schedule<dot = i8, isa = avx2, micro = [4, 1]>}
// CHECK-LABEL: func.func private @packed_panels
// CHECK-SAME: schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx512_vnni, micro = [4, 16]>
func.func private @packed_panels() attributes {schedule = #haqa.schedule<dot = i8, isa = avx512_vnni, micro = [4, 16], cpu_threads = 2>}
// CHECK-LABEL: func.func private @dot_fma
// CHECK-SAME: schedule = #haqa.schedule<cpu_threads = 2, dot = fma, isa = avx2, micro = [4, 4]>
func.func private @dot_fma() attributes {schedule = #haqa.schedule<dot = fma, isa = avx2, micro = [4, 4], cpu_threads = 2>}
// CHECK-LABEL: func.func private @isa_avx_vnni
// CHECK-SAME: schedule = #haqa.schedule<dot = i8, isa = avx_vnni>
func.func private @isa_avx_vnni() attributes {schedule = #haqa.schedule<dot = i8, isa = avx_vnni>}

// The F16 dot.
// CHECK-LABEL: func.func @dot_f16_kernel
// CHECK: haqa.micro_kernel "dot_f16" isa = avx512_vnni ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<8x64xf16>) outs(%{{.*}} : tensor<?x8xf32>) {micro = array<i64: 4, 4>, threads = 2 : i64} -> tensor<?x8xf32>
func.func @dot_f16_kernel(%x: tensor<?x64xf32>, %w: tensor<8x64xf16>, %y: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %r = haqa.micro_kernel "dot_f16" isa = avx512_vnni ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf16>) outs(%y : tensor<?x8xf32>) {micro = array<i64: 4, 4>, threads = 2} -> tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// A micro-kernel on tensors and on memrefs.
// CHECK-LABEL: func.func @micro_kernels
// CHECK: haqa.micro_kernel "quantize_q8" isa = avx2 ins(%{{.*}} : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x72xi8>) -> tensor<?x72xi8>
// CHECK: haqa.micro_kernel "dot_q4_1" isa = avx512_vnni ins(%{{.*}}, %{{.*}} : tensor<?x72xi8>, tensor<8x40xi8>) outs(%{{.*}} : tensor<?x8xf32>) {micro = array<i64: 2, 4>, threads = 2 : i64} -> tensor<?x8xf32>
// CHECK: haqa.micro_kernel "dot_q8_0" isa = scalar ins(%{{.*}}, %{{.*}} : memref<1x72xi8>, memref<8x68xi8>) outs(%{{.*}} : memref<1x8xf32>)
func.func @micro_kernels(%x: tensor<?x64xf32>, %q: tensor<?x72xi8>, %w: tensor<8x40xi8>, %y: tensor<?x8xf32>,
                         %qm: memref<1x72xi8>, %wm: memref<8x68xi8>, %ym: memref<1x8xf32>) -> tensor<?x8xf32> {
  %0 = haqa.micro_kernel "quantize_q8" isa = avx2 ins(%x : tensor<?x64xf32>) outs(%q : tensor<?x72xi8>) -> tensor<?x72xi8>
  %1 = haqa.micro_kernel "dot_q4_1" isa = avx512_vnni ins(%0, %w : tensor<?x72xi8>, tensor<8x40xi8>) outs(%y : tensor<?x8xf32>) {micro = array<i64: 2, 4>, threads = 2} -> tensor<?x8xf32>
  haqa.micro_kernel "dot_q8_0" isa = scalar ins(%qm, %wm : memref<1x72xi8>, memref<8x68xi8>) outs(%ym : memref<1x8xf32>)
  return %1 : tensor<?x8xf32>
}

// attn, each value; the fused attention micro-kernel.
// CHECK-LABEL: func.func private @attn_generic
// CHECK-SAME: schedule = #haqa.schedule<vector = 16, exp = poly, attn = generic>
func.func private @attn_generic() attributes {schedule = #haqa.schedule<attn = generic, exp = poly, vector = 16>}
// CHECK-LABEL: func.func private @attn_fused
// CHECK-SAME: schedule = #haqa.schedule<cpu_threads = 2, isa = avx512_vnni, attn = fused>
func.func private @attn_fused() attributes {schedule = #haqa.schedule<attn = fused, isa = avx512_vnni, cpu_threads = 2>}
// CHECK-LABEL: func.func @attention_micro_kernel
// CHECK: haqa.micro_kernel "attention_f32" isa = avx2 ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<?xi32>) outs(%{{.*}} : tensor<?x9x64xf32>) {scale = 1.250000e-01 : f32, threads = 2 : i64} -> tensor<?x9x64xf32>
func.func @attention_micro_kernel(%q: tensor<?x9x64xf32>, %k: tensor<512x3x64xf32>, %pos: tensor<?xi32>, %o: tensor<?x9x64xf32>) -> tensor<?x9x64xf32> {
  %r = haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %k, %pos : tensor<?x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<?xi32>) outs(%o : tensor<?x9x64xf32>) {scale = 0.125 : f32, threads = 2} -> tensor<?x9x64xf32>
  return %r : tensor<?x9x64xf32>
}

// exp, each value.
// CHECK-LABEL: func.func private @exp_libm
// CHECK-SAME: schedule = #haqa.schedule<vector = 16, exp = libm>
func.func private @exp_libm() attributes {schedule = #haqa.schedule<exp = libm, vector = 16>}
// CHECK-LABEL: func.func private @exp_poly
// CHECK-SAME: schedule = #haqa.schedule<exp = poly>
func.func private @exp_poly() attributes {schedule = #haqa.schedule<exp = poly>}
// CHECK-LABEL: func.func private @exp_fast
// CHECK-SAME: schedule = #haqa.schedule<exp = fast>
func.func private @exp_fast() attributes {schedule = #haqa.schedule<exp = fast>}
