//===- HFTokenizer.h - Hugging Face tokenizer.json as GGUF metadata -*- C++
//-*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A Hugging Face checkpoint's tokenizer (tokenizer.json, with
// tokenizer_config.json for the special tokens and the chat template) read
// into the vocabulary HAQA's tokenizer takes, and written as the GGUF
// metadata llama.cpp's converter would write, so that an imported HF
// directory is promptable as a GGUF one is. Byte-level BPE only (GPT-2,
// SmolLM2, Llama 3, Qwen2); the pre-tokenizer is recognized from its
// regular expression.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_TOKENIZER_HFTOKENIZER_H
#define HAQA_TOKENIZER_HFTOKENIZER_H

#include "haqa/Tokenizer/Tokenizer.h"

namespace mlir::haqa {

class GGUFWriter;

/// The vocabulary of `dir`/tokenizer.json (and tokenizer_config.json when
/// present). Errors name the file and what is wrong or unsupported.
llvm::Expected<VocabData> readHFTokenizer(llvm::StringRef dir);

/// Writes `v` as GGUF tokenizer metadata (tokenizer.ggml.*,
/// tokenizer.chat_template).
void addVocabMetadata(GGUFWriter &writer, const VocabData &v);

} // namespace mlir::haqa

#endif // HAQA_TOKENIZER_HFTOKENIZER_H
