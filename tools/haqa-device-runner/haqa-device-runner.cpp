//===- haqa-device-runner.cpp - run HAQA kernels for a remote host --------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Runs on the device (a phone, a board): receives SPIR-V (or SPIR) kernel
// modules and launch plans from a host over TCP, runs them on the local
// OpenCL device and sends back the times and outputs. Standard C++, POSIX
// sockets and OpenCL only (dlopen'ed), so it cross-compiles with the Android
// NDK (docs/opencl.md has the command). Each connection is served by a
// process of its own; a malformed, oversized or unauthenticated message
// gets an error reply, and the runner goes on serving.
//
//   haqa-device-runner --port 7070 --token SECRET [--listen 0.0.0.0]
//
//===----------------------------------------------------------------------===//

#include "OpenCLRuntime.h"
#include "RemoteProtocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

using namespace haqa;
using namespace haqa::remote;

namespace {

struct Options {
  std::string listen = "127.0.0.1";
  int port = 7070;
  std::string token;
  uint64_t maxMessageBytes = kDefaultMaxMessageBytes;
  int device = 0;
  int maxRepeats = 10000;
  /// Connections served at once (a process each).
  int maxConnections = 8;
};

void usage() {
  std::fprintf(stderr,
               "usage: haqa-device-runner --port N --token T [--listen ADDR] "
               "[--device I] [--max-message-bytes N] [--max-connections N]\n"
               "  (the token may also come from HAQA_RUNNER_TOKEN)\n");
}

bool reply(int fd, Type type, const Writer &w) {
  std::string error;
  return send(fd, type, w.out, error);
}

bool replyError(int fd, const std::string &message) {
  std::fprintf(stderr, "haqa-device-runner: %s\n", message.c_str());
  Writer w;
  w.str(message);
  return reply(fd, Type::Error, w);
}

/// One host connection: its runtime, programs and resident buffers.
class Session {
public:
  Session(int fd, const Options &options) : fd(fd), options(options) {}

  void serve() {
    bool authenticated = false;
    while (true) {
      Message m;
      std::string error;
      // Until the token is checked: a small message, soon.
      bool received = authenticated
                          ? receive(fd, m, options.maxMessageBytes, error)
                          : receive(fd, m, 4096, error, /*timeoutSeconds=*/30);
      if (!received) {
        if (error != "the connection closed")
          replyError(fd, error + "; closing the connection");
        return;
      }
      if (!authenticated) {
        if (m.type != Type::Hello) {
          replyError(fd, "the first message must be Hello; closing");
          return;
        }
        Reader r(m.payload);
        std::string token = r.str();
        if (!r.ok() || token != options.token) {
          replyError(fd, "wrong token; closing the connection");
          return;
        }
        if (!hello())
          return;
        authenticated = true;
        continue;
      }
      bool ok = true;
      switch (m.type) {
      case Type::Program:
        ok = program(m);
        break;
      case Type::Run:
        ok = run(m);
        break;
      case Type::Release:
        runtime->releaseResident();
        resident.clear();
        ok = reply(fd, Type::Ok, Writer());
        break;
      default:
        ok = replyError(fd, "unexpected message type " +
                                std::to_string(static_cast<uint32_t>(m.type)));
      }
      if (!ok)
        return;
    }
  }

private:
  int fd;
  const Options &options;
  std::unique_ptr<ocl::Runtime> runtime;
  /// Constant and Resident arguments by the host's key (each its own
  /// allocation: the runtime keeps device copies by host address).
  std::map<uint64_t, std::unique_ptr<std::vector<uint8_t>>> resident;
  /// The plans received, by their bytes: the runtime keeps each plan's
  /// temporaries and constant tables by the plan's address, which must be
  /// one plan's for the whole connection.
  std::map<std::vector<uint8_t>, std::unique_ptr<plan::Plan>> plans;

  bool hello() {
    std::string why;
    runtime = ocl::Runtime::open(options.device, why);
    if (!runtime) {
      replyError(fd, "no OpenCL device on the runner: " + why);
      return false;
    }
    const ocl::DeviceInfo &info = runtime->info();
    Writer w;
    w.str(info.name);
    w.str(info.version);
    w.str(info.ilVersion);
    w.u8(info.hasSPIR);
    w.u8(info.hasFP16);
    return reply(fd, Type::HelloReply, w);
  }

  bool program(const Message &m) {
    Reader r(m.payload);
    std::string name = r.str();
    bool il = r.u8() != 0;
    uint64_t n;
    const uint8_t *data = r.bytes(n);
    if (!r.ok() || !r.atEnd())
      return replyError(fd,
                        "malformed Program message: " +
                            (r.ok() ? std::string("trailing bytes") : r.error));
    std::string why;
    if (!runtime->addProgram(name, std::vector<uint8_t>(data, data + n), il,
                             why))
      return replyError(fd, why);
    return reply(fd, Type::Ok, Writer());
  }

  bool run(const Message &m) {
    Reader r(m.payload);
    auto parsed = std::make_unique<plan::Plan>();
    if (!readPlan(r, *parsed))
      return replyError(fd, "malformed Run message: " + r.error);
    Writer planKey;
    writePlan(planKey, *parsed);
    std::unique_ptr<plan::Plan> &keptPlan = plans[planKey.out];
    if (!keptPlan)
      keptPlan = std::move(parsed);
    const plan::Plan &p = *keptPlan;
    uint64_t nargs = r.count(1 + 8 + 8 + 8);
    if (r.ok() && nargs != static_cast<uint64_t>(p.numArguments))
      return replyError(fd, "the Run message has " + std::to_string(nargs) +
                                " arguments; the plan takes " +
                                std::to_string(p.numArguments));
    std::vector<ocl::HostArg> args(nargs);
    std::vector<std::vector<uint8_t>> copies(nargs);
    for (uint64_t i = 0; i < nargs && r.ok(); ++i) {
      uint8_t residency = r.u8();
      uint64_t key = r.u64();
      uint64_t bytes = r.u64();
      uint64_t n;
      const uint8_t *data = r.bytes(n);
      if (!r.ok())
        break;
      if (residency > ocl::HostArg::Resident || (n != 0 && n != bytes) ||
          (residency == ocl::HostArg::Copy && n != bytes))
        return replyError(fd, "malformed Run message: argument " +
                                  std::to_string(i));
      args[i].residency = static_cast<ocl::HostArg::Residency>(residency);
      args[i].bytes = static_cast<int64_t>(bytes);
      if (residency == ocl::HostArg::Copy) {
        copies[i].assign(data, data + n);
        args[i].data = copies[i].data();
        continue;
      }
      std::unique_ptr<std::vector<uint8_t>> &kept = resident[key];
      if (n) {
        // New bytes for the key: a new allocation, and the device copy of
        // the old one forgotten before its address can be reused.
        if (kept)
          runtime->forgetArgument(kept->data());
        kept = std::make_unique<std::vector<uint8_t>>(data, data + n);
      }
      if (!kept || kept->size() != bytes)
        return replyError(fd, "argument " + std::to_string(i) +
                                  ": a resident buffer the runner does not "
                                  "have (send its bytes first)");
      args[i].data = kept->data();
    }
    uint32_t repeats = r.u32();
    if (!r.ok() || !r.atEnd())
      return replyError(fd,
                        "malformed Run message: " +
                            (r.ok() ? std::string("trailing bytes") : r.error));
    if (repeats < 1 || repeats > static_cast<uint32_t>(options.maxRepeats))
      return replyError(fd, "repeats must be in [1, " +
                                std::to_string(options.maxRepeats) + "]");
    Writer w;
    w.u64(repeats);
    // Each repeat's time from the driver's profiling events, as local runs.
    for (uint32_t i = 0; i < repeats; ++i) {
      std::string why;
      double ms = 0;
      if (!runtime->run(p, args, why, &ms))
        return replyError(fd, why);
      w.f64(ms);
    }
    for (uint64_t i = 0; i < nargs; ++i)
      if (args[i].residency == ocl::HostArg::Copy)
        w.bytes(copies[i].data(), copies[i].size());
    return reply(fd, Type::RunReply, w);
  }
};

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (const char *t = std::getenv("HAQA_RUNNER_TOKEN"))
    o.token = t;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port")
      o.port = std::atoi(value().c_str());
    else if (a == "--token")
      o.token = value();
    else if (a == "--listen")
      o.listen = value();
    else if (a == "--device")
      o.device = std::atoi(value().c_str());
    else if (a == "--max-message-bytes")
      o.maxMessageBytes = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--max-connections")
      o.maxConnections = std::atoi(value().c_str());
    else {
      usage();
      return 2;
    }
  }
  if (o.token.empty() || o.port <= 0 || o.port > 65535 ||
      o.maxMessageBytes < 1024 || o.maxConnections < 1) {
    usage();
    return 2;
  }
  int server = socket(AF_INET, SOCK_STREAM, 0);
  int yes = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (inet_pton(AF_INET, o.listen.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "haqa-device-runner: bad --listen address '%s'\n",
                 o.listen.c_str());
    return 2;
  }
  if (bind(server, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      listen(server, 4) != 0) {
    std::fprintf(stderr, "haqa-device-runner: cannot listen on %s:%d: %s\n",
                 o.listen.c_str(), o.port, std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "haqa-device-runner: listening on %s:%d\n",
               o.listen.c_str(), o.port);
  int active = 0;
  while (true) {
    int fd = accept(server, nullptr, nullptr);
    // Served connections' processes, reaped here (SIGCHLD stays as it is:
    // a driver may wait for children of its own, as PoCL's linker).
    while (active > 0 && waitpid(-1, nullptr, WNOHANG) > 0)
      --active;
    if (fd < 0)
      continue;
    if (active >= o.maxConnections) {
      replyError(fd, "too many connections (" +
                         std::to_string(o.maxConnections) +
                         " served at once); try again later");
      close(fd);
      continue;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    // One process per connection, each opening the device for itself: the
    // host times two executables against each other, each on its own
    // connection, and a driver's threads do not survive a fork, so this
    // process never opens the device.
    pid_t child = fork();
    if (child == 0) {
      close(server);
      Session(fd, o).serve();
      close(fd);
      _exit(0);
    }
    if (child < 0)
      replyError(fd, std::string("cannot serve the connection: ") +
                         std::strerror(errno));
    else
      ++active;
    close(fd);
  }
}
