// RUN: haqa-opt %s --haqa-quantize=bits=8 | FileCheck %s --check-prefix=INT8
// RUN: haqa-opt %s --haqa-quantize=bits=4 | FileCheck %s --check-prefix=INT4
// RUN: haqa-opt %s --haqa-quantize="bits=4 zero=min" | FileCheck %s --check-prefix=Q41
// RUN: haqa-opt %s --haqa-quantize=bits=16 | FileCheck %s --check-prefix=FP16
// RUN: haqa-opt %s --haqa-quantize="bits=4 group=64" | FileCheck %s --check-prefix=PLANAR
// RUN: haqa-opt %s --haqa-quantize="bits=4 overrides=output.weight:8,blk.0.attn_*:16" | FileCheck %s --check-prefix=OVR
// RUN: not haqa-opt %s --haqa-quantize=bits=3 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not haqa-opt %s --haqa-quantize="bits=4 group=256" 2>&1 | FileCheck %s --check-prefix=GROUP

// GGUF storages by name: Q4_K with a Q6_K output as llama.cpp's Q4_K_M
// (on the 256-wide function below); rows not a multiple of 256 are refused.
// RUN: not haqa-opt %s --haqa-quantize="storage=q4_k overrides=output.weight:q6_k" --split-input-file 2>&1 | FileCheck %s --check-prefix=KQ
// RUN: haqa-opt %s --haqa-quantize="bits=0 overrides=*attn_q*:q8_0" | FileCheck %s --check-prefix=KEEP
// RUN: not haqa-opt %s --haqa-quantize="storage=q5_k" 2>&1 | FileCheck %s --check-prefix=BADSTORAGE
// RUN: not haqa-opt %s --haqa-quantize="bits=4 overrides=output.weight" 2>&1 | FileCheck %s --check-prefix=BADOVR
// KQ: error: expected the innermost dimension (64) to be a multiple of 256 for q4_k
// KQ-LABEL: func.func @wide
// KQ: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x256, #haqa.quant<q4_k>>
// KQ: haqa.weight "output.weight" : !haqa.weight<100x256, #haqa.quant<q6_k>>
// KEEP: haqa.weight "blk.0.attn_norm.weight" : !haqa.weight<64, #haqa.quant<f32>>
// KEEP: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<q8_0>>
// KEEP: haqa.weight "output.weight" : !haqa.weight<256x64, #haqa.quant<f32>>
// BADSTORAGE: error: expected a storage of 16, 8 or 4 bits or one of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k, q6_k, got 'q5_k'
// BADOVR: error: expected an override 'glob:bits' or 'glob:storage', got 'output.weight'

// BITS: error: expected bits to be 16, 8 or 4, got 3
// GROUP: error: expected group size to divide the innermost dimension (64), got 256

// INT8-LABEL: func.func @layer
// INT8: haqa.weight "blk.0.attn_norm.weight" : !haqa.weight<64, #haqa.quant<f32>>
// INT8: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<q8_0>>
// INT8: haqa.weight "output.weight" : !haqa.weight<256x64, #haqa.quant<q8_0>>
// INT8: haqa.matmul {{.*}} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>>

// INT4: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<q4_0>>
// Q41: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<q4_1>>
// FP16: haqa.weight "blk.0.attn_norm.weight" : !haqa.weight<64, #haqa.quant<f32>>
// FP16: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<f16>>
// PLANAR: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<i4, group = 64, scale = f16, zero = none, layout = planar>>

// OVR: haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<f16>>
// OVR: haqa.weight "output.weight" : !haqa.weight<256x64, #haqa.quant<q8_0>>

func.func @layer(%x: tensor<1x64xf32>) -> (tensor<1x64xf32>, tensor<1x256xf32>) {
  %n = haqa.weight "blk.0.attn_norm.weight" : !haqa.weight<64, #haqa.quant<f32>>
  %wq = haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x64, #haqa.quant<f32>>
  %wo = haqa.weight "output.weight" : !haqa.weight<256x64, #haqa.quant<f32>>
  %h = haqa.rms_norm %x, %n {epsilon = 1.0e-05 : f32} : tensor<1x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<1x64xf32>
  %q = haqa.matmul %h, %wq : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<f32>> -> tensor<1x64xf32>
  %l = haqa.matmul %h, %wo : tensor<1x64xf32>, !haqa.weight<256x64, #haqa.quant<f32>> -> tensor<1x256xf32>
  return %q, %l : tensor<1x64xf32>, tensor<1x256xf32>
}

// -----

func.func @wide(%x: tensor<1x256xf32>) -> (tensor<1x64xf32>, tensor<1x100xf32>) {
  %wq = haqa.weight "blk.0.attn_q.weight" : !haqa.weight<64x256, #haqa.quant<f32>>
  %wo = haqa.weight "output.weight" : !haqa.weight<100x256, #haqa.quant<f32>>
  %q = haqa.matmul %x, %wq : tensor<1x256xf32>, !haqa.weight<64x256, #haqa.quant<f32>> -> tensor<1x64xf32>
  %l = haqa.matmul %x, %wo : tensor<1x256xf32>, !haqa.weight<100x256, #haqa.quant<f32>> -> tensor<1x100xf32>
  return %q, %l : tensor<1x64xf32>, tensor<1x100xf32>
}
