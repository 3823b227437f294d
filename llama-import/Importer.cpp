//===- Importer.cpp - model source to module and weights file ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Decides how each tensor is stored (GGUF F32/F16/BF16/Q8_0/Q4_0/Q4_1/Q4_K/
// Q6_K bytes are kept as they are; other ggml types are refused by name),
// builds the module and writes both files.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/Importer.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Import/LlamaModel.h"
#include "haqa/Tokenizer/HFTokenizer.h"
#include "haqa/Weights/Codecs.h"
#include "haqa/Weights/GGUFWriter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

Expected<ImportResult> mlir::haqa::importModel(StringRef input,
                                               StringRef outDir,
                                               const ImportOptions &options) {
  MLIRContext ctx;
  auto result = importModel(ctx, input, outDir, options);
  if (result)
    result->module = nullptr;
  return result;
}

Expected<ImportResult> mlir::haqa::importModel(MLIRContext &ctx,
                                               StringRef input,
                                               StringRef outDir,
                                               const ImportOptions &options) {
  // Set by the weight walk below when a weight cannot be written.
  std::string writeFailure;
  auto source = ModelSource::open(input, options.shapesOnly);
  if (!source)
    return source.takeError();
  const LlamaConfig &config = (*source)->getConfig();
  int64_t contextLength =
      options.contextLength > 0
          ? std::min<int64_t>(options.contextLength, config.contextLength)
          : config.contextLength;

  ctx.loadDialect<HAQADialect>();
  // Storage as in the source (every type getQuantForGGMLType maps); a type
  // that HAQA can dequantize but not store would become f32.
  llvm::StringMap<WeightType> types;
  for (const auto &[name, shape] : expectedTensorShapes(config)) {
    const ModelTensor *t = (*source)->find(name);
    QuantAttr quant = getQuantForGGMLType(&ctx, t->ggmlType);
    if (!quant) {
      std::optional<GGMLTypeInfo> info = getGGMLTypeInfo(t->ggmlType);
      if (!info || !info->canDequantize)
        return llvm::createStringError(
            input + ": tensor '" + name + "': unimplemented: " +
            (info ? info->name : "unknown") + " storage");
      quant = QuantAttr::getPlain(&ctx, ElemKind::f32);
    }
    // Biases are added in f32 (matmul_c8): an f16 / bf16 one is converted.
    if (StringRef(name).ends_with(".bias") && quant.getKind() != ElemKind::f32)
      quant = QuantAttr::getPlain(&ctx, ElemKind::f32);
    types[name] = WeightType::get(&ctx, shape, quant);
  }

  OwningOpRef<ModuleOp> module =
      buildLlamaModule(&ctx, config, contextLength,
                       [&](StringRef name) { return types.lookup(name); });
  if (options.bits != 0 || !options.storage.empty() ||
      !options.overrides.empty()) {
    PassManager pm(&ctx);
    HAQAQuantizePassOptions q;
    q.bits = options.bits;
    q.storage = options.storage;
    q.group = options.group;
    q.zero = options.zero;
    q.overrides = options.overrides;
    pm.addPass(createHAQAQuantizePass(q));
    std::string diagnostics;
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      os << d.str() << "\n";
      return success();
    });
    if (failed(pm.run(*module)))
      return llvm::createStringError(input +
                                     ": quantization failed: " + diagnostics);
  }
  if (!options.shapesOnly)
    (*module)->setAttr("haqa.weights", StringAttr::get(&ctx, kWeightsFileName));
  if (failed(verify(*module)))
    return llvm::createStringError(
        input + ": internal error: the imported module does not "
                "verify");

  // Bytes of each weight in the storage the module now says: the source's
  // bytes when they already are, else dequantized and requantized.
  GGUFWriter writer;
  uint64_t bytes = 0;
  int converted = 0;
  llvm::StringSet<> seen;
  WalkResult walk = module->walk([&](WeightOp w) -> WalkResult {
    if (!seen.insert(w.getName()).second)
      return WalkResult::advance();
    WeightType type = w.getResult().getType();
    bytes += type.getStorageBytes();
    if (options.shapesOnly)
      return WalkResult::advance();
    const ModelTensor *t = (*source)->find(w.getName());
    GGUFTensorLayout layout = getGGUFTensorLayout(type);
    if (layout.ggmlType == t->ggmlType) {
      writer.addTensorView(w.getName(), type.getShape(), layout.ggmlType,
                           t->data);
      return WalkResult::advance();
    }
    std::vector<float> values(type.getNumElements());
    if (Error e = dequantize(t->ggmlType, t->data, values)) {
      writeFailure = (input + ": tensor '" + w.getName() +
                      "': " + llvm::toString(std::move(e)))
                         .str();
      return WalkResult::interrupt();
    }
    auto packed =
        quantizeWeights(type.getQuant(), values, type.getShape().back());
    if (!packed) {
      writeFailure = llvm::toString(packed.takeError());
      return WalkResult::interrupt();
    }
    writer.addTensor(w.getName(), layout.shape, layout.ggmlType,
                     std::move(*packed));
    ++converted;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return llvm::createStringError(writeFailure);

  if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
    return llvm::createStringError(outDir + ": cannot create: " + ec.message());
  ImportResult result;
  std::string tokenizerNote;
  llvm::SmallString<256> mlirPath(outDir), weightsPath(outDir);
  llvm::sys::path::append(mlirPath, kModuleFileName);
  llvm::sys::path::append(weightsPath, kWeightsFileName);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(mlirPath, ec);
    if (ec)
      return llvm::createStringError(mlirPath +
                                     ": cannot write: " + ec.message());
    module->print(os);
    os << "\n";
  }
  result.mlirPath = mlirPath.str().str();

  if (!options.shapesOnly) {
    // Keep the source's metadata (tokenizer, chat template, names) and say
    // how the weights must be read.
    if (const GGUFFile *gguf = (*source)->getGGUF())
      for (const auto &[key, value] : gguf->getMetadata())
        if (key != "general.alignment")
          writer.addMetadata(key, value);
    // A Hugging Face checkpoint's tokenizer.json becomes the same metadata,
    // so that the import takes text prompts; one HAQA cannot read is said,
    // and the model still takes token ids.
    llvm::SmallString<256> tokenizerJSON(input);
    llvm::sys::path::append(tokenizerJSON, "tokenizer.json");
    if (!(*source)->getGGUF() && llvm::sys::fs::exists(tokenizerJSON)) {
      if (auto vocab = readHFTokenizer(input)) {
        addVocabMetadata(writer, *vocab);
        tokenizerNote = llvm::formatv("tokenizer: {0} tokens, {1} merges, "
                                      "pre-tokenizer {2}, from "
                                      "tokenizer.json\n",
                                      vocab->tokens.size(),
                                      vocab->merges.size(), vocab->pre)
                            .str();
      } else {
        tokenizerNote = "note: no tokenizer imported (the model takes token "
                        "ids, --tokens): " +
                        llvm::toString(vocab.takeError()) + "\n";
      }
    }
    writer.addString("general.architecture", config.architecture);
    writer.addString("haqa.rope_style", stringifyRoPEStyle(config.ropeStyle));
    writer.addString("haqa.source", llvm::sys::path::filename(input));
    if (Error e = writer.write(weightsPath))
      return std::move(e);
    result.weightsPath = weightsPath.str().str();
  }

  llvm::raw_string_ostream os(result.summary);
  os << tokenizerNote;
  os << llvm::formatv("imported {0}: {1} layers, dim {2}, {3} heads ({4} kv), "
                      "ffn {5}, vocab {6}, context {7} (KV cache rows {8})\n",
                      input, config.numLayers, config.dim, config.numHeads,
                      config.numKVHeads, config.ffnDim, config.vocabSize,
                      config.contextLength, contextLength);
  os << llvm::formatv("weights: {0} tensors, {1:f1} MiB as stored{2}\n",
                      seen.size(), bytes / 1048576.0,
                      converted ? llvm::formatv(" ({0} converted from the "
                                                "source's storage)",
                                                converted)
                                      .str()
                                : std::string());
  os << "wrote " << result.mlirPath << "\n";
  if (!result.weightsPath.empty())
    os << "wrote " << result.weightsPath << "\n";
  result.module = std::move(module);
  return result;
}
