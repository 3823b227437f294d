//===- InputFiles.cpp - opening the files a user names -------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/InputFiles.h"

#include "llvm/Support/FileSystem.h"

using namespace mlir;
using namespace mlir::haqa;

llvm::Error mlir::haqa::checkRegularFile(llvm::StringRef path) {
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status, /*Follow=*/true))
    return llvm::createStringError(ec, path + ": cannot open: " + ec.message());
  if (!llvm::sys::fs::is_regular_file(status))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": not a regular file");
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mlir::haqa::readInputFile(llvm::StringRef path, bool isText) {
  if (llvm::Error e = checkRegularFile(path))
    return std::move(e);
  auto buffer = llvm::MemoryBuffer::getFile(path, isText,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(
        buffer.getError(),
        path + ": cannot open: " + buffer.getError().message());
  return std::move(*buffer);
}

llvm::Expected<llvm::json::Value>
mlir::haqa::readJSONFile(llvm::StringRef path) {
  auto buffer = readInputFile(path, /*isText=*/true);
  if (!buffer)
    return buffer.takeError();
  auto json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return llvm::createStringError(
        path + ": invalid JSON: " + llvm::toString(json.takeError()));
  return std::move(*json);
}
