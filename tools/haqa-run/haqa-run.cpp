//===- haqa-run.cpp - generate text with a compiled model -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//   haqa-run out/ --prompt "The capital of France is" -n 128 [--chat]
//   haqa-run out/ --tokens 1,2,3 -n 16 --check
// Compiles the imported model for the host CPU (each kernel with its own
// #haqa.schedule, the default one otherwise), generates greedily and reports
// prefill and decode tokens/s. --check also runs the reference executor on
// the same prompt and compares the generated tokens.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/Tokenizer.h"
#include "haqa/Reference/Model.h"
#include "haqa/Runtime/CompiledModel.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <numeric>

using namespace llvm;
using namespace mlir::haqa;

static cl::OptionCategory category("haqa-run options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<import dir | model.mlir>"),
                                      cl::cat(category));
static cl::opt<std::string> promptOpt("prompt", cl::desc("prompt text"),
                                      cl::cat(category));
static cl::opt<std::string> tokensOpt("tokens",
                                      cl::desc("prompt token ids, e.g. 1,2,3"),
                                      cl::cat(category));
static cl::opt<bool> chat("chat", cl::init(false),
                          cl::desc("wrap --prompt in the model's chat "
                                   "template as a user message"),
                          cl::cat(category));
static cl::opt<int64_t> numTokens("n", cl::init(128),
                                  cl::desc("tokens to generate (default 128)"),
                                  cl::cat(category));
static cl::opt<int64_t> threads("host-threads", cl::init(0),
                                cl::desc("host threads (0: all cores)"),
                                cl::cat(category));
static cl::opt<std::string>
    target("target", cl::init("cpu"),
           cl::desc("cpu; cuda (the first NVIDIA GPU); gpu-on-cpu (the CUDA "
                    "schedules' block / thread / staging loops run on the "
                    "CPU: checks their numerics, with --check, without a "
                    "GPU)"),
           cl::cat(category));
static cl::opt<bool> ignoreEos("ignore-eos", cl::init(false),
                               cl::desc("do not stop at end-of-generation "
                                        "tokens (fixed-length benchmarks)"),
                               cl::cat(category));
static cl::opt<bool> check("check", cl::init(false),
                           cl::desc("also generate with the reference "
                                    "executor and compare the tokens"),
                           cl::cat(category));

static int fail(Error e) {
  WithColor::error(errs(), "haqa-run") << toString(std::move(e)) << "\n";
  return 1;
}

static Error usage(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg.str());
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "haqa-run: compile an imported model for the "
                              "host CPU (or a GPU) and generate text\n");
  CompiledModelOptions options;
  options.threads = threads;
  options.target = target;
  errs() << "compiling " << modelPath << " for "
         << (target == "cpu"    ? "the host CPU"
             : target == "cuda" ? "the GPU"
                                : "the host CPU, with the CUDA schedules")
         << "...\n";
  auto model = CompiledModel::load(modelPath, options);
  if (!model)
    return fail(model.takeError());
  errs() << formatv("compiled in {0:f1} s\n", (*model)->compileSeconds());

  std::optional<Tokenizer> tok;
  if (tokensOpt.empty() || !ignoreEos) {
    auto v = readVocab((*model)->getWeights().getFile());
    if (v) {
      auto t = Tokenizer::create(std::move(*v));
      if (!t)
        return fail(t.takeError());
      tok.emplace(std::move(*t));
    } else if (tokensOpt.empty()) {
      return fail(v.takeError());
    } else {
      consumeError(v.takeError());
    }
  }
  std::vector<int64_t> prompt;
  if (!tokensOpt.empty()) {
    SmallVector<StringRef> parts;
    StringRef(tokensOpt).split(parts, ',', -1, false);
    for (StringRef p : parts) {
      int64_t id;
      if (p.trim().getAsInteger(10, id))
        return fail(usage("--tokens: '" + p + "' is not an integer"));
      prompt.push_back(id);
    }
  } else {
    if (promptOpt.empty())
      return fail(usage("give a prompt with --prompt or --tokens"));
    auto encoded = tok->encodePrompt(promptOpt, chat);
    if (!encoded)
      return fail(encoded.takeError());
    prompt = std::move(*encoded);
  }
  if (numTokens < 1)
    return fail(usage("-n must be at least 1"));

  auto stop = [&](int64_t id) {
    return !ignoreEos && tok && tok->isEndOfGeneration(id);
  };
  auto out = (*model)->generate(prompt, numTokens, stop);
  if (!out)
    return fail(out.takeError());
  outs() << "generated:";
  for (int64_t id : *out)
    outs() << " " << id;
  outs() << "\n";
  if (tok) {
    std::vector<int32_t> ids(out->begin(), out->end());
    outs() << "text: " << tok->decode(ids) << "\n";
  }
  const std::vector<double> &steps = (*model)->decodeSeconds();
  double prefill = (*model)->lastPrefillSeconds();
  double decodeTotal = std::accumulate(steps.begin(), steps.end(), 0.0);
  outs() << formatv("prefill: {0} tokens in {1:f3} s = {2:f1} tokens/s\n",
                    prompt.size(), prefill, prompt.size() / prefill);
  if (!steps.empty()) {
    std::vector<double> sorted = steps;
    std::sort(sorted.begin(), sorted.end());
    outs() << formatv("decode: {0} tokens in {1:f3} s = {2:f1} tokens/s "
                      "(median {3:f2} ms/token)\n",
                      steps.size(), decodeTotal, steps.size() / decodeTotal,
                      1e3 * sorted[sorted.size() / 2]);
  }
  outs().flush();

  if (check) {
    auto ref = ReferenceModel::load(modelPath);
    if (!ref)
      return fail(ref.takeError());
    auto expected = (*ref)->generate(prompt, out->size(), stop);
    if (!expected)
      return fail(expected.takeError());
    size_t same = 0;
    while (same < out->size() && same < expected->size() &&
           (*out)[same] == (*expected)[same])
      ++same;
    if (same == out->size() && same == expected->size()) {
      outs() << formatv("check: the reference executor generates the same "
                        "{0} tokens\n",
                        same);
      return 0;
    }
    outs() << "check: MISMATCH after " << same << " equal tokens; reference:";
    for (int64_t id : *expected)
      outs() << " " << id;
    outs() << "\n";
    return 3;
  }
  return 0;
}
