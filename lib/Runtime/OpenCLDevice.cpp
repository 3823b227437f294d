//===- OpenCLDevice.cpp - OpenCL devices through launch plans -------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/OpenCLDevice.h"
#include "OpenCLRuntime.h"
#include "haqa/Runtime/Isolate.h"
#include "haqa/Runtime/LaunchPlanBuilder.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::haqa;

namespace {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

int deviceIndex() {
  const char *s = std::getenv("HAQA_OPENCL_DEVICE");
  return s && *s ? std::atoi(s) : 0;
}

/// SPIR-V to SPIR 1.2 bitcode through the llvm-spirv translator.
llvm::Expected<std::vector<uint8_t>>
translateToSPIR(llvm::StringRef tool, const std::vector<uint8_t> &spirv,
                llvm::StringRef name) {
  llvm::SmallString<128> in, out;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("haqa-kernel", "spv", in))
    return error("cannot create a temporary file: " + ec.message());
  llvm::scope_exit removeIn([&] { llvm::sys::fs::remove(in); });
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("haqa-kernel", "bc", out))
    return error("cannot create a temporary file: " + ec.message());
  llvm::scope_exit removeOut([&] { llvm::sys::fs::remove(out); });
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    if (ec)
      return error("cannot write " + in + ": " + ec.message());
    os.write(reinterpret_cast<const char *>(spirv.data()), spirv.size());
  }
  std::string message;
  llvm::StringRef argv[] = {tool, "-r", in, "-o", out};
  int rc =
      llvm::sys::ExecuteAndWait(tool, argv, std::nullopt, {}, 60, 0, &message);
  if (rc != 0)
    return error(tool + " could not translate kernel module '" + name +
                 "' to SPIR (exit " + llvm::Twine(rc) + ")" +
                 (message.empty() ? "" : ": " + message));
  auto buffer = llvm::MemoryBuffer::getFile(out);
  if (!buffer)
    return error("cannot read " + out + ": " + buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

class OpenCLExecutable : public Executable {
public:
  OpenCLExecutable(std::unique_ptr<::haqa::ocl::Runtime> runtime,
                   LaunchPlans plans)
      : runtime(std::move(runtime)), plans(std::move(plans)) {}

  llvm::Error run(llvm::StringRef function,
                  llvm::ArrayRef<BufferRef> args) override {
    const ::haqa::plan::Plan *p = nullptr;
    for (const ::haqa::plan::Plan &candidate : plans.plans)
      if (candidate.function == function)
        p = &candidate;
    if (!p)
      return error("no function '" + function + "' in the OpenCL executable");
    std::vector<::haqa::ocl::HostArg> host;
    for (const BufferRef &b : args) {
      ::haqa::ocl::HostArg h;
      h.data = b.data;
      h.bytes = b.getNumBytes();
      h.residency = b.residency == BufferRef::Copy ? ::haqa::ocl::HostArg::Copy
                    : b.residency == BufferRef::Constant
                        ? ::haqa::ocl::HostArg::Constant
                        : ::haqa::ocl::HostArg::Resident;
      host.push_back(h);
    }
    std::string why;
    if (!runtime->run(*p, host, why))
      return error("OpenCL run of '" + function + "' on " +
                   runtime->info().name + ": " + why);
    return llvm::Error::success();
  }

  void releaseResident() override { runtime->releaseResident(); }

private:
  std::unique_ptr<::haqa::ocl::Runtime> runtime;
  LaunchPlans plans;
};

} // namespace

llvm::Expected<std::string> mlir::haqa::findLLVMSPIRV() {
  if (const char *s = std::getenv("HAQA_LLVM_SPIRV"); s && *s)
    return std::string(s);
  for (const char *name : {"llvm-spirv-15", "llvm-spirv"})
    if (auto path = llvm::sys::findProgramByName(name))
      return *path;
  return error("no llvm-spirv translator (the device takes SPIR, not SPIR-V "
               "IL): on Debian, apt-get install llvm-spirv-15, or set "
               "HAQA_LLVM_SPIRV");
}

/// The device's name, or why it cannot be opened, asked in a forked child:
/// a driver's threads (PoCL's) do not survive the fork of the tools'
/// measuring children, so the parent never opens one.
static llvm::Expected<std::string> probeInChild(int index) {
  auto probe = runIsolated(
      [index] {
        std::string reason;
        auto runtime = ::haqa::ocl::Runtime::open(index, reason);
        if (!runtime)
          return "no:" + reason;
        return "ok:" + runtime->info().name + " (" + runtime->info().version +
               ")";
      },
      60);
  if (!probe)
    return probe.takeError();
  if (probe->kind != IsolatedResult::Finished)
    return error("the OpenCL probe died: " + probe->reason);
  llvm::StringRef answer = probe->output;
  if (answer.consume_front("ok:"))
    return answer.str();
  answer.consume_front("no:");
  return error(answer);
}

llvm::Expected<std::unique_ptr<OpenCLDevice>>
OpenCLDevice::create(OpenCLPipelineOptions options) {
  int index = deviceIndex();
  auto name = probeInChild(index);
  if (!name)
    return name.takeError();
  std::unique_ptr<OpenCLDevice> d(new OpenCLDevice());
  d->index = index;
  d->name = *name;
  d->options = std::move(options);
  return std::move(d);
}

llvm::Expected<std::unique_ptr<Executable>>
OpenCLDevice::compile(ModuleOp module) {
  std::string why;
  auto runtime = ::haqa::ocl::Runtime::open(index, why);
  if (!runtime)
    return error(why);
  const ::haqa::ocl::DeviceInfo &info = runtime->info();
  // The kernels use f16 arithmetic only where the device has it.
  OpenCLPipelineOptions lowering = options;
  lowering.nativeF16 = options.nativeF16 && info.hasFP16;
  PassManager pm(module.getContext());
  if (llvm::Error e = buildOpenCLPipeline(pm, lowering))
    return std::move(e);
  if (llvm::Error e = runLoweringPipeline(module, pm, "OpenCL lowering failed"))
    return std::move(e);
  auto plans = buildLaunchPlans(module);
  if (!plans)
    return plans.takeError();
  bool il = info.ilVersion.find("SPIR-V") != std::string::npos;
  std::string tool;
  if (!il) {
    if (!info.hasSPIR)
      return error("OpenCL device " + info.name +
                   " takes neither SPIR-V IL (CL_DEVICE_IL_VERSION) nor SPIR "
                   "(cl_khr_spir)");
    auto found = findLLVMSPIRV();
    if (!found)
      return found.takeError();
    tool = *found;
  }
  for (const ::haqa::plan::Binary &b : plans->binaries) {
    std::vector<uint8_t> bytes = b.spirv;
    if (!il) {
      auto spir = translateToSPIR(tool, b.spirv, b.name);
      if (!spir)
        return spir.takeError();
      bytes = std::move(*spir);
    }
    if (!runtime->addProgram(b.name, bytes, il, why))
      return error("OpenCL device " + info.name + ": " + why);
  }
  return std::make_unique<OpenCLExecutable>(std::move(runtime),
                                            std::move(*plans));
}

bool mlir::haqa::isOpenCLAvailable(std::string *why) {
  auto name = probeInChild(deviceIndex());
  if (name)
    return true;
  std::string reason = llvm::toString(name.takeError());
  if (why)
    *why = reason;
  return false;
}
