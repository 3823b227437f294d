//===- OpenCLRuntime.h - run launch plans on an OpenCL device ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The OpenCL side of the runtime in standard C++ and the OpenCL headers
// only (no LLVM), so that the remote runner builds from the same file with
// any toolchain: the driver is opened with dlopen (libOpenCL.so.1, any
// ICD), programs are made from SPIR-V IL (clCreateProgramWithIL) or from
// SPIR 1.2 bitcode (clCreateProgramWithBinary, `-x spir`), and a plan's
// buffers live on the device across calls as their residency says.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_RUNTIME_OPENCLRUNTIME_H
#define HAQA_LIB_RUNTIME_OPENCLRUNTIME_H

#include "haqa/Runtime/LaunchPlan.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace haqa::ocl {

/// What the device says about itself.
struct DeviceInfo {
  std::string name, vendor, version, driverVersion;
  std::string ilVersion; ///< CL_DEVICE_IL_VERSION ("" when none)
  std::string extensions;
  bool hasSPIR = false; ///< cl_khr_spir (SPIR 1.2 bitcode)
  bool hasFP16 = false; ///< cl_khr_fp16
  uint64_t globalMemBytes = 0, localMemBytes = 0;
  uint64_t maxWorkGroupSize = 0;
  uint32_t computeUnits = 0;
  uint32_t baseAddrAlignBytes = 0; ///< sub-buffer offsets are multiples
};

/// A host buffer passed to a plan's argument.
struct HostArg {
  void *data = nullptr;
  int64_t bytes = 0;
  enum Residency {
    Copy,     ///< written before and read after every call
    Constant, ///< written on first use, never read back (weights)
    Resident, ///< written on first use, then lives on the device
  } residency = Copy;
};

class Runtime {
public:
  /// Opens device `index` of all platforms' devices (in platform order);
  /// nullptr with `error` saying why not (no driver, no device, ...).
  static std::unique_ptr<Runtime> open(int index, std::string &error);
  ~Runtime();
  Runtime(const Runtime &) = delete;

  const DeviceInfo &info() const { return device; }

  /// Builds program `name` from SPIR-V (`il`) or SPIR 1.2 bitcode.
  bool addProgram(const std::string &name, const std::vector<uint8_t> &bytes,
                  bool il, std::string &error);

  /// Runs `plan` on `args` (one per plan argument); `deviceMs`, when given,
  /// receives the time from the first launch's start to the last's end
  /// (profiling events).
  bool run(const plan::Plan &plan, const std::vector<HostArg> &args,
           std::string &error, double *deviceMs = nullptr);

  /// Forgets the device copies of Resident and Constant buffers.
  void releaseResident();
  /// Forgets the device copy of the Constant or Resident buffer at `data`
  /// (its host memory is about to be freed or refilled).
  void forgetArgument(void *data);

  struct Impl;

private:
  Runtime() = default;
  DeviceInfo device;
  std::unique_ptr<Impl> impl;
};

} // namespace haqa::ocl

#endif // HAQA_LIB_RUNTIME_OPENCLRUNTIME_H
