//===- haqa-eval.cpp - run a model with the reference executor --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//   haqa-eval out/ --prompt "The capital of France is" -n 32 [--chat]
//   haqa-eval out/ --tokens 1,2,3 -n 16 [--logits-out steps.jsonl]
//   haqa-eval out/ --prompt "..." --tokenize-only
//   haqa-eval out/ --ppl text.txt [--bits 16,8,4] [--chunk 256 --chunks 4]
// Greedy generation, tokenization and perplexity with the reference
// executor; the tokenizer comes from the weights file's GGUF metadata.
//
//===----------------------------------------------------------------------===//

#include "haqa/Reference/Model.h"
#include "haqa/Support/InputFiles.h"
#include "haqa/Support/Sampling.h"
#include "haqa/Tokenizer/Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;
using namespace mlir::haqa;

static cl::OptionCategory category("haqa-eval options");

static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<import dir | model.mlir>"),
                                      cl::cat(category));
static cl::opt<std::string> tokensOpt("tokens",
                                      cl::desc("prompt token ids, e.g. 1,2,3"),
                                      cl::cat(category));
static cl::opt<std::string> promptOpt("prompt", cl::desc("prompt text"),
                                      cl::cat(category));
static cl::opt<bool> chat("chat", cl::init(false),
                          cl::desc("wrap --prompt in the model's chat "
                                   "template as a user message"),
                          cl::cat(category));
static cl::opt<bool> tokenizeOnly("tokenize-only", cl::init(false),
                                  cl::desc("print the prompt's token ids "
                                           "and stop"),
                                  cl::cat(category));
static cl::opt<std::string> tokenizeJson(
    "tokenize-json",
    cl::desc("tokenize every string of this JSON array (with special-token "
             "parsing, without BOS) and print a JSON array of id arrays"),
    cl::cat(category));
static cl::opt<int64_t> numTokens("n", cl::init(16),
                                  cl::desc("tokens to generate"),
                                  cl::cat(category));
static cl::opt<std::string>
    logitsOut("logits-out",
              cl::desc("write each step's logits to this JSON-lines file"),
              cl::cat(category));
static cl::opt<bool> ggmlCompatible(
    "ggml-activations", cl::init(false),
    cl::desc("quantize matmul activations to Q8 as ggml's CPU backend does "
             "(like-for-like comparisons with llama.cpp)"),
    cl::cat(category));
static cl::opt<std::string> pplFile("ppl",
                                    cl::desc("report perplexity over this "
                                             "text file"),
                                    cl::cat(category));
static cl::opt<std::string>
    bitsList("bits", cl::init("0"),
             cl::desc("weight storage(s) to evaluate, comma-separated: 0 "
                      "(as imported), 16, 8, 4"),
             cl::cat(category));
static cl::opt<int64_t> chunk("chunk", cl::init(256),
                              cl::desc("perplexity chunk length in tokens"),
                              cl::cat(category));
static cl::opt<int64_t> maxChunks("chunks", cl::init(0),
                                  cl::desc("at most this many chunks (0: "
                                           "all)"),
                                  cl::cat(category));

static int fail(Error e) {
  WithColor::error(errs(), "haqa-eval") << toString(std::move(e)) << "\n";
  return 1;
}

static Error usage(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg.str());
}

static Expected<Tokenizer> loadTokenizer(ReferenceModel &model) {
  return mlir::haqa::loadTokenizer(model.getWeights().getFile());
}

static Expected<std::vector<int64_t>> promptTokens(Tokenizer *tok) {
  if (tokensOpt.empty() && promptOpt.empty())
    return usage("give a prompt with --prompt or --tokens");
  return readPromptTokens(tok, promptOpt, tokensOpt, chat, "--tokens");
}

static int runPerplexity() {
  auto buffer = readInputFile(pplFile, /*isText=*/true);
  if (!buffer)
    return fail(buffer.takeError());
  SmallVector<StringRef> parts;
  StringRef(bitsList).split(parts, ',', -1, false);
  outs() << formatv("{0,-10} {1,12} {2,10} {3,10}\n", "weights", "perplexity",
                    "tokens", "seconds");
  for (StringRef p : parts) {
    int64_t bits;
    if (p.trim().getAsInteger(10, bits))
      return fail(usage("--bits: '" + p + "' is not a number"));
    ReferenceOptions options;
    options.activations = ggmlCompatible ? QuantizedActivations::GGML
                                       : QuantizedActivations::Exact;
    auto model = ReferenceModel::load(modelPath, options, bits);
    if (!model)
      return fail(model.takeError());
    auto tok = loadTokenizer(**model);
    if (!tok)
      return fail(tok.takeError());
    std::vector<int64_t> ids;
    for (int32_t id : tok->encode((*buffer)->getBuffer(), true, false))
      ids.push_back(id);
    auto start = std::chrono::steady_clock::now();
    auto ppl = (*model)->perplexity(ids, chunk, maxChunks);
    if (!ppl)
      return fail(ppl.takeError());
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    std::string label = bits == 0 ? "imported" : "int" + std::to_string(bits);
    if (bits == 16)
      label = "fp16";
    outs() << formatv("{0,-10} {1,12:f4} {2,10} {3,10:f1}\n", label, ppl->first,
                      ppl->second, seconds);
    outs().flush();
  }
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "HAQA reference executor: generation, "
                              "tokenization, perplexity\n");
  if (!pplFile.empty())
    return runPerplexity();

  ReferenceOptions options;
  options.activations = ggmlCompatible ? QuantizedActivations::GGML
                                       : QuantizedActivations::Exact;
  int64_t bits = 0;
  if (StringRef(bitsList).getAsInteger(10, bits))
    return fail(usage("--bits takes one value when generating"));
  auto model = ReferenceModel::load(modelPath, options, bits);
  if (!model)
    return fail(model.takeError());
  if (!tokenizeJson.empty()) {
    auto t = loadTokenizer(**model);
    if (!t)
      return fail(t.takeError());
    auto buffer = readInputFile(tokenizeJson, /*isText=*/true);
    if (!buffer)
      return fail(buffer.takeError());
    auto json = json::parse((*buffer)->getBuffer());
    if (!json)
      return fail(json.takeError());
    const json::Array *strings = json->getAsArray();
    if (!strings)
      return fail(usage(tokenizeJson + ": expected a JSON array of strings"));
    json::Array result;
    for (const json::Value &v : *strings) {
      auto s = v.getAsString();
      if (!s)
        return fail(usage(tokenizeJson + ": expected strings only"));
      json::Array ids;
      for (int32_t id : t->encode(*s, /*addSpecial=*/false,
                                  /*parseSpecial=*/true))
        ids.push_back(id);
      result.push_back(std::move(ids));
    }
    outs() << json::Value(std::move(result)) << "\n";
    return 0;
  }
  std::optional<Tokenizer> tok;
  if (tokensOpt.empty()) {
    auto t = loadTokenizer(**model);
    if (!t)
      return fail(t.takeError());
    tok.emplace(std::move(*t));
  }
  auto prompt = promptTokens(tok ? &*tok : nullptr);
  if (!prompt)
    return fail(prompt.takeError());
  if (tokenizeOnly) {
    outs() << "tokens:";
    for (int64_t id : *prompt)
      outs() << " " << id;
    outs() << "\n";
    return 0;
  }

  if (numTokens < 1)
    return fail(createStringError("-n must be at least 1"));
  // As haqa-run: the context bounds the prompt and what follows it.
  auto room = boundGeneration((*model)->position(), prompt->size(), numTokens,
                              (*model)->contextLength(), errs());
  if (!room)
    return fail(room.takeError());
  std::unique_ptr<raw_fd_ostream> logFile;
  if (!logitsOut.empty()) {
    std::error_code ec;
    logFile = std::make_unique<raw_fd_ostream>(logitsOut, ec);
    if (ec)
      return fail(createStringError(ec, logitsOut + ": " + ec.message()));
  }
  int64_t step = 0;
  auto start = std::chrono::steady_clock::now();
  auto out = (*model)->generate(
      *prompt, *room,
      [&](int64_t id) { return tok && tok->isEndOfGeneration(id); },
      [&](ArrayRef<float> logits) {
        if (!logFile)
          return;
        json::Array values;
        for (float v : logits)
          values.push_back(static_cast<double>(v));
        *logFile << json::Value(json::Object{{"step", step++},
                                             {"logits", std::move(values)}})
                 << "\n";
      });
  if (!out)
    return fail(out.takeError());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  printGeneration(outs(), *out, tok ? &*tok : nullptr);
  errs() << formatv("{0} prompt + {1} generated tokens in {2:f2} s\n",
                    prompt->size(), out->size(), seconds);
  return 0;
}
