//===- AgentTest.cpp - profiles, search spaces, strategies, records -------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/LLMAgent.h"
#include "haqa/Agent/Records.h"
#include "haqa/Agent/Tuner.h"
#include "haqa/Dialect/HAQA/IR/ScheduleJSON.h"
#include "haqa/Dialect/HAQA/Transforms/Passes.h"
#include "haqa/Hardware/Profile.h"
#include "haqa/InitAllDialects.h"
#include "haqa/Runtime/KernelHarness.h"
#include "haqa/Tuning/KernelTuning.h"
#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>
#include <set>
#include <sqlite3.h>

using namespace mlir::haqa;

namespace {

HardwareProfile profile(llvm::StringRef id) {
  auto p = findHardwareProfile(id, getDefaultHardwareDir());
  if (!p) {
    ADD_FAILURE() << llvm::toString(p.takeError());
    return HardwareProfile();
  }
  return *p;
}

/// The host without vector int8 instruction sets: its quantized matmuls
/// start from dot = f32 (the generated loops), whatever this machine has.
HardwareProfile scalarHost() {
  HardwareProfile p = profile("host");
  p.features.clear();
  return p;
}

/// The tests' kernel modules (and so their schedules), kept for the whole
/// run; the modules go before their context.
struct KernelModules {
  mlir::MLIRContext ctx{mlir::MLIRContext::Threading::DISABLED};
  std::vector<mlir::OwningOpRef<mlir::ModuleOp>> modules;
};
KernelModules &kernelModules() {
  static KernelModules k;
  return k;
}
mlir::MLIRContext &kernelContext() { return kernelModules().ctx; }

/// The kernel op of `spec`, in a module kept for the whole test run.
KernelOpInterface kernelOf(const KernelSpec &spec) {
  auto m = buildKernelModule(&kernelContext(), spec);
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return {};
  }
  kernelModules().modules.push_back(std::move(*m));
  return getKernelOp(*kernelModules().modules.back());
}

/// The search space of `spec` on `hw`.
llvm::Expected<SearchSpace> spaceOf(const KernelSpec &spec,
                                    const HardwareProfile &hw) {
  return getKernelSearchSpace(kernelOf(spec), hw);
}

KernelSpec matmul(int64_t t, const char *w) {
  KernelSpec s;
  s.kernel = "matmul";
  s.ne = {2048, t, 2048};
  s.weights = w;
  return s;
}

TEST(HardwareProfile, EveryShippedProfileLoads) {
  auto all = loadHardwareProfiles(getDefaultHardwareDir());
  ASSERT_TRUE(static_cast<bool>(all)) << llvm::toString(all.takeError());
  std::set<std::string> ids;
  for (const HardwareProfile &p : *all)
    ids.insert(p.id);
  for (const char *id : {"a6000", "a100", "h100", "rtx4090", "jetson-orin",
                         "adreno740", "adreno750", "host"})
    EXPECT_TRUE(ids.count(id)) << id;
  for (const HardwareProfile &p : *all) {
    EXPECT_FALSE(p.source.empty()) << p.id;
    EXPECT_GT(p.peakTops.lookup("f32"), 0) << p.id;
  }
}

TEST(HardwareProfile, H100HasNoNativeInt4AndAdrenoNeither) {
  EXPECT_FALSE(profile("h100").nativeInt4);
  EXPECT_TRUE(profile("a100").nativeInt4);
  EXPECT_FALSE(profile("adreno740").nativeInt4);
  EXPECT_EQ(profile("adreno750").subgroupSize, 64);
  EXPECT_EQ(profile("h100").arch, "sm_90");
}

TEST(HardwareProfile, HostIsDetected) {
  HardwareProfile h = detectHostCPU();
  EXPECT_EQ(h.kind, TargetKind::CPU);
  EXPECT_GE(h.computeUnits, 1);
  EXPECT_GT(h.memoryBytes, 0u);
  EXPECT_GE(h.vectorBits, 128);
  EXPECT_EQ(h.getFingerprint(), detectHostCPU().getFingerprint());
  EXPECT_EQ(h.getFingerprint().size(), 16u);
}

TEST(HardwareProfile, BadFilesNameTheProblem) {
  auto bad = [](llvm::StringRef json) {
    auto p = parseHardwareProfile(json, "x.json");
    EXPECT_FALSE(static_cast<bool>(p));
    return p ? std::string() : llvm::toString(p.takeError());
  };
  EXPECT_NE(bad("{").find("x.json: not JSON"), std::string::npos);
  EXPECT_NE(bad(R"({"id": "a"})").find("missing 'name'"), std::string::npos);
  std::string ok = R"({"id": "g", "name": "G", "kind": "cuda", "arch": "sm_80",
    "memory_bytes": 1, "memory_bandwidth_gbps": 1, "peak_tops": {"f32": 1},
    "native_int8": true, "native_int4": false, "tensor_cores": false,
    "compute_units": 1, "subgroup_size": 32, "max_threads_per_block": 1024,
    "shared_memory_per_block_bytes": 49152, "source": "test"})";
  EXPECT_TRUE(static_cast<bool>(parseHardwareProfile(ok, "ok.json")));
  std::string typo = ok;
  typo.replace(typo.find("\"source\""), 8, "\"sourc\"");
  EXPECT_NE(bad(typo).find("unknown field 'sourc'"), std::string::npos);
  std::string kind = ok;
  kind.replace(kind.find("\"cuda\""), 6, "\"tpu\"");
  EXPECT_NE(bad(kind).find("'kind' must be cpu, cuda or opencl"),
            std::string::npos);
}

TEST(HardwareProfile, UnknownTargetListsTheKnownOnes) {
  auto p = findHardwareProfile("tpu-v9", getDefaultHardwareDir());
  ASSERT_FALSE(static_cast<bool>(p));
  std::string msg = llvm::toString(p.takeError());
  EXPECT_NE(msg.find("unknown target 'tpu-v9'"), std::string::npos);
  EXPECT_NE(msg.find("h100"), std::string::npos);
}

TEST(SearchSpace, CPUMatmulSpaceHasTheDefaultAndPaperRanges) {
  auto space = spaceOf(matmul(1, "q8_0"), scalarHost());
  ASSERT_TRUE(static_cast<bool>(space)) << llvm::toString(space.takeError());
  // The default point is haqa-default-schedule's schedule.
  llvm::json::Object def = space->toJSON(space->getDefault());
  EXPECT_EQ(
      space->toScheduleText(space->getDefault())
          .rfind("#haqa.schedule<tile = [1, 16, 2048], order = [0, 1, 2]", 0),
      0u)
      << space->toScheduleText(space->getDefault());
  EXPECT_FALSE(static_cast<bool>(space->check(space->getDefault())));
  // Six loop orders for three dimensions; M = 1 allows only tile 1 there.
  EXPECT_EQ(space->getOrders().size(), 6u);
  EXPECT_EQ(space->getParameters()[0].values, std::vector<int64_t>{1});
  EXPECT_GT(space->getSize(), 1000);
  EXPECT_NE(def.get("prefetch"), nullptr);
}

TEST(SearchSpace, FromJSONSaysWhatIsWrong) {
  auto space = spaceOf(matmul(64, "q4_0"), scalarHost());
  ASSERT_TRUE(static_cast<bool>(space));
  auto err = [&](llvm::StringRef json) {
    auto v = llvm::json::parse(json);
    EXPECT_TRUE(static_cast<bool>(v));
    auto c = space->fromJSON(*v);
    EXPECT_FALSE(static_cast<bool>(c)) << json.str();
    return c ? std::string() : llvm::toString(c.takeError());
  };
  EXPECT_NE(err(R"({"tile": [4, 16]})").find("'tile' must be a list of 3"),
            std::string::npos);
  EXPECT_NE(err(R"({"tile": [4, 48, 256]})").find("tile[1] = 48 is not one of"),
            std::string::npos);
  EXPECT_NE(err(R"({"order": [0, 0, 1]})").find("permutation"),
            std::string::npos);
  EXPECT_NE(err(R"({"threads": [64]})").find("unknown field 'threads'"),
            std::string::npos);
  EXPECT_NE(err(R"({"vector": "wide"})").find("'vector' must be an integer"),
            std::string::npos);
  auto v = llvm::json::parse(R"({"tile": [8, 32, 512], "order": [1, 0, 2],
                                 "vector": 8, "unroll": 2})");
  auto c = space->fromJSON(*v);
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(space->toScheduleText(*c).rfind(
                "#haqa.schedule<tile = [8, 32, 512], order = [1, 0, 2], "
                "unroll = 2, vector = 8",
                0),
            0u)
      << space->toScheduleText(*c);
}

TEST(SearchSpace, PerElementNamesAsThePromptListsThem) {
  auto space = spaceOf(matmul(64, "q8_0"), scalarHost());
  ASSERT_TRUE(static_cast<bool>(space));
  auto v = llvm::json::parse(R"({"tile[0]": 8, "tile[1]": 32, "tile[2]": 512,
                                 "unroll": 2})");
  auto c = space->fromJSON(*v);
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(space->toScheduleText(*c).rfind(
                "#haqa.schedule<tile = [8, 32, 512], order = [0, 1, 2], "
                "unroll = 2",
                0),
            0u)
      << space->toScheduleText(*c);
  auto bad = llvm::json::parse(R"({"tile[1]": "wide"})");
  auto d = space->fromJSON(*bad);
  ASSERT_FALSE(static_cast<bool>(d));
  EXPECT_NE(llvm::toString(d.takeError()).find("'tile[1]' must be an integer"),
            std::string::npos);
  auto huge = llvm::json::parse(R"({"unroll": 1e20})");
  auto h = space->fromJSON(*huge);
  ASSERT_FALSE(static_cast<bool>(h));
  llvm::consumeError(h.takeError());
}

TEST(SearchSpace, GPUConstraintsNameTheLimit) {
  auto space = spaceOf(matmul(128, "f16"), profile("adreno740"));
  ASSERT_TRUE(static_cast<bool>(space)) << llvm::toString(space.takeError());
  auto v = llvm::json::parse(R"({"tile": [128, 16, 1024], "threads": [256],
                                 "placement": ["shared"]})");
  auto c = space->fromJSON(*v);
  ASSERT_FALSE(static_cast<bool>(c));
  std::string msg = llvm::toString(c.takeError());
  EXPECT_NE(msg.find("shared memory"), std::string::npos) << msg;
  EXPECT_NE(msg.find("32768"), std::string::npos) << msg;
  auto big = llvm::json::parse(R"({"threads": [2048]})");
  auto d = space->fromJSON(*big);
  ASSERT_FALSE(static_cast<bool>(d));
  EXPECT_NE(llvm::toString(d.takeError()).find("threads = 2048 is not one of"),
            std::string::npos);
}

// Every point the tuner may try is a schedule the op's verifier accepts
// (placement, for one, has an entry per operand and result): a GPU tuning
// run on an H200 once failed every trial of every kernel on this.
TEST(SearchSpace, EverySampledScheduleVerifies) {
  std::vector<KernelSpec> kernels = getTable3Kernels({1, 64}, {"f16", "q4_1"});
  for (const char *extra : {"swiglu", "add", "mul"}) {
    KernelSpec k;
    k.kernel = extra;
    k.ne = {256, 4, 1};
    kernels.push_back(k);
  }
  std::mt19937_64 rng(3);
  for (const char *target : {"h100", "adreno740", "host"}) {
    HardwareProfile hw = profile(target);
    for (const KernelSpec &k : kernels) {
      KernelOpInterface op = kernelOf(k);
      ASSERT_TRUE(op);
      auto space = getKernelSearchSpace(op, hw);
      ASSERT_TRUE(static_cast<bool>(space))
          << llvm::toString(space.takeError());
      for (int i = 0; i < 8; ++i) {
        Config c = i ? space->sample(rng) : space->getDefault();
        ScheduleAttr s = space->toSchedule(c);
        ASSERT_TRUE(s) << target << " " << getKernelLabel(op);
        std::string diag;
        mlir::ScopedDiagnosticHandler handler(&kernelContext(),
                                              [&](mlir::Diagnostic &d) {
                                                diag += d.str() + "\n";
                                                return mlir::success();
                                              });
        llvm::Error e = setKernelSchedule(op, s);
        EXPECT_FALSE(static_cast<bool>(e))
            << target << " " << getKernelLabel(op) << " "
            << space->toScheduleText(c) << ": " << llvm::toString(std::move(e));
        auto module = op->getParentOfType<mlir::ModuleOp>();
        EXPECT_TRUE(succeeded(mlir::verify(module)))
            << target << " " << getKernelLabel(op) << " "
            << space->toScheduleText(c) << ": " << diag;
      }
    }
  }
}

// On a GPU profile the default point is the default schedule itself, not
// a spelling of it with the fields it leaves out filled in (a tile, which
// lowers differently): the tuner's baseline and every strategy's start.
TEST(SearchSpace, GPUDefaultPointIsTheDefaultSchedule) {
  for (const char *target : {"h100", "adreno740"}) {
    HardwareProfile hw = profile(target);
    KernelOpInterface op = kernelOf(matmul(1, "q4_0"));
    ASSERT_TRUE(op);
    auto space = getKernelSearchSpace(op, hw);
    ASSERT_TRUE(static_cast<bool>(space)) << llvm::toString(space.takeError());
    ScheduleAttr def = getDefaultSchedule(op, hw.getLimits());
    EXPECT_EQ(space->toSchedule(space->getDefault()), def) << target;
    EXPECT_EQ(space->toScheduleText(space->getDefault()), printSchedule(def));
    // Any other point is spelled out in full.
    std::vector<Config> next = space->neighbors(space->getDefault());
    ASSERT_FALSE(next.empty());
    EXPECT_NE(space->toSchedule(next.front()), def);
  }
}

TEST(SearchSpace, TensorCoresOnlyWhereTheChipHasThem) {
  auto h100 = spaceOf(matmul(128, "q4_0"), profile("h100"));
  ASSERT_TRUE(static_cast<bool>(h100)) << llvm::toString(h100.takeError());
  auto hasMma = [](const SearchSpace &s) {
    return llvm::any_of(s.getParameters(),
                        [](const Parameter &p) { return p.name == "mma"; });
  };
  EXPECT_TRUE(hasMma(*h100));
  // Tiles whose f32 sums and f16 tiles exceed the 48 KiB of static shared
  // memory: the error gives the rounded tiles, the bytes and the limit.
  auto big = llvm::json::parse(
      R"({"tile": [128, 128, 128], "threads": [256], "mma": 1})");
  auto c = h100->fromJSON(*big);
  ASSERT_FALSE(static_cast<bool>(c));
  std::string msg = llvm::toString(c.takeError());
  EXPECT_NE(msg.find("mma = 1 with tiles 128x128x128 needs 131072 bytes"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("49152"), std::string::npos) << msg;
  auto fits = llvm::json::parse(
      R"({"tile": [64, 64, 32], "threads": [128], "mma": 1})");
  auto d = h100->fromJSON(*fits);
  ASSERT_TRUE(static_cast<bool>(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(h100->toJSON(*d).getInteger("mma"), 1);
  EXPECT_NE(h100->toScheduleText(*d).find("mma = 1"), std::string::npos);
  // No tensor cores on an Adreno GPU, nor a parameter for them.
  auto adreno = spaceOf(matmul(128, "q4_0"), profile("adreno740"));
  ASSERT_TRUE(static_cast<bool>(adreno));
  EXPECT_FALSE(hasMma(*adreno));
}

TEST(SearchSpace, Int8DotOnlyInInstructionSetsTheHostHas) {
  auto has = [](const SearchSpace &s, llvm::StringRef name) {
    return llvm::any_of(s.getParameters(),
                        [&](const Parameter &p) { return p.name == name; });
  };
  // The parameter `name` of `s` (its presence asserted).
  auto param = [](const SearchSpace &s,
                  llvm::StringRef name) -> const Parameter & {
    auto it = llvm::find_if(s.getParameters(),
                            [&](const Parameter &p) { return p.name == name; });
    EXPECT_NE(it, s.getParameters().end()) << name.str();
    return *it;
  };
  // A host with AVX2 but no VNNI: dot, isa (scalar, avx2) and micro.
  HardwareProfile avx2 = profile("host");
  avx2.features = {"avx2", "fma", "f16c"};
  auto q8 = spaceOf(matmul(1, "q8_0"), avx2);
  ASSERT_TRUE(static_cast<bool>(q8)) << llvm::toString(q8.takeError());
  for (const char *p : {"dot", "isa", "micro[0]", "micro[1]"})
    EXPECT_TRUE(has(*q8, p)) << p;
  const Parameter &isa = param(*q8, "isa");
  EXPECT_EQ(isa.values, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(isa.defaultValue, 1); // the best the host has
  // The starting point is dot = i8 there, with no loop fields
  // (schedule_c19).
  EXPECT_EQ(
      q8->toScheduleText(q8->getDefault()),
      "#haqa.schedule<cpu_threads = " + std::to_string(avx2.computeUnits) +
          ", dot = i8, isa = avx2, micro = [1, 4], fuse = [norm, "
          "swiglu, residual]>");
  // By name, as an LLM writes it; the schedule carries all three fields.
  auto ok = llvm::json::parse(R"({"dot": "i8", "isa": "avx2", "micro": [1, 4]})");
  auto c = q8->fromJSON(*ok);
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  EXPECT_NE(q8->toScheduleText(*c).find("dot = i8, isa = avx2, micro = [1, 4]"),
            std::string::npos)
      << q8->toScheduleText(*c);
  // An instruction set the host lacks is no value of the space.
  auto vnni = llvm::json::parse(R"({"dot": "i8", "isa": "avx512_vnni"})");
  auto bad = q8->fromJSON(*vnni);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("isa = 3 is not one of 0, 1"),
            std::string::npos);
  // dot = f32 leaves isa and micro out of the schedule (they need i8).
  auto f32 = llvm::json::parse(R"({"dot": "f32", "isa": "scalar"})");
  auto d = q8->fromJSON(*f32);
  ASSERT_TRUE(static_cast<bool>(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(q8->toScheduleText(*d).find("isa"), std::string::npos);
  // Every sampled schedule verifies, dot = i8 or not.
  std::mt19937_64 rng(3);
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(static_cast<bool>(q8->toSchedule(q8->sample(rng))));
  // F16 weights: dot is f32 or fma (no i8); prefill starts at [4, 4].
  auto f16 = spaceOf(matmul(64, "f16"), avx2);
  ASSERT_TRUE(static_cast<bool>(f16));
  const Parameter &dotF16 = param(*f16, "dot");
  EXPECT_EQ(dotF16.values, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(
      f16->toScheduleText(f16->getDefault()),
      "#haqa.schedule<cpu_threads = " + std::to_string(avx2.computeUnits) +
          ", dot = fma, isa = avx2, micro = [4, 4], fuse = [norm, "
          "swiglu, residual]>");
  auto i8OnF16 = f16->fromJSON(*llvm::json::parse(R"({"dot": "i8"})"));
  ASSERT_FALSE(static_cast<bool>(i8OnF16));
  EXPECT_NE(llvm::toString(i8OnF16.takeError()).find("dot = 1 is not one of 0, 2"),
            std::string::npos);
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(static_cast<bool>(f16->toSchedule(f16->sample(rng))));
  // BF16 weights as F16 ones: dot = fma (the dot_bf16 micro-kernel).
  auto bf16 = spaceOf(matmul(64, "bf16"), avx2);
  ASSERT_TRUE(static_cast<bool>(bf16)) << llvm::toString(bf16.takeError());
  EXPECT_EQ(param(*bf16, "dot").values, (std::vector<int64_t>{0, 2}));
  EXPECT_NE(bf16->toScheduleText(bf16->getDefault()).find("dot = fma"),
            std::string::npos);
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(static_cast<bool>(bf16->toSchedule(bf16->sample(rng))));
  // AVX-512 VNNI: nr = 16 (packed panels) is a value of micro[1], legal
  // only with isa = avx512_vnni (schedule_c22), checked before a trial.
  HardwareProfile avx512 = profile("host");
  avx512.features = {"avx2", "fma", "f16c", "avxvnni", "avx512f",
                     "avx512bw", "avx512vl", "avx512vnni"};
  auto q4 = spaceOf(matmul(64, "q4_0"), avx512);
  ASSERT_TRUE(static_cast<bool>(q4)) << llvm::toString(q4.takeError());
  const Parameter &nr = param(*q4, "micro[1]");
  EXPECT_EQ(nr.values, (std::vector<int64_t>{1, 2, 4, 16}));
  EXPECT_EQ(nr.defaultValue, 16); // as the prefill default schedule
  EXPECT_NE(nr.description.find("packed"), std::string::npos);
  auto panels = q4->fromJSON(*llvm::json::parse(
      R"({"dot": "i8", "isa": "avx512_vnni", "micro": [4, 16]})"));
  ASSERT_TRUE(static_cast<bool>(panels)) << llvm::toString(panels.takeError());
  EXPECT_NE(q4->toScheduleText(*panels).find("micro = [4, 16]"),
            std::string::npos);
  auto avx2Panels = q4->fromJSON(*llvm::json::parse(
      R"({"dot": "i8", "isa": "avx2", "micro": [4, 16]})"));
  ASSERT_FALSE(static_cast<bool>(avx2Panels));
  EXPECT_NE(llvm::toString(avx2Panels.takeError())
                .find("micro[1] = 16 (packed panels) needs isa = "
                      "avx512_vnni, got avx2"),
            std::string::npos);
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(static_cast<bool>(q4->toSchedule(q4->sample(rng))));
  // Not offered without the instruction set, nor for F16 weights.
  auto q4avx2 = spaceOf(matmul(64, "q4_0"), avx2);
  ASSERT_TRUE(static_cast<bool>(q4avx2));
  EXPECT_EQ(param(*q4avx2, "micro[1]").values, (std::vector<int64_t>{1, 2, 4}));
  auto f16avx512 = spaceOf(matmul(64, "f16"), avx512);
  ASSERT_TRUE(static_cast<bool>(f16avx512));
  EXPECT_EQ(param(*f16avx512, "micro[1]").values,
            (std::vector<int64_t>{1, 2, 4}));
  // No micro-kernel dot for kernels without weights.
  KernelSpec silu;
  silu.kernel = "silu";
  silu.ne = {1536, 1, 1};
  auto noWeights = spaceOf(silu, avx2);
  ASSERT_TRUE(static_cast<bool>(noWeights));
  EXPECT_FALSE(has(*noWeights, "dot"));
}

TEST(SearchSpace, MatmulFusionIsFixedForTheWholeModelToDecide) {
  HardwareProfile avx2 = profile("host");
  avx2.features = {"avx2", "fma", "f16c"};
  auto q8 = spaceOf(matmul(1, "q8_0"), avx2);
  ASSERT_TRUE(static_cast<bool>(q8)) << llvm::toString(q8.takeError());
  auto it = llvm::find_if(q8->getParameters(),
                          [](const Parameter &p) { return p.name == "fuse"; });
  ASSERT_NE(it, q8->getParameters().end());
  // One value, the default's: a kernel timed alone has no neighbours to
  // fuse, so the measure phase decides on the whole model.
  EXPECT_EQ(it->values, (std::vector<int64_t>{1}));
  EXPECT_NE(it->description.find("whole model"), std::string::npos);
  // As the schedule spells it, or 1.
  for (const char *reply :
       {R"({"fuse": ["norm", "swiglu", "residual"]})", R"({"fuse": 1})"}) {
    auto c = q8->fromJSON(*llvm::json::parse(reply));
    ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
    EXPECT_NE(q8->toScheduleText(*c).find("fuse = [norm, swiglu, residual]"),
              std::string::npos);
  }
  // 0 is not a value here; a part of the list is no value at all.
  auto none = q8->fromJSON(*llvm::json::parse(R"({"fuse": []})"));
  ASSERT_FALSE(static_cast<bool>(none));
  EXPECT_NE(llvm::toString(none.takeError()).find("fuse = 0 is not one of 1"),
            std::string::npos);
  auto part = q8->fromJSON(*llvm::json::parse(R"({"fuse": ["norm"]})"));
  ASSERT_FALSE(static_cast<bool>(part));
  EXPECT_NE(llvm::toString(part.takeError())
                .find("'fuse' must be [norm, swiglu, residual], [] or 0 / 1"),
            std::string::npos);
  // dot = f32 (generated loops) leaves fuse out (schedule_c23).
  auto f32 = q8->fromJSON(*llvm::json::parse(R"({"dot": "f32"})"));
  ASSERT_TRUE(static_cast<bool>(f32)) << llvm::toString(f32.takeError());
  EXPECT_EQ(q8->toScheduleText(*f32).find("fuse"), std::string::npos);
  // A host without a vector instruction set: the default is f32, no fuse.
  HardwareProfile plain = profile("host");
  plain.features = {};
  auto scalar = spaceOf(matmul(1, "q8_0"), plain);
  ASSERT_TRUE(static_cast<bool>(scalar));
  EXPECT_EQ(scalar->toScheduleText(scalar->getDefault()).find("fuse"),
            std::string::npos);
}

TEST(SearchSpace, AttentionIsFusedOrGeneric) {
  // Attention (iteration space [heads, tokens, kv_len, head_dim]) on a host
  // with AVX2: attn and isa, starting fused.
  HardwareProfile avx2 = profile("host");
  avx2.features = {"avx2", "fma", "f16c"};
  kernelContext().loadDialect<mlir::haqa::HAQADialect>();
  auto fusedDefault = mlir::parseAttribute(
      "#haqa.schedule<cpu_threads = 2, isa = avx2, attn = fused>",
      &kernelContext());
  ASSERT_TRUE(fusedDefault);
  SearchSpace space =
      SearchSpace::get(KernelInfo{"attention", {9, 1, 2048, 64}, "", 5}, avx2,
                       llvm::cast<ScheduleAttr>(fusedDefault));
  EXPECT_EQ(space.toScheduleText(space.getDefault()),
            "#haqa.schedule<cpu_threads = 2, isa = avx2, attn = fused>");
  // Generic: the loop fields and exp, no isa (schedule_c16, c20).
  auto generic = llvm::json::parse(
      R"({"attn": "generic", "tile": [1, 1, 256, 64], "exp": "poly"})");
  auto c = space.fromJSON(*generic);
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  std::string text = space.toScheduleText(*c);
  EXPECT_NE(text.find("tile = [1, 1, 256, 64]"), std::string::npos) << text;
  EXPECT_NE(text.find("exp = poly, attn = generic"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("isa"), std::string::npos) << text;
  // Every sampled schedule verifies.
  std::mt19937_64 rng(5);
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(static_cast<bool>(space.toSchedule(space.sample(rng))));
  auto bad = space.fromJSON(*llvm::json::parse(R"({"attn": "flash"})"));
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError())
                .find("'attn' must be one of generic, fused"),
            std::string::npos);
}

TEST(Strategy, SeededAndReproducible) {
  auto space = spaceOf(matmul(64, "q8_0"), profile("host"));
  ASSERT_TRUE(static_cast<bool>(space));
  for (llvm::StringRef name : {"random", "grid", "local", "bayes", "nsga2"}) {
    std::vector<Config> runs[2];
    for (int r = 0; r < 2; ++r) {
      auto s = createStrategy(name, 7);
      ASSERT_TRUE(static_cast<bool>(s));
      std::vector<Trial> history;
      for (int i = 0; i < 14; ++i) {
        auto c = (*s)->propose(*space, history);
        ASSERT_TRUE(static_cast<bool>(c));
        ASSERT_TRUE(c->has_value());
        EXPECT_FALSE(static_cast<bool>(space->check(**c))) << name.str();
        Trial t;
        t.config = **c;
        t.latencyMs = 1.0 + (t.config[1] % 7) + i * 0.01; // any fixed function
        history.push_back(t);
        runs[r].push_back(**c);
      }
      // No strategy proposes the same point twice in 14 rounds.
      std::set<std::vector<int64_t>> unique;
      for (const Config &c : runs[r])
        unique.insert(std::vector<int64_t>(c.begin(), c.end()));
      EXPECT_EQ(unique.size(), runs[r].size()) << name.str();
    }
    EXPECT_EQ(runs[0], runs[1]) << name.str();
  }
  auto d = createStrategy("default", 0);
  std::vector<Trial> h;
  auto first = (*d)->propose(*space, h);
  ASSERT_TRUE(first && first->has_value());
  EXPECT_EQ(**first, space->getDefault());
  h.push_back(Trial{**first});
  auto second = (*d)->propose(*space, h);
  ASSERT_TRUE(static_cast<bool>(second));
  EXPECT_FALSE(second->has_value());
  auto bad = createStrategy("annealing", 0);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("known: default, random"),
            std::string::npos);
}

/// A strategy whose proposals fail or leave the space.
class Broken final : public Strategy {
public:
  int calls = 0;
  llvm::StringRef getName() const override { return "broken"; }
  llvm::Expected<std::optional<Config>>
  propose(const SearchSpace &space, llvm::ArrayRef<Trial>) override {
    if (calls++ % 2 == 0)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "endpoint unreachable");
    Config c = space.getDefault();
    c[0] = 12345; // out of range
    return c;
  }
};

TEST(Tuner, FailuresAreRecordedAndFallbacksMeasured) {
  auto space = spaceOf(matmul(1, "q4_0"), profile("host"));
  ASSERT_TRUE(static_cast<bool>(space));
  Broken broken;
  int measured = 0;
  std::vector<std::pair<int, Trial>> recorded;
  TuneOptions opts;
  opts.rounds = 4;
  auto result = tuneKernel(
      *space, broken,
      [&](const Config &, ScheduleAttr schedule) {
        ++measured;
        EXPECT_TRUE(schedule);
        Trial t;
        t.latencyMs = 2.0;
        return t;
      },
      [&](const Trial &t, int round) {
        recorded.push_back({round, t});
        return llvm::Error::success();
      },
      {}, opts, 3);
  ASSERT_TRUE(static_cast<bool>(result));
  ASSERT_EQ(result->size(), 4u);
  ASSERT_EQ(recorded.size(), 4u);
  EXPECT_EQ(measured, 2); // the two fallbacks; the invalid ones are not run
  EXPECT_EQ((*result)[0].proposedBy, "broken:fallback");
  EXPECT_NE((*result)[0].message.find("endpoint unreachable"),
            std::string::npos);
  EXPECT_EQ((*result)[1].status, Trial::Invalid);
  EXPECT_NE((*result)[1].message.find("tile[0] = 12345"), std::string::npos);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(recorded[i].first, i);
    // Every trial keeps the point it was proposed at, measured or not.
    const Trial &t = recorded[i].second;
    if (t.status == Trial::Invalid)
      EXPECT_EQ(t.config[0], 12345);
    else
      EXPECT_FALSE(static_cast<bool>(space->check(t.config)));
  }
}

TEST(Strategy, PairedTrialsWinOnlyBeyondTheNoise) {
  auto paired = [](double latency, double s, double lo, double hi) {
    Trial t;
    t.latencyMs = latency;
    t.speedup = s;
    t.speedupLo = lo;
    t.speedupHi = hi;
    t.pairs = 8;
    return t;
  };
  Trial def;
  def.latencyMs = 1.0;
  def.speedup = def.speedupLo = def.speedupHi = 1; // the default itself
  Trial failed;
  failed.status = Trial::Crashed;
  // A fast-looking time (taken in a quiet moment) whose interval holds 1
  // is a tie; the smaller but certain speedup wins.
  std::vector<Trial> h = {def, paired(0.001, 1.3, 0.98, 1.5),
                          paired(0.5, 1.1, 1.02, 1.2), failed};
  EXPECT_EQ(getWinningTrial(h), &h[2]);
  // The best to explore from is the highest median speedup.
  EXPECT_EQ(getBestTrial(h), &h[1]);
  // Ties only: no winner; the default stays.
  std::vector<Trial> ties = {def, paired(0.001, 1.3, 0.98, 1.5),
                             paired(0.9, 0.9, 0.8, 1.01)};
  EXPECT_EQ(getWinningTrial(ties), nullptr);
  // Unpaired records (older runs): lowest latency, and never a winner.
  Trial a, b;
  a.latencyMs = 2;
  b.latencyMs = 1;
  std::vector<Trial> unpaired = {a, b};
  EXPECT_EQ(getBestTrial(unpaired), &unpaired[1]);
  EXPECT_EQ(getWinningTrial(unpaired), nullptr);
}

TEST(Records, TrialsSurviveReopenAndDecisionsAreKept) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("haqa-records", dir));
  std::string path = (dir + "/r.sqlite").str();
  RecordKey key{"matmul [2048,1,2048] q8_0", "host", "abc", "v1"};
  {
    auto store = RecordStore::open(path);
    ASSERT_TRUE(static_cast<bool>(store)) << llvm::toString(store.takeError());
    for (int r = 0; r < 3; ++r) {
      Trial t;
      t.status = r == 1 ? Trial::Crashed : Trial::OK;
      t.latencyMs = 3.0 - r;
      t.message = r == 1 ? "signal 11" : "";
      t.proposedBy = "random";
      llvm::json::Object f{{"tile", llvm::json::Array{1, 16, 256}}};
      ASSERT_FALSE(static_cast<bool>(
          (*store)->addTrial(key, "random", 5, r, t, "#haqa.schedule<>", f)));
    }
  }
  auto store = RecordStore::open(path);
  ASSERT_TRUE(static_cast<bool>(store));
  auto trials = (*store)->getTrials(key, "random", 5);
  ASSERT_TRUE(static_cast<bool>(trials));
  ASSERT_EQ(trials->size(), 3u);
  EXPECT_EQ((*trials)[1].trial.status, Trial::Crashed);
  EXPECT_EQ((*trials)[1].trial.message, "signal 11");
  EXPECT_NE((*trials)[0].fields.get("tile"), nullptr);
  // What a run decided is what a later run reuses; the latest wins.
  auto none = (*store)->getDecision(key);
  ASSERT_TRUE(static_cast<bool>(none));
  EXPECT_FALSE(none->has_value());
  StoredDecision d;
  d.strategy = "random";
  d.seed = 5;
  d.source = "default";
  d.schedule = "#haqa.schedule<>";
  d.fields = llvm::json::Object{{"tile", llvm::json::Array{1, 16, 256}}};
  d.defaultMs = d.bestMs = 3.0;
  ASSERT_FALSE(static_cast<bool>((*store)->addDecision(key, d)));
  d.strategy = "local";
  d.source = "tuned";
  d.bestMs = 2.0;
  d.speedup = 1.5;
  d.speedupLo = 1.4;
  d.speedupHi = 1.6;
  ASSERT_FALSE(static_cast<bool>((*store)->addDecision(key, d)));
  auto got = (*store)->getDecision(key);
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->strategy, "local");
  EXPECT_EQ((*got)->source, "tuned");
  EXPECT_DOUBLE_EQ((*got)->speedupLo, 1.4);
  EXPECT_NE((*got)->fields.get("tile"), nullptr);
  RecordKey other = key;
  other.compilerVersion = "v2";
  auto otherDecision = (*store)->getDecision(other);
  ASSERT_TRUE(static_cast<bool>(otherDecision));
  EXPECT_FALSE(otherDecision->has_value());
  llvm::sys::fs::remove_directories(dir);
}

TEST(Records, PairedTimesRoundTripAndOldFilesGainTheirColumns) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("haqa-records", dir));
  std::string path = (dir + "/r.sqlite").str();
  // A records file of the first schema, with one trial in it.
  {
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, R"sql(
      CREATE TABLE trials (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kernel TEXT NOT NULL, target TEXT NOT NULL, fingerprint TEXT NOT NULL,
        compiler_version TEXT NOT NULL,
        strategy TEXT NOT NULL, seed INTEGER NOT NULL, round INTEGER NOT NULL,
        fields TEXT NOT NULL, schedule TEXT NOT NULL,
        status TEXT NOT NULL, latency_ms REAL, spread_ms REAL,
        max_abs_error REAL, message TEXT, proposed_by TEXT, seconds REAL,
        created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (kernel, target, fingerprint, compiler_version, strategy, seed,
                round));
      INSERT INTO trials (kernel, target, fingerprint, compiler_version,
        strategy, seed, round, fields, schedule, status, latency_ms)
        VALUES ('k', 'host', 'f', 'v0', 'random', 0, 0, '{}', '', 'ok', 2.5);
    )sql",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = RecordStore::open(path);
  ASSERT_TRUE(static_cast<bool>(store)) << llvm::toString(store.takeError());
  auto old = (*store)->getTrials({"k", "host", "f", "v0"}, "random", 0);
  ASSERT_TRUE(old && old->size() == 1);
  EXPECT_DOUBLE_EQ((*old)[0].trial.latencyMs, 2.5);
  EXPECT_EQ((*old)[0].trial.speedup, 0.0); // unpaired
  RecordKey key{"k", "host", "f", "v1"};
  Trial t;
  t.latencyMs = 1.0;
  t.pairedDefaultMs = 1.2;
  t.speedup = 1.19;
  t.speedupLo = 1.1;
  t.speedupHi = 1.25;
  t.pairs = 9;
  ASSERT_FALSE(static_cast<bool>(
      (*store)->addTrial(key, "local", 0, 0, t, "", llvm::json::Object{})));
  auto back = (*store)->getTrials(key, "local", 0);
  ASSERT_TRUE(back && back->size() == 1);
  const Trial &b = (*back)[0].trial;
  EXPECT_DOUBLE_EQ(b.pairedDefaultMs, 1.2);
  EXPECT_DOUBLE_EQ(b.speedup, 1.19);
  EXPECT_DOUBLE_EQ(b.speedupLo, 1.1);
  EXPECT_DOUBLE_EQ(b.speedupHi, 1.25);
  EXPECT_EQ(b.pairs, 9);
  llvm::sys::fs::remove_directories(dir);
}

TEST(Records, UnwritablePathIsAClearError) {
  auto store = RecordStore::open("/nonexistent-dir/x/records.sqlite");
  ASSERT_FALSE(static_cast<bool>(store));
  EXPECT_NE(llvm::toString(store.takeError()).find("/nonexistent-dir/x"),
            std::string::npos);
}

TEST(Records, ADamagedFileSaysWhatToDo) {
  // Not a database at all (a file of the same name overwritten by garbage).
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("records", "sqlite", path));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec);
    os << std::string(8192, 'x');
  }
  auto store = RecordStore::open(path);
  ASSERT_FALSE(static_cast<bool>(store));
  std::string msg = llvm::toString(store.takeError());
  EXPECT_NE(msg.find("move it aside"), std::string::npos) << msg;
  EXPECT_NE(msg.find(".recover"), std::string::npos) << msg;
  llvm::sys::fs::remove(path);
}

} // namespace

namespace {

KernelSpec rope1() {
  KernelSpec s;
  s.kernel = "rope";
  s.ne = {128, 1, 1};
  s.weights = "f32";
  return s;
}

TEST(LLMAgent, RepliesAreParsedFromProseFencesAndPythonDicts) {
  auto space = spaceOf(rope1(), profile("host"));
  ASSERT_TRUE(static_cast<bool>(space));
  auto ok = [&](llvm::StringRef reply) {
    ParsedReply p = parseAgentReply(reply, *space);
    EXPECT_TRUE(p.config.has_value()) << reply.str() << ": " << p.message;
    return p.config ? space->toScheduleText(*p.config) : std::string();
  };
  std::string fenced = ok("Thought: wide vectors.\nAction:\n```json\n"
                          "{\"tile\": [1, 1, 64], \"vector\": 16}\n```");
  EXPECT_NE(fenced.find("tile = [1, 1, 64]"), std::string::npos) << fenced;
  EXPECT_NE(ok("Action: {'tile': [1, 1, 32], 'vector': 8,}")
                .find("tile = [1, 1, 32]"),
            std::string::npos);
  EXPECT_NE(ok("{\"schedule\": {\"unroll\": 8}}").find("unroll = 8"),
            std::string::npos);
  // The Action's JSON wins over an example quoted in the Thought.
  EXPECT_NE(ok("Thought: unlike {\"unroll\": 2} before,\nAction: "
               "{\"unroll\": 4}")
                .find("unroll = 4"),
            std::string::npos);
  ParsedReply p = parseAgentReply("Thought: x", *space);
  EXPECT_EQ(p.thought, "x");

  auto bad = [&](llvm::StringRef reply, ReplyProblem want,
                 llvm::StringRef msg) {
    ParsedReply p = parseAgentReply(reply, *space);
    EXPECT_FALSE(p.config.has_value()) << reply.str();
    EXPECT_EQ(p.problem, want) << reply.str() << ": " << p.message;
    EXPECT_NE(p.message.find(msg.str()), std::string::npos) << p.message;
  };
  bad("Action: {\"tile\": [1, 1, 64], \"vector\": 16", ReplyProblem::Malformed,
      "does not parse");
  bad("Action: {\"tile\": [1, 1, 48]}", ReplyProblem::OutOfRange,
      "tile[2] = 48 is not one of");
  bad("Action: {\"vector\": 3}", ReplyProblem::OutOfRange, "vector = 3");
  bad("I cannot run code.", ReplyProblem::OffTask, "no JSON object");
  bad("{\"answer\": 42}", ReplyProblem::OffTask, "no JSON object");
}

TEST(LLMAgent, TemplatesNameUnknownPlaceholders) {
  llvm::StringMap<std::string> v;
  v["a"] = "1";
  auto ok = fillTemplate("x {{a}} y {{ a }}", v, "t.txt");
  ASSERT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, "x 1 y 1");
  auto bad = fillTemplate("{{b}}", v, "t.txt");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError())
                .find("t.txt: unknown placeholder {{b}} (known: a)"),
            std::string::npos);
  auto shipped = PromptTemplates::load(getDefaultPromptDir());
  ASSERT_TRUE(static_cast<bool>(shipped))
      << llvm::toString(shipped.takeError());
  auto missing = PromptTemplates::load("/nonexistent-prompts");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_NE(llvm::toString(missing.takeError())
                .find("/nonexistent-prompts/kernel-static.txt"),
            std::string::npos);
}

TEST(LLMAgent, HistoryStaysWithinTheTokenBudgetAndKeepsTheBest) {
  auto space = spaceOf(rope1(), profile("host"));
  ASSERT_TRUE(static_cast<bool>(space));
  LLMAgentOptions o;
  o.llm.baseURL = "http://127.0.0.1:1/v1";
  o.llm.model = "m";
  auto t = PromptTemplates::load(getDefaultPromptDir());
  ASSERT_TRUE(static_cast<bool>(t));
  o.prompts = *t;
  o.profile = profile("host");
  o.rounds = 200;
  o.historyTokenBudget = 300;
  LLMStrategy llm(o);
  std::vector<Trial> history;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 150; ++i) {
    Trial tr;
    tr.config = space->sample(rng);
    tr.latencyMs = i == 3 ? 0.0001 : 1.0 + i;
    history.push_back(tr);
  }
  auto p = llm.buildDynamicPrompt(*space, history);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  EXPECT_LT(p->size(), 300u * 4 + 1500) << p->size();
  EXPECT_NE(p->find("older rounds omitted for length"), std::string::npos);
  EXPECT_NE(p->find("Round 4: Action:"), std::string::npos);   // the best
  EXPECT_NE(p->find("Round 150: Action:"), std::string::npos); // the newest
  EXPECT_EQ(p->find("Round 20: Action:"), std::string::npos);
  EXPECT_NE(p->find("Round 151 of 200 (50 left)"), std::string::npos);
}

TEST(LLMAgent, KeysAreRedacted) {
  EXPECT_EQ(redact("key sk-abc123 and sk-abc123", "sk-abc123"),
            "key [redacted] and [redacted]");
  // A key that is part of "[redacted]" itself must not loop forever.
  EXPECT_EQ(redact("key=redacted", "redacted"), "key=[redacted]");
  EXPECT_EQ(redact("Authorization: Bearer xyz789\n", ""),
            "Authorization: Bearer [redacted]\n");
  auto missing = resolveLLMConfig("", "m", "");
  if (!std::getenv("HAQA_LLM_BASE_URL")) {
    ASSERT_FALSE(static_cast<bool>(missing));
    EXPECT_NE(llvm::toString(missing.takeError()).find("HAQA_LLM_BASE_URL"),
              std::string::npos);
  } else {
    llvm::consumeError(missing.takeError());
  }
}

} // namespace
