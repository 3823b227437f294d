//===- Importer.cpp - model source to module and weights file ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Decides how each tensor is stored (GGUF F32/F16/BF16/Q8_0/Q4_0/Q4_1 bytes
// are kept as they are; K-quants are dequantized to f32 since #haqa.quant
// has no K-quant layout), builds the module and writes both files.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/Importer.h"
#include "haqa/Import/GGUFWriter.h"
#include "haqa/Import/LlamaModel.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

static Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

Expected<ImportResult> mlir::haqa::importModel(StringRef input,
                                               StringRef outDir,
                                               const ImportOptions &options) {
  auto source = ModelSource::open(input, options.shapesOnly);
  if (!source)
    return source.takeError();
  const LlamaConfig &config = (*source)->getConfig();
  int64_t contextLength =
      options.contextLength > 0
          ? std::min<int64_t>(options.contextLength, config.contextLength)
          : config.contextLength;

  MLIRContext ctx;
  ctx.loadDialect<HAQADialect>();
  GGUFWriter writer;
  llvm::StringMap<WeightType> types;
  uint64_t bytes = 0;
  int dequantized = 0;
  for (const auto &[name, shape] : expectedTensorShapes(config)) {
    const ModelTensor *t = (*source)->find(name);
    QuantAttr quant = getQuantForGGMLType(&ctx, t->ggmlType);
    uint32_t storedType = t->ggmlType;
    if (!quant) {
      std::optional<GGMLTypeInfo> info = getGGMLTypeInfo(t->ggmlType);
      if (!info || !info->canDequantize)
        return makeError(input + ": tensor '" + name + "': unimplemented: " +
                         (info ? info->name : "unknown") + " storage");
      quant = QuantAttr::getPlain(&ctx, ElemKind::f32);
      storedType = static_cast<uint32_t>(GGMLType::F32);
      if (!options.shapesOnly) {
        uint64_t n = 1;
        for (int64_t d : shape)
          n *= d;
        std::vector<uint8_t> out(n * 4);
        llvm::MutableArrayRef<float> dst(reinterpret_cast<float *>(out.data()),
                                         n);
        if (Error e = dequantize(t->ggmlType, t->data, dst))
          return makeError(input + ": tensor '" + name +
                           "': " + llvm::toString(std::move(e)));
        writer.addTensor(name, shape, storedType, std::move(out));
        ++dequantized;
      }
    } else if (!options.shapesOnly) {
      writer.addTensorView(name, shape, storedType, t->data);
    }
    WeightType type = WeightType::get(&ctx, shape, quant);
    bytes += type.getStorageBytes();
    types[name] = type;
  }

  OwningOpRef<ModuleOp> module =
      buildLlamaModule(&ctx, config, contextLength,
                       [&](StringRef name) { return types.lookup(name); });
  if (!options.shapesOnly)
    (*module)->setAttr("haqa.weights", StringAttr::get(&ctx, kWeightsFileName));
  if (failed(verify(*module)))
    return makeError(input + ": internal error: the imported module does not "
                             "verify");

  if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
    return makeError(outDir + ": cannot create: " + ec.message());
  ImportResult result;
  llvm::SmallString<256> mlirPath(outDir), weightsPath(outDir);
  llvm::sys::path::append(mlirPath, kModuleFileName);
  llvm::sys::path::append(weightsPath, kWeightsFileName);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(mlirPath, ec);
    if (ec)
      return makeError(mlirPath + ": cannot write: " + ec.message());
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
    writer.addString("general.architecture", config.architecture);
    writer.addString("haqa.rope_style", stringifyRoPEStyle(config.ropeStyle));
    writer.addString("haqa.source", llvm::sys::path::filename(input));
    if (Error e = writer.write(weightsPath))
      return std::move(e);
    result.weightsPath = weightsPath.str().str();
  }

  llvm::raw_string_ostream os(result.summary);
  os << llvm::formatv("imported {0}: {1} layers, dim {2}, {3} heads ({4} kv), "
                      "ffn {5}, vocab {6}, context {7} (KV cache rows {8})\n",
                      input, config.numLayers, config.dim, config.numHeads,
                      config.numKVHeads, config.ffnDim, config.vocabSize,
                      config.contextLength, contextLength);
  os << llvm::formatv("weights: {0} tensors, {1:f1} MiB as stored{2}\n",
                      types.size(), bytes / 1048576.0,
                      dequantized ? llvm::formatv(" ({0} K-quant tensors "
                                                  "dequantized to f32)",
                                                  dequantized)
                                        .str()
                                  : std::string());
  os << "wrote " << result.mlirPath << "\n";
  if (!result.weightsPath.empty())
    os << "wrote " << result.weightsPath << "\n";
  return result;
}
