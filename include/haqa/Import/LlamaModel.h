//===- LlamaModel.h - Llama-family models from GGUF or HF -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A model source (a GGUF file, or a Hugging Face directory with config.json
// and one or several .safetensors files) read into a LlamaConfig and a table
// of tensors under their GGUF names, each checked against the shape the
// config implies. The IR builder turns it into a haqa module.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_IMPORT_LLAMAMODEL_H
#define HAQA_IMPORT_LLAMAMODEL_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Weights/GGUF.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::haqa {

/// Llama-3 rope frequency scaling.
struct RopeScaling {
  float factor = 1, lowFreqFactor = 1, highFreqFactor = 4;
  int64_t originalContext = 8192;
};

struct LlamaConfig {
  std::string architecture = "llama";
  std::string name;
  int64_t dim = 0, numLayers = 0, numHeads = 0, numKVHeads = 0, headDim = 0,
          ffnDim = 0, vocabSize = 0, contextLength = 0;
  float ropeTheta = 10000, rmsEps = 1e-5f;
  /// GGUF llama weights are permuted for interleaved rope; HF's are not.
  RoPEStyle ropeStyle = RoPEStyle::interleaved;
  std::optional<RopeScaling> ropeScaling;
  /// Llama 3.1+ GGUF: per-pair frequency divisors in `rope_freqs.weight`.
  bool ropeFreqs = false;
  bool tiedEmbeddings = false;
  /// Qwen2: the q, k and v projections add a bias (`attn_q.bias`, ...).
  bool attentionBias = false;
  /// Qwen3: every head's query and key are RMS-normalized over the head
  /// before the rope (`attn_q_norm.weight`, `attn_k_norm.weight`, [hd]).
  bool qkNorm = false;
};

/// A tensor of the source model under its GGUF name.
struct ModelTensor {
  std::string name;
  llvm::SmallVector<int64_t, 4> shape; // row-major, outermost first
  uint32_t ggmlType = 0;
  llvm::ArrayRef<uint8_t> data; // empty for shapes-only imports
};

class ModelSource {
public:
  /// Opens a .gguf file or a directory holding config.json (+ safetensors
  /// unless `shapesOnly`).
  static llvm::Expected<std::unique_ptr<ModelSource>>
  open(llvm::StringRef path, bool shapesOnly = false);

  const LlamaConfig &getConfig() const { return config; }
  llvm::ArrayRef<ModelTensor> getTensors() const { return tensors; }
  const ModelTensor *find(llvm::StringRef name) const;
  /// The GGUF file for GGUF sources (its metadata carries the tokenizer).
  const GGUFFile *getGGUF() const { return gguf.get(); }
  bool isShapesOnly() const { return shapesOnly; }

private:
  llvm::Error loadGGUF(llvm::StringRef path);
  llvm::Error loadHF(llvm::StringRef dir);
  llvm::Error loadSafetensors(llvm::StringRef path);
  llvm::Error checkShapes(llvm::StringRef origin) const;
  void addShapesOnlyTensors(uint32_t ggmlType);

  LlamaConfig config;
  std::vector<ModelTensor> tensors;
  llvm::StringMap<size_t> index;
  std::unique_ptr<GGUFFile> gguf;
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  bool shapesOnly = false;
};

/// Builds `@prefill` (T tokens, dynamic) and `@decode` (one token), both
/// over per-layer KV caches of `contextLength` rows; each weight is a
/// `haqa.weight` of the type `weightType(name)` returns.
OwningOpRef<ModuleOp>
buildLlamaModule(MLIRContext *ctx, const LlamaConfig &config,
                 int64_t contextLength,
                 llvm::function_ref<WeightType(llvm::StringRef)> weightType);

/// The expected row-major shape of every tensor of `config`, by GGUF name.
std::vector<std::pair<std::string, llvm::SmallVector<int64_t, 4>>>
expectedTensorShapes(const LlamaConfig &config);

} // namespace mlir::haqa

#endif // HAQA_IMPORT_LLAMAMODEL_H
