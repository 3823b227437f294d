//===- Attention.cpp - KV cache writes and attention ------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa.kv_write as an scf.for inserting each new row into the cache (in
// place once bufferized) and haqa.attention as linalg generics: scores over
// the visible cache rows, causal mask, softmax, P V; with `attn = fused` as
// one haqa.micro_kernel "attention_f32".
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

namespace {
struct AttentionLowering : KernelLowering {
  using KernelLowering::KernelLowering;
  FailureOr<Value> lower(KVWriteOp op);
  FailureOr<Value> lower(AttentionOp op);
};
} // namespace

/// cache[positions[t], :, :] = values[t, :, :]: a loop over the new rows
/// inserting each at its position; the cache operand is updated in place
/// once bufferized (the function's cache argument is writable).
FailureOr<Value> AttentionLowering::lower(KVWriteOp op) {
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
        SmallVector<OpFoldResult> sizes = {
            nb.getIndexAttr(1), nb.getIndexAttr(heads), nb.getIndexAttr(hd)};
        Value slice = tensor::ExtractSliceOp::create(
            nb, nl, values,
            SmallVector<OpFoldResult>{t, nb.getIndexAttr(0),
                                      nb.getIndexAttr(0)},
            sizes, strides);
        Value updated = tensor::InsertSliceOp::create(
            nb, nl, slice, iter[0],
            SmallVector<OpFoldResult>{row, nb.getIndexAttr(0),
                                      nb.getIndexAttr(0)},
            sizes, strides);
        scf::YieldOp::create(nb, nl, updated);
      });
  loop->setAttr(kKernelAttrName, b.getStringAttr("kv_write"));
  return loop.getResult(0);
}

/// Causal grouped-query attention, decomposed into linalg generics over the
/// cache rows that any query can see (0 .. max(positions)): scores
/// S[t, g, r, j] = q[t, g, r, :] . K[j, g, :] (the query heads split into
/// KV head g and its r-th query head), scaled and masked (j > positions[t]
/// gives -inf), softmax over j, then O = P V. Loops map to the kernel's
/// iteration space [heads, tokens, kv_len, head_dim].
FailureOr<Value> AttentionLowering::lower(AttentionOp op) {
  Value q = op.getQuery(), keys = op.getKeys(), vals = op.getValues();
  Value positions = op.getPositions();
  if (ScheduleAttr s = op.getScheduleAttr(); s && s.isFusedAttention()) {
    // One micro-kernel over the (token, query head) units; it reads the
    // visible rows itself, so no slice of the caches.
    Value init = tensor::EmptyOp::create(
        b, loc, tensor::getMixedSizes(b, loc, q),
        cast<RankedTensorType>(q.getType()).getElementType());
    auto call = MicroKernelOp::create(
        b, loc, TypeRange{init.getType()}, b.getStringAttr("attention_f32"),
        CPUISAAttr::get(b.getContext(), s.getIsa().value_or(CPUISA::scalar)),
        ValueRange{q, keys, vals, positions}, ValueRange{init},
        b.getDenseI64ArrayAttr({1, 1}),
        b.getI64IntegerAttr(s.getCpuThreads().value_or(1)),
        b.getF32FloatAttr(op.getScale().convertToFloat()), UnitAttr(),
        UnitAttr(), FloatAttr());
    return call.getResult(0);
  }
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
  if (options.attentionWholeCache && !kt.isDynamicDim(0)) {
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
  Value k =
      tensor::ExtractSliceOp::create(b, loc, keys, offs, rowSizes, strides);
  Value v =
      tensor::ExtractSliceOp::create(b, loc, vals, offs, rowSizes, strides);

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
  Value scores =
      generic(scoreType, {q4, k}, filled(scoreEmpty(), 0.0),
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
        Value visible =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle, j, a[1]);
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
  Value mx = generic(
      rowType, masked,
      filled(rowEmpty(), -std::numeric_limits<float>::infinity()), {all4, row4},
      red4, {1, 0, 0, 2}, [](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
      });
  Value probs =
      generic(scoreType, {masked, mx}, scoreEmpty(), {all4, row4, all4},
              {kPar, kPar, kPar, kPar}, {1, 0, 0, 2},
              [](OpBuilder &nb, Location nl, ValueRange a) {
                return math::ExpOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
              });
  Value sum =
      generic(rowType, probs, filled(rowEmpty(), 0.0), {all4, row4}, red4,
              {1, 0, 0, 2}, [](OpBuilder &nb, Location nl, ValueRange a) {
                return arith::AddFOp::create(nb, nl, a[0], a[1]);
              });
  // O[t, g, r, d] = sum_j P[t, g, r, j] V[j, g, d] / sum[t, g, r], loops
  // (t, g, r, d, j).
  auto outType =
      RankedTensorType::get({qt.getDimSize(0), hkv, group, hd}, f32t);
  SmallVector<OpFoldResult> outSz = {tokens, b.getIndexAttr(hkv),
                                     b.getIndexAttr(group), b.getIndexAttr(hd)};
  Value pv =
      generic(outType, {probs, v},
              filled(tensor::EmptyOp::create(b, loc, outSz, f32t), 0.0),
              {map(5, {d(0), d(1), d(2), d(4)}), map(5, {d(4), d(1), d(3)}),
               map(5, {d(0), d(1), d(2), d(3)})},
              {kPar, kPar, kPar, kPar, kRed}, {1, 0, 0, 3, 2},
              [](OpBuilder &nb, Location nl, ValueRange a) {
                return arith::AddFOp::create(
                    nb, nl, a[2], arith::MulFOp::create(nb, nl, a[0], a[1]));
              });
  Value out =
      generic(outType, {pv, sum}, tensor::EmptyOp::create(b, loc, outSz, f32t),
              {all4, row4, all4}, {kPar, kPar, kPar, kPar}, {1, 0, 0, 3},
              [](OpBuilder &nb, Location nl, ValueRange a) {
                return arith::DivFOp::create(nb, nl, a[0], a[1]);
              });
  return tensor::CollapseShapeOp::create(
             b, loc, qt, out,
             SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}})
      .getResult();
}

void mlir::haqa::to_linalg::populateAttentionPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<KVWriteOp, AttentionLowering>,
               KernelPattern<AttentionOp, AttentionLowering>>(
      patterns.getContext(), options);
}
