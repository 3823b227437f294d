//===- Isolate.h - run a candidate in a child process -----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A candidate kernel may crash, hang or corrupt memory: it runs in a forked
// child with a time limit, and only its text report comes back.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_RUNTIME_ISOLATE_H
#define HAQA_RUNTIME_ISOLATE_H

#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace mlir::haqa {

/// How an isolated run ended.
struct IsolatedResult {
  enum Kind { Finished, Crashed, TimedOut } kind = Finished;
  std::string output; ///< what `body` returned (Finished only)
  std::string reason; ///< "signal 11 (Segmentation fault)", "exit code 3", ...
  /// What the child wrote to stderr (a crash's stack trace, say), at most
  /// 16 KiB: kept for the caller's record instead of interleaving with the
  /// parent's own stderr.
  std::string childStderr;
};

/// Runs `body` in a forked child and returns its string, or how it died.
/// The child is killed after `timeoutSeconds`. Call only while no other
/// thread of this process holds locks the child needs (the MLIR context
/// should have multithreading disabled).
llvm::Expected<IsolatedResult> runIsolated(std::function<std::string()> body,
                                           double timeoutSeconds);

} // namespace mlir::haqa

#endif // HAQA_RUNTIME_ISOLATE_H
