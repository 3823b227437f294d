//===- Matmul.cpp - haqa.matmul as linalg generics --------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa.matmul, y = x * W^T with W stored [N, K]: with K in blocks of 32 (all
// GGUF weights) two generics, 16 partial sums per output with the weight
// dequantized in the body, then their sum, tagged `haqa.matmul_part =
// partial_sums / lane_sum` for the targets (K-quant super-blocks: more loops
// in the partial sums, one per level of their layout); otherwise one
// three-loop generic over a plain weight.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

namespace {
struct MatmulLowering : KernelLowering {
  using KernelLowering::KernelLowering;
  FailureOr<Value> lower(MatmulOp op);

private:
  FailureOr<Value> lowerProduct(MatmulOp op);
  FailureOr<Value> lowerBlocked(MatmulOp op, Value init);
  Value
  kQuantPartials(MatmulOp op, ArrayRef<int64_t> xSplits,
                 ArrayRef<unsigned> xDims, ArrayRef<Value> weights,
                 ArrayRef<SmallVector<unsigned>> weightDims,
                 ArrayRef<int64_t> strides,
                 function_ref<Value(OpBuilder &, Location, ValueRange)> body);
  Value lowerQ4_K(MatmulOp op);
  Value lowerQ6_K(MatmulOp op);
  Value laneSum(MatmulOp op, Value partial, Value init);
  FailureOr<Value> lowerInt8Dot(MatmulOp op, ScheduleAttr schedule, Value init);
  FailureOr<Value> lowerF16Dot(MatmulOp op, ScheduleAttr schedule, Value init);
  FailureOr<Value> dotInput(MatmulOp op, CPUISAAttr isa);
  Value dotCall(MatmulOp op, ScheduleAttr schedule, StringRef kernel,
                CPUISAAttr isa, SmallVector<Value> ins, Value init);
};
} // namespace

/// The product, then `y[m, n] += bias[n]` as one more generic (the
/// verifier, matmul_c8, keeps gate and residual epilogues away from a
/// bias).
FailureOr<Value> MatmulLowering::lower(MatmulOp op) {
  FailureOr<Value> y = lowerProduct(op);
  if (failed(y) || !op.getBias())
    return y;
  FailureOr<Value> bias = plainWeight(op.getBias());
  if (failed(bias))
    return failure();
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {d(1)}, ctx),
                                 AffineMap::get(2, 0, {d(0), d(1)}, ctx)};
  Value out = generic(
      cast<RankedTensorType>(op.getType()), {*bias}, *y, maps, {kPar, kPar},
      {0, 1}, [](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::AddFOp::create(nb, nl, a[1], toF32(nb, nl, a[0]));
      });
  setMatmulPart(out.getDefiningOp(), MatmulPart::bias);
  return out;
}

/// y[m, n] = sum_k x[m, k] * W[n, k]. With K a multiple of 32 (always for
/// GGUF blocks) this is lowerBlocked; otherwise a plain three-loop
/// generic over f32 / f16 / bf16 weights.
FailureOr<Value> MatmulLowering::lowerProduct(MatmulOp op) {
  Value x = op.getInput();
  WeightType wt = op.getWeight().getType();
  QuantAttr q = wt.getQuant();
  int64_t n = wt.getShape()[0], k = wt.getShape()[1];
  auto resultType = cast<RankedTensorType>(op.getType());
  SmallVector<OpFoldResult> outSizes = {tensor::getMixedSize(b, loc, x, 0),
                                        b.getIndexAttr(n)};
  if (ScheduleAttr s = op.getScheduleAttr(); s && s.isInt8Dot())
    return lowerInt8Dot(
        op, s, tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()));
  if (ScheduleAttr s = op.getScheduleAttr(); s && s.isMicroKernelDot())
    return lowerF16Dot(
        op, s, tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()));
  // The verifier (matmul_c7) admits fused neighbours only with a
  // micro-kernel dot.
  if (op.isFused())
    return fail("fused neighbours need dot = i8 or fma"), failure();
  Value init =
      filled(tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()), 0.0);
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };

  if (q.getLayout() == StorageLayout::gguf_k)
    return laneSum(
        op, q.getKind() == ElemKind::i4 ? lowerQ4_K(op) : lowerQ6_K(op), init);
  if (q.isQuantized() && q.getLayout() != StorageLayout::gguf)
    return fail("unimplemented: matmul with ") << q << " weights on the CPU",
           failure();
  if (k % 32 == 0)
    return lowerBlocked(op, init);
  if (q.isQuantized())
    return fail("quantized matmul needs K a multiple of 32, got ") << k,
           failure();
  FailureOr<Value> w = plainWeight(op.getWeight());
  if (failed(w))
    return failure();
  SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(1), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(0), d(1)}, ctx)};
  return generic(resultType, {x, *w}, init, maps, {kPar, kPar, kRed}, {0, 1, 2},
                 [](OpBuilder &nb, Location nl, ValueRange a) {
                   Value p =
                       arith::MulFOp::create(nb, nl, a[0], toF32(nb, nl, a[1]));
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
FailureOr<Value> MatmulLowering::lowerBlocked(MatmulOp op, Value init) {
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
  // Strides in bytes (quants) and in f16s (scale, min) per block.
  int64_t blockBytes = wt.getQuant().getGGUFBlockBytes(), h = blockBytes / 2;
  SmallVector<Value> ins = {x4};
  SmallVector<AffineMap> maps = {
      AffineMap::get(5, 0, {d(0), d(3), d(2), d(4)}, ctx)};
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
                          {blockBytes * blocks, blockBytes, 16, 1}, 2));
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
      tensor::EmptyOp::create(b, loc,
                              SmallVector<OpFoldResult>{
                                  mSize, b.getIndexAttr(n), b.getIndexAttr(16)},
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
          Value isLow =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, half,
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
  partial.getDefiningOp()->setAttr(kLoopStridesAttrName,
                                   b.getDenseI64ArrayAttr({1, 1, 16, 32, 1}));
  return laneSum(op, partial, init);
}

/// The second generic of a blocked matmul: y[m, n] = sum_j P[m, n, j] over
/// the 16 lanes of the partial sums. The targets find the two parts by
/// their tags (Contract.h).
Value MatmulLowering::laneSum(MatmulOp op, Value partial, Value init) {
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  Value sum = generic(op.getType(), partial, init,
                      {AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx),
                       AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
                      {kPar, kPar, kRed}, {0, 1, 2},
                      [](OpBuilder &nb, Location nl, ValueRange a) {
                        return arith::AddFOp::create(nb, nl, a[1], a[0]);
                      });
  setMatmulPart(partial.getDefiningOp(), MatmulPart::partial_sums);
  setMatmulPart(sum.getDefiningOp(), MatmulPart::lane_sum);
  return sum;
}

/// The partial-sums generic both K-quant lowerings share: loops (m, n, ...,
/// s, j) with `strides[l]` the step of loop l along K (m and n: 1), the
/// activations [M, K] expanded to [M, K / 256, xSplits...] and read by the
/// loops `xDims`, each weight view `weights[i]` by the loops
/// `weightDims[i]`, and 16 partial sums per output (loop j, the last).
Value MatmulLowering::kQuantPartials(
    MatmulOp op, ArrayRef<int64_t> xSplits, ArrayRef<unsigned> xDims,
    ArrayRef<Value> weights, ArrayRef<SmallVector<unsigned>> weightDims,
    ArrayRef<int64_t> strides,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  Value x = op.getInput();
  MLIRContext *ctx = b.getContext();
  unsigned loops = strides.size();
  auto map = [&](ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> e;
    for (unsigned i : dims)
      e.push_back(getAffineDimExpr(i, ctx));
    return AffineMap::get(loops, 0, e, ctx);
  };
  Type f32t = b.getF32Type();
  int64_t m = cast<RankedTensorType>(op.getType()).getDimSize(0);
  int64_t n = op.getWeight().getType().getShape()[0];
  int64_t sb = op.getWeight().getType().getShape()[1] / 256;
  OpFoldResult mSize = tensor::getMixedSize(b, loc, x, 0);
  SmallVector<int64_t> xShape = {m, sb};
  SmallVector<OpFoldResult> xSizes = {mSize, b.getIndexAttr(sb)};
  ReassociationIndices kDims = {1};
  for (int64_t v : xSplits) {
    kDims.push_back(xShape.size());
    xShape.push_back(v);
    xSizes.push_back(b.getIndexAttr(v));
  }
  SmallVector<Value> ins = {tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(xShape, f32t), x,
      SmallVector<ReassociationIndices>{{0}, kDims}, xSizes)};
  ins.append(weights.begin(), weights.end());
  SmallVector<AffineMap> maps = {map(xDims)};
  for (ArrayRef<unsigned> dims : weightDims)
    maps.push_back(map(dims));
  maps.push_back(map({0, 1, loops - 1}));
  Value init = filled(
      tensor::EmptyOp::create(b, loc,
                              SmallVector<OpFoldResult>{
                                  mSize, b.getIndexAttr(n), b.getIndexAttr(16)},
                              f32t),
      0.0);
  SmallVector<IteratorType> iters(loops, kRed);
  iters[0] = iters[1] = iters[loops - 1] = kPar;
  SmallVector<int64_t> loopDims(loops, 2);
  loopDims[0] = 0;
  loopDims[1] = 1;
  Value partial = generic(RankedTensorType::get({m, n, 16}, f32t), ins, init,
                          maps, iters, loopDims, body);
  partial.getDefiningOp()->setAttr(kLoopStridesAttrName,
                                   b.getDenseI64ArrayAttr(strides));
  return partial;
}

/// Q4_K weights (144-byte super-blocks of 256 values, see the spec) read in
/// place: 16 partial sums per output over loops (m, n, h, hh, p, s, j),
/// value 256 s + 64 p + 32 hh + 16 h + j of the row. Sub-block 2p + hh has
/// its nibbles in qs[32p + 16h + j] (low for hh = 0), its 6-bit scale and
/// min in the 12 scale bytes (three views at block bytes 0, 4 and 8, so
/// that every read is a projected permutation of the loops), and
/// w = d * sc * q - dmin * m.
Value MatmulLowering::lowerQ4_K(MatmulOp op) {
  WeightType wt = op.getWeight().getType();
  int64_t n = wt.getShape()[0], sb = wt.getShape()[1] / 256, kBytes = 144;
  int64_t rs = sb * kBytes;
  Type f16 = b.getF16Type(), i8 = b.getI8Type();
  Value bytes = bytesOf(op.getWeight());
  // Loops 0 m, 1 n, 2 h, 3 hh, 4 p, 5 s, 6 j.
  return kQuantPartials(
      op, {4, 2, 2, 16}, {0, 5, 4, 3, 2, 6},
      {strided(bytes, i8, {n, sb, 4, 2, 16}, {rs, kBytes, 32, 16, 1}, 16),
       strided(bytes, i8, {n, sb, 4, 2}, {rs, kBytes, 2, 1}, 0),
       strided(bytes, i8, {n, sb, 4, 2}, {rs, kBytes, 2, 1}, 4),
       strided(bytes, i8, {n, sb, 4, 2}, {rs, kBytes, 2, 1}, 8),
       strided(bytes, f16, {n, sb}, {rs / 2, kBytes / 2}, 0),
       strided(bytes, f16, {n, sb}, {rs / 2, kBytes / 2}, 1)},
      {{1, 5, 4, 2, 6},
       {1, 5, 4, 3},
       {1, 5, 4, 3},
       {1, 5, 4, 3},
       {1, 5},
       {1, 5}},
      {1, 1, 16, 32, 64, 256, 1}, [](OpBuilder &nb, Location nl, ValueRange a) {
        auto c8 = [&](int64_t v) {
          return arith::ConstantIntOp::create(nb, nl, nb.getI8Type(), v);
        };
        auto idx = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, nl, v);
        };
        auto andI = [&](Value v, int64_t mask) {
          return arith::AndIOp::create(nb, nl, v, c8(mask));
        };
        auto shr = [&](Value v, int64_t by) {
          return arith::ShRUIOp::create(nb, nl, v, c8(by));
        };
        auto orI = [&](Value lo, Value hi6) { // lo | (hi6 >> 6) << 4
          return arith::OrIOp::create(
              nb, nl, lo, arith::ShLIOp::create(nb, nl, shr(hi6, 6), c8(4)));
        };
        Value f0 = a[2], f4 = a[3], f8 = a[4]; // scale bytes j, j+4, j+8
        Value first4 =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                  linalg::IndexOp::create(nb, nl, 4), idx(2));
        Value sc = arith::SelectOp::create(nb, nl, first4, andI(f4, 63),
                                           orI(andI(f8, 15), f0));
        Value mn = arith::SelectOp::create(nb, nl, first4, andI(f8, 63),
                                           orI(shr(f8, 4), f4));
        Value low =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                  linalg::IndexOp::create(nb, nl, 3), idx(0));
        Value q =
            arith::SelectOp::create(nb, nl, low, andI(a[1], 15), shr(a[1], 4));
        Type f32 = nb.getF32Type();
        auto uf = [&](Value v) {
          return arith::UIToFPOp::create(nb, nl, f32, v);
        };
        Value scale =
            arith::MulFOp::create(nb, nl, toF32(nb, nl, a[5]), uf(sc));
        Value min = arith::MulFOp::create(nb, nl, toF32(nb, nl, a[6]), uf(mn));
        Value w = arith::SubFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, scale, uf(q)), min);
        return arith::AddFOp::create(nb, nl, a[7],
                                     arith::MulFOp::create(nb, nl, a[0], w));
      });
}

/// Q6_K weights (210-byte super-blocks of 256 values, see the spec) read in
/// place: 16 partial sums per output over loops (m, n, h, c0, c1, hf, s, j),
/// value 256 s + 128 hf + 32 (c0 + 2 c1) + 16 h + j of the row, with
/// q = (ql[64 hf + 32 c0 + 16 h + j] >> 4 c1) & 15 | ((qh[32 hf + 16 h + j]
/// >> 2 (c0 + 2 c1)) & 3) << 4, scale byte 8 hf + 2 (c0 + 2 c1) + h and
/// w = d * sc * (q - 32).
Value MatmulLowering::lowerQ6_K(MatmulOp op) {
  WeightType wt = op.getWeight().getType();
  int64_t n = wt.getShape()[0], sb = wt.getShape()[1] / 256, kBytes = 210;
  int64_t rs = sb * kBytes;
  Type f16 = b.getF16Type(), i8 = b.getI8Type();
  Value bytes = bytesOf(op.getWeight());
  // Loops 0 m, 1 n, 2 h, 3 c0, 4 c1, 5 hf, 6 s, 7 j.
  return kQuantPartials(
      op, {2, 2, 2, 2, 16}, {0, 6, 5, 4, 3, 2, 7},
      {strided(bytes, i8, {n, sb, 2, 2, 2, 16}, {rs, kBytes, 64, 32, 16, 1}, 0),
       strided(bytes, i8, {n, sb, 2, 2, 16}, {rs, kBytes, 32, 16, 1}, 128),
       strided(bytes, i8, {n, sb, 2, 2, 2, 2}, {rs, kBytes, 8, 4, 2, 1}, 192),
       strided(bytes, f16, {n, sb}, {rs / 2, kBytes / 2}, 104)},
      {{1, 6, 5, 3, 2, 7}, {1, 6, 5, 2, 7}, {1, 6, 5, 4, 3, 2}, {1, 6}},
      {1, 1, 16, 32, 64, 128, 256, 1},
      [](OpBuilder &nb, Location nl, ValueRange a) {
        Type i8t = nb.getI8Type(), f32 = nb.getF32Type();
        auto c8 = [&](int64_t v) {
          return arith::ConstantIntOp::create(nb, nl, i8t, v);
        };
        auto index8 = [&](unsigned dim) {
          return arith::IndexCastOp::create(
              nb, nl, i8t, linalg::IndexOp::create(nb, nl, dim));
        };
        Value c0 = index8(3), c1 = index8(4);
        // Low nibble for c1 = 0, high for c1 = 1: ql >> 4 c1 & 15.
        Value nib = arith::AndIOp::create(
            nb, nl,
            arith::ShRUIOp::create(nb, nl, a[1],
                                   arith::MulIOp::create(nb, nl, c1, c8(4))),
            c8(15));
        Value shift = arith::AddIOp::create(
            nb, nl, arith::MulIOp::create(nb, nl, c0, c8(2)),
            arith::MulIOp::create(nb, nl, c1, c8(4)));
        Value hi = arith::AndIOp::create(
            nb, nl, arith::ShRUIOp::create(nb, nl, a[2], shift), c8(3));
        Value q = arith::SubIOp::create(
            nb, nl,
            arith::OrIOp::create(nb, nl, nib,
                                 arith::ShLIOp::create(nb, nl, hi, c8(4))),
            c8(32));
        Value scale =
            arith::MulFOp::create(nb, nl, toF32(nb, nl, a[4]),
                                  arith::SIToFPOp::create(nb, nl, f32, a[3]));
        Value w = arith::MulFOp::create(
            nb, nl, scale, arith::SIToFPOp::create(nb, nl, f32, q));
        return arith::AddFOp::create(nb, nl, a[5],
                                     arith::MulFOp::create(nb, nl, a[0], w));
      });
}

/// The input of a micro-kernel dot: with a fused `norm`, the rows
/// normalized first by an rms_norm_f32 micro-kernel (in the kernel, before
/// the activation quantization or the f16 dot reads them).
FailureOr<Value> MatmulLowering::dotInput(MatmulOp op, CPUISAAttr isa) {
  Value x = op.getInput();
  if (!op.getNorm())
    return x;
  FailureOr<Value> g = plainWeight(op.getNorm());
  if (failed(g))
    return failure();
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       b.getF32Type());
  return MicroKernelOp::create(
             b, loc, TypeRange{init.getType()}, b.getStringAttr("rms_norm_f32"),
             isa, ValueRange{x, *g}, ValueRange{init},
             b.getDenseI64ArrayAttr({1, 1}), b.getI64IntegerAttr(1),
             FloatAttr(), UnitAttr(), UnitAttr(), op.getEpsilonAttr())
      .getResult(0);
}

/// The dot micro-kernel `kernel` on `ins` (activations, weight) into
/// `init`, with the matmul's fused epilogues (gate, residual) as further
/// inputs each thread applies to its piece of y.
Value MatmulLowering::dotCall(MatmulOp op, ScheduleAttr schedule,
                              StringRef kernel, CPUISAAttr isa,
                              SmallVector<Value> ins, Value init) {
  if (op.getGate())
    ins.push_back(op.getGate());
  if (op.getResidual())
    ins.push_back(op.getResidual());
  SmallVector<int64_t> micro(schedule.getMicro());
  if (micro.empty())
    micro = {1, 1};
  auto unit = [&](bool on) { return on ? b.getUnitAttr() : UnitAttr(); };
  return MicroKernelOp::create(
             b, loc, TypeRange{init.getType()}, b.getStringAttr(kernel), isa,
             ins, ValueRange{init}, b.getDenseI64ArrayAttr(micro),
             b.getI64IntegerAttr(schedule.getCpuThreads().value_or(1)),
             FloatAttr(), unit(static_cast<bool>(op.getGate())),
             unit(static_cast<bool>(op.getResidual())), FloatAttr())
      .getResult(0);
}

/// Schedule `dot = i8`: two micro-kernels instead of generated loops, the
/// activation rows quantized to Q8 blocks once, then the int8 block dot
/// products against the weight's GGUF block rows (read in place). `init`
/// is left unfilled: the dot kernel writes every output.
FailureOr<Value>
MatmulLowering::lowerInt8Dot(MatmulOp op, ScheduleAttr schedule, Value init) {
  WeightType wt = op.getWeight().getType();
  StringRef gguf = wt.getQuant().getGGUFName();
  int64_t n = wt.getShape()[0], k = wt.getShape()[1], blocks = k / 32;
  int64_t rowBytes = wt.getQuant().getStorageBytes(k);
  // The kernel op's verifier (schedule_c17) admits only these weights.
  assert(hasInt8DotKernels(gguf) &&
         "dot = i8 on a weight without Q8 micro-kernels");
  CPUISA isa = schedule.getIsa().value_or(CPUISA::scalar);
  auto isaAttr = CPUISAAttr::get(b.getContext(), isa);
  FailureOr<Value> x = dotInput(op, isaAttr);
  if (failed(x))
    return failure();
  OpFoldResult mSize = tensor::getMixedSize(b, loc, *x, 0);
  Type i8 = b.getI8Type();
  Value rowsInit = tensor::EmptyOp::create(
      b, loc,
      SmallVector<OpFoldResult>{
          mSize, b.getIndexAttr(blocks * MicroKernelOp::kQ8BlockBytes)},
      i8);
  auto quantize = MicroKernelOp::create(
      b, loc, TypeRange{rowsInit.getType()}, b.getStringAttr("quantize_q8"),
      isaAttr, ValueRange{*x}, ValueRange{rowsInit},
      b.getDenseI64ArrayAttr({1, 1}), b.getI64IntegerAttr(1), FloatAttr(),
      UnitAttr(), UnitAttr(), FloatAttr());
  Value w =
      strided(bytesOf(op.getWeight()), i8, {n, rowBytes}, {rowBytes, 1}, 0);
  return dotCall(op, schedule, ("dot_" + gguf).str(), isaAttr,
                 {quantize.getResult(0), w}, init);
}

/// dot = fma: one dot_f16 / dot_bf16 micro-kernel on the F16 / BF16 weight
/// as stored.
FailureOr<Value> MatmulLowering::lowerF16Dot(MatmulOp op, ScheduleAttr schedule,
                                             Value init) {
  // The kernel op's verifier (schedule_c17) admits only F16 weights.
  FailureOr<Value> w = plainWeight(op.getWeight());
  if (failed(w))
    return failure();
  auto isaAttr = CPUISAAttr::get(b.getContext(),
                                 schedule.getIsa().value_or(CPUISA::scalar));
  FailureOr<Value> x = dotInput(op, isaAttr);
  if (failed(x))
    return failure();
  StringRef kernel = op.getWeight().getType().getQuant().getGGUFName() == "bf16"
                         ? "dot_bf16"
                         : "dot_f16";
  return dotCall(op, schedule, kernel, isaAttr, {*x, *w}, init);
}

void mlir::haqa::to_linalg::populateMatmulPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<MatmulOp, MatmulLowering>>(patterns.getContext(),
                                                        options);
}
