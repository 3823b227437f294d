// RUN: haqa-opt %s --split-input-file --haqa-last-logits --verify-diagnostics | FileCheck %s

// The output head of @prefill on the last row only: the hidden state's last
// row sliced, rms_norm and matmul rebuilt on one row without their
// many-row schedules, the first result one row; @decode and the caches
// untouched.
// CHECK-LABEL: func.func @prefill
// CHECK-SAME: -> (tensor<1x8xf32>, tensor<4x2xf32>)
// CHECK: %[[H:.*]] = haqa.add
// CHECK: haqa.weight "output.weight"
// CHECK: %[[ROWS:.*]] = tensor.dim %[[H]], %c0
// CHECK: %[[LAST:.*]] = arith.subi %[[ROWS]], %c1
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[H]][%[[LAST]], 0] [1, 32] [1, 1] : tensor<?x32xf32> to tensor<1x32xf32>
// CHECK: %[[N:.*]] = haqa.rms_norm %[[ROW]], %{{.*}} {epsilon = {{.*}}} : tensor<1x32xf32>, !haqa.weight<32, #haqa.quant<f32>> -> tensor<1x32xf32>
// CHECK: %[[L:.*]] = haqa.matmul %[[N]], %{{.*}} : tensor<1x32xf32>, !haqa.weight<8x32, #haqa.quant<q8_0>> -> tensor<1x8xf32>
// CHECK-NOT: schedule
// CHECK: return %[[L]], %{{.*}} : tensor<1x8xf32>, tensor<4x2xf32>
func.func @prefill(%x: tensor<?x32xf32>, %c: tensor<4x2xf32>) -> (tensor<?x8xf32>, tensor<4x2xf32>) {
  %h = haqa.add %x, %x : tensor<?x32xf32>
  %g = haqa.weight "output_norm.weight" : !haqa.weight<32, #haqa.quant<f32>>
  %n = haqa.rms_norm %h, %g {epsilon = 1.0e-5 : f32, schedule = #haqa.schedule<cpu_threads = 2>} : tensor<?x32xf32>, !haqa.weight<32, #haqa.quant<f32>> -> tensor<?x32xf32>
  // The head's weight after the norm: the rebuilt ops go where it dominates.
  %w = haqa.weight "output.weight" : !haqa.weight<8x32, #haqa.quant<q8_0>>
  %l = haqa.matmul %n, %w {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx512_vnni, micro = [4, 16]>} : tensor<?x32xf32>, !haqa.weight<8x32, #haqa.quant<q8_0>> -> tensor<?x8xf32>
  return %l, %c : tensor<?x8xf32>, tensor<4x2xf32>
}
// CHECK-LABEL: func.func @decode
// CHECK: haqa.matmul {{.*}} -> tensor<1x8xf32>
func.func @decode(%x: tensor<1x32xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "output.weight" : !haqa.weight<8x32, #haqa.quant<q8_0>>
  %l = haqa.matmul %x, %w : tensor<1x32xf32>, !haqa.weight<8x32, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %l : tensor<1x8xf32>
}

// -----

// A first result that is no output head is an error, not silently kept.
// expected-error@+1 {{haqa-last-logits: @prefill's first result is no haqa.rms_norm / haqa.matmul chain over 2-d rows of a static width}}
func.func @prefill(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %h = haqa.add %x, %x : tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

// expected-error@+1 {{haqa-last-logits: no function @prefill}}
module {
  func.func @decode(%x: tensor<1x32xf32>) -> tensor<1x32xf32> {
    return %x : tensor<1x32xf32>
  }
}
