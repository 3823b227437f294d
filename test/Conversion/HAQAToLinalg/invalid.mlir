// RUN: haqa-opt %s --convert-haqa-to-linalg --split-input-file --verify-diagnostics
// RUN: haqa-opt %s --convert-haqa-to-linalg=outline-kernels=true --split-input-file --verify-diagnostics

// What convert-haqa-to-linalg cannot lower says so, on the kernel op; the
// pass stops at the first such kernel.

func.func @bf16(%x: tensor<4x64xbf16>) -> tensor<4x64xbf16> {
  // expected-error @+1 {{'haqa.silu' op unimplemented: activations of type 'bf16' (the CPU lowering takes f32)}}
  %y = haqa.silu %x : tensor<4x64xbf16>
  return %y : tensor<4x64xbf16>
}

// -----

func.func @planar_matmul(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<i4, group = 32, scale = f16, zero = none, layout = planar>>
  // expected-error @+1 {{'haqa.matmul' op unimplemented: matmul with #haqa.quant<i4, group = 32, scale = f16, zero = none, layout = planar> weights on the CPU}}
  %y = haqa.matmul %x, %w : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<i4, group = 32, scale = f16, zero = none, layout = planar>> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

func.func @planar_embedding(%t: tensor<3xi32>) -> tensor<3x64xf32> {
  %w = haqa.weight "e" : !haqa.weight<100x64, #haqa.quant<i8, group = 32, scale = f16, zero = none, layout = planar>>
  // expected-error @+1 {{'haqa.embedding' op unimplemented: embedding with #haqa.quant<i8, group = 32, scale = f16, zero = none, layout = planar> tables on the CPU}}
  %y = haqa.embedding %w[%t] : !haqa.weight<100x64, #haqa.quant<i8, group = 32, scale = f16, zero = none, layout = planar>>, tensor<3xi32> -> tensor<3x64xf32>
  return %y : tensor<3x64xf32>
}

// -----

func.func @two_storages(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %a = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  // expected-error @+1 {{'haqa.weight' op weight 'w' is used with two different storages}}
  %b = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %a : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  %z = haqa.matmul %y, %b : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q4_0>> -> tensor<1x64xf32>
  return %z : tensor<1x64xf32>
}

// -----

func.func @second_kernel_fails(%x: tensor<1x64xf32>, %h: tensor<1x64xbf16>) -> (tensor<1x64xf32>, tensor<1x64xbf16>) {
  %w = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  // expected-error @+1 {{'haqa.silu' op unimplemented: activations of type 'bf16'}}
  %z = haqa.silu %h : tensor<1x64xbf16>
  // Not reached: the pass stops at the first kernel it cannot lower.
  %p = haqa.weight "p" : !haqa.weight<64x64, #haqa.quant<i4, group = 32, scale = f16, zero = none, layout = planar>>
  %u = haqa.matmul %y, %p : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<i4, group = 32, scale = f16, zero = none, layout = planar>> -> tensor<1x64xf32>
  return %u, %z : tensor<1x64xf32>, tensor<1x64xbf16>
}
