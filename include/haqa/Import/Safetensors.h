//===- Safetensors.h - safetensors header reader ----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Parses a safetensors file (8-byte little-endian header length, JSON
// header, data) into tensor views, checking every offset and size against
// the file and that no two tensors share bytes (bounds in
// haqa/Weights/ReaderLimits.h). Supports F32, F16 and BF16 tensors; other
// dtypes are reported.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_IMPORT_SAFETENSORS_H
#define HAQA_IMPORT_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::haqa {

struct SafetensorsTensor {
  std::string name;
  llvm::SmallVector<int64_t, 4> shape;
  /// The ggml type of the same bytes (F32, F16 or BF16).
  uint32_t ggmlType = 0;
  llvm::ArrayRef<uint8_t> data; // a view into the parsed buffer
};

/// Parses the bytes of a safetensors file; `name` is used in messages.
llvm::Expected<std::vector<SafetensorsTensor>>
parseSafetensors(llvm::StringRef bytes, llvm::StringRef name);

} // namespace mlir::haqa

#endif // HAQA_IMPORT_SAFETENSORS_H
