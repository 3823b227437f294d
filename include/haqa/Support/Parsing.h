//===- Parsing.h - values users type: sizes, integer lists ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The one reader of each kind of value a user writes on a command line or in
// a pass option: byte sizes ("10GiB", "512MB"), comma lists of integers
// (token ids, shapes). Every tool and pass parses them here, so a unit means
// the same everywhere and a malformed value is an error, never skipped.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_SUPPORT_PARSING_H
#define HAQA_SUPPORT_PARSING_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::haqa {

/// Bytes of `text`: a non-negative number with an optional unit, B, KB / MB
/// / GB / TB (powers of 1000) or KiB / MiB / GiB / TiB (powers of 1024); no
/// unit means bytes. A bare K / M / G / T is rejected as ambiguous. The
/// error quotes the text and says what is expected.
llvm::Expected<uint64_t> parseByteSize(llvm::StringRef text);

/// A memory limit: "none" or empty is no limit (nullopt), anything else as
/// parseByteSize.
llvm::Expected<std::optional<uint64_t>> parseMemoryLimit(llvm::StringRef text);

/// The integers of a comma-separated list ("1, 2,3"); empty entries are
/// skipped, anything that is not an integer is an error naming it.
llvm::Expected<std::vector<int64_t>> parseIntList(llvm::StringRef text);

/// `bytes` for people: "512 B", "1.0 KiB", "256.8 MiB", "3.20 GiB".
std::string formatBytes(uint64_t bytes);

/// A tensor shape for messages: "[4096, 576]".
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// An error naming `option` unless `value` lies in [lo, hi]: counts users
/// type (--repeats, --retries), checked before anything runs or is recorded.
llvm::Error checkCount(llvm::StringRef option, int64_t value, int64_t lo,
                       int64_t hi);

/// An error naming `option` unless `seconds` is a finite number in (0,
/// maxSeconds]: a time-out of 0, a negative one or NaN would otherwise mean
/// "every trial timed out" or "no time-out at all".
llvm::Error checkSeconds(llvm::StringRef option, double seconds,
                         double maxSeconds);

} // namespace mlir::haqa

#endif // HAQA_SUPPORT_PARSING_H
