//===- Parsing.cpp - values users type: sizes, integer lists -------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Parsing.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::haqa;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<uint64_t> mlir::haqa::parseByteSize(llvm::StringRef text) {
  llvm::StringRef rest = text.trim();
  static const std::pair<const char *, uint64_t> units[] = {
      {"KiB", 1ull << 10},   {"MiB", 1ull << 20},      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},   {"KB", 1000ull},          {"MB", 1000000ull},
      {"GB", 1000000000ull}, {"TB", 1000000000000ull}, {"B", 1}};
  uint64_t scale = 1;
  bool unit = false;
  for (auto [suffix, mult] : units)
    if (rest.consume_back(suffix)) {
      scale = mult;
      unit = true;
      break;
    }
  if (!unit && !rest.empty() &&
      llvm::StringRef("KMGTkmgt").contains(rest.back()))
    return error("'" + text + "': ambiguous unit '" +
                 rest.substr(rest.size() - 1) +
                 "' (say KB / MB / GB for powers of 1000 or KiB / MiB / GiB "
                 "for powers of 1024)");
  double value;
  if (rest.trim().getAsDouble(value) || !std::isfinite(value) || value < 0 ||
      value * scale >= 18446744073709551615.0)
    return error("'" + text +
                 "' is not a size (expected a number with B, KB, MB, GB, TB, "
                 "KiB, MiB, GiB or TiB, e.g. 10GiB)");
  return static_cast<uint64_t>(value * scale);
}

llvm::Expected<std::optional<uint64_t>>
mlir::haqa::parseMemoryLimit(llvm::StringRef text) {
  if (text.trim().empty() || text.trim() == "none")
    return std::optional<uint64_t>();
  auto bytes = parseByteSize(text);
  if (!bytes)
    return bytes.takeError();
  return std::optional<uint64_t>(*bytes);
}

llvm::Expected<std::vector<int64_t>>
mlir::haqa::parseIntList(llvm::StringRef text) {
  std::vector<int64_t> out;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef p : parts) {
    if (p.trim().empty())
      continue;
    int64_t v;
    if (p.trim().getAsInteger(10, v))
      return error("'" + p.trim() + "' is not an integer");
    out.push_back(v);
  }
  return out;
}

llvm::Error mlir::haqa::checkCount(llvm::StringRef option, int64_t value,
                                   int64_t lo, int64_t hi) {
  if (value < lo || value > hi)
    return error(option + " must be in [" + llvm::Twine(lo) + ", " +
                 llvm::Twine(hi) + "], not " + llvm::Twine(value));
  return llvm::Error::success();
}

llvm::Error mlir::haqa::checkSeconds(llvm::StringRef option, double seconds,
                                     double maxSeconds) {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > maxSeconds)
    return error(option + " must be a number of seconds in (0, " +
                 llvm::Twine(static_cast<int64_t>(maxSeconds)) + "], not " +
                 llvm::Twine(std::isnan(seconds) ? std::string("nan")
                                                 : std::to_string(seconds)));
  return llvm::Error::success();
}

std::string mlir::haqa::formatBytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024)
    std::snprintf(buf, sizeof(buf), "%llu B",
                  static_cast<unsigned long long>(bytes));
  else if (bytes < (1ull << 20))
    std::snprintf(buf, sizeof(buf), "%.1f KiB", bytes / 1024.0);
  else if (bytes < (1ull << 30))
    std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / 1048576.0);
  else
    std::snprintf(buf, sizeof(buf), "%.2f GiB", bytes / 1073741824.0);
  return buf;
}

std::string mlir::haqa::formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}
