//===- KernelInterface.cpp - KernelOpInterface implementations --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Per-op kernel name, shape signature (ggml order: innermost dimension
// first, padded to three, as in the HAQA paper's Table 3), iteration space,
// FLOP and byte counts, and the shared schedule check. Dynamic dimensions
// count as 1 in FLOPs and bytes (the estimate of one row / token).
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/HAQA.h"

using namespace mlir;
using namespace mlir::haqa;

#include "haqa/Dialect/HAQA/IR/HAQAInterfaces.cpp.inc"

LogicalResult mlir::haqa::detail::verifyKernelOp(Operation *op) {
  auto kernel = cast<KernelOpInterface>(op);
  ScheduleAttr schedule = kernel.getSchedule();
  if (!schedule) {
    if (op->hasAttr("schedule"))
      return op->emitOpError("expected 'schedule' to be a #haqa.schedule");
    return success();
  }
  return verifyKernelSchedule(op, schedule,
                              [op] { return op->emitOpError(); });
}

LogicalResult
mlir::haqa::verifyKernelSchedule(Operation *op, ScheduleAttr schedule,
                                 function_ref<InFlightDiagnostic()> emitError) {
  auto kernel = cast<KernelOpInterface>(op);
  if (failed(schedule.verifyAgainst(
          emitError, kernel.getIterationSpace(),
          op->getNumOperands() + op->getNumResults())))
    return failure();
  // schedule_c18
  if (schedule.getExp() &&
      !isa<SoftmaxOp, SiLUOp, SwiGLUOp, AttentionOp, RoPEOp>(op))
    return emitError() << "schedule has exp, which applies to softmax, silu, "
                          "swiglu, attention and rope only";
  // schedule_c21
  if (schedule.getAttn() && !isa<AttentionOp>(op))
    return emitError() << "schedule has attn, which applies to attention "
                          "only";
  if (schedule.isFusedAttention() && !canFuseAttention(op))
    return emitError() << "schedule has attn = fused, which needs an f32 "
                          "query and KV cache with static heads and head "
                          "size, and i32 positions";
  // schedule_c24
  if (schedule.getMma().value_or(0) == 1)
    if (auto matmul = dyn_cast<MatmulOp>(op);
        matmul && matmul.getWeight().getType().getQuant().getLayout() ==
                      StorageLayout::gguf_k)
      return emitError() << "schedule has mma = 1, which has no lowering for "
                            "K-quant (Q4_K / Q6_K) weights";
  // schedule_c23
  if (!schedule.getFuse().empty() && !isa<MatmulOp>(op))
    return emitError() << "schedule has fuse, which applies to matmul only";
  // schedule_c17
  if (schedule.getDot() && *schedule.getDot() == DotKind::fma) {
    auto matmul = dyn_cast<MatmulOp>(op);
    if (!matmul || !hasFMADotKernels(
                       matmul.getWeight().getType().getQuant().getGGUFName()))
      return emitError() << "schedule has dot = fma, which needs a matmul "
                            "with F16 or BF16 weights";
  }
  if (schedule.isInt8Dot()) {
    auto matmul = dyn_cast<MatmulOp>(op);
    StringRef gguf =
        matmul ? matmul.getWeight().getType().getQuant().getGGUFName() : "";
    if (!hasInt8DotKernels(gguf))
      return emitError() << "schedule has dot = i8, which needs a matmul "
                            "with Q8_0, Q4_0, Q4_1, Q4_K or Q6_K weights";
  }
  return success();
}

bool mlir::haqa::canFuseAttention(Operation *op) {
  auto attention = dyn_cast<AttentionOp>(op);
  if (!attention)
    return false;
  auto shaped = [](Value v) { return cast<ShapedType>(v.getType()); };
  for (Value v : {attention.getQuery(), attention.getKeys(),
                  attention.getValues()}) {
    ShapedType t = shaped(v);
    if (!t.getElementType().isF32() || t.isDynamicDim(1) || t.isDynamicDim(2))
      return false;
  }
  return shaped(attention.getPositions()).getElementType().isInteger(32);
}

bool mlir::haqa::hasFMADotKernels(StringRef ggufName) {
  return ggufName == "f16" || ggufName == "bf16";
}

bool mlir::haqa::hasInt8DotKernels(StringRef ggufName) {
  return ggufName == "q8_0" || ggufName == "q4_0" || ggufName == "q4_1" ||
         ggufName == "q4_k" || ggufName == "q6_k";
}

bool mlir::haqa::hasInt8Dot(Operation *root) {
  return root
      ->walk([](MatmulOp m) {
        ScheduleAttr s = m.getScheduleAttr();
        return s && s.isInt8Dot() ? WalkResult::interrupt()
                                  : WalkResult::advance();
      })
      .wasInterrupted();
}

std::string mlir::haqa::getKernelKey(Operation *op, bool withSchedule) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << op->getName() << "|";
  for (Type t : op->getOperandTypes())
    os << t << ",";
  os << "|";
  for (Type t : op->getResultTypes())
    os << t << ",";
  os << "|";
  if (withSchedule) {
    os << op->getAttrDictionary();
  } else {
    NamedAttrList attrs(op->getAttrDictionary());
    attrs.erase("schedule");
    os << attrs.getDictionary(op->getContext());
  }
  return key;
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static uint64_t staticSize(int64_t d) {
  return ShapedType::isDynamic(d) ? 1 : static_cast<uint64_t>(d);
}

static uint64_t numElements(Value v) {
  uint64_t n = 1;
  for (int64_t d : cast<ShapedType>(v.getType()).getShape())
    n *= staticSize(d);
  return n;
}

/// Bytes of a tensor value in memory.
static uint64_t tensorBytes(Value v) {
  Type elem = cast<ShapedType>(v.getType()).getElementType();
  return numElements(v) * ((elem.getIntOrFloatBitWidth() + 7) / 8);
}

static uint64_t weightBytes(Value w, QuantAttr q) {
  return cast<WeightType>(w.getType()).getStorageBytes(q);
}

static SmallVector<int64_t> shapeOf(Value v) {
  return llvm::to_vector(cast<ShapedType>(v.getType()).getShape());
}

/// ggml `ne` order: innermost first, padded with 1 to at least three.
static SmallVector<int64_t> ggmlOrder(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> ne(llvm::reverse(shape));
  while (ne.size() < 3)
    ne.push_back(1);
  return ne;
}

//===----------------------------------------------------------------------===//
// Elementwise-style kernels: iteration space = result shape
//===----------------------------------------------------------------------===//

/// `flopsPerElement` and `tensorsMoved` (inputs read plus result written)
/// describe a kernel that walks its result once.
#define HAQA_ELEMENTWISE_KERNEL(OP, NAME, FLOPS_PER_ELEMENT)                   \
  StringRef OP::getKernelName() { return NAME; }                               \
  SmallVector<int64_t> OP::getShapeSignature() {                               \
    return ggmlOrder(shapeOf(getResult()));                                    \
  }                                                                            \
  SmallVector<int64_t> OP::getIterationSpace() {                               \
    return shapeOf(getResult());                                               \
  }                                                                            \
  uint64_t OP::getFlops() {                                                    \
    return FLOPS_PER_ELEMENT * numElements(getResult());                       \
  }                                                                            \
  uint64_t OP::getBytes(QuantAttr) {                                           \
    uint64_t bytes = tensorBytes(getResult());                                 \
    for (Value v : getOperation()->getOperands())                              \
      bytes += tensorBytes(v);                                                 \
    return bytes;                                                              \
  }                                                                            \
  bool OP::isMeasurableAlone() { return true; }                                \
  std::optional<int64_t> OP::getIndexBound(unsigned) { return std::nullopt; }

// max, subtract, exp, sum, divide.
HAQA_ELEMENTWISE_KERNEL(SoftmaxOp, "softmax", 5)
// negate, exp, add, divide, multiply.
HAQA_ELEMENTWISE_KERNEL(SiLUOp, "silu", 5)
// silu(gate) then times up.
HAQA_ELEMENTWISE_KERNEL(SwiGLUOp, "swiglu", 6)
HAQA_ELEMENTWISE_KERNEL(AddOp, "add", 1)
HAQA_ELEMENTWISE_KERNEL(MulOp, "mul", 1)
#undef HAQA_ELEMENTWISE_KERNEL

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

StringRef EmbeddingOp::getKernelName() { return "embedding"; }
SmallVector<int64_t> EmbeddingOp::getShapeSignature() {
  return ggmlOrder(shapeOf(getResult()));
}
SmallVector<int64_t> EmbeddingOp::getIterationSpace() {
  return shapeOf(getResult());
}
// One multiply (by the block scale) per dequantized value.
uint64_t EmbeddingOp::getFlops() { return numElements(getResult()); }
bool EmbeddingOp::isMeasurableAlone() { return true; }
// Token ids are rows of the table.
std::optional<int64_t> EmbeddingOp::getIndexBound(unsigned operand) {
  if (operand != getTokensMutable().getOperandNumber())
    return std::nullopt;
  return getTable().getType().getShape()[0];
}
uint64_t EmbeddingOp::getBytes(QuantAttr q) {
  WeightType table = getTable().getType();
  QuantAttr quant = q ? q : table.getQuant();
  uint64_t rows = numElements(getTokens());
  return rows * quant.getStorageBytes(table.getShape()[1]) +
         tensorBytes(getTokens()) + tensorBytes(getResult());
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

StringRef RMSNormOp::getKernelName() { return "rms_norm"; }
SmallVector<int64_t> RMSNormOp::getShapeSignature() {
  return ggmlOrder(shapeOf(getInput()));
}
SmallVector<int64_t> RMSNormOp::getIterationSpace() {
  return shapeOf(getInput());
}
// square, accumulate, scale by rsqrt, multiply by weight.
uint64_t RMSNormOp::getFlops() { return 4 * numElements(getInput()); }
bool RMSNormOp::isMeasurableAlone() { return true; }
std::optional<int64_t> RMSNormOp::getIndexBound(unsigned) {
  return std::nullopt;
}
uint64_t RMSNormOp::getBytes(QuantAttr q) {
  return tensorBytes(getInput()) + tensorBytes(getResult()) +
         weightBytes(getWeight(), q);
}

//===----------------------------------------------------------------------===//
// matmul: y[M, N] = x[M, K] * W[N, K]^T
//===----------------------------------------------------------------------===//

StringRef MatmulOp::getKernelName() { return "matmul"; }
SmallVector<int64_t> MatmulOp::getShapeSignature() {
  auto x = getInput().getType();
  return {x.getDimSize(1), x.getDimSize(0),
          getWeight().getType().getShape()[0]};
}
SmallVector<int64_t> MatmulOp::getIterationSpace() {
  auto x = getInput().getType();
  return {x.getDimSize(0), getWeight().getType().getShape()[0],
          x.getDimSize(1)};
}
uint64_t MatmulOp::getFlops() {
  SmallVector<int64_t> mnk = getIterationSpace();
  return 2 * staticSize(mnk[0]) * staticSize(mnk[1]) * staticSize(mnk[2]);
}
// Planar storages are not lowered by the targets yet.
bool MatmulOp::isMeasurableAlone() {
  return !getWeight().getType().getQuant().getGGUFName().empty();
}
std::optional<int64_t> MatmulOp::getIndexBound(unsigned) {
  return std::nullopt;
}
uint64_t MatmulOp::getBytes(QuantAttr q) {
  return tensorBytes(getInput()) + weightBytes(getWeight(), q) +
         tensorBytes(getResult());
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

StringRef RoPEOp::getKernelName() { return "rope"; }
// [head size, tokens, heads], as the paper's Table 3 (`rope [128,64,1]` for
// 64 tokens of one head), from the input's [tokens, heads, head size].
SmallVector<int64_t> RoPEOp::getShapeSignature() {
  SmallVector<int64_t> x = shapeOf(getInput());
  return {x[2], x[0], x[1]};
}
// Llama 3.1's per-pair frequency factors are weights with meaning (divisors
// of the frequencies), not synthetic values.
bool RoPEOp::isMeasurableAlone() { return !getFreqFactors(); }
// Any position has its angles.
std::optional<int64_t> RoPEOp::getIndexBound(unsigned) { return std::nullopt; }
SmallVector<int64_t> RoPEOp::getIterationSpace() { return shapeOf(getInput()); }
// Per pair: two multiplies and an add for each of the two outputs.
uint64_t RoPEOp::getFlops() { return 3 * numElements(getInput()); }
uint64_t RoPEOp::getBytes(QuantAttr) {
  uint64_t bytes = 2 * tensorBytes(getInput()) + tensorBytes(getPositions());
  if (Value factors = getFreqFactors())
    bytes += cast<WeightType>(factors.getType()).getStorageBytes();
  return bytes;
}

//===----------------------------------------------------------------------===//
// kv_write
//===----------------------------------------------------------------------===//

StringRef KVWriteOp::getKernelName() { return "kv_write"; }
SmallVector<int64_t> KVWriteOp::getShapeSignature() {
  return ggmlOrder(shapeOf(getValues()));
}
SmallVector<int64_t> KVWriteOp::getIterationSpace() {
  return shapeOf(getValues());
}
uint64_t KVWriteOp::getFlops() { return 0; }
bool KVWriteOp::isMeasurableAlone() { return true; }
// Positions are rows of the cache.
std::optional<int64_t> KVWriteOp::getIndexBound(unsigned operand) {
  if (operand != getPositionsMutable().getOperandNumber())
    return std::nullopt;
  return getCache().getType().getDimSize(0);
}
// Written in place: the rows are read once and stored once.
uint64_t KVWriteOp::getBytes(QuantAttr) {
  return 2 * tensorBytes(getValues()) + tensorBytes(getPositions());
}

//===----------------------------------------------------------------------===//
// attention: signature [kv_len, tokens, heads, head_dim]
//===----------------------------------------------------------------------===//

StringRef AttentionOp::getKernelName() { return "attention"; }
SmallVector<int64_t> AttentionOp::getShapeSignature() {
  auto q = getQuery().getType();
  return {getKeys().getType().getDimSize(0), q.getDimSize(0), q.getDimSize(1),
          q.getDimSize(2)};
}
SmallVector<int64_t> AttentionOp::getIterationSpace() {
  auto q = getQuery().getType();
  return {q.getDimSize(1), q.getDimSize(0), getKeys().getType().getDimSize(0),
          q.getDimSize(2)};
}
// QK^T and PV (2 * 2 * hd per score) plus softmax (5 per score), counted over
// the whole cache: an upper bound, since causal queries stop at their
// position.
uint64_t AttentionOp::getFlops() {
  SmallVector<int64_t> s = getIterationSpace();
  uint64_t scores = staticSize(s[0]) * staticSize(s[1]) * staticSize(s[2]);
  return scores * (4 * staticSize(s[3]) + 5);
}
bool AttentionOp::isMeasurableAlone() { return true; }
// Query t reads cache rows 0 .. positions[t].
std::optional<int64_t> AttentionOp::getIndexBound(unsigned operand) {
  if (operand != getPositionsMutable().getOperandNumber())
    return std::nullopt;
  return getKeys().getType().getDimSize(0);
}
uint64_t AttentionOp::getBytes(QuantAttr) {
  return tensorBytes(getQuery()) + tensorBytes(getKeys()) +
         tensorBytes(getValues()) + tensorBytes(getPositions()) +
         tensorBytes(getResult());
}
