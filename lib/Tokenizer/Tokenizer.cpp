//===- Tokenizer.cpp - GGUF vocabularies: BPE and SentencePiece -*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Follows llama.cpp's llama-vocab.cpp and unicode.cpp:
// - byte-level BPE: text is split by the pre-tokenizer of the vocabulary
//   (the GPT-2 expression; SmolLM2 splits every digit first; Llama 3 has its
//   own expression and takes whole-word tokens before merging), each piece
//   is mapped byte by byte through GPT-2's bytes_to_unicode and merged by
//   merge rank, lowest first;
// - SentencePiece: spaces become U+2581 (with a leading one), characters
//   are merged by token score, highest first, unknown pieces fall back to
//   <0xXX> byte tokens.
// Unicode letter / number / space classes cover the Latin, Greek, Cyrillic,
// Armenian, Hebrew, Arabic, Indic, Thai, Hangul, kana and CJK blocks; other
// code points count as symbols (combining marks too: an approximation).
//
//===----------------------------------------------------------------------===//

#include "haqa/Tokenizer/Tokenizer.h"
#include "haqa/Support/Parsing.h"
#include "haqa/Support/Sampling.h"
#include "haqa/Weights/GGUF.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <queue>

using namespace mlir::haqa;
using llvm::StringRef;

//===----------------------------------------------------------------------===//
// Unicode
//===----------------------------------------------------------------------===//

namespace {

struct CodePoint {
  uint32_t cp;
  size_t begin, end; // byte range in the text
};

/// Code points of UTF-8 `text`; an invalid byte becomes U+FFFD of one byte.
std::vector<CodePoint> codePoints(StringRef text) {
  std::vector<CodePoint> out;
  size_t i = 0;
  while (i < text.size()) {
    auto b = static_cast<unsigned char>(text[i]);
    unsigned len = b < 0x80         ? 1
                   : (b >> 5) == 6  ? 2
                   : (b >> 4) == 14 ? 3
                   : (b >> 3) == 30 ? 4
                                    : 0;
    uint32_t cp = 0xFFFD;
    if (len == 1) {
      cp = b;
    } else if (len && i + len <= text.size()) {
      cp = b & (0x7F >> len);
      bool ok = true;
      for (unsigned k = 1; k < len && ok; ++k) {
        auto c = static_cast<unsigned char>(text[i + k]);
        ok = (c >> 6) == 2;
        cp = (cp << 6) | (c & 0x3F);
      }
      if (!ok) {
        cp = 0xFFFD;
        len = 1;
      }
    } else {
      len = 1;
    }
    out.push_back({cp, i, i + len});
    i += len;
  }
  return out;
}

void appendUTF8(uint32_t cp, std::string &out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool isSpace(uint32_t c) {
  return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool isNumber(uint32_t c) {
  return (c >= '0' && c <= '9') || c == 0xB2 || c == 0xB3 || c == 0xB9 ||
         (c >= 0xBC && c <= 0xBE) || (c >= 0x660 && c <= 0x669) ||
         (c >= 0x6F0 && c <= 0x6F9) || (c >= 0x966 && c <= 0x96F) ||
         (c >= 0xE50 && c <= 0xE59) || c == 0x2070 ||
         (c >= 0x2074 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089) ||
         (c >= 0x2150 && c <= 0x2189) || (c >= 0x2460 && c <= 0x249B) ||
         c == 0x3007 || (c >= 0x3021 && c <= 0x3029) ||
         (c >= 0xFF10 && c <= 0xFF19);
}

bool isLetter(uint32_t c) {
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
    return true;
  if (c < 0xAA)
    return false;
  if (c == 0xAA || c == 0xB5 || c == 0xBA)
    return true;
  if (c >= 0xC0 && c <= 0x2AF)
    return c != 0xD7 && c != 0xF7;
  if (c >= 0x370 && c <= 0x3FF)
    return c != 0x375 && c != 0x37E && c != 0x384 && c != 0x385 && c != 0x387 &&
           c != 0x3F6;
  if (c >= 0x400 && c <= 0x52F)
    return !(c >= 0x482 && c <= 0x489);
  if (c >= 0x531 && c <= 0x587)
    return !(c >= 0x557 && c <= 0x560);
  if ((c >= 0x5D0 && c <= 0x5EA) || (c >= 0x620 && c <= 0x64A) ||
      (c >= 0x671 && c <= 0x6D3) || (c >= 0x904 && c <= 0x939) ||
      (c >= 0x958 && c <= 0x961) || (c >= 0xE01 && c <= 0xE30) ||
      (c >= 0xE40 && c <= 0xE46) || (c >= 0x10A0 && c <= 0x10FF) ||
      (c >= 0x1100 && c <= 0x11FF) || (c >= 0x1E00 && c <= 0x1FBC) ||
      (c >= 0x3041 && c <= 0x3096) || (c >= 0x30A1 && c <= 0x30FA) ||
      (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
      (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A) ||
      (c >= 0xFF66 && c <= 0xFF9D) || (c >= 0x20000 && c <= 0x2FA1F))
    return true;
  return false;
}

/// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others
/// to U+0100 upwards.
const std::vector<uint32_t> &byteToCodePoint() {
  static const std::vector<uint32_t> table = [] {
    std::vector<uint32_t> t(256);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) ||
                       (b >= 174 && b <= 255);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

int codePointToByte(uint32_t cp) {
  static const llvm::DenseMap<uint32_t, int> inverse = [] {
    llvm::DenseMap<uint32_t, int> m;
    for (int b = 0; b < 256; ++b)
      m[byteToCodePoint()[b]] = b;
    return m;
  }();
  auto it = inverse.find(cp);
  return it == inverse.end() ? -1 : it->second;
}

enum class PreTokenizer { GPT2, Digits, Llama3, Qwen2 };

/// Splits `text` into pieces (byte ranges) by the GPT-2 expression
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void splitGPT2(StringRef text, std::vector<std::string> &out) {
  std::vector<CodePoint> cps = codePoints(text);
  size_t n = cps.size(), pos = 0;
  auto at = [&](size_t i) -> uint32_t {
    return i < n ? cps[i].cp : 0xFFFFFFFF;
  };
  auto emit = [&](size_t start, size_t end) {
    out.push_back(text.slice(cps[start].begin, cps[end - 1].end).str());
  };
  while (pos < n) {
    uint32_t c = at(pos);
    if (c == '\'' && pos + 1 < n) {
      uint32_t c1 = at(pos + 1), c2 = at(pos + 2);
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
        emit(pos, pos + 2);
        pos += 2;
        continue;
      }
      if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
          (c1 == 'l' && c2 == 'l')) {
        emit(pos, pos + 3);
        pos += 3;
        continue;
      }
    }
    uint32_t c2 = c == ' ' ? at(pos + 1) : c;
    size_t start = pos;
    if (c2 != 0xFFFFFFFF && isLetter(c2)) {
      pos += c == ' ';
      while (pos < n && isLetter(at(pos)))
        ++pos;
      emit(start, pos);
      continue;
    }
    if (c2 != 0xFFFFFFFF && isNumber(c2)) {
      pos += c == ' ';
      while (pos < n && isNumber(at(pos)))
        ++pos;
      emit(start, pos);
      continue;
    }
    if (c2 != 0xFFFFFFFF && !isSpace(c2)) {
      pos += c == ' ';
      while (pos < n && !isSpace(at(pos)) && !isLetter(at(pos)) &&
             !isNumber(at(pos)))
        ++pos;
      emit(start, pos);
      continue;
    }
    size_t spaces = 0;
    while (pos + spaces < n && isSpace(at(pos + spaces)))
      ++spaces;
    if (spaces > 1 && pos + spaces < n) { // \s+(?!\S)
      emit(pos, pos + spaces - 1);
      pos += spaces - 1;
      continue;
    }
    if (spaces > 0) { // \s+
      emit(pos, pos + spaces);
      pos += spaces;
      continue;
    }
    emit(pos, pos + 1);
    ++pos;
  }
}

/// Llama 3's expression:
///   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
///   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// Qwen2's is the same with \p{N} (one digit per piece): `maxDigits` 1.
void splitLlama3(StringRef text, std::vector<std::string> &out,
                 size_t maxDigits = 3) {
  std::vector<CodePoint> cps = codePoints(text);
  size_t n = cps.size(), pos = 0;
  const uint32_t none = 0xFFFFFFFF;
  auto at = [&](size_t i) -> uint32_t { return i < n ? cps[i].cp : none; };
  auto lower = [](uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
  auto emit = [&](size_t start, size_t end) {
    out.push_back(text.slice(cps[start].begin, cps[end - 1].end).str());
  };
  auto isNL = [](uint32_t c) { return c == '\r' || c == '\n'; };
  while (pos < n) {
    uint32_t c = at(pos);
    if (c == '\'' && pos + 1 < n) {
      uint32_t c1 = lower(at(pos + 1)), c2 = lower(at(pos + 2));
      if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
        emit(pos, pos + 2);
        pos += 2;
        continue;
      }
      if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
          (c1 == 'l' && c2 == 'l')) {
        emit(pos, pos + 3);
        pos += 3;
        continue;
      }
    }
    size_t start = pos;
    if (!isNL(c) && !isNumber(c) &&
        (isLetter(c) || (at(pos + 1) != none && isLetter(at(pos + 1))))) {
      ++pos;
      while (pos < n && isLetter(at(pos)))
        ++pos;
      emit(start, pos);
      continue;
    }
    if (isNumber(c)) {
      while (pos < n && pos - start < maxDigits && isNumber(at(pos)))
        ++pos;
      emit(start, pos);
      continue;
    }
    uint32_t c2 = c == ' ' ? at(pos + 1) : c;
    if (c2 != none && !isSpace(c2) && !isLetter(c2) && !isNumber(c2)) {
      pos += c == ' ';
      while (pos < n && !isSpace(at(pos)) && !isLetter(at(pos)) &&
             !isNumber(at(pos)))
        ++pos;
      while (pos < n && isNL(at(pos)))
        ++pos;
      emit(start, pos);
      continue;
    }
    size_t spaces = 0, lastNL = 0;
    bool sawNL = false;
    while (pos + spaces < n && isSpace(at(pos + spaces))) {
      if (isNL(at(pos + spaces))) {
        sawNL = true;
        lastNL = pos + spaces;
      }
      ++spaces;
    }
    if (sawNL) { // \s*[\r\n]+
      emit(pos, lastNL + 1);
      pos = lastNL + 1;
      continue;
    }
    if (spaces > 1 && pos + spaces < n) {
      emit(pos, pos + spaces - 1);
      pos += spaces - 1;
      continue;
    }
    if (spaces > 0) {
      emit(pos, pos + spaces);
      pos += spaces;
      continue;
    }
    emit(pos, pos + 1);
    ++pos;
  }
}

PreTokenizer preTokenizerOf(StringRef pre) {
  if (pre == "smollm")
    return PreTokenizer::Digits;
  if (pre == "llama-bpe" || pre == "llama3")
    return PreTokenizer::Llama3;
  if (pre == "qwen2")
    return PreTokenizer::Qwen2;
  return PreTokenizer::GPT2;
}

bool isKnownPreTokenizer(StringRef pre) {
  return pre.empty() || pre == "default" || pre == "gpt2" || pre == "gpt-2" ||
         pre == "smollm" || pre == "llama-bpe" || pre == "llama3" ||
         pre == "qwen2";
}

} // namespace

std::string mlir::haqa::getByteLevelSymbol(uint8_t byte) {
  std::string s;
  appendUTF8(byteToCodePoint()[byte], s);
  return s;
}

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

llvm::Expected<Tokenizer> Tokenizer::create(VocabData data) {
  if (data.model != "gpt2" && data.model != "llama")
    return llvm::createStringError("unsupported tokenizer model '" +
                                   data.model + "' (supported: gpt2, llama)");
  if (data.model == "gpt2" && !isKnownPreTokenizer(data.pre))
    return llvm::createStringError(
        "unsupported pre-tokenizer '" + data.pre +
        "' (supported: default, gpt2, smollm, llama-bpe, qwen2)");
  if (data.tokens.empty())
    return llvm::createStringError("the vocabulary has no tokens");
  int64_t n = data.tokens.size();
  if (!data.tokenTypes.empty() && (int64_t)data.tokenTypes.size() != n)
    return llvm::createStringError(
        "token_type has " + llvm::Twine(data.tokenTypes.size()) +
        " entries for " + llvm::Twine(n) + " tokens");
  if (data.model == "llama" && (int64_t)data.scores.size() != n)
    return llvm::createStringError(
        "scores has " + llvm::Twine(data.scores.size()) + " entries for " +
        llvm::Twine(n) + " tokens");
  for (int32_t *id : {&data.bos, &data.eos, &data.unk, &data.pad, &data.eot})
    if (*id >= n)
      return llvm::createStringError("special token id " + llvm::Twine(*id) +
                                     " outside the vocabulary of " +
                                     llvm::Twine(n));
  Tokenizer t(std::move(data));
  for (int32_t i = 0; i < n; ++i)
    t.ids.try_emplace(t.data.tokens[i], i);
  for (size_t r = 0; r < t.data.merges.size(); ++r) {
    if (StringRef(t.data.merges[r]).count(' ') < 1)
      return llvm::createStringError("merge " + llvm::Twine(r) + " '" +
                                     t.data.merges[r] +
                                     "' is not two space-separated pieces");
    t.mergeRanks.try_emplace(t.data.merges[r], r);
  }
  for (int32_t i = 0; i < n; ++i) {
    int32_t type = t.data.tokenTypes.empty() ? 1 : t.data.tokenTypes[i];
    if ((type == 3 || type == 4) && !t.data.tokens[i].empty())
      t.specials.push_back({t.data.tokens[i], i});
  }
  std::stable_sort(t.specials.begin(), t.specials.end(),
                   [](const auto &a, const auto &b) {
                     return a.first.size() > b.first.size();
                   });
  for (int32_t id : {t.data.eos, t.data.eot})
    if (id >= 0)
      t.endOfGeneration.push_back(id);
  for (StringRef s : {"<|im_end|>", "<|eot_id|>", "<|end_of_text|>",
                      "<|endoftext|>", "</s>"}) {
    auto it = t.ids.find(s);
    if (it != t.ids.end() && t.isControl(it->second))
      t.endOfGeneration.push_back(it->second);
  }
  return std::move(t);
}

bool Tokenizer::isControl(int32_t id) const {
  return !data.tokenTypes.empty() && id >= 0 &&
         id < (int32_t)data.tokenTypes.size() && data.tokenTypes[id] == 3;
}

bool Tokenizer::isEndOfGeneration(int32_t id) const {
  return llvm::is_contained(endOfGeneration, id);
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

std::vector<std::string> Tokenizer::preTokenize(StringRef text) const {
  std::vector<std::string> pieces;
  switch (preTokenizerOf(data.pre)) {
  case PreTokenizer::GPT2:
    splitGPT2(text, pieces);
    break;
  case PreTokenizer::Llama3:
    splitLlama3(text, pieces);
    break;
  case PreTokenizer::Qwen2:
    splitLlama3(text, pieces, /*maxDigits=*/1);
    break;
  case PreTokenizer::Digits: {
    // \p{N} first: every digit alone, the text between kept, then GPT-2.
    std::vector<CodePoint> cps = codePoints(text);
    size_t runStart = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (i < cps.size() && !isNumber(cps[i].cp))
        continue;
      if (i > runStart)
        splitGPT2(text.slice(cps[runStart].begin, cps[i - 1].end), pieces);
      if (i < cps.size())
        pieces.push_back(text.slice(cps[i].begin, cps[i].end).str());
      runStart = i + 1;
    }
    break;
  }
  }
  return pieces;
}

/// Merges the adjacent pair of lowest rank (leftmost on ties) until no
/// pair has a rank, in O(n log n) for n symbols: the symbols form a linked
/// list, every candidate pair waits in a heap ordered by (rank, position),
/// and a pair whose symbols changed since it was pushed is skipped when it
/// comes up. The same merges, in the same order, as rescanning every pair
/// after each merge, which took minutes on a 100k-character word.
std::vector<std::string>
Tokenizer::mergeByRank(std::vector<std::string> symbols) const {
  struct Symbol {
    std::string text;
    int64_t prev, next;
    uint32_t version = 0;
    bool alive = true;
  };
  struct Pair {
    size_t rank;
    int64_t left, right;
    uint32_t leftVersion, rightVersion;
    // A min-heap on (rank, left): std::priority_queue pops the largest.
    bool operator<(const Pair &o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  int64_t n = symbols.size();
  std::vector<Symbol> sym(n);
  for (int64_t i = 0; i < n; ++i)
    sym[i] = {std::move(symbols[i]), i - 1, i + 1 < n ? i + 1 : -1};
  std::priority_queue<Pair> heap;
  std::string key;
  auto push = [&](int64_t left) {
    if (left < 0 || sym[left].next < 0)
      return;
    int64_t right = sym[left].next;
    key = sym[left].text;
    key += ' ';
    key += sym[right].text;
    auto it = mergeRanks.find(key);
    if (it != mergeRanks.end())
      heap.push({static_cast<size_t>(it->second), left, right,
                 sym[left].version, sym[right].version});
  };
  for (int64_t i = 0; i + 1 < n; ++i)
    push(i);
  while (!heap.empty()) {
    Pair p = heap.top();
    heap.pop();
    Symbol &l = sym[p.left], &r = sym[p.right];
    if (!l.alive || !r.alive || l.next != p.right ||
        l.version != p.leftVersion || r.version != p.rightVersion)
      continue; // stale: one of its symbols merged since
    l.text += r.text;
    ++l.version;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0)
      sym[r.next].prev = p.left;
    push(l.prev);
    push(p.left);
  }
  std::vector<std::string> out;
  for (int64_t i = n ? 0 : -1; i >= 0; i = sym[i].next)
    out.push_back(std::move(sym[i].text));
  return out;
}

void Tokenizer::encodeBPE(StringRef text, std::vector<int32_t> &out) const {
  bool ignoreMerges = preTokenizerOf(data.pre) == PreTokenizer::Llama3;
  for (const std::string &piece : preTokenize(text)) {
    // Map bytes to GPT-2's printable code points; one symbol per byte.
    std::vector<std::string> symbols;
    std::string mapped;
    for (unsigned char b : piece) {
      std::string s;
      appendUTF8(byteToCodePoint()[b], s);
      symbols.push_back(s);
      mapped += s;
    }
    if (ignoreMerges) {
      auto it = ids.find(mapped);
      if (it != ids.end()) {
        out.push_back(it->second);
        continue;
      }
    }
    symbols = mergeByRank(std::move(symbols));
    for (const std::string &s : symbols) {
      auto it = ids.find(s);
      if (it != ids.end()) {
        out.push_back(it->second);
        continue;
      }
      // Not a token: one token per byte-character.
      for (const CodePoint &cp : codePoints(s)) {
        auto byteIt = ids.find(s.substr(cp.begin, cp.end - cp.begin));
        if (byteIt != ids.end())
          out.push_back(byteIt->second);
        else if (data.unk >= 0)
          out.push_back(data.unk);
      }
    }
  }
}

void Tokenizer::encodeSPM(StringRef text, bool first,
                          std::vector<int32_t> &out) const {
  // Spaces become U+2581, with one in front when the vocabulary asks.
  std::string escaped;
  if (first && data.addSpacePrefix.value_or(true))
    escaped = "\xE2\x96\x81";
  for (char c : text) {
    if (c == ' ')
      escaped += "\xE2\x96\x81";
    else
      escaped += c;
  }
  struct Symbol {
    int64_t prev, next;
    size_t begin, len;
  };
  std::vector<Symbol> sym;
  for (const CodePoint &cp : codePoints(escaped))
    sym.push_back({(int64_t)sym.size() - 1, (int64_t)sym.size() + 1, cp.begin,
                   cp.end - cp.begin});
  if (sym.empty())
    return;
  sym.back().next = -1;
  struct Bigram {
    int64_t left, right;
    float score;
    size_t size;
  };
  auto cmp = [](const Bigram &a, const Bigram &b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(cmp)> queue(cmp);
  auto tryAdd = [&](int64_t l, int64_t r) {
    if (l < 0 || r < 0)
      return;
    StringRef s(escaped.data() + sym[l].begin, sym[l].len + sym[r].len);
    auto it = ids.find(s);
    if (it == ids.end())
      return;
    queue.push({l, r, data.scores[it->second], s.size()});
  };
  for (size_t i = 1; i < sym.size(); ++i)
    tryAdd(i - 1, i);
  while (!queue.empty()) {
    Bigram b = queue.top();
    queue.pop();
    Symbol &l = sym[b.left], &r = sym[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size)
      continue; // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0)
      sym[r.next].prev = b.left;
    tryAdd(l.prev, b.left);
    tryAdd(b.left, l.next);
  }
  for (int64_t i = 0; i >= 0; i = sym[i].next) {
    StringRef s(escaped.data() + sym[i].begin, sym[i].len);
    auto it = ids.find(s);
    if (it != ids.end()) {
      out.push_back(it->second);
      continue;
    }
    for (unsigned char b : s) { // byte fallback
      auto byteIt = ids.find(llvm::formatv("<0x{0:X-2}>", b).str());
      if (byteIt != ids.end())
        out.push_back(byteIt->second);
      else if (data.unk >= 0)
        out.push_back(data.unk);
    }
  }
}

std::vector<int32_t> Tokenizer::encode(StringRef text, bool addSpecial,
                                       bool parseSpecial) const {
  std::vector<int32_t> out;
  bool spm = data.model == "llama";
  if (addSpecial && data.bos >= 0 && data.addBos.value_or(spm))
    out.push_back(data.bos);
  // Split out special-token texts (longest first), then encode the rest.
  std::vector<std::pair<std::string, int32_t>> fragments = {{text.str(), -1}};
  if (parseSpecial) {
    for (const auto &[special, id] : specials) {
      std::vector<std::pair<std::string, int32_t>> next;
      for (auto &frag : fragments) {
        if (frag.second >= 0) {
          next.push_back(std::move(frag));
          continue;
        }
        StringRef rest = frag.first;
        size_t at;
        while ((at = rest.find(special)) != StringRef::npos) {
          if (at > 0)
            next.push_back({rest.take_front(at).str(), -1});
          next.push_back({special, id});
          rest = rest.drop_front(at + special.size());
        }
        if (!rest.empty())
          next.push_back({rest.str(), -1});
      }
      fragments = std::move(next);
    }
  }
  bool prevSpecial = true;
  for (const auto &[fragText, id] : fragments) {
    if (id >= 0) {
      out.push_back(id);
      prevSpecial = true;
      continue;
    }
    if (spm)
      encodeSPM(fragText, prevSpecial, out);
    else
      encodeBPE(fragText, out);
    prevSpecial = false;
  }
  if (addSpecial && data.eos >= 0 && data.addEos.value_or(false))
    out.push_back(data.eos);
  return out;
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

std::string Tokenizer::tokenText(int32_t id) const {
  if (id < 0 || id >= (int32_t)data.tokens.size())
    return "";
  return data.tokens[id];
}

std::string Tokenizer::decode(llvm::ArrayRef<int32_t> idsToDecode,
                              bool renderSpecial) const {
  std::string out;
  bool spm = data.model == "llama";
  for (int32_t id : idsToDecode) {
    if (id < 0 || id >= (int32_t)data.tokens.size())
      continue;
    int32_t type = data.tokenTypes.empty() ? 1 : data.tokenTypes[id];
    const std::string &text = data.tokens[id];
    if (type == 3) { // control
      if (renderSpecial)
        out += text;
      continue;
    }
    if (type == 4) { // user defined: as written
      out += text;
      continue;
    }
    if (spm) {
      unsigned byte;
      if (type == 6 && StringRef(text).starts_with("<0x") &&
          !StringRef(text).substr(3, 2).getAsInteger(16, byte)) {
        out += static_cast<char>(byte);
        continue;
      }
      for (size_t i = 0; i < text.size(); ++i) {
        if (StringRef(text).substr(i).starts_with("\xE2\x96\x81")) {
          out += ' ';
          i += 2;
        } else {
          out += text[i];
        }
      }
      continue;
    }
    for (const CodePoint &cp : codePoints(text)) {
      int b = codePointToByte(cp.cp);
      if (b >= 0)
        out += static_cast<char>(b);
      else
        out += text.substr(cp.begin, cp.end - cp.begin);
    }
  }
  // SentencePiece's leading space belongs to the prefix it added.
  if (spm && data.addSpacePrefix.value_or(true) && !out.empty() &&
      out[0] == ' ')
    out.erase(0, 1);
  return out;
}

//===----------------------------------------------------------------------===//
// Chat templates
//===----------------------------------------------------------------------===//

llvm::Expected<std::string>
Tokenizer::applyChatTemplate(llvm::ArrayRef<ChatMessage> messages,
                             bool addGenerationPrompt) const {
  StringRef tmpl = data.chatTemplate;
  std::string out;
  if (tmpl.contains("<|im_start|>")) {
    // ChatML. SmolLM2's and Qwen2.5's templates add their own system
    // message when the conversation has none: take it from the template
    // text, the first "<|im_start|>system" + newline (real, or escaped as
    // in a Jinja string) followed by plain text up to "<|im_end|>" (not
    // the branch that inserts the conversation's own system message).
    if (!messages.empty() && messages[0].role != "system") {
      StringRef marker = "<|im_start|>system";
      for (size_t at = tmpl.find(marker); at != StringRef::npos;
           at = tmpl.find(marker, at + 1)) {
        StringRef rest = tmpl.drop_front(at + marker.size());
        if (!rest.consume_front("\n") && !rest.consume_front("\\n"))
          continue;
        size_t end = rest.find("<|im_end|>");
        if (end == StringRef::npos)
          break;
        StringRef text = rest.take_front(end);
        if (text.find_first_of("'\"{}+") != StringRef::npos)
          continue;
        std::string system;
        for (size_t i = 0; i < text.size(); ++i) {
          if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
            system += '\n';
            ++i;
          } else {
            system += text[i];
          }
        }
        out += "<|im_start|>system\n" + system + "<|im_end|>\n";
        break;
      }
    }
    for (const ChatMessage &m : messages)
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (addGenerationPrompt)
      out += "<|im_start|>assistant\n";
    return out;
  }
  if (tmpl.contains("<|start_header_id|>")) {
    for (const ChatMessage &m : messages)
      out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" +
             StringRef(m.content).trim().str() + "<|eot_id|>";
    if (addGenerationPrompt)
      out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
  }
  if (tmpl.contains("[INST]")) {
    std::string system;
    for (const ChatMessage &m : messages) {
      if (m.role == "system") {
        system = m.content;
      } else if (m.role == "user") {
        out += "[INST] ";
        if (!system.empty())
          out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
        out += StringRef(m.content).trim().str() + " [/INST]";
        system.clear();
      } else {
        out += " " + StringRef(m.content).trim().str() + " </s>";
      }
    }
    return out;
  }
  return llvm::createStringError(tmpl.empty() ? "the model has no chat template"
                                              : "unsupported chat template");
}

//===----------------------------------------------------------------------===//
// From GGUF metadata
//===----------------------------------------------------------------------===//

llvm::Expected<VocabData> mlir::haqa::readVocab(const GGUFFile &file) {
  VocabData v;
  auto model = file.getString("tokenizer.ggml.model");
  if (!model)
    return model.takeError();
  v.model = *model;
  if (const GGUFValue *pre = file.lookup("tokenizer.ggml.pre"))
    v.pre = pre->string;
  const GGUFValue *tokens = file.lookup("tokenizer.ggml.tokens");
  if (!tokens || tokens->elementType != GGUFValueType::String)
    return file.error("metadata 'tokenizer.ggml.tokens': expected an array of "
                      "strings");
  v.tokens = tokens->strings;
  if (const GGUFValue *s = file.lookup("tokenizer.ggml.scores"))
    v.scores.assign(s->numbers.begin(), s->numbers.end());
  if (const GGUFValue *t = file.lookup("tokenizer.ggml.token_type"))
    for (double d : t->numbers)
      v.tokenTypes.push_back(static_cast<int32_t>(d));
  if (const GGUFValue *m = file.lookup("tokenizer.ggml.merges"))
    v.merges = m->strings;
  auto id = [&](StringRef key, int32_t &out) -> llvm::Error {
    if (!file.lookup(key))
      return llvm::Error::success();
    auto value = file.getUInt(key);
    if (!value)
      return value.takeError();
    out = static_cast<int32_t>(std::min<uint64_t>(*value, INT32_MAX));
    return llvm::Error::success();
  };
  for (auto [key, out] :
       {std::make_pair("tokenizer.ggml.bos_token_id", &v.bos),
        std::make_pair("tokenizer.ggml.eos_token_id", &v.eos),
        std::make_pair("tokenizer.ggml.unknown_token_id", &v.unk),
        std::make_pair("tokenizer.ggml.padding_token_id", &v.pad),
        std::make_pair("tokenizer.ggml.eot_token_id", &v.eot)})
    if (llvm::Error e = id(key, *out))
      return std::move(e);
  auto flag = [&](StringRef key, std::optional<bool> &out) -> llvm::Error {
    if (!file.lookup(key))
      return llvm::Error::success();
    auto value = file.getBool(key);
    if (!value)
      return value.takeError();
    out = *value;
    return llvm::Error::success();
  };
  if (llvm::Error e = flag("tokenizer.ggml.add_bos_token", v.addBos))
    return std::move(e);
  if (llvm::Error e = flag("tokenizer.ggml.add_eos_token", v.addEos))
    return std::move(e);
  if (llvm::Error e = flag("tokenizer.ggml.add_space_prefix", v.addSpacePrefix))
    return std::move(e);
  if (const GGUFValue *t = file.lookup("tokenizer.chat_template"))
    v.chatTemplate = t->string;
  return v;
}

llvm::Expected<std::vector<int64_t>>
Tokenizer::encodePrompt(llvm::StringRef text, bool chat) const {
  std::string t = text.str();
  if (chat) {
    auto rendered = applyChatTemplate({{"user", t}}, true);
    if (!rendered)
      return rendered.takeError();
    t = *rendered;
  }
  std::vector<int64_t> out;
  for (int32_t id : encode(t, /*addSpecial=*/true, /*parseSpecial=*/true))
    out.push_back(id);
  return out;
}

llvm::Expected<Tokenizer> mlir::haqa::loadTokenizer(const GGUFFile *file) {
  if (!file)
    return llvm::createStringError(
        "the weights are held in memory: no tokenizer");
  auto vocab = readVocab(*file);
  if (!vocab)
    return vocab.takeError();
  return Tokenizer::create(std::move(*vocab));
}

llvm::Expected<std::vector<int64_t>>
mlir::haqa::readPromptTokens(const Tokenizer *tok, llvm::StringRef text,
                             llvm::StringRef idList, bool chat,
                             llvm::StringRef idFlag) {
  if (!idList.trim().empty()) {
    auto ids = parseIntList(idList);
    if (!ids)
      return llvm::createStringError(idFlag + ": " +
                                     llvm::toString(ids.takeError()));
    if (ids->empty())
      return llvm::createStringError(idFlag +
                                     ": expected token ids like 1,2,3");
    return ids;
  }
  if (!tok)
    return llvm::createStringError("no tokenizer to encode the prompt (give "
                                   "it as " +
                                   idFlag + ")");
  return tok->encodePrompt(text, chat);
}

void mlir::haqa::printGeneration(llvm::raw_ostream &os,
                                 llvm::ArrayRef<int64_t> ids,
                                 const Tokenizer *tok,
                                 llvm::ArrayRef<std::string> stops) {
  os << "generated:";
  for (int64_t id : ids)
    os << " " << id;
  os << "\n";
  if (tok) {
    std::vector<int32_t> text(ids.begin(), ids.end());
    std::string decoded = tok->decode(text);
    size_t stop = findStop(decoded, stops);
    if (stop != std::string::npos)
      decoded.resize(stop);
    os << "text: " << decoded << "\n";
  }
}
