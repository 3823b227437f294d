// One SmolLM2-135M decoder layer (dim 576, 9 query heads, 3 KV heads of
// size 64, FFN 1536, rope theta 1e5) decoding one token over a 2048-entry KV
// cache, with the weights quantized as in the Q4_1 GGUF that ships the model.
//
//   build/bin/haqa-opt examples/smollm2-layer.mlir \
//     --haqa-default-schedule=target=cpu --haqa-extract-kernels -o /dev/null

!act = tensor<1x576xf32>
!q4 = !haqa.weight<576x576, #haqa.quant<q4_1>>
!kv4 = !haqa.weight<192x576, #haqa.quant<q4_1>>
!up4 = !haqa.weight<1536x576, #haqa.quant<q4_1>>
!down4 = !haqa.weight<576x1536, #haqa.quant<q4_1>>
!norm = !haqa.weight<576, #haqa.quant<f32>>
!cache = tensor<2048x3x64xf32>

func.func @decode_layer(%x: !act, %pos: tensor<1xi32>, %kc: !cache, %vc: !cache)
    -> (!act, !cache, !cache) {
  %attn_norm = haqa.weight "blk.0.attn_norm.weight" : !norm
  %wq = haqa.weight "blk.0.attn_q.weight" : !q4
  %wk = haqa.weight "blk.0.attn_k.weight" : !kv4
  %wv = haqa.weight "blk.0.attn_v.weight" : !kv4
  %wo = haqa.weight "blk.0.attn_output.weight" : !q4
  %ffn_norm = haqa.weight "blk.0.ffn_norm.weight" : !norm
  %wgate = haqa.weight "blk.0.ffn_gate.weight" : !up4
  %wup = haqa.weight "blk.0.ffn_up.weight" : !up4
  %wdown = haqa.weight "blk.0.ffn_down.weight" : !down4

  // Attention block.
  %h = haqa.rms_norm %x, %attn_norm {epsilon = 1.0e-05 : f32} : !act, !norm -> !act
  %q = haqa.matmul %h, %wq : !act, !q4 -> !act
  %k = haqa.matmul %h, %wk : !act, !kv4 -> tensor<1x192xf32>
  %v = haqa.matmul %h, %wv : !act, !kv4 -> tensor<1x192xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [1, 9, 64] : !act into tensor<1x9x64xf32>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [1, 3, 64] : tensor<1x192xf32> into tensor<1x3x64xf32>
  %v3 = tensor.expand_shape %v [[0], [1, 2]] output_shape [1, 3, 64] : tensor<1x192xf32> into tensor<1x3x64xf32>
  %qr = haqa.rope %q3, %pos {theta = 1.0e+05 : f32} : tensor<1x9x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  %kr = haqa.rope %k3, %pos {theta = 1.0e+05 : f32} : tensor<1x3x64xf32>, tensor<1xi32> -> tensor<1x3x64xf32>
  %kc1 = haqa.kv_write %kc, %kr, %pos : !cache, tensor<1x3x64xf32>, tensor<1xi32> -> !cache
  %vc1 = haqa.kv_write %vc, %v3, %pos : !cache, tensor<1x3x64xf32>, tensor<1xi32> -> !cache
  %o3 = haqa.attention %qr, %kc1, %vc1, %pos {scale = 0.125 : f32} : tensor<1x9x64xf32>, !cache, !cache, tensor<1xi32> -> tensor<1x9x64xf32>
  %o = tensor.collapse_shape %o3 [[0], [1, 2]] : tensor<1x9x64xf32> into !act
  %proj = haqa.matmul %o, %wo : !act, !q4 -> !act
  %x1 = haqa.add %x, %proj : !act

  // Feed-forward block.
  %h2 = haqa.rms_norm %x1, %ffn_norm {epsilon = 1.0e-05 : f32} : !act, !norm -> !act
  %gate = haqa.matmul %h2, %wgate : !act, !up4 -> tensor<1x1536xf32>
  %up = haqa.matmul %h2, %wup : !act, !up4 -> tensor<1x1536xf32>
  %act = haqa.swiglu %gate, %up : tensor<1x1536xf32>
  %down = haqa.matmul %act, %wdown : tensor<1x1536xf32>, !down4 -> !act
  %x2 = haqa.add %x1, %down : !act
  return %x2, %kc1, %vc1 : !act, !cache, !cache
}
