//===- HAQADialect.td - HAQA dialect definition ------------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The haqa dialect: Llama decoder kernels over activations and (possibly
// quantized) weights, each carrying the schedule an outside search chose.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DIALECT_TD
#define HAQA_DIALECT_TD

include "mlir/IR/OpBase.td"

def HAQA_Dialect : Dialect {
  let name = "haqa";
  let cppNamespace = "::mlir::haqa";
  let summary = "Hardware-aware quantized Llama kernels";
  let description = [{
    The haqa dialect models a Llama-family decoder at the granularity of the
    kernels a hardware-aware agent tunes (matmul, rms_norm, rope, softmax,
    silu, ...). Weights are typed values (`!haqa.weight`) whose quantization
    (`#haqa.quant`) is exact enough to express GGUF's Q8_0, Q4_0 and Q4_1
    blocks, and every kernel op may carry a `#haqa.schedule` chosen by the
    agent.
  }];
  // The discardable attributes convert-haqa-to-linalg sets on the ops it
  // produces for the targets (the contract in
  // include/haqa/Conversion/HAQAToLinalg/Contract.h; each generates
  // HAQADialect::<Name>AttrHelper, e.g. LoopDimsAttrHelper for
  // `haqa.loop_dims`). verifyOperationAttribute checks their kinds.
  let discardableAttrs = (ins
    "::mlir::StringAttr":$kernel,
    "::mlir::DenseI64ArrayAttr":$loop_dims,
    "::mlir::DenseI64ArrayAttr":$loop_strides,
    "::mlir::haqa::ScheduleAttr":$schedule,
    "::mlir::DenseI64ArrayAttr":$operands,
    "::mlir::haqa::MatmulPartAttr":$matmul_part
  );
  let hasOperationAttrVerify = 1;
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
  }];
}

class HAQA_Op<string mnemonic, list<Trait> traits = []>
    : Op<HAQA_Dialect, mnemonic, traits>;

#endif // HAQA_DIALECT_TD
