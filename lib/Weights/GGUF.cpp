//===- GGUF.cpp - GGUF v2/v3 container reader -------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The reader never trusts a count or size from the file: every string, array
// and tensor is checked against the bytes that remain before anything is
// allocated, and products of dimensions are checked for overflow.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/GGUF.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstring>

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

constexpr uint32_t kMaxDims = 4; // GGML_MAX_DIMS
// Keys, tensor names: llama.cpp rejects names of 64 bytes or more
// (GGML_MAX_NAME); keys have no such limit but are short in practice.
constexpr uint64_t kMaxNameLength = 64;
constexpr uint64_t kMaxKeyLength = 1 << 16;

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
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(
        buffer.getError(),
        path + ": cannot open: " + buffer.getError().message());
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

  // Metadata.
  file->metadata.reserve(numKV);
  for (uint64_t i = 0; i < numKV; ++i) {
    std::string key;
    if (Error e = c.readString(key, kMaxKeyLength,
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
        value.strings.resize(count);
        for (uint64_t j = 0; j < count; ++j)
          if (Error e = c.readString(value.strings[j], UINT64_MAX,
                                     what + "[" + Twine(j) + "]"))
            return std::move(e);
      } else {
        value.numbers.resize(count);
        for (uint64_t j = 0; j < count; ++j) {
          int64_t ignored;
          if (Error e = readScalar(c, value.elementType, value.numbers[j],
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

  // Tensor table.
  file->tensors.reserve(numTensors);
  for (uint64_t i = 0; i < numTensors; ++i) {
    GGUFTensorInfo t;
    if (Error e = c.readString(t.name, kMaxNameLength - 1,
                               "tensor " + Twine(i) + " name"))
      return std::move(e);
    std::string what = "tensor '" + t.name + "'";
    uint32_t nDims = 0;
    if (Error e = c.read(nDims, what + " dimension count"))
      return std::move(e);
    if (nDims == 0 || nDims > kMaxDims)
      return file->error(what + ": dimension count " + Twine(nDims) +
                         " not in [1, " + Twine(kMaxDims) + "]");
    t.numElements = 1;
    for (uint32_t d = 0; d < nDims; ++d) {
      uint64_t n = 0;
      if (Error e = c.read(n, what + " ne[" + Twine(d) + "]"))
        return std::move(e);
      if (n == 0 || n > static_cast<uint64_t>(INT64_MAX))
        return file->error(what + ": ne[" + Twine(d) + "] = " + Twine(n) +
                           " is not a valid dimension");
      if (__builtin_mul_overflow(t.numElements, n, &t.numElements) ||
          t.numElements > static_cast<uint64_t>(INT64_MAX))
        return file->error(what + ": element count overflows at ne[" +
                           Twine(d) + "] = " + Twine(n));
      t.ne.push_back(n);
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
    t.numBytes = t.numElements / info->blockSize * info->blockBytes;
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
  uint64_t size = data.size();
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
