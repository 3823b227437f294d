//===- HAQAInterfaces.td - the kernel op interface ---------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// KernelOpInterface: what every tunable kernel answers (name, shape
// signature, iteration space, FLOPs, bytes) so that passes, the memory
// planner and the agent never switch over op kinds.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_INTERFACES_TD
#define HAQA_INTERFACES_TD

include "mlir/IR/OpBase.td"

def HAQA_KernelOpInterface : OpInterface<"KernelOpInterface"> {
  let cppNamespace = "::mlir::haqa";
  let description = [{
    A kernel the agent tunes. Its shape signature follows the HAQA paper's
    Table 3 (ggml order, innermost dimension first, padded to three), e.g.
    `softmax [1024,64,32]`, `matmul [2048,1,2048]` (K, M, N) or
    `rope [128,64,1]` (head size, tokens, heads).
  }];
  let methods = [
    InterfaceMethod<"Kernel name, e.g. \"softmax\".", "::llvm::StringRef",
      "getKernelName">,
    InterfaceMethod<"Shape signature, innermost dimension first (ggml ne order).",
      "::llvm::SmallVector<int64_t>", "getShapeSignature">,
    InterfaceMethod<[{Iteration space the schedule's tile / order refer to,
      outermost first; ShapedType::kDynamic where not known.}],
      "::llvm::SmallVector<int64_t>", "getIterationSpace">,
    InterfaceMethod<"Floating-point (or integer MAC) operations of one run.",
      "uint64_t", "getFlops">,
    InterfaceMethod<[{Bytes read and written by one run, with the weight
      operands stored as `weightQuant` (their own quantization when null).}],
      "uint64_t", "getBytes", (ins "::mlir::haqa::QuantAttr":$weightQuant)>,
    InterfaceMethod<[{Whether the kernel can be measured alone, in a module
      of its own, on synthetic inputs (random activations and KV caches,
      integer operands the positions of a running generation within their
      getIndexBound, random weights in its storage): false where its result
      depends on weights with meaning (RoPE frequency factors) or on a
      storage the targets do not lower.}],
      "bool", "isMeasurableAlone">,
    InterfaceMethod<[{Where the values of integer operand `operandNumber`
      must lie, [0, bound): the table's rows for token ids, the cache's rows
      for positions into a KV cache. std::nullopt where any value is valid
      (RoPE positions) or the operand holds no indices.}],
      "std::optional<int64_t>", "getIndexBound",
      (ins "unsigned":$operandNumber)>,
  ];
  let extraSharedClassDeclaration = [{
    /// The schedule the agent chose, if any.
    ::mlir::haqa::ScheduleAttr getSchedule() {
      return $_op->template getAttrOfType<::mlir::haqa::ScheduleAttr>("schedule");
    }
    void setSchedule(::mlir::haqa::ScheduleAttr s) {
      $_op->setAttr("schedule", s);
    }
    /// "softmax [1024,64,32]" ("?" for a dynamic dimension).
    std::string getSignatureString() {
      std::string s = $_op.getKernelName().str() + " [";
      llvm::raw_string_ostream os(s);
      llvm::interleave($_op.getShapeSignature(), os, [&](int64_t d) {
        if (::mlir::ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      }, ",");
      os << "]";
      return s;
    }
  }];
  let verify = [{ return ::mlir::haqa::detail::verifyKernelOp($_op); }];
}

#endif // HAQA_INTERFACES_TD
