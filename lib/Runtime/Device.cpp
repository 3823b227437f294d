//===- Device.cpp - device interface, timing statistics ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/Device.h"
#include "haqa/Runtime/CPUDevice.h"
#include "haqa/Runtime/CUDADevice.h"
#include "haqa/Runtime/OpenCLDevice.h"
#include "haqa/Support/Statistics.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <chrono>

using namespace mlir;
using namespace mlir::haqa;

Executable::~Executable() = default;
Device::~Device() = default;

PackedMemRefArgs::PackedMemRefArgs(llvm::ArrayRef<BufferRef> args,
                                   llvm::ArrayRef<void *> data) {
  for (auto [i, b] : llvm::enumerate(args)) {
    size_t rank = b.shape.size();
    auto base = std::make_unique<void *[]>(2);
    base[0] = base[1] = i < data.size() ? data[i] : b.data;
    auto f = std::make_unique<int64_t[]>(1 + 2 * rank);
    f[0] = 0;
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      f[1 + d] = b.shape[d];
      f[1 + rank + d] = stride;
      stride *= b.shape[d];
    }
    pointers.push_back(&base[0]);
    pointers.push_back(&base[1]);
    for (size_t k = 0; k < 1 + 2 * rank; ++k)
      pointers.push_back(&f[k]);
    fields.push_back(std::move(f));
    bases.push_back(std::move(base));
  }
}

static double quantile(const std::vector<double> &sorted, double q) {
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] +
         (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

TimingStats TimingStats::of(std::vector<double> samples) {
  TimingStats s;
  s.samplesMs = samples;
  if (samples.empty())
    return s;
  std::sort(samples.begin(), samples.end());
  s.minMs = samples.front();
  s.maxMs = samples.back();
  s.medianMs = quantile(samples, 0.5);
  s.q1Ms = quantile(samples, 0.25);
  s.q3Ms = quantile(samples, 0.75);
  double iqr = s.q3Ms - s.q1Ms;
  for (double v : samples)
    if (v < s.q1Ms - 1.5 * iqr || v > s.q3Ms + 1.5 * iqr)
      ++s.outliers;
  return s;
}

llvm::Expected<double> Executable::timedRun(llvm::StringRef function,
                                            llvm::ArrayRef<BufferRef> args) {
  auto t0 = std::chrono::steady_clock::now();
  if (llvm::Error e = run(function, args))
    return std::move(e);
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

llvm::Expected<TimingStats> Executable::time(llvm::StringRef function,
                                             llvm::ArrayRef<BufferRef> args,
                                             const TimingOptions &options) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < options.warmup; ++i)
    if (llvm::Error e = run(function, args))
      return std::move(e);
  std::vector<double> samples;
  auto start = Clock::now();
  for (int i = 0; i < options.repeats; ++i) {
    if (options.beforeRun)
      options.beforeRun();
    auto ms = timedRun(function, args);
    if (!ms)
      return ms.takeError();
    samples.push_back(*ms);
    double spent = std::chrono::duration<double>(Clock::now() - start).count();
    if (samples.size() >= 3 && spent > options.maxSeconds)
      break;
  }
  return TimingStats::of(std::move(samples));
}

llvm::Expected<PairedTiming>
mlir::haqa::timePaired(Executable &a, Executable &b, llvm::StringRef function,
                       llvm::ArrayRef<BufferRef> args,
                       const PairingOptions &options) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < options.warmup; ++i) {
    if (llvm::Error e = a.run(function, args))
      return std::move(e);
    if (llvm::Error e = b.run(function, args))
      return std::move(e);
  }
  auto timeOne = [&](Executable &x) -> llvm::Expected<double> {
    if (options.beforeRun)
      options.beforeRun();
    auto t0 = Clock::now();
    if (llvm::Error e = x.run(function, args))
      return std::move(e);
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  std::vector<double> sa, sb, ratios;
  auto start = Clock::now();
  int minPairs = std::max(1, options.minPairs);
  int maxPairs = std::max(minPairs, options.maxPairs);
  for (int i = 0; i < maxPairs; ++i) {
    // Alternate who goes first: the second run of a pair finds the inputs
    // in cache, and the machine's drift favours neither.
    bool aFirst = i % 2 == 0;
    auto first = timeOne(aFirst ? a : b);
    if (!first)
      return first.takeError();
    auto second = timeOne(aFirst ? b : a);
    if (!second)
      return second.takeError();
    double ta = aFirst ? *first : *second, tb = aFirst ? *second : *first;
    sa.push_back(ta);
    sb.push_back(tb);
    ratios.push_back(ta > 0 ? tb / ta : 1.0);
    if (static_cast<int>(ratios.size()) < minPairs)
      continue;
    if (getMedianInterval(ratios).getRelativeHalfWidth() <= options.tolerance)
      break;
    if (std::chrono::duration<double>(Clock::now() - start).count() >
        options.maxSeconds)
      break;
  }
  PairedTiming p;
  p.a = TimingStats::of(std::move(sa));
  p.b = TimingStats::of(std::move(sb));
  p.ratios = std::move(ratios);
  return p;
}

llvm::Error mlir::haqa::runLoweringPipeline(ModuleOp module, PassManager &pm,
                                            llvm::StringRef what) {
  MLIRContext *ctx = module.getContext();
  DialectRegistry all;
  registerAllDialects(all);
  registerAllExtensions(all);
  ctx->appendDialectRegistry(all);
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.getLocation() << ": " << d << "\n";
    return success();
  });
  if (succeeded(pm.run(module)))
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (what + ": " + diagnostics).str());
}

llvm::Expected<std::unique_ptr<Device>>
mlir::haqa::createDevice(CompileTarget target, const PipelineOptions &options) {
  switch (target) {
  case CompileTarget::CPU:
  case CompileTarget::GPUOnCPU:
    return std::make_unique<CPUDevice>(target, options);
  case CompileTarget::CUDA: {
    auto cuda = CUDADevice::create(options.cuda);
    if (!cuda)
      return llvm::createStringError("no CUDA device: " +
                                     llvm::toString(cuda.takeError()));
    return std::unique_ptr<Device>(std::move(*cuda));
  }
  case CompileTarget::OpenCL: {
    auto opencl = OpenCLDevice::create(options.opencl);
    if (!opencl)
      return llvm::createStringError("no OpenCL device: " +
                                     llvm::toString(opencl.takeError()));
    return std::unique_ptr<Device>(std::move(*opencl));
  }
  }
  llvm_unreachable("unknown compile target");
}

bool mlir::haqa::isDeviceAvailable(CompileTarget target, std::string *why) {
  if (!getCompileTargetInfo(target).needsDevice)
    return true;
  if (target == CompileTarget::OpenCL)
    return isOpenCLAvailable(why);
  return isCUDAAvailableInChild(why);
}
