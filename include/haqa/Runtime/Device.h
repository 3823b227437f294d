//===- Device.h - the runtime's device interface ----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// One interface for every target: a Device compiles a lowered-to-be module
// into an Executable; an Executable runs one of its functions on host-visible
// buffers and times it. The CPU implements it with MLIR's ExecutionEngine;
// CUDA and OpenCL implement the same calls.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_DEVICE_H
#define HAQA_RUNTIME_DEVICE_H

#include "haqa/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::haqa {

/// A strided view of host memory passed to a compiled function: one memref
/// argument (row-major, contiguous).
struct BufferRef {
  void *data = nullptr;
  llvm::SmallVector<int64_t, 4> shape;
  /// Bytes per element (f32 and i32: 4, weight bytes: 1); devices with their
  /// own memory copy shape x elementBytes bytes.
  int64_t elementBytes = 4;
  /// How a device with its own memory treats the buffer between calls.
  enum Residency {
    Copy,     ///< copied in before and out after every call
    Constant, ///< copied in once (the first call it is passed to), never out
              ///< (weights)
    Resident, ///< copied in once, then lives on the device: the host copy
              ///< goes stale until releaseResident() (KV caches)
  } residency = Copy;

  int64_t getNumBytes() const {
    int64_t n = elementBytes;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// The argument array of a packed MLIR call (`_mlir_` wrappers, the
/// ExecutionEngine's invokePacked) for memref arguments `args`: per
/// argument the descriptor fields (allocated, aligned, offset, sizes,
/// strides), row-major. `data`, when given, replaces each data pointer
/// (device copies of the buffers).
class PackedMemRefArgs {
public:
  explicit PackedMemRefArgs(llvm::ArrayRef<BufferRef> args,
                            llvm::ArrayRef<void *> data = {});
  void **get() { return pointers.data(); }

private:
  std::vector<void *> pointers;
  std::vector<std::unique_ptr<int64_t[]>> fields;
  std::vector<std::unique_ptr<void *[]>> bases;
};

/// Median, spread and outliers of repeated timings.
struct TimingStats {
  std::vector<double> samplesMs; ///< in run order, after warm-up
  double medianMs = 0, minMs = 0, maxMs = 0;
  double q1Ms = 0, q3Ms = 0; ///< quartiles: the spread reported is q3 - q1
  int outliers = 0;          ///< samples beyond 1.5 IQR from the quartiles
  static TimingStats of(std::vector<double> samples);
};

struct TimingOptions {
  int warmup = 3;
  int repeats = 20;
  /// Stop repeating once this much time was spent (at least 3 samples).
  double maxSeconds = 5.0;
  /// Called before every run, outside the timed region (e.g. to evict the
  /// caches: a decode reads its weights from DRAM).
  std::function<void()> beforeRun;
};

class Executable {
public:
  virtual ~Executable();
  /// Runs `function` once on `args` (in the order of its arguments after
  /// lowering: inputs, weights, then outputs).
  virtual llvm::Error run(llvm::StringRef function,
                          llvm::ArrayRef<BufferRef> args) = 0;
  /// Runs it repeatedly and times each call (each sample: timedRun).
  virtual llvm::Expected<TimingStats> time(llvm::StringRef function,
                                           llvm::ArrayRef<BufferRef> args,
                                           const TimingOptions &options);
  /// Runs `function` once and returns its milliseconds: the wall clock
  /// around run() unless the device counts them itself (OpenCL's
  /// profiling events).
  virtual llvm::Expected<double> timedRun(llvm::StringRef function,
                                          llvm::ArrayRef<BufferRef> args);
  /// Forgets the device copies of Resident buffers: the next call copies
  /// them in again (after the host reset a KV cache).
  virtual void releaseResident() {}
};

/// Two executables of the same function timed in interleaved pairs (one
/// run of each per pair, the order alternating), so that whatever slows the
/// machine down slows both: `ratios` holds b's time / a's time per pair, a's
/// speedup over b.
struct PairedTiming {
  TimingStats a, b;
  std::vector<double> ratios;
};

/// How many pairs timePaired runs: at least `minPairs`; then it stops once
/// the 95% interval of the ratios' median is within `tolerance` of it
/// (relative half-width), after `maxPairs` pairs, or once `maxSeconds` were
/// spent timing (at least minPairs).
struct PairingOptions {
  int warmup = 2;
  int minPairs = 6;
  int maxPairs = 20;
  double tolerance = 0.02;
  double maxSeconds = 5.0;
  /// Called before every run, outside the timed region.
  std::function<void()> beforeRun;
};

/// Times `a` and `b` (the same function, on the same buffers) in pairs.
llvm::Expected<PairedTiming> timePaired(Executable &a, Executable &b,
                                        llvm::StringRef function,
                                        llvm::ArrayRef<BufferRef> args,
                                        const PairingOptions &options);

class Device {
public:
  virtual ~Device();
  virtual std::string getName() const = 0;
  /// Lowers `module` (haqa ops with schedules, or anything above LLVM the
  /// target's pipeline accepts) and compiles it. The module is modified.
  virtual llvm::Expected<std::unique_ptr<Executable>>
  compile(ModuleOp module) = 0;
};

/// The device `target` runs on, compiling with `options`: the host CPU for
/// cpu and gpu-on-cpu, the first NVIDIA GPU for cuda (the error says why
/// there is none).
llvm::Expected<std::unique_ptr<Device>>
createDevice(CompileTarget target, const PipelineOptions &options = {});

/// Whether the device of `target` can be opened here; `why` says why not.
/// A GPU is probed in a forked child (CUDA does not survive a fork after
/// cuInit, and the tools measure in forked children).
bool isDeviceAvailable(CompileTarget target, std::string *why = nullptr);

/// For Device::compile: registers every upstream dialect and extension in
/// `module`'s context (pipelines need their interface models whatever the
/// caller registered), runs `pm` on `module` and returns an error holding
/// the diagnostics after `what` ("CPU lowering failed") if it fails.
llvm::Error runLoweringPipeline(ModuleOp module, PassManager &pm,
                                llvm::StringRef what);

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_DEVICE_H
