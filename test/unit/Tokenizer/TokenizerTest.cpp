//===- TokenizerTest.cpp - BPE and SentencePiece tokenizers -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Small hand-built vocabularies with known answers; the agreement with
// llama.cpp on SmolLM2's real vocabulary is checked by
// python/check_tokenizer.py (745 of 745 strings identical).
//
//===----------------------------------------------------------------------===//

#include "haqa/Tokenizer/Tokenizer.h"

#include <gtest/gtest.h>

using namespace mlir::haqa;

namespace {

/// GPT-2 byte-level vocabulary: the 256 byte symbols, then merges
/// "h e" -> "he", "he l" -> "hel", "hel l" -> "hell", "hell o" -> "hello",
/// "Ġ w" -> "Ġw" (Ġ is the mapped space), and two control tokens.
VocabData bpeVocab(const std::string &pre) {
  VocabData v;
  v.model = "gpt2";
  v.pre = pre;
  // bytes_to_unicode, in byte order.
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) ||
                     (b >= 174 && b <= 255);
    uint32_t cp = printable ? b : next++;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    v.tokens.push_back(s);
  }
  for (const char *t : {"he", "hel", "hell", "hello", "\xC4\xA0w"})
    v.tokens.push_back(t);
  v.merges = {"h e", "he l", "hel l", "hell o", "\xC4\xA0 w"};
  v.tokens.push_back("<|im_start|>");
  v.tokens.push_back("<|im_end|>");
  v.tokenTypes.assign(v.tokens.size(), 1);
  v.tokenTypes[261] = 3;
  v.tokenTypes[262] = 3;
  v.eos = 262;
  v.chatTemplate =
      "{% ... %}<|im_start|>system\nBe brief.<|im_end|>\n{% ... %}";
  return v;
}

TEST(TokenizerTest, BPEMergesByRank) {
  auto tok = Tokenizer::create(bpeVocab("default"));
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  // "hello" merges fully; " w" is one token; "orld" stays bytes.
  std::vector<int32_t> ids = tok->encode("hello world", false, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{259, 260, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(tok->decode(ids), "hello world");
}

TEST(TokenizerTest, BPEMergesLowestRankFirstLeftmostOnTies) {
  // Ranks: "a a" 0, "aa a" 1, "aa aa" 2; the pair of lowest rank merges
  // first, the leftmost of equal ones, as when every pair is rescanned
  // after each merge.
  VocabData v = bpeVocab("default");
  for (const char *t : {"aa", "aaa", "aaaa"})
    v.tokens.push_back(t);
  v.tokenTypes.assign(v.tokens.size(), 1);
  v.merges = {"a a", "aa a", "aa aa"};
  auto tok = Tokenizer::create(std::move(v));
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  int32_t aa = 263, aaa = 264, aaaa = 265;
  // a a a a a -> aa a a a -> aa aa a -> aa aaa ("aa a", rank 1, before
  // "aa aa", rank 2); "aa aaa" has no rank.
  EXPECT_EQ(tok->encode("aaaaa", false, false),
            (std::vector<int32_t>{aa, aaa}));
  // a a a a -> aa a a -> aa aa -> aaaa.
  EXPECT_EQ(tok->encode("aaaa", false, false), (std::vector<int32_t>{aaaa}));
  EXPECT_EQ(tok->encode("aaa", false, false), (std::vector<int32_t>{aaa}));
  // A word of 200,000 letters (it took minutes when every merge rescanned
  // every pair): 50,000 "aaaa" tokens.
  std::vector<int32_t> ids =
      tok->encode(std::string(200000, 'a'), false, false);
  EXPECT_EQ(ids, std::vector<int32_t>(50000, aaaa));
}

TEST(TokenizerTest, BPERoundTripsAnyBytes) {
  auto tok = Tokenizer::create(bpeVocab("default"));
  ASSERT_TRUE(bool(tok));
  std::string text = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC  \t x\n\n12 it's";
  EXPECT_EQ(tok->decode(tok->encode(text, false, false)), text);
}

TEST(TokenizerTest, SmolLMSplitsDigits) {
  // With a merge "1 2" the GPT-2 splitter keeps " 123" in one piece and
  // merges "12"; SmolLM's pre-tokenizer splits every digit first.
  VocabData base = bpeVocab("default");
  base.tokens.push_back("12");
  base.tokenTypes.push_back(1);
  base.merges.push_back("1 2");
  VocabData smolData = base;
  smolData.pre = "smollm";
  auto gpt2 = Tokenizer::create(base);
  auto smol = Tokenizer::create(smolData);
  ASSERT_TRUE(bool(gpt2) && bool(smol));
  const int32_t space = ' '; // token of byte 0x20, whose text is U+0120
  EXPECT_EQ(gpt2->encode("x 123", false, false),
            (std::vector<int32_t>{'x', space, 263, '3'}));
  EXPECT_EQ(smol->encode("x 123", false, false),
            (std::vector<int32_t>{'x', space, '1', '2', '3'}));
  EXPECT_EQ(smol->decode(smol->encode("x 123", false, false)), "x 123");
}

TEST(TokenizerTest, Qwen2SplitsSingleDigitsLlama3Triples) {
  // Llama 3's expression keeps up to three digits in a piece; Qwen2's is
  // the same with one digit per piece.
  VocabData base = bpeVocab("llama-bpe");
  base.tokens.push_back("12");
  base.tokenTypes.push_back(1);
  base.merges.push_back("1 2");
  VocabData qwenData = base;
  qwenData.pre = "qwen2";
  auto llama3 = Tokenizer::create(base);
  auto qwen2 = Tokenizer::create(qwenData);
  ASSERT_TRUE(bool(llama3) && bool(qwen2));
  const int32_t space = ' ';
  EXPECT_EQ(llama3->encode("x 1234", false, false),
            (std::vector<int32_t>{'x', space, 263, '3', '4'}));
  EXPECT_EQ(qwen2->encode("x 1234", false, false),
            (std::vector<int32_t>{'x', space, '1', '2', '3', '4'}));
  EXPECT_EQ(qwen2->decode(qwen2->encode("x 1234 it's", false, false)),
            "x 1234 it's");
}

TEST(TokenizerTest, SpecialTokensOnlyWhenParsed) {
  auto tok = Tokenizer::create(bpeVocab("default"));
  ASSERT_TRUE(bool(tok));
  std::vector<int32_t> parsed = tok->encode("<|im_start|>hello", false, true);
  EXPECT_EQ(parsed, (std::vector<int32_t>{261, 259}));
  std::vector<int32_t> literal = tok->encode("<|im_start|>hello", false, false);
  EXPECT_GT(literal.size(), 2u);
  EXPECT_EQ(tok->decode(parsed), "hello");
  EXPECT_EQ(tok->decode(parsed, /*renderSpecial=*/true), "<|im_start|>hello");
  EXPECT_TRUE(tok->isEndOfGeneration(262));
  EXPECT_FALSE(tok->isEndOfGeneration(259));
}

TEST(TokenizerTest, ChatMLTemplateAddsTheDefaultSystemMessage) {
  auto tok = Tokenizer::create(bpeVocab("default"));
  ASSERT_TRUE(bool(tok));
  auto text = tok->applyChatTemplate({{"user", "Hi"}}, true);
  ASSERT_TRUE(bool(text));
  EXPECT_EQ(*text, "<|im_start|>system\nBe brief.<|im_end|>\n"
                   "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(TokenizerTest, ChatMLDefaultSystemMessageFromAJinjaString) {
  // Qwen2.5's template: the branch inserting the conversation's own system
  // message first, then the default as a Jinja string with "\n" escapes.
  VocabData v = bpeVocab("default");
  v.chatTemplate =
      "{%- if messages[0]['role'] == 'system' %}\n"
      "{{- '<|im_start|>system\\n' + messages[0]['content'] + "
      "'<|im_end|>\\n' }}\n{%- else %}\n"
      "{{- '<|im_start|>system\\nYou are Qwen.\\nBe kind.<|im_end|>\\n' }}";
  auto tok = Tokenizer::create(std::move(v));
  ASSERT_TRUE(bool(tok));
  auto text = tok->applyChatTemplate({{"user", "Hi"}}, true);
  ASSERT_TRUE(bool(text));
  EXPECT_EQ(*text, "<|im_start|>system\nYou are Qwen.\nBe kind.<|im_end|>\n"
                   "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // A conversation with its own system message keeps it alone.
  auto own = tok->applyChatTemplate({{"system", "S"}, {"user", "Hi"}}, true);
  ASSERT_TRUE(bool(own));
  EXPECT_EQ(own->find("Qwen"), std::string::npos);
}

/// SentencePiece: characters, "▁h", "▁he", "llo", byte tokens.
VocabData spmVocab() {
  VocabData v;
  v.model = "llama";
  auto add = [&](const std::string &t, float score, int type) {
    v.tokens.push_back(t);
    v.scores.push_back(score);
    v.tokenTypes.push_back(type);
  };
  add("<unk>", 0, 2);
  add("<s>", 0, 3);
  add("</s>", 0, 3);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    snprintf(buf, sizeof(buf), "<0x%02X>", b);
    add(buf, 0, 6);
  }
  int base = v.tokens.size();
  add("\xE2\x96\x81", -1, 1); // ▁
  add("h", -2, 1);
  add("e", -2, 1);
  add("l", -2, 1);
  add("o", -2, 1);
  add("\xE2\x96\x81h", -0.5f, 1);
  add("\xE2\x96\x81he", -0.2f, 1);
  add("ll", -0.3f, 1);
  add("llo", -0.1f, 1);
  v.bos = 1;
  v.eos = 2;
  v.unk = 0;
  (void)base;
  return v;
}

TEST(TokenizerTest, SentencePieceMergesByScoreWithByteFallback) {
  auto tok = Tokenizer::create(spmVocab());
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  int base = 3 + 256;
  std::vector<int32_t> ids = tok->encode("hello!", true, false);
  // BOS, "▁he", "llo", then '!' has no token: byte fallback <0x21>.
  EXPECT_EQ(ids, (std::vector<int32_t>{1, base + 6, base + 8, 3 + '!'}));
  EXPECT_EQ(tok->decode(ids), "hello!");
}

TEST(TokenizerTest, RejectsBadVocabularies) {
  VocabData v = bpeVocab("default");
  v.model = "wordpiece";
  EXPECT_EQ(llvm::toString(Tokenizer::create(v).takeError()),
            "unsupported tokenizer model 'wordpiece' (supported: gpt2, llama)");
  v = bpeVocab("deepseek-llm");
  EXPECT_EQ(llvm::toString(Tokenizer::create(v).takeError()),
            "unsupported pre-tokenizer 'deepseek-llm' (supported: default, "
            "gpt2, smollm, llama-bpe, qwen2)");
  v = bpeVocab("default");
  v.eos = 100000;
  EXPECT_EQ(llvm::toString(Tokenizer::create(v).takeError()),
            "special token id 100000 outside the vocabulary of 263");
}

} // namespace
