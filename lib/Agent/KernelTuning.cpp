//===- KernelTuning.cpp - the tuner's view of harness kernels -------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/KernelTuning.h"

#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/InitAllDialects.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Parser/Parser.h"

using namespace mlir;
using namespace mlir::haqa;

/// #haqa.schedule fields as JSON (the format of haqa-bench --schedule).
static llvm::json::Object scheduleFields(ScheduleAttr s) {
  llvm::json::Object o;
  if (!s.getTile().empty())
    o["tile"] = llvm::json::Array(s.getTile());
  if (!s.getOrder().empty())
    o["order"] = llvm::json::Array(s.getOrder());
  if (s.getUnroll())
    o["unroll"] = *s.getUnroll();
  if (s.getVector())
    o["vector"] = *s.getVector();
  if (!s.getThreads().empty())
    o["threads"] = llvm::json::Array(s.getThreads());
  if (s.getCpuThreads())
    o["cpu_threads"] = *s.getCpuThreads();
  if (s.getPrefetch())
    o["prefetch"] = *s.getPrefetch();
  if (!s.getPlacement().empty()) {
    llvm::json::Array p;
    for (MemSpace m : s.getPlacement())
      p.push_back(stringifyMemSpace(m));
    o["placement"] = std::move(p);
  }
  return o;
}

llvm::Expected<SearchSpace>
mlir::haqa::getKernelSearchSpace(const KernelSpec &spec,
                                 const HardwareProfile &profile) {
  KernelSpec plain = spec;
  plain.schedule.clear();
  llvm::Expected<std::string> text = buildKernelModule(plain);
  if (!text)
    return text.takeError();
  DialectRegistry registry;
  registerAllHAQADialects(registry);
  registry.insert<func::FuncDialect, tensor::TensorDialect>();
  MLIRContext ctx(registry);
  ctx.allowUnregisteredDialects(false);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(*text, &ctx);
  if (!module)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   spec.getLabel() +
                                       ": the kernel module does not parse");
  KernelOpInterface kernel;
  module->walk([&](KernelOpInterface k) {
    if (!kernel)
      kernel = k;
  });
  if (!kernel)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   spec.getLabel() + ": no kernel op");
  KernelInfo info;
  info.kernel = spec.kernel;
  for (int64_t d : kernel.getIterationSpace())
    info.dims.push_back(ShapedType::isDynamic(d)
                            ? std::numeric_limits<int64_t>::min()
                            : d);
  if (spec.kernel == "matmul")
    info.weights = spec.weights;
  info.numOperands = kernel->getNumOperands() + kernel->getNumResults();
  ScheduleAttr def = getDefaultSchedule(kernel, profile.getLimits());
  return SearchSpace::get(info, profile, scheduleFields(def));
}

Trial mlir::haqa::measureTrialOnCPU(const KernelSpec &spec,
                                    const std::string &schedule,
                                    const MeasureOptions &options) {
  KernelSpec s = spec;
  s.schedule = schedule;
  KernelMeasurement m = measureKernelOnCPU(s, options);
  Trial t;
  t.maxAbsError = m.maxAbsError;
  t.message = m.message;
  switch (m.status) {
  case KernelMeasurement::OK:
    t.status = Trial::OK;
    t.latencyMs = m.timing.medianMs;
    t.spreadMs = m.timing.q3Ms - m.timing.q1Ms;
    break;
  case KernelMeasurement::CompileError:
    t.status = Trial::CompileError;
    break;
  case KernelMeasurement::Crashed:
    t.status = Trial::Crashed;
    break;
  case KernelMeasurement::TimedOut:
    t.status = Trial::TimedOut;
    break;
  case KernelMeasurement::WrongResult:
    t.status = Trial::WrongResult;
    break;
  case KernelMeasurement::BadSpec:
    t.status = Trial::Invalid;
    break;
  }
  return t;
}

std::vector<KernelSpec>
mlir::haqa::getTable3Kernels(llvm::ArrayRef<int64_t> tokens,
                             llvm::ArrayRef<std::string> weights) {
  std::vector<KernelSpec> specs;
  auto add = [&](const char *k, llvm::SmallVector<int64_t, 3> ne,
                 std::string w) {
    KernelSpec s;
    s.kernel = k;
    s.ne = ne;
    s.weights = std::move(w);
    specs.push_back(std::move(s));
  };
  for (int64_t t : tokens) {
    add("softmax", {1024, t, 32}, "f32");
    add("silu", {11008, t, 1}, "f32");
    add("rms_norm", {4096, t, 1}, "f32");
    add("rope", {128, t, 1}, "f32");
    for (const std::string &w : weights)
      add("matmul", {2048, t, 2048}, w);
  }
  return specs;
}
