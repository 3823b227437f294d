//===- ParsingTest.cpp - sizes and integer lists users type ---------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/Parsing.h"
#include "haqa/Support/Sampling.h"

#include <cmath>
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

TEST(Parsing, CountsAndSecondsOutsideTheirRangeNameTheOption) {
  EXPECT_FALSE(static_cast<bool>(checkCount("--repeats", 1, 1, 10)));
  EXPECT_FALSE(static_cast<bool>(checkCount("--repeats", 10, 1, 10)));
  EXPECT_EQ(llvm::toString(checkCount("--repeats", 0, 1, 10)),
            "--repeats must be in [1, 10], not 0");
  EXPECT_EQ(llvm::toString(checkCount("--retries", -3, 0, 20)),
            "--retries must be in [0, 20], not -3");
  EXPECT_FALSE(static_cast<bool>(checkSeconds("--timeout", 0.5, 60)));
  EXPECT_FALSE(static_cast<bool>(checkSeconds("--timeout", 60, 60)));
  for (double bad : {0.0, -1.0, 61.0, 1e300, std::nan(""), double(INFINITY)}) {
    llvm::Error e = checkSeconds("--timeout", bad, 60);
    ASSERT_TRUE(static_cast<bool>(e)) << bad;
    EXPECT_NE(llvm::toString(std::move(e))
                  .find("--timeout must be a number of seconds in (0, 60]"),
              std::string::npos);
  }
  EXPECT_EQ(llvm::toString(checkSeconds("--timeout", std::nan(""), 60)),
            "--timeout must be a number of seconds in (0, 60], not nan");
}

TEST(Sampling, ArgmaxTakesTheFirstOfTies) {
  EXPECT_EQ(argmax({0.5f, 2.0f, 2.0f, -1.0f}), 1);
  EXPECT_EQ(argmax({3.0f}), 0);
}

TEST(Sampling, TheContextBoundsAGeneration) {
  // 128 rows: a 3-token prompt leaves room for 126 tokens (the last is
  // never written to the cache); from position 120, for 6.
  EXPECT_EQ(getMaxNewTokens(0, 3, 128), 126);
  EXPECT_EQ(getMaxNewTokens(120, 3, 128), 6);
  EXPECT_EQ(getMaxNewTokens(0, 128, 128), 1);
  EXPECT_EQ(getMaxNewTokens(0, 200, 128), 0);
  EXPECT_FALSE(static_cast<bool>(checkPromptFits(0, 128, 128)));
  EXPECT_EQ(llvm::toString(checkPromptFits(0, 129, 128)),
            "a prompt of 129 tokens at position 0 does not fit the context "
            "of 128 tokens");
  llvm::Error empty = checkPromptFits(5, 0, 128); // no prompt at all
  EXPECT_TRUE(static_cast<bool>(empty));
  llvm::consumeError(std::move(empty));
}
