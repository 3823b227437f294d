//===- QuantTest.cpp - #haqa.quant storage sizes and names ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Storage sizes checked against ggml's block structs: block_q8_0 is 34 bytes
// per 32 values, block_q4_0 18, block_q4_1 20.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::haqa;

namespace {

struct QuantTest : ::testing::Test {
  QuantTest() { ctx.loadDialect<HAQADialect>(); }
  MLIRContext ctx;
};

TEST_F(QuantTest, GGUFBlockSizes) {
  const uint64_t n = 2048ull * 2048ull;
  EXPECT_EQ(QuantAttr::getQ8_0(&ctx).getStorageBytes(n), n / 32 * 34);
  EXPECT_EQ(QuantAttr::getQ4_0(&ctx).getStorageBytes(n), n / 32 * 18);
  EXPECT_EQ(QuantAttr::getQ4_1(&ctx).getStorageBytes(n), n / 32 * 20);
  EXPECT_EQ(QuantAttr::getPlain(&ctx, ElemKind::f16).getStorageBytes(n), 2 * n);
  EXPECT_EQ(QuantAttr::getPlain(&ctx, ElemKind::f32).getStorageBytes(n), 4 * n);
  EXPECT_EQ(QuantAttr::getQ8_0(&ctx).getGGUFBlockBytes(), 34u);
  EXPECT_EQ(QuantAttr::getQ4_0(&ctx).getGGUFBlockBytes(), 18u);
  EXPECT_EQ(QuantAttr::getQ4_1(&ctx).getGGUFBlockBytes(), 20u);
  EXPECT_EQ(QuantAttr::getPlain(&ctx, ElemKind::f16).getGGUFBlockBytes(), 2u);
  EXPECT_EQ(QuantAttr::getPlain(&ctx, ElemKind::f32).getGGUFBlockBytes(), 4u);
}

TEST_F(QuantTest, PlanarSizes) {
  // i4, 128 per group, f32 scale, uint8 zero point: n/2 + n/128 * (4 + 1).
  auto q = QuantAttr::get(&ctx, ElemKind::i4, int64_t{128},
                          Type(Float32Type::get(&ctx)), ZeroKind::zero_point,
                          StorageLayout::planar);
  EXPECT_EQ(q.getStorageBytes(4096), 2048u + 32u * 5u);
  // i8, 64 per group, f16 scale, f16 min: n + n/64 * 4.
  auto m = QuantAttr::get(&ctx, ElemKind::i8, int64_t{64},
                          Type(Float16Type::get(&ctx)), ZeroKind::min,
                          StorageLayout::planar);
  EXPECT_EQ(m.getStorageBytes(4096), 4096u + 64u * 4u);
  EXPECT_EQ(m.getGGUFBlockBytes(), 0u); // planar: no blocks
}

TEST_F(QuantTest, GGUFNames) {
  EXPECT_EQ(QuantAttr::getQ8_0(&ctx).getGGUFName(), "q8_0");
  EXPECT_EQ(QuantAttr::getQ4_0(&ctx).getGGUFName(), "q4_0");
  EXPECT_EQ(QuantAttr::getQ4_1(&ctx).getGGUFName(), "q4_1");
  EXPECT_EQ(QuantAttr::getPlain(&ctx, ElemKind::bf16).getGGUFName(), "bf16");
  auto planar = QuantAttr::get(&ctx, ElemKind::i8, int64_t{32},
                               Type(Float16Type::get(&ctx)), ZeroKind::none,
                               StorageLayout::planar);
  EXPECT_EQ(planar.getGGUFName(), "");
  EXPECT_EQ(QuantAttr::getQ4_1(&ctx).getBits(), 4u);
  EXPECT_TRUE(QuantAttr::getQ4_1(&ctx).isQuantized());
  EXPECT_FALSE(QuantAttr::getPlain(&ctx, ElemKind::f16).isQuantized());
}

TEST_F(QuantTest, VerifierRejectsGGUFWithOtherGroup) {
  std::string message;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  auto bad = QuantAttr::getChecked(
      [&] { return emitError(UnknownLoc::get(&ctx)); }, &ctx, ElemKind::i8,
      int64_t{64}, Type(Float16Type::get(&ctx)), ZeroKind::none,
      StorageLayout::gguf);
  EXPECT_FALSE(bad);
  EXPECT_EQ(message,
            "gguf layout needs group = 32 and scale = f16, got group = 64 and "
            "scale = 'f16'");
}

TEST_F(QuantTest, WeightTypeBytesUnderOtherQuant) {
  auto w = WeightType::get(&ctx, {1536, 576}, QuantAttr::getQ4_1(&ctx));
  EXPECT_EQ(w.getNumElements(), 1536 * 576);
  EXPECT_EQ(w.getStorageBytes(), 1536u * 576u / 32u * 20u);
  EXPECT_EQ(w.getStorageBytes(QuantAttr::getQ8_0(&ctx)),
            1536u * 576u / 32u * 34u);
}

} // namespace
