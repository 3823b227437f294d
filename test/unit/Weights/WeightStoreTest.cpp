//===- WeightStoreTest.cpp - weights by name, in any storage
//---------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A store hands out the stored bytes untouched when the module's storage is
// the stored one, and otherwise the bytes llama-import --bits would write:
// the stored values dequantized and quantized round-to-nearest into the
// module's storage. The values it gives the reference executor are those
// bytes' values.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/WeightStore.h"
#include "haqa/Weights/Codecs.h"
#include "haqa/Weights/GGUFWriter.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include <gtest/gtest.h>

#include <random>

using namespace mlir;
using namespace mlir::haqa;

namespace {

struct WeightStoreTest : ::testing::Test {
  WeightStoreTest() { ctx.loadDialect<HAQADialect>(); }
  MLIRContext ctx;
  /// 8 x 64 values, stored as Q4_1 (what SmolLM2's GGUF holds).
  std::vector<float> values() {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> v(8 * 64);
    for (float &x : v)
      x = u(rng);
    return v;
  }
  WeightType type(QuantAttr q) { return WeightType::get(&ctx, {8, 64}, q); }
};

TEST_F(WeightStoreTest, StoredBytesAreAViewOtherStoragesAreRequantized) {
  std::vector<float> v = values();
  QuantAttr q41 = QuantAttr::getQ4_1(&ctx), q80 = QuantAttr::getQ8_0(&ctx);
  std::vector<uint8_t> stored = llvm::cantFail(quantizeWeights(q41, v, 64));
  WeightStore store;
  store.add("w", {8, 64}, static_cast<uint32_t>(GGMLType::Q4_1), stored);

  auto same = store.getBytes("w", type(q41));
  ASSERT_TRUE(static_cast<bool>(same)) << llvm::toString(same.takeError());
  EXPECT_EQ(std::vector<uint8_t>(same->begin(), same->end()), stored);

  // As llama-import --bits 8 writes them: dequantized, then Q8_0.
  std::vector<float> dequantized(v.size());
  ASSERT_FALSE(bool(
      dequantize(static_cast<uint32_t>(GGMLType::Q4_1), stored, dequantized)));
  std::vector<uint8_t> expected =
      llvm::cantFail(quantizeWeights(q80, dequantized, 64));
  auto q8 = store.getBytes("w", type(q80));
  ASSERT_TRUE(static_cast<bool>(q8)) << llvm::toString(q8.takeError());
  EXPECT_EQ(std::vector<uint8_t>(q8->begin(), q8->end()), expected);
  // Asked again: the same bytes, not quantized twice.
  EXPECT_EQ(store.getBytes("w", type(q80))->data(), q8->data());

  // The values the reference executor computes with are those bytes'.
  std::vector<float> fromBytes(v.size());
  ASSERT_FALSE(bool(
      dequantize(static_cast<uint32_t>(GGMLType::Q8_0), expected, fromBytes)));
  auto vals = store.getValues("w", type(q80));
  ASSERT_TRUE(static_cast<bool>(vals)) << llvm::toString(vals.takeError());
  EXPECT_EQ(**vals, fromBytes);
}

TEST_F(WeightStoreTest, AFileServesEveryStorage) {
  std::vector<float> v = values();
  QuantAttr f16 = QuantAttr::getPlain(&ctx, ElemKind::f16);
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("haqa-store", "gguf", path));
  GGUFWriter w;
  w.addTensor("w", {8, 64}, static_cast<uint32_t>(GGMLType::F32),
              llvm::cantFail(quantizeWeights(
                  QuantAttr::getPlain(&ctx, ElemKind::f32), v, 64)));
  ASSERT_FALSE(bool(w.write(path)));
  auto store = WeightStore::open(path);
  ASSERT_TRUE(static_cast<bool>(store)) << llvm::toString(store.takeError());
  EXPECT_NE((*store)->getFile(), nullptr);
  for (QuantAttr q : {f16, QuantAttr::getQ8_0(&ctx), QuantAttr::getQ4_0(&ctx),
                      QuantAttr::getQ4_1(&ctx)}) {
    auto bytes = (*store)->getBytes("w", type(q));
    ASSERT_TRUE(static_cast<bool>(bytes)) << llvm::toString(bytes.takeError());
    EXPECT_EQ(std::vector<uint8_t>(bytes->begin(), bytes->end()),
              llvm::cantFail(quantizeWeights(q, v, 64)));
  }
  llvm::sys::fs::remove(path);
}

TEST_F(WeightStoreTest, ErrorsNameTheStoreAndTheTensor) {
  WeightStore store;
  auto missing = store.getBytes("nope", type(QuantAttr::getQ8_0(&ctx)));
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()),
            "in-memory weights: tensor 'nope' is missing");
  store.add("w", {4, 64}, static_cast<uint32_t>(GGMLType::F32),
            std::vector<uint8_t>(4 * 64 * 4));
  auto shape = store.getValues("w", type(QuantAttr::getQ8_0(&ctx)));
  ASSERT_FALSE(static_cast<bool>(shape));
  EXPECT_NE(llvm::toString(shape.takeError()).find("shape does not match"),
            std::string::npos);
}

} // namespace
