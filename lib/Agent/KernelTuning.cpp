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
#include "mlir/AsmParser/AsmParser.h"
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
  if (s.getMma())
    o["mma"] = *s.getMma();
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

Trial mlir::haqa::measureTrial(const KernelSpec &spec,
                               const std::string &schedule,
                               const MeasureOptions &options) {
  KernelSpec s = spec;
  s.schedule = schedule;
  KernelMeasurement m = measureKernel(s, options);
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

std::vector<ModelKernel>
mlir::haqa::collectModelKernels(Operation *func,
                                llvm::StringMap<int> &skipped) {
  std::vector<ModelKernel> out;
  auto shape = [](Value v) -> ArrayRef<int64_t> {
    return cast<RankedTensorType>(v.getType()).getShape();
  };
  func->walk([&](KernelOpInterface k) {
    Operation *op = k.getOperation();
    KernelSpec s;
    s.kernel = k.getKernelName().str();
    s.weights = "f32";
    bool ok = true;
    if (auto mm = dyn_cast<MatmulOp>(op)) {
      ArrayRef<int64_t> x = shape(mm.getInput());
      WeightType w = mm.getWeight().getType();
      s.ne = {x[1], x[0], w.getShape()[0]};
      s.weights = w.getQuant().getGGUFName().str();
      ok = x.size() == 2 && !s.weights.empty();
    } else if (auto n = dyn_cast<RMSNormOp>(op)) {
      ArrayRef<int64_t> x = shape(n.getInput());
      ok = x.size() == 2 && n.getWeight().getType().getQuant().getGGUFName() ==
                                "f32";
      if (ok)
        s.ne = {x[1], x[0], 1};
    } else if (auto r = dyn_cast<RoPEOp>(op)) {
      ArrayRef<int64_t> x = shape(r.getInput());
      ok = x.size() == 3 && !r.getFreqFactors();
      if (ok)
        s.ne = {x[2], x[0], x[1]};
    } else if (isa<SwiGLUOp, AddOp, MulOp, SiLUOp>(op)) {
      ArrayRef<int64_t> x = shape(op->getOperand(0));
      ok = x.size() == 2;
      if (ok)
        s.ne = {x[1], x[0], 1};
    } else if (auto sm = dyn_cast<SoftmaxOp>(op)) {
      ArrayRef<int64_t> x = shape(sm.getInput());
      ok = x.size() == 3;
      if (ok)
        s.ne = {x[2], x[1], x[0]};
    } else {
      ok = false;
    }
    if (ok && llvm::any_of(s.ne, [](int64_t d) {
          return ShapedType::isDynamic(d) || d < 1;
        }))
      ok = false;
    if (!ok) {
      ++skipped[k.getKernelName()];
      return;
    }
    out.push_back({std::move(s), op});
  });
  return out;
}

llvm::Error mlir::haqa::setScheduleFromText(Operation *op,
                                            llvm::StringRef schedule) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  Attribute a = parseAttribute(schedule, op->getContext());
  auto s = dyn_cast_or_null<ScheduleAttr>(a);
  if (!s)
    return fail("not a #haqa.schedule: " + schedule);
  auto k = cast<KernelOpInterface>(op);
  if (failed(s.verifyAgainst([&] { return op->emitError(); },
                             k.getIterationSpace(),
                             op->getNumOperands() + op->getNumResults())))
    return fail(schedule + " does not fit " + op->getName().getStringRef());
  k.setSchedule(s);
  return llvm::Error::success();
}
