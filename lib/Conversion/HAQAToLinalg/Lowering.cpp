//===- Lowering.cpp - what the kernel patterns share ------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// KernelLowering's builders (tagged generics, weights as typed strided views
// of their bytes) and rewriteKernel, the body of every kernel pattern: the
// activation check, the build, the `haqa.operands` tags on the generics it
// made and the replacement of the kernel op.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;
using namespace mlir::haqa;
using namespace mlir::haqa::to_linalg;

Value KernelLowering::generic(
    Type result, ValueRange ins, Value init, ArrayRef<AffineMap> maps,
    ArrayRef<IteratorType> iters, ArrayRef<int64_t> loopDims,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{result}, ins, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  op->setAttr(kKernelAttrName,
              b.getStringAttr(kernel->getName().stripDialect()));
  op->setAttr(kLoopDimsAttrName, b.getDenseI64ArrayAttr(loopDims));
  if (auto schedule = kernel->getAttrOfType<ScheduleAttr>("schedule"))
    op->setAttr(kScheduleAttrName, schedule);
  return op.getResult(0);
}

Value KernelLowering::elementwise(
    ValueRange ins, Value like,
    function_ref<Value(OpBuilder &, Location, ValueRange)> f) {
  auto type = cast<RankedTensorType>(like.getType());
  int64_t rank = type.getRank();
  SmallVector<AffineMap> maps(ins.size() + 1, b.getMultiDimIdentityMap(rank));
  SmallVector<IteratorType> iters(rank, kPar);
  return generic(type, ins, emptyLike(like), maps, iters, identity(rank), f);
}

FailureOr<Value> KernelLowering::plainWeight(Value w) {
  auto type = cast<WeightType>(w.getType());
  QuantAttr q = type.getQuant();
  if (q.isQuantized())
    return fail("expected a plain f32/f16/bf16 weight, got ") << q, failure();
  Type elem = q.getKind() == ElemKind::f32   ? b.getF32Type()
              : q.getKind() == ElemKind::f16 ? b.getF16Type()
                                             : b.getBF16Type();
  auto memrefType = MemRefType::get(type.getShape(), elem);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value view = memref::ViewOp::create(b, loc, memrefType, bytesOf(w), zero, {});
  return bufferization::ToTensorOp::create(
             b, loc, RankedTensorType::get(type.getShape(), elem), view,
             /*restrict=*/true)
      .getResult();
}

Value KernelLowering::strided(Value bytes, Type elem, ArrayRef<int64_t> shape,
                              ArrayRef<int64_t> strides, int64_t offset) {
  Value base = bytes;
  if (!elem.isInteger(8)) {
    int64_t total = cast<MemRefType>(bytes.getType()).getNumElements() /
                    (elem.getIntOrFloatBitWidth() / 8);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    base = memref::ViewOp::create(b, loc, MemRefType::get({total}, elem), bytes,
                                  zero, {});
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

LogicalResult mlir::haqa::to_linalg::checkActivations(Operation *kernel) {
  for (Value v : kernel->getOperands())
    if (auto t = dyn_cast<RankedTensorType>(v.getType());
        t && isa<FloatType>(t.getElementType()) && !t.getElementType().isF32())
      return kernel->emitOpError("unimplemented: activations of type ")
             << t.getElementType() << " (the CPU lowering takes f32)";
  return success();
}

/// The kernel operand each of `g`'s operands reads or writes, as
/// `haqa.operands` (inputs then inits; -1 for intermediates of the lowering):
/// what per-operand schedule fields such as `placement` refer to. Views
/// (reshapes, slices, bufferization.to_tensor of weight byte views) are
/// looked through.
static void annotateOperands(linalg::GenericOp g, Operation *kernel,
                             Value result) {
  DenseMap<Value, int64_t> roots;
  for (auto [i, v] : llvm::enumerate(kernel->getOperands())) {
    roots[v] = i;
    if (Value bytes = getWeightBytes(v))
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
  g->setAttr(kOperandsAttrName, OpBuilder(g).getDenseI64ArrayAttr(indices));
}

LogicalResult
mlir::haqa::to_linalg::rewriteKernel(Operation *kernel,
                                     PatternRewriter &rewriter,
                                     function_ref<FailureOr<Value>()> build) {
  if (failed(checkActivations(kernel)))
    return failure();
  for (Value v : kernel->getOperands())
    if (isa<WeightType>(v.getType()) && !getWeightBytes(v))
      return rewriter.notifyMatchFailure(
          kernel, "a weight operand has no byte buffer (addWeightArguments)");
  rewriter.setInsertionPoint(kernel);
  Operation *before = kernel->getPrevNode();
  FailureOr<Value> lowered = build();
  // The ops of this kernel's lowering: between `before` and the kernel.
  Block *block = kernel->getBlock();
  auto begin = before ? std::next(before->getIterator()) : block->begin();
  auto made = llvm::make_range(begin, kernel->getIterator());
  if (failed(lowered)) {
    // A failed pattern leaves the IR as it found it: users first.
    SmallVector<Operation *> ops =
        llvm::map_to_vector(made, [](Operation &op) { return &op; });
    for (Operation *op : llvm::reverse(ops))
      rewriter.eraseOp(op);
    return failure();
  }
  for (Operation &op : made)
    op.walk(
        [&](linalg::GenericOp g) { annotateOperands(g, kernel, *lowered); });
  rewriter.replaceOp(kernel, *lowered);
  return success();
}
