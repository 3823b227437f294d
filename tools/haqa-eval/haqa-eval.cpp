//===- haqa-eval.cpp - run a model with the reference executor --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//   haqa-eval out/ --tokens 1,2,3 -n 16 [--logits-out steps.jsonl]
// greedily continues the given token ids with the reference executor and
// prints the generated ids; --logits-out writes each step's logits as JSON
// lines for comparisons with other implementations.
//
//===----------------------------------------------------------------------===//

#include "haqa/Reference/Model.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;
using namespace mlir::haqa;

static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<import dir | model.mlir>"));
static cl::opt<std::string> tokensOpt("tokens",
                                      cl::desc("prompt token ids, e.g. 1,2,3"));
static cl::opt<int64_t> numTokens("n", cl::init(16),
                                  cl::desc("tokens to generate"));
static cl::opt<std::string>
    logitsOut("logits-out",
              cl::desc("write each step's logits to this JSON-lines file"));

static cl::opt<bool> ggmlCompatible(
    "ggml-activations", cl::init(false),
    cl::desc("quantize matmul activations to Q8 as ggml's CPU backend does "
             "(like-for-like comparisons with llama.cpp)"));

static int fail(Error e) {
  WithColor::error(errs(), "haqa-eval") << toString(std::move(e)) << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "HAQA reference executor: generation\n");
  std::vector<int64_t> prompt;
  SmallVector<StringRef> parts;
  StringRef(tokensOpt).split(parts, ',', -1, false);
  for (StringRef p : parts) {
    int64_t id;
    if (p.trim().getAsInteger(10, id))
      return fail(createStringError(inconvertibleErrorCode(),
                                    "--tokens: '" + p + "' is not an integer"));
    prompt.push_back(id);
  }
  if (prompt.empty())
    return fail(createStringError(inconvertibleErrorCode(),
                                  "give a prompt with --tokens"));
  ReferenceOptions options;
  options.ggmlActivations = ggmlCompatible;
  auto model = ReferenceModel::load(modelPath, options);
  if (!model)
    return fail(model.takeError());

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
      prompt, numTokens, nullptr, [&](ArrayRef<float> logits) {
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
  outs() << "generated:";
  for (int64_t id : *out)
    outs() << " " << id;
  outs() << "\n";
  errs() << formatv("{0} prompt + {1} generated tokens in {2:f2} s\n",
                    prompt.size(), out->size(), seconds);
  return 0;
}
