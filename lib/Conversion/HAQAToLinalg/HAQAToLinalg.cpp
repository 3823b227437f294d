//===- HAQAToLinalg.cpp - haqa kernel ops to linalg on tensors --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Weights become byte-buffer function arguments read through typed strided
// views (GGUF blocks are never repacked: the scale of block b of row n of a
// Q8_0 weight is the f16 at byte 34*(n*B+b)); kernel ops become
// linalg.generic ops whose bodies dequantize in place. Every produced
// generic carries `haqa.loop_dims` (the kernel iteration dimension each of
// its loops walks) and the kernel's schedule, for haqa-cpu-apply-schedule;
// where several loops walk one kernel dimension out of row-major order,
// `haqa.loop_strides` gives each loop's step along it (K = 32 b + 16 h + j).
//
//===----------------------------------------------------------------------===//

#include "haqa/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_CONVERTHAQATOLINALGPASS
#include "haqa/Conversion/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Builds the linalg form of one kernel op at its position.
class KernelLowering {
public:
  KernelLowering(OpBuilder &b, Operation *kernel,
                 const DenseMap<Value, Value> &weightBytes,
                 bool attentionWholeCache = false)
      : b(b), loc(kernel->getLoc()), kernel(kernel), weightBytes(weightBytes),
        attentionWholeCache(attentionWholeCache) {}

  FailureOr<Value> lower();

private:
  OpBuilder &b;
  Location loc;
  Operation *kernel;
  const DenseMap<Value, Value> &weightBytes;
  bool attentionWholeCache;

  InFlightDiagnostic fail(const Twine &msg) {
    return kernel->emitOpError() << msg;
  }

  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }

  /// An empty tensor shaped like `like` with element type f32.
  Value emptyLike(Value like) {
    auto type = cast<RankedTensorType>(like.getType());
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
    return tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  }
  Value filled(Value empty, double v) {
    return linalg::FillOp::create(b, loc, ValueRange{f32(v)}, empty)
        .getResult(0);
  }

  /// A linalg.generic tagged with the kernel's schedule and `loopDims`.
  Value generic(Type result, ValueRange ins, Value init,
                ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iters,
                ArrayRef<int64_t> loopDims,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{result}, ins, ValueRange{init}, maps, iters,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          linalg::YieldOp::create(nb, nl, body(nb, nl, args));
        });
    op->setAttr("haqa.kernel",
                b.getStringAttr(kernel->getName().stripDialect()));
    op->setAttr("haqa.loop_dims", b.getDenseI64ArrayAttr(loopDims));
    if (auto schedule = kernel->getAttrOfType<ScheduleAttr>("schedule"))
      op->setAttr("haqa.schedule", schedule);
    return op.getResult(0);
  }

  /// Identity-map elementwise generic over all dims of `like`.
  Value elementwise(ValueRange ins, Value like,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> f) {
    auto type = cast<RankedTensorType>(like.getType());
    int64_t rank = type.getRank();
    SmallVector<AffineMap> maps(ins.size() + 1, b.getMultiDimIdentityMap(rank));
    SmallVector<IteratorType> iters(rank, kPar);
    return generic(type, ins, emptyLike(like), maps, iters, identity(rank), f);
  }

  static SmallVector<int64_t> identity(int64_t n) {
    SmallVector<int64_t> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = i;
    return v;
  }

  /// The bytes of weight operand `w`.
  Value bytesOf(Value w) { return weightBytes.lookup(w); }

  /// Plain (f32/f16/bf16) weight as a tensor of its element type.
  FailureOr<Value> plainWeight(Value w) {
    auto type = cast<WeightType>(w.getType());
    QuantAttr q = type.getQuant();
    if (q.isQuantized())
      return fail("expected a plain f32/f16/bf16 weight, got ") << q, failure();
    Type elem = q.getKind() == ElemKind::f32   ? b.getF32Type()
                : q.getKind() == ElemKind::f16 ? b.getF16Type()
                                               : b.getBF16Type();
    auto memrefType = MemRefType::get(type.getShape(), elem);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value view =
        memref::ViewOp::create(b, loc, memrefType, bytesOf(w), zero, {});
    return bufferization::ToTensorOp::create(
               b, loc, RankedTensorType::get(type.getShape(), elem), view,
               /*restrict=*/true)
        .getResult();
  }

  /// `v` (a weight element) as f32.
  static Value toF32(OpBuilder &nb, Location nl, Value v) {
    if (v.getType().isF32())
      return v;
    return arith::ExtFOp::create(nb, nl, nb.getF32Type(), v);
  }

  /// A strided view of `bytes` as `shape` x `elem` (`strides` and `offset`
  /// in elements of `elem`), as a read-only tensor.
  Value strided(Value bytes, Type elem, ArrayRef<int64_t> shape,
                ArrayRef<int64_t> strides, int64_t offset) {
    Value base = bytes;
    if (!elem.isInteger(8)) {
      int64_t total = cast<MemRefType>(bytes.getType()).getNumElements() /
                      (elem.getIntOrFloatBitWidth() / 8);
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      base = memref::ViewOp::create(b, loc, MemRefType::get({total}, elem),
                                    bytes, zero, {});
    }
    auto layout = StridedLayoutAttr::get(b.getContext(), offset, strides);
    auto type = MemRefType::get(shape, elem, layout);
    Value view = memref::ReinterpretCastOp::create(b, loc, type, base, offset,
                                                   shape, strides);
    return bufferization::ToTensorOp::create(
               b, loc, RankedTensorType::get(shape, elem), view,
               /*restrict=*/true)
        .getResult();
  }

  FailureOr<Value> lowerMatmul(MatmulOp op);
  FailureOr<Value> lowerBlockedMatmul(MatmulOp op, Value init);
  FailureOr<Value> lowerRMSNorm(RMSNormOp op);
  FailureOr<Value> lowerSoftmax(SoftmaxOp op);
  FailureOr<Value> lowerRoPE(RoPEOp op);
  FailureOr<Value> lowerEmbedding(EmbeddingOp op);
  FailureOr<Value> lowerKVWrite(KVWriteOp op);
  FailureOr<Value> lowerAttention(AttentionOp op);
};

FailureOr<Value> KernelLowering::lower() {
  for (Value v : kernel->getOperands())
    if (auto t = dyn_cast<RankedTensorType>(v.getType());
        t && isa<FloatType>(t.getElementType()) && !t.getElementType().isF32())
      return fail("unimplemented: activations of type ")
                 << t.getElementType() << " (the CPU lowering takes f32)",
             failure();
  auto silu = [](OpBuilder &nb, Location nl, Value x) -> Value {
    Value one = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1.0));
    Value neg = arith::NegFOp::create(nb, nl, x);
    Value e = math::ExpOp::create(nb, nl, neg);
    Value d = arith::AddFOp::create(nb, nl, one, e);
    return arith::DivFOp::create(nb, nl, x, d);
  };
  return llvm::TypeSwitch<Operation *, FailureOr<Value>>(kernel)
      .Case([&](MatmulOp op) { return lowerMatmul(op); })
      .Case([&](RMSNormOp op) { return lowerRMSNorm(op); })
      .Case([&](SoftmaxOp op) { return lowerSoftmax(op); })
      .Case([&](RoPEOp op) { return lowerRoPE(op); })
      .Case([&](EmbeddingOp op) { return lowerEmbedding(op); })
      .Case([&](KVWriteOp op) { return lowerKVWrite(op); })
      .Case([&](AttentionOp op) { return lowerAttention(op); })
      .Case([&](SiLUOp op) -> FailureOr<Value> {
        return elementwise(op.getInput(), op.getInput(),
                           [&](OpBuilder &nb, Location nl, ValueRange a) {
                             return silu(nb, nl, a[0]);
                           });
      })
      .Case([&](SwiGLUOp op) -> FailureOr<Value> {
        return elementwise({op.getLhs(), op.getRhs()}, op.getLhs(),
                           [&](OpBuilder &nb, Location nl, ValueRange a) {
                             return arith::MulFOp::create(
                                 nb, nl, silu(nb, nl, a[0]), a[1]);
                           });
      })
      .Case([&](AddOp op) -> FailureOr<Value> {
        return elementwise({op.getLhs(), op.getRhs()}, op.getLhs(),
                           [&](OpBuilder &nb, Location nl, ValueRange a) {
                             return arith::AddFOp::create(nb, nl, a[0], a[1]);
                           });
      })
      .Case([&](MulOp op) -> FailureOr<Value> {
        return elementwise({op.getLhs(), op.getRhs()}, op.getLhs(),
                           [&](OpBuilder &nb, Location nl, ValueRange a) {
                             return arith::MulFOp::create(nb, nl, a[0], a[1]);
                           });
      })
      .Default([&](Operation *) -> FailureOr<Value> {
        return fail("unimplemented: no CPU lowering for this kernel yet"),
               failure();
      });
}

/// y[m, n] = sum_k x[m, k] * W[n, k]. With K a multiple of 32 (always for
/// GGUF blocks) this is lowerBlockedMatmul; otherwise a plain three-loop
/// generic over f32 / f16 / bf16 weights.
FailureOr<Value> KernelLowering::lowerMatmul(MatmulOp op) {
  Value x = op.getInput();
  WeightType wt = op.getWeight().getType();
  QuantAttr q = wt.getQuant();
  int64_t n = wt.getShape()[0], k = wt.getShape()[1];
  auto resultType = cast<RankedTensorType>(op.getType());
  SmallVector<OpFoldResult> outSizes = {tensor::getMixedSize(b, loc, x, 0),
                                        b.getIndexAttr(n)};
  Value init =
      filled(tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()), 0.0);
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };

  if (q.isQuantized() && q.getLayout() != StorageLayout::gguf)
    return fail("unimplemented: matmul with ") << q << " weights on the CPU",
           failure();
  if (k % 32 == 0)
    return lowerBlockedMatmul(op, init);
  if (q.isQuantized())
    return fail("quantized matmul needs K a multiple of 32, got ") << k,
           failure();
  FailureOr<Value> w = plainWeight(op.getWeight());
  if (failed(w))
    return failure();
  SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(1), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(0), d(1)}, ctx)};
  return generic(resultType, {x, *w}, init, maps, {kPar, kPar, kRed},
                 {0, 1, 2}, [](OpBuilder &nb, Location nl, ValueRange a) {
                   Value p = arith::MulFOp::create(nb, nl, a[0],
                                                   toF32(nb, nl, a[1]));
                   return arith::AddFOp::create(nb, nl, a[2], p);
                 });
}

/// K in blocks of 32: y[m, n] = sum_j P[m, n, j] with 16 partial sums per
/// output, P[m, n, j] = sum_{h, b} x[m, b, h, j] * w[n, b, h, j] over loops
/// (m, n, h, b, j): the value j + 16 h of block b. With j parallel, the
/// vectorized body is a plain multiply-add into a 16-lane accumulator that
/// stays put over the innermost block loop; the horizontal sum happens once
/// per output, in the second generic. GGUF blocks are read through strided
/// views of the weight bytes: block_q8_0 {f16 d; i8 qs[32]} (34 bytes),
/// block_q4_0 {f16 d; u8 qs[16]} (18 bytes, x = d * (q - 8)) and block_q4_1
/// {f16 d, m; u8 qs[16]} (20 bytes, x = d * q + m), whose byte j holds
/// values j (low nibble, h = 0) and j + 16 (high nibble, h = 1).
FailureOr<Value> KernelLowering::lowerBlockedMatmul(MatmulOp op, Value init) {
  Value x = op.getInput();
  WeightType wt = op.getWeight().getType();
  StringRef name = wt.getQuant().getGGUFName();
  int64_t n = wt.getShape()[0], k = wt.getShape()[1], blocks = k / 32;
  auto resultType = cast<RankedTensorType>(op.getType());
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  Type f16 = b.getF16Type(), i8 = b.getI8Type(), f32t = b.getF32Type();
  Value bytes = bytesOf(op.getWeight());
  int64_t m = resultType.getDimSize(0);
  OpFoldResult mSize = tensor::getMixedSize(b, loc, x, 0);
  Value x4 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({m, blocks, 2, 16}, f32t), x,
      SmallVector<ReassociationIndices>{{0}, {1, 2, 3}},
      SmallVector<OpFoldResult>{mSize, b.getIndexAttr(blocks),
                                b.getIndexAttr(2), b.getIndexAttr(16)});
  bool plain = !wt.getQuant().isQuantized();
  bool q8 = name == "q8_0", hasMin = name == "q4_1";
  int64_t blockBytes = q8 ? 34 : hasMin ? 20 : 18, h = blockBytes / 2;
  SmallVector<Value> ins = {x4};
  SmallVector<AffineMap> maps = {AffineMap::get(5, 0, {d(0), d(3), d(2), d(4)},
                                                ctx)};
  if (plain) {
    // f32 / f16 / bf16 rows viewed as [N, K/32, 2, 16]: no scales.
    FailureOr<Value> w = plainWeight(op.getWeight());
    if (failed(w))
      return failure();
    Type elem = cast<RankedTensorType>(w->getType()).getElementType();
    ins.push_back(tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({n, blocks, 2, 16}, elem), *w,
        SmallVector<ReassociationIndices>{{0}, {1, 2, 3}}));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(2), d(4)}, ctx));
    maps.push_back(AffineMap::get(5, 0, {d(0), d(1), d(4)}, ctx));
  } else if (q8) {
    ins.push_back(strided(bytes, i8, {n, blocks, 2, 16},
                          {34 * blocks, 34, 16, 1}, 2));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(2), d(4)}, ctx));
  } else {
    ins.push_back(strided(bytes, i8, {n, blocks, 16},
                          {blockBytes * blocks, blockBytes, 1},
                          hasMin ? 4 : 2));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(4)}, ctx));
  }
  if (!plain) {
    ins.push_back(strided(bytes, f16, {n, blocks}, {h * blocks, h}, 0));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3)}, ctx));
    if (hasMin) {
      ins.push_back(strided(bytes, f16, {n, blocks}, {h * blocks, h}, 1));
      maps.push_back(AffineMap::get(5, 0, {d(1), d(3)}, ctx));
    }
    maps.push_back(AffineMap::get(5, 0, {d(0), d(1), d(4)}, ctx));
  }
  auto partialType = RankedTensorType::get({m, n, 16}, f32t);
  Value partialInit = filled(
      tensor::EmptyOp::create(
          b, loc,
          SmallVector<OpFoldResult>{mSize, b.getIndexAttr(n),
                                    b.getIndexAttr(16)},
          f32t),
      0.0);
  Value partial = generic(
      partialType, ins, partialInit, maps, {kPar, kPar, kRed, kRed, kPar},
      {0, 1, 2, 2, 2},
      [plain, q8, hasMin](OpBuilder &nb, Location nl, ValueRange a) {
        if (plain)
          return arith::AddFOp::create(
              nb, nl, a[2],
              arith::MulFOp::create(nb, nl, a[0], toF32(nb, nl, a[1])));
        Value w;
        Value scale = toF32(nb, nl, a[2]);
        if (q8) {
          Value qf = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[1]);
          w = arith::MulFOp::create(nb, nl, qf, scale);
        } else {
          Value half = linalg::IndexOp::create(nb, nl, 2);
          Value isLow = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::eq, half,
              arith::ConstantIndexOp::create(nb, nl, 0));
          Value lo = arith::AndIOp::create(
              nb, nl, a[1],
              arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 15));
          Value hi = arith::ShRUIOp::create(
              nb, nl, a[1],
              arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 4));
          Value nib = arith::SelectOp::create(nb, nl, isLow, lo, hi);
          Value qf = arith::UIToFPOp::create(nb, nl, nb.getF32Type(), nib);
          if (hasMin) {
            w = arith::AddFOp::create(nb, nl,
                                      arith::MulFOp::create(nb, nl, qf, scale),
                                      toF32(nb, nl, a[3]));
          } else {
            Value eight =
                arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(8.0));
            w = arith::MulFOp::create(
                nb, nl, arith::SubFOp::create(nb, nl, qf, eight), scale);
          }
        }
        Value acc = a[hasMin ? 4 : 3];
        Value p = arith::MulFOp::create(nb, nl, a[0], w);
        return arith::AddFOp::create(nb, nl, acc, p);
      });
  // Loop h steps K by 16, loop b by a block of 32: a K tile is in blocks.
  partial.getDefiningOp()->setAttr("haqa.loop_strides",
                                   b.getDenseI64ArrayAttr({1, 1, 16, 32, 1}));
  return generic(resultType, partial, init,
                 {AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx),
                  AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
                 {kPar, kPar, kRed}, {0, 1, 2},
                 [](OpBuilder &nb, Location nl, ValueRange a) {
                   return arith::AddFOp::create(nb, nl, a[1], a[0]);
                 });
}

/// y = x * rsqrt(mean(x^2) + eps) * w over the last dimension: a sum of
/// squares reduction, then an elementwise scale.
FailureOr<Value> KernelLowering::lowerRMSNorm(RMSNormOp op) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  int64_t dim = type.getShape().back();
  FailureOr<Value> w = plainWeight(op.getWeight());
  if (failed(w))
    return failure();
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> rowSizes = tensor::getMixedSizes(b, loc, x);
  rowSizes.pop_back();
  auto rowType =
      RankedTensorType::get(type.getShape().drop_back(), b.getF32Type());
  Value rows =
      filled(tensor::EmptyOp::create(b, loc, rowSizes, b.getF32Type()), 0.0);
  AffineMap all = b.getMultiDimIdentityMap(rank);
  AffineMap row = all.dropResult(rank - 1);
  AffineMap last = AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, ctx));
  SmallVector<IteratorType> reduce(rank, kPar);
  reduce.back() = kRed;
  Value ss = generic(rowType, x, rows, {all, row}, reduce, identity(rank),
                     [](OpBuilder &nb, Location nl, ValueRange a) {
                       Value sq = arith::MulFOp::create(nb, nl, a[0], a[0]);
                       return arith::AddFOp::create(nb, nl, a[1], sq);
                     });
  float eps = op.getEpsilon().convertToFloat();
  return generic(
      type, {x, ss, *w}, emptyLike(x), {all, row, last, all},
      SmallVector<IteratorType>(rank, kPar), identity(rank),
      [dim, eps](OpBuilder &nb, Location nl, ValueRange a) {
        Value inv = arith::ConstantOp::create(
            nb, nl, nb.getF32FloatAttr(1.0f / static_cast<float>(dim)));
        Value e = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(eps));
        Value mean = arith::MulFOp::create(nb, nl, a[1], inv);
        Value r = math::RsqrtOp::create(nb, nl,
                                        arith::AddFOp::create(nb, nl, mean, e));
        Value y = arith::MulFOp::create(nb, nl, a[0], r);
        return arith::MulFOp::create(nb, nl, y, toF32(nb, nl, a[2]));
      });
}

/// Softmax over the last dimension: row maximum, row sum of exp(x - max),
/// then exp(x - max) / sum.
FailureOr<Value> KernelLowering::lowerSoftmax(SoftmaxOp op) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> rowSizes = tensor::getMixedSizes(b, loc, x);
  rowSizes.pop_back();
  auto rowType =
      RankedTensorType::get(type.getShape().drop_back(), b.getF32Type());
  Value rowsEmpty = tensor::EmptyOp::create(b, loc, rowSizes, b.getF32Type());
  AffineMap all = b.getMultiDimIdentityMap(rank);
  AffineMap row = all.dropResult(rank - 1);
  SmallVector<IteratorType> reduce(rank, kPar);
  reduce.back() = kRed;
  Value mx = generic(rowType, x,
                     filled(rowsEmpty, -std::numeric_limits<float>::infinity()),
                     {all, row}, reduce, identity(rank),
                     [](OpBuilder &nb, Location nl, ValueRange a) {
                       return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
                     });
  Value sum =
      generic(rowType, {x, mx}, filled(rowsEmpty, 0.0), {all, row, row}, reduce,
              identity(rank), [](OpBuilder &nb, Location nl, ValueRange a) {
                Value e = math::ExpOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                return arith::AddFOp::create(nb, nl, a[2], e);
              });
  return generic(type, {x, mx, sum}, emptyLike(x), {all, row, row, all},
                 SmallVector<IteratorType>(rank, kPar), identity(rank),
                 [](OpBuilder &nb, Location nl, ValueRange a) {
                   Value e = math::ExpOp::create(
                       nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                   return arith::DivFOp::create(nb, nl, e, a[2]);
                 });
}

/// y[t, h, d] = x[t, h, d] * cos(p_t f_d) + sign_d * x[t, h, partner(d)] *
/// sin(p_t f_d), with f_d the frequency of d's pair (a constant table, freq
/// factors divided in) and partner(d) the other member of the pair:
/// d xor 1 interleaved, (d + D/2) mod D for the half style. The partner is
/// read with tensor.extract in the body: an indexing map with `mod` would
/// give tiling wrong slice bounds.
FailureOr<Value> KernelLowering::lowerRoPE(RoPEOp op) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t hd = type.getDimSize(2);
  bool interleaved = op.getStyle() == RoPEStyle::interleaved;
  SmallVector<float> freq(hd), sign(hd);
  for (int64_t dd = 0; dd < hd; ++dd) {
    int64_t pair = interleaved ? dd / 2 : dd % (hd / 2);
    bool first = interleaved ? dd % 2 == 0 : dd < hd / 2;
    freq[dd] = static_cast<float>(getRoPEFrequency(op, pair, hd));
    sign[dd] = first ? -1.0f : 1.0f;
  }
  auto tableType = RankedTensorType::get({hd}, b.getF32Type());
  Value freqs = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType, ArrayRef<float>(freq)));
  Value signs = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(tableType, ArrayRef<float>(sign)));
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap all = b.getMultiDimIdentityMap(3);
  SmallVector<Value> ins = {x, op.getPositions(), freqs, signs};
  SmallVector<AffineMap> maps = {all, AffineMap::get(3, 0, d(0)),
                                 AffineMap::get(3, 0, d(2)),
                                 AffineMap::get(3, 0, d(2))};
  bool hasFactors = static_cast<bool>(op.getFreqFactors());
  Value factors;
  if (hasFactors) {
    FailureOr<Value> f = plainWeight(op.getFreqFactors());
    if (failed(f))
      return failure();
    factors = *f;
  }
  maps.push_back(all);
  return generic(
      type, ins, emptyLike(x), maps, {kPar, kPar, kPar}, {0, 1, 2},
      [&, hasFactors, interleaved, hd](OpBuilder &nb, Location nl,
                                       ValueRange a) {
        Value t = linalg::IndexOp::create(nb, nl, 0);
        Value h = linalg::IndexOp::create(nb, nl, 1);
        Value dd = linalg::IndexOp::create(nb, nl, 2);
        Value partner =
            interleaved
                ? arith::XOrIOp::create(
                      nb, nl, dd, arith::ConstantIndexOp::create(nb, nl, 1))
                      .getResult()
                : arith::RemUIOp::create(
                      nb, nl,
                      arith::AddIOp::create(
                          nb, nl, dd,
                          arith::ConstantIndexOp::create(nb, nl, hd / 2)),
                      arith::ConstantIndexOp::create(nb, nl, hd))
                      .getResult();
        Value other =
            tensor::ExtractOp::create(nb, nl, x, ValueRange{t, h, partner});
        Value pos = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[1]);
        Value f = a[2];
        if (hasFactors) {
          // The factor of d's pair: d / 2 interleaved, d mod D/2 half.
          Value pair =
              interleaved
                  ? arith::DivUIOp::create(
                        nb, nl, dd, arith::ConstantIndexOp::create(nb, nl, 2))
                        .getResult()
                  : arith::RemUIOp::create(
                        nb, nl, dd,
                        arith::ConstantIndexOp::create(nb, nl, hd / 2))
                        .getResult();
          Value factor = tensor::ExtractOp::create(nb, nl, factors, pair);
          f = arith::DivFOp::create(nb, nl, f, toF32(nb, nl, factor));
        }
        Value angle = arith::MulFOp::create(nb, nl, pos, f);
        Value c = math::CosOp::create(nb, nl, angle);
        Value s = math::SinOp::create(nb, nl, angle);
        Value y = arith::MulFOp::create(nb, nl, a[0], c);
        Value o = arith::MulFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, other, s), a[3]);
        return arith::AddFOp::create(nb, nl, y, o);
      });
}

/// y[t, e] = table[tokens[t], e], dequantized: a parallel generic over
/// (t, e) whose body reads the row the token selects (tensor.extract from
/// the weight's strided views; GGUF blocks as in lowerMatmul).
FailureOr<Value> KernelLowering::lowerEmbedding(EmbeddingOp op) {
  WeightType wt = op.getTable().getType();
  QuantAttr q = wt.getQuant();
  int64_t vocab = wt.getShape()[0], dim = wt.getShape()[1];
  auto resultType = cast<RankedTensorType>(op.getType());
  Value tokens = op.getTokens();
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, tokens, 0),
                                     b.getIndexAttr(dim)};
  Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  Type f16 = b.getF16Type(), i8 = b.getI8Type();
  SmallVector<Value> tables;
  StringRef name;
  if (!q.isQuantized()) {
    FailureOr<Value> w = plainWeight(op.getTable());
    if (failed(w))
      return failure();
    tables.push_back(*w);
  } else {
    if (q.getLayout() != StorageLayout::gguf)
      return fail("unimplemented: embedding with ") << q << " tables on the CPU",
             failure();
    name = q.getGGUFName();
    int64_t blocks = dim / 32;
    Value bytes = bytesOf(op.getTable());
    if (name == "q8_0") {
      tables.push_back(
          strided(bytes, i8, {vocab, blocks, 32}, {34 * blocks, 34, 1}, 2));
      tables.push_back(
          strided(bytes, f16, {vocab, blocks}, {17 * blocks, 17}, 0));
    } else {
      bool hasMin = name == "q4_1";
      int64_t blockBytes = hasMin ? 20 : 18, h = blockBytes / 2;
      tables.push_back(strided(bytes, i8, {vocab, blocks, 16},
                               {blockBytes * blocks, blockBytes, 1},
                               hasMin ? 4 : 2));
      tables.push_back(strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 0));
      if (hasMin)
        tables.push_back(
            strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 1));
    }
  }
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {
      AffineMap::get(2, 0, getAffineDimExpr(0, ctx)),
      b.getMultiDimIdentityMap(2)};
  return generic(
      resultType, tokens, init, maps, {kPar, kPar}, {0, 1},
      [&, name](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value row =
            arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
        Value e = linalg::IndexOp::create(nb, nl, 1);
        auto cst = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, nl, v);
        };
        if (name.empty())
          return toF32(nb, nl,
                       tensor::ExtractOp::create(nb, nl, tables[0],
                                                 ValueRange{row, e}));
        Value blk = arith::DivUIOp::create(nb, nl, e, cst(32));
        Value j = arith::RemUIOp::create(nb, nl, e, cst(32));
        Value scale = toF32(nb, nl,
                            tensor::ExtractOp::create(nb, nl, tables[1],
                                                      ValueRange{row, blk}));
        if (name == "q8_0") {
          Value qv = tensor::ExtractOp::create(nb, nl, tables[0],
                                               ValueRange{row, blk, j});
          Value qf = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), qv);
          return arith::MulFOp::create(nb, nl, qf, scale);
        }
        // Value j of a Q4 block is the low nibble of byte j (j < 16) or the
        // high nibble of byte j - 16.
        Value byteIdx = arith::RemUIOp::create(nb, nl, j, cst(16));
        Value byte = tensor::ExtractOp::create(nb, nl, tables[0],
                                               ValueRange{row, blk, byteIdx});
        Value isLow = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                            j, cst(16));
        Value lo = arith::AndIOp::create(
            nb, nl, byte,
            arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 15));
        Value hi = arith::ShRUIOp::create(
            nb, nl, byte,
            arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 4));
        Value nib = arith::SelectOp::create(nb, nl, isLow, lo, hi);
        Value qf = arith::UIToFPOp::create(nb, nl, nb.getF32Type(), nib);
        if (name == "q4_1") {
          Value mn = toF32(nb, nl,
                           tensor::ExtractOp::create(nb, nl, tables[2],
                                                     ValueRange{row, blk}));
          return arith::AddFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, qf, scale), mn);
        }
        Value eight = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(8.0));
        return arith::MulFOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, qf, eight), scale);
      });
}

/// cache[positions[t], :, :] = values[t, :, :]: a loop over the new rows
/// inserting each at its position; the cache operand is updated in place
/// once bufferized (the function's cache argument is writable).
FailureOr<Value> KernelLowering::lowerKVWrite(KVWriteOp op) {
  Value values = op.getValues(), positions = op.getPositions();
  auto vt = cast<RankedTensorType>(values.getType());
  int64_t heads = vt.getDimSize(1), hd = vt.getDimSize(2);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value rows = tensor::DimOp::create(b, loc, values, 0);
  auto loop = scf::ForOp::create(
      b, loc, zero, rows, one, ValueRange{op.getCache()},
      [&](OpBuilder &nb, Location nl, Value t, ValueRange iter) {
        Value p = tensor::ExtractOp::create(nb, nl, positions, t);
        Value row = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), p);
        SmallVector<OpFoldResult> strides(3, nb.getIndexAttr(1));
        SmallVector<OpFoldResult> sizes = {nb.getIndexAttr(1),
                                           nb.getIndexAttr(heads),
                                           nb.getIndexAttr(hd)};
        Value slice = tensor::ExtractSliceOp::create(
            nb, nl, values, SmallVector<OpFoldResult>{t, nb.getIndexAttr(0),
                                                      nb.getIndexAttr(0)},
            sizes, strides);
        Value updated = tensor::InsertSliceOp::create(
            nb, nl, slice, iter[0],
            SmallVector<OpFoldResult>{row, nb.getIndexAttr(0),
                                      nb.getIndexAttr(0)},
            sizes, strides);
        scf::YieldOp::create(nb, nl, updated);
      });
  loop->setAttr("haqa.kernel", b.getStringAttr("kv_write"));
  return loop.getResult(0);
}

/// Causal grouped-query attention, decomposed into linalg generics over the
/// cache rows that any query can see (0 .. max(positions)): scores
/// S[t, g, r, j] = q[t, g, r, :] . K[j, g, :] (the query heads split into
/// KV head g and its r-th query head), scaled and masked (j > positions[t]
/// gives -inf), softmax over j, then O = P V. Loops map to the kernel's
/// iteration space [heads, tokens, kv_len, head_dim].
FailureOr<Value> KernelLowering::lowerAttention(AttentionOp op) {
  Value q = op.getQuery(), keys = op.getKeys(), vals = op.getValues();
  Value positions = op.getPositions();
  auto qt = cast<RankedTensorType>(q.getType());
  auto kt = cast<RankedTensorType>(keys.getType());
  int64_t hq = qt.getDimSize(1), hd = qt.getDimSize(2);
  int64_t hkv = kt.getDimSize(1), group = hq / hkv;
  Type f32t = b.getF32Type();
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto map = [&](unsigned n, ArrayRef<AffineExpr> e) {
    return AffineMap::get(n, 0, e, ctx);
  };

  // Visible rows: max(positions) + 1, or every row of the cache (the mask
  // hides the rest: exp(-inf) adds exact zeros).
  SmallVector<OpFoldResult> offs(3, b.getIndexAttr(0)),
      strides(3, b.getIndexAttr(1));
  OpFoldResult len;
  if (attentionWholeCache && !kt.isDynamicDim(0)) {
    len = b.getIndexAttr(kt.getDimSize(0));
  } else {
    Value maxInit =
        linalg::FillOp::create(
            b, loc,
            ValueRange{arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0)},
            ValueRange{tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{},
                                               b.getI32Type())})
            .getResult(0);
    auto maxOp = linalg::GenericOp::create(
        b, loc, TypeRange{maxInit.getType()}, positions, maxInit,
        {map(1, {d(0)}), map(1, {})}, {kRed},
        [](OpBuilder &nb, Location nl, ValueRange a) {
          linalg::YieldOp::create(
              nb, nl, arith::MaxSIOp::create(nb, nl, a[0], a[1]).getResult());
        });
    Value maxPos =
        tensor::ExtractOp::create(b, loc, maxOp.getResult(0), ValueRange{});
    len = arith::AddIOp::create(
              b, loc,
              arith::IndexCastOp::create(b, loc, b.getIndexType(), maxPos),
              arith::ConstantIndexOp::create(b, loc, 1))
              .getResult();
  }
  SmallVector<OpFoldResult> rowSizes = {len, b.getIndexAttr(hkv),
                                        b.getIndexAttr(hd)};
  Value k = tensor::ExtractSliceOp::create(b, loc, keys, offs, rowSizes,
                                           strides);
  Value v = tensor::ExtractSliceOp::create(b, loc, vals, offs, rowSizes,
                                           strides);

  OpFoldResult tokens = tensor::getMixedSize(b, loc, q, 0);
  Value q4 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({qt.getDimSize(0), hkv, group, hd}, f32t),
      q, {{0}, {1, 2}, {3}},
      SmallVector<OpFoldResult>{tokens, b.getIndexAttr(hkv),
                                b.getIndexAttr(group), b.getIndexAttr(hd)});
  auto scoreType = RankedTensorType::get(
      {qt.getDimSize(0), hkv, group,
       getConstantIntValue(len).value_or(ShapedType::kDynamic)},
      f32t);
  SmallVector<OpFoldResult> scoreSizes = {tokens, b.getIndexAttr(hkv),
                                          b.getIndexAttr(group), len};
  auto scoreEmpty = [&] {
    return tensor::EmptyOp::create(b, loc, scoreSizes, f32t).getResult();
  };
  // (t, g, r, j, d): dims of the kernel [heads, tokens, kv_len, head_dim].
  Value scores = generic(
      scoreType, {q4, k}, filled(scoreEmpty(), 0.0),
      {map(5, {d(0), d(1), d(2), d(4)}), map(5, {d(3), d(1), d(4)}),
       map(5, {d(0), d(1), d(2), d(3)})},
      {kPar, kPar, kPar, kPar, kRed}, {1, 0, 0, 2, 3},
      [](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::AddFOp::create(
            nb, nl, a[2], arith::MulFOp::create(nb, nl, a[0], a[1]));
      });
  float scale = op.getScale().convertToFloat();
  AffineMap all4 = b.getMultiDimIdentityMap(4);
  Value masked = generic(
      scoreType, {scores, positions}, scoreEmpty(),
      {all4, map(4, {d(0)}), all4}, {kPar, kPar, kPar, kPar}, {1, 0, 0, 2},
      [scale](OpBuilder &nb, Location nl, ValueRange a) {
        Value j = arith::IndexCastOp::create(
            nb, nl, nb.getI32Type(), linalg::IndexOp::create(nb, nl, 3));
        Value visible = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::sle, j, a[1]);
        Value s = arith::MulFOp::create(
            nb, nl, a[0],
            arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(scale)));
        Value ninf = arith::ConstantOp::create(
            nb, nl,
            nb.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
        return arith::SelectOp::create(nb, nl, visible, s, ninf);
      });
  // Softmax over j: row max, sum of exp, normalized probabilities.
  auto rowType = RankedTensorType::get({qt.getDimSize(0), hkv, group}, f32t);
  SmallVector<OpFoldResult> rowSz = {tokens, b.getIndexAttr(hkv),
                                     b.getIndexAttr(group)};
  auto rowEmpty = [&] {
    return tensor::EmptyOp::create(b, loc, rowSz, f32t).getResult();
  };
  AffineMap row4 = map(4, {d(0), d(1), d(2)});
  SmallVector<IteratorType> red4 = {kPar, kPar, kPar, kRed};
  Value mx = generic(rowType, masked,
                     filled(rowEmpty(), -std::numeric_limits<float>::infinity()),
                     {all4, row4}, red4, {1, 0, 0, 2},
                     [](OpBuilder &nb, Location nl, ValueRange a) {
                       return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
                     });
  Value probs = generic(
      scoreType, {masked, mx}, scoreEmpty(), {all4, row4, all4},
      {kPar, kPar, kPar, kPar}, {1, 0, 0, 2},
      [](OpBuilder &nb, Location nl, ValueRange a) {
        return math::ExpOp::create(nb, nl,
                                   arith::SubFOp::create(nb, nl, a[0], a[1]));
      });
  Value sum = generic(rowType, probs, filled(rowEmpty(), 0.0), {all4, row4},
                      red4, {1, 0, 0, 2},
                      [](OpBuilder &nb, Location nl, ValueRange a) {
                        return arith::AddFOp::create(nb, nl, a[0], a[1]);
                      });
  // O[t, g, r, d] = sum_j P[t, g, r, j] V[j, g, d] / sum[t, g, r], loops
  // (t, g, r, d, j).
  auto outType = RankedTensorType::get({qt.getDimSize(0), hkv, group, hd}, f32t);
  SmallVector<OpFoldResult> outSz = {tokens, b.getIndexAttr(hkv),
                                     b.getIndexAttr(group), b.getIndexAttr(hd)};
  Value pv = generic(
      outType, {probs, v},
      filled(tensor::EmptyOp::create(b, loc, outSz, f32t), 0.0),
      {map(5, {d(0), d(1), d(2), d(4)}), map(5, {d(4), d(1), d(3)}),
       map(5, {d(0), d(1), d(2), d(3)})},
      {kPar, kPar, kPar, kPar, kRed}, {1, 0, 0, 3, 2},
      [](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::AddFOp::create(
            nb, nl, a[2], arith::MulFOp::create(nb, nl, a[0], a[1]));
      });
  Value out = generic(
      outType, {pv, sum}, tensor::EmptyOp::create(b, loc, outSz, f32t),
      {all4, row4, all4}, {kPar, kPar, kPar, kPar}, {1, 0, 0, 3},
      [](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::DivFOp::create(nb, nl, a[0], a[1]);
      });
  return tensor::CollapseShapeOp::create(b, loc, qt, out,
                                         SmallVector<ReassociationIndices>{
                                             {0}, {1, 2}, {3}})
      .getResult();
}

struct ConvertHAQAToLinalgPass
    : haqa::impl::ConvertHAQAToLinalgPassBase<ConvertHAQAToLinalgPass> {
  using Base::Base;
  void runOnOperation() override;
};

/// Turns the function's haqa.weight ops into byte-buffer arguments, in the
/// order getWeightArguments lists them.
LogicalResult outlineWeights(func::FuncOp func,
                             DenseMap<Value, Value> &weightBytes) {
  SmallVector<WeightOp> weights;
  func.walk([&](WeightOp w) { weights.push_back(w); });
  llvm::StringMap<Value> byName;
  for (WeightOp w : getWeightArguments(func)) {
    Value &arg = byName[w.getName()];
    unsigned index = func.getNumArguments();
    auto type =
        MemRefType::get({static_cast<int64_t>(w.getType().getStorageBytes())},
                        IntegerType::get(func.getContext(), 8));
    if (failed(func.insertArgument(
            index, type,
            DictionaryAttr::get(
                func.getContext(),
                {NamedAttribute(
                    StringAttr::get(func.getContext(), "haqa.weight"),
                    w.getNameAttr())}),
            w.getLoc())))
      return w.emitOpError("cannot become a function argument");
    arg = func.getArgument(index);
  }
  for (WeightOp w : weights) {
    Value arg = byName.lookup(w.getName());
    if (arg && cast<MemRefType>(arg.getType()).getNumElements() !=
                   static_cast<int64_t>(w.getType().getStorageBytes()))
      return w.emitOpError("weight '")
             << w.getName() << "' is used with two different storages";
    weightBytes[w.getResult()] = arg;
  }
  return success();
}

/// The identity of a kernel instance for outlining: its op, operand and
/// result types and attributes (schedule included); weights by type only.
std::string kernelKey(Operation *op) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << op->getName() << "|";
  for (Type t : op->getOperandTypes())
    os << t << ",";
  os << "|";
  for (Type t : op->getResultTypes())
    os << t << ",";
  os << "|" << op->getAttrDictionary();
  return key;
}

/// Lowers every kernel op of `func` in place.
/// The kernel operand each of `g`'s operands reads or writes, as
/// `haqa.operands` (inputs then inits; -1 for intermediates of the lowering):
/// what per-operand schedule fields such as `placement` refer to. Views
/// (reshapes, slices, bufferization.to_tensor of weight byte views) are
/// looked through.
void annotateOperands(linalg::GenericOp g, Operation *kernel, Value result,
                      const DenseMap<Value, Value> &weightBytes) {
  DenseMap<Value, int64_t> roots;
  for (auto [i, v] : llvm::enumerate(kernel->getOperands())) {
    roots[v] = i;
    if (Value bytes = weightBytes.lookup(v))
      roots[bytes] = i;
    // An outlined kernel's weight placeholder casts its byte argument.
    if (auto cast = v.getDefiningOp<UnrealizedConversionCastOp>())
      roots[cast.getOperand(0)] = i;
  }
  int64_t resultIndex = kernel->getNumOperands();
  // The kernel's result may be a reshape of the generic's.
  while (Operation *def = result.getDefiningOp()) {
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::CastOp>(
            def))
      break;
    result = def->getOperand(0);
  }
  auto trace = [&](Value v) -> int64_t {
    for (int guard = 0; v && guard < 16; ++guard) {
      if (auto it = roots.find(v); it != roots.end())
        return it->second;
      Operation *def = v.getDefiningOp();
      if (!def)
        return -1;
      if (auto t = dyn_cast<bufferization::ToTensorOp>(def))
        v = t.getBuffer();
      else if (auto view = dyn_cast<ViewLikeOpInterface>(def))
        v = view.getViewSource();
      else if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                   tensor::ExtractSliceOp, tensor::CastOp>(def))
        v = def->getOperand(0);
      else
        return -1;
    }
    return -1;
  };
  SmallVector<int64_t> indices;
  for (Value in : g.getDpsInputs())
    indices.push_back(trace(in));
  for (OpResult r : g->getResults())
    indices.push_back(r == result ? resultIndex : -1);
  g->setAttr("haqa.operands",
             OpBuilder(g).getDenseI64ArrayAttr(indices));
}

LogicalResult lowerKernels(func::FuncOp func,
                           const DenseMap<Value, Value> &weightBytes,
                           bool attentionWholeCache) {
  SmallVector<KernelOpInterface> kernels;
  func.walk([&](KernelOpInterface k) { kernels.push_back(k); });
  for (KernelOpInterface k : kernels) {
    OpBuilder b(k);
    Operation *before = k->getPrevNode();
    FailureOr<Value> lowered =
        KernelLowering(b, k.getOperation(), weightBytes, attentionWholeCache)
            .lower();
    if (failed(lowered))
      return failure();
    // The ops of this kernel's lowering: between `before` and the kernel.
    Block *block = k->getBlock();
    auto begin = before ? std::next(before->getIterator()) : block->begin();
    for (Operation &op : llvm::make_range(begin, k->getIterator()))
      op.walk([&](linalg::GenericOp g) {
        annotateOperands(g, k.getOperation(), *lowered, weightBytes);
      });
    k->getResult(0).replaceAllUsesWith(*lowered);
    k->erase();
  }
  return success();
}

void ConvertHAQAToLinalgPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  // Outlined kernels: key -> private function; each with the map from its
  // weight placeholders to its byte-buffer arguments.
  llvm::StringMap<func::FuncOp> outlined;
  SmallVector<std::pair<func::FuncOp, DenseMap<Value, Value>>> callees;
  SymbolTable symbols(module);
  // Weights come from haqa.weight ops (their names become the byte-buffer
  // arguments the runtime binds); any other !haqa.weight value is an error.
  WalkResult notAWeightOp = module.walk([&](KernelOpInterface k) {
    for (OpOperand &use : k->getOpOperands())
      if (isa<WeightType>(use.get().getType()) &&
          !use.get().getDefiningOp<WeightOp>()) {
        k->emitOpError("operand #")
            << use.getOperandNumber()
            << " is a weight that no haqa.weight op defines (a function "
               "argument?): the lowering binds weights by the name of their "
               "haqa.weight op";
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  if (notAWeightOp.wasInterrupted())
    return signalPassFailure();
  for (func::FuncOp func : funcs) {
    if (func.isExternal())
      continue;
    DenseMap<Value, Value> weightBytes;
    if (failed(outlineWeights(func, weightBytes)))
      return signalPassFailure();
    if (outlineKernels) {
      SmallVector<KernelOpInterface> kernels;
      func.walk([&](KernelOpInterface k) {
        // Cache writes stay in the caller: in place, a few instructions.
        if (!isa<KVWriteOp>(k.getOperation()))
          kernels.push_back(k);
      });
      for (KernelOpInterface k : kernels) {
        Operation *op = k.getOperation();
        // Destination-passing style: the caller allocates the result (its
        // dynamic leading size is that of the first operand), the kernel
        // writes into it; bufferization then needs no out-param of unknown
        // size and no copy.
        auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
        auto first = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
        bool leadingOnly = true;
        for (int64_t d = 1; d < resultType.getRank(); ++d)
          leadingOnly &= !resultType.isDynamicDim(d);
        if (!leadingOnly || (resultType.isDynamicDim(0) && !first))
          continue; // lowered in place below
        OpBuilder cb(op);
        SmallVector<Value> dynSizes;
        if (resultType.isDynamicDim(0))
          dynSizes.push_back(
              tensor::DimOp::create(cb, op->getLoc(), op->getOperand(0), 0));
        // alloc_tensor, not tensor.empty: CSE would merge equal-sized
        // empties into one destination shared by several calls.
        Value dest = bufferization::AllocTensorOp::create(
            cb, op->getLoc(), resultType, dynSizes);
        SmallVector<Value> args;
        SmallVector<Type> argTypes;
        for (Value v : op->getOperands()) {
          Value arg = isa<WeightType>(v.getType()) ? weightBytes.lookup(v) : v;
          args.push_back(arg);
          argTypes.push_back(arg.getType());
        }
        args.push_back(dest);
        argTypes.push_back(resultType);
        func::FuncOp &callee = outlined[kernelKey(op)];
        if (!callee) {
          OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
          callee = func::FuncOp::create(
              b, op->getLoc(),
              (k.getKernelName() + "_kernel").str(),
              b.getFunctionType(argTypes, op->getResultTypes()));
          callee.setPrivate();
          symbols.insert(callee); // uniquifies the name
          Block *body = callee.addEntryBlock();
          b.setInsertionPointToStart(body);
          IRMapping mapping;
          DenseMap<Value, Value> calleeBytes;
          for (auto [i, v] : llvm::enumerate(op->getOperands())) {
            Value arg = body->getArgument(i);
            if (isa<WeightType>(v.getType())) {
              // A typed placeholder for the kernel op; the lowering reads
              // the byte argument behind it.
              Value typed = UnrealizedConversionCastOp::create(
                                b, op->getLoc(), v.getType(), arg)
                                .getResult(0);
              calleeBytes[typed] = arg;
              arg = typed;
            }
            mapping.map(v, arg);
          }
          Operation *clone = b.clone(*op, mapping);
          auto into = bufferization::MaterializeInDestinationOp::create(
              b, op->getLoc(), clone->getResult(0), body->getArguments().back());
          func::ReturnOp::create(b, op->getLoc(), into.getResult());
          callees.push_back({callee, std::move(calleeBytes)});
        }
        OpBuilder b(op);
        auto call = func::CallOp::create(b, op->getLoc(), callee, args);
        op->replaceAllUsesWith(call.getResults());
        op->erase();
      }
    }
    if (failed(lowerKernels(func, weightBytes, attentionWholeCache)))
      return signalPassFailure();
    SmallVector<WeightOp> dead;
    func.walk([&](WeightOp w) { dead.push_back(w); });
    for (WeightOp w : dead) {
      if (!w->use_empty()) {
        w.emitOpError("is still used after lowering");
        return signalPassFailure();
      }
      w.erase();
    }
  }
  for (auto &[callee, bytes] : callees) {
    if (failed(lowerKernels(callee, bytes, attentionWholeCache)))
      return signalPassFailure();
    SmallVector<UnrealizedConversionCastOp> casts;
    callee.walk([&](UnrealizedConversionCastOp c) { casts.push_back(c); });
    for (UnrealizedConversionCastOp c : casts)
      if (c->use_empty())
        c.erase();
  }
}

} // namespace

SmallVector<WeightOp> mlir::haqa::getWeightArguments(func::FuncOp func) {
  SmallVector<WeightOp> order;
  llvm::StringSet<> seen;
  func.walk([&](WeightOp w) {
    if (seen.insert(w.getName()).second)
      order.push_back(w);
  });
  return order;
}
