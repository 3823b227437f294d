//===- gguf_fuzzer.cpp - libFuzzer target for the GGUF reader ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Parses arbitrary bytes as GGUF; on success, dequantizes every tensor the
// reader accepted (so offsets and sizes it validated are exercised too).
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/Dequantize.h"
#include "haqa/Weights/GGUF.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto file = mlir::haqa::GGUFFile::parse(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size)),
      "fuzz.gguf");
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  for (const mlir::haqa::GGUFTensorInfo &t : (*file)->getTensors()) {
    if (t.numElements > (1u << 20))
      continue; // keep each run small
    std::vector<float> out(t.numElements);
    llvm::consumeError(
        mlir::haqa::dequantize(t.type, (*file)->getTensorData(t), out));
  }
  return 0;
}
