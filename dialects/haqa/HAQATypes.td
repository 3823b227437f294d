//===- HAQATypes.td - HAQA types ---------------------------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// !haqa.weight: a model weight of static shape stored with a #haqa.quant.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TYPES_TD
#define HAQA_TYPES_TD

include "haqa/HAQAAttrs.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

class HAQA_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<HAQA_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def HAQA_WeightType : HAQA_Type<"Weight", "weight"> {
  let summary = "a (possibly quantized) model weight";
  let description = [{
    A weight of static shape in the model's storage order: for a linear layer
    `[out_features, in_features]`, the innermost dimension being the reduction
    axis along which quantization groups run (GGUF's `ne[0]`). The bytes live
    outside the IR (a weights file or resource), referenced by `haqa.weight`.

    Why not `!quant.uniform`: its sub-channel form keeps every scale and zero
    point inside the type, which for a real model would put millions of
    numbers into the IR text, and it has no way to say "per-group minimum"
    (GGUF Q4_1) or the GGUF nibble order. `#haqa.quant` describes the storage
    only; scales live with the weight bytes.

    ```mlir
    !haqa.weight<576x576, #haqa.quant<q4_1>>
    !haqa.weight<576, #haqa.quant<f32>>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape,
                        "QuantAttr":$quant);
  let assemblyFormat = "`<` custom<Shape>($shape) `,` qualified($quant) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getNumElements() const;
    /// Bytes of storage under this type's quantization, or under `q`.
    uint64_t getStorageBytes(QuantAttr q = {}) const;
  }];
}

#endif // HAQA_TYPES_TD
