//===- tokenizer_fuzzer.cpp - libFuzzer target for the tokenizers -*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Encodes arbitrary bytes with a byte-level BPE vocabulary (each of the
// pre-tokenizers) and a SentencePiece one, with and without special-token
// parsing, and checks what must hold for any input: every id is in the
// vocabulary, and byte-level BPE decodes back to the input.
//
//===----------------------------------------------------------------------===//

#include "haqa/Tokenizer/Tokenizer.h"

#include <cstdlib>
#include <string>

using namespace mlir::haqa;

namespace {

/// GPT-2's bytes_to_unicode symbols, a few merges and two control tokens.
VocabData bpe(const char *pre) {
  VocabData v;
  v.model = "gpt2";
  v.pre = pre;
  for (int b = 0; b < 256; ++b)
    v.tokens.push_back(getByteLevelSymbol(static_cast<uint8_t>(b)));
  for (const char *t :
       {"he", "hel", "hell", "hello", "\xC4\xA0w", "aa", "aaa", "aaaa", "12"})
    v.tokens.push_back(t);
  v.merges = {"h e", "he l", "hel l", "hell o", "\xC4\xA0 w",
              "a a", "aa a", "aa aa", "1 2"};
  v.tokens.push_back("<|im_start|>");
  v.tokens.push_back("<|im_end|>");
  v.tokenTypes.assign(v.tokens.size(), 1);
  v.tokenTypes[v.tokens.size() - 2] = 3;
  v.tokenTypes[v.tokens.size() - 1] = 3;
  v.eos = v.tokens.size() - 1;
  return v;
}

/// A SentencePiece vocabulary with byte fallback.
VocabData spm() {
  VocabData v;
  v.model = "llama";
  for (const char *t : {"<unk>", "<s>", "</s>"})
    v.tokens.push_back(t);
  v.tokenTypes = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.tokenTypes.push_back(6);
  }
  for (const char *t : {"\xE2\x96\x81", "\xE2\x96\x81h", "he", "llo",
                        "\xE2\x96\x81hello", "a", "b"}) {
    v.tokens.push_back(t);
    v.tokenTypes.push_back(1);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  for (size_t i = 259; i < v.scores.size(); ++i)
    v.scores[i] = -static_cast<float>(i);
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  return v;
}

void check(const Tokenizer &tok, size_t vocab, llvm::StringRef text,
           bool roundTrip) {
  for (bool parse : {false, true}) {
    std::vector<int32_t> ids = tok.encode(text, /*addSpecial=*/true, parse);
    for (int32_t id : ids)
      if (id < 0 || static_cast<size_t>(id) >= vocab)
        std::abort(); // an id outside the vocabulary
    std::string back = tok.decode(ids);
    if (roundTrip && !parse && back != text)
      std::abort(); // byte-level BPE loses no byte
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const auto tokenizers = [] {
    std::vector<std::pair<Tokenizer, size_t>> t;
    for (const char *pre : {"default", "gpt2", "smollm", "llama-bpe"}) {
      VocabData v = bpe(pre);
      size_t n = v.tokens.size();
      t.emplace_back(llvm::cantFail(Tokenizer::create(std::move(v))), n);
    }
    VocabData s = spm();
    size_t n = s.tokens.size();
    t.emplace_back(llvm::cantFail(Tokenizer::create(std::move(s))), n);
    return t;
  }();
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  for (size_t i = 0; i < tokenizers.size(); ++i)
    check(tokenizers[i].first, tokenizers[i].second, text,
          /*roundTrip=*/i + 1 < tokenizers.size());
  return 0;
}
