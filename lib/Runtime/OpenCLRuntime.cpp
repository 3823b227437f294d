//===- OpenCLRuntime.cpp - run launch plans on an OpenCL device -----------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Standard C++ and the OpenCL headers only: see OpenCLRuntime.h.
//
//===----------------------------------------------------------------------===//

#define CL_TARGET_OPENCL_VERSION 300
// clCreateCommandQueue: OpenCL 1.2 devices have no ...WithProperties.
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include "OpenCLRuntime.h"

#include <CL/cl.h>
#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <utility>

using namespace haqa;
using namespace haqa::ocl;

namespace {

/// The entry points HAQA calls, bound from libOpenCL.so.1.
struct API {
#define HAQA_CL_FN(name) decltype(&::name) name = nullptr;
#define HAQA_CL_FUNCTIONS(X)                                                   \
  X(clGetPlatformIDs)                                                          \
  X(clGetDeviceIDs)                                                            \
  X(clGetDeviceInfo)                                                           \
  X(clCreateContext)                                                           \
  X(clReleaseContext)                                                          \
  X(clCreateCommandQueue)                                                      \
  X(clReleaseCommandQueue)                                                     \
  X(clCreateBuffer)                                                            \
  X(clCreateSubBuffer)                                                         \
  X(clReleaseMemObject)                                                        \
  X(clCreateProgramWithBinary)                                                 \
  X(clBuildProgram)                                                            \
  X(clGetProgramBuildInfo)                                                     \
  X(clReleaseProgram)                                                          \
  X(clCreateKernel)                                                            \
  X(clGetKernelInfo)                                                           \
  X(clReleaseKernel)                                                           \
  X(clSetKernelArg)                                                            \
  X(clEnqueueNDRangeKernel)                                                    \
  X(clEnqueueWriteBuffer)                                                      \
  X(clEnqueueReadBuffer)                                                       \
  X(clEnqueueCopyBuffer)                                                       \
  X(clFinish)                                                                  \
  X(clWaitForEvents)                                                           \
  X(clGetEventProfilingInfo)                                                   \
  X(clReleaseEvent)
  HAQA_CL_FUNCTIONS(HAQA_CL_FN)
  // OpenCL 2.1: absent from 1.2 drivers.
  decltype(&::clCreateProgramWithIL) clCreateProgramWithIL = nullptr;
  std::string error;
};

const API &api() {
  static API a;
  static std::once_flag once;
  std::call_once(once, [] {
    // The ICD loader on Linux; the vendor's library on Android.
    void *lib = nullptr;
    for (const char *name :
         {"libOpenCL.so.1", "libOpenCL.so", "/vendor/lib64/libOpenCL.so",
          "/system/vendor/lib64/libOpenCL.so"})
      if (!lib)
        lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *why = dlerror();
      a.error = std::string("no OpenCL driver: cannot open libOpenCL.so.1") +
                (why ? std::string(" (") + why + ")" : "");
      return;
    }
#define HAQA_CL_BIND(name)                                                     \
  a.name = reinterpret_cast<decltype(a.name)>(dlsym(lib, #name));              \
  if (!a.name && a.error.empty())                                              \
    a.error = "the OpenCL library has no entry point " #name;
    HAQA_CL_FUNCTIONS(HAQA_CL_BIND)
    a.clCreateProgramWithIL =
        reinterpret_cast<decltype(a.clCreateProgramWithIL)>(
            dlsym(lib, "clCreateProgramWithIL"));
  });
  return a;
}

std::string describe(cl_int status) {
  switch (status) {
  case CL_DEVICE_NOT_FOUND:
    return "CL_DEVICE_NOT_FOUND";
  case CL_OUT_OF_RESOURCES:
    return "CL_OUT_OF_RESOURCES";
  case CL_OUT_OF_HOST_MEMORY:
    return "CL_OUT_OF_HOST_MEMORY";
  case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
  case CL_BUILD_PROGRAM_FAILURE:
    return "CL_BUILD_PROGRAM_FAILURE";
  case CL_INVALID_VALUE:
    return "CL_INVALID_VALUE";
  case CL_INVALID_BINARY:
    return "CL_INVALID_BINARY";
  case CL_INVALID_KERNEL_NAME:
    return "CL_INVALID_KERNEL_NAME";
  case CL_INVALID_ARG_INDEX:
    return "CL_INVALID_ARG_INDEX";
  case CL_INVALID_ARG_SIZE:
    return "CL_INVALID_ARG_SIZE";
  case CL_INVALID_KERNEL_ARGS:
    return "CL_INVALID_KERNEL_ARGS";
  case CL_INVALID_WORK_GROUP_SIZE:
    return "CL_INVALID_WORK_GROUP_SIZE";
  case CL_INVALID_WORK_ITEM_SIZE:
    return "CL_INVALID_WORK_ITEM_SIZE";
  case CL_INVALID_BUFFER_SIZE:
    return "CL_INVALID_BUFFER_SIZE";
  case CL_MISALIGNED_SUB_BUFFER_OFFSET:
    return "CL_MISALIGNED_SUB_BUFFER_OFFSET";
  case -1001:
    return "CL_PLATFORM_NOT_FOUND_KHR";
  default:
    return "OpenCL error " + std::to_string(status);
  }
}

bool failed(cl_int status, const char *what, std::string &error) {
  if (status == CL_SUCCESS)
    return false;
  error = std::string(what) + " failed: " + describe(status);
  return true;
}

std::string deviceString(cl_device_id d, cl_device_info what) {
  size_t n = 0;
  if (api().clGetDeviceInfo(d, what, 0, nullptr, &n) != CL_SUCCESS || !n)
    return "";
  std::string s(n, '\0');
  api().clGetDeviceInfo(d, what, n, s.data(), nullptr);
  while (!s.empty() && (s.back() == '\0' || s.back() == ' '))
    s.pop_back();
  return s;
}

template <typename T> T deviceValue(cl_device_id d, cl_device_info what) {
  T v{};
  api().clGetDeviceInfo(d, what, sizeof(T), &v, nullptr);
  return v;
}

} // namespace

/// The device objects and what each plan keeps between calls.
struct Runtime::Impl {
  cl_device_id device = nullptr;
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  std::map<std::string, cl_program> programs;
  std::map<std::pair<std::string, std::string>, cl_kernel> kernels;
  struct Memory {
    cl_mem mem = nullptr;
    int64_t bytes = 0;
    std::map<int64_t, cl_mem> subBuffers; ///< by byte offset
  };
  /// Arguments' device buffers, by host pointer.
  std::map<void *, Memory> arguments;
  /// Each plan's temporaries and constants, by plan and buffer index.
  std::map<std::pair<const plan::Plan *, int64_t>, Memory> planBuffers;
  /// The device's global memory: no buffer is larger.
  uint64_t maxBytes = 0;

  void release(Memory &m) {
    for (auto &[offset, sub] : m.subBuffers)
      api().clReleaseMemObject(sub);
    m.subBuffers.clear();
    if (m.mem)
      api().clReleaseMemObject(m.mem);
    m.mem = nullptr;
  }

  bool allocate(Memory &m, int64_t bytes, std::string &error) {
    if (bytes < 0 || static_cast<uint64_t>(bytes) > maxBytes) {
      error = "a buffer of " + std::to_string(bytes) +
              " bytes is beyond the device's memory (" +
              std::to_string(maxBytes) + " bytes)";
      return false;
    }
    cl_int status;
    m.mem = api().clCreateBuffer(context, CL_MEM_READ_WRITE,
                                 static_cast<size_t>(bytes ? bytes : 1),
                                 nullptr, &status);
    m.bytes = bytes;
    return !failed(status, "clCreateBuffer", error);
  }

  /// The cl_mem a kernel argument starting `offset` bytes into `m` binds.
  bool at(Memory &m, int64_t offset, cl_mem &out, std::string &error,
          uint32_t alignBytes) {
    if (!offset) {
      out = m.mem;
      return true;
    }
    auto it = m.subBuffers.find(offset);
    if (it == m.subBuffers.end()) {
      if (offset >= m.bytes || (alignBytes && offset % alignBytes)) {
        error = "a kernel argument starts " + std::to_string(offset) +
                " bytes into a buffer of " + std::to_string(m.bytes) +
                " bytes; the device needs sub-buffers at multiples of " +
                std::to_string(alignBytes) + " bytes";
        return false;
      }
      cl_buffer_region region{static_cast<size_t>(offset),
                              static_cast<size_t>(m.bytes - offset)};
      cl_int status;
      cl_mem sub = api().clCreateSubBuffer(m.mem, CL_MEM_READ_WRITE,
                                           CL_BUFFER_CREATE_TYPE_REGION,
                                           &region, &status);
      if (failed(status, "clCreateSubBuffer", error))
        return false;
      it = m.subBuffers.emplace(offset, sub).first;
    }
    out = it->second;
    return true;
  }

  ~Impl() {
    for (auto &[k, m] : arguments)
      release(m);
    for (auto &[k, m] : planBuffers)
      release(m);
    for (auto &[k, kernel] : kernels)
      api().clReleaseKernel(kernel);
    for (auto &[k, p] : programs)
      api().clReleaseProgram(p);
    if (queue)
      api().clReleaseCommandQueue(queue);
    if (context)
      api().clReleaseContext(context);
  }
};

Runtime::~Runtime() = default;

std::unique_ptr<Runtime> Runtime::open(int index, std::string &error) {
  const API &a = api();
  if (!a.error.empty()) {
    error = a.error;
    return nullptr;
  }
  cl_uint numPlatforms = 0;
  cl_int status = a.clGetPlatformIDs(0, nullptr, &numPlatforms);
  if (status != CL_SUCCESS || !numPlatforms) {
    error = "no OpenCL platform (no ICD installed: on Debian, apt-get install "
            "pocl-opencl-icd)";
    return nullptr;
  }
  std::vector<cl_platform_id> platforms(numPlatforms);
  a.clGetPlatformIDs(numPlatforms, platforms.data(), nullptr);
  std::vector<cl_device_id> devices;
  for (cl_platform_id p : platforms) {
    cl_uint n = 0;
    if (a.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &n) != CL_SUCCESS)
      continue;
    std::vector<cl_device_id> some(n);
    a.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n, some.data(), nullptr);
    devices.insert(devices.end(), some.begin(), some.end());
  }
  if (index < 0 || static_cast<size_t>(index) >= devices.size()) {
    error = "no OpenCL device " + std::to_string(index) + " (" +
            std::to_string(devices.size()) + " found)";
    return nullptr;
  }
  std::unique_ptr<Runtime> r(new Runtime());
  r->impl = std::make_unique<Impl>();
  cl_device_id d = devices[index];
  r->impl->device = d;
  DeviceInfo &info = r->device;
  info.name = deviceString(d, CL_DEVICE_NAME);
  info.vendor = deviceString(d, CL_DEVICE_VENDOR);
  info.version = deviceString(d, CL_DEVICE_VERSION);
  info.driverVersion = deviceString(d, CL_DRIVER_VERSION);
  info.ilVersion = deviceString(d, CL_DEVICE_IL_VERSION);
  info.extensions = deviceString(d, CL_DEVICE_EXTENSIONS);
  auto hasExtension = [&](const char *name) {
    std::string padded = " " + info.extensions + " ";
    return padded.find(std::string(" ") + name + " ") != std::string::npos;
  };
  info.hasSPIR = hasExtension("cl_khr_spir");
  info.hasFP16 = hasExtension("cl_khr_fp16");
  info.globalMemBytes = deviceValue<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE);
  info.localMemBytes = deviceValue<cl_ulong>(d, CL_DEVICE_LOCAL_MEM_SIZE);
  info.maxWorkGroupSize = deviceValue<size_t>(d, CL_DEVICE_MAX_WORK_GROUP_SIZE);
  info.computeUnits = deviceValue<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS);
  info.baseAddrAlignBytes =
      deviceValue<cl_uint>(d, CL_DEVICE_MEM_BASE_ADDR_ALIGN) / 8;
  r->impl->maxBytes = info.globalMemBytes;

  r->impl->context =
      a.clCreateContext(nullptr, 1, &d, nullptr, nullptr, &status);
  if (failed(status, "clCreateContext", error))
    return nullptr;
  r->impl->queue = a.clCreateCommandQueue(r->impl->context, d,
                                          CL_QUEUE_PROFILING_ENABLE, &status);
  if (failed(status, "clCreateCommandQueue", error))
    return nullptr;
  return r;
}

bool Runtime::addProgram(const std::string &name,
                         const std::vector<uint8_t> &bytes, bool il,
                         std::string &error) {
  const API &a = api();
  cl_int status;
  cl_program program;
  const char *options = "";
  if (il) {
    if (!a.clCreateProgramWithIL) {
      error = "the OpenCL library has no clCreateProgramWithIL (OpenCL 2.1)";
      return false;
    }
    program = a.clCreateProgramWithIL(impl->context, bytes.data(), bytes.size(),
                                      &status);
    if (failed(status, "clCreateProgramWithIL", error))
      return false;
  } else {
    const unsigned char *data = bytes.data();
    size_t size = bytes.size();
    cl_int binaryStatus;
    program = a.clCreateProgramWithBinary(impl->context, 1, &impl->device,
                                          &size, &data, &binaryStatus, &status);
    if (failed(status, "clCreateProgramWithBinary", error))
      return false;
    options = "-x spir -spir-std=1.2";
  }
  status =
      a.clBuildProgram(program, 1, &impl->device, options, nullptr, nullptr);
  if (status != CL_SUCCESS) {
    size_t n = 0;
    a.clGetProgramBuildInfo(program, impl->device, CL_PROGRAM_BUILD_LOG, 0,
                            nullptr, &n);
    std::string log(n, '\0');
    a.clGetProgramBuildInfo(program, impl->device, CL_PROGRAM_BUILD_LOG, n,
                            log.data(), nullptr);
    a.clReleaseProgram(program);
    error = "building kernel module '" + name + "' failed (" +
            describe(status) + "): " + log;
    return false;
  }
  auto [it, inserted] = impl->programs.emplace(name, program);
  if (!inserted) {
    // Kernels made from the program it replaces go with it.
    for (auto k = impl->kernels.begin(); k != impl->kernels.end();) {
      if (k->first.first == name) {
        a.clReleaseKernel(k->second);
        k = impl->kernels.erase(k);
      } else {
        ++k;
      }
    }
    a.clReleaseProgram(it->second);
    it->second = program;
  }
  return true;
}

void Runtime::forgetArgument(void *data) {
  auto it = impl->arguments.find(data);
  if (it == impl->arguments.end())
    return;
  impl->release(it->second);
  impl->arguments.erase(it);
}

void Runtime::releaseResident() {
  for (auto &[k, m] : impl->arguments)
    impl->release(m);
  impl->arguments.clear();
}

bool Runtime::run(const plan::Plan &p, const std::vector<HostArg> &args,
                  std::string &error, double *deviceMs) {
  const API &a = api();
  if (static_cast<int64_t>(args.size()) != p.numArguments) {
    error = "plan '" + p.function + "' takes " +
            std::to_string(p.numArguments) + " arguments, got " +
            std::to_string(args.size());
    return false;
  }
  Impl &s = *impl;
  cl_event first = nullptr, last = nullptr;
  // Whatever way this returns, nothing queued outlives it (queued writes
  // and reads use the caller's host buffers) and no event leaks.
  struct Finish {
    Impl &s;
    cl_event &first, &last;
    ~Finish() {
      api().clFinish(s.queue);
      if (first)
        api().clReleaseEvent(first);
      if (last)
        api().clReleaseEvent(last);
    }
  } finish{s, first, last};
  // Each plan buffer's device memory.
  std::vector<Impl::Memory *> memory(p.buffers.size());
  for (size_t i = 0; i < p.buffers.size(); ++i) {
    const plan::Buffer &b = p.buffers[i];
    if (b.kind == plan::Buffer::Argument) {
      const HostArg &h = args[b.argument];
      // Weights and caches are the same host buffers call after call: by
      // their address. A Copy argument's host buffer may be new each call:
      // by the plan's argument slot.
      Impl::Memory &m =
          h.residency == HostArg::Copy
              ? s.planBuffers[{&p, -1 - static_cast<int64_t>(b.argument)}]
              : s.arguments[h.data];
      bool fresh = false;
      if (!m.mem || m.bytes != h.bytes) {
        s.release(m);
        if (!s.allocate(m, h.bytes, error))
          return false;
        fresh = true;
      }
      if ((fresh || h.residency == HostArg::Copy) && h.bytes &&
          failed(a.clEnqueueWriteBuffer(s.queue, m.mem, CL_FALSE, 0, h.bytes,
                                        h.data, 0, nullptr, nullptr),
                 "clEnqueueWriteBuffer", error)) {
        // Not uploaded: not kept either.
        s.release(m);
        return false;
      }
      memory[i] = &m;
      continue;
    }
    Impl::Memory &m = s.planBuffers[{&p, static_cast<int64_t>(i)}];
    if (!m.mem) {
      if (!s.allocate(m, b.bytes, error))
        return false;
      if (b.kind == plan::Buffer::Constant && b.bytes &&
          failed(a.clEnqueueWriteBuffer(s.queue, m.mem, CL_TRUE, 0, b.bytes,
                                        b.data.data(), 0, nullptr, nullptr),
                 "clEnqueueWriteBuffer", error)) {
        s.release(m);
        return false;
      }
    }
    memory[i] = &m;
  }
  auto bind = [&](const plan::Ref &r, cl_mem &out) {
    if (r.buffer < 0 || static_cast<size_t>(r.buffer) >= memory.size()) {
      error = "plan '" + p.function + "' names no buffer " +
              std::to_string(r.buffer);
      return false;
    }
    return s.at(*memory[r.buffer], r.byteOffset, out, error,
                device.baseAddrAlignBytes);
  };

  for (const plan::Step &step : p.steps) {
    if (step.kind == plan::Step::Copy) {
      for (const plan::Ref *r : {&step.dst, &step.src})
        if (r->buffer < 0 || static_cast<size_t>(r->buffer) >= memory.size() ||
            r->byteOffset < 0 || step.bytes < 0 ||
            step.bytes > memory[r->buffer]->bytes ||
            r->byteOffset > memory[r->buffer]->bytes - step.bytes) {
          error = "plan '" + p.function + "' copies outside a buffer";
          return false;
        }
      if (step.bytes &&
          failed(a.clEnqueueCopyBuffer(s.queue, memory[step.src.buffer]->mem,
                                       memory[step.dst.buffer]->mem,
                                       step.src.byteOffset, step.dst.byteOffset,
                                       step.bytes, 0, nullptr, nullptr),
                 "clEnqueueCopyBuffer", error))
        return false;
      continue;
    }
    const plan::Kernel &k = p.kernels.at(step.kernel);
    cl_kernel kernel;
    auto it = s.kernels.find({k.binary, k.name});
    if (it == s.kernels.end()) {
      auto program = s.programs.find(k.binary);
      if (program == s.programs.end()) {
        error = "no program '" + k.binary + "' for kernel '" + k.name + "'";
        return false;
      }
      cl_int status;
      kernel = a.clCreateKernel(program->second, k.name.c_str(), &status);
      if (failed(status, ("clCreateKernel " + k.name).c_str(), error))
        return false;
      s.kernels.emplace(std::make_pair(k.binary, k.name), kernel);
    } else {
      kernel = it->second;
    }
    // Every argument set by this launch: none left from an earlier one.
    cl_uint numArgs = 0;
    a.clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof numArgs, &numArgs,
                      nullptr);
    if (numArgs != step.args.size()) {
      error = "kernel '" + k.name + "' takes " + std::to_string(numArgs) +
              " arguments; the plan gives " + std::to_string(step.args.size());
      return false;
    }
    for (size_t i = 0; i < step.args.size(); ++i) {
      const plan::KernelArg &arg = step.args[i];
      cl_int status;
      if (arg.isBuffer) {
        cl_mem m;
        if (!bind(arg.ref, m))
          return false;
        status = a.clSetKernelArg(kernel, i, sizeof(cl_mem), &m);
      } else {
        status =
            a.clSetKernelArg(kernel, i, arg.scalar.size(), arg.scalar.data());
      }
      if (failed(
              status,
              ("clSetKernelArg " + std::to_string(i) + " of " + k.name).c_str(),
              error))
        return false;
    }
    size_t global[3], local[3];
    for (int d = 0; d < 3; ++d) {
      local[d] = static_cast<size_t>(step.block[d]);
      global[d] = static_cast<size_t>(step.grid[d] * step.block[d]);
    }
    cl_event event = nullptr;
    cl_event *eventOut = deviceMs ? &event : nullptr;
    if (failed(a.clEnqueueNDRangeKernel(s.queue, kernel, 3, nullptr, global,
                                        local, 0, nullptr, eventOut),
               ("clEnqueueNDRangeKernel " + k.name).c_str(), error))
      return false;
    if (event) {
      if (!first)
        first = event;
      else if (last)
        a.clReleaseEvent(last);
      if (event != first)
        last = event;
    }
  }
  // Copy arguments come back.
  for (size_t i = 0; i < p.buffers.size(); ++i) {
    const plan::Buffer &b = p.buffers[i];
    if (b.kind != plan::Buffer::Argument)
      continue;
    const HostArg &h = args[b.argument];
    if (h.residency == HostArg::Copy && h.bytes &&
        failed(a.clEnqueueReadBuffer(s.queue, memory[i]->mem, CL_FALSE, 0,
                                     h.bytes, h.data, 0, nullptr, nullptr),
               "clEnqueueReadBuffer", error))
      return false;
  }
  bool ok = !failed(a.clFinish(s.queue), "clFinish", error);
  if (deviceMs) {
    *deviceMs = 0;
    if (ok && first) {
      cl_ulong start = 0, end = 0;
      a.clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_START,
                                sizeof(start), &start, nullptr);
      a.clGetEventProfilingInfo(last ? last : first, CL_PROFILING_COMMAND_END,
                                sizeof(end), &end, nullptr);
      *deviceMs = end > start ? (end - start) * 1e-6 : 0;
    }
  }
  return ok;
}
