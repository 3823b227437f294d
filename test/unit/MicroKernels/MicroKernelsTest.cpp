//===- MicroKernelsTest.cpp - Tests of the CPU micro-kernels --------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The scalar kernels against the formulas written out here, and every vector
// variant this host supports against the scalar ones: the quantizer
// bit-exactly, the dots to 1e-5 of the sum of the terms' magnitudes (the
// Q4_K / Q6_K dots also against a double-precision dequantize-then-dot). The
// f16 and bf16 dots of every variant against a double-precision reference,
// to 1e-5 of sum |x w|, and the attention of every variant against one, to
// 1e-5 of the largest output. The fused RMS norm of every variant against a
// double reference to 1e-5 relative, and its epilogue to 1e-5 of the
// magnitudes of its terms.
//
//===----------------------------------------------------------------------===//

#include "haqa/MicroKernels/MicroKernels.h"
#include "haqa/Weights/Dequantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using namespace mlir::haqa;

namespace {

using QuantizeFn = MicroKernelQuantizeFn;
using DotFn = MicroKernelDotFn;
using AttentionFn = MicroKernelAttentionFn;
using RMSNormFn = MicroKernelRMSNormFn;
using EpilogueFn = MicroKernelEpilogueFn;

QuantizeFn getQuantize(const std::string &isa) {
  return reinterpret_cast<QuantizeFn>(
      findMicroKernel("haqa_uk_quantize_q8_" + isa));
}

DotFn getDot(const std::string &fmt, const std::string &isa) {
  return reinterpret_cast<DotFn>(
      findMicroKernel("haqa_uk_dot_" + fmt + "_" + isa));
}

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t get16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void put16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

//===----------------------------------------------------------------------===//
// Registry and f16
//===----------------------------------------------------------------------===//

TEST(MicroKernels, SymbolsAndISAs) {
  std::vector<MicroKernelSymbol> symbols = getMicroKernelSymbols();
  std::vector<const char *> isas = getMicroKernelISAs();
  ASSERT_FALSE(isas.empty());
  EXPECT_STREQ(isas.front(), "scalar");
  EXPECT_EQ(symbols.size(), 11 * isas.size());
  for (const char *isa : isas) {
    for (const char *op :
         {"quantize_q8_", "dot_q8_0_", "dot_q4_0_", "dot_q4_1_", "dot_q4_k_",
          "dot_q6_k_", "dot_f16_", "dot_bf16_", "attention_f32_",
          "rms_norm_f32_", "epilogue_f32_"}) {
      std::string name = std::string("haqa_uk_") + op + isa;
      EXPECT_NE(findMicroKernel(name), nullptr) << name;
    }
    std::printf("[          ] %s: %s\n", isa,
                isMicroKernelISASupported(isa) ? "supported" : "not supported");
  }
  EXPECT_TRUE(isMicroKernelISASupported("scalar"));
  EXPECT_FALSE(isMicroKernelISASupported("sse9"));
  EXPECT_FALSE(isMicroKernelISASupported(nullptr));
  EXPECT_EQ(getQ8ActivationRowBytes(2048), 36 * 64);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/// The cpuid-based checks agree with GCC's.
TEST(MicroKernels, ISASupportMatchesBuiltins) {
  __builtin_cpu_init();
  const bool base = __builtin_cpu_supports("avx2") &&
                    __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("f16c");
  EXPECT_EQ(isMicroKernelISASupported("avx2"), base);
  EXPECT_EQ(isMicroKernelISASupported("avxvnni"),
            base && __builtin_cpu_supports("avxvnni"));
  EXPECT_EQ(isMicroKernelISASupported("avx512vnni"),
            base && __builtin_cpu_supports("avx512f") &&
                __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512vnni"));
}
#endif

TEST(MicroKernels, HalfToFloatMatchesWeights) {
  for (uint32_t h = 0; h < 65536; ++h)
    ASSERT_EQ(bitsOf(microKernelHalfToFloat(static_cast<uint16_t>(h))),
              bitsOf(halfToFloat(static_cast<uint16_t>(h))))
        << "half 0x" << std::hex << h;
}

/// microKernelBF16ToFloat: exact values, and every bf16 is the top half of
/// its float (NaN payloads kept).
TEST(MicroKernels, BF16ToFloat) {
  EXPECT_EQ(microKernelBF16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(microKernelBF16ToFloat(0xc000), -2.0f);
  EXPECT_EQ(microKernelBF16ToFloat(0x7f80), INFINITY);
  EXPECT_EQ(microKernelBF16ToFloat(0xff80), -INFINITY);
  EXPECT_EQ(microKernelBF16ToFloat(0x4049), 3.140625f);
  EXPECT_EQ(microKernelBF16ToFloat(0x0080), FLT_MIN);
  EXPECT_EQ(microKernelBF16ToFloat(0x0001), std::ldexp(1.0f, -133));
  EXPECT_TRUE(std::isnan(microKernelBF16ToFloat(0x7fc0)));
  EXPECT_EQ(bitsOf(microKernelBF16ToFloat(0x8000)), 0x80000000u);
  for (uint32_t b = 0; b < 65536; ++b)
    ASSERT_EQ(bitsOf(microKernelBF16ToFloat(static_cast<uint16_t>(b))), b << 16)
        << "bf16 0x" << std::hex << b;
}

TEST(MicroKernels, FloatToHalfMatchesWeights) {
  auto check = [](float f) {
    ASSERT_EQ(microKernelFloatToHalf(f), floatToHalf(f))
        << "float bits 0x" << std::hex << bitsOf(f);
  };
  // Every half, its neighbours, and the rounding boundaries between halves
  // (exact ties and one float ulp either side), both signs.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    float a = halfToFloat(static_cast<uint16_t>(h));
    float b = halfToFloat(static_cast<uint16_t>(h + 1));
    float mid = a + (b - a) * 0.5f; // exact: one more bit than a half has
    for (float f :
         {a, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY),
          std::nextafter(a, INFINITY), std::nextafter(a, 0.0f)}) {
      check(f);
      check(-f);
    }
  }
  // A sweep over all float bit patterns, NaNs and infinities included.
  for (uint64_t u = 0; u < (1ull << 32); u += 997)
    check(floatOf(static_cast<uint32_t>(u)));
  for (float f : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MAX,
                  -FLT_MAX, FLT_MIN, FLT_TRUE_MIN, 65504.0f, 65519.99f,
                  65520.0f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f})
    check(f);
}

//===----------------------------------------------------------------------===//
// Quantizer
//===----------------------------------------------------------------------===//

/// Blocks of 32 floats covering the quantizer's corner cases, then random
/// ones of many magnitudes.
std::vector<float> quantizerInputs(int randomBlocks, bool finiteOnly) {
  std::vector<float> x;
  auto block = [&](auto valueAt) {
    for (int j = 0; j < 32; ++j)
      x.push_back(valueAt(j));
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  // amax 127 (d = 1, id = 1) and amax 254 (d = 2, id = 0.5): exact ties
  // k + 0.5 and the floats next to them.
  for (float amax : {127.0f, 254.0f}) {
    float scale = amax / 127.0f;
    block([&](int j) { return j == 0 ? amax : scale * (j - 16 + 0.5f); });
    block([&](int j) { return j == 0 ? -amax : -scale * (j * 3.5f - 60.0f); });
    block([&](int j) {
      float t = (j - 16) + 0.5f;
      return j == 0 ? amax
                    : scale * std::nextafter(t, j & 1 ? INFINITY : -INFINITY);
    });
    block([&](int j) {
      return j == 31 ? amax : scale * std::nextafter(0.5f * j, 0.0f);
    });
  }
  block([](int) { return 0.0f; });
  block([](int) { return -0.0f; });
  block([](int j) { return j & 1 ? 0.0f : -0.0f; });
  block([](int j) { return j == 5 ? 1.0f : (j & 1 ? 0.0f : -0.0f); });
  block([](int j) { return j == 7 ? -3.0e-7f : 0.0f; });
  // Denormals: alone (d underflows, 1 / d is infinite), with a tiny normal,
  // and next to a normal value.
  block([](int j) { return (j - 16) * FLT_TRUE_MIN; });
  block([](int j) { return (j - 16) * 1000 * FLT_TRUE_MIN; });
  block([](int j) { return (j & 1 ? -1.0f : 1.0f) * j * 1.0e-39f; });
  block([](int j) { return j == 3 ? 4.0e-37f : j * 1.0e-40f; });
  block([](int j) { return j == 3 ? 1.0f : j * 1.0e-40f; });
  block([](int j) { return j == 9 ? FLT_MIN : -j * FLT_TRUE_MIN; });
  // Large values.
  block([](int j) { return j == 0 ? FLT_MAX : -FLT_MAX * (j / 31.0f); });
  block([](int j) { return 1.0e38f * ((j % 7) - 3); });
  block([](int j) { return 3.0e5f * (j - 15.5f); });
  // Values whose products with id land on .5 only after rounding.
  block([](int j) { return j == 0 ? 1.0f : j * (1.0f / 254.0f); });
  block([](int j) { return j == 0 ? 0.1f : j * 0.0003937008f; });
  if (!finiteOnly) {
    block([](int j) { return j == 4 ? NAN : j - 12.0f; });
    block([](int j) { return j == 4 ? -NAN : 0.0f; });
    block([](int j) { return j == 9 ? INFINITY : j - 12.0f; });
    block([](int j) { return j == 9 ? -INFINITY : (j == 2 ? NAN : 1.0f); });
    block([](int) { return NAN; });
  }
  for (int b = 0; b < randomBlocks; ++b) {
    float scale = std::ldexp(1.0f, static_cast<int>(rng() % 200) - 100);
    int kind = b % 4;
    block([&](int) {
      float v = uni(rng) * scale;
      if (kind == 1)
        v = std::round(v * 4.0f) * 0.25f; // many exact quarters and halves
      if (kind == 2)
        v = std::round(uni(rng) * 127.0f) + (rng() % 2 ? 0.5f : 0.0f);
      if (kind == 3 && rng() % 5 == 0)
        v = 0.0f;
      return v;
    });
  }
  return x;
}

/// The quantizer as written in the brief of this library: roundf with no
/// clamping, defined for finite inputs.
std::vector<uint8_t> quantizeByFormula(const std::vector<float> &x) {
  std::vector<uint8_t> out(x.size() / 32 * 36);
  for (size_t b = 0; b < x.size() / 32; ++b) {
    const float *xb = &x[b * 32];
    uint8_t *ob = &out[b * 36];
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(xb[j]));
    float d = amax / 127;
    float id = d ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      int q = static_cast<int>(std::roundf(xb[j] * id));
      ob[4 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
      sum += q;
    }
    put16(ob, floatToHalf(d));
    put16(ob + 2, floatToHalf(d * sum));
  }
  return out;
}

TEST(MicroKernels, ScalarQuantizeMatchesFormula) {
  std::vector<float> x = quantizerInputs(2000, /*finiteOnly=*/true);
  // Blocks whose d underflows (1 / d infinite) have no defined result in the
  // formula; compare the others.
  std::vector<uint8_t> expected = quantizeByFormula(x);
  std::vector<uint8_t> got(expected.size());
  haqa_uk_quantize_q8_scalar(x.data(), 0, 1, x.size(), got.data(), 0);
  int compared = 0;
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[b * 32 + j]));
    if (std::isinf(1.0f / (amax / 127)) && amax != 0.0f)
      continue;
    ++compared;
    ASSERT_EQ(0, std::memcmp(&expected[b * 36], &got[b * 36], 36))
        << "block " << b;
  }
  EXPECT_GT(compared, 2000);
  // Underflowing blocks saturate: q stays in [-127, 127], zeros stay 0.
  std::vector<float> tiny(32);
  for (int j = 0; j < 32; ++j)
    tiny[j] = (j - 16) * 1000 * FLT_TRUE_MIN;
  uint8_t ob[36];
  haqa_uk_quantize_q8_scalar(tiny.data(), 32, 1, 32, ob, 36);
  for (int j = 0; j < 32; ++j)
    EXPECT_EQ(static_cast<int8_t>(ob[4 + j]),
              j < 16 ? -127 : (j == 16 ? 0 : 127));
}

class MicroKernelsISA : public testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    isa = GetParam();
    if (!findMicroKernel("haqa_uk_quantize_q8_" + isa))
      GTEST_SKIP() << isa << " is not compiled for this architecture";
    if (!isMicroKernelISASupported(isa.c_str()))
      GTEST_SKIP() << isa << " is not supported on this host";
  }
  std::string isa;
};

TEST_P(MicroKernelsISA, QuantizeMatchesScalar) {
  QuantizeFn quantize = getQuantize(isa);
  ASSERT_NE(quantize, nullptr);
  std::vector<float> x = quantizerInputs(20000, /*finiteOnly=*/false);
  const int64_t k = x.size();
  std::vector<uint8_t> expected(getQ8ActivationRowBytes(k)),
      got(expected.size());
  haqa_uk_quantize_q8_scalar(x.data(), k, 1, k, expected.data(), 0);
  quantize(x.data(), k, 1, k, got.data(), 0);
  for (int64_t b = 0; b < k / 32; ++b)
    ASSERT_EQ(0, std::memcmp(&expected[b * 36], &got[b * 36], 36))
        << isa << " block " << b;

  // Several rows with strides: rows of 96 values 100 floats apart, into
  // rows 120 bytes apart whose padding stays untouched.
  const int64_t rows = 7, kr = 96, xStride = 100, outStride = 120;
  std::vector<uint8_t> e2(rows * outStride, 0xAB), g2(rows * outStride, 0xAB);
  haqa_uk_quantize_q8_scalar(x.data(), xStride, rows, kr, e2.data(), outStride);
  quantize(x.data(), xStride, rows, kr, g2.data(), outStride);
  EXPECT_EQ(e2, g2);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = getQ8ActivationRowBytes(kr); i < outStride; ++i)
      EXPECT_EQ(g2[r * outStride + i], 0xAB);
}

//===----------------------------------------------------------------------===//
// Dots
//===----------------------------------------------------------------------===//

struct Format {
  const char *name;
  int64_t blockBytes;
  /// Values per block: 32, or 256 for the K-quant super-blocks.
  int64_t blockValues = 32;
  /// Bytes of a weight row of k values.
  int64_t rowBytes(int64_t k) const { return k / blockValues * blockBytes; }
};
const Format kFormats[] = {{"q8_0", 34}, {"q4_0", 18}, {"q4_1", 20}};

/// A finite f16 of magnitude in [2^-9, 2^2), random sign.
uint16_t randomScale(std::mt19937 &rng) {
  uint16_t exp = static_cast<uint16_t>(6 + rng() % 11);
  return static_cast<uint16_t>((rng() & 1) << 15 | exp << 10 | (rng() & 0x3ff));
}

/// Weight rows of random blocks; one block in seven holds the extremes
/// (-128 / 127 for Q8_0, nibbles 0 and 15 for Q4).
std::vector<uint8_t> randomWeights(const Format &f, int64_t rows,
                                   int64_t blocks, std::mt19937 &rng) {
  std::vector<uint8_t> w(rows * blocks * f.blockBytes);
  for (uint8_t &b : w)
    b = static_cast<uint8_t>(rng());
  const bool q41 = std::string(f.name) == "q4_1";
  const int64_t qsOffset = q41 ? 4 : 2;
  for (int64_t i = 0; i < rows * blocks; ++i) {
    uint8_t *blk = &w[i * f.blockBytes];
    put16(blk, randomScale(rng));
    if (q41)
      put16(blk + 2, randomScale(rng));
    int kind = rng() % 7;
    for (int64_t j = qsOffset; j < f.blockBytes; ++j) {
      if (kind == 0)
        blk[j] = f.blockBytes == 34 ? 0x80 : 0x00; // -128, nibbles 0
      else if (kind == 1)
        blk[j] = f.blockBytes == 34 ? 0x7f : 0xff; // 127, nibbles 15
      else if (kind == 2)
        blk[j] = f.blockBytes == 34 ? (j & 1 ? 0x80 : 0x7f) : 0xf0;
    }
  }
  return w;
}

/// Activation rows quantized by the scalar quantizer from random floats; some
/// blocks zero, some at +-amax only.
std::vector<uint8_t> randomActivations(int64_t rows, int64_t k,
                                       int64_t rowBytes, std::mt19937 &rng) {
  std::vector<float> x(rows * k);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t b = 0; b < rows * k / 32; ++b) {
    int kind = rng() % 9;
    float scale = std::ldexp(1.0f, static_cast<int>(rng() % 12) - 6);
    for (int j = 0; j < 32; ++j) {
      float v = normal(rng) * scale;
      if (kind == 0)
        v = 0.0f;
      else if (kind == 1)
        v = (rng() & 1) ? scale : -scale;
      x[b * 32 + j] = v;
    }
  }
  std::vector<uint8_t> xq(rows * rowBytes);
  haqa_uk_quantize_q8_scalar(x.data(), k, rows, k, xq.data(), rowBytes);
  return xq;
}

/// The dot as written in the brief; `magnitude` gets sum |terms| in double.
float dotByFormula(const Format &f, const uint8_t *wRow, const uint8_t *xRow,
                   int64_t blocks, double *magnitude) {
  const std::string fmt = f.name;
  float acc = 0;
  double mag = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t *wb = wRow + b * f.blockBytes;
    const uint8_t *xb = xRow + b * 36;
    const int8_t *xq = reinterpret_cast<const int8_t *>(xb + 4);
    int sumi = 0;
    for (int j = 0; j < 32; ++j) {
      int wq;
      if (fmt == "q8_0")
        wq = static_cast<int8_t>(wb[2 + j]);
      else {
        uint8_t byte = wb[(fmt == "q4_1" ? 4 : 2) + j % 16];
        wq = j < 16 ? byte & 15 : byte >> 4;
        if (fmt == "q4_0")
          wq -= 8;
      }
      sumi += wq * xq[j];
    }
    float dw = halfToFloat(get16(wb)), dx = halfToFloat(get16(xb));
    if (fmt == "q4_1") {
      float mw = halfToFloat(get16(wb + 2)), sx = halfToFloat(get16(xb + 2));
      acc += dw * dx * sumi + mw * sx;
      mag += std::fabs(double(dw) * dx * sumi) + std::fabs(double(mw) * sx);
    } else {
      acc += dw * dx * sumi;
      mag += std::fabs(double(dw) * dx * sumi);
    }
  }
  if (magnitude)
    *magnitude = mag;
  return acc;
}

/// The K of the brief, and 928 (29 blocks), whose remainders after the
/// 512-bit steps exercise the 256-bit steps of every nr.
const int64_t kDotKs[] = {32, 64, 576, 928, 1536};

struct DotCase {
  int64_t k, rowsM, n0, n1, mr, nr;
};

/// Every case of the brief for one K: mr, nr in {1, 2, 4}, rows_m in
/// {1, 2, 3, 5, 8}, n ranges with odd edges; and nr = 16 (packed panels on
/// avx512vnni, K-quants included: two panels and 5 rows left, or one panel
/// between odd edges; the other ISAs take it as 4).
std::vector<DotCase> dotCasesFor(int64_t k) {
  std::vector<DotCase> cases;
  const int64_t nRanges[][2] = {{0, 13}, {3, 12}, {5, 6}, {1, 8}};
  const int64_t panelRanges[][2] = {{0, 37}, {3, 22}, {1, 8}};
  for (int64_t rowsM : {1, 2, 3, 5, 8})
    for (int64_t mr : {1, 2, 4}) {
      for (const auto &nr01 : nRanges)
        for (int64_t nr : {1, 2, 4})
          cases.push_back({k, rowsM, nr01[0], nr01[1], mr, nr});
      for (const auto &nr01 : panelRanges)
        cases.push_back({k, rowsM, nr01[0], nr01[1], mr, 16});
    }
  return cases;
}

/// The cases of dotCasesFor for every K in kDotKs.
std::vector<DotCase> dotCases() {
  std::vector<DotCase> cases;
  for (int64_t k : kDotKs) {
    std::vector<DotCase> forK = dotCasesFor(k);
    cases.insert(cases.end(), forK.begin(), forK.end());
  }
  return cases;
}

constexpr int64_t kWeightRows = 37;
constexpr int64_t kMaxRowsM = 8;

/// Runs `dot` on one case; y rows are y_stride = n1 + 5 apart and every
/// element outside [0, rows_m) x [n0, n1) must stay NaN.
std::vector<float> runDot(DotFn dot, const Format &f,
                          const std::vector<uint8_t> &w,
                          const std::vector<uint8_t> &xq, int64_t xRowBytes,
                          const DotCase &c) {
  const int64_t blocks = c.k / 32, ys = c.n1 + 5;
  std::vector<float> y((kMaxRowsM + 1) * ys, NAN);
  dot(w.data(), f.rowBytes(c.k), xq.data(), xRowBytes, y.data(), ys, c.rowsM,
      c.n0, c.n1, blocks, c.mr, c.nr);
  for (int64_t m = 0; m <= kMaxRowsM; ++m)
    for (int64_t n = 0; n < ys; ++n)
      if (m >= c.rowsM || n < c.n0 || n >= c.n1) {
        EXPECT_TRUE(std::isnan(y[m * ys + n]))
            << "wrote y[" << m << "][" << n << "]";
      }
  return y;
}

/// Activation rows padded: row bytes larger than the blocks need.
int64_t xRowBytesFor(int64_t k) { return getQ8ActivationRowBytes(k) + 12; }

TEST(MicroKernels, ScalarDotMatchesFormula) {
  std::mt19937 rng(11);
  for (const Format &f : kFormats) {
    DotFn dot = getDot(f.name, "scalar");
    ASSERT_NE(dot, nullptr);
    for (int64_t k : kDotKs) {
      const int64_t blocks = k / 32, xRowBytes = xRowBytesFor(k);
      std::vector<uint8_t> w = randomWeights(f, kWeightRows, blocks, rng);
      std::vector<uint8_t> xq = randomActivations(kMaxRowsM, k, xRowBytes, rng);
      for (const DotCase &c : dotCases()) {
        if (c.k != k)
          continue;
        std::vector<float> y = runDot(dot, f, w, xq, xRowBytes, c);
        const int64_t ys = c.n1 + 5;
        for (int64_t m = 0; m < c.rowsM; ++m)
          for (int64_t n = c.n0; n < c.n1; ++n) {
            float expected = dotByFormula(f, &w[n * blocks * f.blockBytes],
                                          &xq[m * xRowBytes], blocks, nullptr);
            ASSERT_EQ(bitsOf(expected), bitsOf(y[m * ys + n]))
                << f.name << " K=" << k << " m=" << m << " n=" << n
                << " mr=" << c.mr << " nr=" << c.nr;
          }
      }
    }
  }
}

void checkDotAgainstScalar(const std::string &isa, const Format &f) {
  DotFn dot = getDot(f.name, isa), ref = getDot(f.name, "scalar");
  ASSERT_NE(dot, nullptr);
  std::mt19937 rng(13);
  double worst = 0;
  int64_t checked = 0;
  for (int64_t k : kDotKs) {
    const int64_t blocks = k / 32, xRowBytes = xRowBytesFor(k);
    std::vector<uint8_t> w = randomWeights(f, kWeightRows, blocks, rng);
    std::vector<uint8_t> xq = randomActivations(kMaxRowsM, k, xRowBytes, rng);
    std::vector<double> magnitude(kMaxRowsM * kWeightRows);
    for (int64_t m = 0; m < kMaxRowsM; ++m)
      for (int64_t n = 0; n < kWeightRows; ++n)
        dotByFormula(f, &w[n * blocks * f.blockBytes], &xq[m * xRowBytes],
                     blocks, &magnitude[m * kWeightRows + n]);
    for (const DotCase &c : dotCases()) {
      if (c.k != k)
        continue;
      std::vector<float> expected = runDot(ref, f, w, xq, xRowBytes, c);
      std::vector<float> got = runDot(dot, f, w, xq, xRowBytes, c);
      const int64_t ys = c.n1 + 5;
      for (int64_t m = 0; m < c.rowsM; ++m)
        for (int64_t n = c.n0; n < c.n1; ++n) {
          double mag = magnitude[m * kWeightRows + n];
          double err =
              std::fabs(double(got[m * ys + n]) - expected[m * ys + n]);
          ++checked;
          if (mag > 0)
            worst = std::max(worst, err / mag);
          ASSERT_LE(err, 1e-5 * mag)
              << isa << " " << f.name << " K=" << k << " rows_m=" << c.rowsM
              << " n0=" << c.n0 << " n1=" << c.n1 << " mr=" << c.mr
              << " nr=" << c.nr << " m=" << m << " n=" << n << ": "
              << got[m * ys + n] << " vs " << expected[m * ys + n];
        }
    }
  }
  std::printf("[          ] %s %s: %lld outputs, worst error %.3g of sum "
              "|terms|\n",
              isa.c_str(), f.name, static_cast<long long>(checked), worst);
}

TEST_P(MicroKernelsISA, DotQ8_0MatchesScalar) {
  checkDotAgainstScalar(isa, kFormats[0]);
}
TEST_P(MicroKernelsISA, DotQ4_0MatchesScalar) {
  checkDotAgainstScalar(isa, kFormats[1]);
}
TEST_P(MicroKernelsISA, DotQ4_1MatchesScalar) {
  checkDotAgainstScalar(isa, kFormats[2]);
}

/// Degenerate calls, register blocks outside {1, 2, 4} and activation rows
/// straight from this ISA's quantizer.
TEST_P(MicroKernelsISA, DotEdgeCalls) {
  std::mt19937 rng(17);
  for (const Format &f : kFormats) {
    DotFn dot = getDot(f.name, isa), ref = getDot(f.name, "scalar");
    const int64_t k = 96, blocks = 3, xRowBytes = getQ8ActivationRowBytes(k);
    std::vector<uint8_t> w = randomWeights(f, kWeightRows, blocks, rng);
    std::vector<float> x(kMaxRowsM * k);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    for (float &v : x)
      v = normal(rng);
    std::vector<uint8_t> xq(kMaxRowsM * xRowBytes);
    getQuantize(isa)(x.data(), k, kMaxRowsM, k, xq.data(), xRowBytes);
    // blocks = 0: zeros; n0 == n1 or rows_m = 0: nothing written.
    std::vector<float> y(kWeightRows, NAN);
    dot(w.data(), blocks * f.blockBytes, xq.data(), xRowBytes, y.data(), 0, 1,
        2, 5, 0, 1, 4);
    for (int n = 0; n < kWeightRows; ++n)
      EXPECT_EQ(std::isnan(y[n]), n < 2 || n >= 5);
    for (int n = 2; n < 5; ++n)
      EXPECT_EQ(y[n], 0.0f);
    std::vector<float> untouched(kWeightRows, NAN);
    dot(w.data(), blocks * f.blockBytes, xq.data(), xRowBytes, untouched.data(),
        0, 1, 4, 4, blocks, 1, 1);
    dot(w.data(), blocks * f.blockBytes, xq.data(), xRowBytes, untouched.data(),
        0, 0, 0, kWeightRows, blocks, 1, 1);
    for (float v : untouched)
      EXPECT_TRUE(std::isnan(v));
    // mr = 3 acts as 2, nr = 8 as 4, mr = 0 as 1.
    for (int64_t mr : {0, 3, 8})
      for (int64_t nr : {-1, 3, 8}) {
        DotCase c{k, 7, 1, 12, mr, nr};
        std::vector<float> e = runDot(ref, f, w, xq, xRowBytes, c);
        std::vector<float> g = runDot(dot, f, w, xq, xRowBytes, c);
        const int64_t ys = c.n1 + 5;
        for (int64_t m = 0; m < c.rowsM; ++m)
          for (int64_t n = c.n0; n < c.n1; ++n) {
            double mag;
            dotByFormula(f, &w[n * blocks * f.blockBytes], &xq[m * xRowBytes],
                         blocks, &mag);
            EXPECT_LE(std::fabs(double(g[m * ys + n]) - e[m * ys + n]),
                      1e-5 * mag)
                << f.name << " mr=" << mr << " nr=" << nr;
          }
      }
  }
}

//===----------------------------------------------------------------------===//
// K-quant dots (Q4_K, Q6_K)
//===----------------------------------------------------------------------===//

const Format kKFormats[] = {{"q4_k", 144, 256}, {"q6_k", 210, 256}};

/// Multiples of 256: one super-block, two, and Qwen2.5-1.5B's hidden size
/// and 2304 (72 activation blocks).
const int64_t kKDotKs[] = {256, 512, 1536, 2304};

bool isQ4K(const Format &f) { return std::string(f.name) == "q4_k"; }

/// A finite f16 of magnitude in [2^-14, 2^-4), the sign negative one time in
/// four: the range of ggml's K-quant d and dmin.
uint16_t randomKScale(std::mt19937 &rng) {
  uint16_t exp = static_cast<uint16_t>(1 + rng() % 11);
  return static_cast<uint16_t>((rng() % 4 == 0) << 15 | exp << 10 |
                               (rng() & 0x3ff));
}

/// Weight rows of random valid super-blocks: random scale bytes and quants,
/// random f16 d (and dmin); one in five holds the extremes (Q4_K: nibbles 0
/// or 15, scales and mins 63; Q6_K: q = 0 or 63, scales -128 or 127).
std::vector<uint8_t> randomKWeights(const Format &f, int64_t rows,
                                    int64_t superBlocks, std::mt19937 &rng) {
  std::vector<uint8_t> w(rows * superBlocks * f.blockBytes);
  for (uint8_t &b : w)
    b = static_cast<uint8_t>(rng());
  for (int64_t i = 0; i < rows * superBlocks; ++i) {
    uint8_t *blk = &w[i * f.blockBytes];
    const int kind = rng() % 10;
    if (isQ4K(f)) {
      put16(blk, randomKScale(rng));
      put16(blk + 2, randomKScale(rng));
      if (kind < 2) {
        std::memset(blk + 4, 0xff, 12);
        std::memset(blk + 16, kind == 0 ? 0x00 : 0xff, 128);
      }
    } else {
      put16(blk + 208, randomKScale(rng));
      if (kind < 2) {
        std::memset(blk, kind == 0 ? 0x00 : 0xff, 192);
        std::memset(blk + 192, kind == 0 ? 0x7f : 0x80, 16);
      }
    }
  }
  return w;
}

/// Q4_K's sub-block j scale and min, as ggml's get_scale_min_k4.
void q4KScaleMinRef(int j, const uint8_t *q, int &sc, int &m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/// Quant value 32 j + l (j < 8, l < 32) of a super-block: the nibble (Q4_K)
/// or q - 32 (Q6_K); its scale (sc_j, or the Q6_K scale of l's half) and,
/// for Q4_K, its min m_j.
void kQuantAt(const Format &f, const uint8_t *blk, int j, int l, int &q,
              int &sc, int &mn) {
  if (isQ4K(f)) {
    q = (blk[16 + 32 * (j / 2) + l] >> (4 * (j % 2))) & 15;
    q4KScaleMinRef(j, blk + 4, sc, mn);
  } else {
    const int h = j / 4, c = j % 4;
    q = (((blk[64 * h + 32 * (c & 1) + l] >> (4 * (c >> 1))) & 15) |
         (((blk[128 + 32 * h + l] >> (2 * c)) & 3) << 4)) -
        32;
    sc = static_cast<int8_t>(blk[192 + 8 * h + 2 * c + l / 16]);
    mn = 0;
  }
}

/// The 256 values of a super-block in double.
void dequantizeKDouble(const Format &f, const uint8_t *blk, double *out) {
  const double d = halfToFloat(get16(blk + (isQ4K(f) ? 0 : 208)));
  const double dmin = isQ4K(f) ? halfToFloat(get16(blk + 2)) : 0.0;
  for (int j = 0; j < 8; ++j)
    for (int l = 0; l < 32; ++l) {
      int q, sc, mn;
      kQuantAt(f, blk, j, l, q, sc, mn);
      out[32 * j + l] = d * sc * q - dmin * mn;
    }
}

/// The K-quant dot as written in the brief (the scalar reference, in the
/// same float operations); `magnitude` gets sum |terms| in double, `ref` the
/// double-precision dot of the dequantized weights with x.d * xq, and
/// `sDeviation` sum |dmin * m_j| * |x.s - x.d * sum(xq)|: how far the Q4_K
/// terms' f16 x.s take the formula from that dot.
float kDotByFormula(const Format &f, const uint8_t *wRow, const uint8_t *xRow,
                    int64_t blocks, double *magnitude = nullptr,
                    double *ref = nullptr, double *sDeviation = nullptr) {
  float acc = 0;
  double mag = 0, dot = 0, dev = 0;
  for (int64_t s = 0; s < blocks / 8; ++s) {
    const uint8_t *blk = wRow + s * f.blockBytes;
    double values[256];
    dequantizeKDouble(f, blk, values);
    const float d = halfToFloat(get16(blk + (isQ4K(f) ? 0 : 208)));
    for (int j = 0; j < 8; ++j) {
      const uint8_t *xb = xRow + (8 * s + j) * 36;
      const int8_t *xq = reinterpret_cast<const int8_t *>(xb + 4);
      const float dx = halfToFloat(get16(xb)), sx = halfToFloat(get16(xb + 2));
      int sumi[2] = {0, 0}, sc[2] = {0, 0}, mn = 0, xsum = 0;
      for (int l = 0; l < 32; ++l) {
        int q;
        kQuantAt(f, blk, j, l, q, sc[l / 16], mn);
        sumi[l / 16] += q * xq[l];
        xsum += xq[l];
        dot += values[32 * j + l] * (double(dx) * xq[l]);
      }
      if (isQ4K(f)) {
        const float dmin = halfToFloat(get16(blk + 2));
        const int si = sumi[0] + sumi[1];
        acc += (d * float(sc[0])) * dx * float(si) - (dmin * float(mn)) * sx;
        mag += std::fabs(double(d) * sc[0] * dx * si) +
               std::fabs(double(dmin) * mn * sx);
        dev += std::fabs(double(dmin) * mn) *
               std::fabs(double(sx) - double(dx) * xsum);
      } else {
        const int si = sc[0] * sumi[0] + sc[1] * sumi[1];
        acc += d * dx * float(si);
        mag += std::fabs(double(d) * dx * si);
      }
    }
  }
  if (magnitude)
    *magnitude = mag;
  if (ref)
    *ref = dot;
  if (sDeviation)
    *sDeviation = dev;
  return acc;
}

/// The test's layouts agree with the model loader's dequantizer (float: one
/// rounding of the exact double).
TEST(MicroKernels, KQuantLayoutsMatchDequantize) {
  std::mt19937 rng(19);
  for (const Format &f : kKFormats) {
    const int64_t superBlocks = 64;
    std::vector<uint8_t> w = randomKWeights(f, 1, superBlocks, rng);
    std::vector<float> got(superBlocks * 256);
    const uint32_t type =
        static_cast<uint32_t>(isQ4K(f) ? GGMLType::Q4_K : GGMLType::Q6_K);
    if (llvm::Error e = dequantize(type, w, got))
      FAIL() << llvm::toString(std::move(e));
    for (int64_t s = 0; s < superBlocks; ++s) {
      double expected[256];
      dequantizeKDouble(f, &w[s * f.blockBytes], expected);
      for (int i = 0; i < 256; ++i)
        ASSERT_LE(std::fabs(got[s * 256 + i] - expected[i]),
                  std::fabs(expected[i]) * 0x1p-24)
            << f.name << " super-block " << s << " value " << i;
    }
  }
}

/// The scalar K-quant dot: bit-exactly the formula, and the double-precision
/// dequantize-then-dot to 1e-5 of the terms' magnitudes plus the f16 x.s
/// deviation (Q4_K).
TEST(MicroKernels, ScalarKQuantDotMatchesFormula) {
  std::mt19937 rng(23);
  for (const Format &f : kKFormats) {
    DotFn dot = getDot(f.name, "scalar");
    ASSERT_NE(dot, nullptr);
    double worst = 0;
    for (int64_t k : kKDotKs) {
      const int64_t blocks = k / 32, xRowBytes = xRowBytesFor(k);
      std::vector<uint8_t> w = randomKWeights(f, kWeightRows, blocks / 8, rng);
      std::vector<uint8_t> xq = randomActivations(kMaxRowsM, k, xRowBytes, rng);
      for (const DotCase &c : dotCasesFor(k)) {
        std::vector<float> y = runDot(dot, f, w, xq, xRowBytes, c);
        const int64_t ys = c.n1 + 5;
        for (int64_t m = 0; m < c.rowsM; ++m)
          for (int64_t n = c.n0; n < c.n1; ++n) {
            double mag, ref, dev;
            float expected =
                kDotByFormula(f, &w[n * f.rowBytes(k)], &xq[m * xRowBytes],
                              blocks, &mag, &ref, &dev);
            ASSERT_EQ(bitsOf(expected), bitsOf(y[m * ys + n]))
                << f.name << " K=" << k << " m=" << m << " n=" << n
                << " mr=" << c.mr << " nr=" << c.nr;
            const double err = std::fabs(double(y[m * ys + n]) - ref) - dev;
            if (mag > 0)
              worst = std::max(worst, err / mag);
            ASSERT_LE(err, 1e-5 * mag) << f.name << " K=" << k;
          }
      }
    }
    std::printf("[          ] scalar %s: worst error %.3g of sum |terms| "
                "against the double dot\n",
                f.name, worst);
  }
}

/// A vector K-quant dot against the scalar one (1e-5 of the terms'
/// magnitudes) and against the double-precision dequantize-then-dot (the
/// same plus the f16 x.s deviation), over every register block and edge.
void checkKDot(const std::string &isa, const Format &f) {
  DotFn dot = getDot(f.name, isa), scalar = getDot(f.name, "scalar");
  ASSERT_NE(dot, nullptr);
  std::mt19937 rng(29);
  double worst = 0, worstRef = 0;
  int64_t checked = 0;
  for (int64_t k : kKDotKs) {
    const int64_t blocks = k / 32, xRowBytes = xRowBytesFor(k);
    std::vector<uint8_t> w = randomKWeights(f, kWeightRows, blocks / 8, rng);
    std::vector<uint8_t> xq = randomActivations(kMaxRowsM, k, xRowBytes, rng);
    std::vector<double> mag(kMaxRowsM * kWeightRows),
        ref(kMaxRowsM * kWeightRows), dev(kMaxRowsM * kWeightRows);
    for (int64_t m = 0; m < kMaxRowsM; ++m)
      for (int64_t n = 0; n < kWeightRows; ++n) {
        const int64_t i = m * kWeightRows + n;
        kDotByFormula(f, &w[n * f.rowBytes(k)], &xq[m * xRowBytes], blocks,
                      &mag[i], &ref[i], &dev[i]);
      }
    for (const DotCase &c : dotCasesFor(k)) {
      std::vector<float> expected = runDot(scalar, f, w, xq, xRowBytes, c);
      std::vector<float> got = runDot(dot, f, w, xq, xRowBytes, c);
      const int64_t ys = c.n1 + 5;
      for (int64_t m = 0; m < c.rowsM; ++m)
        for (int64_t n = c.n0; n < c.n1; ++n) {
          const int64_t i = m * kWeightRows + n;
          const double g = got[m * ys + n];
          const double err = std::fabs(g - expected[m * ys + n]);
          const double errRef = std::fabs(g - ref[i]) - dev[i];
          ++checked;
          if (mag[i] > 0) {
            worst = std::max(worst, err / mag[i]);
            worstRef = std::max(worstRef, errRef / mag[i]);
          }
          ASSERT_LE(err, 1e-5 * mag[i])
              << isa << " " << f.name << " K=" << k << " rows_m=" << c.rowsM
              << " n0=" << c.n0 << " n1=" << c.n1 << " mr=" << c.mr
              << " nr=" << c.nr << " m=" << m << " n=" << n << ": " << g
              << " vs " << expected[m * ys + n];
          ASSERT_LE(errRef, 1e-5 * mag[i])
              << isa << " " << f.name << " K=" << k << " m=" << m << " n=" << n
              << ": " << g << " vs double " << ref[i];
        }
    }
  }
  std::printf("[          ] %s %s: %lld outputs, worst error %.3g of sum "
              "|terms| (scalar), %.3g (double dot)\n",
              isa.c_str(), f.name, static_cast<long long>(checked), worst,
              worstRef);
}

TEST_P(MicroKernelsISA, DotQ4_KMatchesScalar) { checkKDot(isa, kKFormats[0]); }
TEST_P(MicroKernelsISA, DotQ6_KMatchesScalar) { checkKDot(isa, kKFormats[1]); }

/// K-quant degenerate calls, odd register blocks, activations from this
/// ISA's quantizer and a block count that is not a multiple of 8 (its
/// remainder ignored); the scalar variant too.
void checkKDotEdgeCalls(const std::string &isa) {
  std::mt19937 rng(31);
  for (const Format &f : kKFormats) {
    DotFn dot = getDot(f.name, isa), ref = getDot(f.name, "scalar");
    ASSERT_NE(dot, nullptr);
    const int64_t k = 512, blocks = 16, wrb = f.rowBytes(k);
    const int64_t xRowBytes = getQ8ActivationRowBytes(k);
    std::vector<uint8_t> w = randomKWeights(f, kWeightRows, 2, rng);
    std::vector<float> x(kMaxRowsM * k);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    for (float &v : x)
      v = normal(rng);
    std::vector<uint8_t> xq(kMaxRowsM * xRowBytes);
    getQuantize(isa)(x.data(), k, kMaxRowsM, k, xq.data(), xRowBytes);
    // blocks = 0 (and 7: no whole super-block): zeros; n0 == n1 or
    // rows_m = 0: nothing written.
    for (int64_t none : {0, 7}) {
      std::vector<float> y(kWeightRows, NAN);
      dot(w.data(), wrb, xq.data(), xRowBytes, y.data(), 0, 1, 2, 5, none, 1,
          4);
      for (int n = 0; n < kWeightRows; ++n)
        EXPECT_EQ(std::isnan(y[n]), n < 2 || n >= 5);
      for (int n = 2; n < 5; ++n)
        EXPECT_EQ(y[n], 0.0f);
    }
    std::vector<float> untouched(kWeightRows, NAN);
    dot(w.data(), wrb, xq.data(), xRowBytes, untouched.data(), 0, 1, 4, 4,
        blocks, 1, 1);
    dot(w.data(), wrb, xq.data(), xRowBytes, untouched.data(), 0, 0, 0,
        kWeightRows, blocks, 1, 1);
    for (float v : untouched)
      EXPECT_TRUE(std::isnan(v));
    // 12 blocks: the first super-block only, as 8.
    for (int64_t nr : {1, 2, 4}) {
      std::vector<float> y8(3 * 9), y12(3 * 9);
      dot(w.data(), wrb, xq.data(), xRowBytes, y8.data(), 9, 3, 0, 9, 8, 2, nr);
      dot(w.data(), wrb, xq.data(), xRowBytes, y12.data(), 9, 3, 0, 9, 12, 2,
          nr);
      for (int64_t i = 0; i < 3 * 9; ++i)
        EXPECT_EQ(bitsOf(y8[i]), bitsOf(y12[i])) << f.name << " nr=" << nr;
    }
    // mr = 3 acts as 2, nr = 8 as 4, mr = 0 as 1.
    for (int64_t mr : {0, 3, 8})
      for (int64_t nr : {-1, 3, 8}) {
        DotCase c{k, 7, 1, 12, mr, nr};
        std::vector<float> e = runDot(ref, f, w, xq, xRowBytes, c);
        std::vector<float> g = runDot(dot, f, w, xq, xRowBytes, c);
        const int64_t ys = c.n1 + 5;
        for (int64_t m = 0; m < c.rowsM; ++m)
          for (int64_t n = c.n0; n < c.n1; ++n) {
            double mag;
            kDotByFormula(f, &w[n * wrb], &xq[m * xRowBytes], blocks, &mag);
            EXPECT_LE(std::fabs(double(g[m * ys + n]) - e[m * ys + n]),
                      1e-5 * mag)
                << f.name << " mr=" << mr << " nr=" << nr;
          }
      }
  }
}

TEST(MicroKernels, ScalarKQuantDotEdgeCalls) { checkKDotEdgeCalls("scalar"); }
TEST_P(MicroKernelsISA, KQuantDotEdgeCalls) { checkKDotEdgeCalls(isa); }

/// Prefill as the compiled code calls it: 75 weight rows (four panels and
/// 11 rows), rows_m not a multiple of 4, and N split over host threads in
/// pieces of a multiple of nr (the last one shorter, as LowerMicroKernels
/// splits it), each piece computed on its own std::thread (the avx512vnni
/// panels live in per-thread buffers); against the scalar dot, 1e-5 of the
/// terms' magnitudes. K = 256 (one super-block) and 2304.
void checkKDotThreads(const std::string &isa) {
  std::mt19937 rng(37);
  constexpr int64_t rowsN = 75, rowsM = 13;
  for (const Format &f : kKFormats) {
    DotFn dot = getDot(f.name, isa), scalar = getDot(f.name, "scalar");
    ASSERT_NE(dot, nullptr);
    for (int64_t k : {256, 2304}) {
      const int64_t blocks = k / 32, wrb = f.rowBytes(k);
      const int64_t xRowBytes = xRowBytesFor(k);
      std::vector<uint8_t> w = randomKWeights(f, rowsN, blocks / 8, rng);
      std::vector<uint8_t> xq = randomActivations(rowsM, k, xRowBytes, rng);
      std::vector<double> mag(rowsM * rowsN);
      for (int64_t m = 0; m < rowsM; ++m)
        for (int64_t n = 0; n < rowsN; ++n)
          kDotByFormula(f, &w[n * wrb], &xq[m * xRowBytes], blocks,
                        &mag[m * rowsN + n]);
      for (int64_t m1 : {rowsM, int64_t(6), int64_t(1)})
        for (int64_t mr : {1, 2, 4})
          for (int64_t nr : {4, 16})
            for (int64_t threads : {1, 2, 3}) {
              const int64_t pieces =
                  std::min<int64_t>(threads, (rowsN + nr - 1) / nr);
              const int64_t piece =
                  ((rowsN + pieces - 1) / pieces + nr - 1) / nr * nr;
              std::vector<float> expected(rowsM * rowsN, NAN),
                  got(rowsM * rowsN, NAN);
              scalar(w.data(), wrb, xq.data(), xRowBytes, expected.data(),
                     rowsN, m1, 0, rowsN, blocks, mr, nr);
              std::vector<std::thread> ts;
              for (int64_t t = 0; t < pieces; ++t)
                ts.emplace_back([&, t] {
                  const int64_t n0 = t * piece,
                                n1 = std::min(rowsN, n0 + piece);
                  dot(w.data(), wrb, xq.data(), xRowBytes, got.data(), rowsN,
                      m1, n0, n1, blocks, mr, nr);
                });
              for (std::thread &th : ts)
                th.join();
              for (int64_t m = 0; m < rowsM; ++m)
                for (int64_t n = 0; n < rowsN; ++n) {
                  const int64_t i = m * rowsN + n;
                  if (m >= m1) {
                    ASSERT_TRUE(std::isnan(got[i])) << "wrote y[" << m << "]";
                    continue;
                  }
                  ASSERT_LE(std::fabs(double(got[i]) - expected[i]),
                            1e-5 * mag[i])
                      << isa << " " << f.name << " K=" << k << " rows_m=" << m1
                      << " mr=" << mr << " nr=" << nr << " threads=" << threads
                      << " m=" << m << " n=" << n << ": " << got[i] << " vs "
                      << expected[i];
                }
            }
    }
  }
}

TEST_P(MicroKernelsISA, KQuantDotThreads) { checkKDotThreads(isa); }

/// Decode as the compiled code calls it (one activation row; the
/// avx512vnni variant re-lays the row and takes 4 weight rows a step, the
/// rows left over by the 256-bit kernels): every range [n0, n1) with n0 < 6
/// and up to 23 rows, nr = 4, 8 and 16, K = 256 and 2304, weights and
/// activations at odd addresses; against the scalar dot, 1e-5 of the terms'
/// magnitudes, and nothing outside [n0, n1) written.
void checkKDotDecodeRanges(const std::string &isa) {
  std::mt19937 rng(41);
  for (const Format &f : kKFormats) {
    DotFn dot = getDot(f.name, isa), scalar = getDot(f.name, "scalar");
    ASSERT_NE(dot, nullptr);
    for (int64_t k : {256, 2304}) {
      const int64_t blocks = k / 32, wrb = f.rowBytes(k);
      const int64_t xRowBytes = xRowBytesFor(k);
      std::vector<uint8_t> w = randomKWeights(f, kWeightRows, blocks / 8, rng);
      std::vector<uint8_t> xq = randomActivations(1, k, xRowBytes, rng);
      // Odd addresses: nothing needs alignment.
      std::vector<uint8_t> wOdd(w.size() + 1), xOdd(xq.size() + 3);
      std::memcpy(wOdd.data() + 1, w.data(), w.size());
      std::memcpy(xOdd.data() + 3, xq.data(), xq.size());
      std::vector<double> mag(kWeightRows);
      for (int64_t n = 0; n < kWeightRows; ++n)
        kDotByFormula(f, &w[n * wrb], xq.data(), blocks, &mag[n]);
      std::vector<float> expected(kWeightRows);
      scalar(w.data(), wrb, xq.data(), xRowBytes, expected.data(), 0, 1, 0,
             kWeightRows, blocks, 1, 1);
      for (int64_t nr : {4, 8, 16})
        for (int64_t n0 = 0; n0 < 6; ++n0)
          for (int64_t n1 = n0; n1 <= std::min(kWeightRows, n0 + 23); ++n1) {
            std::vector<float> got(kWeightRows, NAN);
            dot(wOdd.data() + 1, wrb, xOdd.data() + 3, xRowBytes, got.data(), 7,
                1, n0, n1, blocks, 4, nr);
            for (int64_t n = 0; n < kWeightRows; ++n) {
              if (n < n0 || n >= n1) {
                ASSERT_TRUE(std::isnan(got[n])) << "wrote y[" << n << "]";
                continue;
              }
              ASSERT_LE(std::fabs(double(got[n]) - expected[n]), 1e-5 * mag[n])
                  << isa << " " << f.name << " K=" << k << " n0=" << n0
                  << " n1=" << n1 << " nr=" << nr << " n=" << n << ": "
                  << got[n] << " vs " << expected[n];
            }
          }
    }
  }
}

TEST(MicroKernels, ScalarKQuantDotDecodeRanges) {
  checkKDotDecodeRanges("scalar");
}
TEST_P(MicroKernelsISA, KQuantDotDecodeRanges) { checkKDotDecodeRanges(isa); }

//===----------------------------------------------------------------------===//
// F16 and BF16 dots
//===----------------------------------------------------------------------===//

// dot_f16 and dot_bf16 share their signature (and their kernels): one set of
// checks, parameterized by the weight format.
using Dot16Fn = MicroKernelDotF16Fn;
static_assert(std::is_same_v<MicroKernelDotF16Fn, MicroKernelDotBF16Fn>);

/// A bf16 as the f32 it is the top half of, independently of the library.
float bf16ToFloat(uint16_t b) {
  return floatOf(static_cast<uint32_t>(b) << 16);
}

/// Weight rows of the 16-bit dots, and activation rows room for.
constexpr int64_t kDot16WeightRows = 45;
constexpr int64_t kDot16MaxRowsM = 8;

/// A 16-bit weight format of the f32 dots.
struct Dot16Format {
  const char *name; // "f16" or "bf16": haqa_uk_dot_<name>_<isa>
  float (*toFloat)(uint16_t);
  /// kDot16WeightRows rows of k weights, k + 3 apart with NaN padding: a
  /// kernel that reads past a row's end gets NaN into its sums.
  std::vector<uint16_t> (*randomRows)(int64_t k, std::mt19937 &rng);
};

Dot16Fn getDot16(const Dot16Format &fmt, const std::string &isa) {
  return reinterpret_cast<Dot16Fn>(
      findMicroKernel(std::string("haqa_uk_dot_") + fmt.name + "_" + isa));
}

/// F16 weight rows, by n % 3:
///  0: normals of magnitude [2^-6, 2^6), one value in four a special:
///     +0, -0, +-65504 (the largest half) or a subnormal;
///  1: subnormals and signed zeros only, so that their sum of magnitudes is
///     all the tolerance (a kernel flushing subnormals fails);
///  2: +-65504 and -0.
std::vector<uint16_t> randomHalfRows(int64_t k, std::mt19937 &rng) {
  std::vector<uint16_t> w(kDot16WeightRows * (k + 3), 0x7e00);
  auto sign = [&] { return static_cast<uint16_t>((rng() & 1) << 15); };
  auto subnormal = [&] {
    return static_cast<uint16_t>(sign() | (1 + rng() % 0x3ff));
  };
  for (int64_t n = 0; n < kDot16WeightRows; ++n)
    for (int64_t j = 0; j < k; ++j) {
      uint16_t h;
      if (n % 3 == 1) {
        h = rng() % 5 == 0 ? sign() : subnormal();
      } else if (n % 3 == 2) {
        h = rng() % 7 == 0 ? 0x8000 : (sign() | 0x7bff);
      } else if (rng() % 4 == 0) {
        const uint16_t specials[] = {0x0000, 0x8000, 0x7bff, 0xfbff,
                                     subnormal()};
        h = specials[rng() % 5];
      } else {
        h = static_cast<uint16_t>(sign() | (9 + rng() % 12) << 10 |
                                  (rng() & 0x3ff));
      }
      w[n * (k + 3) + j] = h;
    }
  return w;
}

/// BF16 weight rows (f32 exponent bias 127, 7 mantissa bits), by n % 3:
///  0: normals of magnitude [2^-6, 2^6), one value in four a special:
///     +0, -0, +-2^100 or a subnormal;
///  1: tiny values only: subnormals, normals below 2^-122 and signed zeros,
///     so that products are (mostly) subnormal floats and their sum of
///     magnitudes is all the tolerance (a kernel flushing them fails);
///  2: large values of magnitude [2^96, 2^100), and -0.
std::vector<uint16_t> randomBF16Rows(int64_t k, std::mt19937 &rng) {
  std::vector<uint16_t> w(kDot16WeightRows * (k + 3), 0x7fc0);
  auto sign = [&] { return static_cast<uint16_t>((rng() & 1) << 15); };
  auto mant = [&] { return static_cast<uint16_t>(rng() & 0x7f); };
  auto subnormal = [&] {
    return static_cast<uint16_t>(sign() | (1 + rng() % 0x7f));
  };
  for (int64_t n = 0; n < kDot16WeightRows; ++n)
    for (int64_t j = 0; j < k; ++j) {
      uint16_t b;
      if (n % 3 == 1) {
        const uint32_t r = rng() % 5;
        b = r == 0 ? sign()
            : r == 1
                ? static_cast<uint16_t>(sign() | (1 + rng() % 4) << 7 | mant())
                : subnormal();
      } else if (n % 3 == 2) {
        b = rng() % 7 == 0 ? 0x8000
                           : static_cast<uint16_t>(
                                 sign() | (223 + rng() % 4) << 7 | mant());
      } else if (rng() % 4 == 0) {
        const uint16_t specials[] = {0x0000, 0x8000, 0x7180, 0xf180,
                                     subnormal()};
        b = specials[rng() % 5];
      } else {
        b = static_cast<uint16_t>(sign() | (121 + rng() % 12) << 7 | mant());
      }
      w[n * (k + 3) + j] = b;
    }
  return w;
}

const Dot16Format kF16Format = {"f16", halfToFloat, randomHalfRows};
const Dot16Format kBF16Format = {"bf16", bf16ToFloat, randomBF16Rows};

/// `rows` activation rows of k floats, k + 5 apart with NaN padding; one in
/// ten 0.
std::vector<float> randomFloatRows(int64_t k, int64_t rows, std::mt19937 &rng) {
  std::vector<float> x(rows * (k + 5), NAN);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t j = 0; j < k; ++j)
      x[m * (k + 5) + j] = rng() % 10 == 0 ? 0.0f : normal(rng);
  return x;
}

/// Runs `dot` into rows y_stride = kDot16WeightRows + 4 apart; every element
/// outside [0, rows_m) x [n0, n1) must stay NaN.
std::vector<float> runDot16(Dot16Fn dot, const std::vector<uint16_t> &w,
                            const std::vector<float> &x, int64_t k,
                            int64_t rowsM, int64_t n0, int64_t n1, int64_t mr,
                            int64_t nr) {
  const int64_t ys = kDot16WeightRows + 4;
  std::vector<float> y((kDot16MaxRowsM + 1) * ys, NAN);
  dot(w.data(), k + 3, x.data(), k + 5, y.data(), ys, rowsM, n0, n1, k, mr, nr);
  for (int64_t m = 0; m <= kDot16MaxRowsM; ++m)
    for (int64_t n = 0; n < ys; ++n)
      if (m >= rowsM || n < n0 || n >= n1) {
        EXPECT_TRUE(std::isnan(y[m * ys + n]))
            << "wrote y[" << m << "][" << n << "]";
      }
  return y;
}

/// What checkDot16 runs: every K, every rows_m (at most kDot16MaxRowsM),
/// every [n0, n1) within kDot16WeightRows, every mr, nr in {1, 2, 4}.
struct Dot16Cases {
  std::vector<int64_t> ks, rowsMs;
  std::vector<std::pair<int64_t, int64_t>> nRanges;
  unsigned seed;
};

/// f16: the K of the brief (576), and lengths off the vector steps: 57 = 32
/// + 16 + 9 and 37 = 32 + 5 end in partial vectors of either width, 16 and
/// 1 are shorter than a 32-value step.
const Dot16Cases kF16Cases = {
    {576, 57, 37, 16, 1}, {1, 3, 7}, {{3, 42}, {0, kDot16WeightRows}}, 23};
/// bf16: K 64 and 96 (whole 32-value steps, 96 = 3 of them) and the
/// lengths off the vector steps as for f16; n ranges not multiples of 2 or 4
/// (39 and 43 rows from n0 = 3 and 1), and all rows.
const Dot16Cases kBF16Cases = {{64, 96, 57, 37, 16, 1},
                               {1, 3, 5, 8},
                               {{3, 42}, {1, 44}, {0, kDot16WeightRows}},
                               31};

/// Every case of `cases` against the dot in double to 1e-5 of sum |x w|
/// (plus k times the smallest subnormal float: bf16 subnormals make
/// subnormal products, rounded to multiples of it; a kernel flushing them
/// loses 2^22 times more); the scalar variant also bit-exactly against the
/// float sum in index order.
void checkDot16(const std::string &isa, const Dot16Format &fmt,
                const Dot16Cases &cases) {
  Dot16Fn dot = getDot16(fmt, isa);
  ASSERT_NE(dot, nullptr);
  std::mt19937 rng(cases.seed);
  const int64_t xRows =
      *std::max_element(cases.rowsMs.begin(), cases.rowsMs.end());
  ASSERT_LE(xRows, kDot16MaxRowsM);
  const double underflow = std::numeric_limits<float>::denorm_min();
  double worst = 0;
  int64_t checked = 0;
  for (int64_t k : cases.ks) {
    const std::vector<uint16_t> w = fmt.randomRows(k, rng);
    const std::vector<float> x = randomFloatRows(k, xRows, rng);
    std::vector<double> exact(xRows * kDot16WeightRows),
        magnitude(exact.size());
    std::vector<float> inOrder(exact.size());
    for (int64_t m = 0; m < xRows; ++m)
      for (int64_t n = 0; n < kDot16WeightRows; ++n) {
        double sum = 0, mag = 0;
        float acc = 0;
        for (int64_t j = 0; j < k; ++j) {
          const float xv = x[m * (k + 5) + j];
          const float wv = fmt.toFloat(w[n * (k + 3) + j]);
          sum += double(xv) * wv;
          mag += std::fabs(double(xv) * wv);
          acc += xv * wv;
        }
        exact[m * kDot16WeightRows + n] = sum;
        magnitude[m * kDot16WeightRows + n] = mag;
        inOrder[m * kDot16WeightRows + n] = acc;
      }
    for (int64_t rowsM : cases.rowsMs)
      for (const auto &[n0, n1] : cases.nRanges)
        for (int64_t mr : {1, 2, 4})
          for (int64_t nr : {1, 2, 4}) {
            std::vector<float> y =
                runDot16(dot, w, x, k, rowsM, n0, n1, mr, nr);
            const int64_t ys = kDot16WeightRows + 4;
            for (int64_t m = 0; m < rowsM; ++m)
              for (int64_t n = n0; n < n1; ++n) {
                const float got = y[m * ys + n];
                const double e = exact[m * kDot16WeightRows + n],
                             mag = magnitude[m * kDot16WeightRows + n],
                             err = std::fabs(got - e);
                ++checked;
                if (mag > 0)
                  worst = std::max(worst, err / mag);
                ASSERT_LE(err, 1e-5 * mag + k * underflow)
                    << isa << " " << fmt.name << " K=" << k
                    << " rows_m=" << rowsM << " n0=" << n0 << " n1=" << n1
                    << " mr=" << mr << " nr=" << nr << " m=" << m << " n=" << n
                    << ": " << got << " vs " << e;
                if (isa == "scalar") {
                  ASSERT_EQ(bitsOf(got),
                            bitsOf(inOrder[m * kDot16WeightRows + n]))
                      << fmt.name << " K=" << k << " m=" << m << " n=" << n
                      << " mr=" << mr << " nr=" << nr;
                }
              }
          }
  }
  std::printf("[          ] %s %s: %lld outputs, worst error %.3g of sum "
              "|x w|\n",
              isa.c_str(), fmt.name, static_cast<long long>(checked), worst);
}

/// Degenerate calls and register blocks outside {1, 2, 4}.
void checkDot16EdgeCalls(const std::string &isa, const Dot16Format &fmt) {
  Dot16Fn dot = getDot16(fmt, isa), ref = getDot16(fmt, "scalar");
  ASSERT_NE(dot, nullptr);
  std::mt19937 rng(29);
  const int64_t k = 37;
  const std::vector<uint16_t> w = fmt.randomRows(k, rng);
  const std::vector<float> x = randomFloatRows(k, 7, rng);
  // k = 0 (nothing read, whatever the strides): zeros; n0 == n1 or
  // rows_m = 0: nothing written.
  std::vector<float> y = runDot16(dot, w, x, 0, 2, 5, 9, 2, 4);
  for (int64_t m = 0; m < 2; ++m)
    for (int64_t n = 5; n < 9; ++n)
      EXPECT_EQ(y[m * (kDot16WeightRows + 4) + n], 0.0f);
  runDot16(dot, w, x, k, 1, 4, 4, 1, 1);
  runDot16(dot, w, x, k, 0, 0, kDot16WeightRows, 1, 1);
  // mr = 3 acts as 2, nr = 8 as 4, mr = 0 and nr = -1 as 1: within twice
  // the tolerance of the scalar reference (both within it of the exact dot).
  for (int64_t mr : {0, 3, 8})
    for (int64_t nr : {-1, 3, 8}) {
      std::vector<float> e = runDot16(ref, w, x, k, 7, 1, 44, mr, nr);
      std::vector<float> g = runDot16(dot, w, x, k, 7, 1, 44, mr, nr);
      for (int64_t m = 0; m < 7; ++m)
        for (int64_t n = 1; n < 44; ++n) {
          double mag = 0;
          for (int64_t j = 0; j < k; ++j)
            mag += std::fabs(double(x[m * (k + 5) + j]) *
                             fmt.toFloat(w[n * (k + 3) + j]));
          const int64_t i = m * (kDot16WeightRows + 4) + n;
          EXPECT_LE(std::fabs(double(g[i]) - e[i]),
                    2e-5 * mag +
                        2 * k * std::numeric_limits<float>::denorm_min())
              << isa << " " << fmt.name << " mr=" << mr << " nr=" << nr
              << " m=" << m << " n=" << n;
        }
    }
}

void checkDotF16(const std::string &isa) {
  checkDot16(isa, kF16Format, kF16Cases);
}
void checkDotBF16(const std::string &isa) {
  checkDot16(isa, kBF16Format, kBF16Cases);
}

/// bf16 values with known floats through the dot_bf16 of `isa`, bit-exactly:
/// weight row n is zero but for value n at j = 5 n (the last ones in the
/// 5-value tail of k = 37), the activation rows all ones, so y[m, n] is
/// value n (adding zeros keeps infinities, the largest bf16 and subnormals).
void checkDotBF16ExactValues(const std::string &isa) {
  Dot16Fn dot = getDot16(kBF16Format, isa);
  ASSERT_NE(dot, nullptr);
  const struct {
    uint16_t bits;
    float value;
  } values[] = {
      {0x3f80, 1.0f},
      {0xc000, -2.0f},
      {0x7f80, INFINITY},
      {0xff80, -INFINITY},
      {0x4049, 3.140625f},
      {0x7f7f, std::ldexp(255.0f, 120)}, // the largest finite bf16
      {0x8080, -FLT_MIN},
      {0x0001, std::ldexp(1.0f, -133)}, // the smallest subnormal
  };
  const int64_t k = 37, count = std::size(values);
  std::vector<uint16_t> w(kDot16WeightRows * (k + 3), 0);
  for (int64_t n = 0; n < count; ++n)
    w[n * (k + 3) + 5 * n] = values[n].bits;
  const std::vector<float> x(kDot16MaxRowsM * (k + 5), 1.0f);
  for (auto [mr, nr] : {std::pair<int64_t, int64_t>{1, 1}, {2, 4}, {4, 2}}) {
    std::vector<float> y = runDot16(dot, w, x, k, 3, 0, count, mr, nr);
    for (int64_t m = 0; m < 3; ++m)
      for (int64_t n = 0; n < count; ++n)
        EXPECT_EQ(bitsOf(y[m * (kDot16WeightRows + 4) + n]),
                  bitsOf(values[n].value))
            << isa << " bf16 0x" << std::hex << values[n].bits << std::dec
            << " mr=" << mr << " nr=" << nr << " m=" << m;
  }
}

/// Weights exact in both formats (normal halves with 7 mantissa bits, and
/// signed zeros): dot_bf16 of their bf16 equals dot_f16 of their halves
/// bit for bit, the kernels being the same but for the conversion.
void checkDotBF16MatchesF16(const std::string &isa) {
  Dot16Fn f16 = getDot16(kF16Format, isa), bf16 = getDot16(kBF16Format, isa);
  ASSERT_NE(f16, nullptr);
  ASSERT_NE(bf16, nullptr);
  std::mt19937 rng(37);
  for (int64_t k : {96, 57}) {
    std::vector<uint16_t> wh(kDot16WeightRows * (k + 3), 0x7e00),
        wb(wh.size(), 0x7fc0);
    for (int64_t n = 0; n < kDot16WeightRows; ++n)
      for (int64_t j = 0; j < k; ++j) {
        const uint16_t h = rng() % 8 == 0
                               ? static_cast<uint16_t>((rng() & 1) << 15)
                               : static_cast<uint16_t>((rng() & 1) << 15 |
                                                       (1 + rng() % 30) << 10 |
                                                       (rng() & 0x7f) << 3);
        wh[n * (k + 3) + j] = h;
        wb[n * (k + 3) + j] =
            static_cast<uint16_t>(bitsOf(halfToFloat(h)) >> 16);
        ASSERT_EQ(bitsOf(bf16ToFloat(wb[n * (k + 3) + j])),
                  bitsOf(halfToFloat(h)));
      }
    const std::vector<float> x = randomFloatRows(k, 5, rng);
    for (int64_t mr : {1, 2, 4})
      for (int64_t nr : {1, 2, 4}) {
        std::vector<float> a = runDot16(f16, wh, x, k, 5, 2, 43, mr, nr);
        std::vector<float> b = runDot16(bf16, wb, x, k, 5, 2, 43, mr, nr);
        for (size_t i = 0; i < a.size(); ++i)
          ASSERT_EQ(bitsOf(a[i]), bitsOf(b[i]))
              << isa << " K=" << k << " mr=" << mr << " nr=" << nr << " at "
              << i;
      }
  }
}

TEST(MicroKernels, ScalarDotF16MatchesFormula) { checkDotF16("scalar"); }
TEST(MicroKernels, ScalarDotF16EdgeCalls) {
  checkDot16EdgeCalls("scalar", kF16Format);
}
TEST(MicroKernels, ScalarDotBF16MatchesFormula) { checkDotBF16("scalar"); }
TEST(MicroKernels, ScalarDotBF16EdgeCalls) {
  checkDot16EdgeCalls("scalar", kBF16Format);
}
TEST(MicroKernels, ScalarDotBF16ExactValues) {
  checkDotBF16ExactValues("scalar");
}
TEST(MicroKernels, ScalarDotBF16MatchesF16) {
  checkDotBF16MatchesF16("scalar");
}

TEST_P(MicroKernelsISA, DotF16MatchesFormula) { checkDotF16(isa); }
TEST_P(MicroKernelsISA, DotF16EdgeCalls) {
  checkDot16EdgeCalls(isa, kF16Format);
}
TEST_P(MicroKernelsISA, DotBF16MatchesFormula) { checkDotBF16(isa); }
TEST_P(MicroKernelsISA, DotBF16EdgeCalls) {
  checkDot16EdgeCalls(isa, kBF16Format);
}
TEST_P(MicroKernelsISA, DotBF16ExactValues) { checkDotBF16ExactValues(isa); }
TEST_P(MicroKernelsISA, DotBF16MatchesF16) { checkDotBF16MatchesF16(isa); }

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

struct AttentionCase {
  std::string name;
  int64_t headsQ, headsKv, hd, cacheRows;
  std::vector<int32_t> positions;
  float scaleFactor;  // scale = scaleFactor / sqrt(hd)
  int64_t u0, u1;     // u1 = -1: all units
  bool paddedStrides; // q, kv and out rows wider than the heads
};

std::vector<AttentionCase> attentionCases() {
  std::vector<AttentionCase> cases;
  const int64_t heads[][3] = {{9, 3, 64}, {4, 4, 64}, {9, 3, 37}, {4, 4, 37}};
  const std::vector<int32_t> positionSets[] = {{0}, {200}, {3, 4, 5, 6, 7}};
  bool padded = true;
  for (const auto &hs : heads)
    for (const std::vector<int32_t> &pos : positionSets) {
      cases.push_back(
          {"hq" + std::to_string(hs[0]) + "_hkv" + std::to_string(hs[1]) +
               "_hd" + std::to_string(hs[2]) + "_pos" +
               std::to_string(pos.front()) + "x" + std::to_string(pos.size()),
           hs[0], hs[1], hs[2], 256, pos, 1.0f, 0, -1, padded});
      padded = !padded;
    }
  // Units 7 .. 30 of 45: from the middle of token 0 into token 3.
  cases.push_back(
      {"partial_units", 9, 3, 64, 256, {3, 4, 5, 6, 7}, 1.0f, 7, 31, true});
  cases.push_back(
      {"partial_units_hd37", 4, 4, 37, 256, {3, 4, 5, 6, 7}, 1.0f, 5, 6, true});
  cases.push_back({"no_units", 9, 3, 64, 256, {3, 4}, 1.0f, 9, 9, true});
  // Positions past the cache see all of it.
  cases.push_back(
      {"clamped", 9, 3, 64, 50, {10, 49, 50, 120}, 1.0f, 0, -1, true});
  cases.push_back(
      {"negative", 4, 4, 37, 64, {-1, 5, -7, 0}, 1.0f, 0, -1, true});
  // Peaked softmax: scores spread over about +-40, exp down to e^-80.
  cases.push_back({"sharp", 9, 3, 64, 300, {299, 150}, 12.0f, 0, -1, true});
  cases.push_back({"hd8", 2, 1, 8, 40, {39, 17}, 1.0f, 0, -1, true});
  cases.push_back({"hd130", 2, 2, 130, 40, {39, 1}, 1.0f, 0, -1, true});
  return cases;
}

/// Unit (t, h) of the case as in the brief, in double.
std::vector<double> attentionByFormula(const AttentionCase &c, const float *q,
                                       int64_t qStride, const float *k,
                                       const float *v, int64_t kvStride,
                                       int64_t t, int64_t h, float scale) {
  std::vector<double> out(c.hd, 0.0);
  const int32_t pos = c.positions[t];
  if (pos < 0)
    return out;
  const int64_t n = std::min<int64_t>(pos, c.cacheRows - 1) + 1;
  const int64_t g = h / (c.headsQ / c.headsKv);
  const float *qh = q + t * qStride + h * c.hd;
  std::vector<double> s(n);
  double m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    double dot = 0;
    for (int64_t d = 0; d < c.hd; ++d)
      dot += double(qh[d]) * k[j * kvStride + g * c.hd + d];
    s[j] = dot * scale;
    m = std::max(m, s[j]);
  }
  double l = 0;
  for (int64_t j = 0; j < n; ++j) {
    s[j] = std::exp(s[j] - m);
    l += s[j];
  }
  for (int64_t j = 0; j < n; ++j)
    for (int64_t d = 0; d < c.hd; ++d)
      out[d] += s[j] * v[j * kvStride + g * c.hd + d];
  for (double &o : out)
    o /= l;
  return out;
}

void checkAttention(const std::string &isa) {
  auto attention = reinterpret_cast<AttentionFn>(
      findMicroKernel("haqa_uk_attention_f32_" + isa));
  ASSERT_NE(attention, nullptr);
  constexpr float kSentinel = 12345.0f;
  std::mt19937 rng(19);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  double worst = 0;
  for (const AttentionCase &c : attentionCases()) {
    const int64_t tokens = c.positions.size(), units = tokens * c.headsQ;
    const int64_t u1 = c.u1 < 0 ? units : c.u1;
    const int64_t pad = c.paddedStrides ? 5 : 0;
    const int64_t qStride = c.headsQ * c.hd + pad,
                  kvStride = c.headsKv * c.hd + pad,
                  outStride = c.headsQ * c.hd + 2 * pad;
    std::vector<float> q(tokens * qStride), k(c.cacheRows * kvStride),
        v(c.cacheRows * kvStride);
    for (std::vector<float> *x : {&q, &k, &v})
      for (float &e : *x)
        e = normal(rng);
    std::vector<float> out(tokens * outStride, kSentinel);
    const float scale = c.scaleFactor / std::sqrt(float(c.hd));
    attention(q.data(), qStride, k.data(), v.data(), kvStride, c.cacheRows,
              c.positions.data(), out.data(), outStride, c.headsQ, c.headsKv,
              c.hd, scale, c.u0, u1);

    std::vector<std::vector<double>> expected(units);
    double maxAbs = 0;
    for (int64_t u = c.u0; u < u1; ++u) {
      expected[u] =
          attentionByFormula(c, q.data(), qStride, k.data(), v.data(), kvStride,
                             u / c.headsQ, u % c.headsQ, scale);
      for (double e : expected[u])
        maxAbs = std::max(maxAbs, std::fabs(e));
    }
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t i = 0; i < outStride; ++i) {
        const int64_t h = i / c.hd, u = t * c.headsQ + h;
        const float got = out[t * outStride + i];
        if (h >= c.headsQ || u < c.u0 || u >= u1) {
          ASSERT_EQ(got, kSentinel)
              << isa << " " << c.name << " wrote out[" << t << "][" << i << "]";
          continue;
        }
        const double e = expected[u][i % c.hd], err = std::fabs(got - e);
        if (c.positions[t] < 0) {
          ASSERT_EQ(got, 0.0f) << isa << " " << c.name << " t=" << t;
        }
        worst = std::max(worst, err / maxAbs);
        ASSERT_LE(err, 1e-5 * maxAbs)
            << isa << " " << c.name << " t=" << t << " h=" << h
            << " d=" << i % c.hd << ": " << got << " vs " << e;
      }
  }
  std::printf("[          ] %s attention: worst error %.3g of max |out|\n",
              isa.c_str(), worst);
}

TEST(MicroKernels, ScalarAttentionMatchesFormula) { checkAttention("scalar"); }

TEST_P(MicroKernelsISA, AttentionMatchesFormula) { checkAttention(isa); }

/// The polynomial exp within 2 ulp of exp on [-87, 0] (with 0 exact: the
/// maximum score's weight), zero below ln FLT_MIN, NaN kept.
TEST_P(MicroKernelsISA, AttentionExpAccuracy) {
  // About 4 million points, 25 ulp apart down to 3e-4, then 1e-9 apart.
  std::vector<float> x;
  for (float f = -87.0f; f < 0.0f; f += std::max(std::fabs(f) * 3e-6f, 1e-9f))
    x.push_back(f);
  x.push_back(0.0f);
  const std::vector<float> special = {-88.0f, -87.5f, -1000.0f, -INFINITY, NAN};
  x.insert(x.end(), special.begin(), special.end());
  std::vector<float> y(x.size());
  ASSERT_TRUE(
      microKernelAttentionExp(isa.c_str(), x.data(), y.data(), x.size()));
  const size_t checked = x.size() - special.size();
  double worstUlp = 0;
  for (size_t i = 0; i < checked; ++i) {
    const double e = std::exp(double(x[i]));
    const float ef = static_cast<float>(e);
    const double ulp = std::nextafter(ef, INFINITY) - ef;
    const double errUlp = std::fabs(y[i] - e) / ulp;
    worstUlp = std::max(worstUlp, errUlp);
    ASSERT_LE(errUlp, 2.0) << isa << " exp(" << x[i] << ") = " << y[i]
                           << ", expected " << e;
  }
  EXPECT_EQ(y[checked - 1], 1.0f);
  for (size_t i = checked; i + 1 < x.size(); ++i)
    EXPECT_EQ(y[i], 0.0f) << "exp(" << x[i] << ")";
  EXPECT_TRUE(std::isnan(y.back()));
  std::printf("[          ] %s exp: %zu points, worst error %.3g ulp\n",
              isa.c_str(), checked, worstUlp);
}

//===----------------------------------------------------------------------===//
// Fused RMS norm prologue and SiLU-gate / residual epilogue
//===----------------------------------------------------------------------===//

/// Every row of x (k values, strided, the padding NaN so that a read past k
/// shows) against the formula in double, to 1e-5 relative per element; y's
/// padding stays untouched.
void checkRMSNorm(const std::string &isa) {
  auto rmsNorm = reinterpret_cast<RMSNormFn>(
      findMicroKernel("haqa_uk_rms_norm_f32_" + isa));
  ASSERT_NE(rmsNorm, nullptr);
  constexpr float kSentinel = 12345.0f;
  std::mt19937 rng(23);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  double worst = 0;
  for (int64_t k : {32, 576, 100})
    for (int64_t rows : {1, 5}) {
      const int64_t xStride = k + 7, yStride = k + 13;
      std::vector<float> x(rows * xStride, NAN), w(k),
          y(rows * yStride, kSentinel);
      for (int64_t m = 0; m < rows; ++m) {
        const float rowScale = std::pow(4.0f, float(m) - 2.0f);
        for (int64_t j = 0; j < k; ++j)
          x[m * xStride + j] = normal(rng) * rowScale;
      }
      for (float &e : w)
        e = normal(rng);
      const float eps = 1e-5f;
      rmsNorm(x.data(), xStride, w.data(), y.data(), yStride, rows, k, eps);
      for (int64_t m = 0; m < rows; ++m) {
        double ss = 0;
        for (int64_t j = 0; j < k; ++j)
          ss += double(x[m * xStride + j]) * x[m * xStride + j];
        const double r = 1.0 / std::sqrt(ss / double(k) + eps);
        for (int64_t j = 0; j < yStride; ++j) {
          const float got = y[m * yStride + j];
          if (j >= k) {
            ASSERT_EQ(got, kSentinel)
                << isa << " k=" << k << " wrote y[" << m << "][" << j << "]";
            continue;
          }
          const double e = double(x[m * xStride + j]) * r * w[j];
          const double err = std::fabs(got - e);
          worst = std::max(worst, err / std::fabs(e));
          ASSERT_LE(err, 1e-5 * std::fabs(e))
              << isa << " k=" << k << " rows=" << rows << " y[" << m << "]["
              << j << "]: " << got << " vs " << e;
        }
      }
    }
  // No rows, or no values: nothing is written.
  std::vector<float> x(64, 1.0f), w(64, 1.0f), y(64, kSentinel);
  rmsNorm(x.data(), 64, w.data(), y.data(), 64, 0, 64, 1e-5f);
  rmsNorm(x.data(), 64, w.data(), y.data(), 64, 1, 0, 1e-5f);
  for (float e : y)
    ASSERT_EQ(e, kSentinel) << isa;
  std::printf("[          ] %s rms_norm: worst relative error %.3g\n",
              isa.c_str(), worst);
}

/// Gate only, residual only, both and neither, over column ranges with and
/// without vector tails, against the formula in double: the error within
/// 1e-5 of |silu(g) y| + |residual|; columns outside [n0, n1) and the row
/// padding untouched.
void checkEpilogue(const std::string &isa) {
  auto epilogue = reinterpret_cast<EpilogueFn>(
      findMicroKernel("haqa_uk_epilogue_f32_" + isa));
  ASSERT_NE(epilogue, nullptr);
  std::mt19937 rng(29);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> gateValue(-20.0f, 20.0f);
  constexpr int64_t kN = 1536;
  const int64_t yStride = kN + 5, gateStride = kN + 11, resStride = kN + 3;
  const int64_t ranges[][2] = {{0, kN}, {3, 40}, {17, 18}};
  double worst = 0;
  for (bool useGate : {true, false})
    for (bool useResidual : {true, false})
      for (const auto &range : ranges)
        for (int64_t rows : {1, 4}) {
          const int64_t n0 = range[0], n1 = range[1];
          std::vector<float> y0(rows * yStride), gate(rows * gateStride),
              residual(rows * resStride);
          for (float &e : y0)
            e = normal(rng);
          for (float &e : gate)
            e = gateValue(rng);
          for (float &e : residual)
            e = normal(rng);
          std::vector<float> y = y0;
          epilogue(y.data(), yStride, useGate ? gate.data() : nullptr,
                   gateStride, useResidual ? residual.data() : nullptr,
                   resStride, rows, n0, n1);
          const std::string what =
              isa + (useGate ? " gate" : "") +
              (useResidual ? " residual" : "") + " [" + std::to_string(n0) +
              ", " + std::to_string(n1) + ") rows=" + std::to_string(rows);
          for (int64_t m = 0; m < rows; ++m)
            for (int64_t n = 0; n < yStride; ++n) {
              const float got = y[m * yStride + n], in = y0[m * yStride + n];
              if (n < n0 || n >= n1 || (!useGate && !useResidual)) {
                ASSERT_EQ(bitsOf(got), bitsOf(in))
                    << what << " changed y[" << m << "][" << n << "]";
                continue;
              }
              double e = in, mag = std::fabs(e);
              if (useGate) {
                const double g = gate[m * gateStride + n];
                e = g / (1.0 + std::exp(-g)) * e;
                mag = std::fabs(e);
              }
              if (useResidual) {
                const double r = residual[m * resStride + n];
                e += r;
                mag += std::fabs(r);
              }
              const double err = std::fabs(got - e);
              if (mag > 0)
                worst = std::max(worst, err / mag);
              ASSERT_LE(err, 1e-5 * mag) << what << " y[" << m << "][" << n
                                         << "]: " << got << " vs " << e;
            }
        }
  // Empty pieces: nothing is written.
  std::vector<float> y(64, 1.5f), g(64, 2.0f), r(64, 3.0f);
  epilogue(y.data(), 64, g.data(), 64, r.data(), 64, 0, 0, 64);
  epilogue(y.data(), 64, g.data(), 64, r.data(), 64, 1, 10, 10);
  epilogue(y.data(), 64, g.data(), 64, r.data(), 64, 1, 20, 10);
  for (float e : y)
    ASSERT_EQ(e, 1.5f) << isa;
  std::printf("[          ] %s epilogue: worst error %.3g of the terms\n",
              isa.c_str(), worst);
}

TEST(MicroKernels, ScalarRMSNormMatchesFormula) { checkRMSNorm("scalar"); }
TEST(MicroKernels, ScalarEpilogueMatchesFormula) { checkEpilogue("scalar"); }

TEST_P(MicroKernelsISA, RMSNormMatchesFormula) { checkRMSNorm(isa); }
TEST_P(MicroKernelsISA, EpilogueMatchesFormula) { checkEpilogue(isa); }

INSTANTIATE_TEST_SUITE_P(, MicroKernelsISA,
                         testing::Values("avx2", "avxvnni", "avx512vnni"),
                         [](const testing::TestParamInfo<const char *> &info) {
                           return std::string(info.param);
                         });

} // namespace
