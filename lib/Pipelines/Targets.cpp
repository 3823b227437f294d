//===- Targets.cpp - the compile targets and their registration ----------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The one table of compile targets, the dispatch from a target to its
// pipeline, and the `haqa-opt` registration of every pipeline.
//
//===----------------------------------------------------------------------===//

#include "haqa/Pipelines/Pipelines.h"
#include "haqa/Target/GPU/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::haqa;

static const CompileTargetInfo kTargets[] = {
    {CompileTarget::CPU, "cpu", "the host CPU", TargetKind::CPU,
     /*needsDevice=*/false},
    {CompileTarget::CUDA, "cuda", "the first NVIDIA GPU", TargetKind::CUDA,
     /*needsDevice=*/true},
    {CompileTarget::GPUOnCPU, "gpu-on-cpu",
     "CUDA schedules, their block / thread / staging loops run on the host "
     "CPU (checks GPU schedules' numerics without a GPU)",
     TargetKind::CUDA, /*needsDevice=*/false},
    {CompileTarget::OpenCL, "opencl",
     "the first OpenCL device (SPIR-V kernels; Adreno schedules)",
     TargetKind::OpenCL, /*needsDevice=*/true},
};

llvm::ArrayRef<CompileTargetInfo> mlir::haqa::getCompileTargets() {
  return kTargets;
}

const CompileTargetInfo &mlir::haqa::getCompileTargetInfo(CompileTarget t) {
  for (const CompileTargetInfo &info : kTargets)
    if (info.target == t)
      return info;
  llvm_unreachable("every CompileTarget has an entry in kTargets");
}

llvm::StringRef mlir::haqa::getCompileTargetName(CompileTarget t) {
  return getCompileTargetInfo(t).name;
}

std::string mlir::haqa::getCompileTargetNames() {
  std::string s;
  for (size_t i = 0; i < std::size(kTargets); ++i) {
    if (i)
      s += i + 1 == std::size(kTargets) ? " or " : ", ";
    s += kTargets[i].name.str();
  }
  return s;
}

std::string mlir::haqa::describeCompileTargets() {
  std::string s;
  for (const CompileTargetInfo &info : kTargets)
    s += (s.empty() ? "" : "; ") + info.name.str() + ": " +
         info.description.str();
  return s;
}

llvm::Expected<CompileTarget>
mlir::haqa::parseCompileTarget(llvm::StringRef name) {
  for (const CompileTargetInfo &info : kTargets)
    if (info.name == name)
      return info.target;
  return llvm::createStringError("unknown target '" + name + "' (" +
                                 getCompileTargetNames() + ")");
}

llvm::Error mlir::haqa::buildLoweringPipeline(OpPassManager &pm,
                                              CompileTarget target,
                                              const PipelineOptions &options) {
  switch (target) {
  case CompileTarget::CPU:
    buildCPUPipeline(pm, options.cpu);
    return llvm::Error::success();
  case CompileTarget::GPUOnCPU: {
    CPUPipelineOptions cpu = options.cpu;
    cpu.gpuSchedules = true;
    buildCPUPipeline(pm, cpu);
    return llvm::Error::success();
  }
  case CompileTarget::CUDA:
    return buildCUDAPipeline(pm, options.cuda);
  case CompileTarget::OpenCL:
    return buildOpenCLPipeline(pm, options.opencl);
  }
  llvm_unreachable("unknown compile target");
}

namespace {
/// `haqa-cuda-lower{profile=h100 chip=sm_90 features=+ptx80 format=isa}`.
struct CUDAPipelineCLOptions : PassPipelineOptions<CUDAPipelineCLOptions> {
  Option<std::string> profile{*this, "profile",
                              llvm::cl::desc("hardware profile checked")};
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("sm_XY (default: the profile's)")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX ISA feature"),
                               llvm::cl::init("+ptx80")};
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("isa, bin or fatbin"),
                             llvm::cl::init("isa")};
};
/// `haqa-opencl-lower{profile=adreno740 spirv-version=v1.0}`.
struct OpenCLPipelineCLOptions : PassPipelineOptions<OpenCLPipelineCLOptions> {
  Option<std::string> profile{*this, "profile",
                              llvm::cl::desc("OpenCL hardware profile"),
                              llvm::cl::init("adreno740")};
  Option<std::string> spirvVersion{*this, "spirv-version",
                                   llvm::cl::desc("SPIR-V version"),
                                   llvm::cl::init("v1.0")};
  Option<bool> nativeF16{
      *this, "native-f16",
      llvm::cl::desc("the device computes in f16 (cl_khr_fp16); false: f16 "
                     "storage decoded from its bits"),
      llvm::cl::init(true)};
};
struct CPUPipelineCLOptions
    : public PassPipelineOptions<CPUPipelineCLOptions> {
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("CPU features the micro-kernels may use: host, any or "
                     "a comma-separated list of LLVM names"),
      llvm::cl::init("host")};
  Option<bool> bufferCache{
      *this, "buffer-cache",
      llvm::cl::desc("allocate through _mlir_memref_to_llvm_alloc / _free, "
                     "which HAQA's CPU runtime serves from reused buffers "
                     "(false: malloc / free)"),
      llvm::cl::init(true)};
};
} // namespace

void mlir::haqa::registerHAQAPipelines() {
  PassPipelineRegistration<CPUPipelineCLOptions>(
      "haqa-cpu-lower",
      "lower haqa kernels (with their schedules) to the LLVM dialect for the "
      "host CPU",
      [](OpPassManager &pm, const CPUPipelineCLOptions &o) {
        CPUPipelineOptions options;
        options.features = o.features;
        options.bufferCache = o.bufferCache;
        buildCPUPipeline(pm, options);
      });
  PassPipelineRegistration<>(
      "haqa-gpu-on-cpu-lower",
      "lower haqa kernels with GPU schedules to host CPU loops with the same "
      "block / thread / staging structure (checks GPU schedules' numerics "
      "without a GPU)",
      [](OpPassManager &pm) {
        CPUPipelineOptions options;
        options.gpuSchedules = true;
        buildCPUPipeline(pm, options);
      });
  PassPipelineRegistration<CUDAPipelineCLOptions>(
      "haqa-cuda-lower",
      "lower haqa kernels (with their schedules) to host LLVM plus PTX / "
      "cubin for an NVIDIA GPU",
      [](OpPassManager &pm, const CUDAPipelineCLOptions &o) {
        CUDAPipelineOptions options;
        options.profile = o.profile;
        options.chip = o.chip;
        options.features = o.features;
        options.format = o.format;
        if (llvm::Error e = buildCUDAPipeline(pm, options)) {
          // The profile does not load (or the format is unknown): the check
          // pass alone reports why, as a diagnostic on the module.
          llvm::consumeError(std::move(e));
          pm.clear();
          HAQAGPUCheckLimitsPassOptions check;
          check.profile = options.profile;
          pm.addPass(createHAQAGPUCheckLimitsPass(check));
        }
      });
  // Registered with the error handler, so that a profile that is no OpenCL
  // device is an error when the pipeline is parsed.
  registerPassPipeline(
      "haqa-opencl-lower",
      "lower haqa kernels (with their schedules) to SPIR-V kernels for "
      "OpenCL and a host launch plan",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        OpenCLPipelineCLOptions o;
        if (failed(o.parseFromString(text)))
          return failure();
        OpenCLPipelineOptions options;
        options.profile = o.profile;
        options.spirvVersion = o.spirvVersion;
        options.nativeF16 = o.nativeF16;
        if (llvm::Error e = buildOpenCLPipeline(pm, options))
          return errorHandler("haqa-opencl-lower: " +
                              llvm::toString(std::move(e)));
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(OpenCLPipelineCLOptions());
      });
}
