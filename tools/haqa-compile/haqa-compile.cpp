//===- haqa-compile.cpp - the deployment driver -----------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//   haqa-compile model.gguf --target host --memory-limit 10GiB -o out/m
//   haqa-compile --list-targets
//   haqa-compile --table3 --target host --strategy random -o out/tune
// A thin driver: the command line fills a CompileOptions, the compile
// session (lib/Driver) does the work, phase by phase (--compile-to stops
// after one and writes its IR).
//
//===----------------------------------------------------------------------===//

#include "haqa/Driver/CompileSession.h"
#include "haqa/Support/Parsing.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::haqa;
namespace cl = llvm::cl;

static CompileOptions options;
static TuningOptions &tuning = options.tuning;

static cl::OptionCategory category("haqa-compile options");
#define LOC(field) cl::location(field), cl::cat(category)
static cl::opt<std::string, true>
    input(cl::Positional,
          cl::desc("[model: a GGUF file, a Hugging Face directory, an import "
                   "directory or its model.mlir]"),
          LOC(options.input));
static cl::opt<std::string, true>
    bits("bits",
         cl::desc("weight precision: auto (every one of 16, 8, 4 that fits the "
                  "memory limit, measured, and a quantized file such as "
                  "Q4_K_M as stored too; the fastest wins; an import: as "
                  "stored), keep (as stored), 16, 8 or 4"),
         LOC(options.bits));
static cl::opt<std::string, true>
    prompt("prompt", cl::desc("prompt for the final generation"),
           LOC(options.prompt));
static cl::opt<std::string, true> promptTokens(
    "prompt-tokens",
    cl::desc("prompt as token ids (1,2,3) instead of --prompt; for models "
             "without a tokenizer"),
    LOC(options.promptTokens));
static cl::opt<bool, true>
    check("check",
          cl::desc("also generate with the reference executor and compare"),
          LOC(options.check));
static cl::opt<bool, true> chat("chat",
                                cl::desc("wrap --prompt in the chat template"),
                                LOC(options.chat));
static cl::opt<int, true> genTokens("n",
                                    cl::desc("tokens to generate at the end"),
                                    LOC(options.generateTokens));
static cl::opt<int, true> probeTokens(
    "probe-tokens",
    cl::desc("decoded tokens per precision when --bits=auto measures them"),
    LOC(options.probeTokens));
static cl::opt<int64_t, true> prefillRows(
    "prefill-rows",
    cl::desc("tune @prefill's kernels at this many prompt tokens (their "
             "schedules then serve every prompt length); 0: they keep the "
             "default schedules"),
    LOC(options.prefillRows));
static cl::opt<int64_t, true> context("context",
                                      cl::desc("context length of the import"),
                                      LOC(options.contextLength));
static cl::opt<bool> listTargets("list-targets",
                                 cl::desc("print the hardware profiles"),
                                 cl::cat(category));
static cl::opt<std::string>
    hardwareDir("hardware-dir",
                cl::desc("directory of hardware profile files (default: "
                         "$HAQA_HARDWARE_DIR or the source tree's hardware/)"),
                cl::cat(category));
static cl::opt<std::string> target("target",
                                   cl::desc("hardware profile id (host)"),
                                   cl::init("host"), cl::cat(category));
static cl::opt<bool, true> gpuOnCPU(
    "gpu-on-cpu",
    cl::desc("with an NVIDIA profile: compile its CUDA schedules and run "
             "their block and thread loops on the host CPU instead of a GPU "
             "(checks numerics and the whole flow without one; the timings "
             "are the CPU's)"),
    LOC(options.gpuOnCPU));
static cl::opt<std::string> remote(
    "remote",
    cl::desc("with an OpenCL (Adreno) profile: measure and run on the device "
             "behind haqa-device-runner at HOST:PORT (the token in "
             "HAQA_RUNNER_TOKEN; with adb: adb forward tcp:7070 tcp:7070, "
             "then --remote 127.0.0.1:7070)"),
    cl::value_desc("HOST:PORT"), cl::cat(category));
static cl::opt<std::string> compileTo(
    "compile-to",
    cl::desc("stop after this phase and write its IR: import, plan "
             "(<o>/plan.mlir), precision (<o>/precision.mlir), tune "
             "(<o>/tuned.mlir), emit (<o>/model.mlir and its weights), "
             "measure (everything; the default)"),
    cl::init("measure"), cl::cat(category));
static cl::opt<bool> table3("table3",
                            cl::desc("tune the paper's Table 3 kernels"),
                            cl::cat(category));
static cl::opt<std::string> tokens("tokens", cl::desc("Table 3 token counts"),
                                   cl::init("1,64,128"), cl::cat(category));
static cl::list<std::string> weights("weights",
                                     cl::desc("matmul weight storages"),
                                     cl::CommaSeparated, cl::cat(category));
static cl::list<std::string, std::vector<std::string>>
    kernels("kernels",
            cl::desc("only these kernels (comma list, e.g. matmul,rope)"),
            cl::CommaSeparated, LOC(options.onlyKernels));
static cl::opt<std::string, true> strategy(
    "strategy",
    cl::desc("search strategy: auto (llm when an endpoint is configured, "
             "else local), default, random, grid, local, bayes, nsga2, llm, "
             "llm+local (the LLM and local search around the best in "
             "alternate rounds)"),
    LOC(tuning.strategy));
static cl::opt<std::string, true> llmBaseURL(
    "llm-base-url",
    cl::desc("OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 "
             "(or $HAQA_LLM_BASE_URL)"),
    LOC(tuning.llm.baseURL));
static cl::opt<std::string, true>
    llmModel("llm-model", cl::desc("model name (or $HAQA_LLM_MODEL)"),
             LOC(tuning.llm.model));
static cl::opt<std::string, true> llmKey(
    "llm-api-key",
    cl::desc("API key (or $HAQA_LLM_API_KEY, then $OPENAI_API_KEY); never "
             "logged"),
    LOC(tuning.llm.apiKey));
static cl::opt<double, true> llmTimeout("llm-timeout",
                                        cl::desc("seconds per LLM request"),
                                        LOC(tuning.llm.timeoutSeconds));
static cl::opt<int, true>
    llmRetries("llm-retries",
               cl::desc("retries of a request on 429 / 5xx / no connection"),
               LOC(tuning.llm.retries));
static cl::opt<int, true> llmMaxTokens("llm-max-tokens",
                                       cl::desc("most tokens of one LLM reply"),
                                       LOC(tuning.llm.maxTokens));
static cl::opt<double, true> llmTemperature(
    "llm-temperature",
    cl::desc("sampling temperature of the LLM's first answer each round, in "
             "[0, 2] (re-asks go 0.3 higher each, up to 1, or to it if "
             "higher)"),
    LOC(tuning.llm.temperature));
static cl::opt<bool, true> llmJSON(
    "llm-json",
    cl::desc("ask the LLM for one JSON object per reply ({\"thought\": ..., "
             "\"action\": {...}}) with response_format json_object, for "
             "servers that constrain their output (haqa-serve, llama.cpp)"),
    LOC(tuning.llm.jsonMode));
static cl::opt<int, true> llmReasks("llm-reasks",
                                    cl::desc("re-asks after an unusable reply"),
                                    LOC(tuning.llm.reasks));
static cl::opt<int, true> historyTokens(
    "history-tokens",
    cl::desc("token budget of the measured history in each prompt"),
    LOC(tuning.llm.historyTokens));
static cl::opt<std::string, true>
    promptDir("prompt-dir",
              cl::desc("prompt templates (default: $HAQA_PROMPT_DIR or the "
                       "source tree's prompts/)"),
              LOC(tuning.llm.promptDir));
static cl::opt<std::string, true>
    memoryLimit("memory-limit",
                cl::desc("memory limit, e.g. 10GiB (none: the profile's "
                         "memory)"),
                LOC(options.memoryLimit));
static cl::opt<int, true> rounds("rounds", cl::desc("trials per kernel"),
                                 LOC(tuning.rounds));
static cl::opt<uint64_t, true> seed("seed", cl::desc("strategy seed"),
                                    LOC(tuning.seed));
static cl::opt<int, true>
    repeats("repeats",
            cl::desc("most timed pairs per trial (the trial's schedule and "
                     "the default, interleaved; at least 6, fewer than this "
                     "once the speedup's 95% interval is within 2%)"),
            LOC(tuning.repeats));
static cl::opt<double, true> timeout("timeout", cl::desc("seconds per trial"),
                                     LOC(tuning.timeoutSeconds));
static cl::opt<std::string, true>
    records("records",
            cl::desc("records database (default: <out>/records.sqlite)"),
            LOC(tuning.recordsPath));
static cl::opt<std::string, true> out("o", cl::desc("output directory"),
                                      LOC(tuning.outDir));
static cl::opt<int, true> confirmRounds(
    "confirm",
    cl::desc("before a tuned schedule replaces the default, time both "
             "again in up to this many times --repeats interleaved pairs; "
             "keep it only when the speedup's 95% interval lies above 1 and "
             "its median is 1.03 or more (0: no confirmation; the trial's "
             "own pairs decide)"),
    LOC(tuning.confirmRounds));
static cl::opt<bool, true> retune(
    "retune",
    cl::desc("tune even kernels whose best schedule is already recorded"),
    LOC(tuning.retune));
#undef LOC

static int fail(const llvm::Twine &msg) {
  llvm::errs() << "haqa-compile: error: " << msg << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "HAQA deployment driver\n");
  std::string dir =
      hardwareDir.empty() ? getDefaultHardwareDir() : hardwareDir.getValue();
  if (listTargets) {
    auto profiles = loadHardwareProfiles(dir);
    if (!profiles)
      return fail(llvm::toString(profiles.takeError()));
    printHardwareProfiles(llvm::outs(), *profiles, dir);
    return 0;
  }
  if (!table3 && options.input.empty())
    return fail("nothing to do: give a model, --table3 or --list-targets");
  auto profile = findHardwareProfile(target, dir);
  if (!profile)
    return fail(llvm::toString(profile.takeError()));
  if (!remote.empty()) {
    if (profile->kind != TargetKind::OpenCL)
      return fail("--remote: target '" + profile->id +
                  "' is no OpenCL device (the runner runs OpenCL kernels)");
    // Every OpenCL device this process and its children open is the one
    // behind the runner.
    ::setenv("HAQA_OPENCL_REMOTE", remote.c_str(), 1);
  }
  // Checked here for --table3 too, where the value only goes into the LLM's
  // prompt: a typo must not become "no limit" or text the model reads.
  if (auto limit = parseMemoryLimit(options.memoryLimit); !limit)
    return fail(
        "--memory-limit: cannot read '" + options.memoryLimit +
        "' (e.g. 10GiB, 512MB, none): " + llvm::toString(limit.takeError()));
  tuning.memoryLimit = options.memoryLimit;
  if (table3) {
    auto counts = parseIntList(tokens);
    if (!counts)
      return fail("--tokens: " + llvm::toString(counts.takeError()));
    std::vector<std::string> storages(weights.begin(), weights.end());
    if (storages.empty())
      storages = {"f16", "q8_0", "q4_0"};
    if (llvm::Error e =
            runKernelTuning(*profile, getTable3Kernels(*counts, storages),
                            options, llvm::outs(), llvm::errs()))
      return fail(llvm::toString(std::move(e)));
    return 0;
  }
  auto phase = parseCompilePhase(compileTo);
  if (!phase)
    return fail("--compile-to: " + llvm::toString(phase.takeError()));
  options.stopAfter = *phase;
  auto result =
      runCompileSession(*profile, options, llvm::outs(), llvm::errs());
  if (!result)
    return fail(llvm::toString(result.takeError()));
  if (result->lastPhase != CompilePhase::Measure)
    for (const std::string &path : result->written)
      llvm::outs() << "wrote " << path << "\n";
  // A tuned model the reference executor disagrees with (or, unchecked,
  // one that changes the default schedules' tokens).
  return result->isRight() ? 0 : 3;
}
