//===- KernelTuning.cpp - the tuner's view of a kernel -------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Tuning/KernelTuning.h"

#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"

#include <limits>

using namespace mlir;
using namespace mlir::haqa;

llvm::Expected<SearchSpace>
mlir::haqa::getKernelSearchSpace(KernelOpInterface kernel,
                                 const HardwareProfile &profile) {
  KernelInfo info;
  info.kernel = kernel.getKernelName().str();
  for (int64_t d : kernel.getIterationSpace())
    info.dims.push_back(
        ShapedType::isDynamic(d) ? std::numeric_limits<int64_t>::min() : d);
  // The storage of its 2-d weights, as its label says (matmul's).
  for (Value v : kernel->getOperands())
    if (auto w = dyn_cast<WeightType>(v.getType());
        w && w.getShape().size() == 2)
      info.weights = w.getQuant().getGGUFName().str();
  info.numOperands = kernel->getNumOperands() + kernel->getNumResults();
  info.flops = kernel.getFlops();
  info.bytes = kernel.getBytes(QuantAttr());
  ScheduleAttr def = getDefaultSchedule(kernel, profile.getLimits());
  return SearchSpace::get(info, profile, def);
}

Trial mlir::haqa::measureTrial(const KernelProblem &problem,
                               ScheduleAttr schedule,
                               const MeasureOptions &options) {
  KernelMeasurement m = measureKernel(problem, schedule, options);
  Trial t;
  t.maxAbsError = m.maxAbsError;
  t.message = m.message;
  switch (m.status) {
  case KernelMeasurement::OK:
    t.status = Trial::OK;
    t.latencyMs = m.timing.medianMs;
    t.spreadMs = m.timing.q3Ms - m.timing.q1Ms;
    if (m.speedup.median > 0) {
      t.pairedDefaultMs = m.defaultTiming.medianMs;
      t.speedup = m.speedup.median;
      t.speedupLo = m.speedup.lo;
      t.speedupHi = m.speedup.hi;
      t.pairs = m.speedup.samples;
    }
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

llvm::Error mlir::haqa::setKernelSchedule(KernelOpInterface kernel,
                                          ScheduleAttr schedule) {
  std::string diagnostics;
  ScopedDiagnosticHandler handler(kernel->getContext(), [&](Diagnostic &d) {
    diagnostics += d.str();
    return success();
  });
  Operation *op = kernel.getOperation();
  if (failed(verifyKernelSchedule(op, schedule,
                                  [&] { return op->emitError(); })))
    return llvm::createStringError(printSchedule(schedule) + " does not fit " +
                                   op->getName().getStringRef() + ": " +
                                   diagnostics);
  kernel.setSchedule(schedule);
  return llvm::Error::success();
}
