//===- KQuants.cpp - ggml K-quant blocks Q4_K and Q6_K ----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Reimplements ggml's reference K-quant quantizers (quantize_row_q4_K_ref,
// quantize_row_q6_K_ref in ggml-quants.c) for one super-block at a time.
// The goal is equal bytes, so every float operation below is the one ggml
// does, in the same order and precision (float, not double; products with
// integer codes convert the code to float first), and integer narrowings
// wrap the way C's conversions do. Layouts: KQuants.h.
//
// Q4_K: each 32-value sub-block gets an affine fit x ~ scale * q - min with
// q in [0, 15] (a weighted least-squares search over 21 candidate inverse
// scales); the 8 scales and 8 mins are then quantized to 6 bits against
// their maxima, and the codes recomputed from the rounded scales.
// Q6_K: each 16-value sub-block gets a symmetric fit x ~ scale * (q - 32)
// with q in [0, 63] (weighted by x^2, 19 candidate inverse scales); the 16
// scales are quantized to int8 against the one of largest magnitude, and the
// codes recomputed from the rounded scales.
//
// ggml-quants.c is compiled without FMA contraction on x86-64 (no -march),
// so contraction is turned off here too: a fused a * b + c rounds once and
// would change the bytes (GCC contracts by default once FMA is available,
// e.g. under -march=native). Clang's -ffp-contract=fast ignores the pragma;
// don't build this file with it.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/KQuants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

using namespace mlir::haqa;

namespace {

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

/// Round to the nearest integer, ties to even, by adding 1.5 * 2^23: the
/// sum's low 23 mantissa bits then hold the integer offset by 2^22. Exact for
/// |v| < 2^22; outside that (ggml asserts) it yields the same wrapped value
/// ggml's nearest_int does, which is what byte equality needs.
int roundNearest(float v) {
  float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

/// IEEE half bits of `f`, rounded to nearest even (as GGML_FP32_TO_FP16).
uint16_t toHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t mag = bits & 0x7fffffffu;
  if (mag > 0x7f800000u) // NaN: a quiet NaN
    return sign | 0x7e00u;
  if (mag >= 0x477ff000u) // infinity, or at least 65520: rounds to infinity
    return sign | 0x7c00u;
  if (mag < 0x38800000u) { // below 2^-14: a half subnormal or zero
    float a;
    std::memcpy(&a, &mag, 4);
    // One subnormal step is 2^-24: scale so it becomes 1 (exact, a power of
    // two) and round the integer count of steps, ties to even.
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  // Normal: rebias the exponent, keep 10 mantissa bits, round on the 13
  // dropped bits (a carry out of the mantissa bumps the exponent, as it
  // should).
  uint32_t h = (((mag >> 23) - 112) << 10) | ((mag >> 13) & 0x3ffu);
  const uint32_t dropped = mag & 0x1fffu;
  if (dropped > 0x1000u || (dropped == 0x1000u && (h & 1u)))
    ++h;
  return sign | static_cast<uint16_t>(h);
}

/// The float value of IEEE half bits `h` (always exact; a NaN keeps its
/// payload, made quiet, as ggml's conversion gives on x86).
float fromHalf(uint16_t h) {
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 31) {
    const uint32_t bits = (static_cast<uint32_t>(h & 0x8000u) << 16) |
                          0x7f800000u | (mantissa << 13) |
                          (mantissa ? 0x00400000u : 0u);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  const float mag = exponent == 0
                        ? std::ldexp(static_cast<float>(mantissa), -24)
                        : std::ldexp(static_cast<float>(mantissa | 0x400),
                                     static_cast<int>(exponent) - 25);
  return (h & 0x8000u) ? -mag : mag;
}

uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void store16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

//===----------------------------------------------------------------------===//
// Q4_K
//===----------------------------------------------------------------------===//

constexpr int kSub4 = 32;           // values per Q4_K sub-block
constexpr int kSubs4 = 256 / kSub4; // sub-blocks per Q4_K block
constexpr int kMax4 = 15;           // largest 4-bit code

/// Weighted affine fit of one Q4_K sub-block (ggml's make_qkx2_quants with
/// nmax 15, rmin -1, rdelta 0.1, nstep 20, squared error): finds scale and
/// min >= 0 with x ~ scale * codes - min, codes in [0, 15]. Writes the codes
/// and min, returns the scale.
float fitAffine4(const float *x, const float *w, uint8_t *codes,
                 float *minOut) {
  // Range (the low end clamped to at most 0) and the weighted sums that do
  // not depend on the codes.
  float lo = x[0], hi = x[0];
  float sumW = w[0];
  float sumWX = sumW * x[0];
  for (int i = 1; i < kSub4; ++i) {
    if (x[i] < lo)
      lo = x[i];
    if (x[i] > hi)
      hi = x[i];
    sumW += w[i];
    sumWX += w[i] * x[i];
  }
  if (lo > 0)
    lo = 0;
  if (hi == lo) {
    std::fill(codes, codes + kSub4, uint8_t(0));
    *minOut = -lo;
    return 0.0f;
  }

  // Start: the codes of the plain min/max mapping and their error.
  float inv = static_cast<float>(kMax4) / (hi - lo);
  float bestScale = 1 / inv;
  float bestMin = lo; // as an offset (<= 0); reported negated
  float bestErr = 0;
  for (int i = 0; i < kSub4; ++i) {
    const int q = roundNearest(inv * (x[i] - lo));
    codes[i] = static_cast<uint8_t>(std::max(0, std::min(kMax4, q)));
    const float e = bestScale * codes[i] + bestMin - x[i];
    bestErr += w[i] * (e * e);
  }

  // Candidates: inverse scales (14 + 0.1 k) / (hi - offset), k = 0..20,
  // where offset is the best fit's so far (ggml moves the origin along as
  // the fit improves). For each, round, then solve the 2x2 weighted least
  // squares for scale and offset (offset clamped to <= 0), and keep the fit
  // of least error.
  uint8_t trial[kSub4];
  for (int k = 0; k <= 20; ++k) {
    inv = (-1.0f + 0.1f * static_cast<float>(k) + static_cast<float>(kMax4)) /
          (hi - bestMin);
    float sumWL = 0, sumWLL = 0, sumWLX = 0;
    for (int i = 0; i < kSub4; ++i) {
      const int q =
          std::max(0, std::min(kMax4, roundNearest(inv * (x[i] - bestMin))));
      trial[i] = static_cast<uint8_t>(q);
      const float fq = static_cast<float>(q);
      sumWL += w[i] * fq;
      sumWLL += w[i] * fq * fq;
      sumWLX += w[i] * fq * x[i];
    }
    const float det = sumW * sumWLL - sumWL * sumWL;
    if (!(det > 0))
      continue;
    float scale = (sumW * sumWLX - sumWX * sumWL) / det;
    float offset = (sumWLL * sumWX - sumWL * sumWLX) / det;
    if (offset > 0) {
      offset = 0;
      scale = sumWLX / sumWLL;
    }
    float err = 0;
    for (int i = 0; i < kSub4; ++i) {
      const float e = scale * trial[i] + offset - x[i];
      err += w[i] * (e * e);
    }
    if (err < bestErr) {
      std::copy(trial, trial + kSub4, codes);
      bestErr = err;
      bestScale = scale;
      bestMin = offset;
    }
  }
  *minOut = -bestMin;
  return bestScale;
}

/// The 6-bit scale and min of sub-block `j` from the 12 packed bytes.
void unpackScaleMin4(int j, const uint8_t *packed, uint8_t *sc, uint8_t *m) {
  if (j < 4) {
    *sc = packed[j] & 63;
    *m = packed[j + 4] & 63;
  } else {
    *sc = (packed[j + 4] & 15) | ((packed[j - 4] >> 6) << 4);
    *m = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}

//===----------------------------------------------------------------------===//
// Q6_K
//===----------------------------------------------------------------------===//

constexpr int kSub6 = 16;           // values per Q6_K sub-block
constexpr int kSubs6 = 256 / kSub6; // sub-blocks per Q6_K block
constexpr int kHalf6 = 32;          // codes in [0, 64) stand for q - 32
constexpr float kTinyGroup = 1e-15f;

/// Symmetric fit of one Q6_K sub-block weighted by x^2 (ggml's
/// make_qx_quants with nmax 32, rmse_type 1, no importance weights): finds
/// scale with x ~ scale * (codes - 32), codes in [0, 63]. Writes the codes,
/// returns the scale (0, codes 0, for a group below 1e-15).
float fitSymmetric6(const float *x, int8_t *codes) {
  // The value of largest magnitude (the first one on ties), with its sign.
  float peak = 0, peakAbs = 0;
  for (int i = 0; i < kSub6; ++i) {
    const float a = std::fabs(x[i]);
    if (a > peakAbs) {
      peakAbs = a;
      peak = x[i];
    }
  }
  if (peakAbs < kTinyGroup) {
    std::fill(codes, codes + kSub6, int8_t(0));
    return 0.0f;
  }

  // Signed code in [-32, 31] of x under inverse scale `inv`.
  auto code = [](float inv, float v) {
    return std::max(-kHalf6, std::min(kHalf6 - 1, roundNearest(inv * v)));
  };
  // Weighted sums sum(w x q) and sum(w q q), w = x^2, for inverse scale
  // `inv`; also writes the codes when `out` is set.
  auto sums = [&](float inv, float &sumXQ, float &sumQQ, int8_t *out) {
    sumXQ = 0;
    sumQQ = 0;
    for (int i = 0; i < kSub6; ++i) {
      const int q = code(inv, x[i]);
      if (out)
        out[i] = static_cast<int8_t>(q + kHalf6);
      const float w = x[i] * x[i];
      const float fq = static_cast<float>(q);
      sumXQ += w * x[i] * fq;
      sumQQ += w * fq * fq;
    }
  };

  // Start: the peak maps to code -32 (0 after the offset).
  float sumXQ, sumQQ;
  sums(static_cast<float>(-kHalf6) / peak, sumXQ, sumQQ, codes);
  float scale = sumQQ ? sumXQ / sumQQ : 0.0f;
  float best = scale * sumXQ;
  // Candidates: the peak at -(32 + 0.1 k), k = +-1..+-9; keep the one of
  // largest sum(w x q)^2 / sum(w q q).
  for (int k = -9; k <= 9; ++k) {
    if (k == 0)
      continue;
    const float inv =
        -(static_cast<float>(kHalf6) + 0.1f * static_cast<float>(k)) / peak;
    sums(inv, sumXQ, sumQQ, nullptr);
    if (sumQQ > 0 && sumXQ * sumXQ > best * sumQQ) {
      for (int i = 0; i < kSub6; ++i)
        codes[i] = static_cast<int8_t>(code(inv, x[i]) + kHalf6);
      scale = sumXQ / sumQQ;
      best = scale * sumXQ;
    }
  }
  return scale;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public entry points
//===----------------------------------------------------------------------===//

void mlir::haqa::quantizeQ4_KBlock(const float *x, uint8_t *out) {
  uint8_t codes[256];
  float scales[kSubs4], mins[kSubs4];
  float maxScale = 0, maxMin = 0; // both are >= 0 for a sensible fit
  for (int j = 0; j < kSubs4; ++j) {
    const float *xs = x + kSub4 * j;
    // Weights: the sub-block's RMS plus each value's magnitude.
    float sumSq = 0;
    for (int i = 0; i < kSub4; ++i)
      sumSq += xs[i] * xs[i];
    const float rms = std::sqrt(sumSq / kSub4);
    float w[kSub4];
    for (int i = 0; i < kSub4; ++i)
      w[i] = rms + std::fabs(xs[i]);
    scales[j] = fitAffine4(xs, w, codes + kSub4 * j, &mins[j]);
    if (scales[j] > maxScale)
      maxScale = scales[j];
    if (mins[j] > maxMin)
      maxMin = mins[j];
  }

  // 6-bit scales and mins against their maxima (the conversion to uint8
  // wraps, as in C, before the clamp to 63).
  const float toScaleCode = maxScale > 0 ? 63.0f / maxScale : 0.0f;
  const float toMinCode = maxMin > 0 ? 63.0f / maxMin : 0.0f;
  uint8_t sc[kSubs4], mc[kSubs4];
  for (int j = 0; j < kSubs4; ++j) {
    sc[j] = std::min<uint8_t>(
        63, static_cast<uint8_t>(roundNearest(toScaleCode * scales[j])));
    mc[j] = std::min<uint8_t>(
        63, static_cast<uint8_t>(roundNearest(toMinCode * mins[j])));
  }
  const uint16_t dBits = toHalf(maxScale / 63.0f);
  const uint16_t dminBits = toHalf(maxMin / 63.0f);
  store16(out, dBits);
  store16(out + 2, dminBits);
  uint8_t *packed = out + 4;
  for (int j = 0; j < 4; ++j) {
    packed[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    packed[j + 4] = mc[j] | ((mc[j + 4] >> 4) << 6);
    packed[j + 8] = (sc[j + 4] & 15) | ((mc[j + 4] & 15) << 4);
  }

  // Codes again from the rounded scales; a sub-block whose scale rounds to
  // zero keeps the codes of its fit.
  const float d = fromHalf(dBits), dmin = fromHalf(dminBits);
  for (int j = 0; j < kSubs4; ++j) {
    const float step = d * sc[j];
    if (step == 0)
      continue;
    const float offset = dmin * mc[j];
    for (int i = 0; i < kSub4; ++i) {
      const int q = roundNearest((x[kSub4 * j + i] + offset) / step);
      codes[kSub4 * j + i] =
          static_cast<uint8_t>(std::max(0, std::min(kMax4, q)));
    }
  }

  // Two sub-blocks per 32 bytes: the first in the low nibbles.
  uint8_t *qs = out + 16;
  for (int k = 0; k < 4; ++k)
    for (int l = 0; l < 32; ++l)
      qs[32 * k + l] = codes[64 * k + l] | (codes[64 * k + 32 + l] << 4);
}

void mlir::haqa::dequantizeQ4_KBlock(const uint8_t *in, float *y) {
  const float d = fromHalf(load16(in));
  const float dmin = fromHalf(load16(in + 2));
  const uint8_t *packed = in + 4;
  const uint8_t *qs = in + 16;
  for (int k = 0; k < 4; ++k) {
    uint8_t sc, m;
    unpackScaleMin4(2 * k, packed, &sc, &m);
    const float dLo = d * sc, mLo = dmin * m;
    unpackScaleMin4(2 * k + 1, packed, &sc, &m);
    const float dHi = d * sc, mHi = dmin * m;
    for (int l = 0; l < 32; ++l) {
      y[64 * k + l] = dLo * (qs[32 * k + l] & 15) - mLo;
      y[64 * k + 32 + l] = dHi * (qs[32 * k + l] >> 4) - mHi;
    }
  }
}

void mlir::haqa::quantizeQ6_KBlock(const float *x, uint8_t *out) {
  int8_t codes[256];
  float scales[kSubs6];
  float peakScale = 0, peakScaleAbs = 0;
  for (int j = 0; j < kSubs6; ++j) {
    scales[j] = fitSymmetric6(x + kSub6 * j, codes + kSub6 * j);
    const float a = std::fabs(scales[j]);
    if (a > peakScaleAbs) {
      peakScaleAbs = a;
      peakScale = scales[j];
    }
  }

  uint8_t *ql = out, *qh = out + 128;
  int8_t *sc = reinterpret_cast<int8_t *>(out + 192);
  if (peakScaleAbs < kTinyGroup) { // an all-(near-)zero block: all zero bytes
    std::memset(out, 0, kQ6_KBytes);
    store16(out + 208, toHalf(0.0f));
    return;
  }

  // int8 scales: the peak scale maps to -128 (the conversion to int8 wraps,
  // as in C, after the clamp to 127).
  const float toScaleCode = -128.0f / peakScale;
  const uint16_t dBits = toHalf(1 / toScaleCode);
  store16(out + 208, dBits);
  for (int j = 0; j < kSubs6; ++j)
    sc[j] = static_cast<int8_t>(
        std::min(127, roundNearest(toScaleCode * scales[j])));

  // Codes again from the rounded scales; a sub-block whose scale rounds to
  // zero keeps the codes of its fit.
  const float d = fromHalf(dBits);
  for (int j = 0; j < kSubs6; ++j) {
    const float step = d * sc[j];
    if (step == 0)
      continue;
    for (int i = 0; i < kSub6; ++i) {
      const int q = roundNearest(x[kSub6 * j + i] / step);
      codes[kSub6 * j + i] = static_cast<int8_t>(
          std::max(-kHalf6, std::min(kHalf6 - 1, q)) + kHalf6);
    }
  }

  // Per 128 values: low nibbles of values l and l + 64 share ql[l], of
  // l + 32 and l + 96 share ql[l + 32]; the four high bit pairs share qh[l].
  for (int h = 0; h < 2; ++h) {
    const int8_t *c = codes + 128 * h;
    for (int l = 0; l < 32; ++l) {
      ql[64 * h + l] = (c[l] & 15) | ((c[l + 64] & 15) << 4);
      ql[64 * h + l + 32] = (c[l + 32] & 15) | ((c[l + 96] & 15) << 4);
      qh[32 * h + l] = (c[l] >> 4) | ((c[l + 32] >> 4) << 2) |
                       ((c[l + 64] >> 4) << 4) | ((c[l + 96] >> 4) << 6);
    }
  }
}

void mlir::haqa::dequantizeQ6_KBlock(const uint8_t *in, float *y) {
  const uint8_t *ql = in, *qh = in + 128;
  const int8_t *sc = reinterpret_cast<const int8_t *>(in + 192);
  const float d = fromHalf(load16(in + 208));
  for (int h = 0; h < 2; ++h) {
    const uint8_t *L = ql + 64 * h, *H = qh + 32 * h;
    const int8_t *s = sc + 8 * h;
    float *o = y + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int g = l / 16;
      const int q0 = ((L[l] & 15) | (((H[l] >> 0) & 3) << 4)) - 32;
      const int q1 = ((L[l + 32] & 15) | (((H[l] >> 2) & 3) << 4)) - 32;
      const int q2 = ((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32;
      const int q3 = ((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32;
      o[l] = d * s[g] * q0;
      o[l + 32] = d * s[g + 2] * q1;
      o[l + 64] = d * s[g + 4] * q2;
      o[l + 96] = d * s[g + 6] * q3;
    }
  }
}
