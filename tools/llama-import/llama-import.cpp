//===- llama-import.cpp - model file to haqa module + weights ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//   llama-import model.gguf -o out/       (or a Hugging Face directory)
// writes out/model.mlir (haqa IR, weights by name) and out/model.weights.gguf
// (the weight bytes plus the source's metadata and tokenizer). With
// --shapes-only only the IR is written, from the configuration alone.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/Importer.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;

static cl::OptionCategory category("llama-import options");
static cl::opt<std::string> input(cl::Positional, cl::Required,
                                  cl::desc("<model.gguf | hf-directory>"),
                                  cl::cat(category));
static cl::opt<std::string> outDir("o", cl::Required,
                                   cl::desc("output directory"),
                                   cl::value_desc("dir"), cl::cat(category));
static cl::opt<int64_t>
    context("context", cl::init(2048),
            cl::desc("KV cache rows in the IR (0: the model's full context)"),
            cl::cat(category));
static cl::opt<bool> shapesOnly(
    "shapes-only", cl::init(false),
    cl::desc("import shapes from the configuration, write no weights"),
    cl::cat(category));

static cl::opt<int64_t>
    bits("bits", cl::init(0),
         cl::desc("requantize 2-d weights: 16 (f16), 8 (q8_0), 4 (q4_0); 0 "
                  "keeps the source's storage"),
         cl::cat(category));
static cl::opt<int64_t> group("group", cl::init(32),
                              cl::desc("quantization group size"),
                              cl::cat(category));
static cl::opt<std::string> zero("zero", cl::init("none"),
                                 cl::desc("none, or min (4 bits: q4_1)"),
                                 cl::cat(category));
static cl::opt<std::string>
    storage("storage",
            cl::desc("requantize 2-d weights into a GGUF storage: f16, q8_0, "
                     "q4_0, q4_1, q4_k, q6_k (instead of --bits)"),
            cl::cat(category));
static cl::opt<std::string>
    overrides("overrides",
              cl::desc("per-weight bit widths or storages, e.g. "
                       "'output.weight:8' or 'output.weight:q6_k'"),
              cl::cat(category));

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "HAQA model importer\n");
  mlir::haqa::ImportOptions options;
  options.contextLength = context;
  options.shapesOnly = shapesOnly;
  options.bits = bits;
  options.group = group;
  options.zero = zero;
  options.overrides = overrides;
  options.storage = storage;
  auto result = mlir::haqa::importModel(input, outDir, options);
  if (!result) {
    WithColor::error(errs(), "llama-import")
        << toString(result.takeError()) << "\n";
    return 1;
  }
  outs() << result->summary;
  return 0;
}
