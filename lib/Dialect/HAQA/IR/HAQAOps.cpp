//===- HAQAOps.cpp - HAQA op verifiers --------------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Cross-operand rules of the haqa ops. Each rule carries its docs/Spec.md tag
// and has a case in test/Dialect/HAQA/invalid-ops.mlir.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::haqa;

/// A micro-kernel's instruction set as a bare word: `isa = avx2`.
static ParseResult parseISA(OpAsmParser &parser, CPUISAAttr &attr) {
  StringRef word;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&word))
    return failure();
  std::optional<CPUISA> isa = symbolizeCPUISA(word);
  if (!isa)
    return parser.emitError(loc) << "unknown instruction set '" << word << "'";
  attr = CPUISAAttr::get(parser.getContext(), *isa);
  return success();
}

static void printISA(OpAsmPrinter &printer, Operation *, CPUISAAttr attr) {
  printer << stringifyCPUISA(attr.getValue());
}

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
  if (failed(expectShape(*this, "result", getResult().getType().getShape(),
                         {input.getDimSize(0), n})))
    return failure();
  // matmul_c5
  if (!getNorm() != !getEpsilonAttr())
    return emitOpError() << "expected norm and epsilon together";
  if (getNorm()) {
    WeightType g = getNorm().getType();
    if (g.getShape().size() != 1 || !compatible(g.getShape()[0], k) ||
        g.getQuant().getKind() != ElemKind::f32)
      return emitOpError() << "expected an f32 norm weight of shape [" << k
                           << "], got " << g;
    if (!(getEpsilon()->convertToFloat() > 0.0f))
      return emitOpError() << "expected a positive epsilon, got "
                           << getEpsilon()->convertToFloat();
  }
  // matmul_c6
  for (auto [name, v] : {std::make_pair(StringRef("gate"), getGate()),
                         std::make_pair(StringRef("residual"), getResidual())})
    if (v && v.getType() != getResult().getType())
      return emitOpError() << "expected the " << name
                           << " to have the result type "
                           << getResult().getType() << ", got " << v.getType();
  // matmul_c8
  if (getBias()) {
    WeightType b = getBias().getType();
    if (b.getShape().size() != 1 || !compatible(b.getShape()[0], n) ||
        b.getQuant().getKind() != ElemKind::f32)
      return emitOpError() << "expected an f32 bias weight of shape [" << n
                           << "], got " << b;
    if (getGate() || getResidual())
      return emitOpError() << "unimplemented: a bias with gate or residual "
                              "epilogues (the bias comes before them)";
  }
  // matmul_c7
  if (isFused()) {
    ScheduleAttr s = getScheduleAttr();
    if (!s || !s.isMicroKernelDot() || !input.getElementType().isF32())
      return emitOpError() << "expected fused neighbours (norm, gate, "
                              "residual) only on an f32 matmul whose schedule "
                              "has dot = i8 or fma";
  }
  return success();
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
      (hkv == 0 || hq % hkv != 0))
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

//===----------------------------------------------------------------------===//
// MicroKernelOp
//===----------------------------------------------------------------------===//

int64_t MicroKernelOp::getWeightBlockBytes() {
  return llvm::StringSwitch<int64_t>(getKernel())
      .Case("dot_q8_0", 34)
      .Case("dot_q4_0", 18)
      .Case("dot_q4_1", 20)
      .Case("dot_q4_k", 144)
      .Case("dot_q6_k", 210)
      .Default(0);
}

int64_t MicroKernelOp::getWeightBlockValues() {
  return getKernel() == "dot_q4_k" || getKernel() == "dot_q6_k" ? 256 : 32;
}

LogicalResult MicroKernelOp::verify() {
  StringRef kernel = getKernel();
  bool quantize = kernel == "quantize_q8";
  bool attention = kernel == "attention_f32";
  bool f16 = isFMADot();
  bool norm = kernel == "rms_norm_f32";
  int64_t blockBytes = getWeightBlockBytes();
  // micro_kernel_c1
  if (!quantize && !attention && !f16 && !norm && !blockBytes)
    return emitOpError("unknown micro-kernel '")
           << kernel
           << "' (expected quantize_q8, rms_norm_f32, dot_q8_0, dot_q4_0, "
              "dot_q4_1, dot_q4_k, dot_q6_k, dot_f16, dot_bf16 or "
              "attention_f32)";
  // micro_kernel_c9
  bool dot = f16 || blockBytes;
  if (!dot && (getGate() || getResidual()))
    return emitOpError("expected gate and residual epilogues only on a dot "
                       "kernel");
  if (norm != static_cast<bool>(getEpsilonAttr()))
    return emitOpError("expected epsilon exactly on rms_norm_f32");
  // micro_kernel_c2
  unsigned numInputs = quantize    ? 1
                       : attention ? 4
                                   : 2 + getGate() + getResidual();
  if (getInputs().size() != numInputs || getOutputs().size() != 1)
    return emitOpError() << "expected " << numInputs
                         << " inputs and 1 output for '" << kernel << "', got "
                         << getInputs().size() << " and "
                         << getOutputs().size();
  // micro_kernel_c3
  bool tensors = isa<RankedTensorType>(getOutputs()[0].getType());
  if (tensors ? getResults().size() != 1
                    || getResults()[0].getType() != getOutputs()[0].getType()
              : !getResults().empty())
    return emitOpError("expected one result of the output's type on tensors, "
                       "none on memrefs");
  auto shapeOf = [](Value v) { return cast<ShapedType>(v.getType()); };
  // micro_kernel_c6
  if (getThreads() < 1)
    return emitOpError("expected at least one thread");
  if (attention)
    return verifyAttention();
  if (norm)
    return verifyRMSNorm();
  for (Value v : getOperands())
    if (shapeOf(v).getRank() != 2)
      return emitOpError("expected 2-d operands");
  auto expectElem = [&](Value v, Type t, StringRef what) -> LogicalResult {
    if (shapeOf(v).getElementType() != t)
      return emitOpError() << "expected " << what << " of " << t << ", got "
                           << shapeOf(v).getElementType();
    return success();
  };
  Builder b(getContext());
  ArrayRef<int64_t> out = shapeOf(getOutputs()[0]).getShape();
  // micro_kernel_c4
  if (quantize) {
    ArrayRef<int64_t> x = shapeOf(getInputs()[0]).getShape();
    if (failed(expectElem(getInputs()[0], b.getF32Type(), "x")) ||
        failed(expectElem(getOutputs()[0], b.getI8Type(), "the Q8 rows")))
      return failure();
    if (!ShapedType::isDynamic(x[1]) && x[1] % 32)
      return emitOpError() << "expected K a multiple of 32, got " << x[1];
    int64_t want = ShapedType::isDynamic(x[1]) ? ShapedType::kDynamic
                                               : x[1] / 32 * kQ8BlockBytes;
    return expectShape(*this, "Q8 rows", out, {x[0], want});
  }
  // micro_kernel_c5
  ArrayRef<int64_t> micro = getMicro();
  auto registerBlock = [](int64_t v) { return v == 1 || v == 2 || v == 4; };
  if (micro.size() != 2 || !registerBlock(micro[0]) ||
      (!registerBlock(micro[1]) && micro[1] != 16))
    return emitOpError("expected micro = [mr, nr], mr 1, 2 or 4, nr 1, 2, 4 "
                       "or 16");
  // micro_kernel_c8
  if (micro[1] == 16 && (f16 || getIsa() != CPUISA::avx512_vnni))
    return emitOpError("expected nr = 16 (packed panels) only on an int8 dot "
                       "with isa = avx512_vnni");
  // micro_kernel_c9: each epilogue input is [M, N] f32, as y.
  for (Value v : getInputs().drop_front(2))
    if (failed(expectElem(v, b.getF32Type(), "an epilogue input")) ||
        failed(
            expectShape(*this, "epilogue input", shapeOf(v).getShape(), out)))
      return failure();
  ArrayRef<int64_t> xq = shapeOf(getInputs()[0]).getShape();
  ArrayRef<int64_t> w = shapeOf(getInputs()[1]).getShape();
  if (f16) {
    Type wt = kernel == "dot_bf16" ? Type(b.getBF16Type()) : b.getF16Type();
    if (failed(expectElem(getInputs()[0], b.getF32Type(), "x")) ||
        failed(expectElem(getInputs()[1], wt, "the weight")) ||
        failed(expectElem(getOutputs()[0], b.getF32Type(), "y")))
      return failure();
    if (ShapedType::isDynamic(w[1]))
      return emitOpError("expected a static K");
    return failure(
        failed(expectShape(*this, "x", xq, {out[0], w[1]})) ||
        failed(expectShape(*this, "y", out, {xq[0], w[0]})));
  }
  if (failed(expectElem(getInputs()[0], b.getI8Type(), "the Q8 rows")) ||
      failed(expectElem(getInputs()[1], b.getI8Type(), "the weight blocks")) ||
      failed(expectElem(getOutputs()[0], b.getF32Type(), "y")))
    return failure();
  if (ShapedType::isDynamic(w[1]) || w[1] % blockBytes)
    return emitOpError() << "expected weight rows of a static multiple of "
                         << blockBytes << " bytes";
  int64_t blocks = w[1] / blockBytes * (getWeightBlockValues() / 32);
  if (failed(expectShape(*this, "Q8 rows", xq,
                         {out[0], blocks * kQ8BlockBytes})) ||
      failed(expectShape(*this, "y", out, {xq[0], w[0]})))
    return failure();
  return success();
}

LogicalResult MicroKernelOp::verifyRMSNorm() {
  // micro_kernel_c10
  auto type = [&](Value v) { return cast<ShapedType>(v.getType()); };
  Value x = getInputs()[0], g = getInputs()[1], out = getOutputs()[0];
  if (type(x).getRank() != 2 || type(g).getRank() != 1 ||
      !type(x).getElementType().isF32() || !type(g).getElementType().isF32() ||
      type(out).getElementType() != type(x).getElementType())
    return emitOpError("expected x and the output 2-d of f32, the norm "
                       "weight 1-d of f32");
  if (failed(expectShape(*this, "output", type(out).getShape(),
                         type(x).getShape())) ||
      failed(expectShape(*this, "norm weight", type(g).getShape(),
                         {type(x).getDimSize(1)})))
    return failure();
  if (!(getEpsilonAttr().getValueAsDouble() > 0))
    return emitOpError("expected a positive epsilon");
  return success();
}

LogicalResult MicroKernelOp::verifyAttention() {
  // micro_kernel_c7
  auto type = [&](Value v) { return cast<ShapedType>(v.getType()); };
  Value q = getInputs()[0], k = getInputs()[1], v = getInputs()[2],
        pos = getInputs()[3], out = getOutputs()[0];
  for (Value x : {q, k, v, out})
    if (type(x).getRank() != 3 || !type(x).getElementType().isF32())
      return emitOpError("expected q, the caches and the output 3-d of f32");
  if (type(pos).getRank() != 1 || !type(pos).getElementType().isInteger(32))
    return emitOpError("expected positions 1-d of i32");
  if (type(k) != type(v))
    return emitOpError("expected keys and values of one type");
  ArrayRef<int64_t> qs = type(q).getShape(), ks = type(k).getShape();
  if (ShapedType::isDynamic(qs[1]) || ShapedType::isDynamic(qs[2]) ||
      ShapedType::isDynamic(ks[1]) || ks[1] <= 0 || qs[2] != ks[2] ||
      qs[1] % ks[1])
    return emitOpError("expected static heads and head size, the query "
                       "heads a multiple of the KV heads, one head size");
  if (failed(expectShape(*this, "output", type(out).getShape(), qs)) ||
      failed(expectShape(*this, "positions", type(pos).getShape(), {qs[0]})))
    return failure();
  if (!getScaleAttr() || getScaleAttr().getValueAsDouble() <= 0)
    return emitOpError("expected a positive scale");
  return success();
}

void MicroKernelOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &in : getInputsMutable())
    if (isa<MemRefType>(in.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &in,
                           SideEffects::DefaultResource::get());
  for (OpOperand &out : getOutputsMutable())
    if (isa<MemRefType>(out.get().getType()))
      effects.emplace_back(MemoryEffects::Write::get(), &out,
                           SideEffects::DefaultResource::get());
}

bool MicroKernelOp::bufferizesToMemoryRead(
    OpOperand &operand, const bufferization::AnalysisState &) {
  // Outputs are written whole, never read.
  return !isDpsInit(&operand);
}

bool MicroKernelOp::bufferizesToMemoryWrite(
    OpOperand &operand, const bufferization::AnalysisState &) {
  return isDpsInit(&operand);
}

bufferization::AliasingValueList
MicroKernelOp::getAliasingValues(OpOperand &operand,
                                 const bufferization::AnalysisState &) {
  if (!isDpsInit(&operand))
    return {};
  return {{getTiedOpResult(&operand), bufferization::BufferRelation::Equivalent,
           /*isDefinite=*/true}};
}

LogicalResult
MicroKernelOp::bufferize(RewriterBase &rewriter,
                         const bufferization::BufferizationOptions &options,
                         bufferization::BufferizationState &state) {
  SmallVector<Value> inputs, outputs;
  for (Value v : getInputs()) {
    if (!isa<TensorType>(v.getType())) {
      inputs.push_back(v);
      continue;
    }
    FailureOr<Value> buffer = bufferization::getBuffer(rewriter, v, options,
                                                       state);
    if (failed(buffer))
      return failure();
    inputs.push_back(*buffer);
  }
  for (Value v : getOutputs()) {
    FailureOr<Value> buffer = bufferization::getBuffer(rewriter, v, options,
                                                       state);
    if (failed(buffer))
      return failure();
    outputs.push_back(*buffer);
  }
  rewriter.setInsertionPoint(*this);
  MicroKernelOp::create(rewriter, getLoc(), TypeRange(), getKernelAttr(),
                        getIsaAttr(), inputs, outputs, getMicroAttr(),
                        getThreadsAttr(), getScaleAttr(), getGateAttr(),
                        getResidualAttr(), getEpsilonAttr());
  bufferization::replaceOpWithBufferizedValues(rewriter, *this, outputs);
  return success();
}
