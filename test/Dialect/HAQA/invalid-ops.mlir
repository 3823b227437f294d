// RUN: haqa-opt %s -split-input-file -verify-diagnostics

// embedding_c1
func.func @embedding_rank(%ids: tensor<4xi32>) -> tensor<4x576xf32> {
  %t = haqa.weight "t" : !haqa.weight<576, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.embedding' op expected a 2-d embedding table, got rank 1}}
  %x = haqa.embedding %t[%ids] : !haqa.weight<576, #haqa.quant<f32>>, tensor<4xi32> -> tensor<4x576xf32>
  return %x : tensor<4x576xf32>
}

// -----

// embedding_c2
func.func @embedding_shape(%ids: tensor<4xi32>) -> tensor<4x512xf32> {
  %t = haqa.weight "t" : !haqa.weight<100x576, #haqa.quant<q8_0>>
  // expected-error@+1 {{'haqa.embedding' op expected result of shape [4, 576], got [4, 512]}}
  %x = haqa.embedding %t[%ids] : !haqa.weight<100x576, #haqa.quant<q8_0>>, tensor<4xi32> -> tensor<4x512xf32>
  return %x : tensor<4x512xf32>
}

// -----

// rms_norm_c1
func.func @rms_norm_weight_size(%x: tensor<4x576xf32>) -> tensor<4x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<512, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.rms_norm' op expected an unquantized 1-d weight of size 576, got '!haqa.weight<512, #haqa.quant<f32>>'}}
  %y = haqa.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : tensor<4x576xf32>, !haqa.weight<512, #haqa.quant<f32>> -> tensor<4x576xf32>
  return %y : tensor<4x576xf32>
}

// -----

// rms_norm_c1
func.func @rms_norm_quantized_weight(%x: tensor<4x576xf32>) -> tensor<4x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<576, #haqa.quant<q8_0>>
  // expected-error@+1 {{'haqa.rms_norm' op expected an unquantized 1-d weight of size 576, got '!haqa.weight<576, #haqa.quant<q8_0>>'}}
  %y = haqa.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : tensor<4x576xf32>, !haqa.weight<576, #haqa.quant<q8_0>> -> tensor<4x576xf32>
  return %y : tensor<4x576xf32>
}

// -----

// rms_norm_c2
func.func @rms_norm_epsilon(%x: tensor<4x576xf32>) -> tensor<4x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<576, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.rms_norm' op expected a positive epsilon, got 0}}
  %y = haqa.rms_norm %x, %w {epsilon = 0.0 : f32} : tensor<4x576xf32>, !haqa.weight<576, #haqa.quant<f32>> -> tensor<4x576xf32>
  return %y : tensor<4x576xf32>
}

// -----

// rms_norm_c3
func.func @rms_norm_result(%x: tensor<4x576xf32>) -> tensor<4x576xf16> {
  %w = haqa.weight "w" : !haqa.weight<576, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.rms_norm' op expected the result type to equal the input type 'tensor<4x576xf32>', got 'tensor<4x576xf16>'}}
  %y = haqa.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : tensor<4x576xf32>, !haqa.weight<576, #haqa.quant<f32>> -> tensor<4x576xf16>
  return %y : tensor<4x576xf16>
}

// -----

// matmul_c1
func.func @matmul_weight_rank(%x: tensor<1x576xf32>) -> tensor<1x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<576, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.matmul' op expected a 2-d [N, K] weight, got rank 1}}
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<576, #haqa.quant<f32>> -> tensor<1x576xf32>
  return %y : tensor<1x576xf32>
}

// -----

// matmul_c2
func.func @matmul_reduction(%x: tensor<1x512xf32>) -> tensor<1x1536xf32> {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<q4_0>>
  // expected-error@+1 {{'haqa.matmul' op expected input reduction dimension 512 to match weight dimension 1 (576)}}
  %y = haqa.matmul %x, %w : tensor<1x512xf32>, !haqa.weight<1536x576, #haqa.quant<q4_0>> -> tensor<1x1536xf32>
  return %y : tensor<1x1536xf32>
}

// -----

// matmul_c3
func.func @matmul_element_type(%x: tensor<1x576xf32>) -> tensor<1x1536xf16> {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<q4_0>>
  // expected-error@+1 {{'haqa.matmul' op expected result element type 'f32', got 'f16'}}
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_0>> -> tensor<1x1536xf16>
  return %y : tensor<1x1536xf16>
}

// -----

// matmul_c4
func.func @matmul_result_shape(%x: tensor<1x576xf32>) -> tensor<1x576xf32> {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<q4_0>>
  // expected-error@+1 {{'haqa.matmul' op expected result of shape [1, 1536], got [1, 576]}}
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_0>> -> tensor<1x576xf32>
  return %y : tensor<1x576xf32>
}

// -----

// rope_c1
func.func @rope_odd_head(%x: tensor<1x9x63xf32>, %pos: tensor<1xi32>) -> tensor<1x9x63xf32> {
  // expected-error@+1 {{'haqa.rope' op expected an even head dimension, got 63}}
  %y = haqa.rope %x, %pos {theta = 1.0e+04 : f32} : tensor<1x9x63xf32>, tensor<1xi32> -> tensor<1x9x63xf32>
  return %y : tensor<1x9x63xf32>
}

// -----

// rope_c2
func.func @rope_positions(%x: tensor<4x9x64xf32>, %pos: tensor<3xi32>) -> tensor<4x9x64xf32> {
  // expected-error@+1 {{'haqa.rope' op expected one position per token (4), got 3}}
  %y = haqa.rope %x, %pos {theta = 1.0e+04 : f32} : tensor<4x9x64xf32>, tensor<3xi32> -> tensor<4x9x64xf32>
  return %y : tensor<4x9x64xf32>
}

// -----

// rope_c3
func.func @rope_result(%x: tensor<1x9x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf16> {
  // expected-error@+1 {{'haqa.rope' op expected the result type to equal the input type 'tensor<1x9x64xf32>', got 'tensor<1x9x64xf16>'}}
  %y = haqa.rope %x, %pos {theta = 1.0e+04 : f32} : tensor<1x9x64xf32>, tensor<1xi32> -> tensor<1x9x64xf16>
  return %y : tensor<1x9x64xf16>
}

// -----

// rope_c4
func.func @rope_theta(%x: tensor<1x9x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  // expected-error@+1 {{'haqa.rope' op expected a positive theta, got -1}}
  %y = haqa.rope %x, %pos {theta = -1.0 : f32} : tensor<1x9x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %y : tensor<1x9x64xf32>
}

// -----

// rope_c5
func.func @rope_partial_scaling(%x: tensor<1x9x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  // expected-error@+1 {{'haqa.rope' op expected all or none of scale_factor, low_freq_factor, high_freq_factor and original_context, got 1 of 4}}
  %y = haqa.rope %x, %pos {theta = 5.0e+05 : f32, scale_factor = 8.0 : f32} : tensor<1x9x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %y : tensor<1x9x64xf32>
}

// -----

// rope_c6
func.func @rope_factors_size(%x: tensor<1x9x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  %f = haqa.weight "rope_freqs.weight" : !haqa.weight<64, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.rope' op expected freq_factors to be an unquantized 1-d weight of half the head size (32), got '!haqa.weight<64, #haqa.quant<f32>>'}}
  %y = haqa.rope %x, %pos freq_factors(%f : !haqa.weight<64, #haqa.quant<f32>>) {theta = 5.0e+05 : f32} : tensor<1x9x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %y : tensor<1x9x64xf32>
}

// -----

// rope_c7
func.func @rope_factors_and_scaling(%x: tensor<1x9x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  %f = haqa.weight "rope_freqs.weight" : !haqa.weight<32, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.rope' op expected either freq_factors or the scaling attributes, not both}}
  %y = haqa.rope %x, %pos freq_factors(%f : !haqa.weight<32, #haqa.quant<f32>>) {theta = 5.0e+05 : f32, scale_factor = 32.0 : f32, low_freq_factor = 1.0 : f32, high_freq_factor = 4.0 : f32, original_context = 8192 : i64} : tensor<1x9x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %y : tensor<1x9x64xf32>
}

// -----

// kv_write_c1
func.func @kv_write_heads(%c: tensor<2048x3x64xf32>, %v: tensor<1x4x64xf32>, %pos: tensor<1xi32>) -> tensor<2048x3x64xf32> {
  // expected-error@+1 {{'haqa.kv_write' op expected values 'tensor<1x4x64xf32>' to match the cache's heads, head size and element type 'tensor<2048x3x64xf32>'}}
  %r = haqa.kv_write %c, %v, %pos : tensor<2048x3x64xf32>, tensor<1x4x64xf32>, tensor<1xi32> -> tensor<2048x3x64xf32>
  return %r : tensor<2048x3x64xf32>
}

// -----

// kv_write_c2
func.func @kv_write_positions(%c: tensor<2048x3x64xf32>, %v: tensor<2x3x64xf32>, %pos: tensor<1xi32>) -> tensor<2048x3x64xf32> {
  // expected-error@+1 {{'haqa.kv_write' op expected one position per written row (2), got 1}}
  %r = haqa.kv_write %c, %v, %pos : tensor<2048x3x64xf32>, tensor<2x3x64xf32>, tensor<1xi32> -> tensor<2048x3x64xf32>
  return %r : tensor<2048x3x64xf32>
}

// -----

// kv_write_c3
func.func @kv_write_result(%c: tensor<2048x3x64xf32>, %v: tensor<1x3x64xf32>, %pos: tensor<1xi32>) -> tensor<1024x3x64xf32> {
  // expected-error@+1 {{'haqa.kv_write' op expected the result type to equal the cache type 'tensor<2048x3x64xf32>', got 'tensor<1024x3x64xf32>'}}
  %r = haqa.kv_write %c, %v, %pos : tensor<2048x3x64xf32>, tensor<1x3x64xf32>, tensor<1xi32> -> tensor<1024x3x64xf32>
  return %r : tensor<1024x3x64xf32>
}

// -----

// attention_c1
func.func @attention_kv_types(%q: tensor<1x9x64xf32>, %k: tensor<2048x3x64xf32>, %v: tensor<1024x3x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  // expected-error@+1 {{'haqa.attention' op expected keys and values of one type, got 'tensor<2048x3x64xf32>' and 'tensor<1024x3x64xf32>'}}
  %o = haqa.attention %q, %k, %v, %pos {scale = 0.125 : f32} : tensor<1x9x64xf32>, tensor<2048x3x64xf32>, tensor<1024x3x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %o : tensor<1x9x64xf32>
}

// -----

// attention_c2
func.func @attention_head_size(%q: tensor<1x9x32xf32>, %k: tensor<2048x3x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x32xf32> {
  // expected-error@+1 {{'haqa.attention' op expected query 'tensor<1x9x32xf32>' and cache to share head size and element type, got 'tensor<2048x3x64xf32>'}}
  %o = haqa.attention %q, %k, %k, %pos {scale = 0.125 : f32} : tensor<1x9x32xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<1xi32> -> tensor<1x9x32xf32>
  return %o : tensor<1x9x32xf32>
}

// -----

// attention_c3
func.func @attention_gqa(%q: tensor<1x8x64xf32>, %k: tensor<2048x3x64xf32>, %pos: tensor<1xi32>) -> tensor<1x8x64xf32> {
  // expected-error@+1 {{'haqa.attention' op expected query heads (8) to be a multiple of key/value heads (3)}}
  %o = haqa.attention %q, %k, %k, %pos {scale = 0.125 : f32} : tensor<1x8x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<1xi32> -> tensor<1x8x64xf32>
  return %o : tensor<1x8x64xf32>
}

// -----

// attention_c4
func.func @attention_positions(%q: tensor<2x9x64xf32>, %k: tensor<2048x3x64xf32>, %pos: tensor<1xi32>) -> tensor<2x9x64xf32> {
  // expected-error@+1 {{'haqa.attention' op expected one position per query (2), got 1}}
  %o = haqa.attention %q, %k, %k, %pos {scale = 0.125 : f32} : tensor<2x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<1xi32> -> tensor<2x9x64xf32>
  return %o : tensor<2x9x64xf32>
}

// -----

// attention_c5
func.func @attention_result(%q: tensor<1x9x64xf32>, %k: tensor<2048x3x64xf32>, %pos: tensor<1xi32>) -> tensor<1x3x64xf32> {
  // expected-error@+1 {{'haqa.attention' op expected the result type to equal the query type 'tensor<1x9x64xf32>', got 'tensor<1x3x64xf32>'}}
  %o = haqa.attention %q, %k, %k, %pos {scale = 0.125 : f32} : tensor<1x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<1xi32> -> tensor<1x3x64xf32>
  return %o : tensor<1x3x64xf32>
}

// -----

// attention_c6
func.func @attention_scale(%q: tensor<1x9x64xf32>, %k: tensor<2048x3x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  // expected-error@+1 {{'haqa.attention' op expected a positive scale, got 0}}
  %o = haqa.attention %q, %k, %k, %pos {scale = 0.0 : f32} : tensor<1x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %o : tensor<1x9x64xf32>
}

// -----

// The type constraints of ODS: activations are ranked float tensors.
func.func @silu_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error@+1 {{'haqa.silu' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4xi32>'}}
  %y = haqa.silu %x : tensor<4xi32>
  return %y : tensor<4xi32>
}

// -----

// schedule_c10
func.func @schedule_tile_rank(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.silu' op expected at most 2 tile sizes for a 2-d iteration space, got 3}}
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 1, 64]>} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

// schedule_c11
func.func @schedule_tile_too_large(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.silu' op expected tile size 2048 at index 1 to be at most the dimension 1536}}
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 2048]>} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

// schedule_c11: matmul's iteration space is [M, N, K].
func.func @schedule_matmul_k(%x: tensor<1x576xf32>) -> tensor<1x1536xf32> {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<q4_0>>
  // expected-error@+1 {{'haqa.matmul' op expected tile size 1024 at index 2 to be at most the dimension 576}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [1, 64, 1024]>} : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_0>> -> tensor<1x1536xf32>
  return %y : tensor<1x1536xf32>
}

// -----

// schedule_c12
func.func @schedule_order_rank(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.silu' op expected order to permute the 2 iteration dimensions, got 3 entries}}
  %y = haqa.silu %x {schedule = #haqa.schedule<order = [2, 0, 1]>} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

// schedule_c13
func.func @schedule_placement_count(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.add' op expected one placement per operand and result (3), got 2}}
  %y = haqa.add %x, %x {schedule = #haqa.schedule<placement = [global, shared]>} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

// schedule_c13
func.func @schedule_layout_count(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.silu' op expected one layout per operand and result (2), got 1}}
  %y = haqa.silu %x {schedule = #haqa.schedule<layout = [row]>} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

func.func @schedule_wrong_attr(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.silu' op attribute 'schedule' failed to satisfy constraint}}
  %y = haqa.silu %x {schedule = 4 : i64} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

// schedule_c24
func.func @mma_kquant(%x: tensor<32x256xf32>) -> tensor<32x16xf32> {
  %w = haqa.weight "w" : !haqa.weight<16x256, #haqa.quant<q4_k>>
  // expected-error@+1 {{'haqa.matmul' op schedule has mma = 1, which has no lowering for K-quant (Q4_K / Q6_K) weights}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<threads = [128], mma = 1>} : tensor<32x256xf32>, !haqa.weight<16x256, #haqa.quant<q4_k>> -> tensor<32x16xf32>
  return %y : tensor<32x16xf32>
}

// -----

// schedule_c17
func.func @int8_dot_f16_weights(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<f16>>
  // expected-error@+1 {{'haqa.matmul' op schedule has dot = i8, which needs a matmul with Q8_0, Q4_0, Q4_1, Q4_K or Q6_K weights}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<dot = i8>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<f16>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// schedule_c17
func.func @int8_dot_silu(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.silu' op schedule has dot = i8, which needs a matmul with Q8_0, Q4_0, Q4_1, Q4_K or Q6_K weights}}
  %y = haqa.silu %x {schedule = #haqa.schedule<dot = i8>} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

// micro_kernel_c1
func.func @uk_unknown(%x: tensor<1x64xf32>, %q: tensor<1x72xi8>) -> tensor<1x72xi8> {
  // expected-error@+1 {{'haqa.micro_kernel' op unknown micro-kernel 'quantize_q4' (expected quantize_q8, rms_norm_f32, dot_q8_0, dot_q4_0, dot_q4_1, dot_q4_k, dot_q6_k, dot_f16, dot_bf16 or attention_f32)}}
  %r = haqa.micro_kernel "quantize_q4" isa = avx2 ins(%x : tensor<1x64xf32>) outs(%q : tensor<1x72xi8>) -> tensor<1x72xi8>
  return %r : tensor<1x72xi8>
}

// -----

// micro_kernel_c2
func.func @uk_operands(%x: tensor<1x64xf32>, %q: tensor<1x72xi8>) -> tensor<1x72xi8> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected 1 inputs and 1 output for 'quantize_q8', got 2 and 1}}
  %r = haqa.micro_kernel "quantize_q8" isa = avx2 ins(%x, %x : tensor<1x64xf32>, tensor<1x64xf32>) outs(%q : tensor<1x72xi8>) -> tensor<1x72xi8>
  return %r : tensor<1x72xi8>
}

// -----

// micro_kernel_c3
func.func @uk_results(%x: memref<1x64xf32>, %q: memref<1x72xi8>, %t: tensor<1x72xi8>) -> tensor<1x72xi8> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected one result of the output's type on tensors, none on memrefs}}
  %r = haqa.micro_kernel "quantize_q8" isa = avx2 ins(%x : memref<1x64xf32>) outs(%q : memref<1x72xi8>) -> tensor<1x72xi8>
  return %r : tensor<1x72xi8>
}

// -----

// micro_kernel_c4
func.func @uk_q8_rows(%x: tensor<1x64xf32>, %q: tensor<1x64xi8>) -> tensor<1x64xi8> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected Q8 rows of shape [1, 72], got [1, 64]}}
  %r = haqa.micro_kernel "quantize_q8" isa = avx2 ins(%x : tensor<1x64xf32>) outs(%q : tensor<1x64xi8>) -> tensor<1x64xi8>
  return %r : tensor<1x64xi8>
}

// -----

// micro_kernel_c4
func.func @uk_dot_shapes(%q: tensor<1x72xi8>, %w: tensor<8x18xi8>, %y: tensor<1x8xf32>) -> tensor<1x8xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected Q8 rows of shape [1, 36], got [1, 72]}}
  %r = haqa.micro_kernel "dot_q4_0" isa = scalar ins(%q, %w : tensor<1x72xi8>, tensor<8x18xi8>) outs(%y : tensor<1x8xf32>) -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}

// -----

// micro_kernel_c5
func.func @uk_micro(%q: tensor<1x72xi8>, %w: tensor<8x68xi8>, %y: tensor<1x8xf32>) -> tensor<1x8xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected micro = [mr, nr], mr 1, 2 or 4, nr 1, 2, 4 or 16}}
  %r = haqa.micro_kernel "dot_q8_0" isa = scalar ins(%q, %w : tensor<1x72xi8>, tensor<8x68xi8>) outs(%y : tensor<1x8xf32>) {micro = array<i64: 8, 1>} -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}

// -----

// micro_kernel_c8
func.func @uk_panel_isa(%q: tensor<1x72xi8>, %w: tensor<32x68xi8>, %y: tensor<1x32xf32>) -> tensor<1x32xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected nr = 16 (packed panels) only on an int8 dot with isa = avx512_vnni}}
  %r = haqa.micro_kernel "dot_q8_0" isa = avx2 ins(%q, %w : tensor<1x72xi8>, tensor<32x68xi8>) outs(%y : tensor<1x32xf32>) {micro = array<i64: 4, 16>} -> tensor<1x32xf32>
  return %r : tensor<1x32xf32>
}

// -----

// schedule_c18
func.func @exp_on_add(%x: tensor<4x1536xf32>) -> tensor<4x1536xf32> {
  // expected-error@+1 {{'haqa.add' op schedule has exp, which applies to softmax, silu, swiglu, attention and rope only}}
  %y = haqa.add %x, %x {schedule = #haqa.schedule<exp = poly>} : tensor<4x1536xf32>
  return %y : tensor<4x1536xf32>
}

// -----

// schedule_c21
func.func @attn_on_softmax(%x: tensor<9x1x64xf32>) -> tensor<9x1x64xf32> {
  // expected-error@+1 {{'haqa.softmax' op schedule has attn, which applies to attention only}}
  %y = haqa.softmax %x {schedule = #haqa.schedule<attn = generic>} : tensor<9x1x64xf32>
  return %y : tensor<9x1x64xf32>
}

// -----

// schedule_c21
func.func @fused_attention_f16(%q: tensor<1x9x64xf16>, %k: tensor<512x3x64xf16>, %pos: tensor<1xi32>) -> tensor<1x9x64xf16> {
  // expected-error@+1 {{'haqa.attention' op schedule has attn = fused, which needs an f32 query and KV cache with static heads and head size, and i32 positions}}
  %o = haqa.attention %q, %k, %k, %pos {scale = 0.125 : f32, schedule = #haqa.schedule<attn = fused, isa = avx2>} : tensor<1x9x64xf16>, tensor<512x3x64xf16>, tensor<512x3x64xf16>, tensor<1xi32> -> tensor<1x9x64xf16>
  return %o : tensor<1x9x64xf16>
}

// -----

// micro_kernel_c2
func.func @uk_attention_inputs(%q: tensor<1x9x64xf32>, %k: tensor<512x3x64xf32>, %o: tensor<1x9x64xf32>) -> tensor<1x9x64xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected 4 inputs and 1 output for 'attention_f32', got 3 and 1}}
  %r = haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %k : tensor<1x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>) outs(%o : tensor<1x9x64xf32>) {scale = 1.250000e-01 : f32} -> tensor<1x9x64xf32>
  return %r : tensor<1x9x64xf32>
}

// -----

// micro_kernel_c7
func.func @uk_attention_heads(%q: tensor<1x8x64xf32>, %k: tensor<512x3x64xf32>, %pos: tensor<1xi32>, %o: tensor<1x8x64xf32>) -> tensor<1x8x64xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected static heads and head size, the query heads a multiple of the KV heads, one head size}}
  %r = haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %k, %pos : tensor<1x8x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<1xi32>) outs(%o : tensor<1x8x64xf32>) {scale = 1.250000e-01 : f32} -> tensor<1x8x64xf32>
  return %r : tensor<1x8x64xf32>
}

// -----

// micro_kernel_c7
func.func @uk_attention_scale(%q: tensor<1x9x64xf32>, %k: tensor<512x3x64xf32>, %pos: tensor<1xi32>, %o: tensor<1x9x64xf32>) -> tensor<1x9x64xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected a positive scale}}
  %r = haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %k, %pos : tensor<1x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<1xi32>) outs(%o : tensor<1x9x64xf32>) -> tensor<1x9x64xf32>
  return %r : tensor<1x9x64xf32>
}

// -----

// micro_kernel_c7
func.func @uk_attention_positions(%q: tensor<2x9x64xf32>, %k: tensor<512x3x64xf32>, %pos: tensor<1xi32>, %o: tensor<2x9x64xf32>) -> tensor<2x9x64xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected positions of shape [2], got [1]}}
  %r = haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %k, %pos : tensor<2x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<1xi32>) outs(%o : tensor<2x9x64xf32>) {scale = 1.250000e-01 : f32} -> tensor<2x9x64xf32>
  return %r : tensor<2x9x64xf32>
}

// -----

// schedule_c17
func.func @fma_on_q8(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  // expected-error@+1 {{'haqa.matmul' op schedule has dot = fma, which needs a matmul with F16 or BF16 weights}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<dot = fma>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// micro_kernel_c4
func.func @uk_f16_weight(%x: tensor<1x64xf32>, %w: tensor<8x64xbf16>, %y: tensor<1x8xf32>) -> tensor<1x8xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected the weight of 'f16', got 'bf16'}}
  %r = haqa.micro_kernel "dot_f16" isa = avx2 ins(%x, %w : tensor<1x64xf32>, tensor<8x64xbf16>) outs(%y : tensor<1x8xf32>) -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}

// -----

// micro_kernel_c4
func.func @uk_f16_k(%x: tensor<1x32xf32>, %w: tensor<8x64xf16>, %y: tensor<1x8xf32>) -> tensor<1x8xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected x of shape [1, 64], got [1, 32]}}
  %r = haqa.micro_kernel "dot_f16" isa = avx2 ins(%x, %w : tensor<1x32xf32>, tensor<8x64xf16>) outs(%y : tensor<1x8xf32>) -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}

// -----

// matmul_c5
func.func @matmul_norm_shape(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %g = haqa.weight "g" : !haqa.weight<32, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.matmul' op expected an f32 norm weight of shape [64], got '!haqa.weight<32, #haqa.quant<f32>>'}}
  %y = haqa.matmul %x, %w norm(%g : !haqa.weight<32, #haqa.quant<f32>>) epsilon = 1.0e-5 {schedule = #haqa.schedule<dot = i8, fuse = [norm]>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// matmul_c5
func.func @matmul_norm_eps(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %g = haqa.weight "g" : !haqa.weight<64, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.matmul' op expected a positive epsilon, got 0}}
  %y = haqa.matmul %x, %w norm(%g : !haqa.weight<64, #haqa.quant<f32>>) epsilon = 0.0 {schedule = #haqa.schedule<dot = i8, fuse = [norm]>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// matmul_c6
func.func @matmul_residual_type(%x: tensor<1x64xf32>, %r: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  // expected-error@+1 {{'haqa.matmul' op expected the residual to have the result type 'tensor<1x8xf32>', got 'tensor<1x64xf32>'}}
  %y = haqa.matmul %x, %w residual(%r : tensor<1x64xf32>) {schedule = #haqa.schedule<dot = i8, fuse = [residual]>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// matmul_c8
func.func @matmul_bias_shape(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %b = haqa.weight "b" : !haqa.weight<64, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.matmul' op expected an f32 bias weight of shape [8], got '!haqa.weight<64, #haqa.quant<f32>>'}}
  %y = haqa.matmul %x, %w bias(%b : !haqa.weight<64, #haqa.quant<f32>>) : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// matmul_c8
func.func @matmul_bias_quantized(%x: tensor<1x64xf32>) -> tensor<1x32xf32> {
  %w = haqa.weight "w" : !haqa.weight<32x64, #haqa.quant<q8_0>>
  %b = haqa.weight "b" : !haqa.weight<32, #haqa.quant<q8_0>>
  // expected-error@+1 {{'haqa.matmul' op expected an f32 bias weight of shape [32], got '!haqa.weight<32, #haqa.quant<q8_0>>'}}
  %y = haqa.matmul %x, %w bias(%b : !haqa.weight<32, #haqa.quant<q8_0>>) : tensor<1x64xf32>, !haqa.weight<32x64, #haqa.quant<q8_0>> -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// matmul_c8
func.func @matmul_bias_residual(%x: tensor<1x64xf32>, %r: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %b = haqa.weight "b" : !haqa.weight<8, #haqa.quant<f32>>
  // expected-error@+1 {{'haqa.matmul' op unimplemented: a bias with gate or residual epilogues (the bias comes before them)}}
  %y = haqa.matmul %x, %w bias(%b : !haqa.weight<8, #haqa.quant<f32>>) residual(%r : tensor<1x8xf32>) {schedule = #haqa.schedule<dot = i8, fuse = [residual]>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// matmul_c7
func.func @matmul_fused_generic(%x: tensor<1x64xf32>, %g: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  // expected-error@+1 {{'haqa.matmul' op expected fused neighbours (norm, gate, residual) only on an f32 matmul whose schedule has dot = i8 or fma}}
  %y = haqa.matmul %x, %w gate(%g : tensor<1x8xf32>) {schedule = #haqa.schedule<cpu_threads = 2>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// micro_kernel_c9
func.func @uk_epilogue_on_quantize(%x: tensor<1x64xf32>, %e: tensor<1x72xi8>) -> tensor<1x72xi8> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected gate and residual epilogues only on a dot kernel}}
  %q = haqa.micro_kernel "quantize_q8" isa = scalar ins(%x : tensor<1x64xf32>) outs(%e : tensor<1x72xi8>) {gate} -> tensor<1x72xi8>
  return %q : tensor<1x72xi8>
}

// -----

// micro_kernel_c9
func.func @uk_epilogue_shape(%q: tensor<1x72xi8>, %w: tensor<8x68xi8>, %g: tensor<1x4xf32>, %e: tensor<1x8xf32>) -> tensor<1x8xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected epilogue input of shape [1, 8], got [1, 4]}}
  %y = haqa.micro_kernel "dot_q8_0" isa = scalar ins(%q, %w, %g : tensor<1x72xi8>, tensor<8x68xi8>, tensor<1x4xf32>) outs(%e : tensor<1x8xf32>) {gate} -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// micro_kernel_c10
func.func @uk_rms_norm_weight(%x: tensor<1x64xf32>, %g: tensor<32xf32>, %e: tensor<1x64xf32>) -> tensor<1x64xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected norm weight of shape [64], got [32]}}
  %y = haqa.micro_kernel "rms_norm_f32" isa = avx2 ins(%x, %g : tensor<1x64xf32>, tensor<32xf32>) outs(%e : tensor<1x64xf32>) {epsilon = 1.0e-5 : f32} -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// micro_kernel_c9
func.func @uk_rms_norm_eps(%x: tensor<1x64xf32>, %g: tensor<64xf32>, %e: tensor<1x64xf32>) -> tensor<1x64xf32> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected epsilon exactly on rms_norm_f32}}
  %y = haqa.micro_kernel "rms_norm_f32" isa = avx2 ins(%x, %g : tensor<1x64xf32>, tensor<64xf32>) outs(%e : tensor<1x64xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
