// RUN: haqa-opt %s --convert-haqa-to-linalg | FileCheck %s
// RUN: haqa-opt %s --convert-haqa-to-linalg=outline-kernels=true | FileCheck %s --check-prefix=OUTLINE
// RUN: haqa-opt %s --convert-haqa-to-linalg | haqa-opt | FileCheck %s

// A blocked matmul (K a multiple of 32) is two generics, and the targets find
// them by `haqa.matmul_part` (Contract.h), not by their shapes: the partial
// sums over loops (m, n, h, b, j), then the sum of their lanes over (m, n, j),
// whose one input is the partial sums. Any other generic has no part.

// CHECK-LABEL: func.func @q4_0(
// CHECK: %[[P:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel"]}
// CHECK-SAME: haqa.matmul_part = #haqa<matmul_part partial_sums>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]] :
// CHECK-SAME: haqa.matmul_part = #haqa<matmul_part lane_sum>
func.func @q4_0(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %w : tensor<2x64xf32>, !haqa.weight<8x64, #haqa.quant<q4_0>> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// Plain weights with K in blocks of 32 take the same form.
// CHECK-LABEL: func.func @f16(
// CHECK: linalg.generic {{.*}}haqa.matmul_part = #haqa<matmul_part partial_sums>
// CHECK: linalg.generic {{.*}}haqa.matmul_part = #haqa<matmul_part lane_sum>
func.func @f16(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "h" : !haqa.weight<8x64, #haqa.quant<f16>>
  %y = haqa.matmul %x, %w : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<f16>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// K = 48: one three-loop generic, not a blocked matmul; nor is a norm.
// CHECK-LABEL: func.func @not_blocked(
// CHECK-NOT: haqa.matmul_part
// CHECK: return
func.func @not_blocked(%x: tensor<2x48xf32>) -> tensor<2x48xf32> {
  %w = haqa.weight "p" : !haqa.weight<48x48, #haqa.quant<f32>>
  %n = haqa.weight "n" : !haqa.weight<48, #haqa.quant<f32>>
  %y = haqa.matmul %x, %w : tensor<2x48xf32>, !haqa.weight<48x48, #haqa.quant<f32>> -> tensor<2x48xf32>
  %z = haqa.rms_norm %y, %n {epsilon = 1.0e-05 : f32} : tensor<2x48xf32>, !haqa.weight<48, #haqa.quant<f32>> -> tensor<2x48xf32>
  return %z : tensor<2x48xf32>
}

// Outlined kernels carry the same tags.
// OUTLINE-LABEL: func.func private @matmul_kernel(
// OUTLINE: linalg.generic {{.*}}haqa.matmul_part = #haqa<matmul_part partial_sums>
// OUTLINE: linalg.generic {{.*}}haqa.matmul_part = #haqa<matmul_part lane_sum>
// OUTLINE: return
