//===- LlamaIRBuilder.cpp - a Llama decoder as haqa IR ----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Builds, with OpBuilder, the two entry points of a Llama model:
//   @prefill(tokens: tensor<?xi32>, positions: tensor<?xi32>, caches...)
//       -> (logits: tensor<?xVxf32>, caches...)
//   @decode(token: tensor<1xi32>, position: tensor<1xi32>, caches...)
//       -> (logits: tensor<1xVxf32>, caches...)
// with one key and one value cache tensor<C x Hkv x hd x f32> per layer.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/LlamaModel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <cmath>

using namespace mlir;
using namespace mlir::haqa;

namespace {

class ForwardBuilder {
public:
  ForwardBuilder(OpBuilder &b, Location loc, const LlamaConfig &c,
                 function_ref<WeightType(StringRef)> weightType)
      : b(b), loc(loc), c(c), weightType(weightType) {}

  /// Emits `func.func @name` for `tokens` tokens (kDynamic for prefill).
  void build(StringRef name, int64_t tokens, int64_t contextLength);

private:
  /// The importer leaves scheduling to --haqa-default-schedule or the agent.
  static ScheduleAttr noSchedule() { return {}; }
  Value weight(StringRef name) {
    auto it = weights.find(name);
    if (it != weights.end())
      return it->second;
    Value w = WeightOp::create(b, loc, weightType(name), b.getStringAttr(name));
    weights[name] = w;
    return w;
  }
  RankedTensorType act(int64_t cols) {
    return RankedTensorType::get({tokens, cols}, b.getF32Type());
  }
  RankedTensorType heads(int64_t n) {
    return RankedTensorType::get({tokens, n, c.headDim}, b.getF32Type());
  }
  Value matmul(Value x, StringRef w, int64_t cols) {
    return MatmulOp::create(b, loc, act(cols), x, weight(w), noSchedule());
  }
  /// A projection `<name>.weight` with its `<name>.bias` when the model has
  /// attention biases (Qwen2).
  Value projection(Value x, const std::string &name, int64_t cols) {
    Value bias = c.attentionBias ? weight(name + ".bias") : Value();
    return MatmulOp::create(b, loc, act(cols), x, weight(name + ".weight"),
                            bias, noSchedule());
  }
  Value rmsNorm(Value x, StringRef w) {
    return RMSNormOp::create(b, loc, x.getType(), x, weight(w),
                             b.getF32FloatAttr(c.rmsEps), noSchedule());
  }
  /// Qwen3's per-head RMS norm of q or k ([T, n, hd]): the heads as rows,
  /// [T * n, hd], normalized with `w` ([hd]), and back.
  Value headNorm(Value x, StringRef w, int64_t n) {
    auto rows = RankedTensorType::get(
        {ShapedType::isDynamic(tokens) ? ShapedType::kDynamic : tokens * n,
         c.headDim},
        b.getF32Type());
    Value flat = tensor::CollapseShapeOp::create(
        b, loc, rows, x, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    Value normed = rmsNorm(flat, w);
    SmallVector<OpFoldResult> shape = {tokenCount, b.getIndexAttr(n),
                                       b.getIndexAttr(c.headDim)};
    return tensor::ExpandShapeOp::create(
        b, loc, heads(n), normed, ArrayRef<ReassociationIndices>{{0, 1}, {2}},
        shape);
  }
  /// [T, n * hd] -> [T, n, hd].
  Value splitHeads(Value x, int64_t n) {
    SmallVector<OpFoldResult> shape = {tokenCount, b.getIndexAttr(n),
                                       b.getIndexAttr(c.headDim)};
    return tensor::ExpandShapeOp::create(
        b, loc, heads(n), x, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
        shape);
  }
  Value rope(Value x) {
    FloatAttr factor, low, high;
    IntegerAttr orig;
    if (c.ropeScaling) {
      factor = b.getF32FloatAttr(c.ropeScaling->factor);
      low = b.getF32FloatAttr(c.ropeScaling->lowFreqFactor);
      high = b.getF32FloatAttr(c.ropeScaling->highFreqFactor);
      orig = b.getI64IntegerAttr(c.ropeScaling->originalContext);
    }
    Value factors = c.ropeFreqs ? weight("rope_freqs.weight") : Value();
    return RoPEOp::create(b, loc, x.getType(), x, positions, factors,
                          b.getF32FloatAttr(c.ropeTheta),
                          RoPEStyleAttr::get(b.getContext(), c.ropeStyle),
                          factor, low, high, orig, noSchedule());
  }

  OpBuilder &b;
  Location loc;
  const LlamaConfig &c;
  function_ref<WeightType(StringRef)> weightType;
  llvm::StringMap<Value> weights;
  int64_t tokens = 0;
  OpFoldResult tokenCount;
  Value positions;
};

void ForwardBuilder::build(StringRef name, int64_t numTokens,
                           int64_t contextLength) {
  tokens = numTokens;
  weights.clear();
  MLIRContext *ctx = b.getContext();
  auto ids = RankedTensorType::get({tokens}, b.getI32Type());
  auto cache = RankedTensorType::get({contextLength, c.numKVHeads, c.headDim},
                                     b.getF32Type());
  SmallVector<Type> inputs = {ids, ids};
  SmallVector<Type> results = {act(c.vocabSize)};
  for (int64_t l = 0; l < 2 * c.numLayers; ++l) {
    inputs.push_back(cache);
    results.push_back(cache);
  }
  auto func = func::FuncOp::create(b, loc, name,
                                   FunctionType::get(ctx, inputs, results));
  SmallVector<DictionaryAttr> argAttrs;
  auto named = [&](StringRef n) {
    return DictionaryAttr::get(
        ctx,
        {NamedAttribute(b.getStringAttr("haqa.name"), b.getStringAttr(n))});
  };
  argAttrs.push_back(named("tokens"));
  argAttrs.push_back(named("positions"));
  for (int64_t l = 0; l < c.numLayers; ++l) {
    argAttrs.push_back(named("k_cache." + std::to_string(l)));
    argAttrs.push_back(named("v_cache." + std::to_string(l)));
  }
  func.setAllArgAttrs(argAttrs);

  OpBuilder::InsertionGuard guard(b);
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value tokenIds = entry->getArgument(0);
  positions = entry->getArgument(1);
  if (ShapedType::isDynamic(tokens))
    tokenCount = tensor::DimOp::create(b, loc, tokenIds, 0).getResult();
  else
    tokenCount = b.getIndexAttr(tokens);

  int64_t qDim = c.numHeads * c.headDim, kvDim = c.numKVHeads * c.headDim;
  Value x = EmbeddingOp::create(b, loc, act(c.dim), weight("token_embd.weight"),
                                tokenIds, noSchedule());
  SmallVector<Value> newCaches;
  float scale = 1.0f / std::sqrt(static_cast<float>(c.headDim));
  for (int64_t l = 0; l < c.numLayers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    Value h = rmsNorm(x, p + "attn_norm.weight");
    Value q = splitHeads(projection(h, p + "attn_q", qDim), c.numHeads);
    Value k = splitHeads(projection(h, p + "attn_k", kvDim), c.numKVHeads);
    Value v = splitHeads(projection(h, p + "attn_v", kvDim), c.numKVHeads);
    if (c.qkNorm) {
      q = headNorm(q, p + "attn_q_norm.weight", c.numHeads);
      k = headNorm(k, p + "attn_k_norm.weight", c.numKVHeads);
    }
    q = rope(q);
    k = rope(k);
    Value kc = KVWriteOp::create(b, loc, cache, entry->getArgument(2 + 2 * l),
                                 k, positions, noSchedule());
    Value vc = KVWriteOp::create(b, loc, cache, entry->getArgument(3 + 2 * l),
                                 v, positions, noSchedule());
    newCaches.append({kc, vc});
    Value o =
        AttentionOp::create(b, loc, heads(c.numHeads), q, kc, vc, positions,
                            b.getF32FloatAttr(scale), noSchedule());
    Value merged = tensor::CollapseShapeOp::create(
        b, loc, act(qDim), o, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    x = AddOp::create(b, loc, x,
                      matmul(merged, p + "attn_output.weight", c.dim),
                      noSchedule());
    Value h2 = rmsNorm(x, p + "ffn_norm.weight");
    Value gate = matmul(h2, p + "ffn_gate.weight", c.ffnDim);
    Value up = matmul(h2, p + "ffn_up.weight", c.ffnDim);
    Value a = SwiGLUOp::create(b, loc, gate, up, noSchedule());
    x = AddOp::create(b, loc, x, matmul(a, p + "ffn_down.weight", c.dim),
                      noSchedule());
  }
  x = rmsNorm(x, "output_norm.weight");
  Value logits = matmul(
      x, c.tiedEmbeddings ? "token_embd.weight" : "output.weight", c.vocabSize);
  SmallVector<Value> rets = {logits};
  rets.append(newCaches);
  func::ReturnOp::create(b, loc, rets);
}

} // namespace

OwningOpRef<ModuleOp>
mlir::haqa::buildLlamaModule(MLIRContext *ctx, const LlamaConfig &c,
                             int64_t contextLength,
                             function_ref<WeightType(StringRef)> weightType) {
  ctx->loadDialect<HAQADialect, func::FuncDialect, tensor::TensorDialect,
                   arith::ArithDialect>();
  OpBuilder b(ctx);
  Location loc = UnknownLoc::get(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  NamedAttrList config;
  config.append("architecture", b.getStringAttr(c.architecture));
  if (!c.name.empty())
    config.append("name", b.getStringAttr(c.name));
  config.append("dim", b.getI64IntegerAttr(c.dim));
  config.append("layers", b.getI64IntegerAttr(c.numLayers));
  config.append("heads", b.getI64IntegerAttr(c.numHeads));
  config.append("kv_heads", b.getI64IntegerAttr(c.numKVHeads));
  config.append("head_dim", b.getI64IntegerAttr(c.headDim));
  config.append("ffn_dim", b.getI64IntegerAttr(c.ffnDim));
  config.append("vocab", b.getI64IntegerAttr(c.vocabSize));
  config.append("context", b.getI64IntegerAttr(contextLength));
  config.append("tied_embeddings", b.getBoolAttr(c.tiedEmbeddings));
  if (c.attentionBias)
    config.append("attention_bias", b.getBoolAttr(true));
  if (c.qkNorm)
    config.append("qk_norm", b.getBoolAttr(true));
  (*module)->setAttr("haqa.config", config.getDictionary(ctx));

  b.setInsertionPointToEnd(module->getBody());
  ForwardBuilder fb(b, loc, c, weightType);
  fb.build("prefill", ShapedType::kDynamic, contextLength);
  fb.build("decode", 1, contextLength);
  return module;
}
