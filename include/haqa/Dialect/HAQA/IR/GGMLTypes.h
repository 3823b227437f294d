//===- GGMLTypes.h - the ggml tensor types and their block layout -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The one table of ggml's tensor types (ggml.h's `enum ggml_type`): name,
// values per block and bytes per block. `#haqa.quant` storage with the GGUF
// layout (q8_0, q4_0, q4_1) takes its block sizes from here, as do the GGUF
// reader and the weight codecs, so a block size is written down once.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_DIALECT_HAQA_IR_GGMLTYPES_H
#define HAQA_DIALECT_HAQA_IR_GGMLTYPES_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace mlir::haqa {

/// ggml tensor types HAQA knows the block layout of.
enum class GGMLType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  /// Raw bytes: HAQA stores planar-layout weights as a 1-d I8 tensor of
  /// their storage bytes (the module's type says how to read them).
  I8 = 24,
  BF16 = 30,
};

struct GGMLTypeInfo {
  /// ggml's name: "Q4_0".
  llvm::StringRef name;
  /// Values per block and bytes per block.
  uint64_t blockSize;
  uint64_t blockBytes;
  /// Whether HAQA's codecs dequantize it.
  bool canDequantize;
};

/// Layout of a ggml type id, or nullopt for an id HAQA does not know.
std::optional<GGMLTypeInfo> getGGMLTypeInfo(uint32_t type);

/// The ggml type of a lower-case name as `#haqa.quant` prints GGUF storages
/// ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"), if any.
std::optional<GGMLType> getGGMLTypeByName(llvm::StringRef name);

} // namespace mlir::haqa

#endif // HAQA_DIALECT_HAQA_IR_GGMLTYPES_H
