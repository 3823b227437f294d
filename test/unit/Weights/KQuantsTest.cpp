//===- KQuantsTest.cpp - Q4_K and Q6_K blocks -------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The K-quant codecs without llama.cpp: sizes, hand-packed blocks decode to
// the formulas of KQuants.h, values on the codes' grid quantize to the
// expected bytes, zero blocks to zero bytes, and random blocks round-trip
// within a bound relative to the block's largest magnitude. (Equality with
// ggml's bytes is scripts/check-kquants.sh's job.)
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/KQuants.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace mlir::haqa;

namespace {

uint16_t get16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void put16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

/// Largest |y - x| over a block, relative to the block's largest |x|.
float relativeMaxError(const float *x, const float *y) {
  float amax = 0, err = 0;
  for (int i = 0; i < kQK_K; ++i) {
    amax = std::max(amax, std::fabs(x[i]));
    err = std::max(err, std::fabs(y[i] - x[i]));
  }
  return err / amax;
}

TEST(KQuantsTest, Sizes) {
  EXPECT_EQ(kQK_K, 256);
  EXPECT_EQ(kQ4_KBytes, 2 + 2 + 12 + kQK_K / 2);
  EXPECT_EQ(kQ6_KBytes, kQK_K / 2 + kQK_K / 4 + kQK_K / 16 + 2);
  EXPECT_EQ(kQ4_KBytes, 144);
  EXPECT_EQ(kQ6_KBytes, 210);
}

TEST(KQuantsTest, ZeroBlocksAreZeroBytes) {
  std::vector<float> x(kQK_K, 0.0f), y(kQK_K, 1.0f);
  uint8_t q4[kQ4_KBytes], q6[kQ6_KBytes];
  std::memset(q4, 0xAB, sizeof(q4));
  std::memset(q6, 0xAB, sizeof(q6));
  quantizeQ4_KBlock(x.data(), q4);
  quantizeQ6_KBlock(x.data(), q6);
  for (uint8_t b : q4)
    EXPECT_EQ(b, 0);
  for (uint8_t b : q6)
    EXPECT_EQ(b, 0);
  dequantizeQ4_KBlock(q4, y.data());
  for (float v : y)
    EXPECT_EQ(v, 0.0f);
  std::fill(y.begin(), y.end(), 1.0f);
  dequantizeQ6_KBlock(q6, y.data());
  for (float v : y)
    EXPECT_EQ(v, 0.0f);

  // Q6_K treats groups below 1e-15 as zero; so a block of them is zero.
  std::fill(x.begin(), x.end(), 1e-30f);
  quantizeQ6_KBlock(x.data(), q6);
  for (uint8_t b : q6)
    EXPECT_EQ(b, 0);
}

// A hand-packed Q4_K block: d = 1, dmin = 0.5, sub-block j with scale 40 + j
// and min 20 + 5 j (both above 15, so the high bits are exercised), value i
// with code (i * 7) % 16.
TEST(KQuantsTest, Q4_KLayout) {
  uint8_t block[kQ4_KBytes] = {};
  put16(block, 0x3C00);     // 1.0
  put16(block + 2, 0x3800); // 0.5
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = 40 + j;
    m[j] = 20 + 5 * j;
  }
  uint8_t *scales = block + 4;
  for (int j = 0; j < 4; ++j) {
    scales[j] = sc[j] | (sc[j + 4] >> 4) << 6;
    scales[j + 4] = m[j] | (m[j + 4] >> 4) << 6;
    scales[j + 8] = (sc[j + 4] & 15) | (m[j + 4] & 15) << 4;
  }
  auto code = [](int i) { return (i * 7) % 16; };
  uint8_t *qs = block + 16;
  for (int i = 0; i < kQK_K; ++i) {
    int chunk = i / 64, within = i % 64;
    uint8_t &byte = qs[32 * chunk + within % 32];
    byte |= within < 32 ? code(i) : code(i) << 4;
  }
  float y[kQK_K];
  dequantizeQ4_KBlock(block, y);
  for (int i = 0; i < kQK_K; ++i) {
    int j = i / 32;
    EXPECT_EQ(y[i], 1.0f * sc[j] * code(i) - 0.5f * m[j]) << "value " << i;
  }
}

// A hand-packed Q6_K block: d = 0.25, sub-block s with scale s - 8 (negative
// ones too), value i with code (i * 5 + i / 64) % 64.
TEST(KQuantsTest, Q6_KLayout) {
  uint8_t block[kQ6_KBytes] = {};
  auto code = [](int i) { return (i * 5 + i / 64) % 64; };
  uint8_t *ql = block, *qh = block + 128;
  for (int i = 0; i < kQK_K; ++i) {
    int half = i / 128, r = i % 128, l = r % 32, quarter = r / 32;
    // Quarters 0, 1 in the low nibbles of ql[l], ql[l + 32]; 2, 3 in the
    // high ones; the high bit pair of quarter k at bits 2k of qh[l].
    uint8_t &low = ql[64 * half + l + (quarter % 2) * 32];
    low |= (code(i) & 15) << (quarter / 2 * 4);
    qh[32 * half + l] |= (code(i) >> 4) << (2 * quarter);
  }
  for (int s = 0; s < 16; ++s)
    block[192 + s] = static_cast<uint8_t>(static_cast<int8_t>(s - 8));
  put16(block + 208, 0x3400); // 0.25
  float y[kQK_K];
  dequantizeQ6_KBlock(block, y);
  for (int i = 0; i < kQK_K; ++i)
    EXPECT_EQ(y[i], 0.25f * (i / 16 - 8) * (code(i) - 32)) << "value " << i;
}

// Every sub-block holds the codes 0..15 (twice): the fit is exact (scale 1,
// min 0), so the 6-bit scales are all 63 and the mins 0.
TEST(KQuantsTest, Q4_KQuantizesItsGrid) {
  float x[kQK_K], y[kQK_K];
  for (int i = 0; i < kQK_K; ++i)
    x[i] = static_cast<float>((i * 3) % 16);
  uint8_t block[kQ4_KBytes];
  quantizeQ4_KBlock(x, block);
  EXPECT_EQ(get16(block), 0x2410); // half(1 / 63)
  EXPECT_EQ(get16(block + 2), 0);  // dmin = 0
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(block[4 + j], 0xFF);  // 63 | (63 >> 4) << 6
    EXPECT_EQ(block[8 + j], 0x00);  // mins 0
    EXPECT_EQ(block[12 + j], 0x0F); // low nibbles of scale 63, min 0
  }
  for (int i = 0; i < kQK_K; ++i) {
    int chunk = i / 64, within = i % 64;
    uint8_t byte = block[16 + 32 * chunk + within % 32];
    EXPECT_EQ(within < 32 ? byte & 15 : byte >> 4, (i * 3) % 16);
  }
  dequantizeQ4_KBlock(block, y);
  for (int i = 0; i < kQK_K; ++i)
    EXPECT_NEAR(y[i], x[i], 1e-2f);
}

// Every sub-block holds integers in [-32, 31] including -32: the fit is
// exact (scale 1), the peak scale maps to -128, so d = -1/128 and each
// decoded value is exact.
TEST(KQuantsTest, Q6_KQuantizesItsGrid) {
  float x[kQK_K], y[kQK_K];
  for (int i = 0; i < kQK_K; ++i)
    x[i] = i % 16 ? static_cast<float>((i * 11) % 64 - 32) : -32.0f;
  uint8_t block[kQ6_KBytes];
  quantizeQ6_KBlock(x, block);
  EXPECT_EQ(get16(block + 208), 0xA000); // half(-1/128)
  for (int s = 0; s < 16; ++s)
    EXPECT_EQ(static_cast<int8_t>(block[192 + s]), -128);
  dequantizeQ6_KBlock(block, y);
  for (int i = 0; i < kQK_K; ++i)
    EXPECT_EQ(y[i], x[i]) << "value " << i;
}

TEST(KQuantsTest, RoundTripBounds) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  float x[kQK_K], y[kQK_K];
  uint8_t q4[kQ4_KBytes], q6[kQ6_KBytes];
  float worst4 = 0, worst6 = 0;
  double sq4 = 0, sq6 = 0, sqx = 0;
  for (int n = 0; n < 2000; ++n) {
    // Normal, uniform, one-signed, at scales from 1 to 1e3. (Much smaller
    // blocks lose precision by design: the f16 super-scale d, about
    // max / 4096 for Q6_K and max / 500 for Q4_K, turns subnormal below
    // 2^-14, and its rounding error then shows through the clamped codes.)
    const float mag = std::pow(10.0f, 3 * unit(rng));
    for (int i = 0; i < kQK_K; ++i) {
      float v = n % 3 == 0   ? normal(rng)
                : n % 3 == 1 ? 2 * unit(rng) - 1
                             : unit(rng) + 0.25f;
      x[i] = v * mag;
      sqx += double(x[i]) * x[i];
    }
    quantizeQ4_KBlock(x, q4);
    dequantizeQ4_KBlock(q4, y);
    worst4 = std::max(worst4, relativeMaxError(x, y));
    for (int i = 0; i < kQK_K; ++i)
      sq4 += double(y[i] - x[i]) * (y[i] - x[i]);
    quantizeQ6_KBlock(x, q6);
    dequantizeQ6_KBlock(q6, y);
    worst6 = std::max(worst6, relativeMaxError(x, y));
    for (int i = 0; i < kQK_K; ++i)
      sq6 += double(y[i] - x[i]) * (y[i] - x[i]);
  }
  // 4-bit codes over a sub-block's range (up to twice the block maximum):
  // half a step is up to 1/15 of the maximum, more where the weighted fit
  // clamps an extreme value; 6-bit signed codes: half a step is 1/64 of the
  // sub-block maximum. (Measured with this seed: 0.110 and 0.0193.)
  EXPECT_LT(worst4, 0.15f);
  EXPECT_LT(worst6, 0.025f);
  // Relative RMS error (measured: 0.058 and 0.0154).
  EXPECT_LT(std::sqrt(sq4 / sqx), 0.08);
  EXPECT_LT(std::sqrt(sq6 / sqx), 0.02);
}

TEST(KQuantsTest, Q6_KSingleOutlierKeepsItsValue) {
  // One large value among small ones: it sets the scale of its sub-block,
  // and must come back within half a step.
  float x[kQK_K], y[kQK_K];
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (float &v : x)
    v = normal(rng);
  x[77] = 5.0f;
  uint8_t block[kQ6_KBytes];
  quantizeQ6_KBlock(x, block);
  dequantizeQ6_KBlock(block, y);
  EXPECT_NEAR(y[77], 5.0f, 5.0f / 64);
}

} // namespace
