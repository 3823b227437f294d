//===- KernelHarness.cpp - measure one kernel under one schedule -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/KernelHarness.h"
#include "haqa/Conversion/Passes.h"
#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/InitAllDialects.h"
#include "haqa/Reference/Executor.h"
#include "haqa/Runtime/Isolate.h"
#include "haqa/Support/Parsing.h"
#include "haqa/Target/CPU/Passes.h"
#include "haqa/Weights/Codecs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

using namespace mlir;
using namespace mlir::haqa;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

//===----------------------------------------------------------------------===//
// Kernel modules
//===----------------------------------------------------------------------===//

std::string KernelSpec::getLabel() const {
  std::string s = kernel + " [";
  for (size_t i = 0; i < ne.size(); ++i)
    s += (i ? "," : "") + std::to_string(ne[i]);
  s += "]";
  if (kernel == "matmul")
    s += " " + weights;
  return s;
}

std::vector<KernelSpec>
mlir::haqa::getTable3Kernels(llvm::ArrayRef<int64_t> tokens,
                             llvm::ArrayRef<std::string> weights) {
  std::vector<KernelSpec> specs;
  auto add = [&](const char *k, llvm::SmallVector<int64_t, 3> ne,
                 std::string w) {
    specs.push_back({k, ne, std::move(w)});
  };
  for (int64_t t : tokens) {
    add("softmax", {1024, t, 32}, "f32");
    add("silu", {11008, t, 1}, "f32");
    add("rms_norm", {4096, t, 1}, "f32");
    add("rope", {128, t, 1}, "f32");
    for (const std::string &w : weights)
      add("matmul", {2048, t, 2048}, w);
  }
  return specs;
}

/// A new module holding `func.func @kernel` of `argTypes` -> `resultType`,
/// the builder at the start of its body.
static func::FuncOp createKernelFunction(OpBuilder &b, ModuleOp module,
                                         TypeRange argTypes,
                                         TypeRange resultTypes) {
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, module.getLoc(), "kernel",
                                   b.getFunctionType(argTypes, resultTypes));
  b.setInsertionPointToStart(func.addEntryBlock());
  return func;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::haqa::buildKernelModule(MLIRContext *ctx, const KernelSpec &s) {
  auto fail = [&](const llvm::Twine &msg) {
    return error(s.getLabel() + ": " + msg);
  };
  if (s.ne.size() != 3 || llvm::any_of(s.ne, [](int64_t d) { return d < 1; }))
    return fail("expected three positive sizes in ggml order");
  ctx->loadDialect<HAQADialect, func::FuncDialect>();
  int64_t a = s.ne[0], t = s.ne[1], c = s.ne[2];
  OpBuilder b(ctx);
  Location loc = UnknownLoc::get(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  Type f32 = b.getF32Type();
  auto rows = RankedTensorType::get({t, a}, f32);
  ScheduleAttr none;
  Value result;
  if (s.kernel == "silu") {
    auto f = createKernelFunction(b, *module, {rows}, {rows});
    result = SiLUOp::create(b, loc, rows, f.getArgument(0), none);
  } else if (s.kernel == "swiglu" || s.kernel == "add" || s.kernel == "mul") {
    auto f = createKernelFunction(b, *module, {rows, rows}, {rows});
    Value x = f.getArgument(0), y = f.getArgument(1);
    if (s.kernel == "swiglu")
      result = SwiGLUOp::create(b, loc, rows, x, y, none);
    else if (s.kernel == "add")
      result = AddOp::create(b, loc, rows, x, y, none);
    else
      result = MulOp::create(b, loc, rows, x, y, none);
  } else if (s.kernel == "softmax") {
    auto scores = RankedTensorType::get({c, t, a}, f32);
    auto f = createKernelFunction(b, *module, {scores}, {scores});
    result = SoftmaxOp::create(b, loc, scores, f.getArgument(0), none);
  } else if (s.kernel == "rms_norm") {
    auto f = createKernelFunction(b, *module, {rows}, {rows});
    Value w = WeightOp::create(
        b, loc,
        WeightType::get(ctx, {a}, QuantAttr::getPlain(ctx, ElemKind::f32)),
        b.getStringAttr("norm"));
    result = RMSNormOp::create(b, loc, rows, f.getArgument(0), w,
                               b.getF32FloatAttr(1e-5f), none);
  } else if (s.kernel == "rope") {
    // [tokens, heads, head size] from [head size, tokens, heads].
    auto x = RankedTensorType::get({t, c, a}, f32);
    auto positions = RankedTensorType::get({t}, b.getI32Type());
    auto f = createKernelFunction(b, *module, {x, positions}, {x});
    result = RoPEOp::create(b, loc, x, f.getArgument(0), f.getArgument(1),
                            Value(), b.getF32FloatAttr(1e4f),
                            RoPEStyleAttr::get(ctx, RoPEStyle::interleaved),
                            FloatAttr(), FloatAttr(), FloatAttr(),
                            IntegerAttr(), none);
  } else if (s.kernel == "matmul") {
    std::optional<GGMLType> storage = getGGMLTypeByName(s.weights);
    QuantAttr quant =
        storage ? getQuantForGGMLType(ctx, static_cast<uint32_t>(*storage))
                : QuantAttr();
    if (!quant)
      return fail("unknown weight storage '" + s.weights +
                  "' (f32, f16, bf16, q8_0, q4_0, q4_1)");
    auto out = RankedTensorType::get({t, c}, f32);
    auto f = createKernelFunction(b, *module, {rows}, {out});
    Value w = WeightOp::create(b, loc, WeightType::get(ctx, {c, a}, quant),
                               b.getStringAttr("w"));
    result = MatmulOp::create(b, loc, out, f.getArgument(0), w, none);
  } else {
    return fail("unknown kernel '" + s.kernel +
                "' (softmax, silu, swiglu, add, mul, rms_norm, rope, matmul)");
  }
  func::ReturnOp::create(b, loc, result);
  if (failed(verify(*module)))
    return fail("the kernel does not verify (see the diagnostics above)");
  return std::move(module);
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::haqa::buildKernelModule(KernelOpInterface kernel, int64_t dynamicRows) {
  Operation *op = kernel.getOperation();
  std::string label = getKernelLabel(kernel);
  if (!kernel.isMeasurableAlone())
    return error(label + ": cannot be measured alone");
  MLIRContext *ctx = op->getContext();
  ctx->loadDialect<func::FuncDialect>();
  // The type with its dynamic dimensions `dynamicRows`; null if it has some
  // and no `dynamicRows` is given.
  auto staticType = [&](Type type) -> RankedTensorType {
    auto t = dyn_cast<RankedTensorType>(type);
    if (!t || (!t.hasStaticShape() && dynamicRows <= 0))
      return {};
    SmallVector<int64_t> shape(t.getShape());
    for (int64_t &d : shape)
      if (ShapedType::isDynamic(d))
        d = dynamicRows;
    return t.clone(shape);
  };
  SmallVector<Type> argTypes, resultTypes;
  SmallVector<Value> args;
  for (Value v : op->getOperands()) {
    if (v.getDefiningOp<WeightOp>() || llvm::is_contained(args, v))
      continue;
    RankedTensorType t = staticType(v.getType());
    if (!t)
      return error(label + ": operands of dynamic shape need a row count to "
                           "be measured at");
    argTypes.push_back(t);
    args.push_back(v);
  }
  for (Type type : op->getResultTypes()) {
    RankedTensorType t = staticType(type);
    if (!t)
      return error(label + ": results of dynamic shape need a row count to "
                           "be measured at");
    resultTypes.push_back(t);
  }
  OpBuilder b(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(op->getLoc());
  auto func = createKernelFunction(b, *module, argTypes, resultTypes);
  IRMapping map;
  for (auto [v, arg] : llvm::zip(args, func.getArguments()))
    map.map(v, arg);
  for (Value v : op->getOperands())
    if (auto w = v.getDefiningOp<WeightOp>(); w && !map.contains(v))
      map.map(v, b.clone(*w)->getResult(0));
  Operation *clone = b.clone(*op, map);
  clone->removeAttr("schedule");
  for (auto [result, type] : llvm::zip(clone->getResults(), resultTypes))
    result.setType(type);
  func::ReturnOp::create(b, op->getLoc(), clone->getResults());
  if (dynamicRows > 0) {
    std::string diagnostics;
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
      diagnostics += d.str();
      return success();
    });
    if (failed(verify(*module)))
      return error(label + ": at " + llvm::Twine(dynamicRows) +
                   " rows: " + diagnostics);
  }
  return std::move(module);
}

KernelOpInterface mlir::haqa::getKernelOp(ModuleOp kernelModule) {
  KernelOpInterface kernel;
  kernelModule.walk([&](KernelOpInterface k) {
    kernel = k;
    return WalkResult::interrupt();
  });
  return kernel;
}

std::string mlir::haqa::getKernelLabel(KernelOpInterface kernel) {
  std::string label = kernel.getSignatureString();
  // The storage of its 2-d weights: the ones --haqa-quantize chooses.
  for (Value v : kernel->getOperands())
    if (auto w = dyn_cast<WeightType>(v.getType());
        w && w.getShape().size() == 2)
      label += " " + w.getQuant().getGGUFName().str();
  // A biased matmul is another kernel than the plain one of its shape.
  if (auto m = dyn_cast<MatmulOp>(kernel.getOperation()); m && m.getBias())
    label += " bias";
  return label;
}

//===----------------------------------------------------------------------===//
// Problems
//===----------------------------------------------------------------------===//

/// The most host memory a kernel problem may take (inputs, weights as f32
/// values, outputs and the reference's output, 8 bytes per activation
/// element as an upper bound).
static constexpr uint64_t kMaxProblemBytes = 16ull << 30;

llvm::Expected<KernelProblem> KernelProblem::prepare(ModuleOp module,
                                                     uint64_t seed) {
  auto func = module.lookupSymbol<func::FuncOp>("kernel");
  KernelOpInterface kernel = getKernelOp(module);
  if (!func || !kernel)
    return error("expected a kernel module: func.func @kernel with a kernel "
                 "op");
  std::string label = getKernelLabel(kernel);
  // Every upstream dialect and extension, once here rather than in each
  // forked child that compiles it.
  {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registerAllHAQADialects(registry);
    module.getContext()->appendDialectRegistry(registry);
  }
  // The parent process allocates the inputs, weights and reference output
  // before any child runs: a shape too large for memory is a refusal here,
  // not a bad_alloc that ends the parent.
  {
    uint64_t total = 0;
    bool overflow = false;
    auto add = [&](ShapedType t, uint64_t elemBytes) {
      uint64_t n = elemBytes;
      for (int64_t d : t.getShape())
        overflow |=
            d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n);
      overflow |= __builtin_add_overflow(total, n, &total);
    };
    for (Type t : func.getArgumentTypes())
      add(cast<ShapedType>(t), 8);
    for (Type t : func.getResultTypes())
      add(cast<ShapedType>(t), 8); // the reference's f32 copy too
    module.walk([&](WeightOp w) {
      add(RankedTensorType::get(w.getType().getShape(),
                                Float32Type::get(module.getContext())),
          4);
    });
    if (overflow || total > kMaxProblemBytes)
      return error(label + ": its inputs, weights and outputs need " +
                   (overflow ? std::string("more than 2^64 bytes")
                             : formatBytes(total)) +
                   ", more than the harness's bound of " +
                   formatBytes(kMaxProblemBytes));
  }
  KernelProblem p;
  p.module = module;
  p.flops = kernel.getFlops();
  p.bytes = kernel.getBytes(nullptr);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::vector<HostTensor> inputs;
  for (BlockArgument arg : func.getArguments()) {
    auto type = cast<RankedTensorType>(arg.getType());
    SmallVector<int64_t, 4> shape(type.getShape());
    int64_t n = type.getNumElements();
    Type elem = type.getElementType();
    if (auto i = dyn_cast<IntegerType>(elem);
        i && (i.getWidth() == 32 || i.getWidth() == 64)) {
      // Positions of a running generation, within every bound the kernel
      // sets on this operand.
      int64_t bound = std::numeric_limits<int64_t>::max();
      for (OpOperand &use : arg.getUses())
        if (use.getOwner() == kernel.getOperation())
          if (std::optional<int64_t> b =
                  kernel.getIndexBound(use.getOperandNumber()))
            bound = std::min(bound, *b);
      if (bound < 1)
        return error(label + ": no valid index for operand " +
                     llvm::Twine(arg.getArgNumber()));
      int64_t first = std::max<int64_t>(
          0, std::min(kRepresentativeContext, bound) - n);
      std::vector<int64_t> pos(n);
      std::vector<uint8_t> raw(n * i.getWidth() / 8);
      for (int64_t k = 0; k < n; ++k) {
        pos[k] = (first + k) % bound;
        if (i.getWidth() == 32) {
          int32_t v = static_cast<int32_t>(pos[k]);
          std::memcpy(&raw[4 * k], &v, 4);
        } else {
          std::memcpy(&raw[8 * k], &pos[k], 8);
        }
      }
      inputs.push_back(HostTensor::ints(shape, pos));
      p.inputBytes.push_back(std::move(raw));
    } else if (elem.isF32()) {
      HostTensor t = HostTensor::floats(shape);
      for (float &v : t.f)
        v = uni(rng);
      std::vector<uint8_t> raw(4 * n);
      std::memcpy(raw.data(), t.f.data(), raw.size());
      inputs.push_back(std::move(t));
      p.inputBytes.push_back(std::move(raw));
    } else {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << type;
      return error(label + ": unimplemented: " + s + " operands");
    }
    p.inputShapes.push_back(shape);
  }
  // Weights: random values stored as the module says, in memory.
  auto store = std::make_shared<WeightStore>();
  for (WeightOp w : getWeightArguments(func)) {
    WeightType type = w.getType();
    std::vector<float> values(type.getNumElements());
    bool norm = type.getShape().size() == 1;
    float wscale = 1.0f / std::sqrt(static_cast<float>(type.getShape().back()));
    for (float &v : values)
      v = norm ? 1.0f + 0.1f * uni(rng) : wscale * uni(rng);
    auto bytes =
        quantizeWeights(type.getQuant(), values, type.getShape().back());
    if (!bytes)
      return error(label + ": " + llvm::toString(bytes.takeError()));
    GGUFTensorLayout layout = getGGUFTensorLayout(type);
    p.weightShapes.push_back({static_cast<int64_t>(bytes->size())});
    p.weightBytes.push_back(*bytes);
    store->add(w.getName(), layout.shape, layout.ggmlType, std::move(*bytes));
  }
  bool int8Dot = false;
  func.walk([&](MatmulOp m) {
    StringRef gguf = m.getWeight().getType().getQuant().getGGUFName();
    int8Dot |= hasInt8DotKernels(gguf);
  });
  if (int8Dot) {
    ReferenceOptions ggml;
    ggml.activations = QuantizedActivations::GGML;
    ReferenceExecutor ref(module, *store, ggml);
    auto out = ref.run("kernel", inputs);
    if (!out)
      return error(label + ": " + llvm::toString(out.takeError()));
    p.referenceGGML = std::move(out->front().f);
  }
  ReferenceExecutor ref(module, *store);
  auto out = ref.run("kernel", std::move(inputs));
  if (!out)
    return error(label + ": " + llvm::toString(out.takeError()));
  p.outputShape = out->front().shape;
  p.reference = std::move(out->front().f);
  return p;
}

//===----------------------------------------------------------------------===//
// Measuring
//===----------------------------------------------------------------------===//

llvm::StringRef KernelMeasurement::getStatusName(Status s) {
  switch (s) {
  case OK:
    return "ok";
  case CompileError:
    return "compile-error";
  case Crashed:
    return "crashed";
  case TimedOut:
    return "timed-out";
  case WrongResult:
    return "wrong-result";
  case BadSpec:
    return "bad-spec";
  }
  return "?";
}

/// Compiles and runs the candidate `module` (and, when given, the default
/// schedule's `baseline`, timed in pairs with it): the body of the isolated
/// child. Returns a line-oriented report.
static std::string compileAndMeasure(ModuleOp module, ModuleOp baseline,
                                     const KernelProblem &p,
                                     const MeasureOptions &options) {
  std::ostringstream out;
  auto device = createDevice(options.target);
  if (!device) {
    out << "status crashed\nmessage " << llvm::toString(device.takeError())
        << "\n";
    return out.str();
  }
  // dot = i8 quantizes the activations as ggml does: checked against the
  // reference executor's ggml mode, to the same tolerance. (Compiling
  // lowers the module in place: look first.)
  bool int8Dot = hasInt8Dot(module);
  bool baselineInt8Dot = baseline && hasInt8Dot(baseline);
  auto exe = (*device)->compile(module);
  if (!exe) {
    out << "status compile-error\nmessage " << llvm::toString(exe.takeError())
        << "\n";
    return out.str();
  }
  std::unique_ptr<Executable> baselineExe;
  if (baseline) {
    auto b = (*device)->compile(baseline);
    if (!b) {
      out << "status crashed\nmessage the default schedule, timed beside it, "
             "does not compile: "
          << llvm::toString(b.takeError()) << "\n";
      return out.str();
    }
    baselineExe = std::move(*b);
  }
  std::vector<uint8_t> result(4 * p.reference.size());
  std::vector<std::vector<uint8_t>> inputs = p.inputBytes;
  std::vector<std::vector<uint8_t>> weights = p.weightBytes;
  // A result updated in place (kv_write's cache) is no out-parameter of
  // the lowered function: it is read from the argument it aliases.
  std::optional<size_t> aliased;
  if (Operation *fn = SymbolTable::lookupSymbolIn(module, "kernel"))
    if (auto a = fn->getAttrOfType<DenseI64ArrayAttr>(kAliasedResultsAttrName);
        a && !a.empty())
      aliased = static_cast<size_t>(a[0]);
  if (aliased && (*aliased >= inputs.size() ||
                  inputs[*aliased].size() != result.size())) {
    out << "status crashed\nmessage the kernel's result aliases argument "
        << *aliased << ", which is not a buffer of the result's size\n";
    return out.str();
  }
  std::vector<BufferRef> args;
  for (size_t i = 0; i < inputs.size(); ++i)
    args.push_back({inputs[i].data(), p.inputShapes[i]});
  for (size_t i = 0; i < weights.size(); ++i)
    args.push_back({weights[i].data(), p.weightShapes[i], /*elementBytes=*/1});
  if (!aliased)
    args.push_back({result.data(), p.outputShape});
  const float *got = reinterpret_cast<const float *>(
      aliased ? inputs[*aliased].data() : result.data());
  // Runs `x` once and compares its result with the reference: the error
  // report, or empty.
  auto check = [&](Executable &x, bool ggml, const std::string &who,
                   bool writeErrors) -> std::string {
    std::ostringstream r;
    if (llvm::Error e = x.run("kernel", args)) {
      r << "status crashed\nmessage " << who << llvm::toString(std::move(e))
        << "\n";
      return r.str();
    }
    const std::vector<float> &reference =
        ggml && !p.referenceGGML.empty() ? p.referenceGGML : p.reference;
    double maxAbs = 0, maxRef = 0;
    bool finite = true;
    for (size_t i = 0; i < reference.size(); ++i) {
      double ref = reference[i];
      if (!std::isfinite(got[i]))
        finite = false;
      maxAbs = std::max(maxAbs, std::fabs(got[i] - ref));
      maxRef = std::max(maxRef, std::fabs(ref));
    }
    if (writeErrors)
      out << "max_abs_error " << maxAbs << "\nmax_rel_error "
          << (maxRef > 0 ? maxAbs / maxRef : maxAbs) << "\n";
    if (!finite || maxAbs > options.tolerance * std::max(1.0, maxRef))
      r << "status wrong-result\nmessage " << who << "max abs error " << maxAbs
        << " against the reference (tolerance "
        << options.tolerance * std::max(1.0, maxRef) << ")\n";
    return r.str();
  };
  if (std::string bad = check(**exe, int8Dot, "", true); !bad.empty()) {
    out << bad;
    return out.str();
  }
  if (baselineExe) {
    if (std::string bad =
            check(*baselineExe, baselineInt8Dot,
                  "the default schedule, timed beside it: ", false);
        !bad.empty()) {
      // The candidate is fine; its yardstick is not: no speedup to give.
      out << "status crashed\n" << StringRef(bad).split('\n').second.str();
      return out.str();
    }
  }
  std::vector<uint64_t> evict;
  std::function<void()> beforeRun;
  if (options.evictBytes && options.target == CompileTarget::CPU) {
    evict.assign(options.evictBytes / sizeof(uint64_t), 1);
    beforeRun = [&evict] {
      uint64_t sum = 0;
      for (size_t i = 0; i < evict.size(); i += 8)
        sum += evict[i]++;
      asm volatile("" : : "r"(sum) : "memory");
    };
  }
  auto writeSamples = [&](const char *key, llvm::ArrayRef<double> samples) {
    out << key;
    for (double s : samples)
      out << " " << s;
    out << "\n";
  };
  if (baselineExe) {
    PairingOptions pairing;
    pairing.minPairs = options.minPairs;
    pairing.maxPairs = std::max(options.minPairs, options.timing.repeats);
    pairing.tolerance = options.pairTolerance;
    pairing.maxSeconds = options.timing.maxSeconds;
    pairing.beforeRun = beforeRun;
    auto paired = timePaired(**exe, *baselineExe, "kernel", args, pairing);
    if (!paired) {
      out << "status crashed\nmessage " << llvm::toString(paired.takeError())
          << "\n";
      return out.str();
    }
    out << "status ok\n";
    writeSamples("samples", paired->a.samplesMs);
    writeSamples("default_samples", paired->b.samplesMs);
    writeSamples("ratios", paired->ratios);
    return out.str();
  }
  TimingOptions timingOptions = options.timing;
  timingOptions.beforeRun = beforeRun;
  auto timing = (*exe)->time("kernel", args, timingOptions);
  if (!timing) {
    out << "status crashed\nmessage " << llvm::toString(timing.takeError())
        << "\n";
    return out.str();
  }
  out << "status ok\n";
  writeSamples("samples", timing->samplesMs);
  return out.str();
}

/// The child's report as a measurement.
static void readReport(llvm::StringRef report, KernelMeasurement &m) {
  std::vector<double> samples, defaultSamples, ratios;
  SmallVector<StringRef> lines;
  report.split(lines, '\n', -1, false);
  std::string status;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto [key, value] = lines[i].split(' ');
    if (key == "status") {
      status = value.str();
    } else if (key == "message") {
      // The message runs to the end of the report.
      std::string msg = value.str();
      for (size_t j = i + 1; j < lines.size(); ++j)
        msg += "\n" + lines[j].str();
      m.message = msg;
      break;
    } else if (key == "max_abs_error") {
      value.getAsDouble(m.maxAbsError);
    } else if (key == "max_rel_error") {
      value.getAsDouble(m.maxRelError);
    } else if (key == "samples" || key == "default_samples" ||
               key == "ratios") {
      std::vector<double> &into = key == "samples"           ? samples
                                  : key == "default_samples" ? defaultSamples
                                                             : ratios;
      SmallVector<StringRef> parts;
      value.split(parts, ' ', -1, false);
      for (StringRef s : parts) {
        double d;
        if (!s.getAsDouble(d))
          into.push_back(d);
      }
    }
  }
  if (status == "ok") {
    m.timing = TimingStats::of(samples);
    if (!ratios.empty()) {
      m.defaultTiming = TimingStats::of(defaultSamples);
      m.speedup = getMedianInterval(ratios);
    }
  } else if (status == "compile-error") {
    m.status = KernelMeasurement::CompileError;
  } else if (status == "wrong-result") {
    m.status = KernelMeasurement::WrongResult;
  } else {
    m.status = KernelMeasurement::Crashed;
    if (m.message.empty())
      m.message = "no report from the child";
  }
}

/// A copy of `source` whose kernel has `schedule` (null: the default
/// schedule of `options.target`, as a compiled model gets it); null, with
/// `m`'s status and message saying why, when the schedule does not fit.
static OwningOpRef<ModuleOp> withSchedule(ModuleOp source,
                                          ScheduleAttr schedule,
                                          const MeasureOptions &options,
                                          std::string &diagnostics,
                                          KernelMeasurement &m) {
  MLIRContext *ctx = source.getContext();
  OwningOpRef<ModuleOp> copy = source.clone();
  KernelOpInterface kernel = getKernelOp(*copy);
  diagnostics.clear();
  if (schedule) {
    if (failed(verifyKernelSchedule(kernel, schedule,
                                    [&] { return kernel->emitOpError(); }))) {
      m.status = KernelMeasurement::BadSpec;
      m.message = getKernelLabel(kernel) + ": " + printSchedule(schedule) +
                  " does not fit: " + diagnostics;
      return nullptr;
    }
    kernel.setSchedule(schedule);
    return copy;
  }
  PassManager pm(ctx);
  HAQADefaultSchedulePassOptions defaults;
  defaults.target =
      stringifyTargetKind(getCompileTargetInfo(options.target).scheduleKind)
          .str();
  // As a compiled model's default: int8 dots in the host's best
  // instruction set for quantized matmuls on the CPU.
  if (options.target == CompileTarget::CPU) {
    defaults.microKernels = "host";
    defaults.fuse = true;
    defaults.cpuThreads = options.cpuThreads;
  }
  pm.addPass(createHAQADefaultSchedulePass(defaults));
  if (failed(pm.run(*copy))) {
    m.status = KernelMeasurement::BadSpec;
    m.message = "default schedule failed: " + diagnostics;
    return nullptr;
  }
  return copy;
}

KernelMeasurement mlir::haqa::measureKernel(const KernelProblem &problem,
                                            ScheduleAttr schedule,
                                            const MeasureOptions &options) {
  KernelMeasurement m;
  m.flops = problem.flops;
  m.bytes = problem.bytes;
  // Options the tools check first; a library caller gets a refusal, never
  // a 0 ms "ok" or a time-out that never waited.
  if (options.timing.repeats < 1 || !std::isfinite(options.timeoutSeconds) ||
      options.timeoutSeconds <= 0) {
    m.status = KernelMeasurement::BadSpec;
    m.message = "measure options: repeats must be at least 1 and the "
                "time-out a positive number of seconds";
    return m;
  }
  ModuleOp source = problem.module;
  MLIRContext *ctx = source.getContext();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.str() << "\n";
    return success();
  });
  // The candidate: a copy of the kernel module with the schedule.
  OwningOpRef<ModuleOp> candidate =
      withSchedule(source, schedule, options, diagnostics, m);
  if (!candidate)
    return m;
  if (ScheduleAttr s = getKernelOp(*candidate).getSchedule())
    m.schedule = printSchedule(s);
  // Its yardstick: the default schedule, unless that is what it is (a
  // re-proposed default is the default: no speedup to measure).
  OwningOpRef<ModuleOp> baseline;
  if (options.pairWithDefault) {
    KernelMeasurement b;
    baseline = withSchedule(source, nullptr, options, diagnostics, b);
    if (!baseline) {
      m.status = b.status;
      m.message = b.message;
      return m;
    }
    ScheduleAttr d = getKernelOp(*baseline).getSchedule();
    if (d && printSchedule(d) == m.schedule)
      baseline = nullptr;
  }
  std::string report;
  if (options.isolate) {
    // A forked child has none of this process's threads.
    if (ctx->isMultithreadingEnabled())
      ctx->disableMultithreading();
    auto r = runIsolated(
        [&] {
          return compileAndMeasure(
              *candidate, baseline ? *baseline : ModuleOp(), problem, options);
        },
        options.timeoutSeconds);
    if (!r) {
      m.status = KernelMeasurement::Crashed;
      m.message = llvm::toString(r.takeError());
      return m;
    }
    if (r->kind != IsolatedResult::Finished) {
      m.status = r->kind == IsolatedResult::TimedOut
                     ? KernelMeasurement::TimedOut
                     : KernelMeasurement::Crashed;
      m.message = r->reason;
      // The child's stack trace belongs to this trial's record, not to the
      // tool's stderr.
      if (!StringRef(r->childStderr).trim().empty())
        m.message +=
            "; the child's stderr: " + StringRef(r->childStderr).trim().str();
      return m;
    }
    report = r->output;
  } else {
    report = compileAndMeasure(*candidate, baseline ? *baseline : ModuleOp(),
                               problem, options);
  }
  readReport(report, m);
  if (m.status == KernelMeasurement::OK && options.pairWithDefault &&
      !baseline) {
    m.defaultTiming = m.timing;
    m.speedup.median = m.speedup.lo = m.speedup.hi = 1;
  }
  return m;
}
