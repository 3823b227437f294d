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
    `softmax [1024,64,32]` or `matmul [2048,1,2048]` (K, M, N).
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
