//===- Tokenizer.h - GGUF vocabularies: BPE and SentencePiece ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Encodes and decodes text with the vocabulary a GGUF file carries, as
// llama.cpp does: byte-level BPE ("gpt2": SmolLM2, Llama 3) with the
// pre-tokenizer the file names, and SentencePiece ("llama": Llama 2) with
// byte fallback. Also renders chat templates of the families in use.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TOKENIZER_TOKENIZER_H
#define HAQA_TOKENIZER_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::haqa {

class GGUFFile;

/// The tokenizer.* metadata of a GGUF file, as plain data.
struct VocabData {
  std::string model; // "gpt2" (byte-level BPE) or "llama" (SPM)
  std::string pre;   // pre-tokenizer: "smollm", "llama3", ...
  std::vector<std::string> tokens;
  std::vector<float> scores;       // SPM merge priorities
  std::vector<int32_t> tokenTypes; // 1 normal, 2 unknown, 3 control,
                                   // 4 user defined, 5 unused, 6 byte
  std::vector<std::string> merges; // "a b", BPE only
  int32_t bos = -1, eos = -1, unk = -1, pad = -1, eot = -1;
  std::optional<bool> addBos, addEos, addSpacePrefix;
  std::string chatTemplate;
};

/// GPT-2's bytes_to_unicode: the symbol (UTF-8) a byte-level BPE vocabulary
/// stores for `byte`.
std::string getByteLevelSymbol(uint8_t byte);

/// Reads the vocabulary of a GGUF file (errors name the file and key).
llvm::Expected<VocabData> readVocab(const GGUFFile &file);

struct ChatMessage {
  std::string role, content;
};

class Tokenizer {
public:
  static llvm::Expected<Tokenizer> create(VocabData data);

  /// Token ids of `text`; `addSpecial` adds BOS / EOS as the vocabulary
  /// says; `parseSpecial` maps control-token texts ("<|im_start|>") to ids.
  std::vector<int32_t> encode(llvm::StringRef text, bool addSpecial,
                              bool parseSpecial) const;
  /// Text of `ids`; control tokens only when `renderSpecial`.
  std::string decode(llvm::ArrayRef<int32_t> ids,
                     bool renderSpecial = false) const;
  std::string tokenText(int32_t id) const;
  size_t size() const { return data.tokens.size(); }
  int32_t bos() const { return data.bos; }
  int32_t eos() const { return data.eos; }
  /// EOS, EOT and the end-of-turn control tokens of chat models.
  bool isEndOfGeneration(int32_t id) const;
  /// ChatML (SmolLM2, with its default system message), Llama 3 and
  /// Llama 2 templates; others: "unsupported chat template".
  llvm::Expected<std::string>
  applyChatTemplate(llvm::ArrayRef<ChatMessage> messages,
                    bool addGenerationPrompt) const;
  /// A user prompt as the tools feed it to a model: wrapped in the chat
  /// template (one user turn, generation prompt) when `chat`, then encoded
  /// with BOS and special tokens parsed.
  llvm::Expected<std::vector<int64_t>> encodePrompt(llvm::StringRef text,
                                                    bool chat) const;

private:
  explicit Tokenizer(VocabData data) : data(std::move(data)) {}
  void encodeBPE(llvm::StringRef text, std::vector<int32_t> &out) const;
  std::vector<std::string> mergeByRank(std::vector<std::string> symbols) const;
  void encodeSPM(llvm::StringRef text, bool first,
                 std::vector<int32_t> &out) const;
  std::vector<std::string> preTokenize(llvm::StringRef text) const;
  bool isControl(int32_t id) const;

  VocabData data;
  llvm::StringMap<int32_t> ids;
  llvm::StringMap<int32_t> mergeRanks;
  /// Control / user-defined token texts, longest first.
  std::vector<std::pair<std::string, int32_t>> specials;
  std::vector<int32_t> endOfGeneration;
};

/// The tokenizer of a weights file's metadata; `file` null (weights held in
/// memory) is an error too.
llvm::Expected<Tokenizer> loadTokenizer(const GGUFFile *file);

/// The token ids of a prompt the user gave either as ids (`idList`, "1,2,3";
/// `idFlag` names that option in errors) or as `text`, encoded with `tok`
/// (wrapped in the chat template when `chat`). An empty `idList` means text.
/// "generated: 1 2 3" and, with a tokenizer, "text: <decoded>": how the tools
/// show a generation.
/// With `stops`, the text ends before the first of them (findStop).
void printGeneration(llvm::raw_ostream &os, llvm::ArrayRef<int64_t> ids,
                     const Tokenizer *tok,
                     llvm::ArrayRef<std::string> stops = {});

llvm::Expected<std::vector<int64_t>>
readPromptTokens(const Tokenizer *tok, llvm::StringRef text,
                 llvm::StringRef idList, bool chat, llvm::StringRef idFlag);

} // namespace mlir::haqa

#endif // HAQA_TOKENIZER_TOKENIZER_H
