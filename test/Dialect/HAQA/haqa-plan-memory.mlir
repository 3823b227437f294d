// RUN: haqa-opt %s --haqa-plan-memory="limit=1MiB context=128 batch=16 overhead=0B buffer-cache=0" | FileCheck %s
// RUN: haqa-opt %s --haqa-plan-memory="limit=1MiB context=128 batch=16 overhead=0B" | FileCheck %s --check-prefix=CACHE
// RUN: haqa-opt %s --haqa-plan-memory="limit=1MiB context=128 batch=16 overhead=0B buffer-cache=1000B" | FileCheck %s --check-prefix=SMALL
// RUN: not haqa-opt %s --haqa-plan-memory=limit=lots 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not haqa-opt %s --haqa-plan-memory=buffer-cache=some 2>&1 | FileCheck %s --check-prefix=BADCACHE

// BAD: error: expected limit as a size such as 12GB or 512MiB, got 'lots'
// BADCACHE: error: expected buffer-cache as a size, got 'some'

// One layer, dim 64, 4 heads of 16 (2 KV heads), ffn 128, vocab 256.
// weights: two 64x64 and one 256x64 2-d weights plus a 64-float norm:
//   fp16 (64*64*2 + 256*64) * 2 + 256 = 49408; q8_0 = 24576 / 32 * 34 + 256 = 26368;
//   q4_0 = 24576 / 32 * 18 + 256 = 14080; current (f32) = 24576 * 4 + 256 = 98560.
// kv cache: 2 * 1 layer * 128 rows * 2 heads * 16 * 2 bytes = 16384.
// activations: 16 * 4 * (4*64 + 2*128 + 4*128 + 256) = 81920.
// CHECK: haqa.memory_plan = {batch = 16 : i64, context = 128 : i64,
// CHECK-SAME: current = {activations = 81920 : i64, buffer_cache = 0 : i64, fits = true, kv_cache = 16384 : i64, overhead = 0 : i64, total = 196864 : i64, weights = 98560 : i64},
// CHECK-SAME: fp16 = {activations = 81920 : i64, buffer_cache = 0 : i64, fits = true, kv_cache = 16384 : i64, overhead = 0 : i64, total = 147712 : i64, weights = 49408 : i64},
// CHECK-SAME: int4 = {{{.*}} total = 112384 : i64, weights = 14080 : i64},
// CHECK-SAME: int8 = {{{.*}} total = 124672 : i64, weights = 26368 : i64},
// CHECK-SAME: limit = 1048576 : i64}

// The CPU runtime's cache of freed intermediates: by default (1 GiB bound)
// as large as the activations it caches, 81920 more bytes per precision;
// with a 1000-byte bound, 1000.
// CACHE: current = {activations = 81920 : i64, buffer_cache = 81920 : i64, fits = true, kv_cache = 16384 : i64, overhead = 0 : i64, total = 278784 : i64, weights = 98560 : i64},
// SMALL: current = {activations = 81920 : i64, buffer_cache = 1000 : i64, fits = true, kv_cache = 16384 : i64, overhead = 0 : i64, total = 197864 : i64, weights = 98560 : i64},

module attributes {haqa.config = {layers = 1 : i64, dim = 64 : i64, heads = 4 : i64, kv_heads = 2 : i64, head_dim = 16 : i64, ffn_dim = 128 : i64, vocab = 256 : i64, context = 128 : i64}} {
  func.func @f(%x: tensor<1x64xf32>) -> (tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x256xf32>) {
    %n = haqa.weight "n" : !haqa.weight<64, #haqa.quant<f32>>
    %a = haqa.weight "a" : !haqa.weight<64x64, #haqa.quant<f32>>
    %b = haqa.weight "b" : !haqa.weight<64x64, #haqa.quant<f32>>
    %c = haqa.weight "c" : !haqa.weight<256x64, #haqa.quant<f32>>
    // The same weight used twice is counted once.
    %a2 = haqa.weight "a" : !haqa.weight<64x64, #haqa.quant<f32>>
    %h = haqa.rms_norm %x, %n {epsilon = 1.0e-05 : f32} : tensor<1x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<1x64xf32>
    %y = haqa.matmul %h, %a : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<f32>> -> tensor<1x64xf32>
    %z = haqa.matmul %y, %b : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<f32>> -> tensor<1x64xf32>
    %w = haqa.matmul %z, %a2 : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<f32>> -> tensor<1x64xf32>
    %l = haqa.matmul %w, %c : tensor<1x64xf32>, !haqa.weight<256x64, #haqa.quant<f32>> -> tensor<1x256xf32>
    return %y, %w, %l : tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x256xf32>
  }
}
