//===- OpenCLDevice.cpp - OpenCL devices through launch plans -------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/OpenCLDevice.h"
#include "OpenCLRuntime.h"
#include "RemoteProtocol.h"
#include "haqa/Runtime/Isolate.h"
#include "haqa/Runtime/LaunchPlanBuilder.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::haqa;

namespace {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// The runner a remote device is behind (HAQA_OPENCL_REMOTE=HOST:PORT), or
/// "" for a local one.
std::string remoteEndpoint() {
  const char *s = std::getenv("HAQA_OPENCL_REMOTE");
  return s ? s : "";
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

/// A module lowered for a device that reports `info`: its launch plans and
/// each kernel module in the form the device takes (SPIR-V IL where
/// CL_DEVICE_IL_VERSION names it, else SPIR 1.2 bitcode), in the order of
/// plans.binaries.
struct LoweredProgram {
  LaunchPlans plans;
  std::vector<std::vector<uint8_t>> programs;
  bool il = false;
};

llvm::Expected<LoweredProgram>
lowerForDevice(ModuleOp module, const OpenCLPipelineOptions &options,
               const ::haqa::ocl::DeviceInfo &info, llvm::StringRef where) {
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
  LoweredProgram out;
  out.il = info.ilVersion.find("SPIR-V") != std::string::npos;
  std::string tool;
  if (!out.il) {
    if (!info.hasSPIR)
      return error(where + " " + info.name +
                   " takes neither SPIR-V IL (CL_DEVICE_IL_VERSION) nor SPIR "
                   "(cl_khr_spir)");
    auto found = findLLVMSPIRV();
    if (!found)
      return found.takeError();
    tool = *found;
  }
  for (const ::haqa::plan::Binary &b : plans->binaries) {
    if (out.il) {
      out.programs.push_back(b.spirv);
      continue;
    }
    auto spir = translateToSPIR(tool, b.spirv, b.name);
    if (!spir)
      return spir.takeError();
    out.programs.push_back(std::move(*spir));
  }
  out.plans = std::move(*plans);
  return std::move(out);
}

class OpenCLExecutable : public Executable {
public:
  OpenCLExecutable(std::unique_ptr<::haqa::ocl::Runtime> runtime,
                   LaunchPlans plans)
      : runtime(std::move(runtime)), plans(std::move(plans)) {}

  llvm::Error run(llvm::StringRef function,
                  llvm::ArrayRef<BufferRef> args) override {
    return runPlan(function, args, nullptr);
  }

  /// Timed with the driver's profiling events: from the first launch's
  /// start to the last one's end (the host's writes and reads of Copy
  /// buffers are not in it).
  llvm::Expected<double> timedRun(llvm::StringRef function,
                                  llvm::ArrayRef<BufferRef> args) override {
    double ms = 0;
    if (llvm::Error e = runPlan(function, args, &ms))
      return std::move(e);
    return ms;
  }

  llvm::Error runPlan(llvm::StringRef function, llvm::ArrayRef<BufferRef> args,
                      double *deviceMs) {
    auto p = plans.lookup(function);
    if (!p)
      return p.takeError();
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
    if (!runtime->run(**p, host, why, deviceMs))
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

static llvm::Expected<std::unique_ptr<Executable>>
compileForRunner(ModuleOp module, const OpenCLPipelineOptions &options,
                 llvm::StringRef endpoint);
static llvm::Expected<std::string> probeRunner(llvm::StringRef endpoint);

/// The device's name, or why it cannot be opened, asked in a forked child:
/// a driver's threads (PoCL's) do not survive the fork of the tools'
/// measuring children, so the parent never opens one.
static llvm::Expected<std::string> probeInChild(int index) {
  if (std::string endpoint = remoteEndpoint(); !endpoint.empty())
    return probeRunner(endpoint);
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
  if (std::string endpoint = remoteEndpoint(); !endpoint.empty())
    return compileForRunner(module, options, endpoint);
  std::string why;
  auto runtime = ::haqa::ocl::Runtime::open(index, why);
  if (!runtime)
    return error(why);
  const ::haqa::ocl::DeviceInfo &info = runtime->info();
  auto lowered = lowerForDevice(module, options, info, "OpenCL device");
  if (!lowered)
    return lowered.takeError();
  for (auto [b, bytes] : llvm::zip(lowered->plans.binaries, lowered->programs))
    if (!runtime->addProgram(b.name, bytes, lowered->il, why))
      return error("OpenCL device " + info.name + ": " + why);
  return std::make_unique<OpenCLExecutable>(std::move(runtime),
                                            std::move(lowered->plans));
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

//===----------------------------------------------------------------------===//
// A device behind haqa-device-runner (HAQA_OPENCL_REMOTE=HOST:PORT)
//===----------------------------------------------------------------------===//

namespace {

namespace remote = ::haqa::remote;

/// Seconds to wait for a runner's answer (HAQA_RUNNER_TIMEOUT).
double runnerTimeout() {
  const char *s = std::getenv("HAQA_RUNNER_TIMEOUT");
  double t = s && *s ? std::atof(s) : 0;
  return t > 0 ? t : 300;
}

/// A connection to a runner, said Hello to.
class RunnerConnection {
public:
  ~RunnerConnection() {
    if (fd >= 0)
      ::close(fd);
  }

  static llvm::Expected<std::unique_ptr<RunnerConnection>>
  open(llvm::StringRef endpoint) {
    auto [host, portText] = endpoint.rsplit(':');
    int port = 0;
    if (host.empty() || portText.getAsInteger(10, port) || port <= 0 ||
        port > 65535)
      return error("HAQA_OPENCL_REMOTE must be HOST:PORT, not '" + endpoint +
                   "'");
    const char *token = std::getenv("HAQA_RUNNER_TOKEN");
    if (!token || !*token)
      return error("HAQA_RUNNER_TOKEN is not set (the runner's --token)");
    addrinfo hints{}, *found = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    std::string hostStr = host.str(), portStr = portText.str();
    if (int rc = getaddrinfo(hostStr.c_str(), portStr.c_str(), &hints, &found))
      return error("runner " + endpoint + ": " + gai_strerror(rc));
    std::unique_ptr<RunnerConnection> c(new RunnerConnection());
    c->endpoint = endpoint.str();
    std::string why = "no address";
    for (addrinfo *a = found; a && c->fd < 0; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd < 0)
        continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        c->fd = fd;
        int yes = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      } else {
        why = std::strerror(errno);
        ::close(fd);
      }
    }
    freeaddrinfo(found);
    if (c->fd < 0)
      return error("cannot connect to the runner at " + endpoint + ": " + why);
    remote::Writer hello;
    hello.str(token);
    auto reply =
        c->call(remote::Type::Hello, hello.out, remote::Type::HelloReply);
    if (!reply)
      return reply.takeError();
    remote::Reader r(*reply);
    c->info.name = r.str();
    c->info.version = r.str();
    c->info.ilVersion = r.str();
    c->info.hasSPIR = r.u8();
    c->info.hasFP16 = r.u8();
    if (!r.ok())
      return error("runner " + endpoint +
                   ": a malformed Hello reply: " + r.error);
    return std::move(c);
  }

  /// Sends a message and returns the payload of the expected reply.
  llvm::Expected<std::vector<uint8_t>> call(remote::Type type,
                                            const std::vector<uint8_t> &payload,
                                            remote::Type expected) {
    // After a transport failure a late reply could pass for the next one's.
    if (broken)
      return error("runner " + endpoint + ": the connection failed earlier");
    std::string why;
    remote::Message m;
    if (!remote::send(fd, type, payload, why) ||
        !remote::receive(fd, m, remote::kDefaultMaxMessageBytes, why,
                         runnerTimeout())) {
      broken = true;
      return error("runner " + endpoint + ": " + why);
    }
    if (m.type == remote::Type::Error) {
      remote::Reader r(m.payload);
      return error("runner " + endpoint + ": " + r.str());
    }
    if (m.type != expected)
      return error("runner " + endpoint + ": unexpected reply type " +
                   llvm::Twine(static_cast<uint32_t>(m.type)));
    return std::move(m.payload);
  }

  ::haqa::ocl::DeviceInfo info;
  std::string endpoint;

private:
  RunnerConnection() = default;
  int fd = -1;
  bool broken = false;
};

class RemoteExecutable : public Executable {
public:
  RemoteExecutable(std::unique_ptr<RunnerConnection> c, LaunchPlans plans)
      : c(std::move(c)), plans(std::move(plans)) {}

  llvm::Error run(llvm::StringRef function,
                  llvm::ArrayRef<BufferRef> args) override {
    return call(function, args, 1).takeError();
  }

  llvm::Expected<TimingStats> time(llvm::StringRef function,
                                   llvm::ArrayRef<BufferRef> args,
                                   const TimingOptions &options) override {
    if (options.beforeRun)
      return Executable::time(function, args, options);
    for (int i = 0; i < options.warmup; ++i)
      if (llvm::Error e = run(function, args))
        return std::move(e);
    // Timed on the device, between launches: the network is not in them.
    auto samples = call(function, args, std::max(1, options.repeats));
    if (!samples)
      return samples.takeError();
    return TimingStats::of(std::move(*samples));
  }

  void releaseResident() override {
    sent.clear();
    if (auto ok = c->call(remote::Type::Release, {}, remote::Type::Ok); !ok)
      llvm::consumeError(ok.takeError());
  }

private:
  std::unique_ptr<RunnerConnection> c;
  LaunchPlans plans;
  /// Constant / Resident buffers the runner has, by host address.
  llvm::DenseSet<uint64_t> sent;

  llvm::Expected<std::vector<double>> call(llvm::StringRef function,
                                           llvm::ArrayRef<BufferRef> args,
                                           uint32_t repeats) {
    auto p = plans.lookup(function);
    if (!p)
      return p.takeError();
    remote::Writer w;
    remote::writePlan(w, **p);
    w.u64(args.size());
    for (const BufferRef &b : args) {
      uint64_t key = reinterpret_cast<uintptr_t>(b.data);
      uint64_t bytes = static_cast<uint64_t>(b.getNumBytes());
      bool copy = b.residency == BufferRef::Copy;
      w.u8(copy ? 0 : b.residency == BufferRef::Constant ? 1 : 2);
      w.u64(key);
      w.u64(bytes);
      bool send = copy || sent.insert(key).second;
      w.bytes(b.data, send ? bytes : 0);
    }
    w.u32(repeats);
    auto reply = c->call(remote::Type::Run, w.out, remote::Type::RunReply);
    if (!reply) {
      sent.clear();
      return reply.takeError();
    }
    remote::Reader r(*reply);
    uint64_t n = r.count(8);
    std::vector<double> ms;
    for (uint64_t i = 0; i < n; ++i)
      ms.push_back(r.f64());
    for (const BufferRef &b : args) {
      if (b.residency != BufferRef::Copy)
        continue;
      uint64_t size;
      const uint8_t *data = r.bytes(size);
      if (!r.ok() || size != static_cast<uint64_t>(b.getNumBytes()))
        return error("runner " + c->endpoint + ": a malformed Run reply" +
                     (r.ok() ? "" : ": " + r.error));
      std::memcpy(b.data, data, size);
    }
    return ms;
  }
};

} // namespace

static llvm::Expected<std::unique_ptr<Executable>>
compileForRunner(ModuleOp module, const OpenCLPipelineOptions &options,
                 llvm::StringRef endpoint) {
  auto c = RunnerConnection::open(endpoint);
  if (!c)
    return c.takeError();
  const ::haqa::ocl::DeviceInfo &info = (*c)->info;
  auto lowered = lowerForDevice(module, options, info, "the runner's device");
  if (!lowered)
    return lowered.takeError();
  for (auto [b, bytes] :
       llvm::zip(lowered->plans.binaries, lowered->programs)) {
    remote::Writer w;
    w.str(b.name);
    w.u8(lowered->il);
    w.bytes(bytes.data(), bytes.size());
    if (auto ok = (*c)->call(remote::Type::Program, w.out, remote::Type::Ok);
        !ok)
      return ok.takeError();
  }
  return std::make_unique<RemoteExecutable>(std::move(*c),
                                            std::move(lowered->plans));
}

static llvm::Expected<std::string> probeRunner(llvm::StringRef endpoint) {
  auto c = RunnerConnection::open(endpoint);
  if (!c)
    return c.takeError();
  return (*c)->info.name + " (" + (*c)->info.version +
         ") behind the runner at " + endpoint.str();
}
