//===- ParsingTest.cpp - sizes and integer lists users type ---------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Parsing.h"
#include "haqa/Support/Sampling.h"

#include <gtest/gtest.h>

using namespace mlir::haqa;

TEST(Parsing, ByteSizesTakeDecimalAndBinaryUnits) {
  auto bytes = [](const char *s) { return llvm::cantFail(parseByteSize(s)); };
  EXPECT_EQ(bytes("1024"), 1024u);
  EXPECT_EQ(bytes("7B"), 7u);
  EXPECT_EQ(bytes("12GB"), 12000000000u);
  EXPECT_EQ(bytes("10GiB"), 10ull << 30);
  EXPECT_EQ(bytes("256.75MiB"), 269221888u);
  EXPECT_EQ(bytes(" 2 KiB "), 2048u);
  EXPECT_EQ(bytes("1TB"), 1000000000000u);
}

TEST(Parsing, AmbiguousAndMalformedSizesAreErrors) {
  for (const char *bad :
       {"10G", "512M", "lots", "-1GB", "", "1e400GB", "nanGB", "GB"}) {
    auto b = parseByteSize(bad);
    ASSERT_FALSE(static_cast<bool>(b)) << bad;
    std::string msg = llvm::toString(b.takeError());
    EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
  }
  auto g = parseByteSize("10G");
  EXPECT_NE(llvm::toString(g.takeError()).find("ambiguous unit 'G'"),
            std::string::npos);
}

TEST(Parsing, MemoryLimitNoneIsNoLimit) {
  EXPECT_FALSE(llvm::cantFail(parseMemoryLimit("none")).has_value());
  EXPECT_FALSE(llvm::cantFail(parseMemoryLimit("")).has_value());
  EXPECT_EQ(*llvm::cantFail(parseMemoryLimit("1KiB")), 1024u);
  auto bad = parseMemoryLimit("lots");
  EXPECT_FALSE(static_cast<bool>(bad));
  llvm::consumeError(bad.takeError());
}

TEST(Parsing, IntegerListsSkipEmptyEntriesAndRejectOthers) {
  EXPECT_EQ(llvm::cantFail(parseIntList("1, 2,3")),
            (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(llvm::cantFail(parseIntList("504,,-7,")),
            (std::vector<int64_t>{504, -7}));
  EXPECT_TRUE(llvm::cantFail(parseIntList("")).empty());
  auto bad = parseIntList("1,x,3");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()), "'x' is not an integer");
}

TEST(Sampling, ArgmaxTakesTheFirstOfTies) {
  EXPECT_EQ(argmax({0.5f, 2.0f, 2.0f, -1.0f}), 1);
  EXPECT_EQ(argmax({3.0f}), 0);
}
