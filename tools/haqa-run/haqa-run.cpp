//===- haqa-run.cpp - generate text with a compiled model -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//   haqa-run out/ --prompt "The capital of France is" -n 128 [--chat]
//   haqa-run out/ --tokens 1,2,3 -n 16 --check
// Compiles the imported model for a target (each kernel with its own
// #haqa.schedule, the default one otherwise), generates greedily and reports
// prefill and decode tokens/s. --check also runs the reference executor on
// the same prompt and compares the generated tokens.
//
//===----------------------------------------------------------------------===//

#include "haqa/Reference/Model.h"
#include "haqa/Runtime/CompiledModel.h"
#include "haqa/Support/Sampling.h"
#include "haqa/Tokenizer/Tokenizer.h"

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
// cl::desc keeps a StringRef: the text must outlive the option.
static const std::string targetHelp =
    "where the model runs: " + describeCompileTargets() +
    " (with --check: GPU schedules' numerics without a GPU)";
static cl::opt<std::string> target("target", cl::init("cpu"),
                                   cl::desc(targetHelp), cl::cat(category));
static cl::opt<bool> ignoreEos("ignore-eos", cl::init(false),
                               cl::desc("do not stop at end-of-generation "
                                        "tokens (fixed-length benchmarks)"),
                               cl::cat(category));
static cl::opt<bool> check("check", cl::init(false),
                           cl::desc("also generate with the reference "
                                    "executor and compare the tokens"),
                           cl::cat(category));

static cl::opt<double> tie(
    "tie", cl::init(0.5),
    cl::desc("with --check: where the tokens part, a difference of the "
             "reference's logits for its token and for this model's of at "
             "most this much is a near-tie, not a mismatch (float sums in "
             "another order, Q8 activations rounded the other way)"),
    cl::cat(category));
static cl::opt<std::string> microKernels(
    "micro-kernels", cl::init("host"),
    cl::desc("default schedules on the CPU: host (matmuls as micro-kernels, "
             "int8 dots with Q8 activations as ggml for Q8_0 / Q4_0 / Q4_1 "
             "weights, f32 FMAs for F16 ones, and fused attention, in this "
             "machine's best instruction set), scalar, avx2, avx_vnni, "
             "avx512_vnni, or none (generated loops, f32 math: the reference "
             "executor's exact mode); schedules in the module are kept"),
    cl::cat(category));

static cl::opt<bool> fuseOpt(
    "fuse", cl::init(true),
    cl::desc("with micro-kernels: matmuls compute the rms_norm before them "
             "and the swiglu / residual add after them in their own kernels "
             "(fuse = [norm, swiglu, residual]); --fuse=false keeps them "
             "apart"),
    cl::cat(category));

static cl::OptionCategory
    samplingCategory("haqa-run sampling options (greedy unless --temp > 0)");
static cl::opt<double> temp("temp", cl::init(0),
                            cl::desc("temperature (0: greedy, the default)"),
                            cl::cat(samplingCategory));
static cl::opt<int64_t> topK("top-k", cl::init(0),
                             cl::desc("keep the k most likely tokens (0: all)"),
                             cl::cat(samplingCategory));
static cl::opt<double>
    topP("top-p", cl::init(1.0),
         cl::desc("keep the most likely tokens whose probabilities sum to p "
                  "(1: all)"),
         cl::cat(samplingCategory));
static cl::opt<double>
    minP("min-p", cl::init(0.0),
         cl::desc("drop tokens less likely than p times the most likely (0: "
                  "none)"),
         cl::cat(samplingCategory));
static cl::opt<double> repeatPenalty(
    "repeat-penalty", cl::init(1.0),
    cl::desc("penalize tokens of the last --repeat-last-n tokens (1: none; "
             "applies to greedy decoding too)"),
    cl::cat(samplingCategory));
static cl::opt<int64_t>
    repeatLastN("repeat-last-n", cl::init(64),
                cl::desc("how far back the repetition penalty looks"),
                cl::cat(samplingCategory));
static cl::opt<uint64_t>
    seed("seed", cl::init(0),
         cl::desc("seed of the sampler (the same seed, the same tokens)"),
         cl::cat(samplingCategory));
static cl::list<std::string>
    stops("stop",
          cl::desc("stop when the generated text contains this (repeatable); "
                   "the text printed ends before it"),
          cl::cat(samplingCategory));

static int fail(Error e) {
  WithColor::error(errs(), "haqa-run") << toString(std::move(e)) << "\n";
  return 1;
}

static Error usage(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg.str());
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions({&category, &samplingCategory});
  cl::ParseCommandLineOptions(argc, argv,
                              "haqa-run: compile an imported model for the "
                              "host CPU (or a GPU) and generate text\n");
  auto compileTarget = parseCompileTarget(target);
  if (!compileTarget)
    return fail(compileTarget.takeError());
  // Sampling options are checked before anything compiles.
  SamplingOptions sampling;
  sampling.temperature = temp;
  sampling.topK = topK;
  sampling.topP = topP;
  sampling.minP = minP;
  sampling.repetitionPenalty = repeatPenalty;
  sampling.repeatLastN = repeatLastN;
  sampling.seed = seed;
  if (Error e = checkSamplingOptions(sampling))
    return fail(std::move(e));
  if (check && (!sampling.isGreedy() || sampling.repetitionPenalty != 1))
    return fail(usage("--check compares greedy generations with the "
                      "reference executor's: it takes no --temp or "
                      "--repeat-penalty"));
  CompiledModelOptions options;
  options.threads = threads;
  options.target = *compileTarget;
  options.microKernels = microKernels == "none" ? std::string() : microKernels.getValue();
  options.fuse = fuseOpt;
  errs() << "compiling " << modelPath << " for "
         << getCompileTargetInfo(*compileTarget).description << "...\n";
  auto model = CompiledModel::load(modelPath, options);
  if (!model)
    return fail(model.takeError());
  errs() << formatv("compiled in {0:f1} s\n", (*model)->compileSeconds());

  std::optional<Tokenizer> tok;
  if (tokensOpt.empty() || !ignoreEos || !stops.empty()) {
    auto t = loadTokenizer((*model)->getWeights().getFile());
    if (t)
      tok.emplace(std::move(*t));
    else if (tokensOpt.empty())
      return fail(t.takeError());
    else
      consumeError(t.takeError());
  }
  if (tokensOpt.empty() && promptOpt.empty())
    return fail(usage("give a prompt with --prompt or --tokens"));
  if (!stops.empty() && !tok)
    return fail(usage("--stop matches text: the model has no tokenizer to "
                      "decode its tokens"));
  auto prompt = readPromptTokens(tok ? &*tok : nullptr, promptOpt, tokensOpt,
                                 chat, "--tokens");
  if (!prompt)
    return fail(prompt.takeError());
  if (numTokens < 1)
    return fail(usage("-n must be at least 1"));
  // The context bounds the prompt and what follows it: said before
  // generating, and generation stops there with what it has.
  auto room = boundGeneration((*model)->position(), prompt->size(), numTokens,
                              (*model)->contextLength(), errs());
  if (!room)
    return fail(room.takeError());

  // Stop sequences are matched on the text generated so far (each token's
  // piece appended as it comes).
  std::string generatedText;
  bool stoppedAtText = false;
  auto stop = [&](int64_t id) {
    if (!ignoreEos && tok && tok->isEndOfGeneration(id))
      return true;
    if (!stops.empty() && tok) {
      generatedText += tok->decode({static_cast<int32_t>(id)});
      stoppedAtText = findStop(generatedText, stops) != std::string::npos;
      return stoppedAtText;
    }
    return false;
  };
  std::optional<Sampler> sampler;
  if (!sampling.isGreedy() || sampling.repetitionPenalty != 1)
    sampler.emplace(sampling);
  auto out =
      (*model)->generate(*prompt, *room, stop, sampler ? &*sampler : nullptr);
  if (!out)
    return fail(out.takeError());
  printGeneration(outs(), *out, tok ? &*tok : nullptr, stops);
  if (stoppedAtText)
    outs() << "stopped: at a --stop sequence\n";
  const std::vector<double> &steps = (*model)->decodeSeconds();
  double prefill = (*model)->lastPrefillSeconds();
  double decodeTotal = std::accumulate(steps.begin(), steps.end(), 0.0);
  outs() << formatv("prefill: {0} tokens in {1:f3} s = {2:f1} tokens/s\n",
                    prompt->size(), prefill, prompt->size() / prefill);
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
    // The module as compiled, each matmul in its own arithmetic (Q8
    // activations where dot = i8).
    auto ref = (*model)->createReference();
    if (!ref)
      return fail(ref.takeError());
    // Per step: the reference's top logit minus its logit for this model's
    // token (what its own choice leads by, were they to part there).
    std::vector<double> gaps;
    auto expected = (*ref)->generate(
        *prompt, out->size(), stop, [&](ArrayRef<float> l) {
          size_t step = gaps.size();
          gaps.push_back(step < out->size()
                             ? *std::max_element(l.begin(), l.end()) -
                                   l[(*out)[step]]
                             : 0.0);
        });
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
    // Only the first parting is judged: after it the contexts differ.
    if (same < out->size() && same < expected->size() && same < gaps.size()) {
      int64_t theirs = (*expected)[same], ours = (*out)[same];
      double gap = gaps[same];
      outs() << formatv("check: the reference executor generates the same "
                        "{0} tokens, then {1} where this model generates "
                        "{2}: its logits for them differ by {3:F3}",
                        same, theirs, ours, gap);
      if (gap <= tie) {
        outs() << formatv(", a near-tie (--tie {0})\n", tie.getValue());
        return 0;
      }
      outs() << formatv(", more than --tie {0}\n", tie.getValue());
    }
    outs() << "check: MISMATCH after " << same << " equal tokens; reference:";
    for (int64_t id : *expected)
      outs() << " " << id;
    outs() << "\n";
    return 3;
  }
  return 0;
}
