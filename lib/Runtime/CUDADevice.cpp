//===- CUDADevice.cpp - NVIDIA GPUs: JIT, buffers, timing -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/CUDADevice.h"
#include "CUDADriver.h"
#include "JITExecutable.h"
#include "haqa/Runtime/Isolate.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>

using namespace mlir;
using namespace mlir::haqa;

//===----------------------------------------------------------------------===//
// Device
//===----------------------------------------------------------------------===//

namespace {

using namespace mlir::haqa::cuda;

/// Device memory of one buffer, freed on destruction (back to the block
/// cache if it came from there).
struct DeviceAllocation {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  BufferRef::Residency residency = BufferRef::Copy;
  DeviceAllocation() = default;
  DeviceAllocation(const DeviceAllocation &) = delete;
  ~DeviceAllocation() { poolFree(ptr); }
};

/// The device copies of one call's buffers: Copy buffers for this call,
/// Constant and Resident ones from `resident` (made there on first use).
class DeviceBuffers {
public:
  DeviceBuffers(
      const Driver &d,
      llvm::DenseMap<void *, std::unique_ptr<DeviceAllocation>> &resident)
      : d(d), resident(resident) {}

  llvm::Error upload(llvm::ArrayRef<BufferRef> args) {
    for (const BufferRef &b : args) {
      size_t bytes = static_cast<size_t>(b.getNumBytes());
      if (b.residency != BufferRef::Copy) {
        std::unique_ptr<DeviceAllocation> &slot = resident[b.data];
        if (slot && slot->bytes == bytes) {
          ptrs.push_back(slot->ptr);
          continue;
        }
        slot.reset();
        auto a = allocate(b, bytes);
        if (!a)
          return a.takeError();
        ptrs.push_back((*a)->ptr);
        (*a)->residency = b.residency;
        slot = std::move(*a);
        continue;
      }
      auto a = allocate(b, bytes);
      if (!a)
        return a.takeError();
      ptrs.push_back((*a)->ptr);
      temporaries.push_back(std::move(*a));
    }
    return llvm::Error::success();
  }
  /// Copies the Copy buffers back.
  llvm::Error download(llvm::ArrayRef<BufferRef> args) {
    for (auto [b, p] : llvm::zip(args, ptrs))
      if (size_t bytes = static_cast<size_t>(b.getNumBytes());
          bytes && b.residency == BufferRef::Copy)
        if (llvm::Error e =
                check(d.cuMemcpyDtoH(b.data, p, bytes), "cuMemcpyDtoH"))
          return e;
    return llvm::Error::success();
  }
  SmallVector<void *> pointers() const {
    SmallVector<void *> v;
    for (CUdeviceptr p : ptrs)
      v.push_back(reinterpret_cast<void *>(p));
    return v;
  }

private:
  const Driver &d;
  llvm::DenseMap<void *, std::unique_ptr<DeviceAllocation>> &resident;
  SmallVector<CUdeviceptr> ptrs;
  std::vector<std::unique_ptr<DeviceAllocation>> temporaries;

  llvm::Expected<std::unique_ptr<DeviceAllocation>> allocate(const BufferRef &b,
                                                             size_t bytes) {
    auto a = std::make_unique<DeviceAllocation>();
    a->bytes = bytes;
    if (!bytes)
      return std::move(a);
    // This call's buffers come from the block cache; weights and caches,
    // which stay, get their own allocation.
    CUresult r = b.residency == BufferRef::Copy ? poolAlloc(&a->ptr, bytes)
                                                : d.cuMemAlloc(&a->ptr, bytes);
    if (llvm::Error e = check(r, "cuMemAlloc"))
      return std::move(e);
    if (llvm::Error e =
            check(d.cuMemcpyHtoD(a->ptr, b.data, bytes), "cuMemcpyHtoD"))
      return std::move(e);
    return std::move(a);
  }
};

class CUDAExecutable : public JITExecutable {
public:
  CUDAExecutable(const Driver &d, std::unique_ptr<ExecutionEngine> engine)
      : JITExecutable(std::move(engine)), d(d) {}
  ~CUDAExecutable() override {
    resident.clear();
    poolTrim();
  }

  llvm::Error run(llvm::StringRef function,
                  llvm::ArrayRef<BufferRef> args) override {
    auto fn = lookup(function);
    if (!fn)
      return fn.takeError();
    DeviceBuffers buffers(d, resident);
    if (llvm::Error e = buffers.upload(args))
      return e;
    if (llvm::Error e = call(*fn, args, buffers))
      return e;
    return buffers.download(args);
  }

  /// The buffers stay on the device; each sample is the time between CUDA
  /// events recorded before and after one call (every kernel and copy it
  /// makes, launch gaps included).
  llvm::Expected<TimingStats> time(llvm::StringRef function,
                                   llvm::ArrayRef<BufferRef> args,
                                   const TimingOptions &options) override {
    auto fn = lookup(function);
    if (!fn)
      return fn.takeError();
    DeviceBuffers buffers(d, resident);
    if (llvm::Error e = buffers.upload(args))
      return std::move(e);
    for (int i = 0; i < options.warmup; ++i)
      if (llvm::Error e = call(*fn, args, buffers))
        return std::move(e);
    CUevent start = nullptr, stop = nullptr;
    if (llvm::Error e = check(d.cuEventCreate(&start, 0), "cuEventCreate"))
      return std::move(e);
    if (llvm::Error e = check(d.cuEventCreate(&stop, 0), "cuEventCreate")) {
      d.cuEventDestroy(start);
      return std::move(e);
    }
    llvm::scope_exit cleanup([&] {
      d.cuEventDestroy(start);
      d.cuEventDestroy(stop);
    });
    std::vector<double> samples;
    auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < options.repeats; ++i) {
      if (llvm::Error e =
              check(d.cuEventRecord(start, nullptr), "cuEventRecord"))
        return std::move(e);
      if (llvm::Error e = call(*fn, args, buffers))
        return std::move(e);
      if (llvm::Error e =
              check(d.cuEventRecord(stop, nullptr), "cuEventRecord"))
        return std::move(e);
      if (llvm::Error e =
              check(d.cuEventSynchronize(stop), "cuEventSynchronize"))
        return std::move(e);
      float ms = 0;
      if (llvm::Error e = check(d.cuEventElapsedTime(&ms, start, stop),
                                "cuEventElapsedTime"))
        return std::move(e);
      samples.push_back(ms);
      double spent = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - begin)
                         .count();
      if (samples.size() >= 3 && spent > options.maxSeconds)
        break;
    }
    if (llvm::Error e = buffers.download(args))
      return std::move(e);
    return TimingStats::of(std::move(samples));
  }

  void releaseResident() override {
    SmallVector<void *> stale;
    for (auto &[host, a] : resident)
      if (a->residency == BufferRef::Resident)
        stale.push_back(host);
    for (void *host : stale)
      resident.erase(host);
  }

private:
  const Driver &d;
  /// Device copies of Constant and Resident buffers, by host address.
  llvm::DenseMap<void *, std::unique_ptr<DeviceAllocation>> resident;

  llvm::Error call(void (*fn)(void **), llvm::ArrayRef<BufferRef> args,
                   const DeviceBuffers &buffers) {
    PackedMemRefArgs packed(args, buffers.pointers());
    fn(packed.get());
    if (llvm::Error e = takeWrapperError())
      return e;
    return check(d.cuCtxSynchronize(), "cuCtxSynchronize (a kernel failed)");
  }
};

} // namespace

bool mlir::haqa::isCUDAAvailable(std::string *why) {
  auto d = getDriver();
  if (d)
    return true;
  std::string msg = llvm::toString(d.takeError());
  if (why)
    *why = msg;
  return false;
}

bool mlir::haqa::isCUDAAvailableInChild(std::string *why) {
  auto probe = runIsolated(
      [] {
        std::string reason;
        return isCUDAAvailable(&reason) ? std::string("yes") : reason;
      },
      60);
  std::string answer = !probe ? llvm::toString(probe.takeError())
                       : probe->kind != IsolatedResult::Finished
                           ? "the CUDA probe died: " + probe->reason
                           : probe->output;
  if (answer == "yes")
    return true;
  if (why)
    *why = answer;
  return false;
}

llvm::Expected<std::unique_ptr<CUDADevice>>
mlir::haqa::CUDADevice::create(CUDAPipelineOptions options) {
  auto drv = getDriver();
  if (!drv)
    return drv.takeError();
  const Driver &d = *drv;
  CUdevice dev = 0;
  if (llvm::Error e = check(d.cuDeviceGet(&dev, 0), "cuDeviceGet"))
    return std::move(e);
  CUcontext ctx = nullptr;
  if (llvm::Error e = check(d.cuDevicePrimaryCtxRetain(&ctx, dev),
                            "cuDevicePrimaryCtxRetain"))
    return std::move(e);
  if (llvm::Error e = check(d.cuCtxSetCurrent(ctx), "cuCtxSetCurrent"))
    return std::move(e);
  char name[256] = {0};
  d.cuDeviceGetName(name, sizeof(name) - 1, dev);
  int major = 0, minor = 0;
  d.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                         dev);
  d.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                         dev);
  std::unique_ptr<CUDADevice> device(new CUDADevice());
  if (options.chip.empty())
    options.chip = llvm::formatv("sm_{0}{1}", major, minor).str();
  device->name = llvm::formatv("cuda ({0}, {1})", name, options.chip).str();
  device->options = std::move(options);
  return device;
}

llvm::Expected<std::unique_ptr<Executable>>
mlir::haqa::CUDADevice::compile(ModuleOp module) {
  auto drv = getDriver();
  if (!drv)
    return drv.takeError();
  MLIRContext *ctx = module.getContext();
  {
    DialectRegistry translations;
    registerAllToLLVMIRTranslations(translations);
    registerAllGPUToLLVMIRTranslations(translations);
    ctx->appendDialectRegistry(translations);
  }
  PassManager pm(ctx);
  if (llvm::Error e = buildCUDAPipeline(pm, options))
    return std::move(e);
  if (llvm::Error e = runLoweringPipeline(module, pm, "CUDA lowering failed"))
    return std::move(e);
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    return jtmb.takeError();
  auto tm = jtmb->createTargetMachine();
  if (!tm)
    return tm.takeError();
  ExecutionEngineOptions engineOptions;
  // A function_ref: the optimizer must outlive ExecutionEngine::create.
  auto optimize = makeJITOptimizer(2, tm->get());
  engineOptions.transformer = optimize;
  auto engine = ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine)
    return engine.takeError();
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (const WrapperSymbol &s : getWrapperSymbols())
      map[interner(s.name)] = {llvm::orc::ExecutorAddr::fromPtr(s.address),
                               llvm::JITSymbolFlags::Exported};
    return map;
  });
  // Loads every kernel module (the gpu.binary constructors).
  (*engine)->initialize();
  if (llvm::Error e = takeWrapperError())
    return llvm::createStringError("loading the kernels on the GPU failed: " +
                                   llvm::toString(std::move(e)));
  return std::make_unique<CUDAExecutable>(*drv, std::move(*engine));
}
