//===- SearchSpace.cpp - the legal #haqa.schedule values of a kernel ------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/SearchSpace.h"

#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::haqa;
using llvm::StringRef;

static constexpr int64_t kDynamic = std::numeric_limits<int64_t>::min();

/// Powers of two from `lo` up to `cap`, within `extent` (and `extent` itself
/// when it is not a power of two but fits under `cap`).
static std::vector<int64_t> powersOfTwo(int64_t lo, int64_t cap,
                                        int64_t extent) {
  std::vector<int64_t> v;
  int64_t top = extent == kDynamic || extent <= 0 ? cap : std::min(cap, extent);
  for (int64_t p = lo; p <= top; p *= 2)
    v.push_back(p);
  if (extent != kDynamic && extent > 0 && extent <= cap &&
      !llvm::is_contained(v, extent))
    v.push_back(extent);
  if (v.empty())
    v.push_back(std::max<int64_t>(1, top));
  llvm::sort(v);
  return v;
}

/// The member of `values` closest to `x` on a log scale.
static int64_t snap(const std::vector<int64_t> &values, int64_t x) {
  int64_t best = values.front();
  double bestD = INFINITY;
  for (int64_t v : values) {
    double d = std::fabs(std::log2(std::max<double>(v, 0.5)) -
                         std::log2(std::max<double>(x, 0.5)));
    if (d < bestD) {
      bestD = d;
      best = v;
    }
  }
  return best;
}

static const char *memSpaceNames[] = {"global", "shared"};
static const char *dotNames[] = {"f32", "i8", "fma"};
static const char *expNames[] = {"libm", "poly", "fast"};
static const char *attnNames[] = {"generic", "fused"};

/// The micro-kernel instruction sets, in CPUISA order.
static const char *isaNames[] = {"scalar", "avx2", "avx_vnni", "avx512_vnni"};


int SearchSpace::indexOf(StringRef name) const {
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].name == name)
      return static_cast<int>(i);
  return -1;
}

SearchSpace SearchSpace::get(const KernelInfo &kernel,
                             const HardwareProfile &profile,
                             ScheduleAttr defaultSchedule) {
  SearchSpace s;
  s.ctx = defaultSchedule.getContext();
  llvm::json::Object def = scheduleToJSON(defaultSchedule);
  s.kernel = kernel;
  s.profile = profile;
  size_t rank = kernel.dims.size();
  bool cpu = profile.kind == TargetKind::CPU;
  TargetLimits limits = profile.getLimits();

  auto defaultOf = [&](StringRef field, size_t i, int64_t fallback) {
    const llvm::json::Value *v = def.get(field);
    if (!v)
      return fallback;
    if (auto n = v->getAsInteger())
      return *n;
    if (const llvm::json::Array *a = v->getAsArray())
      if (i < a->size())
        if (auto n = (*a)[i].getAsInteger())
          return *n;
    return fallback;
  };
  auto add = [&](std::string name, std::string desc,
                 std::vector<int64_t> values, int64_t def) {
    Parameter p{std::move(name), std::move(desc), std::move(values), 0};
    p.defaultValue = snap(p.values, def);
    s.params.push_back(std::move(p));
  };

  // Tiles: 1..256 per dimension (the paper's 8..256, down to 1 for the
  // short outer dimensions of decode), up to 1024 along the innermost, and
  // the whole innermost extent (no tiling: a matmul's whole reduction).
  for (size_t i = 0; i < rank; ++i) {
    int64_t extent = kernel.dims[i];
    bool last = i + 1 == rank;
    std::vector<int64_t> values = powersOfTwo(1, last ? 1024 : 256, extent);
    if (last && extent != kDynamic && !llvm::is_contained(values, extent))
      values.push_back(extent);
    add(llvm::formatv("tile[{0}]", i).str(),
        llvm::formatv("tile size of iteration dimension {0} (extent {1})", i,
                      extent == kDynamic ? std::string("dynamic")
                                         : std::to_string(extent))
            .str(),
        std::move(values), defaultOf("tile", i, last ? 256 : 1));
  }
  // Loop orders: every permutation of the dimensions (six for three).
  std::vector<int64_t> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  do
    s.orders.push_back(perm);
  while (std::next_permutation(perm.begin(), perm.end()));
  std::vector<int64_t> orderIdx(s.orders.size());
  std::iota(orderIdx.begin(), orderIdx.end(), 0);
  int64_t defaultOrder = 0;
  if (const llvm::json::Array *a = def.getArray("order")) {
    std::vector<int64_t> o;
    for (const llvm::json::Value &v : *a)
      o.push_back(v.getAsInteger().value_or(-1));
    for (size_t i = 0; i < s.orders.size(); ++i)
      if (s.orders[i] == o)
        defaultOrder = i;
  }
  add("order", "loop nest order, outermost first (index into the orders)",
      orderIdx, defaultOrder);
  add("unroll", "unroll factor of the innermost loop", {1, 2, 4, 8},
      defaultOf("unroll", 0, 1));

  if (cpu) {
    std::vector<int64_t> lanes = {1, 4, 8, 16};
    if (profile.vectorBits >= 512)
      lanes.push_back(32);
    add("vector", "SIMD lanes of the innermost loop (1: scalar)", lanes,
        defaultOf("vector", 0, limits.vectorLanes));
    add("cpu_threads", "host threads",
        powersOfTwo(1, std::max<int64_t>(1, profile.computeUnits),
                    profile.computeUnits),
        defaultOf("cpu_threads", 0, profile.computeUnits));
    if (!kernel.weights.empty())
      add("prefetch", "software prefetch distance of the weight, in tiles",
          {0, 1, 2, 4, 8, 16}, defaultOf("prefetch", 0, 0));
    if (kernel.kernel == "softmax" || kernel.kernel == "silu" ||
        kernel.kernel == "swiglu" || kernel.kernel == "attention" ||
        kernel.kernel == "rope") {
      int64_t defExp = 1;
      if (std::optional<StringRef> d = def.getString("exp"))
        defExp = *d == "fast" ? 2 : *d == "poly" ? 1 : 0;
      add("exp",
          "exponentials (a rope's sines and cosines): 0 libm (expf / sinf / "
          "cosf calls, one element at a time), 1 poly (MLIR's polynomial "
          "approximation, vectorized with the loop), 2 fast (a shorter "
          "polynomial for exp, about 17 operations against poly's 25; sines "
          "and cosines as poly)",
          {0, 1, 2}, defExp);
    }
    // The micro-kernels' instruction sets this host has; the starting point
    // is the best unless the default schedule names another.
    std::vector<int64_t> isas;
    for (int64_t i = 0; i < 4; ++i)
      if (getMissingCPUFeature(isaNames[i], profile.features).empty())
        isas.push_back(i);
    int64_t defIsa = isas.back();
    if (std::optional<StringRef> d = def.getString("isa"))
      for (int64_t i : isas)
        if (*d == isaNames[i])
          defIsa = i;
    auto addISA = [&](StringRef what) {
      std::string isaDesc =
          ("instruction set of the " + what + " micro-kernel:").str();
      for (int64_t i : isas)
        isaDesc += llvm::formatv(" {0} {1},", i, isaNames[i]).str();
      isaDesc.pop_back();
      add("isa", isaDesc + " (only those this host has)", isas, defIsa);
    };
    if (kernel.kernel == "attention") {
      // Fused wherever the host has a vector instruction set, unless the
      // default schedule says otherwise.
      int64_t defAttn = isas.back() > 0;
      if (std::optional<StringRef> d = def.getString("attn"))
        defAttn = *d == "fused";
      add("attn",
          "attention: 0 generic (linalg loops that tile, order, vector, "
          "unroll and exp shape), 1 fused (one micro-kernel per piece of the "
          "(token, query head) units: scores, softmax with its own vector "
          "exp, P V; the loop fields and exp then do not apply)",
          {0, 1}, defAttn);
      addISA("attn = fused");
    }
    // Matmuls as micro-kernels, in an instruction set this host has: int8
    // block dot products on quantized activations (Q8_0 / Q4_0 / Q4_1
    // weights), f32 multiply-adds on F16 / BF16 weights converted in registers.
    bool int8 = hasInt8DotKernels(kernel.weights);
    if (kernel.kernel == "matmul" &&
        (int8 || hasFMADotKernels(kernel.weights))) {
      // The starting point: the micro-kernel wherever the host has a vector
      // instruction set for it (as ggml does on every CPU), unless the
      // default schedule says otherwise.
      int64_t uk = int8 ? 1 : 2;
      int64_t defDot = isas.back() > 0 ? uk : 0;
      if (std::optional<StringRef> d = def.getString("dot"))
        defDot = *d == dotNames[uk] ? uk : 0;
      std::string name = (llvm::Twine("dot = ") + dotNames[uk]).str();
      add("dot",
          int8 ? "matmul arithmetic: 0 f32 (weights widened to f32 in "
                 "registers by generated loops), 1 i8 (activation rows "
                 "quantized to Q8 blocks once, int8 block dot products by a "
                 "micro-kernel; tile, order, vector, unroll and prefetch "
                 "then do not apply)"
               : "matmul arithmetic: 0 f32 (weights widened to f32 in "
                 "registers by generated loops), 2 fma (F16 or BF16 weights "
                 "converted in registers, f32 multiply-adds by a "
                 "micro-kernel; tile, order, vector, unroll and prefetch "
                 "then do not apply)",
          {0, uk}, defDot);
      addISA(name);
      bool decode = kernel.dims[0] == 1;
      // One activation row (decode): mr > 1 is the same kernel as mr = 1.
      add("micro[0]",
          name + " register block: activation rows computed together",
          decode ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 2, 4},
          defaultOf("micro", 0, decode ? 1 : 4));
      // 16: packed panels of the AVX-512 VNNI int8 dots.
      bool panels = int8 && isas.back() == 3;
      add("micro[1]",
          name + " register block: weight rows computed together (each "
                 "activation vector loaded once for them)" +
              (panels ? "; 16: panels of 16 weight rows packed once per "
                        "call, every activation row block run over them "
                        "(isa = 3 avx512_vnni only; pays with many rows)"
                      : ""),
          panels ? std::vector<int64_t>{1, 2, 4, 16}
                 : std::vector<int64_t>{1, 2, 4},
          // As getMicroKernelDotSchedule: panels at many rows.
          defaultOf("micro", 1, panels && !decode ? 16 : 4));
      // Fusion changes which ops a kernel holds, so the kernel timed alone
      // (it has no neighbours) cannot rank it: the compile session's
      // measure phase decides it on the whole model, and the per-kernel
      // search keeps the default's value.
      // As the compiled model's default schedules (CompiledModelOptions::
      // fuse): fused wherever the micro-kernel is the default, unless the
      // default schedule given says otherwise.
      const llvm::json::Array *fuse = def.getArray("fuse");
      int64_t defFuse = def.get("dot") ? fuse && !fuse->empty() : defDot != 0;
      add("fuse",
          name + ": 1 fuse = [norm, swiglu, residual] (the rms_norm before "
                 "the matmul, the swiglu of which it is the up branch and "
                 "the residual add after it computed in its kernel: no "
                 "kernel call, thread fork / join or buffer of their own), "
                 "0 none; decided on the whole model by the measure phase "
                 "(a kernel timed alone has no neighbours), fixed here",
          {defFuse}, defFuse);
    }
  } else {
    add("vector", "elements per vector load (4: 128-bit f32)", {1, 2, 4, 8},
        defaultOf("vector", 0, limits.vectorLanes));
    std::vector<int64_t> threads;
    for (int64_t t = limits.subgroupSize; t <= limits.maxThreadsPerBlock;
         t *= 2)
      threads.push_back(t);
    add("threads", "threads per block / workgroup (x)", threads,
        defaultOf("threads", 0, limits.preferredThreadsPerBlock));
    int64_t defPlacement = 0;
    const llvm::json::Array *defaults = def.getArray("placement");
    if (defaults && !defaults->empty() &&
        (*defaults)[0].getAsString() == StringRef("shared"))
      defPlacement = 1;
    for (unsigned i = 1; i < kernel.numOperands; ++i) {
      std::optional<StringRef> d;
      if (defaults && defaults->size() == kernel.numOperands)
        d = (*defaults)[i].getAsString();
      s.otherPlacements.push_back(d ? d->str() : "global");
    }
    add("placement[0]",
        "where the first input is staged: 0 global, 1 shared memory", {0, 1},
        defPlacement);
    // Tensor cores for matmuls they can tile (N a multiple of 16, K of 32).
    // (schedule_c24: not with K-quant weights.)
    if (kernel.kernel == "matmul" && limits.tensorCores && rank == 3 &&
        kernel.weights != "q4_k" && kernel.weights != "q6_k" &&
        chooseMmaTiles(std::max<int64_t>(0, kernel.dims[0]), kernel.dims[1],
                       kernel.dims[2], 0, 0, 0, limits.subgroupSize))
      add("mma",
          "1: tensor cores (16x16x16 f16 fragments, f32 sums; tiles rounded "
          "to 16 x 16 x 32 multiples, both operands staged in shared "
          "memory), 0: CUDA cores",
          {0, 1}, defaultOf("mma", 0, 0));
  }
  for (const Parameter &p : s.params)
    s.defaultConfig.push_back(p.defaultValue);
  if (!cpu)
    s.gpuDefault = defaultSchedule;
  return s;
}

double SearchSpace::getSize() const {
  double n = 1;
  for (const Parameter &p : params)
    n *= p.values.size();
  return n;
}

llvm::Error SearchSpace::check(const Config &c) const {
  if (c.size() != params.size())
    return llvm::createStringError(
        llvm::formatv("expected {0} values, got {1}", params.size(), c.size()));
  for (size_t i = 0; i < params.size(); ++i)
    if (!llvm::is_contained(params[i].values, c[i]))
      return llvm::createStringError(llvm::formatv(
          "{0} = {1} is not one of {2}", params[i].name, c[i],
          llvm::join(
              llvm::map_range(params[i].values,
                              [](int64_t v) { return std::to_string(v); }),
              ", ")));
  if (profile.kind == TargetKind::CPU) {
    // schedule_c22: packed panels only in the AVX-512 VNNI int8 dots.
    int nr = indexOf("micro[1]"), dot = indexOf("dot"), isa = indexOf("isa");
    if (nr >= 0 && c[nr] == 16 && dot >= 0 && c[dot] == 1 && isa >= 0 &&
        c[isa] != 3)
      return llvm::createStringError(llvm::formatv(
          "micro[1] = 16 (packed panels) needs isa = avx512_vnni, got {0}",
          c[isa] >= 0 && c[isa] < 4 ? isaNames[c[isa]] : "?"));
    return llvm::Error::success();
  }
  TargetLimits limits = profile.getLimits();
  int64_t threads = c[indexOf("threads")];
  if (threads > limits.maxThreadsPerBlock)
    return llvm::createStringError(
        llvm::formatv("threads = {0} exceeds {1}'s {2} threads per "
                      "block",
                      threads, profile.name, limits.maxThreadsPerBlock));
  if (int i = indexOf("mma"); i >= 0 && c[i] == 1) {
    std::string why;
    std::optional<MmaTiles> t =
        chooseMmaTiles(std::max<int64_t>(0, kernel.dims[0]), kernel.dims[1],
                       kernel.dims[2], c[0], c[1], c[2], threads, &why);
    if (!t)
      return llvm::createStringError(why);
    if (threads < limits.subgroupSize)
      return llvm::createStringError(llvm::formatv(
          "mma = 1 needs at least one warp ({0} threads) per block, got {1}",
          limits.subgroupSize, threads));
    if (t->sharedBytes > limits.sharedMemoryBytes)
      return llvm::createStringError(llvm::formatv(
          "mma = 1 with tiles {0}x{1}x{2} needs {3} bytes of shared memory "
          "per block, {4} has {5}",
          t->bm, t->bn, t->bk, t->sharedBytes, profile.name,
          limits.sharedMemoryBytes));
    return llvm::Error::success();
  }
  if (c[indexOf("placement[0]")] == 1) {
    // The staged input tile: every tiled dimension of the first input; f32.
    int64_t bytes = 4;
    for (size_t i = 0; i < kernel.dims.size(); ++i)
      if (!(kernel.kernel == "matmul" && i == 1))
        bytes *= c[i];
    if (bytes > limits.sharedMemoryBytes)
      return llvm::createStringError(llvm::formatv(
          "placement[0] = shared needs {0} bytes of shared memory per block "
          "for the tile, {1} has {2}",
          bytes, profile.name, limits.sharedMemoryBytes));
  }
  return llvm::Error::success();
}

llvm::json::Object SearchSpace::toJSON(const Config &c) const {
  llvm::json::Object o;
  assert(c.size() == params.size() && "config of another space");
  // dot = i8 / fma: the micro-kernel has no loops for tile, order, unroll,
  // vector or prefetch to shape (schedule_c19).
  int dot = indexOf("dot"), attn = indexOf("attn");
  bool ukDot = dot >= 0 && c[dot] != 0;
  // attn = fused: neither (schedule_c20), nor exp.
  bool fused = attn >= 0 && c[attn] == 1;
  bool micro = ukDot || fused;
  if (!micro) {
    llvm::json::Array tile;
    for (size_t i = 0; i < kernel.dims.size(); ++i)
      tile.push_back(c[i]);
    o["tile"] = std::move(tile);
    o["order"] = llvm::json::Array(orders[c[indexOf("order")]]);
  }
  for (const char *f : {"unroll", "vector", "cpu_threads", "prefetch", "mma"})
    if (int i = indexOf(f);
        i >= 0 && !(micro && StringRef(f) != "cpu_threads"))
      o[f] = c[i];
  if (int i = indexOf("exp"); i >= 0 && !fused)
    o["exp"] = expNames[c[i]];
  if (attn >= 0) {
    o["attn"] = attnNames[c[attn]];
    if (fused)
      o["isa"] = isaNames[c[indexOf("isa")]];
  }
  if (ukDot) {
    o["dot"] = dotNames[c[dot]];
    o["isa"] = isaNames[c[indexOf("isa")]];
    o["micro"] =
        llvm::json::Array{c[indexOf("micro[0]")], c[indexOf("micro[1]")]};
    if (int i = indexOf("fuse"); i >= 0 && c[i] == 1)
      o["fuse"] = llvm::json::Array{"norm", "swiglu", "residual"};
  }
  if (int i = indexOf("threads"); i >= 0)
    o["threads"] = llvm::json::Array{c[i]};
  if (int i = indexOf("placement[0]"); i >= 0) {
    llvm::json::Array placement{memSpaceNames[c[i]]};
    for (const std::string &p : otherPlacements)
      placement.push_back(p);
    o["placement"] = std::move(placement);
  }
  return o;
}

ScheduleAttr SearchSpace::toSchedule(const Config &c) const {
  if (gpuDefault && c == defaultConfig)
    return gpuDefault;
  // toJSON writes only known fields with integer or name values; check()
  // keeps configs within the kernel's iteration space.
  auto s = scheduleFromJSON(ctx, toJSON(c));
  if (!s) {
    llvm::consumeError(s.takeError());
    return {};
  }
  return *s;
}

std::string SearchSpace::toScheduleText(const Config &c) const {
  ScheduleAttr s = toSchedule(c);
  return s ? printSchedule(s) : std::string("#haqa.schedule<invalid>");
}

llvm::Expected<Config> SearchSpace::fromJSON(const llvm::json::Value &v) const {
  const llvm::json::Object *o = v.getAsObject();
  if (!o)
    return llvm::createStringError("expected a JSON object of schedule fields");
  Config c = defaultConfig;
  for (const auto &kv : *o) {
    StringRef key = kv.first;
    auto has = [&](StringRef f) {
      return f == "tile" || f == "order" || indexOf(f) >= 0 ||
             (f == "placement" && indexOf("placement[0]") >= 0) ||
             (f == "micro" && indexOf("micro[0]") >= 0);
    };
    if (!has(key)) {
      std::vector<std::string> names;
      for (const char *f : {"tile", "order", "unroll", "vector", "threads",
                            "cpu_threads", "prefetch", "placement", "mma",
                            "dot", "isa", "micro", "exp", "attn", "fuse"})
        if (has(f))
          names.push_back(f);
      return llvm::createStringError("unknown field '" + key +
                                     "' (this space has " +
                                     llvm::join(names, ", ") + ")");
    }
  }
  auto intOf = [](const llvm::json::Value &x) -> std::optional<int64_t> {
    if (auto n = x.getAsInteger())
      return n;
    if (auto d = x.getAsNumber();
        d && *d == std::floor(*d) && std::fabs(*d) < 9.0e18)
      return static_cast<int64_t>(*d);
    return std::nullopt;
  };
  if (const llvm::json::Value *t = o->get("tile")) {
    const llvm::json::Array *a = t->getAsArray();
    if (!a || a->size() != kernel.dims.size())
      return llvm::createStringError(llvm::formatv(
          "'tile' must be a list of {0} integers", kernel.dims.size()));
    for (size_t i = 0; i < a->size(); ++i) {
      auto n = intOf((*a)[i]);
      if (!n)
        return llvm::createStringError(
            llvm::formatv("tile[{0}] is not an integer", i));
      c[i] = *n;
    }
  }
  if (const llvm::json::Value *t = o->get("order")) {
    const llvm::json::Array *a = t->getAsArray();
    std::vector<int64_t> perm;
    if (a)
      for (const llvm::json::Value &x : *a)
        perm.push_back(intOf(x).value_or(-1));
    auto it = llvm::find(orders, perm);
    if (!a || it == orders.end())
      return llvm::createStringError(llvm::formatv(
          "'order' must be a permutation of 0..{0}", kernel.dims.size() - 1));
    c[indexOf("order")] = it - orders.begin();
  }
  // Per-element names as the prompt lists them: "tile[1]": 32,
  // "placement[0]": "shared".
  for (const auto &kv : *o) {
    StringRef key = kv.first;
    if (!key.contains('['))
      continue;
    int i = indexOf(key);
    if (i < 0)
      return llvm::createStringError("unknown field '" + key + "'");
    if (key.starts_with("placement")) {
      std::optional<StringRef> str = kv.second.getAsString();
      if (!str || (*str != "global" && *str != "shared"))
        return llvm::createStringError("'" + key +
                                       "' must be global or shared");
      c[i] = *str == "shared";
      continue;
    }
    auto n = intOf(kv.second);
    if (!n)
      return llvm::createStringError("'" + key + "' must be an integer");
    c[i] = *n;
  }
  for (const char *f : {"unroll", "vector", "cpu_threads", "prefetch", "mma"}) {
    const llvm::json::Value *x = o->get(f);
    if (!x)
      continue;
    auto n = intOf(*x);
    if (!n)
      return llvm::createStringError(llvm::Twine("'") + f +
                                     "' must be an integer");
    c[indexOf(f)] = *n;
  }
  if (const llvm::json::Value *x = o->get("threads")) {
    std::optional<int64_t> n = intOf(*x);
    if (const llvm::json::Array *a = x->getAsArray(); a && a->size() == 1)
      n = intOf((*a)[0]);
    if (!n)
      return llvm::createStringError(
          "'threads' must be an integer or a list of one");
    c[indexOf("threads")] = *n;
  }
  if (const llvm::json::Value *x = o->get("placement")) {
    std::optional<StringRef> s = x->getAsString();
    if (const llvm::json::Array *a = x->getAsArray(); a && !a->empty())
      s = (*a)[0].getAsString();
    if (!s || (*s != "global" && *s != "shared"))
      return llvm::createStringError(
          "'placement' of the first input must be global or shared");
    c[indexOf("placement[0]")] = *s == "shared";
  }
  // dot / isa / exp / attn by name or index, micro as [mr, nr].
  auto nameOrIndex = [&](const char *key,
                         ArrayRef<const char *> names) -> llvm::Error {
    const llvm::json::Value *x = o->get(key);
    if (!x)
      return llvm::Error::success();
    std::optional<int64_t> n = intOf(*x);
    if (std::optional<StringRef> str = x->getAsString())
      for (auto [i, name] : llvm::enumerate(names))
        if (*str == name)
          n = i;
    if (!n)
      return llvm::createStringError(
          llvm::Twine("'") + key + "' must be one of " +
          llvm::join(llvm::map_range(
                         names, [](const char *s) { return StringRef(s); }),
                     ", ") +
          ", got " + llvm::formatv("{0}", *x).str());
    c[indexOf(key)] = *n;
    return llvm::Error::success();
  };
  if (llvm::Error e = nameOrIndex("dot", dotNames))
    return std::move(e);
  if (llvm::Error e = nameOrIndex("isa", isaNames))
    return std::move(e);
  if (llvm::Error e = nameOrIndex("exp", expNames))
    return std::move(e);
  if (llvm::Error e = nameOrIndex("attn", attnNames))
    return std::move(e);
  if (const llvm::json::Value *x = o->get("fuse")) {
    // A list of neighbours (all three or none, as the schedule spells it)
    // or 0 / 1.
    std::optional<int64_t> n = intOf(*x);
    if (const llvm::json::Array *a = x->getAsArray())
      n = a->empty() ? 0 : a->size() == 3 ? 1 : -1;
    if (!n || (*n != 0 && *n != 1))
      return llvm::createStringError(
          "'fuse' must be [norm, swiglu, residual], [] or 0 / 1");
    c[indexOf("fuse")] = *n;
  }
  if (const llvm::json::Value *x = o->get("micro")) {
    const llvm::json::Array *a = x->getAsArray();
    std::optional<int64_t> mr, nr;
    if (a && a->size() == 2) {
      mr = intOf((*a)[0]);
      nr = intOf((*a)[1]);
    }
    if (!mr || !nr)
      return llvm::createStringError("'micro' must be a list [mr, nr]");
    c[indexOf("micro[0]")] = *mr;
    c[indexOf("micro[1]")] = *nr;
  }
  if (llvm::Error e = check(c))
    return std::move(e);
  return c;
}

llvm::json::Object SearchSpace::describe() const {
  llvm::json::Object o;
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter &p = params[i];
    llvm::json::Object d{{"description", p.description}};
    if (p.name == "order") {
      llvm::json::Array all;
      for (const std::vector<int64_t> &perm : orders)
        all.push_back(llvm::json::Array(perm));
      d["values"] = std::move(all);
      d["default"] = llvm::json::Array(orders[p.defaultValue]);
    } else if (p.name == "placement[0]") {
      d["values"] = llvm::json::Array{"global", "shared"};
      d["default"] = memSpaceNames[p.defaultValue];
    } else if (p.name == "dot" || p.name == "isa" || p.name == "exp") {
      const char *const *names = p.name == "dot"   ? dotNames
                                 : p.name == "isa" ? isaNames
                                                   : expNames;
      llvm::json::Array values;
      for (int64_t v : p.values)
        values.push_back(names[v]);
      d["values"] = std::move(values);
      d["default"] = names[p.defaultValue];
    } else {
      d["values"] = llvm::json::Array(p.values);
      d["default"] = p.defaultValue;
    }
    o[p.name] = std::move(d);
  }
  return o;
}

Config SearchSpace::sample(std::mt19937_64 &rng) const {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    Config c;
    for (const Parameter &p : params)
      c.push_back(p.values[std::uniform_int_distribution<size_t>(
          0, p.values.size() - 1)(rng)]);
    if (llvm::Error e = check(c)) {
      llvm::consumeError(std::move(e));
      continue;
    }
    return c;
  }
  return defaultConfig;
}

std::vector<Config> SearchSpace::neighbors(const Config &c) const {
  std::vector<Config> out;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::vector<int64_t> &vals = params[i].values;
    auto it = llvm::find(vals, c[i]);
    if (it == vals.end())
      continue;
    size_t k = it - vals.begin();
    for (int d : {-1, 1}) {
      if ((d < 0 && k == 0) || (d > 0 && k + 1 >= vals.size()))
        continue;
      Config n = c;
      n[i] = vals[k + d];
      if (llvm::Error e = check(n)) {
        llvm::consumeError(std::move(e));
        continue;
      }
      out.push_back(std::move(n));
    }
  }
  return out;
}

Config SearchSpace::at(uint64_t index) const {
  Config c;
  for (const Parameter &p : params) {
    c.push_back(p.values[index % p.values.size()]);
    index /= p.values.size();
  }
  return c;
}
