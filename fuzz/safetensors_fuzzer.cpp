//===- safetensors_fuzzer.cpp - libFuzzer target for safetensors -*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Parses arbitrary bytes as a safetensors file and touches every byte of
// every tensor view it returns.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/Safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto tensors = mlir::haqa::parseSafetensors(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz.safetensors");
  if (!tensors) {
    llvm::consumeError(tensors.takeError());
    return 0;
  }
  volatile uint8_t sink = 0;
  for (const auto &t : *tensors)
    for (uint8_t b : t.data)
      sink = sink ^ b;
  return 0;
}
