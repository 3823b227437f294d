//===- LlamaModel.cpp - Llama-family models from GGUF or HF -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Reads the model configuration and tensor table of a GGUF file or a Hugging
// Face checkpoint (config.json + safetensors, sharded or not). HF tensor
// names are mapped to GGUF's; every tensor is checked against the shape the
// configuration implies. Llama 2/3 (SmolLM2 is a Llama) and Qwen2 / Qwen2.5
// (a Llama with q / k / v biases and the half RoPE) are read; other
// architectures are rejected by name. Every count is bounded (ReaderLimits.h)
// before the list of expected tensors is built from it.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/LlamaModel.h"
#include "haqa/Import/Safetensors.h"
#include "haqa/Support/InputFiles.h"
#include "haqa/Support/Parsing.h"
#include "haqa/Weights/ReaderLimits.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

#include <cmath>

using namespace mlir;
using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

/// A rms epsilon or rope base as the IR keeps it (f32): positive and finite,
/// else "expected a positive finite number, got <value>" (the message
/// `error` prefixes with the file and key).
static Error checkPositiveFloat(double value,
                                llvm::function_ref<Error(const Twine &)> error,
                                float &out) {
  out = static_cast<float>(value);
  if (!std::isfinite(out) || !(out > 0))
    return error("expected a positive finite number, got " +
                 llvm::formatv("{0:e}", value).str());
  return Error::success();
}

/// The number of layers a model with `numTensors` tensors can have.
static Error checkLayerCount(int64_t numLayers, size_t numTensors,
                             llvm::function_ref<Error(const Twine &)> error,
                             StringRef holder) {
  if (static_cast<uint64_t>(numLayers) > numTensors / kTensorsPerLayer)
    return error(Twine(numLayers) + " layers need at least " +
                 Twine(numLayers * kTensorsPerLayer) + " tensors, the " +
                 holder + " has " + Twine(numTensors));
  return Error::success();
}

const ModelTensor *ModelSource::find(StringRef name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &tensors[it->second];
}

Expected<std::unique_ptr<ModelSource>> ModelSource::open(StringRef path,
                                                         bool shapesOnly) {
  std::unique_ptr<ModelSource> source(new ModelSource());
  source->shapesOnly = shapesOnly;
  bool isDir = llvm::sys::fs::is_directory(path);
  if (isDir) {
    if (Error e = source->loadHF(path))
      return std::move(e);
  } else {
    if (!llvm::sys::fs::exists(path))
      return llvm::createStringError(path + ": no such file or directory");
    if (Error e = source->loadGGUF(path))
      return std::move(e);
  }
  // Shapes-only GGUF imports take their shapes from the tensor table: those
  // are checked too (a missing tensor would reach the IR builder).
  if (Error e = source->checkShapes(path))
    return std::move(e);
  return std::move(source);
}

//===----------------------------------------------------------------------===//
// Expected shapes
//===----------------------------------------------------------------------===//

std::vector<std::pair<std::string, llvm::SmallVector<int64_t, 4>>>
mlir::haqa::expectedTensorShapes(const LlamaConfig &c) {
  std::vector<std::pair<std::string, llvm::SmallVector<int64_t, 4>>> s;
  int64_t q = c.numHeads * c.headDim, kv = c.numKVHeads * c.headDim;
  s.push_back({"token_embd.weight", {c.vocabSize, c.dim}});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string b = "blk." + std::to_string(l) + ".";
    s.push_back({b + "attn_norm.weight", {c.dim}});
    s.push_back({b + "attn_q.weight", {q, c.dim}});
    s.push_back({b + "attn_k.weight", {kv, c.dim}});
    s.push_back({b + "attn_v.weight", {kv, c.dim}});
    if (c.attentionBias) {
      s.push_back({b + "attn_q.bias", {q}});
      s.push_back({b + "attn_k.bias", {kv}});
      s.push_back({b + "attn_v.bias", {kv}});
    }
    if (c.qkNorm) {
      s.push_back({b + "attn_q_norm.weight", {c.headDim}});
      s.push_back({b + "attn_k_norm.weight", {c.headDim}});
    }
    s.push_back({b + "attn_output.weight", {c.dim, q}});
    s.push_back({b + "ffn_norm.weight", {c.dim}});
    s.push_back({b + "ffn_gate.weight", {c.ffnDim, c.dim}});
    s.push_back({b + "ffn_up.weight", {c.ffnDim, c.dim}});
    s.push_back({b + "ffn_down.weight", {c.dim, c.ffnDim}});
  }
  s.push_back({"output_norm.weight", {c.dim}});
  if (c.ropeFreqs)
    s.push_back({"rope_freqs.weight", {c.headDim / 2}});
  if (!c.tiedEmbeddings)
    s.push_back({"output.weight", {c.vocabSize, c.dim}});
  return s;
}

Error ModelSource::checkShapes(StringRef origin) const {
  for (const auto &[name, shape] : expectedTensorShapes(config)) {
    const ModelTensor *t = find(name);
    if (!t)
      return llvm::createStringError(origin + ": tensor '" + name +
                                     "' is missing");
    if (llvm::ArrayRef<int64_t>(t->shape) != llvm::ArrayRef<int64_t>(shape))
      return llvm::createStringError(origin + ": tensor '" + name +
                                     "': expected shape " + formatShape(shape) +
                                     " from the config, got " +
                                     formatShape(t->shape));
  }
  return Error::success();
}

void ModelSource::addShapesOnlyTensors(uint32_t ggmlType) {
  for (auto &[name, shape] : expectedTensorShapes(config)) {
    index[name] = tensors.size();
    tensors.push_back({name, shape, ggmlType, {}});
  }
}

//===----------------------------------------------------------------------===//
// GGUF
//===----------------------------------------------------------------------===//

Error ModelSource::loadGGUF(StringRef path) {
  auto file = GGUFFile::open(path);
  if (!file)
    return file.takeError();
  gguf = std::move(*file);
  const GGUFFile &f = *gguf;
  auto arch = f.getString("general.architecture");
  if (!arch)
    return arch.takeError();
  if (*arch != "llama" && *arch != "qwen2" && *arch != "qwen3")
    return f.error("unsupported architecture '" + *arch +
                   "' (supported: llama: Llama 2, Llama 3, SmolLM2; qwen2: "
                   "Qwen2, Qwen2.5; qwen3: Qwen3)");
  config.architecture = *arch;
  // Every hyperparameter key is prefixed with the architecture's name.
  const std::string prefix = *arch + ".";
  if (const GGUFValue *n = f.lookup("general.name"))
    config.name = n->string;

  auto getInt = [&](StringRef key, int64_t &out) -> Error {
    auto v = f.getUInt(prefix + key.str());
    if (!v)
      return v.takeError();
    if (*v == 0 || *v > static_cast<uint64_t>(kMaxConfigSize))
      return f.error("metadata '" + prefix + key + "': " + Twine(*v) +
                     " is out of range");
    out = static_cast<int64_t>(*v);
    return Error::success();
  };
  for (auto [key, out] :
       {std::make_pair("embedding_length", &config.dim),
        std::make_pair("block_count", &config.numLayers),
        std::make_pair("attention.head_count", &config.numHeads),
        std::make_pair("feed_forward_length", &config.ffnDim),
        std::make_pair("context_length", &config.contextLength)})
    if (Error e = getInt(key, *out))
      return e;
  auto metadataError = [&](StringRef key) {
    return [&f, key](const Twine &msg) {
      return f.error("metadata '" + key + "': " + msg);
    };
  };
  if (Error e = checkLayerCount(config.numLayers, f.getTensors().size(),
                                metadataError(prefix + "block_count"), "file"))
    return e;
  if (config.contextLength > kMaxContextLength)
    return f.error("metadata '" + prefix +
                   "context_length': " + Twine(config.contextLength) +
                   " exceeds the limit of " + Twine(kMaxContextLength));
  config.numKVHeads = config.numHeads;
  if (f.lookup(prefix + "attention.head_count_kv"))
    if (Error e = getInt("attention.head_count_kv", config.numKVHeads))
      return e;
  // The head size: attention.key_length when the file gives it (Qwen3's
  // heads are not dim / heads wide), else dim / heads.
  if (f.lookup(prefix + "attention.key_length")) {
    if (Error e = getInt("attention.key_length", config.headDim))
      return e;
    if (config.headDim > kMaxConfigSize / config.numHeads)
      return f.error("metadata '" + prefix + "attention.key_length' x '" +
                     prefix + "attention.head_count' exceeds the limit of " +
                     Twine(kMaxConfigSize));
    if (f.lookup(prefix + "attention.value_length")) {
      int64_t valueLength = 0;
      if (Error e = getInt("attention.value_length", valueLength))
        return e;
      if (valueLength != config.headDim)
        return f.error("unimplemented: value heads of another size ('" +
                       prefix + "attention.value_length' " +
                       Twine(valueLength) + " != key_length " +
                       Twine(config.headDim) + ")");
    }
  } else {
    if (config.dim % config.numHeads != 0)
      return f.error("metadata '" + prefix + "embedding_length' (" +
                     Twine(config.dim) + ") is not a multiple of '" + prefix +
                     "attention.head_count' (" + Twine(config.numHeads) + ")");
    config.headDim = config.dim / config.numHeads;
  }
  if (f.lookup(prefix + "rope.dimension_count")) {
    int64_t rotDim = 0;
    if (Error e = getInt("rope.dimension_count", rotDim))
      return e;
    if (rotDim != config.headDim)
      return f.error("unimplemented: partial rotary embedding ('" + prefix +
                     "rope.dimension_count' " + Twine(rotDim) +
                     " != head size " + Twine(config.headDim) + ")");
  }
  if (config.numHeads % config.numKVHeads != 0)
    return f.error("metadata '" + prefix + "attention.head_count_kv' (" +
                   Twine(config.numKVHeads) + ") does not divide '" + prefix +
                   "attention.head_count' (" + Twine(config.numHeads) + ")");
  auto theta = f.getFloatOr(prefix + "rope.freq_base", 10000.0);
  auto eps = f.getFloat(prefix + "attention.layer_norm_rms_epsilon");
  if (!theta)
    return theta.takeError();
  if (!eps)
    return eps.takeError();
  if (Error e = checkPositiveFloat(
          *theta, metadataError(prefix + "rope.freq_base"), config.ropeTheta))
    return e;
  if (Error e = checkPositiveFloat(
          *eps, metadataError(prefix + "attention.layer_norm_rms_epsilon"),
          config.rmsEps))
    return e;
  if (const GGUFValue *t = f.lookup(prefix + "rope.scaling.type");
      t && t->string != "none")
    return f.error("unimplemented: rope scaling type '" + t->string + "'");
  config.ropeFreqs = f.findTensor("rope_freqs.weight") != nullptr;
  // llama.cpp's converter permutes Llama's q / k rows for the interleaved
  // RoPE; Qwen2 keeps the half (NeoX) RoPE and its rows as they were.
  config.ropeStyle =
      *arch == "llama" ? RoPEStyle::interleaved : RoPEStyle::half;
  config.attentionBias = f.findTensor("blk.0.attn_q.bias") != nullptr;
  config.qkNorm = f.findTensor("blk.0.attn_q_norm.weight") != nullptr;

  // The vocabulary size is the embedding's row count (llama.vocab_size is
  // optional and, when present, must agree).
  const GGUFTensorInfo *emb = f.findTensor("token_embd.weight");
  if (!emb)
    return f.error("tensor 'token_embd.weight' is missing");
  if (emb->ne.size() != 2)
    return f.error("tensor 'token_embd.weight': expected 2 dimensions, got " +
                   Twine(emb->ne.size()));
  config.vocabSize = static_cast<int64_t>(emb->ne[1]);
  config.tiedEmbeddings = !f.findTensor("output.weight");

  for (const GGUFTensorInfo &t : f.getTensors()) {
    index[t.name] = tensors.size();
    tensors.push_back(
        {t.name, t.shape(), t.type,
         shapesOnly ? llvm::ArrayRef<uint8_t>() : f.getTensorData(t)});
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Hugging Face: config.json + safetensors
//===----------------------------------------------------------------------===//

/// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; empty
/// for tensors HAQA does not use (rotary inv_freq).
static std::string hfToGGUFName(StringRef hf) {
  static const std::pair<const char *, const char *> global[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"}};
  for (auto [from, to] : global)
    if (hf == from)
      return to;
  static const std::pair<const char *, const char *> layer[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  if (!hf.consume_front("model.layers."))
    return "";
  auto [num, rest] = hf.split('.');
  unsigned l;
  if (num.getAsInteger(10, l))
    return "";
  for (auto [from, to] : layer)
    if (rest == from)
      return "blk." + std::to_string(l) + "." + to;
  return "";
}

Error ModelSource::loadHF(StringRef dir) {
  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  auto json = readJSONFile(configPath);
  if (!json)
    return json.takeError();
  const llvm::json::Object *obj = json->getAsObject();
  if (!obj)
    return llvm::createStringError(configPath + ": expected a JSON object");
  auto err = [&](const Twine &msg) {
    return llvm::createStringError(configPath + ": " + msg);
  };

  std::string arch;
  if (const llvm::json::Array *archs = obj->getArray("architectures");
      archs && !archs->empty() && (*archs)[0].getAsString())
    arch = (*archs)[0].getAsString()->str();
  else if (auto mt = obj->getString("model_type"))
    arch = mt->str();
  bool qwen2 = arch == "Qwen2ForCausalLM" || arch == "qwen2";
  bool qwen3 = arch == "Qwen3ForCausalLM" || arch == "qwen3";
  if (arch != "LlamaForCausalLM" && arch != "llama" && !qwen2 && !qwen3)
    return err("unsupported architecture '" + arch +
               "' (supported: LlamaForCausalLM: Llama 2, Llama 3, SmolLM2; "
               "Qwen2ForCausalLM: Qwen2, Qwen2.5; Qwen3ForCausalLM: Qwen3)");
  config.architecture = qwen2 ? "qwen2" : qwen3 ? "qwen3" : "llama";
  // Qwen2's q, k and v projections always carry a bias; others say so.
  config.attentionBias =
      qwen2 || obj->getBoolean("attention_bias").value_or(false);
  // Qwen3 normalizes every head's query and key.
  config.qkNorm = qwen3;
  if (obj->getBoolean("use_sliding_window").value_or(false))
    return err("unimplemented: use_sliding_window (sliding-window "
               "attention)");

  auto getInt = [&](StringRef key, int64_t &out,
                    std::optional<int64_t> fallback) -> Error {
    const llvm::json::Value *v = obj->get(key);
    if (!v || v->kind() == llvm::json::Value::Null) {
      if (!fallback)
        return err("missing key '" + key + "'");
      out = *fallback;
      return Error::success();
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i || *i <= 0 || *i > kMaxConfigSize)
      return err("key '" + key + "': expected a positive integer");
    out = *i;
    return Error::success();
  };
  auto getFloat = [&](StringRef key, float &out,
                      std::optional<double> fallback) -> Error {
    std::optional<double> d = obj->getNumber(key);
    if (!d) {
      if (!fallback || obj->get(key))
        return err(obj->get(key) ? "key '" + key + "': expected a number"
                                 : "missing key '" + key + "'");
      d = fallback;
    }
    return checkPositiveFloat(
        *d, [&](const Twine &msg) { return err("key '" + key + "': " + msg); },
        out);
  };
  if (Error e = getInt("hidden_size", config.dim, std::nullopt))
    return e;
  if (Error e = getInt("num_hidden_layers", config.numLayers, std::nullopt))
    return e;
  if (Error e = getInt("num_attention_heads", config.numHeads, std::nullopt))
    return e;
  if (Error e =
          getInt("num_key_value_heads", config.numKVHeads, config.numHeads))
    return e;
  if (Error e = getInt("intermediate_size", config.ffnDim, std::nullopt))
    return e;
  if (Error e = getInt("vocab_size", config.vocabSize, std::nullopt))
    return e;
  if (Error e = getInt("max_position_embeddings", config.contextLength, 2048))
    return e;
  if (config.contextLength > kMaxContextLength)
    return err("key 'max_position_embeddings': " + Twine(config.contextLength) +
               " exceeds the limit of " + Twine(kMaxContextLength));
  // head_dim when the config gives it (Qwen3), else hidden_size / heads.
  if (!obj->get("head_dim") && config.dim % config.numHeads != 0)
    return err("hidden_size (" + Twine(config.dim) +
               ") is not a multiple of num_attention_heads (" +
               Twine(config.numHeads) + ")");
  if (Error e =
          getInt("head_dim", config.headDim, config.dim / config.numHeads))
    return e;
  if (config.headDim > kMaxConfigSize / config.numHeads)
    return err("num_attention_heads x head_dim = " + Twine(config.numHeads) +
               " x " + Twine(config.headDim) + " exceeds the limit of " +
               Twine(kMaxConfigSize));
  if (config.numHeads % config.numKVHeads != 0)
    return err("num_key_value_heads (" + Twine(config.numKVHeads) +
               ") does not divide num_attention_heads (" +
               Twine(config.numHeads) + ")");
  if (Error e = getFloat("rms_norm_eps", config.rmsEps, std::nullopt))
    return e;
  if (Error e = getFloat("rope_theta", config.ropeTheta, 10000.0))
    return e;
  config.tiedEmbeddings =
      obj->getBoolean("tie_word_embeddings").value_or(false);
  config.ropeStyle = RoPEStyle::half;
  if (auto n = obj->getString("_name_or_path"))
    config.name = n->str();

  if (const llvm::json::Object *rs = obj->getObject("rope_scaling")) {
    std::string type = rs->getString("rope_type")
                           .value_or(rs->getString("type").value_or(""))
                           .str();
    if (type != "llama3")
      return err("unimplemented: rope_scaling type '" + type + "'");
    RopeScaling s;
    auto num = [&](StringRef key, float &out) -> Error {
      std::optional<double> d = rs->getNumber(key);
      if (!d)
        return err("rope_scaling: missing key '" + key + "'");
      out = static_cast<float>(*d);
      return Error::success();
    };
    if (Error e = num("factor", s.factor))
      return e;
    if (Error e = num("low_freq_factor", s.lowFreqFactor))
      return e;
    if (Error e = num("high_freq_factor", s.highFreqFactor))
      return e;
    std::optional<int64_t> orig =
        rs->getInteger("original_max_position_embeddings");
    if (!orig || *orig <= 0)
      return err(
          "rope_scaling: missing key 'original_max_position_embeddings'");
    s.originalContext = *orig;
    config.ropeScaling = s;
  }

  uint32_t dtype = static_cast<uint32_t>(GGMLType::F32);
  if (auto d = obj->getString("torch_dtype")) {
    if (*d == "bfloat16")
      dtype = static_cast<uint32_t>(GGMLType::BF16);
    else if (*d == "float16")
      dtype = static_cast<uint32_t>(GGMLType::F16);
  }
  auto layersError = [&](const Twine &msg) {
    return err("key 'num_hidden_layers': " + msg);
  };
  if (shapesOnly) {
    if (config.numLayers > kMaxShapesOnlyLayers)
      return layersError(Twine(config.numLayers) + " exceeds the limit of " +
                         Twine(kMaxShapesOnlyLayers) + " layers");
    for (const auto &[name, shape] : expectedTensorShapes(config)) {
      uint64_t values = 1;
      for (int64_t d : shape)
        if (__builtin_mul_overflow(values, static_cast<uint64_t>(d), &values))
          values = UINT64_MAX;
      if (values > kMaxShapesOnlyValues)
        return err("tensor '" + name + "': shape " + formatShape(shape) +
                   " from the config exceeds the limit of " +
                   Twine(kMaxShapesOnlyValues) + " values");
    }
    addShapesOnlyTensors(dtype);
    return Error::success();
  }

  // Weights: one model.safetensors, or shards listed in the index.
  llvm::SmallString<256> single(dir), indexPath(dir);
  llvm::sys::path::append(single, "model.safetensors");
  llvm::sys::path::append(indexPath, "model.safetensors.index.json");
  if (llvm::sys::fs::exists(indexPath)) {
    auto idx = readJSONFile(indexPath);
    if (!idx)
      return idx.takeError();
    const llvm::json::Object *io = idx->getAsObject();
    const llvm::json::Object *map = io ? io->getObject("weight_map") : nullptr;
    if (!map)
      return llvm::createStringError(indexPath +
                                     ": missing object 'weight_map'");
    std::vector<std::string> shards;
    for (const auto &kv : *map) {
      auto s = kv.second.getAsString();
      if (!s)
        return llvm::createStringError(indexPath + ": weight_map['" +
                                       kv.first.str() + "'] is not a string");
      if (llvm::find(shards, s->str()) == shards.end())
        shards.push_back(s->str());
    }
    llvm::sort(shards);
    for (const std::string &shard : shards) {
      if (StringRef(shard).contains('/') || StringRef(shard).contains(".."))
        return llvm::createStringError(indexPath + ": shard name '" + shard +
                                       "' must be a plain file name");
      llvm::SmallString<256> p(dir);
      llvm::sys::path::append(p, shard);
      if (Error e = loadSafetensors(p))
        return e;
    }
  } else if (llvm::sys::fs::exists(single)) {
    if (Error e = loadSafetensors(single))
      return e;
  } else {
    return llvm::createStringError(dir + ": neither model.safetensors nor "
                                         "model.safetensors.index.json found");
  }
  return checkLayerCount(config.numLayers, tensors.size(), layersError,
                         "checkpoint");
}

Error ModelSource::loadSafetensors(StringRef path) {
  auto buffer = readInputFile(path);
  if (!buffer)
    return buffer.takeError();
  auto parsed = parseSafetensors((*buffer)->getBuffer(), path);
  if (!parsed)
    return parsed.takeError();
  for (SafetensorsTensor &t : *parsed) {
    std::string name = hfToGGUFName(t.name);
    if (name.empty())
      continue;
    if (index.count(name))
      return llvm::createStringError(path + ": tensor '" + t.name +
                                     "' appears twice");
    index[name] = tensors.size();
    tensors.push_back({name, t.shape, t.ggmlType, t.data});
  }
  buffers.push_back(std::move(*buffer));
  return Error::success();
}
