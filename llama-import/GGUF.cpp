//===- GGUF.cpp - GGUF v2/v3 reader and ggml dequantization -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The reader never trusts a count or size from the file: every string, array
// and tensor is checked against the bytes that remain before anything is
// allocated, and products of dimensions are checked for overflow. Block
// layouts follow ggml-common.h (block_q8_0, block_q4_0, block_q4_1,
// block_q4_K, block_q6_K).
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/GGUF.h"

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

std::optional<GGMLTypeInfo> mlir::haqa::getGGMLTypeInfo(uint32_t type) {
  switch (static_cast<GGMLType>(type)) {
  case GGMLType::F32:
    return GGMLTypeInfo{"F32", 1, 4, true};
  case GGMLType::F16:
    return GGMLTypeInfo{"F16", 1, 2, true};
  case GGMLType::BF16:
    return GGMLTypeInfo{"BF16", 1, 2, true};
  case GGMLType::Q4_0:
    return GGMLTypeInfo{"Q4_0", 32, 18, true};
  case GGMLType::Q4_1:
    return GGMLTypeInfo{"Q4_1", 32, 20, true};
  case GGMLType::Q5_0:
    return GGMLTypeInfo{"Q5_0", 32, 22, false};
  case GGMLType::Q5_1:
    return GGMLTypeInfo{"Q5_1", 32, 24, false};
  case GGMLType::Q8_0:
    return GGMLTypeInfo{"Q8_0", 32, 34, true};
  case GGMLType::Q8_1:
    return GGMLTypeInfo{"Q8_1", 32, 36, false};
  case GGMLType::Q2_K:
    return GGMLTypeInfo{"Q2_K", 256, 84, false};
  case GGMLType::Q3_K:
    return GGMLTypeInfo{"Q3_K", 256, 110, false};
  case GGMLType::Q4_K:
    return GGMLTypeInfo{"Q4_K", 256, 144, true};
  case GGMLType::Q5_K:
    return GGMLTypeInfo{"Q5_K", 256, 176, false};
  case GGMLType::Q6_K:
    return GGMLTypeInfo{"Q6_K", 256, 210, true};
  case GGMLType::Q8_K:
    return GGMLTypeInfo{"Q8_K", 256, 292, false};
  case GGMLType::I8:
    return GGMLTypeInfo{"I8", 1, 1, false};
  }
  return std::nullopt;
}

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

//===----------------------------------------------------------------------===//
// Number formats
//===----------------------------------------------------------------------===//

float mlir::haqa::halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float mlir::haqa::bf16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t mlir::haqa::floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // inf or nan
    return sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0);
  if (absx >= 0x477ff000u) // rounds to >= 65520: inf
    return sign | 0x7c00u;
  if (absx < 0x38800000u) { // subnormal or zero in half
    // Scale into the subnormal range with round-to-nearest-even.
    float a;
    std::memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f; // 2^24: one half-subnormal ulp = 1
    uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return sign | m;
  }
  uint32_t exp = ((absx >> 23) - 127 + 15) << 10;
  uint32_t mant = (absx >> 13) & 0x3ff;
  uint32_t rest = absx & 0x1fff;
  uint32_t h = exp | mant;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
    ++h; // carries into the exponent correctly
  return sign | h;
}

//===----------------------------------------------------------------------===//
// Dequantization (ggml-quants.c dequantize_row_*)
//===----------------------------------------------------------------------===//

namespace {

uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void getScaleMinK4(int j, const uint8_t *q, uint8_t &d, uint8_t &m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

} // namespace

Error mlir::haqa::dequantize(uint32_t type, llvm::ArrayRef<uint8_t> src,
                             llvm::MutableArrayRef<float> dst) {
  std::optional<GGMLTypeInfo> info = getGGMLTypeInfo(type);
  if (!info || !info->canDequantize)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "unimplemented: dequantization of ggml type " +
            (info ? info->name.str() : std::to_string(type)));
  uint64_t n = dst.size();
  if (n % info->blockSize != 0 ||
      src.size() != n / info->blockSize * info->blockBytes)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "dequantize " + info->name.str() + ": " + std::to_string(n) +
            " values need " +
            std::to_string(n / info->blockSize * info->blockBytes) +
            " bytes, got " + std::to_string(src.size()));
  const uint8_t *p = src.data();
  float *y = dst.data();
  uint64_t blocks = n / info->blockSize;
  switch (static_cast<GGMLType>(type)) {
  case GGMLType::F32:
    std::memcpy(y, p, n * 4);
    break;
  case GGMLType::F16:
    for (uint64_t i = 0; i < n; ++i)
      y[i] = halfToFloat(load16(p + 2 * i));
    break;
  case GGMLType::BF16:
    for (uint64_t i = 0; i < n; ++i)
      y[i] = bf16ToFloat(load16(p + 2 * i));
    break;
  case GGMLType::Q8_0: // {half d; int8 qs[32]}
    for (uint64_t b = 0; b < blocks; ++b, p += 34, y += 32) {
      float d = halfToFloat(load16(p));
      for (int j = 0; j < 32; ++j)
        y[j] = d * static_cast<int8_t>(p[2 + j]);
    }
    break;
  case GGMLType::Q4_0: // {half d; uint8 qs[16]}, q - 8
    for (uint64_t b = 0; b < blocks; ++b, p += 18, y += 32) {
      float d = halfToFloat(load16(p));
      for (int j = 0; j < 16; ++j) {
        y[j] = d * ((p[2 + j] & 0xF) - 8);
        y[j + 16] = d * ((p[2 + j] >> 4) - 8);
      }
    }
    break;
  case GGMLType::Q4_1: // {half d, m; uint8 qs[16]}
    for (uint64_t b = 0; b < blocks; ++b, p += 20, y += 32) {
      float d = halfToFloat(load16(p));
      float m = halfToFloat(load16(p + 2));
      for (int j = 0; j < 16; ++j) {
        y[j] = (p[4 + j] & 0xF) * d + m;
        y[j + 16] = (p[4 + j] >> 4) * d + m;
      }
    }
    break;
  case GGMLType::Q4_K: // {half d, dmin; uint8 scales[12]; uint8 qs[128]}
    for (uint64_t b = 0; b < blocks; ++b, p += 144) {
      float d = halfToFloat(load16(p));
      float dmin = halfToFloat(load16(p + 2));
      const uint8_t *scales = p + 4;
      const uint8_t *q = p + 16;
      int is = 0;
      for (int j = 0; j < 256; j += 64, q += 32, is += 2) {
        uint8_t sc, m;
        getScaleMinK4(is, scales, sc, m);
        float d1 = d * sc, m1 = dmin * m;
        getScaleMinK4(is + 1, scales, sc, m);
        float d2 = d * sc, m2 = dmin * m;
        for (int l = 0; l < 32; ++l)
          *y++ = d1 * (q[l] & 0xF) - m1;
        for (int l = 0; l < 32; ++l)
          *y++ = d2 * (q[l] >> 4) - m2;
      }
    }
    break;
  case GGMLType::Q6_K: // {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d}
    for (uint64_t b = 0; b < blocks; ++b, p += 210) {
      const uint8_t *ql = p;
      const uint8_t *qh = p + 128;
      const auto *sc = reinterpret_cast<const int8_t *>(p + 192);
      float d = halfToFloat(load16(p + 208));
      for (int n0 = 0; n0 < 256;
           n0 += 128, y += 128, ql += 64, qh += 32, sc += 8) {
        for (int l = 0; l < 32; ++l) {
          int is = l / 16;
          int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
          int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
          int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          y[l] = d * sc[is] * q1;
          y[l + 32] = d * sc[is + 2] * q2;
          y[l + 64] = d * sc[is + 4] * q3;
          y[l + 96] = d * sc[is + 6] * q4;
        }
      }
    }
    break;
  default:
    llvm_unreachable("checked above");
  }
  return Error::success();
}
