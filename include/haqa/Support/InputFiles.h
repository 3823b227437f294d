//===- InputFiles.h - opening the files a user names ------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Every model file, configuration, weights file and text a tool reads is
// opened here. A path that is not a regular file after following symlinks (a
// FIFO, a device, a directory) is refused before it is opened: reading a FIFO
// blocks until a writer comes, which may be never.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_SUPPORT_INPUTFILES_H
#define HAQA_SUPPORT_INPUTFILES_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

namespace mlir::haqa {

/// Success if `path` names a regular file (symlinks followed); else
/// "<path>: not a regular file", or "<path>: cannot open: <reason>" when it
/// cannot be examined (missing, no permission).
llvm::Error checkRegularFile(llvm::StringRef path);

/// The bytes of the regular file `path` (memory-mapped when large), after
/// checkRegularFile; errors name the path.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readInputFile(llvm::StringRef path, bool isText = false);

/// The JSON document in the file `path` (readInputFile, then parsed);
/// errors name the path ("<path>: invalid JSON: <why>").
llvm::Expected<llvm::json::Value> readJSONFile(llvm::StringRef path);

} // namespace mlir::haqa

#endif // HAQA_SUPPORT_INPUTFILES_H
