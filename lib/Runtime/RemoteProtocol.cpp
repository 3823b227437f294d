//===- RemoteProtocol.cpp - the remote runner's wire format --------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "RemoteProtocol.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace haqa;
using namespace haqa::remote;

void Writer::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Writer::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Writer::f64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  u64(bits);
}
void Writer::bytes(const void *data, uint64_t n) {
  u64(n);
  const uint8_t *p = static_cast<const uint8_t *>(data);
  out.insert(out.end(), p, p + n);
}

bool Reader::need(uint64_t n) {
  if (!error.empty())
    return false;
  if (n > in.size() - pos) {
    error = "the message ends early (needs " + std::to_string(n) +
            " more bytes at byte " + std::to_string(pos) + " of " +
            std::to_string(in.size()) + ")";
    return false;
  }
  return true;
}
uint8_t Reader::u8() { return need(1) ? in[pos++] : 0; }
uint32_t Reader::u32() {
  if (!need(4))
    return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t(in[pos++]) << (8 * i);
  return v;
}
uint64_t Reader::u64() {
  if (!need(8))
    return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t(in[pos++]) << (8 * i);
  return v;
}
double Reader::f64() {
  uint64_t bits = u64();
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
const uint8_t *Reader::bytes(uint64_t &n) {
  n = u64();
  if (!need(n)) {
    n = 0;
    return nullptr;
  }
  const uint8_t *p = in.data() + pos;
  pos += n;
  return p;
}
std::string Reader::str() {
  uint64_t n;
  const uint8_t *p = bytes(n);
  return p ? std::string(reinterpret_cast<const char *>(p), n) : "";
}
uint64_t Reader::count(uint64_t minBytesEach) {
  uint64_t n = u64();
  if (!error.empty())
    return 0;
  if (n > kMaxCount || (minBytesEach && n > (in.size() - pos) / minBytesEach)) {
    error = "a count of " + std::to_string(n) + " is beyond the message";
    return 0;
  }
  return n;
}

static void writeRef(Writer &w, const plan::Ref &r) {
  w.u64(static_cast<uint64_t>(r.buffer));
  w.u64(static_cast<uint64_t>(r.byteOffset));
}

void haqa::remote::writePlan(Writer &w, const plan::Plan &p) {
  w.str(p.function);
  w.u64(static_cast<uint64_t>(p.numArguments));
  w.u64(p.buffers.size());
  for (const plan::Buffer &b : p.buffers) {
    w.u8(b.kind);
    w.u64(static_cast<uint64_t>(b.argument));
    w.u64(static_cast<uint64_t>(b.bytes));
    w.bytes(b.data.data(), b.data.size());
  }
  w.u64(p.kernels.size());
  for (const plan::Kernel &k : p.kernels) {
    w.str(k.binary);
    w.str(k.name);
  }
  w.u64(p.steps.size());
  for (const plan::Step &s : p.steps) {
    w.u8(s.kind);
    w.u64(static_cast<uint64_t>(s.kernel));
    for (int d = 0; d < 3; ++d) {
      w.u64(static_cast<uint64_t>(s.grid[d]));
      w.u64(static_cast<uint64_t>(s.block[d]));
    }
    w.u64(s.args.size());
    for (const plan::KernelArg &a : s.args) {
      w.u8(a.isBuffer);
      writeRef(w, a.ref);
      w.bytes(a.scalar.data(), a.scalar.size());
    }
    writeRef(w, s.dst);
    writeRef(w, s.src);
    w.u64(static_cast<uint64_t>(s.bytes));
  }
}

bool haqa::remote::readPlan(Reader &r, plan::Plan &p) {
  auto fail = [&](const std::string &why) {
    if (r.error.empty())
      r.error = "malformed plan: " + why;
    return false;
  };
  p.function = r.str();
  p.numArguments = static_cast<int64_t>(r.u64());
  if (p.numArguments < 0 || static_cast<uint64_t>(p.numArguments) > kMaxCount)
    return fail("argument count");
  uint64_t nb = r.count(25);
  p.buffers.resize(nb);
  for (plan::Buffer &b : p.buffers) {
    uint8_t kind = r.u8();
    if (kind > plan::Buffer::Constant)
      return fail("buffer kind");
    b.kind = static_cast<plan::Buffer::Kind>(kind);
    b.argument = static_cast<int64_t>(r.u64());
    b.bytes = static_cast<int64_t>(r.u64());
    uint64_t n;
    const uint8_t *d = r.bytes(n);
    if (d)
      b.data.assign(d, d + n);
    if (!r.ok())
      return false;
    if (b.bytes < 0 ||
        (b.kind == plan::Buffer::Argument &&
         (b.argument < 0 || b.argument >= p.numArguments)) ||
        (b.kind == plan::Buffer::Constant &&
         static_cast<uint64_t>(b.bytes) != b.data.size()))
      return fail("buffer " + std::to_string(&b - p.buffers.data()));
  }
  uint64_t nk = r.count(16);
  p.kernels.resize(nk);
  for (plan::Kernel &k : p.kernels) {
    k.binary = r.str();
    k.name = r.str();
  }
  uint64_t ns = r.count(1 + 8 * 7);
  p.steps.resize(ns);
  auto refOk = [&](const plan::Ref &ref) {
    return ref.buffer >= 0 &&
           static_cast<uint64_t>(ref.buffer) < p.buffers.size() &&
           ref.byteOffset >= 0;
  };
  for (plan::Step &s : p.steps) {
    uint8_t kind = r.u8();
    if (kind > plan::Step::Copy)
      return fail("step kind");
    s.kind = static_cast<plan::Step::Kind>(kind);
    s.kernel = static_cast<int64_t>(r.u64());
    for (int d = 0; d < 3; ++d) {
      s.grid[d] = static_cast<int64_t>(r.u64());
      s.block[d] = static_cast<int64_t>(r.u64());
    }
    uint64_t na = r.count(1 + 16 + 8);
    s.args.resize(na);
    for (plan::KernelArg &a : s.args) {
      a.isBuffer = r.u8() != 0;
      a.ref.buffer = static_cast<int64_t>(r.u64());
      a.ref.byteOffset = static_cast<int64_t>(r.u64());
      uint64_t n;
      const uint8_t *d = r.bytes(n);
      if (d)
        a.scalar.assign(d, d + n);
      if (!r.ok())
        return false;
      if (a.isBuffer ? !refOk(a.ref) : a.scalar.empty() || a.scalar.size() > 8)
        return fail("kernel argument");
    }
    s.dst.buffer = static_cast<int64_t>(r.u64());
    s.dst.byteOffset = static_cast<int64_t>(r.u64());
    s.src.buffer = static_cast<int64_t>(r.u64());
    s.src.byteOffset = static_cast<int64_t>(r.u64());
    s.bytes = static_cast<int64_t>(r.u64());
    if (!r.ok())
      return false;
    if (s.kind == plan::Step::Launch) {
      if (s.kernel < 0 || static_cast<uint64_t>(s.kernel) >= p.kernels.size())
        return fail("kernel index");
      for (int d = 0; d < 3; ++d)
        if (s.grid[d] < 1 || s.block[d] < 1 || s.grid[d] > (int64_t(1) << 31) ||
            s.block[d] > 4096)
          return fail("launch size");
    } else if (!refOk(s.dst) || !refOk(s.src) || s.bytes < 0) {
      return fail("copy");
    }
  }
  return r.ok();
}

static bool writeAll(int fd, const uint8_t *p, size_t n, std::string &error) {
  while (n) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      error = std::string("send failed: ") + std::strerror(errno);
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

static bool readAll(int fd, uint8_t *p, size_t n, std::string &error,
                    double timeoutSeconds) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::duration<double>(timeoutSeconds);
  while (n) {
    if (timeoutSeconds > 0) {
      double left =
          std::chrono::duration<double>(deadline - Clock::now()).count();
      pollfd pfd{fd, POLLIN, 0};
      int r = left > 0 ? ::poll(&pfd, 1, static_cast<int>(left * 1000) + 1) : 0;
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0) {
        error = "no answer within " + std::to_string(timeoutSeconds) + " s";
        return false;
      }
    }
    ssize_t k = ::recv(fd, p, n, 0);
    if (k < 0 && errno == EINTR)
      continue;
    if (k == 0) {
      error = "the connection closed";
      return false;
    }
    if (k < 0) {
      error = std::string("receive failed: ") + std::strerror(errno);
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool haqa::remote::send(int fd, Type type, const std::vector<uint8_t> &payload,
                        std::string &error) {
  Writer h;
  h.out = {'H', 'A', 'Q', 'R'};
  h.u32(kVersion);
  h.u32(static_cast<uint32_t>(type));
  h.u64(payload.size());
  return writeAll(fd, h.out.data(), h.out.size(), error) &&
         writeAll(fd, payload.data(), payload.size(), error);
}

bool haqa::remote::receive(int fd, Message &m, uint64_t maxBytes,
                           std::string &error, double timeoutSeconds) {
  std::vector<uint8_t> header(20);
  if (!readAll(fd, header.data(), header.size(), error, timeoutSeconds))
    return false;
  if (std::memcmp(header.data(), "HAQR", 4) != 0) {
    error = "not a HAQA runner message (bad magic)";
    return false;
  }
  Reader r(header);
  r.u32(); // magic, checked above
  uint32_t version = r.u32();
  uint32_t type = r.u32();
  uint64_t length = r.u64();
  if (version != kVersion) {
    error = "protocol version " + std::to_string(version) + ", expected " +
            std::to_string(kVersion);
    return false;
  }
  if (type < 1 || type > 8) {
    error = "unknown message type " + std::to_string(type);
    return false;
  }
  if (length > maxBytes) {
    error = "a message of " + std::to_string(length) +
            " bytes is over the limit of " + std::to_string(maxBytes);
    return false;
  }
  m.type = static_cast<Type>(type);
  m.payload.resize(length);
  return readAll(fd, m.payload.data(), length, error, timeoutSeconds);
}
