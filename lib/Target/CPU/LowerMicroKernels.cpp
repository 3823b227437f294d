//===- LowerMicroKernels.cpp - haqa.micro_kernel as C calls -----*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Each haqa.micro_kernel on memrefs becomes a call of its lib/MicroKernels
// function, `haqa_uk_<kernel>_<isa>`, with raw pointers and row strides; a
// dot kernel's host threads become an scf.forall over pieces of N. The
// instruction set is checked against the target's CPU features first.
//
//===----------------------------------------------------------------------===//

#include "haqa/Hardware/TargetLimits.h"
#include "haqa/Target/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::haqa {
#define GEN_PASS_DEF_HAQACPULOWERMICROKERNELSPASS
#include "haqa/Target/CPU/Passes.h.inc"
} // namespace mlir::haqa

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// The function-name suffix of an instruction set in lib/MicroKernels.
StringRef getLibrarySuffix(CPUISA isa) {
  switch (isa) {
  case CPUISA::scalar:
    return "scalar";
  case CPUISA::avx2:
    return "avx2";
  case CPUISA::avx_vnni:
    return "avxvnni";
  case CPUISA::avx512_vnni:
    return "avx512vnni";
  }
  llvm_unreachable("unknown CPUISA");
}

/// The CPU features of `spec`: "host" (this machine's), "any" (none
/// checked: nullopt) or a comma-separated list.
std::optional<std::vector<std::string>> parseFeatures(StringRef spec) {
  spec = spec.trim();
  if (spec == "any")
    return std::nullopt;
  if (spec == "host")
    return getHostCPUFeatureNames();
  std::vector<std::string> out;
  SmallVector<StringRef> parts;
  spec.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef p : parts)
    out.push_back(p.trim().str());
  return out;
}

struct Lowering {
  ModuleOp module;
  OpBuilder &b;

  /// The declaration of `name` with `args` parameters, made once.
  func::FuncOp declare(StringRef name, TypeRange args) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto f = func::FuncOp::create(b, module.getLoc(), name,
                                  b.getFunctionType(args, {}));
    f.setPrivate();
    return f;
  }

  /// The address of `m`'s first element and its row stride in elements.
  std::pair<Value, Value> pointerAndStride(Location loc, Value m) {
    auto type = cast<MemRefType>(m.getType());
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, m);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, m);
    Value elemBytes = arith::ConstantIndexOp::create(
        b, loc, type.getElementTypeBitWidth() / 8);
    Value offset =
        arith::MulIOp::create(b, loc, meta.getOffset(), elemBytes);
    Value address = arith::AddIOp::create(b, loc, base, offset);
    Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
    Value ptr = LLVM::IntToPtrOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext()), i64);
    return {ptr, toI64(loc, meta.getStrides()[0])};
  }

  Value toI64(Location loc, Value index) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  }
  Value i64(Location loc, int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
  }
  Value dim(Location loc, Value m, unsigned i) {
    return toI64(loc, memref::DimOp::create(b, loc, m, i));
  }

  /// `call(begin, end)` for each of `pieces` pieces of a range (i64 values),
  /// each on a host thread of an scf.forall when there are several:
  /// `bounds(t)` is piece t's range, `whole` the range of a single piece.
  void splitOverThreads(Location loc, int64_t pieces, Value whole,
                        function_ref<std::pair<Value, Value>(Value)> bounds,
                        function_ref<void(Value, Value)> call) {
    if (pieces <= 1) {
      call(i64(loc, 0), whole);
      return;
    }
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(pieces)}, ValueRange(),
        std::nullopt);
    b.setInsertionPointToStart(forall.getBody());
    auto [begin, end] = bounds(toI64(loc, forall.getInductionVar(0)));
    call(begin, end);
  }

  /// Raw pointers need unit strides in the inner dimensions of 3-d
  /// operands: the kernels index [row, head, d] as row * stride + head * D
  /// + d.
  bool hasDenseRows(Value m) {
    auto type = cast<MemRefType>(m.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)))
      return false;
    return strides.back() == 1 &&
           (type.getRank() < 3 || strides[1] == type.getDimSize(2));
  }

  // (q, q_stride, k, v, kv_stride, cache_rows, positions, out, out_stride,
  //  heads_q, heads_kv, hd, scale, u0, u1)
  void lowerAttention(MicroKernelOp op, StringRef name) {
    Location loc = op.getLoc();
    Value q = op.getInputs()[0], k = op.getInputs()[1], v = op.getInputs()[2],
          pos = op.getInputs()[3], out = op.getOutputs()[0];
    Type ptr = LLVM::LLVMPointerType::get(b.getContext());
    Type i64t = b.getI64Type(), f32t = b.getF32Type();
    func::FuncOp f =
        declare(name, {ptr, i64t, ptr, ptr, i64t, i64t, ptr, ptr, i64t, i64t,
                       i64t, i64t, f32t, i64t, i64t});
    auto [qp, qs] = pointerAndStride(loc, q);
    auto [kp, ks] = pointerAndStride(loc, k);
    Value vp = pointerAndStride(loc, v).first;
    Value pp = pointerAndStride(loc, pos).first;
    auto [op_, os] = pointerAndStride(loc, out);
    auto qType = cast<MemRefType>(q.getType());
    int64_t headsQ = qType.getDimSize(1), hd = qType.getDimSize(2);
    int64_t headsKV = cast<MemRefType>(k.getType()).getDimSize(1);
    Value tokens = dim(loc, q, 0);
    Value units = arith::MulIOp::create(b, loc, tokens, i64(loc, headsQ));
    Value scale = arith::ConstantOp::create(b, loc, op.getScaleAttr());
    Value rows = dim(loc, k, 0);
    // Piece t of T: [t * units / T, (t + 1) * units / T).
    int64_t threads = op.getThreads();
    auto bound = [&](Value t) {
      return arith::DivSIOp::create(
          b, loc, arith::MulIOp::create(b, loc, t, units), i64(loc, threads));
    };
    splitOverThreads(
        loc, threads, units,
        [&](Value t) -> std::pair<Value, Value> {
          Value u0 = bound(t);
          return {u0, bound(arith::AddIOp::create(b, loc, t, i64(loc, 1)))};
        },
        [&](Value u0, Value u1) {
          func::CallOp::create(b, loc, f,
                               ValueRange{qp, qs, kp, vp, ks, rows, pp, op_, os,
                                          i64(loc, headsQ), i64(loc, headsKV),
                                          i64(loc, hd), scale, u0, u1});
        });
    op.erase();
  }

  void lower(MicroKernelOp op) {
    Location loc = op.getLoc();
    b.setInsertionPoint(op);
    std::string name = ("haqa_uk_" + op.getKernel() + "_" +
                        getLibrarySuffix(op.getIsa()))
                           .str();
    Type ptr = LLVM::LLVMPointerType::get(b.getContext());
    Type i64t = b.getI64Type();
    if (op.getKernel() == "quantize_q8") {
      // (x, x_stride, rows, k, out, out_row_bytes)
      Value x = op.getInputs()[0], out = op.getOutputs()[0];
      auto [xp, xs] = pointerAndStride(loc, x);
      auto [op_, os] = pointerAndStride(loc, out);
      func::FuncOp f =
          declare(name, {ptr, i64t, i64t, i64t, ptr, i64t});
      func::CallOp::create(
          b, loc, f,
          ValueRange{xp, xs, dim(loc, x, 0), dim(loc, x, 1), op_, os});
      op.erase();
      return;
    }
    if (op.getKernel() == "attention_f32") {
      lowerAttention(op, name);
      return;
    }
    if (op.getKernel() == "rms_norm_f32") {
      // (x, x_stride, g, y, y_stride, rows, k, eps)
      Value x = op.getInputs()[0], g = op.getInputs()[1],
            out = op.getOutputs()[0];
      auto [xp, xs] = pointerAndStride(loc, x);
      Value gp = pointerAndStride(loc, g).first;
      auto [yp, ys] = pointerAndStride(loc, out);
      func::FuncOp f = declare(
          name, {ptr, i64t, ptr, ptr, i64t, i64t, i64t, b.getF32Type()});
      func::CallOp::create(
          b, loc, f,
          ValueRange{xp, xs, gp, yp, ys, dim(loc, x, 0), dim(loc, x, 1),
                     arith::ConstantOp::create(b, loc, op.getEpsilonAttr())});
      op.erase();
      return;
    }
    // (w, w_row_stride, x, x_row_stride, y, y_stride, rows_m, n0, n1,
    //  blocks or k, mr, nr): the int8 dots take the Q8 rows and weight rows
    // in bytes and K in blocks, dot_f16 the activations and weight rows in
    // elements and K.
    Value xq = op.getInputs()[0], w = op.getInputs()[1],
          y = op.getOutputs()[0];
    auto wType = cast<MemRefType>(w.getType());
    int64_t n = wType.getDimSize(0);
    int64_t blocks = op.isFMADot()
                         ? wType.getDimSize(1)
                         : wType.getDimSize(1) / op.getWeightBlockBytes() *
                               (op.getWeightBlockValues() / 32);
    int64_t mr = op.getMicro()[0], nr = op.getMicro()[1];
    func::FuncOp f = declare(name, {ptr, i64t, ptr, i64t, ptr, i64t, i64t,
                                    i64t, i64t, i64t, i64t, i64t});
    auto [wp, ws] = pointerAndStride(loc, w);
    auto [xp, xs] = pointerAndStride(loc, xq);
    auto [yp, ys] = pointerAndStride(loc, y);
    Value rows = dim(loc, y, 0);
    // The fused epilogues, applied by the thread that computed the piece:
    // (y, y_stride, gate, gate_stride, residual, residual_stride, rows, n0,
    // n1), null pointers for the absent ones.
    func::FuncOp epilogue;
    Value gp, gs, rp, rs;
    if (op.getGate() || op.getResidual()) {
      epilogue = declare(
          ("haqa_uk_epilogue_f32_" + getLibrarySuffix(op.getIsa())).str(),
          {ptr, i64t, ptr, i64t, ptr, i64t, i64t, i64t, i64t});
      Value null = LLVM::ZeroOp::create(b, loc, ptr);
      gp = rp = null;
      gs = rs = i64(loc, 0);
      unsigned next = 2;
      if (op.getGate())
        std::tie(gp, gs) = pointerAndStride(loc, op.getInputs()[next++]);
      if (op.getResidual())
        std::tie(rp, rs) = pointerAndStride(loc, op.getInputs()[next++]);
    }
    auto call = [&](Value n0, Value n1) {
      func::CallOp::create(b, loc, f,
                           ValueRange{wp, ws, xp, xs, yp, ys, rows, n0, n1,
                                      i64(loc, blocks), i64(loc, mr),
                                      i64(loc, nr)});
      if (epilogue)
        func::CallOp::create(b, loc, epilogue,
                             ValueRange{yp, ys, gp, gs, rp, rs, rows, n0, n1});
    };
    // Pieces of whole register blocks: ceil(N / T) rounded up to nr.
    int64_t threads = std::min<int64_t>(op.getThreads(), (n + nr - 1) / nr);
    int64_t piece = 0, pieces = 1;
    if (threads > 1) {
      piece = ((n + threads - 1) / threads + nr - 1) / nr * nr;
      pieces = (n + piece - 1) / piece;
    }
    splitOverThreads(
        loc, pieces, i64(loc, n),
        [&](Value t) -> std::pair<Value, Value> {
          Value n0 = arith::MulIOp::create(b, loc, t, i64(loc, piece));
          Value n1 = arith::MinSIOp::create(
              b, loc, arith::AddIOp::create(b, loc, n0, i64(loc, piece)),
              i64(loc, n));
          return {n0, n1};
        },
        call);
    op.erase();
  }
};

struct HAQACPULowerMicroKernelsPass
    : haqa::impl::HAQACPULowerMicroKernelsPassBase<
          HAQACPULowerMicroKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<std::vector<std::string>> available =
        parseFeatures(features);
    SmallVector<MicroKernelOp> ops;
    OpBuilder b(&getContext());
    Lowering lowering{module, b};
    WalkResult result = module.walk([&](MicroKernelOp op) {
      if (!op.getResults().empty()) {
        op.emitOpError("expected memref operands: "
                       "haqa-cpu-lower-micro-kernels runs after "
                       "bufferization");
        return WalkResult::interrupt();
      }
      // The kernels take one row stride per operand: the inner dimensions
      // must be dense.
      if (!llvm::all_of(op->getOperands(),
                        [&](Value m) { return lowering.hasDenseRows(m); })) {
        op.emitOpError("expected operands with unit inner strides (one row "
                       "stride per operand)");
        return WalkResult::interrupt();
      }
      if (available) {
        StringRef isa = stringifyCPUISA(op.getIsa());
        std::string missing = getMissingCPUFeature(isa, *available);
        if (!missing.empty()) {
          std::string target = StringRef(features).trim() == "host"
                                   ? std::string("this host")
                                   : "features " + features;
          op.emitOpError() << "isa = " << isa << " needs the CPU feature '"
                           << missing << "', which the target (" << target
                           << ") lacks";
          return WalkResult::interrupt();
        }
      }
      ops.push_back(op);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (MicroKernelOp op : ops)
      lowering.lower(op);
  }
};

} // namespace
