// Every haqa kernel op, with matmul weights in every storage: the input of
// the PTX assembly test.
func.func @all(%x: tensor<2x256xf32>, %tok: tensor<2xi32>, %pos: tensor<2xi32>,
               %s: tensor<4x2x64xf32>, %kc: tensor<16x2x32xf32>,
               %vc: tensor<16x2x32xf32>, %q: tensor<2x4x32xf32>,
               %k: tensor<2x2x32xf32>)
    -> (tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>,
        tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x256xf32>, tensor<4x2x64xf32>,
        tensor<2x256xf32>, tensor<2x256xf32>, tensor<2x256xf32>, tensor<2x4x32xf32>,
        tensor<2x4x32xf32>, tensor<2x256xf32>) {
  %w32 = haqa.weight "w32" : !haqa.weight<64x256, #haqa.quant<f32>>
  %w16 = haqa.weight "w16" : !haqa.weight<64x256, #haqa.quant<f16>>
  %wbf = haqa.weight "wbf" : !haqa.weight<64x256, #haqa.quant<bf16>>
  %w8 = haqa.weight "w8" : !haqa.weight<64x256, #haqa.quant<q8_0>>
  %w40 = haqa.weight "w40" : !haqa.weight<64x256, #haqa.quant<q4_0>>
  %w41 = haqa.weight "w41" : !haqa.weight<64x256, #haqa.quant<q4_1>>
  %norm = haqa.weight "norm" : !haqa.weight<256, #haqa.quant<f32>>
  %emb = haqa.weight "emb" : !haqa.weight<100x256, #haqa.quant<q8_0>>
  %m0 = haqa.matmul %x, %w32 : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<f32>> -> tensor<2x64xf32>
  %m1 = haqa.matmul %x, %w16 : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<f16>> -> tensor<2x64xf32>
  %m2 = haqa.matmul %x, %wbf : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<bf16>> -> tensor<2x64xf32>
  %m3 = haqa.matmul %x, %w8 : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<q8_0>> -> tensor<2x64xf32>
  %m4 = haqa.matmul %x, %w40 : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_0>> -> tensor<2x64xf32>
  %m5 = haqa.matmul %x, %w41 : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_1>> -> tensor<2x64xf32>
  %n = haqa.rms_norm %x, %norm {epsilon = 1.0e-5 : f32} : tensor<2x256xf32>, !haqa.weight<256, #haqa.quant<f32>> -> tensor<2x256xf32>
  %sm = haqa.softmax %s : tensor<4x2x64xf32>
  %si = haqa.silu %x : tensor<2x256xf32>
  %sw = haqa.swiglu %x, %n : tensor<2x256xf32>
  %ad = haqa.add %x, %si : tensor<2x256xf32>
  %mu = haqa.mul %x, %sw : tensor<2x256xf32>
  %r = haqa.rope %q, %pos {theta = 10000.0 : f32} : tensor<2x4x32xf32>, tensor<2xi32> -> tensor<2x4x32xf32>
  %e = haqa.embedding %emb[%tok] : !haqa.weight<100x256, #haqa.quant<q8_0>>, tensor<2xi32> -> tensor<2x256xf32>
  %kv = haqa.kv_write %kc, %k, %pos : tensor<16x2x32xf32>, tensor<2x2x32xf32>, tensor<2xi32> -> tensor<16x2x32xf32>
  %at = haqa.attention %r, %kv, %vc, %pos {scale = 0.17677 : f32} : tensor<2x4x32xf32>, tensor<16x2x32xf32>, tensor<16x2x32xf32>, tensor<2xi32> -> tensor<2x4x32xf32>
  return %m0, %m1, %m2, %m3, %m4, %m5, %n, %sm, %si, %sw, %ad, %at, %r, %e : tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x256xf32>, tensor<4x2x64xf32>, tensor<2x256xf32>, tensor<2x256xf32>, tensor<2x256xf32>, tensor<2x4x32xf32>, tensor<2x4x32xf32>, tensor<2x256xf32>
}

// Prefill-sized matmuls (M >= 16): the default CUDA schedule puts them on
// the tensor cores (mma = 1), in every weight storage.
func.func @prefill(%x: tensor<40x256xf32>)
    -> (tensor<40x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>,
        tensor<40x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>) {
  %w32 = haqa.weight "w32" : !haqa.weight<64x256, #haqa.quant<f32>>
  %w16 = haqa.weight "w16" : !haqa.weight<64x256, #haqa.quant<f16>>
  %wbf = haqa.weight "wbf" : !haqa.weight<64x256, #haqa.quant<bf16>>
  %w8 = haqa.weight "w8" : !haqa.weight<64x256, #haqa.quant<q8_0>>
  %w40 = haqa.weight "w40" : !haqa.weight<64x256, #haqa.quant<q4_0>>
  %w41 = haqa.weight "w41" : !haqa.weight<64x256, #haqa.quant<q4_1>>
  %m0 = haqa.matmul %x, %w32 : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<f32>> -> tensor<40x64xf32>
  %m1 = haqa.matmul %x, %w16 : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<f16>> -> tensor<40x64xf32>
  %m2 = haqa.matmul %x, %wbf : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<bf16>> -> tensor<40x64xf32>
  %m3 = haqa.matmul %x, %w8 : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<q8_0>> -> tensor<40x64xf32>
  %m4 = haqa.matmul %x, %w40 : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_0>> -> tensor<40x64xf32>
  %m5 = haqa.matmul %x, %w41 : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_1>> -> tensor<40x64xf32>
  return %m0, %m1, %m2, %m3, %m4, %m5 : tensor<40x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>
}

// Matmuls with a bias (Qwen2's q / k / v projections): on CUDA cores and on
// the tensor cores, the bias added by one more elementwise kernel.
func.func @bias(%x: tensor<2x256xf32>, %xp: tensor<40x256xf32>)
    -> (tensor<2x64xf32>, tensor<40x64xf32>) {
  %w8 = haqa.weight "w8" : !haqa.weight<64x256, #haqa.quant<q8_0>>
  %w40 = haqa.weight "w40" : !haqa.weight<64x256, #haqa.quant<q4_0>>
  %b = haqa.weight "b" : !haqa.weight<64, #haqa.quant<f32>>
  %m0 = haqa.matmul %x, %w8 bias(%b : !haqa.weight<64, #haqa.quant<f32>>) : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<q8_0>> -> tensor<2x64xf32>
  %m1 = haqa.matmul %xp, %w40 bias(%b : !haqa.weight<64, #haqa.quant<f32>>) : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_0>> -> tensor<40x64xf32>
  return %m0, %m1 : tensor<2x64xf32>, tensor<40x64xf32>
}

// K-quant weights (Q4_K, Q6_K super-blocks read in place, on CUDA cores):
// decode and prefill matmuls and embedding tables.
func.func @kquants(%x: tensor<2x256xf32>, %xp: tensor<40x256xf32>, %tok: tensor<2xi32>)
    -> (tensor<2x64xf32>, tensor<2x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>,
        tensor<2x256xf32>, tensor<2x256xf32>) {
  %w4k = haqa.weight "w4k" : !haqa.weight<64x256, #haqa.quant<q4_k>>
  %w6k = haqa.weight "w6k" : !haqa.weight<64x256, #haqa.quant<q6_k>>
  %e4k = haqa.weight "e4k" : !haqa.weight<100x256, #haqa.quant<q4_k>>
  %e6k = haqa.weight "e6k" : !haqa.weight<100x256, #haqa.quant<q6_k>>
  %m0 = haqa.matmul %x, %w4k : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_k>> -> tensor<2x64xf32>
  %m1 = haqa.matmul %x, %w6k : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<q6_k>> -> tensor<2x64xf32>
  %m2 = haqa.matmul %xp, %w4k : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_k>> -> tensor<40x64xf32>
  %m3 = haqa.matmul %xp, %w6k : tensor<40x256xf32>, !haqa.weight<64x256, #haqa.quant<q6_k>> -> tensor<40x64xf32>
  %e0 = haqa.embedding %e4k[%tok] : !haqa.weight<100x256, #haqa.quant<q4_k>>, tensor<2xi32> -> tensor<2x256xf32>
  %e1 = haqa.embedding %e6k[%tok] : !haqa.weight<100x256, #haqa.quant<q6_k>>, tensor<2xi32> -> tensor<2x256xf32>
  return %m0, %m1, %m2, %m3, %e0, %e1 : tensor<2x64xf32>, tensor<2x64xf32>, tensor<40x64xf32>, tensor<40x64xf32>, tensor<2x256xf32>, tensor<2x256xf32>
}
