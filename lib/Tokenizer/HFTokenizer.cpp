//===- HFTokenizer.cpp - Hugging Face tokenizer.json as GGUF metadata ----===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Tokenizer/HFTokenizer.h"
#include "haqa/Support/InputFiles.h"
#include "haqa/Weights/GGUF.h"
#include "haqa/Weights/GGUFWriter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

using namespace mlir::haqa;
using llvm::StringRef;

namespace {

/// The regular expressions of the pre-tokenizers HAQA implements, as
/// tokenizer.json spells them, and the GGUF name of each.
struct KnownSplit {
  const char *pre;
  const char *regex;
};
const KnownSplit kKnownSplits[] = {
    {"llama-bpe",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    {"qwen2",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};

/// The GGUF pre-tokenizer name of a tokenizer.json `pre_tokenizer`, or an
/// explanation of what is not supported.
llvm::Expected<std::string> preTokenizerName(const llvm::json::Object *p,
                                             StringRef file) {
  auto unsupported = [&](const llvm::Twine &what) {
    return llvm::createStringError(file +
                                   ": unsupported pre_tokenizer: " + what);
  };
  if (!p)
    return unsupported("none (byte-level BPE needs ByteLevel)");
  StringRef type = p->getString("type").value_or("");
  // GPT-2: ByteLevel with its own expression.
  if (type == "ByteLevel")
    return p->getBoolean("use_regex").value_or(true) ? std::string("gpt2")
                                                     : std::string();
  if (type != "Sequence")
    return unsupported("type '" + type + "'");
  const llvm::json::Array *seq = p->getArray("pretokenizers");
  if (!seq)
    return unsupported("a Sequence without 'pretokenizers'");
  std::vector<const llvm::json::Object *> parts;
  for (const llvm::json::Value &v : *seq)
    if (const llvm::json::Object *o = v.getAsObject())
      parts.push_back(o);
  auto typeOf = [](const llvm::json::Object *o) {
    return o->getString("type").value_or("");
  };
  // SmolLM2: every digit alone, then GPT-2's byte-level expression.
  if (parts.size() == 2 && typeOf(parts[0]) == "Digits" &&
      parts[0]->getBoolean("individual_digits").value_or(false) &&
      typeOf(parts[1]) == "ByteLevel" &&
      parts[1]->getBoolean("use_regex").value_or(true))
    return std::string("smollm");
  // Llama 3, Qwen2: a Split on their expression, then ByteLevel without
  // one.
  if (parts.size() == 2 && typeOf(parts[0]) == "Split" &&
      typeOf(parts[1]) == "ByteLevel" &&
      !parts[1]->getBoolean("use_regex").value_or(true)) {
    const llvm::json::Object *pattern = parts[0]->getObject("pattern");
    std::optional<StringRef> regex =
        pattern ? pattern->getString("Regex") : std::nullopt;
    if (!regex)
      return unsupported("a Split without a Regex pattern");
    for (const KnownSplit &k : kKnownSplits)
      if (*regex == k.regex)
        return std::string(k.pre);
    return unsupported("Split on the expression '" + *regex + "'");
  }
  std::string kinds;
  for (const llvm::json::Object *o : parts)
    kinds += (kinds.empty() ? "" : ", ") + typeOf(o).str();
  return unsupported("Sequence [" + kinds + "]");
}

} // namespace

llvm::Expected<VocabData> mlir::haqa::readHFTokenizer(StringRef dir) {
  llvm::SmallString<256> path(dir), configPath(dir);
  llvm::sys::path::append(path, "tokenizer.json");
  llvm::sys::path::append(configPath, "tokenizer_config.json");
  auto json = readJSONFile(path);
  if (!json)
    return json.takeError();
  auto err = [&](const llvm::Twine &msg) {
    return llvm::createStringError(path + ": " + msg);
  };
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *model = root ? root->getObject("model") : nullptr;
  if (!model)
    return err("expected an object with a 'model'");
  StringRef type = model->getString("type").value_or("");
  if (type != "BPE")
    return err("unsupported tokenizer model '" + type +
               "' (supported: byte-level BPE)");
  if (model->getBoolean("byte_fallback").value_or(false))
    return err("unsupported: a BPE with byte_fallback (SentencePiece-style; "
               "use the model's GGUF file)");
  if (const llvm::json::Value *n = root->get("normalizer");
      n && n->kind() != llvm::json::Value::Null) {
    // Qwen2's NFC: HAQA does not compose decomposed input (text that is
    // already NFC, as nearly all is, tokenizes the same).
    const llvm::json::Object *o = n->getAsObject();
    StringRef nt = o ? o->getString("type").value_or("") : "";
    if (nt != "NFC")
      return err("unsupported normalizer '" + nt + "'");
  }
  VocabData v;
  v.model = "gpt2";
  auto pre = preTokenizerName(root->getObject("pre_tokenizer"), path);
  if (!pre)
    return pre.takeError();
  if (pre->empty())
    return err("unsupported pre_tokenizer: ByteLevel without its expression "
               "and no Split before it");
  v.pre = *pre == "gpt2" ? "default" : *pre;

  // The vocabulary by id; added tokens may extend it.
  const llvm::json::Object *vocab = model->getObject("vocab");
  if (!vocab)
    return err("model: expected an object 'vocab'");
  auto place = [&](int64_t id, StringRef text, int32_t kind) -> llvm::Error {
    if (id < 0 || id > (int64_t(1) << 24))
      return err("token id " + llvm::Twine(id) + " out of range");
    if (static_cast<size_t>(id) >= v.tokens.size()) {
      v.tokens.resize(id + 1);
      v.tokenTypes.resize(id + 1, 5); // unused until given
    }
    v.tokens[id] = text.str();
    v.tokenTypes[id] = kind;
    return llvm::Error::success();
  };
  for (const auto &[text, idValue] : *vocab) {
    std::optional<int64_t> id = idValue.getAsInteger();
    if (!id)
      return err("model.vocab['" + StringRef(text) + "']: expected an id");
    if (llvm::Error e = place(*id, text, 1))
      return std::move(e);
  }
  llvm::StringMap<int32_t> byText;
  if (const llvm::json::Array *added = root->getArray("added_tokens"))
    for (const llvm::json::Value &a : *added) {
      const llvm::json::Object *o = a.getAsObject();
      std::optional<int64_t> id = o ? o->getInteger("id") : std::nullopt;
      std::optional<StringRef> text =
          o ? o->getString("content") : std::nullopt;
      if (!id || !text)
        return err("added_tokens: expected objects with 'id' and 'content'");
      // Special ones are control tokens; others user-defined (matched in
      // text as written).
      bool special = o->getBoolean("special").value_or(false);
      if (llvm::Error e = place(*id, *text, special ? 3 : 4))
        return std::move(e);
    }
  for (size_t i = 0; i < v.tokens.size(); ++i)
    byText[v.tokens[i]] = static_cast<int32_t>(i);
  // Merges: "a b" strings, or [a, b] pairs in newer files.
  if (const llvm::json::Array *merges = model->getArray("merges"))
    for (const llvm::json::Value &m : *merges) {
      if (std::optional<StringRef> s = m.getAsString()) {
        v.merges.push_back(s->str());
      } else if (const llvm::json::Array *pair = m.getAsArray();
                 pair && pair->size() == 2 && (*pair)[0].getAsString() &&
                 (*pair)[1].getAsString()) {
        v.merges.push_back(
            (*(*pair)[0].getAsString() + " " + *(*pair)[1].getAsString())
                .str());
      } else {
        return err("model.merges: expected \"a b\" strings or [a, b] pairs");
      }
    }

  // Special tokens, BOS / EOS and the chat template from
  // tokenizer_config.json.
  if (llvm::sys::fs::exists(configPath)) {
    auto config = readJSONFile(configPath);
    if (!config)
      return config.takeError();
    const llvm::json::Object *c = config->getAsObject();
    if (!c)
      return llvm::createStringError(configPath + ": expected an object");
    auto tokenText = [&](StringRef key) -> std::optional<std::string> {
      const llvm::json::Value *t = c->get(key);
      if (!t)
        return std::nullopt;
      if (std::optional<StringRef> s = t->getAsString())
        return s->str();
      if (const llvm::json::Object *o = t->getAsObject())
        if (std::optional<StringRef> s = o->getString("content"))
          return s->str();
      return std::nullopt;
    };
    for (auto [key, out] : {std::make_pair("bos_token", &v.bos),
                            std::make_pair("eos_token", &v.eos),
                            std::make_pair("unk_token", &v.unk),
                            std::make_pair("pad_token", &v.pad)})
      if (std::optional<std::string> text = tokenText(key)) {
        auto it = byText.find(*text);
        if (it == byText.end())
          return llvm::createStringError(configPath + ": " + key + " '" +
                                         *text + "' is not in the vocabulary");
        *out = it->second;
      }
    if (std::optional<bool> b = c->getBoolean("add_bos_token"))
      v.addBos = *b;
    if (std::optional<bool> b = c->getBoolean("add_eos_token"))
      v.addEos = *b;
    if (std::optional<StringRef> t = c->getString("chat_template"))
      v.chatTemplate = t->str();
  }
  if (!v.addBos)
    v.addBos = false; // byte-level BPE checkpoints add no BOS unless asked
  // Every id below the largest must have a text.
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (v.tokenTypes[i] == 5 && v.tokens[i].empty())
      v.tokens[i] = "[PAD" + std::to_string(i) + "]";
  return v;
}

void mlir::haqa::addVocabMetadata(GGUFWriter &writer, const VocabData &v) {
  writer.addString("tokenizer.ggml.model", v.model);
  if (!v.pre.empty())
    writer.addString("tokenizer.ggml.pre", v.pre);
  GGUFValue tokens;
  tokens.type = GGUFValueType::Array;
  tokens.elementType = GGUFValueType::String;
  tokens.strings = v.tokens;
  writer.addMetadata("tokenizer.ggml.tokens", std::move(tokens));
  GGUFValue types;
  types.type = GGUFValueType::Array;
  types.elementType = GGUFValueType::Int32;
  for (int32_t t : v.tokenTypes)
    types.numbers.push_back(t);
  writer.addMetadata("tokenizer.ggml.token_type", std::move(types));
  if (!v.merges.empty()) {
    GGUFValue merges;
    merges.type = GGUFValueType::Array;
    merges.elementType = GGUFValueType::String;
    merges.strings = v.merges;
    writer.addMetadata("tokenizer.ggml.merges", std::move(merges));
  }
  for (auto [key, id] :
       {std::make_pair("tokenizer.ggml.bos_token_id", v.bos),
        std::make_pair("tokenizer.ggml.eos_token_id", v.eos),
        std::make_pair("tokenizer.ggml.unknown_token_id", v.unk),
        std::make_pair("tokenizer.ggml.padding_token_id", v.pad)})
    if (id >= 0)
      writer.addUInt32(key, static_cast<uint32_t>(id));
  auto flag = [&](StringRef key, std::optional<bool> b) {
    if (!b)
      return;
    GGUFValue value;
    value.type = GGUFValueType::Bool;
    value.integer = *b;
    writer.addMetadata(key, std::move(value));
  };
  flag("tokenizer.ggml.add_bos_token", v.addBos);
  flag("tokenizer.ggml.add_eos_token", v.addEos);
  if (!v.chatTemplate.empty())
    writer.addString("tokenizer.chat_template", v.chatTemplate);
}
