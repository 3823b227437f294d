//===- HAQAToLinalg.cpp - haqa kernel ops to linalg on tensors --*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Weights become byte-buffer function arguments read through typed strided
// views (GGUF blocks are never repacked: the scale of block b of row n of a
// Q8_0 weight is the f16 at byte 34*(n*B+b)); kernel ops become
// linalg.generic ops whose bodies dequantize in place. Every produced
// generic carries `haqa.loop_dims` (the kernel iteration dimension each of
// its loops walks) and the kernel's schedule, for haqa-cpu-apply-schedule.
//
//===----------------------------------------------------------------------===//

#include "haqa/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
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
                 const DenseMap<Value, Value> &weightBytes)
      : b(b), loc(kernel->getLoc()), kernel(kernel), weightBytes(weightBytes) {}

  FailureOr<Value> lower();

private:
  OpBuilder &b;
  Location loc;
  Operation *kernel;
  const DenseMap<Value, Value> &weightBytes;

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
  FailureOr<Value> lowerRMSNorm(RMSNormOp op);
  FailureOr<Value> lowerSoftmax(SoftmaxOp op);
  FailureOr<Value> lowerRoPE(RoPEOp op);
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

/// y[m, n] = sum_k x[m, k] * W[n, k]. Quantized weights are read block by
/// block: loops (m, n, b, j) for Q8_0 and (m, n, b, h, j) for Q4_0 / Q4_1
/// (h picks the low or high nibble of byte j, i.e. value j + 16 h of the
/// block, as ggml packs them), so every map is a projected permutation and
/// the vectorizer can take the innermost loop.
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

  if (!q.isQuantized()) {
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
  if (q.getLayout() != StorageLayout::gguf)
    return fail("unimplemented: matmul with ") << q << " weights on the CPU",
           failure();
  int64_t blocks = k / 32;
  StringRef name = q.getGGUFName();
  Value bytes = bytesOf(op.getWeight());
  SmallVector<OpFoldResult> xSizes = {tensor::getMixedSize(b, loc, x, 0),
                                      b.getIndexAttr(blocks)};
  Type f16 = b.getF16Type(), i8 = b.getI8Type();

  if (name == "q8_0") {
    // block_q8_0 {f16 d; i8 qs[32]}: 34 bytes, d at f16 index 17*block.
    xSizes.push_back(b.getIndexAttr(32));
    Value x3 = tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get({resultType.getDimSize(0), blocks, 32},
                              b.getF32Type()),
        x, {{0}, {1, 2}}, xSizes);
    Value qs = strided(bytes, i8, {n, blocks, 32}, {34 * blocks, 34, 1}, 2);
    Value ds = strided(bytes, f16, {n, blocks}, {17 * blocks, 17}, 0);
    SmallVector<AffineMap> maps = {
        AffineMap::get(4, 0, {d(0), d(2), d(3)}, ctx),
        AffineMap::get(4, 0, {d(1), d(2), d(3)}, ctx),
        AffineMap::get(4, 0, {d(1), d(2)}, ctx),
        AffineMap::get(4, 0, {d(0), d(1)}, ctx)};
    return generic(
        resultType, {x3, qs, ds}, init, maps, {kPar, kPar, kRed, kRed},
        {0, 1, 2, 2}, [](OpBuilder &nb, Location nl, ValueRange a) {
          Value qf = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[1]);
          Value w = arith::MulFOp::create(nb, nl, qf, toF32(nb, nl, a[2]));
          Value p = arith::MulFOp::create(nb, nl, a[0], w);
          return arith::AddFOp::create(nb, nl, a[3], p);
        });
  }

  // block_q4_0 {f16 d; u8 qs[16]} (18 bytes, x = d * (q - 8)) and
  // block_q4_1 {f16 d, m; u8 qs[16]} (20 bytes, x = d * q + m).
  bool hasMin = name == "q4_1";
  int64_t blockBytes = hasMin ? 20 : 18;
  xSizes.append({b.getIndexAttr(2), b.getIndexAttr(16)});
  Value x4 = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({resultType.getDimSize(0), blocks, 2, 16},
                            b.getF32Type()),
      x, {{0}, {1, 2, 3}}, xSizes);
  int64_t qOffset = hasMin ? 4 : 2;
  Value qs = strided(bytes, i8, {n, blocks, 16},
                     {blockBytes * blocks, blockBytes, 1}, qOffset);
  int64_t h = blockBytes / 2;
  Value ds = strided(bytes, f16, {n, blocks}, {h * blocks, h}, 0);
  SmallVector<Value> ins = {x4, qs, ds};
  SmallVector<AffineMap> maps = {
      AffineMap::get(5, 0, {d(0), d(2), d(3), d(4)}, ctx),
      AffineMap::get(5, 0, {d(1), d(2), d(4)}, ctx),
      AffineMap::get(5, 0, {d(1), d(2)}, ctx)};
  if (hasMin) {
    ins.push_back(strided(bytes, f16, {n, blocks}, {h * blocks, h}, 1));
    maps.push_back(AffineMap::get(5, 0, {d(1), d(2)}, ctx));
  }
  maps.push_back(AffineMap::get(5, 0, {d(0), d(1)}, ctx));
  return generic(
      resultType, ins, init, maps, {kPar, kPar, kRed, kRed, kRed},
      {0, 1, 2, 2, 2}, [hasMin](OpBuilder &nb, Location nl, ValueRange a) {
        // The nibble: byte & 15 for h = 0, byte >> 4 for h = 1 (h the third
        // loop index).
        Value half = linalg::IndexOp::create(nb, nl, 3);
        Value isLow =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, half,
                                  arith::ConstantIndexOp::create(nb, nl, 0));
        Value byte = a[1];
        Value lo = arith::AndIOp::create(
            nb, nl, byte,
            arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 15));
        Value hi = arith::ShRUIOp::create(
            nb, nl, byte,
            arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), 4));
        Value nib = arith::SelectOp::create(nb, nl, isLow, lo, hi);
        Value qf = arith::UIToFPOp::create(nb, nl, nb.getF32Type(), nib);
        Value scale = toF32(nb, nl, a[2]);
        Value w;
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
        Value acc = a[hasMin ? 4 : 3];
        Value p = arith::MulFOp::create(nb, nl, a[0], w);
        return arith::AddFOp::create(nb, nl, acc, p);
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
/// d + 1 - 2 (d mod 2) interleaved, (d + D/2) mod D for the half style.
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
  AffineExpr partner =
      interleaved ? d(2) + 1 - (d(2) % 2) * 2 : (d(2) + hd / 2) % hd;
  AffineMap all = b.getMultiDimIdentityMap(3);
  SmallVector<Value> ins = {x, x, op.getPositions(), freqs, signs};
  SmallVector<AffineMap> maps = {
      all, AffineMap::get(3, 0, {d(0), d(1), partner}, ctx),
      AffineMap::get(3, 0, d(0)), AffineMap::get(3, 0, d(2)),
      AffineMap::get(3, 0, d(2))};
  bool hasFactors = static_cast<bool>(op.getFreqFactors());
  if (hasFactors) {
    FailureOr<Value> f = plainWeight(op.getFreqFactors());
    if (failed(f))
      return failure();
    ins.push_back(*f);
    maps.push_back(
        AffineMap::get(3, 0, interleaved ? d(2).floorDiv(2) : d(2) % (hd / 2)));
  }
  maps.push_back(all);
  return generic(type, ins, emptyLike(x), maps, {kPar, kPar, kPar}, {0, 1, 2},
                 [hasFactors](OpBuilder &nb, Location nl, ValueRange a) {
                   Value pos =
                       arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[2]);
                   Value f = a[3];
                   if (hasFactors)
                     f = arith::DivFOp::create(nb, nl, f, toF32(nb, nl, a[5]));
                   Value angle = arith::MulFOp::create(nb, nl, pos, f);
                   Value c = math::CosOp::create(nb, nl, angle);
                   Value s = math::SinOp::create(nb, nl, angle);
                   Value y = arith::MulFOp::create(nb, nl, a[0], c);
                   Value o = arith::MulFOp::create(
                       nb, nl, arith::MulFOp::create(nb, nl, a[1], s), a[4]);
                   return arith::AddFOp::create(nb, nl, y, o);
                 });
}

struct ConvertHAQAToLinalgPass
    : haqa::impl::ConvertHAQAToLinalgPassBase<ConvertHAQAToLinalgPass> {
  void runOnOperation() override;
};

/// Turns the function's haqa.weight ops into byte-buffer arguments.
LogicalResult outlineWeights(func::FuncOp func,
                             DenseMap<Value, Value> &weightBytes) {
  SmallVector<WeightOp> weights;
  func.walk([&](WeightOp w) { weights.push_back(w); });
  llvm::StringMap<Value> byName;
  for (WeightOp w : weights) {
    Value &arg = byName[w.getName()];
    if (!arg) {
      auto type =
          MemRefType::get({static_cast<int64_t>(w.getType().getStorageBytes())},
                          IntegerType::get(func.getContext(), 8));
      unsigned index = func.getNumArguments();
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
    weightBytes[w.getResult()] = arg;
  }
  return success();
}

void ConvertHAQAToLinalgPass::runOnOperation() {
  for (auto func : getOperation().getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    DenseMap<Value, Value> weightBytes;
    if (failed(outlineWeights(func, weightBytes)))
      return signalPassFailure();
    SmallVector<KernelOpInterface> kernels;
    func.walk([&](KernelOpInterface k) { kernels.push_back(k); });
    for (KernelOpInterface k : kernels) {
      OpBuilder b(k);
      FailureOr<Value> lowered =
          KernelLowering(b, k.getOperation(), weightBytes).lower();
      if (failed(lowered))
        return signalPassFailure();
      k->getResult(0).replaceAllUsesWith(*lowered);
      k->erase();
    }
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
}

} // namespace
