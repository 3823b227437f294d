//===- JSONPrefixTest.cpp - prefixes of one JSON object -------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Support/JSONPrefix.h"

#include <gtest/gtest.h>

using namespace mlir::haqa;

namespace {
/// Feeds `s` byte by byte: how many bytes were accepted.
size_t accepted(const std::string &s, JSONPrefix &p) {
  for (size_t i = 0; i < s.size(); ++i)
    if (!p.feed(s[i]))
      return i;
  return s.size();
}
} // namespace

TEST(JSONPrefix, WholeObjectsAreAcceptedAndComplete) {
  for (const char *s :
       {"{}", " { } ", "{\"a\": 1}",
        "{\"a\":[1,-2.5e+3,0,0.5,1E9,true,false,"
        "null,\"x\\u00e9\\n\\\"\",{},[]]}",
        "{\"k\": {\"n\": [[], [{}]], \"s\": \"caf\xC3\xA9\"}}\n"}) {
    JSONPrefix p;
    EXPECT_EQ(accepted(s, p), std::string(s).size()) << s;
    EXPECT_TRUE(p.isComplete()) << s;
  }
  // Every proper prefix is a prefix, not yet complete.
  std::string s = "{\"a\": [1, {\"b\": null}]}";
  for (size_t n = 0; n < s.size(); ++n) {
    JSONPrefix p;
    EXPECT_EQ(accepted(s.substr(0, n), p), n);
    EXPECT_FALSE(p.isComplete()) << s.substr(0, n);
  }
}

TEST(JSONPrefix, NonJSONIsRefusedWhereItGoesWrong) {
  struct Case {
    const char *text;
    size_t good; // bytes accepted before the refusal
  } cases[] = {
      {"[1]", 0},              // the top level is an object
      {"{\"a\" 1}", 5},        // no colon
      {"{\"a\": 01}", 7},      // a leading zero
      {"{\"a\": tru}", 9},     // a broken literal
      {"{,}", 1},              // no key
      {"{\"a\":1,}", 7},       // a trailing comma
      {"{\"a\":\"\x01\"}", 6}, // a control byte in a string
      {"{\"a\":\"\\x\"}", 7},  // an unknown escape
      {"{\"a\":1.}", 7},       // a fraction without digits
      {"{} x", 3},             // text after the object
  };
  for (const Case &c : cases) {
    JSONPrefix p;
    EXPECT_EQ(accepted(c.text, p), c.good) << c.text;
  }
  // A refused chunk leaves the state as it was.
  JSONPrefix p;
  ASSERT_TRUE(p.feed("{\"a\": "));
  EXPECT_FALSE(p.feed("1x"));
  EXPECT_TRUE(p.feed("12}"));
  EXPECT_TRUE(p.isComplete());
}
