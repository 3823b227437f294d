//===- HAQAConversionPasses.td - lowering passes -----------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_CONVERSION_PASSES_TD
#define HAQA_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertHAQAToLinalgPass : Pass<"convert-haqa-to-linalg", "ModuleOp"> {
  let summary = "lower haqa kernel ops to linalg on tensors";
  let description = [{
    Every `haqa.weight` becomes a function argument holding the weight's
    stored bytes (`memref<S x i8>`, S from its #haqa.quant, with the argument
    attribute `haqa.weight = "name"`); kernel ops become linalg.generic ops
    (plus tensor.empty / linalg.fill) that read those bytes through typed
    strided views, so quantized blocks are dequantized where they are used.
    A kernel's `#haqa.schedule` moves to the linalg ops it produced (as the
    discardable attribute `haqa.schedule`, with `haqa.kernel` naming the
    kernel) for haqa-cpu-apply-schedule. These and the other attributes the
    targets read (`haqa.loop_dims`, `haqa.loop_strides`, `haqa.operands`,
    `haqa.matmul_part` on the two generics of a blocked matmul) are the
    contract of include/haqa/Conversion/HAQAToLinalg/Contract.h.

    Q8_0, before:
    ```mlir
    %w = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<q8_0>>
    %y = haqa.matmul %x, %w : tensor<1x64xf32>, !haqa.weight<...> -> tensor<1x64xf32>
    ```
    after: `func.func @f(%x, %w: memref<4352xi8> {haqa.weight = "w"})`,
    quants viewed as `memref<64x2x32xi8, strided<[68, 34, 1], offset: 2>>`,
    scales as `memref<64x2xf16, strided<[34, 17]>>`, and one linalg.generic
    over (m, n, block, j) computing `acc + x * (f32(q) * f32(d))`.

    `haqa.embedding` becomes a generic reading the selected rows with
    tensor.extract; `haqa.kv_write` an scf.for inserting each new row at its
    position (in place once bufferized); `haqa.attention` generics for the
    scores over the visible cache rows (0 .. max(positions)), the causal
    mask, the softmax and P V.
  }];
  let options = [
    Option<"outlineKernels", "outline-kernels", "bool", /*default=*/"false",
           "lower each distinct kernel (op, operand types, attributes and "
           "schedule) once, into a private function the model calls: the "
           "30 layers of a model share one copy of each kernel">,
    Option<"attentionWholeCache", "attention-whole-cache", "bool",
           /*default=*/"false",
           "attention scores over every row of the KV cache (the causal mask "
           "hides the rows past each token; the results are the same) "
           "instead of 0 .. max(positions): static shapes, and no value the "
           "host must read from the device before the scores (GPUs)">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::scf::SCFDialect",
  ];
}

#endif // HAQA_CONVERSION_PASSES_TD
