//===- Embedding.cpp - haqa.embedding as a linalg generic -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa.embedding: the rows the tokens select, dequantized in the body of one
// parallel generic that reads the table's GGUF blocks with tensor.extract.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

/// Element `e` of row `row` of a K-quant table: `tables` are the row's
/// super-blocks as bytes [vocab, supers, block bytes] and as f16s (see the
/// spec for the layouts).
static Value decodeK(OpBuilder &nb, Location nl, StringRef name,
                     ArrayRef<Value> tables, Value row, Value e) {
  Type i8 = nb.getI8Type(), f32 = nb.getF32Type();
  auto idx = [&](int64_t v) {
    return arith::ConstantIndexOp::create(nb, nl, v);
  };
  auto c8 = [&](int64_t v) {
    return arith::ConstantIntOp::create(nb, nl, i8, v);
  };
  auto div = [&](Value a, int64_t v) {
    return arith::DivUIOp::create(nb, nl, a, idx(v));
  };
  auto rem = [&](Value a, int64_t v) {
    return arith::RemUIOp::create(nb, nl, a, idx(v));
  };
  auto add = [&](Value a, Value b) {
    return arith::AddIOp::create(nb, nl, a, b);
  };
  auto mul = [&](Value a, int64_t v) {
    return arith::MulIOp::create(nb, nl, a, idx(v));
  };
  Value s = div(e, 256), v = rem(e, 256);
  auto byteAt = [&](Value off) -> Value {
    return tensor::ExtractOp::create(nb, nl, tables[0],
                                     ValueRange{row, s, off});
  };
  auto halfAt = [&](int64_t off) -> Value {
    Value h = tensor::ExtractOp::create(nb, nl, tables[1],
                                        ValueRange{row, s, idx(off)});
    return arith::ExtFOp::create(nb, nl, f32, h);
  };
  auto shr = [&](Value a, Value by) {
    return arith::ShRUIOp::create(nb, nl, a, by);
  };
  auto andI = [&](Value a, int64_t m) {
    return arith::AndIOp::create(nb, nl, a, c8(m));
  };
  auto to8 = [&](Value i) { return arith::IndexCastOp::create(nb, nl, i8, i); };
  if (name == "q4_k") {
    Value j = div(v, 32), l = rem(v, 32);
    Value f0 = byteAt(j), f4 = byteAt(add(j, idx(4))),
          f8 = byteAt(add(j, idx(8)));
    auto orHigh = [&](Value lo, Value hi6) {
      return arith::OrIOp::create(
          nb, nl, lo, arith::ShLIOp::create(nb, nl, shr(hi6, c8(6)), c8(4)));
    };
    Value first4 =
        arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, idx(4));
    Value sc = arith::SelectOp::create(nb, nl, first4, andI(f4, 63),
                                       orHigh(andI(f8, 15), f0));
    Value mn = arith::SelectOp::create(nb, nl, first4, andI(f8, 63),
                                       orHigh(shr(f8, c8(4)), f4));
    Value qsByte = byteAt(add(idx(16), add(mul(div(j, 2), 32), l)));
    Value q = andI(shr(qsByte, to8(mul(rem(j, 2), 4))), 15);
    auto uf = [&](Value x) { return arith::UIToFPOp::create(nb, nl, f32, x); };
    Value scale = arith::MulFOp::create(nb, nl, halfAt(0), uf(sc));
    Value min = arith::MulFOp::create(nb, nl, halfAt(1), uf(mn));
    return arith::SubFOp::create(
        nb, nl, arith::MulFOp::create(nb, nl, scale, uf(q)), min);
  }
  // q6_k
  Value h = div(v, 128), r = rem(v, 128), c = div(r, 32), l = rem(r, 32);
  Value ql = byteAt(add(add(mul(h, 64), mul(rem(c, 2), 32)), l));
  Value nib = andI(shr(ql, to8(mul(div(c, 2), 4))), 15);
  Value qh = byteAt(add(add(idx(128), mul(h, 32)), l));
  Value hi = andI(shr(qh, to8(mul(c, 2))), 3);
  Value q = arith::SubIOp::create(
      nb, nl,
      arith::OrIOp::create(nb, nl, nib,
                           arith::ShLIOp::create(nb, nl, hi, c8(4))),
      c8(32));
  Value sc = byteAt(add(add(idx(192), mul(h, 8)), add(mul(c, 2), div(l, 16))));
  auto sf = [&](Value x) { return arith::SIToFPOp::create(nb, nl, f32, x); };
  return arith::MulFOp::create(
      nb, nl, arith::MulFOp::create(nb, nl, halfAt(104), sf(sc)), sf(q));
}

namespace {
struct EmbeddingLowering : KernelLowering {
  using KernelLowering::KernelLowering;
  FailureOr<Value> lower(EmbeddingOp op);
};
} // namespace

/// y[t, e] = table[tokens[t], e], dequantized: a parallel generic over
/// (t, e) whose body reads the row the token selects (tensor.extract from
/// the weight's strided views; GGUF blocks as in Matmul.cpp).
FailureOr<Value> EmbeddingLowering::lower(EmbeddingOp op) {
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
  } else if (q.getLayout() == StorageLayout::gguf_k) {
    // K-quant rows: the super-blocks' bytes (and their f16 view), decoded
    // per element below.
    name = q.getGGUFName();
    int64_t blockBytes = q.getGGUFBlockBytes(), supers = dim / 256;
    Value bytes = bytesOf(op.getTable());
    tables.push_back(strided(bytes, i8, {vocab, supers, blockBytes},
                             {blockBytes * supers, blockBytes, 1}, 0));
    tables.push_back(strided(bytes, f16, {vocab, supers, blockBytes / 2},
                             {blockBytes / 2 * supers, blockBytes / 2, 1}, 0));
  } else {
    if (q.getLayout() != StorageLayout::gguf)
      return fail("unimplemented: embedding with ")
                 << q << " tables on the CPU",
             failure();
    name = q.getGGUFName();
    int64_t blocks = dim / 32;
    // Strides in bytes (quants) and in f16s (scale, min) per block.
    int64_t blockBytes = q.getGGUFBlockBytes(), h = blockBytes / 2;
    Value bytes = bytesOf(op.getTable());
    if (name == "q8_0") {
      tables.push_back(strided(bytes, i8, {vocab, blocks, 32},
                               {blockBytes * blocks, blockBytes, 1}, 2));
      tables.push_back(
          strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 0));
    } else {
      bool hasMin = name == "q4_1";
      tables.push_back(strided(bytes, i8, {vocab, blocks, 16},
                               {blockBytes * blocks, blockBytes, 1},
                               hasMin ? 4 : 2));
      tables.push_back(
          strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 0));
      if (hasMin)
        tables.push_back(
            strided(bytes, f16, {vocab, blocks}, {h * blocks, h}, 1));
    }
  }
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, getAffineDimExpr(0, ctx)),
                                 b.getMultiDimIdentityMap(2)};
  return generic(
      resultType, tokens, init, maps, {kPar, kPar}, {0, 1},
      [&, name](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value row = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
        Value e = linalg::IndexOp::create(nb, nl, 1);
        auto cst = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, nl, v);
        };
        if (name.empty())
          return toF32(
              nb, nl,
              tensor::ExtractOp::create(nb, nl, tables[0], ValueRange{row, e}));
        if (name == "q4_k" || name == "q6_k")
          return decodeK(nb, nl, name, tables, row, e);
        Value blk = arith::DivUIOp::create(nb, nl, e, cst(32));
        Value j = arith::RemUIOp::create(nb, nl, e, cst(32));
        Value scale = toF32(
            nb, nl,
            tensor::ExtractOp::create(nb, nl, tables[1], ValueRange{row, blk}));
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
        Value eight =
            arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(8.0));
        return arith::MulFOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, qf, eight), scale);
      });
}

void mlir::haqa::to_linalg::populateEmbeddingPatterns(
    RewritePatternSet &patterns, const HAQAToLinalgOptions &options) {
  patterns.add<KernelPattern<EmbeddingOp, EmbeddingLowering>>(
      patterns.getContext(), options);
}
