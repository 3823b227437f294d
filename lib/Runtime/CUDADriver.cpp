//===- CUDADriver.cpp - the CUDA driver API and the mgpu* wrappers -*- C++ -*-//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The upstream GPU lowering (gpu-to-llvm and the gpu.binary translation)
// calls a small runtime, mgpu*, that Debian's MLIR does not ship. These are
// HAQA's own, over the driver API: every stream is the context's default
// stream (so events recorded there time everything a call launched), memory
// comes from a cache of freed blocks, the host waits for the GPU only where
// it reads what the GPU wrote, and a failure is recorded for the caller
// instead of aborting.
//
//===----------------------------------------------------------------------===//

#include "CUDADriver.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"
#include <atomic>
#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <mutex>

using namespace mlir::haqa;
using namespace mlir::haqa::cuda;

namespace {

struct Loaded {
  Driver driver{};
  std::string error;
};

Loaded *testDriver = nullptr;

Loaded &load() {
  if (testDriver)
    return *testDriver;
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
      const char *why = dlerror();
      loaded.error = std::string("no CUDA driver: cannot open libcuda.so.1") +
                     (why ? std::string(" (") + why + ")" : "");
      return;
    }
    Driver &d = loaded.driver;
    bool missing = false;
    auto bind = [&](auto &fn, const char *name) {
      void *p = dlsym(lib, name);
      if (!p && !missing) {
        loaded.error =
            std::string("the CUDA driver has no entry point ") + name;
        missing = true;
      }
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    };
    bind(d.cuInit, "cuInit");
    bind(d.cuDeviceGetCount, "cuDeviceGetCount");
    bind(d.cuDeviceGet, "cuDeviceGet");
    bind(d.cuDeviceGetName, "cuDeviceGetName");
    bind(d.cuDeviceGetAttribute, "cuDeviceGetAttribute");
    bind(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    bind(d.cuCtxSetCurrent, "cuCtxSetCurrent");
    bind(d.cuCtxSynchronize, "cuCtxSynchronize");
    bind(d.cuModuleLoadData, "cuModuleLoadData");
    bind(d.cuModuleLoadDataEx, "cuModuleLoadDataEx");
    bind(d.cuModuleUnload, "cuModuleUnload");
    bind(d.cuModuleGetFunction, "cuModuleGetFunction");
    bind(d.cuLaunchKernel, "cuLaunchKernel");
    bind(d.cuMemAlloc, "cuMemAlloc_v2");
    bind(d.cuMemAllocManaged, "cuMemAllocManaged");
    bind(d.cuMemFree, "cuMemFree_v2");
    bind(d.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    bind(d.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
    bind(d.cuMemcpyAsync, "cuMemcpyAsync");
    bind(d.cuMemsetD32Async, "cuMemsetD32Async");
    bind(d.cuMemsetD16Async, "cuMemsetD16Async");
    bind(d.cuStreamSynchronize, "cuStreamSynchronize");
    bind(d.cuStreamWaitEvent, "cuStreamWaitEvent");
    bind(d.cuEventCreate, "cuEventCreate");
    bind(d.cuEventDestroy, "cuEventDestroy_v2");
    bind(d.cuEventRecord, "cuEventRecord");
    bind(d.cuEventSynchronize, "cuEventSynchronize");
    bind(d.cuEventElapsedTime, "cuEventElapsedTime");
    bind(d.cuGetErrorName, "cuGetErrorName");
    bind(d.cuGetErrorString, "cuGetErrorString");
    bind(d.cuPointerGetAttribute, "cuPointerGetAttribute");
    if (missing)
      return;
    if (CUresult r = d.cuInit(0); r != CUDA_SUCCESS) {
      loaded.error = "cuInit failed: " + describe(r);
      return;
    }
    int count = 0;
    if (d.cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0)
      loaded.error = "the CUDA driver sees no device";
  });
  return loaded;
}

std::mutex wrapperErrorMutex;
std::string wrapperError;

/// The driver for a wrapper: loaded by the time any compiled code runs.
const Driver &drv() { return load().driver; }

bool ok(CUresult r, const char *call) {
  if (r == CUDA_SUCCESS)
    return true;
  recordWrapperError(r, call);
  return false;
}

} // namespace

void cuda::setDriverForTesting(const Driver *d) {
  static Loaded fake;
  if (!d) {
    testDriver = nullptr;
    return;
  }
  fake.driver = *d;
  fake.error.clear();
  testDriver = &fake;
}

llvm::Expected<const Driver &> cuda::getDriver() {
  Loaded &l = load();
  if (!l.error.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), l.error);
  return l.driver;
}

std::string cuda::describe(CUresult r) {
  const Driver &d = load().driver;
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName)
    d.cuGetErrorName(r, &name);
  if (d.cuGetErrorString)
    d.cuGetErrorString(r, &text);
  return llvm::formatv("{0} ({1})", name ? name : "CUDA error",
                       text ? text : std::to_string(r))
      .str();
}

llvm::Error cuda::check(CUresult r, const char *call) {
  if (r == CUDA_SUCCESS)
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 std::string(call) + ": " + describe(r));
}

void cuda::recordWrapperError(CUresult r, const char *call) {
  std::lock_guard<std::mutex> lock(wrapperErrorMutex);
  if (wrapperError.empty())
    wrapperError = std::string(call) + ": " + describe(r);
}

llvm::Error cuda::takeWrapperError() {
  std::lock_guard<std::mutex> lock(wrapperErrorMutex);
  if (wrapperError.empty())
    return llvm::Error::success();
  std::string e = std::move(wrapperError);
  wrapperError.clear();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), e);
}

//===----------------------------------------------------------------------===//
// The block cache
//===----------------------------------------------------------------------===//

namespace {
struct Pool {
  std::mutex mutex;
  /// Free blocks by rounded size.
  std::multimap<size_t, CUdeviceptr> free;
  /// Rounded size of every block handed out.
  llvm::DenseMap<CUdeviceptr, size_t> live;
};
Pool &pool() {
  static Pool p;
  return p;
}
void trimLocked(Pool &p) {
  for (auto &[bytes, ptr] : p.free)
    drv().cuMemFree(ptr);
  p.free.clear();
}
} // namespace

bool cuda::syncEachOp() {
  static const bool on = [] {
    const char *v = std::getenv("HAQA_CUDA_SYNC_EACH_OP");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

CUresult cuda::poolAlloc(CUdeviceptr *ptr, size_t bytes) {
  if (syncEachOp())
    return drv().cuMemAlloc(ptr, bytes);
  size_t rounded = (std::max<size_t>(bytes, 1) + 255) / 256 * 256;
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (auto it = p.free.find(rounded); it != p.free.end()) {
    *ptr = it->second;
    p.free.erase(it);
    p.live[*ptr] = rounded;
    return CUDA_SUCCESS;
  }
  CUresult r = drv().cuMemAlloc(ptr, rounded);
  if (r != CUDA_SUCCESS && !p.free.empty()) {
    // Out of memory, most likely: give the cached blocks back and retry.
    trimLocked(p);
    r = drv().cuMemAlloc(ptr, rounded);
  }
  if (r == CUDA_SUCCESS)
    p.live[*ptr] = rounded;
  return r;
}

void cuda::poolFree(CUdeviceptr ptr) {
  if (!ptr)
    return;
  Pool &p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    if (auto it = p.live.find(ptr); it != p.live.end()) {
      p.free.emplace(it->second, ptr);
      p.live.erase(it);
      return;
    }
  }
  ok(drv().cuMemFree(ptr), "cuMemFree");
}

void cuda::poolTrim() {
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  trimLocked(p);
}

//===----------------------------------------------------------------------===//
// mgpu* wrappers, with the signatures the upstream lowering declares.
//===----------------------------------------------------------------------===//

extern "C" {

static CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule m = nullptr;
  ok(drv().cuModuleLoadData(&m, data), "cuModuleLoadData");
  return m;
}

static CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  CUmodule m = nullptr;
  char log[8192] = {0};
  int options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                   CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel)),
                    log, reinterpret_cast<void *>(sizeof(log))};
  CUresult r = drv().cuModuleLoadDataEx(&m, data, 3, options, values);
  if (r != CUDA_SUCCESS) {
    std::lock_guard<std::mutex> lock(wrapperErrorMutex);
    if (wrapperError.empty())
      wrapperError = "cuModuleLoadDataEx (PTX JIT): " + describe(r) +
                     (log[0] ? std::string("\n") + log : "");
  }
  return m;
}

static void mgpuModuleUnload(CUmodule m) {
  if (m)
    ok(drv().cuModuleUnload(m), "cuModuleUnload");
}

static CUfunction mgpuModuleGetFunction(CUmodule m, const char *name) {
  CUfunction f = nullptr;
  if (m)
    ok(drv().cuModuleGetFunction(&f, m, name), "cuModuleGetFunction");
  return f;
}

static void mgpuLaunchKernel(CUfunction f, intptr_t gx, intptr_t gy,
                             intptr_t gz, intptr_t bx, intptr_t by,
                             intptr_t bz, int32_t smem, CUstream stream,
                             void **params, void **extra,
                             size_t /*paramsCount*/) {
  if (!f) {
    std::lock_guard<std::mutex> lock(wrapperErrorMutex);
    if (wrapperError.empty())
      wrapperError = "cuLaunchKernel: the kernel did not load";
    return;
  }
  ok(drv().cuLaunchKernel(f, gx, gy, gz, bx, by, bz, smem, stream, params,
                          extra),
     "cuLaunchKernel");
}

// Whether a copy into host memory was issued since the host last waited for
// the GPU.
static std::atomic<bool> copyPending{false};

// Every stream is the default stream: kernels and copies of one call run
// in order, and events on it time them all. The lowering waits for a
// stream after every allocation, copy and free (gpu.wait); the host needs
// that only after a copy into host memory (a value it reads next), so other
// waits are skipped: the host goes on queueing kernels while the GPU runs. The
// executable waits for the GPU at the end of every call and reports a
// failed kernel there.
static CUstream mgpuStreamCreate() { return nullptr; }
static void mgpuStreamDestroy(CUstream) {}
static void mgpuStreamSynchronize(CUstream s) {
  if (!syncEachOp() && !copyPending.exchange(false))
    return;
  ok(drv().cuStreamSynchronize(s), "cuStreamSynchronize (a kernel failed)");
}
static void mgpuStreamWaitEvent(CUstream s, CUevent e) {
  ok(drv().cuStreamWaitEvent(s, e, 0), "cuStreamWaitEvent");
}
static CUevent mgpuEventCreate() {
  CUevent e = nullptr;
  ok(drv().cuEventCreate(&e, /*CU_EVENT_DISABLE_TIMING=*/2), "cuEventCreate");
  return e;
}
static void mgpuEventDestroy(CUevent e) {
  ok(drv().cuEventDestroy(e), "cuEventDestroy");
}
static void mgpuEventSynchronize(CUevent e) {
  ok(drv().cuEventSynchronize(e), "cuEventSynchronize");
}
static void mgpuEventRecord(CUevent e, CUstream s) {
  ok(drv().cuEventRecord(e, s), "cuEventRecord");
}

static void *mgpuMemAlloc(uint64_t bytes, CUstream, bool hostShared) {
  CUdeviceptr p = 0;
  if (!bytes)
    return nullptr;
  if (hostShared)
    ok(drv().cuMemAllocManaged(&p, bytes, /*CU_MEM_ATTACH_GLOBAL=*/1),
       "cuMemAllocManaged");
  else
    ok(poolAlloc(&p, bytes), "cuMemAlloc");
  return reinterpret_cast<void *>(p);
}
static void mgpuMemFree(void *p, CUstream) {
  // Blocks not from the cache (managed memory) are freed at once.
  poolFree(reinterpret_cast<CUdeviceptr>(p));
}
static void mgpuMemcpy(void *dst, void *src, size_t bytes, CUstream s) {
  // A copy between device buffers needs no wait (stream order); one into
  // host memory (a value the host reads next) does.
  unsigned type = 0;
  if (drv().cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                  reinterpret_cast<CUdeviceptr>(dst)) !=
          CUDA_SUCCESS ||
      type != CU_MEMORYTYPE_DEVICE)
    copyPending = true;
  ok(drv().cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                         reinterpret_cast<CUdeviceptr>(src), bytes, s),
     "cuMemcpyAsync");
}
static void mgpuMemset32(void *dst, unsigned value, size_t count,
                         CUstream s) {
  ok(drv().cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            s),
     "cuMemsetD32Async");
}
static void mgpuMemset16(void *dst, unsigned short value, size_t count,
                         CUstream s) {
  ok(drv().cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            s),
     "cuMemsetD16Async");
}

} // extern "C"

llvm::ArrayRef<WrapperSymbol> cuda::getWrapperSymbols() {
#define SYM(f) {#f, reinterpret_cast<void *>(&f)}
  static const WrapperSymbol symbols[] = {
      SYM(mgpuModuleLoad),       SYM(mgpuModuleLoadJIT),
      SYM(mgpuModuleUnload),     SYM(mgpuModuleGetFunction),
      SYM(mgpuLaunchKernel),     SYM(mgpuStreamCreate),
      SYM(mgpuStreamDestroy),    SYM(mgpuStreamSynchronize),
      SYM(mgpuStreamWaitEvent),  SYM(mgpuEventCreate),
      SYM(mgpuEventDestroy),     SYM(mgpuEventSynchronize),
      SYM(mgpuEventRecord),      SYM(mgpuMemAlloc),
      SYM(mgpuMemFree),          SYM(mgpuMemcpy),
      SYM(mgpuMemset32),         SYM(mgpuMemset16),
  };
#undef SYM
  return symbols;
}
