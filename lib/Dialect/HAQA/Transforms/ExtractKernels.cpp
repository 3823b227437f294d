//===- ExtractKernels.cpp - list the distinct kernels as JSON ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Writes the JSON the agent reads: one entry per distinct kernel (same op,
// operand and result types, attributes and schedule: getKernelKey) with its
// signature, quantization, schedule, FLOPs, bytes and number of
// occurrences. Leaves the IR alone. collectDistinctKernels, the grouping,
// is what the tuner uses too.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/Transforms/DistinctKernels.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQAEXTRACTKERNELSPASS
#include "haqa/Dialect/HAQA/Transforms/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

SmallVector<DistinctKernel>
mlir::haqa::collectDistinctKernels(Operation *root, bool bySchedule) {
  SmallVector<DistinctKernel> kernels;
  llvm::StringMap<size_t> index;
  root->walk([&](KernelOpInterface kernel) {
    auto [it, inserted] = index.try_emplace(
        getKernelKey(kernel.getOperation(), bySchedule), kernels.size());
    if (inserted)
      kernels.push_back({kernel, {}});
    kernels[it->second].ops.push_back(kernel.getOperation());
  });
  return kernels;
}

namespace {

template <typename T> std::string printed(T value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  value.print(os);
  return s;
}

llvm::json::Array intArray(ArrayRef<int64_t> values) {
  llvm::json::Array a;
  for (int64_t v : values)
    a.push_back(ShapedType::isDynamic(v) ? llvm::json::Value(nullptr)
                                         : llvm::json::Value(v));
  return a;
}

/// The quantization of the kernel's weight operand, or null.
llvm::json::Value quantJson(Operation *op) {
  for (Value v : op->getOperands()) {
    auto w = dyn_cast<WeightType>(v.getType());
    if (!w)
      continue;
    QuantAttr q = w.getQuant();
    llvm::json::Object o{{"attr", printed(Attribute(q))},
                         {"kind", stringifyElemKind(q.getKind())},
                         {"bits", static_cast<int64_t>(q.getBits())}};
    if (q.isQuantized()) {
      o["group"] = q.getGroup();
      o["zero"] = stringifyZeroKind(q.getZero());
      o["layout"] = stringifyStorageLayout(q.getLayout());
    }
    StringRef gguf = q.getGGUFName();
    o["gguf"] =
        gguf.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(gguf);
    return llvm::json::Value(std::move(o));
  }
  return nullptr;
}

/// Integers, bools, strings and nested dictionaries of an attribute as JSON.
llvm::json::Value attrJson(Attribute a) {
  if (auto i = dyn_cast<IntegerAttr>(a)) {
    if (i.getType().isInteger(1))
      return i.getValue().getBoolValue();
    return i.getInt();
  }
  if (auto b = dyn_cast<BoolAttr>(a))
    return b.getValue();
  if (auto s = dyn_cast<StringAttr>(a))
    return s.getValue();
  if (auto f = dyn_cast<FloatAttr>(a))
    return f.getValueAsDouble();
  if (auto d = dyn_cast<DictionaryAttr>(a)) {
    llvm::json::Object o;
    for (NamedAttribute n : d)
      o[n.getName().getValue()] = attrJson(n.getValue());
    return llvm::json::Value(std::move(o));
  }
  return printed(a);
}

struct ExtractKernelsPass final
    : haqa::impl::HAQAExtractKernelsPassBase<ExtractKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<DistinctKernel> kernels =
        collectDistinctKernels(getOperation(), /*bySchedule=*/true);
    uint64_t totalFlops = 0, totalBytes = 0;
    int64_t totalOps = 0;
    for (const DistinctKernel &k : kernels)
      for (Operation *op : k.ops) {
        auto kernel = cast<KernelOpInterface>(op);
        totalFlops += kernel.getFlops();
        totalBytes += kernel.getBytes({});
        ++totalOps;
      }

    llvm::json::Array list;
    for (const DistinctKernel &entry : kernels) {
      KernelOpInterface kernel = entry.first;
      Operation *op = kernel.getOperation();
      llvm::json::Array operands, results;
      for (Type t : op->getOperandTypes())
        operands.push_back(printed(t));
      for (Type t : op->getResultTypes())
        results.push_back(printed(t));
      ScheduleAttr schedule = kernel.getSchedule();
      list.push_back(llvm::json::Object{
          {"kernel", kernel.getKernelName()},
          {"op", op->getName().getStringRef()},
          {"signature", kernel.getSignatureString()},
          {"shape", intArray(kernel.getShapeSignature())},
          {"iteration_space", intArray(kernel.getIterationSpace())},
          {"operand_types", std::move(operands)},
          {"result_types", std::move(results)},
          {"quant", quantJson(op)},
          {"schedule", schedule
                           ? llvm::json::Value(printed(Attribute(schedule)))
                           : llvm::json::Value(nullptr)},
          {"flops", static_cast<int64_t>(kernel.getFlops())},
          {"bytes", static_cast<int64_t>(kernel.getBytes({}))},
          {"count", static_cast<int64_t>(entry.ops.size())},
      });
    }
    llvm::json::Object root{
        {"kernels", std::move(list)},
        {"total",
         llvm::json::Object{
             {"distinct_kernels", static_cast<int64_t>(kernels.size())},
             {"kernel_ops", totalOps},
             {"flops", static_cast<int64_t>(totalFlops)},
             {"bytes", static_cast<int64_t>(totalBytes)}}}};

    // The memory plan, when --haqa-plan-memory ran before.
    if (Attribute plan = getOperation()->getAttr("haqa.memory_plan"))
      root["memory_plan"] = attrJson(plan);

    if (output.empty()) {
      llvm::outs() << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
                   << "\n";
      llvm::outs().flush();
      return markAllAnalysesPreserved();
    }
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(output, &error);
    if (!file) {
      getOperation().emitError() << "cannot write kernel list: " << error;
      return signalPassFailure();
    }
    file->os() << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
               << "\n";
    file->keep();
    markAllAnalysesPreserved();
  }
};

} // namespace
