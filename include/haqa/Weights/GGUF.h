//===- GGUF.h - GGUF v2/v3 container reader ---------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Reads the GGUF container (header, metadata, tensor table, alignment) from a
// memory-mapped file, checking every count, size and offset against the file
// before use and that no two tensors share bytes (bounds in
// haqa/Weights/ReaderLimits.h). Errors name the file and the field: "m.gguf:
// tensor 'x': offset ... past the end". The ggml block layouts are in
// haqa/Dialect/HAQA/IR/GGMLTypes.h, their codecs in haqa/Weights/Codecs.h.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_GGUF_H
#define HAQA_WEIGHTS_GGUF_H

#include "haqa/Dialect/HAQA/IR/GGMLTypes.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::haqa {

/// GGUF metadata value types.
enum class GGUFValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

llvm::StringRef stringifyGGUFValueType(GGUFValueType type);

/// One metadata value. Scalars use `number` (every GGUF integer fits a
/// double exactly up to 2^53; `integer` keeps 64-bit integers exact) or
/// `string`; arrays use `numbers` or `strings` by element type.
struct GGUFValue {
  GGUFValueType type = GGUFValueType::UInt8;
  GGUFValueType elementType = GGUFValueType::UInt8; // arrays only
  double number = 0;
  int64_t integer = 0;
  std::string string;
  std::vector<double> numbers;
  std::vector<std::string> strings;

  bool isInteger() const;
  bool isNumber() const;
};

struct GGUFTensorInfo {
  std::string name;
  /// ggml order: ne[0] is the innermost (contiguous) dimension.
  llvm::SmallVector<uint64_t, 4> ne;
  uint32_t type = 0;
  /// Offset from the start of the data section.
  uint64_t offset = 0;
  uint64_t numElements = 0;
  uint64_t numBytes = 0;

  /// Row-major shape, outermost first (ne reversed).
  llvm::SmallVector<int64_t, 4> shape() const;
};

class GGUFFile {
public:
  /// Maps and parses `path`.
  static llvm::Expected<std::unique_ptr<GGUFFile>> open(llvm::StringRef path);
  /// Parses a buffer; `name` is used in error messages.
  static llvm::Expected<std::unique_ptr<GGUFFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef name);

  llvm::StringRef getName() const { return name; }
  uint32_t getVersion() const { return version; }
  uint64_t getAlignment() const { return alignment; }
  uint64_t getDataOffset() const { return dataOffset; }

  /// Metadata in file order.
  llvm::ArrayRef<std::pair<std::string, GGUFValue>> getMetadata() const {
    return metadata;
  }
  const GGUFValue *lookup(llvm::StringRef key) const;
  /// Typed accessors; errors name the file and key ("missing", wrong type).
  llvm::Expected<uint64_t> getUInt(llvm::StringRef key) const;
  llvm::Expected<double> getFloat(llvm::StringRef key) const;
  llvm::Expected<std::string> getString(llvm::StringRef key) const;
  llvm::Expected<bool> getBool(llvm::StringRef key) const;
  /// The value if present, `fallback` if absent; an error if of wrong type.
  llvm::Expected<uint64_t> getUIntOr(llvm::StringRef key,
                                     uint64_t fallback) const;
  llvm::Expected<double> getFloatOr(llvm::StringRef key, double fallback) const;

  llvm::ArrayRef<GGUFTensorInfo> getTensors() const { return tensors; }
  const GGUFTensorInfo *findTensor(llvm::StringRef name) const;
  /// The bytes of a tensor (bounds checked at parse time).
  llvm::ArrayRef<uint8_t> getTensorData(const GGUFTensorInfo &info) const;

  /// "file: what" error.
  llvm::Error error(const llvm::Twine &what) const;

private:
  GGUFFile() = default;
  std::string name;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t dataOffset = 0;
  std::vector<std::pair<std::string, GGUFValue>> metadata;
  llvm::StringMap<size_t> metadataIndex;
  std::vector<GGUFTensorInfo> tensors;
  llvm::StringMap<size_t> tensorIndex;
};

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_GGUF_H
