//===- GGUF.cpp - GGUF v2/v3 container reader -------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The reader never trusts a count or size from the file: every string, array
// and tensor is checked against the bytes that remain before anything is
// allocated, dimensions and their products against the values the file can
// hold, and tensor data ranges against the file and each other. The bounds
// are in haqa/Weights/ReaderLimits.h.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/GGUF.h"
#include "haqa/Support/InputFiles.h"
#include "haqa/Weights/ReaderLimits.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

StringRef mlir::haqa::stringifyGGUFValueType(GGUFValueType type) {
  static const char *names[] = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  auto i = static_cast<uint32_t>(type);
  return i < std::size(names) ? names[i] : "unknown";
}

bool GGUFValue::isInteger() const {
  switch (type) {
  case GGUFValueType::UInt8:
  case GGUFValueType::Int8:
  case GGUFValueType::UInt16:
  case GGUFValueType::Int16:
  case GGUFValueType::UInt32:
  case GGUFValueType::Int32:
  case GGUFValueType::UInt64:
  case GGUFValueType::Int64:
    return true;
  default:
    return false;
  }
}

bool GGUFValue::isNumber() const {
  return isInteger() || type == GGUFValueType::Float32 ||
         type == GGUFValueType::Float64;
}

llvm::SmallVector<int64_t, 4> GGUFTensorInfo::shape() const {
  llvm::SmallVector<int64_t, 4> s;
  for (uint64_t d : llvm::reverse(ne))
    s.push_back(static_cast<int64_t>(d));
  return s;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {

/// A bounds-checked little-endian reader over the file bytes.
class Cursor {
public:
  Cursor(StringRef data, const GGUFFile &file) : data(data), file(file) {}

  uint64_t offset() const { return pos; }
  uint64_t remaining() const { return data.size() - pos; }

  template <typename T> Error read(T &out, const Twine &what) {
    if (remaining() < sizeof(T))
      return file.error(what + ": file ends at byte " + Twine(data.size()) +
                        " (truncated)");
    std::memcpy(&out, data.data() + pos, sizeof(T));
    pos += sizeof(T);
    return Error::success();
  }

  Error readString(std::string &out, uint64_t maxLength, const Twine &what) {
    uint64_t length = 0;
    if (Error e = read(length, what + " length"))
      return e;
    if (length > remaining())
      return file.error(what + ": length " + Twine(length) + " at byte " +
                        Twine(pos - 8) + " exceeds the " + Twine(remaining()) +
                        " bytes left in the file");
    if (length > maxLength)
      return file.error(what + ": length " + Twine(length) +
                        " exceeds the limit of " + Twine(maxLength));
    out.assign(data.data() + pos, length);
    pos += length;
    return Error::success();
  }

  Error skip(uint64_t n, const Twine &what) {
    if (n > remaining())
      return file.error(what + ": file ends at byte " + Twine(data.size()) +
                        " (truncated)");
    pos += n;
    return Error::success();
  }

private:
  StringRef data;
  const GGUFFile &file;
  uint64_t pos = 0;
};

/// Bytes of one scalar of `type`, 0 for strings and arrays.
uint64_t scalarSize(GGUFValueType type) {
  switch (type) {
  case GGUFValueType::UInt8:
  case GGUFValueType::Int8:
  case GGUFValueType::Bool:
    return 1;
  case GGUFValueType::UInt16:
  case GGUFValueType::Int16:
    return 2;
  case GGUFValueType::UInt32:
  case GGUFValueType::Int32:
  case GGUFValueType::Float32:
    return 4;
  case GGUFValueType::UInt64:
  case GGUFValueType::Int64:
  case GGUFValueType::Float64:
    return 8;
  default:
    return 0;
  }
}

bool isKnownValueType(uint32_t t) { return t <= 12; }

/// Reads one scalar of `type` as (double, exact int64).
Error readScalar(Cursor &c, GGUFValueType type, double &number,
                 int64_t &integer, const Twine &what) {
#define HAQA_READ_AS(CT)                                                       \
  {                                                                            \
    CT v{};                                                                    \
    if (Error e = c.read(v, what))                                             \
      return e;                                                                \
    number = static_cast<double>(v);                                           \
    integer = static_cast<int64_t>(v);                                         \
    return Error::success();                                                   \
  }
  switch (type) {
  case GGUFValueType::UInt8:
    HAQA_READ_AS(uint8_t)
  case GGUFValueType::Int8:
    HAQA_READ_AS(int8_t)
  case GGUFValueType::UInt16:
    HAQA_READ_AS(uint16_t)
  case GGUFValueType::Int16:
    HAQA_READ_AS(int16_t)
  case GGUFValueType::UInt32:
    HAQA_READ_AS(uint32_t)
  case GGUFValueType::Int32:
    HAQA_READ_AS(int32_t)
  case GGUFValueType::UInt64:
    HAQA_READ_AS(uint64_t)
  case GGUFValueType::Int64:
    HAQA_READ_AS(int64_t)
  case GGUFValueType::Float32:
  case GGUFValueType::Float64: {
    // Floats keep `integer` at 0: converting an out-of-range float to an
    // integer is undefined (found by fuzz/gguf_fuzzer.cpp).
    if (type == GGUFValueType::Float32) {
      float v = 0;
      if (Error e = c.read(v, what))
        return e;
      number = v;
    } else if (Error e = c.read(number, what)) {
      return e;
    }
    integer = 0;
    return Error::success();
  }
  case GGUFValueType::Bool: {
    uint8_t v = 0;
    if (Error e = c.read(v, what))
      return e;
    number = v ? 1 : 0;
    integer = v ? 1 : 0;
    return Error::success();
  }
  default:
    break;
  }
#undef HAQA_READ_AS
  llvm_unreachable("not a scalar type");
}

} // namespace

Error GGUFFile::error(const Twine &what) const {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (name + ": " + what).str());
}

Expected<std::unique_ptr<GGUFFile>> GGUFFile::open(StringRef path) {
  auto buffer = readInputFile(path);
  if (!buffer)
    return buffer.takeError();
  return parse(std::move(*buffer), path);
}

Expected<std::unique_ptr<GGUFFile>>
GGUFFile::parse(std::unique_ptr<llvm::MemoryBuffer> buf, StringRef name) {
  std::unique_ptr<GGUFFile> file(new GGUFFile());
  file->name = name.str();
  file->buffer = std::move(buf);
  StringRef data = file->buffer->getBuffer();
  Cursor c(data, *file);

  uint32_t magic = 0;
  if (Error e = c.read(magic, "header: magic"))
    return std::move(e);
  if (std::memcmp(data.data(), "GGUF", 4) != 0)
    return file->error("header: bad magic '" +
                       llvm::toHex(data.take_front(4), /*LowerCase=*/true) +
                       "' (expected 'GGUF')");
  if (Error e = c.read(file->version, "header: version"))
    return std::move(e);
  if (file->version != 2 && file->version != 3)
    return file->error("header: unsupported GGUF version " +
                       Twine(file->version) + " (expected 2 or 3)");
  uint64_t numTensors = 0, numKV = 0;
  if (Error e = c.read(numTensors, "header: tensor count"))
    return std::move(e);
  if (Error e = c.read(numKV, "header: metadata count"))
    return std::move(e);
  // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes,
  // each tensor entry at least 8 + 4 + 8 + 4 + 8.
  if (numKV > c.remaining() / 13)
    return file->error("header: metadata count " + Twine(numKV) +
                       " cannot fit in the " + Twine(c.remaining()) +
                       " bytes left");
  if (numTensors > c.remaining() / 32)
    return file->error("header: tensor count " + Twine(numTensors) +
                       " cannot fit in the " + Twine(c.remaining()) +
                       " bytes left");

  // Metadata. Nothing is reserved from a count: each entry is allocated as
  // it is read, so memory follows the bytes present, not the bytes claimed.
  for (uint64_t i = 0; i < numKV; ++i) {
    std::string key;
    if (Error e = c.readString(key, kMaxMetadataKeyLength,
                               "metadata entry " + Twine(i) + " key"))
      return std::move(e);
    std::string what = "metadata '" + key + "'";
    uint32_t rawType = 0;
    if (Error e = c.read(rawType, what + " type"))
      return std::move(e);
    if (!isKnownValueType(rawType))
      return file->error(what + ": unknown value type " + Twine(rawType));
    GGUFValue value;
    value.type = static_cast<GGUFValueType>(rawType);
    if (value.type == GGUFValueType::String) {
      if (Error e = c.readString(value.string, UINT64_MAX, what))
        return std::move(e);
    } else if (value.type == GGUFValueType::Array) {
      uint32_t rawElem = 0;
      uint64_t count = 0;
      if (Error e = c.read(rawElem, what + " element type"))
        return std::move(e);
      if (!isKnownValueType(rawElem) ||
          rawElem == static_cast<uint32_t>(GGUFValueType::Array))
        return file->error(what + ": unsupported array element type " +
                           Twine(rawElem));
      value.elementType = static_cast<GGUFValueType>(rawElem);
      if (Error e = c.read(count, what + " array length"))
        return std::move(e);
      uint64_t minSize = value.elementType == GGUFValueType::String
                             ? 8
                             : scalarSize(value.elementType);
      if (count > c.remaining() / minSize)
        return file->error(what + ": array length " + Twine(count) +
                           " cannot fit in the " + Twine(c.remaining()) +
                           " bytes left");
      if (value.elementType == GGUFValueType::String) {
        for (uint64_t j = 0; j < count; ++j)
          if (Error e = c.readString(value.strings.emplace_back(), UINT64_MAX,
                                     what + "[" + Twine(j) + "]"))
            return std::move(e);
      } else {
        for (uint64_t j = 0; j < count; ++j) {
          int64_t ignored;
          if (Error e =
                  readScalar(c, value.elementType, value.numbers.emplace_back(),
                             ignored, what + "[" + Twine(j) + "]"))
            return std::move(e);
        }
      }
    } else if (Error e = readScalar(c, value.type, value.number, value.integer,
                                    what)) {
      return std::move(e);
    }
    if (!file->metadataIndex.try_emplace(key, file->metadata.size()).second)
      return file->error(what + ": duplicate key");
    file->metadata.emplace_back(std::move(key), std::move(value));
  }

  if (const GGUFValue *a = file->lookup("general.alignment")) {
    if (!a->isInteger() || a->integer <= 0 ||
        !llvm::isPowerOf2_64(static_cast<uint64_t>(a->integer)))
      return file->error("metadata 'general.alignment': expected a power of "
                         "two, got " +
                         Twine(std::to_string(a->number)));
    file->alignment = static_cast<uint64_t>(a->integer);
  }

  // Tensor table. No tensor can hold more values than the file has bits.
  uint64_t size = data.size();
  uint64_t maxValues = size > UINT64_MAX / kMaxValuesPerByte
                           ? UINT64_MAX
                           : size * kMaxValuesPerByte;
  auto tooMany = [&](const Twine &what) {
    return file->error(what + " exceeds the " + Twine(maxValues) +
                       " values a " + Twine(size) + "-byte file can hold");
  };
  for (uint64_t i = 0; i < numTensors; ++i) {
    GGUFTensorInfo t;
    if (Error e = c.readString(t.name, kMaxTensorNameLength,
                               "tensor " + Twine(i) + " name"))
      return std::move(e);
    std::string what = "tensor '" + t.name + "'";
    uint32_t nDims = 0;
    if (Error e = c.read(nDims, what + " dimension count"))
      return std::move(e);
    if (nDims == 0 || nDims > kMaxTensorDims)
      return file->error(what + ": dimension count " + Twine(nDims) +
                         " not in [1, " + Twine(kMaxTensorDims) + "]");
    t.numElements = 1;
    for (uint32_t d = 0; d < nDims; ++d) {
      uint64_t n = 0;
      if (Error e = c.read(n, what + " ne[" + Twine(d) + "]"))
        return std::move(e);
      if (n == 0 || n > static_cast<uint64_t>(INT64_MAX))
        return file->error(what + ": ne[" + Twine(d) + "] = " + Twine(n) +
                           " is not a valid dimension");
      // Each dimension alone first, so that the message names the one that
      // is absurd rather than the one where the product gives up.
      if (n > maxValues)
        return tooMany(what + ": ne[" + Twine(d) + "] = " + Twine(n));
      t.ne.push_back(n);
      if (__builtin_mul_overflow(t.numElements, n, &t.numElements) ||
          t.numElements > maxValues) {
        std::string dims, values;
        for (uint32_t k = 0; k <= d; ++k) {
          dims += (k ? " x ne[" : "ne[") + std::to_string(k) + "]";
          values += (k ? " x " : "") + std::to_string(t.ne[k]);
        }
        return tooMany(what + ": " + dims + " = " + values);
      }
    }
    if (Error e = c.read(t.type, what + " type"))
      return std::move(e);
    std::optional<GGMLTypeInfo> info = getGGMLTypeInfo(t.type);
    if (!info)
      return file->error(what + ": unknown ggml type " + Twine(t.type));
    if (t.ne[0] % info->blockSize != 0)
      return file->error(what + ": ne[0] = " + Twine(t.ne[0]) +
                         " is not a multiple of the " + info->name +
                         " block size " + Twine(info->blockSize));
    if (__builtin_mul_overflow(t.numElements / info->blockSize,
                               info->blockBytes, &t.numBytes))
      return file->error(what + ": byte count of " + Twine(t.numElements) +
                         " " + info->name + " values overflows");
    if (Error e = c.read(t.offset, what + " offset"))
      return std::move(e);
    if (t.offset % file->alignment != 0)
      return file->error(what + ": offset " + Twine(t.offset) +
                         " is not a multiple of the alignment " +
                         Twine(file->alignment));
    if (!file->tensorIndex.try_emplace(t.name, file->tensors.size()).second)
      return file->error(what + ": duplicate tensor name");
    file->tensors.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  file->dataOffset = llvm::alignTo(c.offset(), file->alignment);
  for (const GGUFTensorInfo &t : file->tensors) {
    uint64_t end;
    if (__builtin_add_overflow(file->dataOffset, t.offset, &end) ||
        __builtin_add_overflow(end, t.numBytes, &end) || end > size)
      return file->error("tensor '" + t.name + "': data at offset " +
                         Twine(t.offset) + " + " + Twine(t.numBytes) +
                         " bytes is past the end of the file (" + Twine(size) +
                         " bytes, data section at " + Twine(file->dataOffset) +
                         ")");
  }
  // No two tensors share bytes (llama.cpp requires them in table order with
  // no gaps but padding; this reader accepts any order).
  std::vector<size_t> byOffset(file->tensors.size());
  std::iota(byOffset.begin(), byOffset.end(), 0);
  std::stable_sort(byOffset.begin(), byOffset.end(), [&](size_t a, size_t b) {
    return file->tensors[a].offset < file->tensors[b].offset;
  });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    const GGUFTensorInfo &prev = file->tensors[byOffset[i - 1]];
    const GGUFTensorInfo &t = file->tensors[byOffset[i]];
    if (t.offset - prev.offset < prev.numBytes)
      return file->error("tensor '" + t.name + "': data at offset " +
                         Twine(t.offset) + " + " + Twine(t.numBytes) +
                         " bytes overlaps tensor '" + prev.name + "' (offset " +
                         Twine(prev.offset) + " + " + Twine(prev.numBytes) +
                         " bytes)");
  }
  return std::move(file);
}

const GGUFValue *GGUFFile::lookup(StringRef key) const {
  auto it = metadataIndex.find(key);
  return it == metadataIndex.end() ? nullptr : &metadata[it->second].second;
}

Expected<uint64_t> GGUFFile::getUInt(StringRef key) const {
  const GGUFValue *v = lookup(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  if (!v->isInteger() || v->integer < 0)
    return error("metadata '" + key +
                 "': expected a non-negative integer, got " +
                 stringifyGGUFValueType(v->type));
  return static_cast<uint64_t>(v->integer);
}

Expected<uint64_t> GGUFFile::getUIntOr(StringRef key, uint64_t fallback) const {
  return lookup(key) ? getUInt(key) : Expected<uint64_t>(fallback);
}

Expected<double> GGUFFile::getFloat(StringRef key) const {
  const GGUFValue *v = lookup(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  if (!v->isNumber())
    return error("metadata '" + key + "': expected a number, got " +
                 stringifyGGUFValueType(v->type));
  return v->number;
}

Expected<double> GGUFFile::getFloatOr(StringRef key, double fallback) const {
  return lookup(key) ? getFloat(key) : Expected<double>(fallback);
}

Expected<std::string> GGUFFile::getString(StringRef key) const {
  const GGUFValue *v = lookup(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  if (v->type != GGUFValueType::String)
    return error("metadata '" + key + "': expected a string, got " +
                 stringifyGGUFValueType(v->type));
  return v->string;
}

Expected<bool> GGUFFile::getBool(StringRef key) const {
  const GGUFValue *v = lookup(key);
  if (!v)
    return error("metadata '" + key + "' is missing");
  if (v->type != GGUFValueType::Bool)
    return error("metadata '" + key + "': expected a bool, got " +
                 stringifyGGUFValueType(v->type));
  return v->integer != 0;
}

const GGUFTensorInfo *GGUFFile::findTensor(StringRef tensorName) const {
  auto it = tensorIndex.find(tensorName);
  return it == tensorIndex.end() ? nullptr : &tensors[it->second];
}

llvm::ArrayRef<uint8_t>
GGUFFile::getTensorData(const GGUFTensorInfo &info) const {
  const auto *base =
      reinterpret_cast<const uint8_t *>(buffer->getBufferStart());
  return {base + dataOffset + info.offset, info.numBytes};
}
