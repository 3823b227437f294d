//===- CUDADriver.h - the CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// libcuda.so.1 is opened with dlopen when a CUDA device is first asked
// for, so every HAQA tool runs (and its CUDA tests skip) on machines
// without an NVIDIA driver. Only the handful of entry points the runtime
// uses are declared here, with the driver API's own types and values.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_RUNTIME_CUDADRIVER_H
#define HAQA_LIB_RUNTIME_CUDADRIVER_H

#include "llvm/Support/Error.h"
#include <cstddef>
#include <cstdint>
#include <string>

namespace mlir::haqa::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = uint64_t;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_JIT_OPTIMIZATION_LEVEL = 7;
constexpr int CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2;
constexpr unsigned CU_MEMORYTYPE_DEVICE = 2;

/// The driver entry points (the _v2 ABI where the driver has one).
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuPointerGetAttribute)(void *, int, CUdeviceptr);
};

/// The driver, loaded and initialized once (cuInit); the error says why not
/// (no libcuda.so.1, a missing entry point, cuInit failing, no device).
llvm::Expected<const Driver &> getDriver();

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string describe(CUresult r);

/// An error naming the failed call, or success.
llvm::Error check(CUresult r, const char *call);

/// Records the first failure of an mgpu* wrapper (they cannot return one);
/// takeWrapperError() returns it and clears it.
void recordWrapperError(CUresult r, const char *call);
llvm::Error takeWrapperError();

/// Device memory from a cache of freed blocks (kept per rounded size, reused
/// in stream order: every launch and copy is on the one default stream, so
/// a block freed after its last use is free for the next one). cuMemAlloc
/// and cuMemFree cost tens of microseconds each and cuMemFree waits for the
/// GPU; a decode step of a model allocates and frees hundreds of
/// temporaries. On out-of-memory the cache is emptied and the allocation
/// retried. HAQA_CUDA_SYNC_EACH_OP=1 turns the cache off (and makes every
/// wrapper wait for the GPU), for comparison and for debugging.
CUresult poolAlloc(CUdeviceptr *ptr, size_t bytes);
void poolFree(CUdeviceptr ptr);
/// Frees every cached block (cuMemFree).
void poolTrim();
/// Whether HAQA_CUDA_SYNC_EACH_OP=1 asks for the old behaviour.
bool syncEachOp();

/// Unit tests: make getDriver() and the wrappers use `d` (fake entry points)
/// instead of libcuda; nullptr restores the real driver.
void setDriverForTesting(const Driver *d);

/// The mgpu* wrappers the upstream GPU lowering calls, by name, for the JIT.
struct WrapperSymbol {
  const char *name;
  void *address;
};
llvm::ArrayRef<WrapperSymbol> getWrapperSymbols();

} // namespace mlir::haqa::cuda

#endif // HAQA_LIB_RUNTIME_CUDADRIVER_H
