//===- KernelInterfaceTest.cpp - signatures, FLOPs and bytes ----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::haqa;

namespace {

constexpr const char *kModule = R"mlir(
func.func @f(%x: tensor<64x2048xf32>, %s: tensor<32x64x1024xf32>)
    -> (tensor<64x2048xf32>, tensor<32x64x1024xf32>) {
  %w = haqa.weight "w" : !haqa.weight<2048x2048, #haqa.quant<q4_0>>
  %y = haqa.matmul %x, %w : tensor<64x2048xf32>, !haqa.weight<2048x2048, #haqa.quant<q4_0>> -> tensor<64x2048xf32>
  %p = haqa.softmax %s : tensor<32x64x1024xf32>
  return %y, %p : tensor<64x2048xf32>, tensor<32x64x1024xf32>
}
)mlir";

struct KernelInterfaceTest : ::testing::Test {
  KernelInterfaceTest() {
    ctx.loadDialect<HAQADialect, func::FuncDialect>();
    module = parseSourceString<ModuleOp>(kModule, &ctx);
  }
  template <typename OpT> OpT first() {
    OpT found;
    module->walk([&](OpT op) { found = op; });
    return found;
  }
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};

TEST_F(KernelInterfaceTest, MatmulCounts) {
  ASSERT_TRUE(module);
  auto k = cast<KernelOpInterface>(first<MatmulOp>().getOperation());
  EXPECT_EQ(k.getKernelName(), "matmul");
  EXPECT_EQ(k.getSignatureString(), "matmul [2048,64,2048]");
  EXPECT_EQ(k.getFlops(), 2ull * 64 * 2048 * 2048);
  const uint64_t act = 64ull * 2048 * 4;
  EXPECT_EQ(k.getBytes({}), act + 2048ull * 2048 / 32 * 18 + act);
  // The same kernel with INT8 (Q8_0) weights reads 34 bytes per block.
  EXPECT_EQ(k.getBytes(QuantAttr::getQ8_0(&ctx)),
            act + 2048ull * 2048 / 32 * 34 + act);
}

TEST_F(KernelInterfaceTest, SoftmaxSignatureFollowsThePaper) {
  ASSERT_TRUE(module);
  auto k = cast<KernelOpInterface>(first<SoftmaxOp>().getOperation());
  EXPECT_EQ(k.getSignatureString(), "softmax [1024,64,32]");
  EXPECT_EQ(k.getFlops(), 5ull * 32 * 64 * 1024);
  EXPECT_EQ(k.getBytes({}), 2ull * 32 * 64 * 1024 * 4);
}

} // namespace
