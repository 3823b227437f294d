//===- RemoteProtocol.h - the remote runner's wire format -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Messages between the host (haqa-compile --remote, any tool with
// HAQA_OPENCL_REMOTE) and haqa-device-runner on a phone or board: a 20-byte
// header (magic "HAQR", version, type, payload length, all little-endian)
// and a payload of length-prefixed fields. Every count and length is
// checked against what is left of the payload and against the limits
// below, so a malformed or oversized message is an error reply, never a
// crash. Standard C++ and POSIX only (the runner builds with the NDK).
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_LIB_RUNTIME_REMOTEPROTOCOL_H
#define HAQA_LIB_RUNTIME_REMOTEPROTOCOL_H

#include "haqa/Runtime/LaunchPlan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace haqa::remote {

constexpr uint32_t kVersion = 1;
constexpr uint64_t kDefaultMaxMessageBytes = uint64_t(2) << 30; // 2 GiB
/// Bounds on what one message may describe.
constexpr uint64_t kMaxCount = 1 << 20;

enum class Type : uint32_t {
  Hello = 1,      ///< token -> HelloReply
  HelloReply = 2, ///< device name, version, IL version, SPIR, FP16
  Program = 3,    ///< name, il flag, bytes -> Ok
  Ok = 4,
  Run = 5,      ///< plan, arguments, repeats -> RunReply
  RunReply = 6, ///< per-repeat milliseconds, the Copy arguments' bytes
  Release = 7,  ///< forget resident buffers -> Ok
  Error = 8,    ///< message
};

struct Message {
  Type type = Type::Error;
  std::vector<uint8_t> payload;
};

/// Appends fields to a payload.
class Writer {
public:
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void f64(double v);
  void bytes(const void *data, uint64_t n);
  void str(const std::string &s) { bytes(s.data(), s.size()); }
  std::vector<uint8_t> out;
};

/// Reads fields of a payload; every read checks the bounds and sets
/// `error` (the first failure) instead of reading past the end.
class Reader {
public:
  Reader(const std::vector<uint8_t> &in) : in(in) {}
  uint8_t u8();
  uint32_t u32();
  uint64_t u64();
  double f64();
  /// A length-prefixed field: a view into the payload.
  const uint8_t *bytes(uint64_t &n);
  std::string str();
  /// A count, refused beyond kMaxCount or beyond what the payload could
  /// hold at `minBytesEach` bytes per element.
  uint64_t count(uint64_t minBytesEach);
  bool ok() const { return error.empty(); }
  bool atEnd() const { return pos == in.size(); }
  std::string error;

private:
  bool need(uint64_t n);
  const std::vector<uint8_t> &in;
  uint64_t pos = 0;
};

void writePlan(Writer &w, const plan::Plan &p);
/// False (with r.error set) on a malformed plan: out-of-range buffer or
/// kernel indices included.
bool readPlan(Reader &r, plan::Plan &p);

/// Writes one message to `fd`; false with `error` on failure.
bool send(int fd, Type type, const std::vector<uint8_t> &payload,
          std::string &error);
/// Reads one message; false with `error` on a closed connection, a bad
/// magic or version, or a payload beyond `maxBytes` (the payload is not
/// read: the connection cannot be resynchronized). `timeoutSeconds` <= 0
/// waits forever.
bool receive(int fd, Message &m, uint64_t maxBytes, std::string &error,
             double timeoutSeconds = 0);

} // namespace haqa::remote

#endif // HAQA_LIB_RUNTIME_REMOTEPROTOCOL_H
