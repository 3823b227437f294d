//===- HAQAOps.cpp - HAQA op verifiers --------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Cross-operand rules of the haqa ops. Each rule carries its docs/Spec.md tag
// and has a case in test/Dialect/HAQA/invalid-ops.mlir.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::haqa;

#define GET_OP_CLASSES
#include "haqa/Dialect/HAQA/IR/HAQAOps.cpp.inc"

/// True when two sizes are equal or one of them is dynamic.
static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return s;
}

static LogicalResult expectShape(Operation *op, StringRef what,
                                 ArrayRef<int64_t> got,
                                 ArrayRef<int64_t> want) {
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < got.size(); ++i)
    ok = compatible(got[i], want[i]);
  if (!ok)
    return op->emitOpError()
           << "expected " << what << " of shape " << shapeString(want)
           << ", got " << shapeString(got);
  return success();
}

LogicalResult EmbeddingOp::verify() {
  WeightType table = getTable().getType();
  // embedding_c1
  if (table.getShape().size() != 2)
    return emitOpError() << "expected a 2-d embedding table, got rank "
                         << table.getShape().size();
  // embedding_c2
  int64_t tokens = getTokens().getType().getDimSize(0);
  return expectShape(*this, "result", getResult().getType().getShape(),
                     {tokens, table.getShape()[1]});
}

LogicalResult RMSNormOp::verify() {
  auto input = getInput().getType();
  WeightType weight = getWeight().getType();
  // rms_norm_c1
  if (weight.getShape().size() != 1 || weight.getQuant().isQuantized() ||
      !compatible(weight.getShape()[0], input.getShape().back()))
    return emitOpError() << "expected an unquantized 1-d weight of size "
                         << input.getShape().back() << ", got " << weight;
  // rms_norm_c2
  if (!(getEpsilon().convertToFloat() > 0.0f))
    return emitOpError() << "expected a positive epsilon, got "
                         << getEpsilon().convertToFloat();
  // rms_norm_c3
  if (getResult().getType() != input)
    return emitOpError() << "expected the result type to equal the input type "
                         << input << ", got " << getResult().getType();
  return success();
}

LogicalResult MatmulOp::verify() {
  auto input = getInput().getType();
  WeightType weight = getWeight().getType();
  // matmul_c1
  if (weight.getShape().size() != 2)
    return emitOpError() << "expected a 2-d [N, K] weight, got rank "
                         << weight.getShape().size();
  int64_t n = weight.getShape()[0], k = weight.getShape()[1];
  // matmul_c2
  if (!compatible(input.getDimSize(1), k))
    return emitOpError() << "expected input reduction dimension "
                         << input.getDimSize(1)
                         << " to match weight dimension 1 (" << k << ")";
  // matmul_c3
  if (getResult().getType().getElementType() != input.getElementType())
    return emitOpError() << "expected result element type "
                         << input.getElementType() << ", got "
                         << getResult().getType().getElementType();
  // matmul_c4
  return expectShape(*this, "result", getResult().getType().getShape(),
                     {input.getDimSize(0), n});
}

LogicalResult RoPEOp::verify() {
  auto input = getInput().getType();
  // rope_c1
  int64_t hd = input.getDimSize(2);
  if (!ShapedType::isDynamic(hd) && hd % 2 != 0)
    return emitOpError() << "expected an even head dimension, got " << hd;
  // rope_c2
  if (!compatible(getPositions().getType().getDimSize(0), input.getDimSize(0)))
    return emitOpError() << "expected one position per token ("
                         << input.getDimSize(0) << "), got "
                         << getPositions().getType().getDimSize(0);
  // rope_c3
  if (getResult().getType() != input)
    return emitOpError() << "expected the result type to equal the input type "
                         << input << ", got " << getResult().getType();
  // rope_c4
  if (!(getTheta().convertToFloat() > 0.0f))
    return emitOpError() << "expected a positive theta, got "
                         << getTheta().convertToFloat();
  // rope_c5
  int scaling = getScaleFactor().has_value() + getLowFreqFactor().has_value() +
                getHighFreqFactor().has_value() +
                getOriginalContext().has_value();
  if (scaling != 0 && scaling != 4)
    return emitOpError() << "expected all or none of scale_factor, "
                            "low_freq_factor, high_freq_factor and "
                            "original_context, got "
                         << scaling << " of 4";
  if (Value factors = getFreqFactors()) {
    auto type = cast<WeightType>(factors.getType());
    // rope_c6
    if (type.getShape().size() != 1 || type.getQuant().isQuantized() ||
        (!ShapedType::isDynamic(hd) && type.getShape()[0] * 2 != hd))
      return emitOpError() << "expected freq_factors to be an unquantized 1-d "
                              "weight of half the head size ("
                           << hd / 2 << "), got " << type;
    // rope_c7
    if (scaling)
      return emitOpError() << "expected either freq_factors or the scaling "
                              "attributes, not both";
  }
  return success();
}

LogicalResult KVWriteOp::verify() {
  auto cache = getCache().getType();
  auto values = getValues().getType();
  // kv_write_c1
  if (cache.getElementType() != values.getElementType() ||
      !compatible(cache.getDimSize(1), values.getDimSize(1)) ||
      !compatible(cache.getDimSize(2), values.getDimSize(2)))
    return emitOpError() << "expected values " << values
                         << " to match the cache's heads, head size and "
                            "element type "
                         << cache;
  // kv_write_c2
  if (!compatible(getPositions().getType().getDimSize(0), values.getDimSize(0)))
    return emitOpError() << "expected one position per written row ("
                         << values.getDimSize(0) << "), got "
                         << getPositions().getType().getDimSize(0);
  // kv_write_c3
  if (getResult().getType() != cache)
    return emitOpError() << "expected the result type to equal the cache type "
                         << cache << ", got " << getResult().getType();
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = getQuery().getType();
  auto k = getKeys().getType();
  // attention_c1
  if (k != getValues().getType())
    return emitOpError() << "expected keys and values of one type, got " << k
                         << " and " << getValues().getType();
  // attention_c2
  if (q.getElementType() != k.getElementType() ||
      !compatible(q.getDimSize(2), k.getDimSize(2)))
    return emitOpError() << "expected query " << q
                         << " and cache to share head size and element type, "
                            "got "
                         << k;
  // attention_c3
  int64_t hq = q.getDimSize(1), hkv = k.getDimSize(1);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      hq % hkv != 0)
    return emitOpError() << "expected query heads (" << hq
                         << ") to be a multiple of key/value heads (" << hkv
                         << ")";
  // attention_c4
  if (!compatible(getPositions().getType().getDimSize(0), q.getDimSize(0)))
    return emitOpError() << "expected one position per query ("
                         << q.getDimSize(0) << "), got "
                         << getPositions().getType().getDimSize(0);
  // attention_c5
  if (getResult().getType() != q)
    return emitOpError() << "expected the result type to equal the query type "
                         << q << ", got " << getResult().getType();
  // attention_c6
  if (!(getScale().convertToFloat() > 0.0f))
    return emitOpError() << "expected a positive scale, got "
                         << getScale().convertToFloat();
  return success();
}

double mlir::haqa::getRoPEFrequency(RoPEOp op, int64_t pair, int64_t headDim) {
  double theta = op.getTheta().convertToDouble();
  double freq = std::pow(theta, -2.0 * pair / headDim);
  if (!op.getScaleFactor())
    return freq;
  double factor = op.getScaleFactor()->convertToDouble();
  double low = op.getLowFreqFactor()->convertToDouble();
  double high = op.getHighFreqFactor()->convertToDouble();
  double orig = static_cast<double>(*op.getOriginalContext());
  double wavelen = 2 * M_PI / freq;
  if (wavelen < orig / high)
    return freq;
  if (wavelen > orig / low)
    return freq / factor;
  double smooth = (orig / wavelen - low) / (high - low);
  return (1 - smooth) * freq / factor + smooth * freq;
}
