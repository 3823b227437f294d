// RUN: haqa-opt %s --haqa-extract-kernels -o /dev/null | FileCheck %s
// RUN: haqa-opt %s --haqa-extract-kernels=output=%t.json | FileCheck %s --check-prefix=IR
// RUN: FileCheck %s < %t.json
// RUN: not haqa-opt %s --haqa-extract-kernels=output=/nonexistent/dir/k.json 2>&1 | FileCheck %s --check-prefix=ERR

// The IR passes through unchanged when the JSON goes to a file.
// IR-LABEL: func.func @layer
// IR: haqa.matmul

// ERR: error: cannot write kernel list:

// Two identical matmuls are one kernel with count 2; the same matmul with
// another schedule is a distinct kernel. JSON object keys print sorted.

// CHECK: "kernels": [
// CHECK-NEXT: {
// CHECK-NEXT: "bytes": 6912,
// CHECK-NEXT: "count": 1,
// CHECK-NEXT: "flops": 2304,
// CHECK-NEXT: "iteration_space": [
// CHECK-NEXT: 1,
// CHECK-NEXT: 576
// CHECK-NEXT: ],
// CHECK-NEXT: "kernel": "rms_norm",
// CHECK-NEXT: "op": "haqa.rms_norm",
// CHECK:      "quant": {
// CHECK-NEXT: "attr": "#haqa.quant<f32>",
// CHECK-NEXT: "bits": 32,
// CHECK-NEXT: "gguf": "f32",
// CHECK-NEXT: "kind": "f32"
// CHECK-NEXT: },
// CHECK:      "schedule": null,
// CHECK-NEXT: "shape": [
// CHECK-NEXT: 576,
// CHECK-NEXT: 1,
// CHECK-NEXT: 1
// CHECK-NEXT: ],
// CHECK-NEXT: "signature": "rms_norm [576,1,1]"

// 2*1*1536*576 FLOPs; bytes: x 576*4 + Q4_1 weight 1536*576/32*20 + y 1536*4.
// CHECK:      "bytes": 561408,
// CHECK-NEXT: "count": 2,
// CHECK-NEXT: "flops": 1769472,
// CHECK:      "kernel": "matmul",
// CHECK:      "operand_types": [
// CHECK-NEXT: "tensor<1x576xf32>",
// CHECK-NEXT: "!haqa.weight<1536x576, #haqa.quant<q4_1>>"
// CHECK-NEXT: ],
// CHECK:      "gguf": "q4_1",
// CHECK-NEXT: "group": 32,
// CHECK-NEXT: "kind": "i4",
// CHECK-NEXT: "layout": "gguf",
// CHECK-NEXT: "zero": "min"
// CHECK:      "schedule": null,
// CHECK:      "signature": "matmul [576,1,1536]"

// CHECK:      "count": 1,
// CHECK:      "kernel": "matmul",
// CHECK:      "schedule": "#haqa.schedule<tile = [1, 64, 576], unroll = 2>",
// CHECK:      "signature": "matmul [576,1,1536]"

// 9 heads x 1 query x 2048 keys, each (4 * 64 + 5) FLOPs.
// CHECK:      "flops": 4810752,
// CHECK:      "kernel": "attention",
// CHECK:      "quant": null,
// CHECK:      "signature": "attention [2048,1,9,64]"

// CHECK:      "total": {
// CHECK-NEXT: "bytes": {{[0-9]+}},
// CHECK-NEXT: "distinct_kernels": 4,
// CHECK-NEXT: "flops": {{[0-9]+}},
// CHECK-NEXT: "kernel_ops": 5

func.func @layer(%x: tensor<1x576xf32>, %q: tensor<1x9x64xf32>, %kc: tensor<2048x3x64xf32>, %pos: tensor<1xi32>)
    -> (tensor<1x1536xf32>, tensor<1x1536xf32>, tensor<1x1536xf32>, tensor<1x9x64xf32>) {
  %n = haqa.weight "norm" : !haqa.weight<576, #haqa.quant<f32>>
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<q4_1>>
  %h = haqa.rms_norm %x, %n {epsilon = 1.0e-05 : f32} : tensor<1x576xf32>, !haqa.weight<576, #haqa.quant<f32>> -> tensor<1x576xf32>
  %a = haqa.matmul %h, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_1>> -> tensor<1x1536xf32>
  %b = haqa.matmul %h, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_1>> -> tensor<1x1536xf32>
  %c = haqa.matmul %h, %w {schedule = #haqa.schedule<tile = [1, 64, 576], unroll = 2>} : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_1>> -> tensor<1x1536xf32>
  %o = haqa.attention %q, %kc, %kc, %pos {scale = 0.125 : f32} : tensor<1x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %a, %b, %c, %o : tensor<1x1536xf32>, tensor<1x1536xf32>, tensor<1x1536xf32>, tensor<1x9x64xf32>
}
