//===- GGUFWriter.cpp - write GGUF v3 files ---------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/GGUFWriter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir::haqa;
using llvm::Error;
using llvm::StringRef;

namespace {
constexpr uint64_t kAlignment = 32;

template <typename T> void put(llvm::raw_ostream &os, T v) {
  os.write(reinterpret_cast<const char *>(&v), sizeof(T));
}

void putString(llvm::raw_ostream &os, StringRef s) {
  put<uint64_t>(os, s.size());
  os << s;
}

void putScalar(llvm::raw_ostream &os, GGUFValueType type, double number,
               int64_t integer) {
  switch (type) {
  case GGUFValueType::UInt8:
    return put<uint8_t>(os, integer);
  case GGUFValueType::Int8:
    return put<int8_t>(os, integer);
  case GGUFValueType::UInt16:
    return put<uint16_t>(os, integer);
  case GGUFValueType::Int16:
    return put<int16_t>(os, integer);
  case GGUFValueType::UInt32:
    return put<uint32_t>(os, integer);
  case GGUFValueType::Int32:
    return put<int32_t>(os, integer);
  case GGUFValueType::UInt64:
    return put<uint64_t>(os, integer);
  case GGUFValueType::Int64:
    return put<int64_t>(os, integer);
  case GGUFValueType::Float32:
    return put<float>(os, static_cast<float>(number));
  case GGUFValueType::Float64:
    return put<double>(os, number);
  case GGUFValueType::Bool:
    return put<uint8_t>(os, integer ? 1 : 0);
  default:
    llvm_unreachable("not a scalar");
  }
}
} // namespace

void GGUFWriter::addMetadata(StringRef key, GGUFValue value) {
  for (auto &kv : metadata)
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  metadata.emplace_back(key.str(), std::move(value));
}

void GGUFWriter::addString(StringRef key, StringRef value) {
  GGUFValue v;
  v.type = GGUFValueType::String;
  v.string = value.str();
  addMetadata(key, std::move(v));
}

void GGUFWriter::addUInt32(StringRef key, uint32_t value) {
  GGUFValue v;
  v.type = GGUFValueType::UInt32;
  v.number = value;
  v.integer = value;
  addMetadata(key, std::move(v));
}

void GGUFWriter::addFloat32(StringRef key, float value) {
  GGUFValue v;
  v.type = GGUFValueType::Float32;
  v.number = value;
  addMetadata(key, std::move(v));
}

void GGUFWriter::addTensorView(StringRef name, llvm::ArrayRef<int64_t> shape,
                               uint32_t ggmlType,
                               llvm::ArrayRef<uint8_t> data) {
  tensors.push_back(
      {name.str(), llvm::SmallVector<int64_t, 4>(shape), ggmlType, {}, data});
}

void GGUFWriter::addTensor(StringRef name, llvm::ArrayRef<int64_t> shape,
                           uint32_t ggmlType, std::vector<uint8_t> data) {
  tensors.push_back({name.str(),
                     llvm::SmallVector<int64_t, 4>(shape),
                     ggmlType,
                     std::move(data),
                     {}});
  tensors.back().view = tensors.back().owned;
}

Error GGUFWriter::write(StringRef path) const {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(ec,
                                   path + ": cannot write: " + ec.message());
  os << "GGUF";
  put<uint32_t>(os, 3);
  put<uint64_t>(os, tensors.size());
  put<uint64_t>(os, metadata.size());
  for (const auto &[key, v] : metadata) {
    putString(os, key);
    put<uint32_t>(os, static_cast<uint32_t>(v.type));
    if (v.type == GGUFValueType::String) {
      putString(os, v.string);
    } else if (v.type == GGUFValueType::Array) {
      put<uint32_t>(os, static_cast<uint32_t>(v.elementType));
      if (v.elementType == GGUFValueType::String) {
        put<uint64_t>(os, v.strings.size());
        for (const std::string &s : v.strings)
          putString(os, s);
      } else {
        put<uint64_t>(os, v.numbers.size());
        for (double d : v.numbers)
          putScalar(os, v.elementType, d,
                    std::isfinite(d) && std::fabs(d) < 9.2e18
                        ? static_cast<int64_t>(d)
                        : 0);
      }
    } else {
      putScalar(os, v.type, v.number, v.integer);
    }
  }
  uint64_t offset = 0;
  for (const Tensor &t : tensors) {
    putString(os, t.name);
    put<uint32_t>(os, t.shape.size());
    for (int64_t d : llvm::reverse(t.shape))
      put<uint64_t>(os, d);
    put<uint32_t>(os, t.type);
    put<uint64_t>(os, offset);
    offset = llvm::alignTo(offset + t.bytes().size(), kAlignment);
  }
  auto pad = [&] {
    uint64_t at = os.tell();
    for (uint64_t i = at; i < llvm::alignTo(at, kAlignment); ++i)
      os << '\0';
  };
  pad();
  for (const Tensor &t : tensors) {
    llvm::ArrayRef<uint8_t> b = t.bytes();
    os.write(reinterpret_cast<const char *>(b.data()), b.size());
    pad();
  }
  os.close();
  if (os.has_error())
    return llvm::createStringError(
        os.error(), path + ": write failed: " + os.error().message());
  return Error::success();
}
