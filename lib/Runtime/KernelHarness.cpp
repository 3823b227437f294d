//===- KernelHarness.cpp - measure one kernel under one schedule -*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Runtime/KernelHarness.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Import/GGUFWriter.h"
#include "haqa/Import/LlamaModel.h"
#include "haqa/Import/Quantize.h"
#include "haqa/InitAllDialects.h"
#include "haqa/Reference/Executor.h"
#include "haqa/Runtime/CPUDevice.h"
#include "haqa/Runtime/CUDADevice.h"
#include "haqa/Runtime/Isolate.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <random>
#include <sstream>

using namespace mlir;
using namespace mlir::haqa;

std::string KernelSpec::getLabel() const {
  std::string s = kernel + " [";
  for (size_t i = 0; i < ne.size(); ++i)
    s += (i ? "," : "") + std::to_string(ne[i]);
  s += "]";
  if (kernel == "matmul")
    s += " " + weights;
  return s;
}

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

llvm::Expected<std::string>
mlir::haqa::scheduleTextFromJSON(const llvm::json::Object &obj) {
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  static const char *order[] = {
      "tile",        "order",     "unroll",   "vector", "threads", "grid",
      "cpu_threads", "placement", "prefetch", "layout", "mma"};
  for (const auto &kv : obj)
    if (!llvm::is_contained(order, kv.first.str()))
      return fail("unknown field '" + kv.first.str() + "'");
  std::string out = "#haqa.schedule<";
  bool first = true;
  for (const char *key : order) {
    const llvm::json::Value *v = obj.get(key);
    if (!v)
      continue;
    out += (first ? "" : ", ") + std::string(key) + " = ";
    first = false;
    if (const llvm::json::Array *a = v->getAsArray()) {
      out += "[";
      for (size_t i = 0; i < a->size(); ++i) {
        if (i)
          out += ", ";
        if (auto n = (*a)[i].getAsInteger())
          out += std::to_string(*n);
        else if (auto s = (*a)[i].getAsString())
          out += s->str();
        else
          return fail(llvm::Twine("bad entry in '") + key + "'");
      }
      out += "]";
    } else if (auto n = v->getAsInteger()) {
      out += std::to_string(*n);
    } else {
      return fail(llvm::Twine("bad value of '") + key + "'");
    }
  }
  return out + ">";
}

llvm::Expected<std::string> mlir::haqa::buildKernelModule(const KernelSpec &s) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   (s.getLabel() + ": " + msg).str());
  };
  if (s.ne.size() != 3 || llvm::any_of(s.ne, [](int64_t d) { return d < 1; }))
    return fail("expected three positive sizes in ggml order");
  int64_t a = s.ne[0], b = s.ne[1], c = s.ne[2];
  std::string attrs = s.schedule.empty() ? "" : "schedule = " + s.schedule;
  auto dict = [&](std::string extra) {
    if (!attrs.empty())
      extra += (extra.empty() ? "" : ", ") + attrs;
    return extra.empty() ? std::string() : " {" + extra + "}";
  };
  std::string t2 = llvm::formatv("tensor<{0}x{1}xf32>", b, a).str();
  if (s.kernel == "silu")
    return llvm::formatv("func.func @kernel(%x: {0}) -> {0} {\n"
                         "  %y = haqa.silu %x{1} : {0}\n"
                         "  return %y : {0}\n}\n",
                         t2, dict(""))
        .str();
  if (s.kernel == "swiglu" || s.kernel == "add" || s.kernel == "mul")
    return llvm::formatv("func.func @kernel(%a: {0}, %b: {0}) -> {0} {\n"
                         "  %y = haqa.{2} %a, %b{1} : {0}\n"
                         "  return %y : {0}\n}\n",
                         t2, dict(""), s.kernel)
        .str();
  if (s.kernel == "softmax") {
    std::string t3 = llvm::formatv("tensor<{0}x{1}x{2}xf32>", c, b, a).str();
    return llvm::formatv("func.func @kernel(%x: {0}) -> {0} {\n"
                         "  %y = haqa.softmax %x{1} : {0}\n"
                         "  return %y : {0}\n}\n",
                         t3, dict(""))
        .str();
  }
  if (s.kernel == "rms_norm")
    return llvm::formatv(
               "func.func @kernel(%x: {0}) -> {0} {\n"
               "  %w = haqa.weight \"norm\" : !haqa.weight<{2}, "
               "#haqa.quant<f32>>\n"
               "  %y = haqa.rms_norm %x, %w{1} : {0}, !haqa.weight<{2}, "
               "#haqa.quant<f32>> -> {0}\n"
               "  return %y : {0}\n}\n",
               t2, dict("epsilon = 1.0e-05 : f32"), a)
        .str();
  if (s.kernel == "rope") {
    std::string t3 = llvm::formatv("tensor<{0}x{1}x{2}xf32>", b, c, a).str();
    return llvm::formatv(
               "func.func @kernel(%x: {0}, %p: tensor<{2}xi32>) -> {0} {\n"
               "  %y = haqa.rope %x, %p{1} : {0}, tensor<{2}xi32> -> {0}\n"
               "  return %y : {0}\n}\n",
               t3, dict("theta = 1.0e+04 : f32"), b)
        .str();
  }
  if (s.kernel == "matmul") {
    std::string w = llvm::formatv("!haqa.weight<{0}x{1}, #haqa.quant<{2}>>", c,
                                  a, s.weights)
                        .str();
    std::string out = llvm::formatv("tensor<{0}x{1}xf32>", b, c).str();
    return llvm::formatv("func.func @kernel(%x: {0}) -> {3} {\n"
                         "  %w = haqa.weight \"w\" : {2}\n"
                         "  %y = haqa.matmul %x, %w{1} : {0}, {2} -> {3}\n"
                         "  return %y : {3}\n}\n",
                         t2, dict(""), w, out)
        .str();
  }
  return fail("unknown kernel '" + s.kernel +
              "' (softmax, silu, swiglu, add, mul, rms_norm, rope, matmul)");
}

namespace {

void registerEverything(MLIRContext &ctx) {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllHAQADialects(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
}

/// Inputs, weights and the reference output of one kernel.
struct Problem {
  std::vector<HostTensor> inputs;
  /// Raw argument data for the compiled function: one per input, then one
  /// per weight (stored bytes), then the output.
  std::vector<std::vector<uint8_t>> inputBytes;
  std::vector<std::vector<uint8_t>> weightBytes;
  std::vector<SmallVector<int64_t, 4>> inputShapes, weightShapes;
  HostTensor reference;
  std::string scheduleText;
  uint64_t flops = 0, bytes = 0;
};

llvm::Expected<Problem> prepare(const KernelSpec &spec, MLIRContext &ctx,
                                StringRef tmpDir, StringRef target,
                                std::string &moduleText) {
  auto text = buildKernelModule(spec);
  if (!text)
    return text.takeError();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(*text, ParserConfig(&ctx));
  if (!module)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   spec.getLabel() +
                                       ": the kernel module does not parse "
                                       "(bad schedule?)");
  if (spec.schedule.empty()) {
    PassManager pm(&ctx);
    HAQADefaultSchedulePassOptions defaults;
    defaults.target = target.str();
    pm.addPass(createHAQADefaultSchedulePass(defaults));
    if (failed(pm.run(*module)))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "default schedule failed");
  }
  Problem p;
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  auto func = module->lookupSymbol<func::FuncOp>("kernel");
  func.walk([&](KernelOpInterface k) {
    p.flops = k.getFlops();
    p.bytes = k.getBytes(nullptr);
    if (auto sched = k->getAttrOfType<ScheduleAttr>("schedule")) {
      llvm::raw_string_ostream os(p.scheduleText);
      os << Attribute(sched);
    }
  });
  float scale = spec.kernel == "softmax" ? 5.0f : 1.0f;
  for (BlockArgument arg : func.getArguments()) {
    auto type = cast<RankedTensorType>(arg.getType());
    SmallVector<int64_t, 4> shape(type.getShape());
    int64_t n = type.getNumElements();
    if (type.getElementType().isInteger(32)) {
      std::vector<int64_t> pos(n);
      std::vector<uint8_t> raw(4 * n);
      for (int64_t i = 0; i < n; ++i) {
        pos[i] = 7 + 3 * i; // positions of a running generation
        int32_t v = static_cast<int32_t>(pos[i]);
        std::memcpy(&raw[4 * i], &v, 4);
      }
      p.inputs.push_back(HostTensor::ints(shape, pos));
      p.inputBytes.push_back(std::move(raw));
    } else {
      HostTensor t = HostTensor::floats(shape);
      for (float &v : t.f)
        v = scale * uni(rng);
      std::vector<uint8_t> raw(4 * n);
      std::memcpy(raw.data(), t.f.data(), raw.size());
      p.inputs.push_back(std::move(t));
      p.inputBytes.push_back(std::move(raw));
    }
    p.inputShapes.push_back(shape);
  }
  // Weights: random values stored as the module says, in a GGUF file the
  // reference executor reads.
  GGUFWriter writer;
  SmallVector<WeightOp> weights;
  func.walk([&](WeightOp w) { weights.push_back(w); });
  for (WeightOp w : weights) {
    WeightType type = w.getType();
    std::vector<float> values(type.getNumElements());
    bool norm = type.getShape().size() == 1;
    float wscale = 1.0f / std::sqrt(static_cast<float>(type.getShape().back()));
    for (float &v : values)
      v = norm ? 1.0f + 0.1f * uni(rng) : wscale * uni(rng);
    auto bytes =
        quantizeWeights(type.getQuant(), values, type.getShape().back());
    if (!bytes)
      return bytes.takeError();
    std::optional<uint32_t> ggml = getGGMLTypeForQuant(type.getQuant());
    if (!ggml)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "no GGUF type for the weight storage");
    writer.addTensor(w.getName(), type.getShape(), *ggml, *bytes);
    p.weightBytes.push_back(std::move(*bytes));
    p.weightShapes.push_back(
        {static_cast<int64_t>(p.weightBytes.back().size())});
  }
  SmallString<128> path(tmpDir);
  llvm::sys::path::append(path, "weights.gguf");
  if (llvm::Error e = writer.write(path))
    return std::move(e);
  auto store = WeightStore::open(path);
  if (!store)
    return store.takeError();
  ReferenceExecutor ref(*module, **store);
  auto out = ref.run("kernel", p.inputs);
  if (!out)
    return out.takeError();
  p.reference = std::move(out->front());
  llvm::raw_string_ostream os(moduleText);
  module->print(os);
  return p;
}

/// Compiles and runs the candidate: the body of the isolated child. Returns
/// a line-oriented report.
std::string compileAndMeasure(const std::string &moduleText, const Problem &p,
                              const MeasureOptions &options) {
  MLIRContext ctx(MLIRContext::Threading::DISABLED);
  registerEverything(ctx);
  std::ostringstream out;
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(moduleText, ParserConfig(&ctx));
  std::unique_ptr<Device> device;
  if (options.target == "cuda") {
    auto cuda = CUDADevice::create();
    if (!cuda) {
      out << "status crashed\nmessage no CUDA device: "
          << llvm::toString(cuda.takeError()) << "\n";
      return out.str();
    }
    device = std::move(*cuda);
  } else {
    device = std::make_unique<CPUDevice>(options.target == "gpu-on-cpu");
  }
  auto exe = device->compile(*module);
  if (!exe) {
    out << "status compile-error\nmessage " << llvm::toString(exe.takeError())
        << "\n";
    return out.str();
  }
  std::vector<uint8_t> result(4 * p.reference.numElements());
  std::vector<std::vector<uint8_t>> inputs = p.inputBytes;
  std::vector<std::vector<uint8_t>> weights = p.weightBytes;
  std::vector<BufferRef> args;
  for (size_t i = 0; i < inputs.size(); ++i)
    args.push_back({inputs[i].data(), p.inputShapes[i]});
  for (size_t i = 0; i < weights.size(); ++i)
    args.push_back({weights[i].data(), p.weightShapes[i], /*elementBytes=*/1});
  args.push_back({result.data(), p.reference.shape});
  if (llvm::Error e = (*exe)->run("kernel", args)) {
    out << "status crashed\nmessage " << llvm::toString(std::move(e)) << "\n";
    return out.str();
  }
  const float *got = reinterpret_cast<const float *>(result.data());
  double maxAbs = 0, maxRef = 0;
  bool finite = true;
  for (int64_t i = 0; i < p.reference.numElements(); ++i) {
    double r = p.reference.f[i];
    if (!std::isfinite(got[i]))
      finite = false;
    maxAbs = std::max(maxAbs, std::fabs(got[i] - r));
    maxRef = std::max(maxRef, std::fabs(r));
  }
  out << "max_abs_error " << maxAbs << "\nmax_rel_error "
      << (maxRef > 0 ? maxAbs / maxRef : maxAbs) << "\n";
  if (!finite || maxAbs > options.tolerance * std::max(1.0, maxRef)) {
    out << "status wrong-result\nmessage max abs error " << maxAbs
        << " against the reference (tolerance "
        << options.tolerance * std::max(1.0, maxRef) << ")\n";
    return out.str();
  }
  auto timing = (*exe)->time("kernel", args, options.timing);
  if (!timing) {
    out << "status crashed\nmessage " << llvm::toString(timing.takeError())
        << "\n";
    return out.str();
  }
  out << "status ok\nsamples";
  for (double s : timing->samplesMs)
    out << " " << s;
  out << "\n";
  return out.str();
}

} // namespace

KernelMeasurement
mlir::haqa::measureKernelOnCPU(const KernelSpec &spec,
                               MeasureOptions options) {
  options.target = "cpu";
  return measureKernel(spec, options);
}

KernelMeasurement mlir::haqa::measureKernel(const KernelSpec &spec,
                                            const MeasureOptions &options) {
  KernelMeasurement m;
  if (options.target != "cpu" && options.target != "cuda" &&
      options.target != "gpu-on-cpu") {
    m.status = KernelMeasurement::BadSpec;
    m.message = "unknown target '" + options.target +
                "' (cpu, cuda or gpu-on-cpu)";
    return m;
  }
  MLIRContext ctx(MLIRContext::Threading::DISABLED);
  registerEverything(ctx);
  SmallString<128> tmpDir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("haqa-kernel", tmpDir)) {
    m.status = KernelMeasurement::BadSpec;
    m.message = "cannot create a temporary directory: " + ec.message();
    return m;
  }
  std::string moduleText;
  // gpu-on-cpu checks the CUDA schedules.
  auto problem = prepare(spec, ctx, tmpDir,
                         options.target == "gpu-on-cpu" ? "cuda"
                                                        : options.target,
                         moduleText);
  llvm::sys::fs::remove_directories(tmpDir);
  if (!problem) {
    m.status = KernelMeasurement::BadSpec;
    m.message = llvm::toString(problem.takeError());
    return m;
  }
  m.schedule = problem->scheduleText;
  m.flops = problem->flops;
  m.bytes = problem->bytes;
  std::string report;
  if (options.isolate) {
    auto r = runIsolated(
        [&] { return compileAndMeasure(moduleText, *problem, options); },
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
      return m;
    }
    report = r->output;
  } else {
    report = compileAndMeasure(moduleText, *problem, options);
  }
  // Parse the child's report.
  std::vector<double> samples;
  SmallVector<StringRef> lines;
  StringRef(report).split(lines, '\n', -1, false);
  std::string status;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto [key, value] = lines[i].split(' ');
    if (key == "status")
      status = value.str();
    else if (key == "message") {
      // The message runs to the end of the report.
      std::string msg = value.str();
      for (size_t j = i + 1; j < lines.size(); ++j)
        msg += "\n" + lines[j].str();
      m.message = msg;
      break;
    } else if (key == "max_abs_error")
      value.getAsDouble(m.maxAbsError);
    else if (key == "max_rel_error")
      value.getAsDouble(m.maxRelError);
    else if (key == "samples") {
      SmallVector<StringRef> parts;
      value.split(parts, ' ', -1, false);
      for (StringRef s : parts) {
        double d;
        if (!s.getAsDouble(d))
          samples.push_back(d);
      }
    }
  }
  if (status == "ok") {
    m.timing = TimingStats::of(samples);
  } else if (status == "compile-error") {
    m.status = KernelMeasurement::CompileError;
  } else if (status == "wrong-result") {
    m.status = KernelMeasurement::WrongResult;
  } else {
    m.status = KernelMeasurement::Crashed;
    if (m.message.empty())
      m.message = "no report from the child";
  }
  return m;
}
