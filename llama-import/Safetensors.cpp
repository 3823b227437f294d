//===- Safetensors.cpp - safetensors header reader --------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/Safetensors.h"
#include "haqa/Support/Parsing.h"
#include "haqa/Weights/GGUF.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir::haqa;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

Expected<std::vector<SafetensorsTensor>>
mlir::haqa::parseSafetensors(StringRef data, StringRef name) {
  auto err = [&](const Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (name + ": " + msg).str());
  };
  if (data.size() < 8)
    return err("header: file is " + Twine(data.size()) +
               " bytes, too short for the 8-byte header length");
  uint64_t headerLen = 0;
  std::memcpy(&headerLen, data.data(), 8);
  if (headerLen > data.size() - 8)
    return err("header: length " + Twine(headerLen) + " exceeds the " +
               Twine(data.size() - 8) + " bytes after it");
  auto json = llvm::json::parse(data.substr(8, headerLen));
  if (!json)
    return err("header: invalid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *obj = json->getAsObject();
  if (!obj)
    return err("header: expected a JSON object");
  uint64_t dataStart = 8 + headerLen, dataSize = data.size() - dataStart;
  const auto *base = reinterpret_cast<const uint8_t *>(data.data()) + dataStart;
  std::vector<SafetensorsTensor> tensors;
  for (const auto &kv : *obj) {
    StringRef tensorName = kv.first;
    if (tensorName == "__metadata__")
      continue;
    std::string what = "tensor '" + tensorName.str() + "'";
    const llvm::json::Object *t = kv.second.getAsObject();
    if (!t)
      return err(what + ": expected an object");
    auto dtype = t->getString("dtype");
    const llvm::json::Array *shape = t->getArray("shape");
    const llvm::json::Array *offsets = t->getArray("data_offsets");
    if (!dtype || !shape || !offsets || offsets->size() != 2)
      return err(what + ": expected 'dtype', 'shape' and two 'data_offsets'");
    SafetensorsTensor st;
    st.name = tensorName.str();
    uint64_t elemBytes;
    if (*dtype == "F32") {
      st.ggmlType = static_cast<uint32_t>(GGMLType::F32);
      elemBytes = 4;
    } else if (*dtype == "F16") {
      st.ggmlType = static_cast<uint32_t>(GGMLType::F16);
      elemBytes = 2;
    } else if (*dtype == "BF16") {
      st.ggmlType = static_cast<uint32_t>(GGMLType::BF16);
      elemBytes = 2;
    } else {
      return err(what + ": unimplemented: dtype '" + *dtype + "'");
    }
    // No tensor has more values than the data section has room for: each
    // dimension alone, then their product, so that the message names the
    // dimension that is absurd.
    uint64_t maxValues = dataSize / elemBytes;
    auto tooMany = [&](const Twine &msg) {
      return err(what + ": " + msg + " exceeds the " + Twine(maxValues) +
                 " values the " + Twine(dataSize) +
                 "-byte data section can hold");
    };
    uint64_t numElements = 1;
    for (const llvm::json::Value &d : *shape) {
      std::optional<int64_t> n = d.getAsInteger();
      if (!n || *n <= 0)
        return err(what + ": invalid dimension in 'shape'");
      if (static_cast<uint64_t>(*n) > maxValues)
        return tooMany("shape[" + Twine(st.shape.size()) + "] = " + Twine(*n));
      st.shape.push_back(*n);
      if (__builtin_mul_overflow(numElements, static_cast<uint64_t>(*n),
                                 &numElements) ||
          numElements > maxValues)
        return tooMany("shape " + formatShape(st.shape));
    }
    std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
    std::optional<int64_t> end = (*offsets)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *end < *begin ||
        static_cast<uint64_t>(*end) > dataSize)
      return err(what + ": data_offsets out of the " + Twine(dataSize) +
                 "-byte data section");
    if (static_cast<uint64_t>(*end - *begin) != numElements * elemBytes)
      return err(what + ": data_offsets cover " + Twine(*end - *begin) +
                 " bytes, shape and dtype need " +
                 Twine(numElements * elemBytes));
    st.data = llvm::ArrayRef<uint8_t>(base + *begin, *end - *begin);
    tensors.push_back(std::move(st));
  }
  // No two tensors share bytes. (The JSON object's order is a hash order:
  // ties are broken by name so that the message is always the same.)
  std::vector<const SafetensorsTensor *> byOffset;
  for (const SafetensorsTensor &t : tensors)
    byOffset.push_back(&t);
  llvm::sort(byOffset,
             [](const SafetensorsTensor *a, const SafetensorsTensor *b) {
               return std::make_pair(a->data.data(), llvm::StringRef(a->name)) <
                      std::make_pair(b->data.data(), llvm::StringRef(b->name));
             });
  auto range = [&](const SafetensorsTensor &t) {
    uint64_t begin = t.data.data() - base;
    return "[" + std::to_string(begin) + ", " +
           std::to_string(begin + t.data.size()) + ")";
  };
  for (size_t i = 1; i < byOffset.size(); ++i) {
    const SafetensorsTensor &prev = *byOffset[i - 1], &t = *byOffset[i];
    if (t.data.data() < prev.data.data() + prev.data.size())
      return err("tensor '" + t.name + "': data_offsets " + range(t) +
                 " overlap tensor '" + prev.name + "' (" + range(prev) + ")");
  }
  return tensors;
}
