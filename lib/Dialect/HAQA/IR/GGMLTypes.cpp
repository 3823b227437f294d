//===- GGMLTypes.cpp - the ggml tensor types and their block layout -------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Block layouts follow ggml-common.h (block_q8_0 {half d; int8 qs[32]},
// block_q4_0 {half d; uint8 qs[16]}, block_q4_1 {half d, m; uint8 qs[16]},
// block_q4_K, block_q6_K, ...).
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/GGMLTypes.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir::haqa;

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

std::optional<GGMLType> mlir::haqa::getGGMLTypeByName(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<GGMLType>>(name)
      .Case("f32", GGMLType::F32)
      .Case("f16", GGMLType::F16)
      .Case("bf16", GGMLType::BF16)
      .Case("q8_0", GGMLType::Q8_0)
      .Case("q4_0", GGMLType::Q4_0)
      .Case("q4_1", GGMLType::Q4_1)
      .Case("q4_k", GGMLType::Q4_K)
      .Case("q6_k", GGMLType::Q6_K)
      .Default(std::nullopt);
}
