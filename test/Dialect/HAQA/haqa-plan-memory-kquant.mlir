// RUN: haqa-opt %s --haqa-plan-memory="limit=1MiB context=128 batch=16 overhead=0B buffer-cache=0" | FileCheck %s

// K-quant weights count their super-blocks' real bytes: Q4_K 144 and Q6_K
// 210 bytes per 256 values (a Q4_K_M mix).
// weights as stored: 64x256 q4_k = 64 * 144 = 9216, 100x256 q6_k =
//   100 * 210 = 21000, plus a 256-float norm = 1024: 31240.
// q4_0 for comparison: (16384 + 25600) / 32 * 18 + 1024 = 24640.
// CHECK: current = {{{.*}} weights = 31240 : i64}
// CHECK-SAME: int4 = {{{.*}} weights = 24640 : i64}

module attributes {haqa.config = {layers = 1 : i64, dim = 256 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 64 : i64, ffn_dim = 64 : i64, vocab = 100 : i64, context = 128 : i64}} {
  func.func @f(%x: tensor<1x256xf32>) -> (tensor<1x64xf32>, tensor<1x100xf32>) {
    %n = haqa.weight "n" : !haqa.weight<256, #haqa.quant<f32>>
    %a = haqa.weight "a" : !haqa.weight<64x256, #haqa.quant<q4_k>>
    %c = haqa.weight "c" : !haqa.weight<100x256, #haqa.quant<q6_k>>
    %h = haqa.rms_norm %x, %n {epsilon = 1.0e-05 : f32} : tensor<1x256xf32>, !haqa.weight<256, #haqa.quant<f32>> -> tensor<1x256xf32>
    %y = haqa.matmul %h, %a : tensor<1x256xf32>, !haqa.weight<64x256, #haqa.quant<q4_k>> -> tensor<1x64xf32>
    %l = haqa.matmul %h, %c : tensor<1x256xf32>, !haqa.weight<100x256, #haqa.quant<q6_k>> -> tensor<1x100xf32>
    return %y, %l : tensor<1x64xf32>, tensor<1x100xf32>
  }
}
