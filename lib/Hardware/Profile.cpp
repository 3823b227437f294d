//===- Profile.cpp - hardware profiles from files and the host -*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Hardware/Profile.h"
#include "haqa/Support/InputFiles.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <immintrin.h>
#include <thread>

using namespace mlir::haqa;
using llvm::StringRef;

#ifndef HAQA_SOURCE_DIR
#define HAQA_SOURCE_DIR "."
#endif

TargetLimits HardwareProfile::getLimits() const {
  TargetLimits l =
      getDefaultLimits(kind, kind == TargetKind::CPU ? computeUnits : 0);
  if (kind == TargetKind::CPU) {
    if (vectorBits)
      l.vectorLanes = vectorBits / 32;
    return l;
  }
  if (maxThreadsPerBlock > 0)
    l.maxThreadsPerBlock = maxThreadsPerBlock;
  if (subgroupSize > 0)
    l.subgroupSize = subgroupSize;
  // HAQA's kernels use static shared memory, which CUDA caps at 48 KiB per
  // block whatever the chip allows with dynamic opt-in.
  if (sharedMemoryPerBlockBytes > 0)
    l.sharedMemoryBytes =
        kind == TargetKind::CUDA
            ? std::min<int64_t>(sharedMemoryPerBlockBytes, 48 * 1024)
            : sharedMemoryPerBlockBytes;
  l.preferredThreadsPerBlock =
      std::min(l.preferredThreadsPerBlock, l.maxThreadsPerBlock);
  l.tensorCores = kind == TargetKind::CUDA && tensorCores;
  return l;
}

std::string HardwareProfile::getFingerprint() const {
  std::string key =
      llvm::formatv("{0}|{1}|{2}|{3}|{4}", stringifyTargetKind(kind), name,
                    arch, computeUnits, llvm::join(features, ","))
          .str();
  std::array<uint8_t, 32> h = llvm::SHA256::hash(llvm::ArrayRef(
      reinterpret_cast<const uint8_t *>(key.data()), key.size()));
  return llvm::toHex(llvm::ArrayRef(h).take_front(8), /*LowerCase=*/true);
}

llvm::json::Value HardwareProfile::toJSON() const {
  llvm::json::Object peaks;
  for (const auto &kv : peakTops)
    peaks[kv.getKey()] = kv.getValue();
  llvm::json::Object o{
      {"id", id},
      {"name", name},
      {"kind", stringifyTargetKind(kind)},
      {"arch", arch},
      {"memory_bytes", static_cast<int64_t>(memoryBytes)},
      {"memory_bandwidth_gbps", memoryBandwidthGBps},
      {"peak_tops", std::move(peaks)},
      {"native_int8", nativeInt8},
      {"native_int4", nativeInt4},
      {"tensor_cores", tensorCores},
      {"compute_units", computeUnits},
      {"subgroup_size", subgroupSize},
      {"max_threads_per_block", maxThreadsPerBlock},
      {"shared_memory_per_block_bytes", sharedMemoryPerBlockBytes},
      {"l2_bytes", l2Bytes},
      {"fingerprint", getFingerprint()},
      {"source", source}};
  if (kind == TargetKind::CPU) {
    o["vector_bits"] = vectorBits;
    o["l1_bytes"] = l1Bytes;
    o["l3_bytes"] = l3Bytes;
    o["features"] = llvm::json::Array(features);
  } else {
    o["shared_memory_per_unit_bytes"] = sharedMemoryPerUnitBytes;
    o["registers_per_unit"] = registersPerUnit;
  }
  return o;
}

llvm::Expected<HardwareProfile>
mlir::haqa::parseHardwareProfile(StringRef text, StringRef origin) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(origin + ": " + msg);
  };
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  if (!parsed)
    return fail("not JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Object *o = parsed->getAsObject();
  if (!o)
    return fail("expected a JSON object");
  static const char *known[] = {"id",
                                "name",
                                "kind",
                                "arch",
                                "memory_bytes",
                                "memory_bandwidth_gbps",
                                "peak_tops",
                                "native_int8",
                                "native_int4",
                                "tensor_cores",
                                "compute_units",
                                "subgroup_size",
                                "max_threads_per_block",
                                "shared_memory_per_block_bytes",
                                "shared_memory_per_unit_bytes",
                                "registers_per_unit",
                                "l1_bytes",
                                "l2_bytes",
                                "l3_bytes",
                                "vector_bits",
                                "features",
                                "source",
                                "fingerprint"};
  for (const auto &kv : *o)
    if (!llvm::is_contained(known, kv.first.str()))
      return fail("unknown field '" + kv.first.str() + "'");

  HardwareProfile p;
  auto str = [&](const char *key, std::string &out,
                 bool required) -> llvm::Error {
    const llvm::json::Value *v = o->get(key);
    if (!v)
      return required ? fail(llvm::Twine("missing '") + key + "'")
                      : llvm::Error::success();
    auto s = v->getAsString();
    if (!s)
      return fail(llvm::Twine("'") + key + "' must be a string");
    out = s->str();
    return llvm::Error::success();
  };
  auto num = [&](const char *key, auto &out, bool required) -> llvm::Error {
    const llvm::json::Value *v = o->get(key);
    if (!v)
      return required ? fail(llvm::Twine("missing '") + key + "'")
                      : llvm::Error::success();
    auto d = v->getAsNumber();
    if (!d || *d < 0)
      return fail(llvm::Twine("'") + key + "' must be a number >= 0");
    out = static_cast<std::decay_t<decltype(out)>>(*d);
    return llvm::Error::success();
  };
  auto flag = [&](const char *key, bool &out) -> llvm::Error {
    const llvm::json::Value *v = o->get(key);
    if (!v)
      return fail(llvm::Twine("missing '") + key + "'");
    auto b = v->getAsBoolean();
    if (!b)
      return fail(llvm::Twine("'") + key + "' must be true or false");
    out = *b;
    return llvm::Error::success();
  };
  std::string kind;
  if (auto e = str("id", p.id, true))
    return std::move(e);
  if (auto e = str("name", p.name, true))
    return std::move(e);
  if (auto e = str("kind", kind, true))
    return std::move(e);
  std::optional<TargetKind> k = parseTargetKind(kind);
  if (!k)
    return fail("'kind' must be cpu, cuda or opencl, got '" + kind + "'");
  p.kind = *k;
  if (auto e = str("arch", p.arch, true))
    return std::move(e);
  if (auto e = str("source", p.source, true))
    return std::move(e);
  if (auto e = num("memory_bytes", p.memoryBytes, true))
    return std::move(e);
  if (auto e = num("memory_bandwidth_gbps", p.memoryBandwidthGBps, true))
    return std::move(e);
  if (auto e = flag("native_int8", p.nativeInt8))
    return std::move(e);
  if (auto e = flag("native_int4", p.nativeInt4))
    return std::move(e);
  if (auto e = flag("tensor_cores", p.tensorCores))
    return std::move(e);
  bool gpu = p.kind != TargetKind::CPU;
  if (auto e = num("compute_units", p.computeUnits, true))
    return std::move(e);
  if (auto e = num("subgroup_size", p.subgroupSize, gpu))
    return std::move(e);
  if (auto e = num("max_threads_per_block", p.maxThreadsPerBlock, gpu))
    return std::move(e);
  if (auto e = num("shared_memory_per_block_bytes", p.sharedMemoryPerBlockBytes,
                   gpu))
    return std::move(e);
  if (auto e = num("shared_memory_per_unit_bytes", p.sharedMemoryPerUnitBytes,
                   false))
    return std::move(e);
  if (auto e = num("registers_per_unit", p.registersPerUnit, false))
    return std::move(e);
  if (auto e = num("l1_bytes", p.l1Bytes, false))
    return std::move(e);
  if (auto e = num("l2_bytes", p.l2Bytes, false))
    return std::move(e);
  if (auto e = num("l3_bytes", p.l3Bytes, false))
    return std::move(e);
  if (auto e = num("vector_bits", p.vectorBits, false))
    return std::move(e);
  const llvm::json::Object *peaks = o->getObject("peak_tops");
  if (!peaks)
    return fail("missing 'peak_tops' (an object of TFLOPS / TOPS per type)");
  for (const auto &kv : *peaks) {
    static const char *types[] = {"f32", "f16", "bf16", "int8", "int4"};
    if (!llvm::is_contained(types, kv.first.str()))
      return fail("peak_tops: unknown type '" + kv.first.str() +
                  "' (f32, f16, bf16, int8, int4)");
    auto d = kv.second.getAsNumber();
    if (!d || *d <= 0)
      return fail("peak_tops." + kv.first.str() + " must be a number > 0");
    p.peakTops[kv.first.str()] = *d;
  }
  if (!p.peakTops.count("f32"))
    return fail("peak_tops needs at least 'f32'");
  if (const llvm::json::Array *f = o->getArray("features"))
    for (const llvm::json::Value &v : *f)
      if (auto s = v.getAsString())
        p.features.push_back(s->str());
  if (gpu && p.subgroupSize < 1)
    return fail("'subgroup_size' must be at least 1");
  if (gpu && p.maxThreadsPerBlock < p.subgroupSize)
    return fail("'max_threads_per_block' is smaller than a subgroup");
  return p;
}

std::string mlir::haqa::getDefaultHardwareDir() {
  if (const char *env = std::getenv("HAQA_HARDWARE_DIR"); env && *env)
    return env;
  return HAQA_SOURCE_DIR "/hardware";
}

llvm::Expected<std::vector<HardwareProfile>>
mlir::haqa::loadHardwareProfiles(StringRef dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".json")
      files.push_back(it->path());
  if (ec)
    return llvm::createStringError("hardware profiles: cannot read " + dir +
                                   ": " + ec.message());
  llvm::sort(files);
  std::vector<HardwareProfile> out;
  for (const std::string &f : files) {
    auto buf = readInputFile(f);
    if (!buf)
      return buf.takeError();
    auto p = parseHardwareProfile((*buf)->getBuffer(), f);
    if (!p)
      return p.takeError();
    if (llvm::any_of(out,
                     [&](const HardwareProfile &q) { return q.id == p->id; }))
      return llvm::createStringError(f + ": duplicate id '" + p->id + "'");
    out.push_back(std::move(*p));
  }
  out.push_back(detectHostCPU());
  return out;
}

llvm::Expected<HardwareProfile> mlir::haqa::findHardwareProfile(StringRef id,
                                                                StringRef dir) {
  if (id == "host" || id == "cpu")
    return detectHostCPU();
  auto all = loadHardwareProfiles(dir);
  if (!all)
    return all.takeError();
  std::vector<std::string> ids;
  for (HardwareProfile &p : *all) {
    if (p.id == id)
      return std::move(p);
    ids.push_back(p.id);
  }
  return llvm::createStringError("unknown target '" + id +
                                 "' (known: " + llvm::join(ids, ", ") +
                                 "; profiles from " + dir + ")");
}

//===----------------------------------------------------------------------===//
// The host
//===----------------------------------------------------------------------===//

static std::string readFile(const llvm::Twine &path) {
  auto buf = llvm::MemoryBuffer::getFileAsStream(path);
  return buf ? (*buf)->getBuffer().str() : std::string();
}

/// "32K", "2048K", "105M" as in /sys/.../cache/index*/size.
static int64_t parseCacheSize(StringRef s) {
  s = s.trim();
  int64_t scale = 1;
  if (s.consume_back("K"))
    scale = 1024;
  else if (s.consume_back("M"))
    scale = 1024 * 1024;
  int64_t v = 0;
  return s.getAsInteger(10, v) ? 0 : v * scale;
}

HardwareProfile mlir::haqa::detectHostCPU(bool measure) {
  HardwareProfile p;
  p.id = "host";
  p.kind = TargetKind::CPU;
  std::string cpuinfo = readFile("/proc/cpuinfo");
  double mhz = 0;
  for (StringRef line : llvm::split(cpuinfo, '\n')) {
    auto [key, value] = line.split(':');
    key = key.trim();
    value = value.trim();
    if (key == "model name" && p.name.empty())
      p.name = value.str();
    else if (key == "cpu MHz" && mhz == 0)
      value.getAsDouble(mhz);
  }
  if (p.name.empty())
    p.name = "unknown CPU";
  p.computeUnits = std::max(1u, std::thread::hardware_concurrency());

  __builtin_cpu_init();
  struct Feature {
    const char *name;
    bool present;
  } feats[] = {
      {"avx2", __builtin_cpu_supports("avx2") != 0},
      {"fma", __builtin_cpu_supports("fma") != 0},
      {"f16c", __builtin_cpu_supports("f16c") != 0},
      {"avx512f", __builtin_cpu_supports("avx512f") != 0},
      {"avx512bw", __builtin_cpu_supports("avx512bw") != 0},
      {"avx512vl", __builtin_cpu_supports("avx512vl") != 0},
      {"avx512vnni", __builtin_cpu_supports("avx512vnni") != 0},
      {"avx512bf16", __builtin_cpu_supports("avx512bf16") != 0},
      {"avx512fp16", __builtin_cpu_supports("avx512fp16") != 0},
      {"avxvnni", __builtin_cpu_supports("avxvnni") != 0},
      {"amx-tile", __builtin_cpu_supports("amx-tile") != 0},
      {"amx-int8", __builtin_cpu_supports("amx-int8") != 0},
      {"amx-bf16", __builtin_cpu_supports("amx-bf16") != 0},
  };
  for (const Feature &f : feats)
    if (f.present)
      p.features.push_back(f.name);
  auto has = [&](StringRef f) { return llvm::is_contained(p.features, f); };
  p.vectorBits = has("avx512f") ? 512 : has("avx2") ? 256 : 128;
  p.arch = has("avx512f") ? "x86-64-v4" : has("avx2") ? "x86-64-v3" : "x86-64";
  p.nativeInt8 = has("avx512vnni") || has("avxvnni") || has("amx-int8");
  p.nativeInt4 = false;
  p.tensorCores = has("amx-tile");

  // Caches of cpu0: the largest data / unified cache per level.
  for (int i = 0; i < 8; ++i) {
    std::string base =
        llvm::formatv("/sys/devices/system/cpu/cpu0/cache/index{0}/", i);
    std::string level = readFile(base + "level");
    if (level.empty())
      break;
    if (StringRef(readFile(base + "type")).trim() == "Instruction")
      continue;
    int64_t size = parseCacheSize(readFile(base + "size"));
    int lv = 0;
    StringRef(level).trim().getAsInteger(10, lv);
    int64_t *slot = lv == 1 ? &p.l1Bytes : lv == 2 ? &p.l2Bytes : &p.l3Bytes;
    *slot = std::max(*slot, size);
  }
  std::string meminfo = readFile("/proc/meminfo");
  for (StringRef line : llvm::split(meminfo, '\n'))
    if (line.consume_front("MemTotal:")) {
      int64_t kb = 0;
      line.trim().split(' ').first.getAsInteger(10, kb);
      p.memoryBytes = static_cast<uint64_t>(kb) * 1024;
    }

  // Two FMA pipes per core, 2 flops per lane per FMA, at the reported clock.
  double lanes = p.vectorBits / 32.0;
  double f32 = p.computeUnits * 2 * lanes * 2 * (mhz > 0 ? mhz : 2000) / 1e6;
  p.peakTops["f32"] = f32;
  if (has("avx512fp16"))
    p.peakTops["f16"] = 2 * f32;
  if (has("avx512bf16"))
    p.peakTops["bf16"] = 2 * f32;
  if (p.nativeInt8)
    p.peakTops["int8"] = 4 * f32;
  p.source = llvm::formatv("detected: /proc/cpuinfo, cpuid, /sys caches; peak "
                           "f32 estimated (2 FMA units x {0} lanes x {1} MHz "
                           "x {2} threads)",
                           lanes, mhz, p.computeUnits)
                 .str();
  if (measure) {
    MeasuredPeaks m = measureHostPeaks();
    p.peakTops["f32"] = m.gflops / 1e3;
    p.memoryBandwidthGBps = m.gbps;
    p.source += "; f32 peak and read bandwidth measured";
  }
  return p;
}

__attribute__((target("avx512f"))) static double fmaLoopAVX512(long iters) {
  __m512 acc[8];
  for (auto &a : acc)
    a = _mm512_set1_ps(1.0f);
  __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
    for (auto &a : acc)
      a = _mm512_fmadd_ps(a, m, c);
  float sink = 0;
  for (auto &a : acc)
    sink += _mm512_reduce_add_ps(a);
  return sink;
}

__attribute__((target("avx2,fma"))) static double fmaLoopAVX2(long iters) {
  __m256 acc[8];
  for (auto &a : acc)
    a = _mm256_set1_ps(1.0f);
  __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
    for (auto &a : acc)
      a = _mm256_fmadd_ps(a, m, c);
  alignas(32) float out[8];
  float sink = 0;
  for (auto &a : acc) {
    _mm256_store_ps(out, a);
    sink += out[0];
  }
  return sink;
}

/// Sum of `n` words (n a multiple of 32 or not: the tail is scalar).
__attribute__((target("avx512f"))) static uint64_t sumAVX512(const uint64_t *p,
                                                             size_t n) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a = _mm512_add_epi64(a, _mm512_loadu_si512(p + i));
    b = _mm512_add_epi64(b, _mm512_loadu_si512(p + i + 8));
    c = _mm512_add_epi64(c, _mm512_loadu_si512(p + i + 16));
    d = _mm512_add_epi64(d, _mm512_loadu_si512(p + i + 24));
  }
  uint64_t s = _mm512_reduce_add_epi64(
      _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d)));
  for (; i < n; ++i)
    s += p[i];
  return s;
}

__attribute__((target("avx2"))) static uint64_t sumAVX2(const uint64_t *p,
                                                        size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a = _mm256_add_epi64(a, _mm256_loadu_si256((const __m256i *)(p + i)));
    b = _mm256_add_epi64(b, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
    c = _mm256_add_epi64(c, _mm256_loadu_si256((const __m256i *)(p + i + 8)));
    d = _mm256_add_epi64(d, _mm256_loadu_si256((const __m256i *)(p + i + 12)));
  }
  alignas(32) uint64_t out[4];
  _mm256_store_si256((__m256i *)out, _mm256_add_epi64(_mm256_add_epi64(a, b),
                                                      _mm256_add_epi64(c, d)));
  uint64_t s = out[0] + out[1] + out[2] + out[3];
  for (; i < n; ++i)
    s += p[i];
  return s;
}

/// Without AVX2: 8 scalar FMA chains (for hosts below x86-64-v3).
static double fmaLoopScalar(long iters) {
  double acc[8];
  for (double &a : acc)
    a = 1.0;
  for (long i = 0; i < iters; ++i)
    for (double &a : acc)
      a = a * 0.999999 + 1e-7;
  double sink = 0;
  for (double a : acc)
    sink += a;
  return sink;
}

static uint64_t sumScalar(const uint64_t *p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  for (; i < n; ++i)
    a += p[i];
  return a + b + c + d;
}

MeasuredPeaks mlir::haqa::measureHostPeaks() {
  using Clock = std::chrono::steady_clock;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  MeasuredPeaks p;
  bool avx512 = __builtin_cpu_supports("avx512f");
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  long iters = 20'000'000;
  double flopsPerIter = 8.0 * (avx512 ? 16 : avx2 ? 8 : 1) * 2;
  std::atomic<double> sink{0};
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      double s = avx512 ? fmaLoopAVX512(iters)
                 : avx2 ? fmaLoopAVX2(iters)
                        : fmaLoopScalar(iters);
      sink = sink + s;
    });
  for (auto &t : pool)
    t.join();
  double sec = std::chrono::duration<double>(Clock::now() - t0).count();
  p.gflops = threads * iters * flopsPerIter / sec / 1e9;
  // Read bandwidth: each thread sums its part of a 1 GiB buffer with the
  // widest loads there are (a scalar loop does not saturate DRAM), best of 5.
  size_t n = (1ull << 30) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n, 1);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    pool.clear();
    std::atomic<uint64_t> total{0};
    auto s0 = Clock::now();
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        lo = (lo + 31) & ~size_t(31);
        uint64_t sum = avx512 ? sumAVX512(buf.data() + lo, hi - lo)
                       : avx2 ? sumAVX2(buf.data() + lo, hi - lo)
                              : sumScalar(buf.data() + lo, hi - lo);
        total += sum;
      });
    for (auto &t : pool)
      t.join();
    double s = std::chrono::duration<double>(Clock::now() - s0).count();
    best = std::max(best, (n * sizeof(uint64_t)) / s / 1e9);
    if (total.load() == 0)
      best = 0;
  }
  p.gbps = best;
  return p;
}

llvm::Expected<HardwareProfile>
mlir::haqa::loadHardwareProfile(llvm::StringRef idOrPath, llvm::StringRef dir) {
  if (llvm::sys::fs::exists(idOrPath) &&
      !llvm::sys::fs::is_directory(idOrPath)) {
    auto buf = readInputFile(idOrPath);
    if (!buf)
      return buf.takeError();
    return parseHardwareProfile((*buf)->getBuffer(), idOrPath);
  }
  return findHardwareProfile(idOrPath,
                             dir.empty() ? getDefaultHardwareDir() : dir.str());
}

static std::string humanBytes(uint64_t b) {
  if (b >= (1ull << 30))
    return llvm::formatv("{0:F0} GiB", b / double(1ull << 30)).str();
  if (b >= (1ull << 20))
    return llvm::formatv("{0:F0} MiB", b / double(1ull << 20)).str();
  return llvm::formatv("{0} KiB", b / 1024).str();
}

void mlir::haqa::printHardwareProfiles(llvm::raw_ostream &os,
                                       llvm::ArrayRef<HardwareProfile> profiles,
                                       StringRef dir) {
  const char *row = "{0,-12} {1,-7} {2,-11} {3,8} {4,10} {5,9} {6,9} {7,5} "
                    "{8,5} {9,5} {10,6} {11,9}  {12}\n";
  os << llvm::formatv(row, "id", "kind", "arch", "memory", "GB/s", "f32 TF",
                      "int8 TOP", "int8", "int4", "sg", "thr/bl", "shmem/bl",
                      "name");
  for (const HardwareProfile &p : profiles) {
    auto peak = [&](StringRef t) {
      auto it = p.peakTops.find(t);
      return it == p.peakTops.end() ? std::string("-")
                                    : llvm::formatv("{0:F1}", it->second).str();
    };
    bool cpu = p.kind == TargetKind::CPU;
    os << llvm::formatv(
        row, p.id, stringifyTargetKind(p.kind), p.arch,
        humanBytes(p.memoryBytes),
        p.memoryBandwidthGBps > 0
            ? llvm::formatv("{0:F1}", p.memoryBandwidthGBps).str()
            : std::string("unmeasured"),
        peak("f32"), peak("int8"), p.nativeInt8 ? "yes" : "no",
        p.nativeInt4 ? "yes" : "no",
        cpu ? std::string("-") : std::to_string(p.subgroupSize),
        cpu ? std::string("-") : std::to_string(p.maxThreadsPerBlock),
        p.sharedMemoryPerBlockBytes ? humanBytes(p.sharedMemoryPerBlockBytes)
                                    : std::string("-"),
        p.name);
  }
  os << "\nprofiles from " << dir
     << "; host detected now (bandwidth: haqa-bench measures it)\n";
  for (const HardwareProfile &p : profiles)
    os << "  " << p.id << ": " << p.source << "\n";
}
