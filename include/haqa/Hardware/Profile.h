//===- Profile.h - what the agent and the verifier know of a chip -*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A hardware profile: memory size and bandwidth, peak throughput per data
// type, native INT8 / INT4 support, subgroup size, thread and shared-memory
// limits, caches. GPU and phone profiles are JSON files in hardware/ (one per
// device, each naming its public source); the host CPU's is detected at run
// time from cpuid, /proc and /sys.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_HARDWARE_PROFILE_H
#define HAQA_HARDWARE_PROFILE_H

#include "haqa/Hardware/TargetLimits.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace mlir::haqa {

struct HardwareProfile {
  std::string id;   ///< "h100", "host", ...
  std::string name; ///< marketing name / CPU model name
  TargetKind kind = TargetKind::CPU;
  std::string arch; ///< "sm_90", "adreno-7xx", "x86-64-v4", ...
  uint64_t memoryBytes = 0;
  double memoryBandwidthGBps = 0; ///< 0: unknown (host: not measured)
  /// Peak dense throughput in TFLOPS / TOPS per data type ("f32", "f16",
  /// "bf16", "int8", "int4"); a type that is absent has no fast path.
  llvm::StringMap<double> peakTops;
  bool nativeInt8 = false, nativeInt4 = false, tensorCores = false;
  int64_t computeUnits = 0; ///< SMs, compute units or host threads
  int64_t subgroupSize = 1; ///< warp / wave; 1 on the CPU
  int64_t maxThreadsPerBlock = 1;
  int64_t sharedMemoryPerBlockBytes = 0;
  int64_t sharedMemoryPerUnitBytes = 0;
  int64_t registersPerUnit = 0;
  int64_t l1Bytes = 0, l2Bytes = 0, l3Bytes = 0;
  int64_t vectorBits = 0;            ///< CPU SIMD width
  std::vector<std::string> features; ///< CPU ISA extensions found
  std::string source;                ///< where the numbers come from

  /// The limits the default schedule and the search spaces respect.
  TargetLimits getLimits() const;
  /// A stable digest of what makes measurements comparable across runs: kind,
  /// name, arch, compute units, features. Records are keyed by it.
  std::string getFingerprint() const;
  /// The profile as JSON (the files' format, plus detected fields).
  llvm::json::Value toJSON() const;
};

/// Parses a profile file's contents; errors name `origin`.
llvm::Expected<HardwareProfile> parseHardwareProfile(llvm::StringRef json,
                                                     llvm::StringRef origin);

/// The directory of profile files: $HAQA_HARDWARE_DIR, else the source tree's
/// hardware/ this build came from.
std::string getDefaultHardwareDir();

/// Every profile in `dir` (sorted by id), then the detected host.
llvm::Expected<std::vector<HardwareProfile>>
loadHardwareProfiles(llvm::StringRef dir);

/// The profile named `id` ("host" or "cpu": the detected host CPU) from
/// `dir`; the error lists the ids there are.
llvm::Expected<HardwareProfile> findHardwareProfile(llvm::StringRef id,
                                                    llvm::StringRef dir);

/// A profile by id, as findHardwareProfile in `dir` (empty: the default
/// directory), or by the path of its JSON file.
llvm::Expected<HardwareProfile> loadHardwareProfile(llvm::StringRef idOrPath,
                                                    llvm::StringRef dir = "");

/// The table `haqa-compile --list-targets` prints: one row per profile (id,
/// kind, arch, memory, bandwidth, peaks, native INT8 / INT4, subgroup,
/// threads and shared memory per block, name), then where each profile's
/// numbers come from.
void printHardwareProfiles(llvm::raw_ostream &os,
                           llvm::ArrayRef<HardwareProfile> profiles,
                           llvm::StringRef dir);

/// This machine's CPU from cpuid, /proc/cpuinfo, /proc/meminfo and
/// /sys/devices/system/cpu. Peak f32 is estimated from the SIMD width, two
/// FMA units per core and the reported clock; bandwidth is left 0 unless
/// `measure` (then both are measured: about a second).
HardwareProfile detectHostCPU(bool measure = false);

/// Measured f32 FMA GFLOP/s and streaming read GB/s with all host threads.
struct MeasuredPeaks {
  double gflops = 0, gbps = 0;
};
MeasuredPeaks measureHostPeaks();

} // namespace mlir::haqa

#endif // HAQA_HARDWARE_PROFILE_H
