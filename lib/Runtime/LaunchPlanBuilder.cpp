//===- LaunchPlanBuilder.cpp - launch plans from lowered host IR ---------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Walks each host function of an OpenCL-lowered module in order, knowing
// for every memref value the buffer and byte its pointer starts at and for
// every scalar its constant value, and records the launches and copies.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/LaunchPlanBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::haqa;
namespace plan = ::haqa::plan;

namespace {

llvm::Error opError(Operation *op, const llvm::Twine &what) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << op->getLoc() << ": launch plan: " << what;
  return llvm::createStringError(llvm::inconvertibleErrorCode(), s);
}

int64_t elementBytes(MemRefType t) {
  // index is i64 on the device (use-64bit-index).
  if (t.getElementType().isIndex())
    return 8;
  return (t.getElementTypeBitWidth() + 7) / 8;
}

/// Bytes of a memref's elements in a contiguous row-major layout.
std::optional<int64_t> contiguousBytes(MemRefType t) {
  if (!t.hasStaticShape() || !t.getLayout().isIdentity())
    return std::nullopt;
  return t.getNumElements() * elementBytes(t);
}

/// The static element offset of a memref's layout (0 for identity).
std::optional<int64_t> staticOffset(MemRefType t) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(t.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset))
    return std::nullopt;
  return offset;
}

class PlanBuilder {
public:
  PlanBuilder(ModuleOp module) : module(module), symbols(module) {}

  llvm::Error build(func::FuncOp func, plan::Plan &p) {
    this->p = &p;
    kernelIds.clear();
    globalBuffers.clear();
    p.function = func.getSymName().str();
    p.numArguments = func.getNumArguments();
    Env env;
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      if (!isa<MemRefType>(arg.getType()))
        return opError(func, "argument " + llvm::Twine(i) +
                                 " is no memref (plans take buffers only)");
      plan::Buffer b;
      b.kind = plan::Buffer::Argument;
      b.argument = i;
      if (auto bytes = contiguousBytes(cast<MemRefType>(arg.getType())))
        b.bytes = *bytes;
      p.buffers.push_back(std::move(b));
      env.refs[arg] = {static_cast<int64_t>(p.buffers.size() - 1), 0};
    }
    return walk(func.getBody().front(), env);
  }

private:
  struct Env {
    llvm::DenseMap<Value, plan::Ref> refs;
    llvm::DenseMap<Value, Attribute> constants;
  };

  ModuleOp module;
  SymbolTable symbols;
  plan::Plan *p = nullptr;
  llvm::DenseMap<std::pair<StringAttr, StringAttr>, int64_t> kernelIds;
  llvm::DenseMap<StringAttr, int64_t> globalBuffers;

  llvm::Expected<plan::Ref> ref(Env &env, Value v, Operation *user) {
    auto it = env.refs.find(v);
    if (it != env.refs.end())
      return it->second;
    Operation *def = v.getDefiningOp();
    return opError(user, "a buffer comes from " +
                             (def ? "'" + def->getName().getStringRef() + "'"
                                  : llvm::Twine("a block argument")) +
                             ", which a plan cannot follow");
  }

  llvm::Expected<Attribute> constant(Env &env, Value v, Operation *user) {
    auto it = env.constants.find(v);
    if (it != env.constants.end())
      return it->second;
    Operation *def = v.getDefiningOp();
    return opError(user,
                   "a size or argument is computed on the host" +
                       (def ? " by '" + def->getName().getStringRef() + "'"
                            : llvm::Twine("")) +
                       ", not a constant");
  }

  llvm::Expected<int64_t> intConstant(Env &env, Value v, Operation *user) {
    auto a = constant(env, v, user);
    if (!a)
      return a.takeError();
    if (auto i = dyn_cast<IntegerAttr>(*a))
      return i.getInt();
    return opError(user, "expected an integer constant");
  }

  llvm::Error walk(Block &block, Env &env) {
    for (Operation &op : block) {
      if (llvm::Error e = visit(&op, env))
        return e;
    }
    return llvm::Error::success();
  }

  llvm::Error visit(Operation *op, Env &env) {
    // Constants and what folds from them.
    Attribute c;
    if (op->getNumResults() == 1 &&
        matchPattern(op->getResult(0), m_Constant(&c))) {
      env.constants[op->getResult(0)] = c;
      return llvm::Error::success();
    }
    if (auto view = dyn_cast<memref::ViewOp>(op)) {
      auto base = ref(env, view.getSource(), op);
      if (!base)
        return base.takeError();
      auto shift = intConstant(env, view.getByteShift(), op);
      if (!shift)
        return shift.takeError();
      if (!view.getSizes().empty())
        return opError(op, "a view with dynamic sizes");
      env.refs[view] = {base->buffer, base->byteOffset + *shift};
      return llvm::Error::success();
    }
    // Views that keep the aligned pointer (their offsets are in the types,
    // which the kernels apply).
    if (isa<memref::ReinterpretCastOp, memref::SubViewOp, memref::ExpandShapeOp,
            memref::CollapseShapeOp, memref::CastOp>(op)) {
      auto base = ref(env, op->getOperand(0), op);
      if (!base)
        return base.takeError();
      env.refs[op->getResult(0)] = *base;
      return llvm::Error::success();
    }
    if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
      auto bytes = contiguousBytes(alloc.getType());
      if (!bytes)
        return opError(op, "a device buffer of dynamic size");
      plan::Buffer b;
      b.kind = plan::Buffer::Temporary;
      b.bytes = *bytes;
      p->buffers.push_back(std::move(b));
      env.refs[alloc.getMemref()] = {
          static_cast<int64_t>(p->buffers.size() - 1), 0};
      return llvm::Error::success();
    }
    if (isa<gpu::DeallocOp, gpu::WaitOp, memref::DeallocOp>(op))
      return llvm::Error::success();
    if (auto copy = dyn_cast<gpu::MemcpyOp>(op)) {
      auto dst = ref(env, copy.getDst(), op);
      if (!dst)
        return dst.takeError();
      auto src = ref(env, copy.getSrc(), op);
      if (!src)
        return src.takeError();
      auto dstType = cast<MemRefType>(copy.getDst().getType());
      auto srcType = cast<MemRefType>(copy.getSrc().getType());
      std::optional<int64_t> dstOffset = staticOffset(dstType);
      std::optional<int64_t> srcOffset = staticOffset(srcType);
      if (!dstType.hasStaticShape() || !dstOffset || !srcOffset ||
          !dstType.areTrailingDimsContiguous(dstType.getRank()) ||
          !srcType.areTrailingDimsContiguous(srcType.getRank()))
        return opError(op, "a copy of a strided or dynamic view");
      plan::Step s;
      s.kind = plan::Step::Copy;
      s.bytes = dstType.getNumElements() * elementBytes(dstType);
      s.dst = {dst->buffer,
               dst->byteOffset + *dstOffset * elementBytes(dstType)};
      s.src = {src->buffer,
               src->byteOffset + *srcOffset * elementBytes(srcType)};
      p->steps.push_back(std::move(s));
      return llvm::Error::success();
    }
    if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
      auto it = globalBuffers.find(get.getNameAttr().getAttr());
      if (it == globalBuffers.end()) {
        auto global = symbols.lookup<memref::GlobalOp>(get.getName());
        auto value = global ? dyn_cast_or_null<DenseElementsAttr>(
                                  global.getInitialValueAttr())
                            : DenseElementsAttr();
        if (!value || !global.getConstant())
          return opError(op, "a global that is no initialized constant");
        plan::Buffer b;
        b.kind = plan::Buffer::Constant;
        ArrayRef<char> raw = value.getRawData();
        int64_t n = value.getNumElements();
        if (value.isSplat())
          for (int64_t i = 0; i < n; ++i)
            b.data.insert(b.data.end(), raw.begin(), raw.end());
        else
          b.data.assign(raw.begin(), raw.end());
        b.bytes = b.data.size();
        p->buffers.push_back(std::move(b));
        it = globalBuffers
                 .try_emplace(get.getNameAttr().getAttr(),
                              static_cast<int64_t>(p->buffers.size() - 1))
                 .first;
      }
      env.refs[get] = {it->second, 0};
      return llvm::Error::success();
    }
    if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op))
      return visitLaunch(launch, env);
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
      if (!callee || callee.isExternal())
        return opError(op, "calls '" + call.getCallee() +
                               "', which has no body here");
      if (call.getNumResults())
        return opError(op, "a call with results");
      Env inner;
      for (auto [arg, operand] :
           llvm::zip(callee.getArguments(), call.getOperands())) {
        if (auto it = env.refs.find(operand); it != env.refs.end())
          inner.refs[arg] = it->second;
        else if (auto c = env.constants.find(operand); c != env.constants.end())
          inner.constants[arg] = c->second;
      }
      return walk(callee.getBody().front(), inner);
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      if (ret.getNumOperands())
        return opError(op, "a function with results (plans write into "
                           "their arguments)");
      return llvm::Error::success();
    }
    // Pure ops whose values nothing planned uses are harmless (poison,
    // dims of unused views); a use is reported where it happens.
    if (isMemoryEffectFree(op) && op->getNumRegions() == 0)
      return llvm::Error::success();
    return opError(op, "the host runs '" + op->getName().getStringRef() +
                           "', which a launch plan cannot express");
  }

  llvm::Error visitLaunch(gpu::LaunchFuncOp launch, Env &env) {
    if (launch.getDynamicSharedMemorySize() || launch.hasClusterSize())
      return opError(launch, "dynamic workgroup memory or clusters");
    plan::Step s;
    s.kind = plan::Step::Launch;
    auto key =
        std::make_pair(launch.getKernelModuleName(), launch.getKernelName());
    auto it = kernelIds.find(key);
    if (it == kernelIds.end()) {
      p->kernels.push_back({key.first.str(), key.second.str()});
      it = kernelIds
               .try_emplace(key, static_cast<int64_t>(p->kernels.size() - 1))
               .first;
    }
    s.kernel = it->second;
    Value grid[] = {launch.getGridSizeX(), launch.getGridSizeY(),
                    launch.getGridSizeZ()};
    Value block[] = {launch.getBlockSizeX(), launch.getBlockSizeY(),
                     launch.getBlockSizeZ()};
    for (int d = 0; d < 3; ++d) {
      auto g = intConstant(env, grid[d], launch);
      if (!g)
        return g.takeError();
      auto b = intConstant(env, block[d], launch);
      if (!b)
        return b.takeError();
      s.grid[d] = *g;
      s.block[d] = *b;
    }
    for (Value operand : launch.getKernelOperands()) {
      plan::KernelArg a;
      if (isa<MemRefType>(operand.getType())) {
        auto r = ref(env, operand, launch);
        if (!r)
          return r.takeError();
        a.ref = *r;
      } else {
        a.isBuffer = false;
        auto c = constant(env, operand, launch);
        if (!c)
          return c.takeError();
        if (auto i = dyn_cast<IntegerAttr>(*c)) {
          // index is i64 in the kernels (use-64bit-index).
          unsigned bits = operand.getType().isIndex()
                              ? 64
                              : operand.getType().getIntOrFloatBitWidth();
          uint64_t v = i.getValue().getZExtValue();
          for (unsigned byte = 0; byte < (bits + 7) / 8; ++byte)
            a.scalar.push_back(static_cast<uint8_t>(v >> (8 * byte)));
        } else if (auto f = dyn_cast<FloatAttr>(*c)) {
          llvm::APInt bits = f.getValue().bitcastToAPInt();
          for (unsigned byte = 0; byte < bits.getBitWidth() / 8; ++byte)
            a.scalar.push_back(
                static_cast<uint8_t>(bits.extractBitsAsZExtValue(8, 8 * byte)));
        } else {
          return opError(launch, "a kernel argument of unsupported type");
        }
      }
      s.args.push_back(std::move(a));
    }
    p->steps.push_back(std::move(s));
    return llvm::Error::success();
  }
};

} // namespace

llvm::Expected<LaunchPlans> mlir::haqa::buildLaunchPlans(ModuleOp module) {
  LaunchPlans out;
  for (auto binary : module.getOps<gpu::BinaryOp>()) {
    auto objects = binary.getObjects();
    if (objects.size() != 1)
      return opError(binary, "expected one object per gpu.binary");
    auto object = cast<gpu::ObjectAttr>(objects[0]);
    StringRef bytes = object.getObject().getValue();
    plan::Binary b;
    b.name = binary.getSymName().str();
    b.spirv.assign(bytes.begin(), bytes.end());
    out.binaries.push_back(std::move(b));
  }
  PlanBuilder builder(module);
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    plan::Plan p;
    if (llvm::Error e = builder.build(func, p))
      return std::move(e);
    out.plans.push_back(std::move(p));
  }
  return out;
}

llvm::Expected<const plan::Plan *>
LaunchPlans::lookup(llvm::StringRef function) const {
  for (const plan::Plan &p : plans)
    if (p.function == function)
      return &p;
  return llvm::createStringError("no function '" + function +
                                 "' in the OpenCL executable");
}
