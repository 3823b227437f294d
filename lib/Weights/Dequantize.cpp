//===- Dequantize.cpp - ggml number formats and dequantization ---*- C++ -*-=//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// IEEE half / bfloat16 conversions (both ways) and ggml-quants.c's
// dequantize_row_* for
// the block layouts of GGMLTypes.h (block_q8_0, block_q4_0, block_q4_1,
// block_q4_K, block_q6_K).
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/Dequantize.h"

#include <cmath>
#include <cstring>

using namespace mlir::haqa;
using llvm::Error;

//===----------------------------------------------------------------------===//
// Number formats
//===----------------------------------------------------------------------===//

float mlir::haqa::halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float mlir::haqa::bf16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t mlir::haqa::floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // inf or nan
    return sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0);
  if (absx >= 0x477ff000u) // rounds to >= 65520: inf
    return sign | 0x7c00u;
  if (absx < 0x38800000u) { // subnormal or zero in half
    // Scale into the subnormal range with round-to-nearest-even.
    float a;
    std::memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f; // 2^24: one half-subnormal ulp = 1
    uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return sign | m;
  }
  uint32_t exp = ((absx >> 23) - 127 + 15) << 10;
  uint32_t mant = (absx >> 13) & 0x3ff;
  uint32_t rest = absx & 0x1fff;
  uint32_t h = exp | mant;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
    ++h; // carries into the exponent correctly
  return sign | h;
}

uint16_t mlir::haqa::floatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // nan: keep it quiet
    return static_cast<uint16_t>((bits >> 16) | 64);
  return static_cast<uint16_t>((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
}

//===----------------------------------------------------------------------===//
// Dequantization (ggml-quants.c dequantize_row_*)
//===----------------------------------------------------------------------===//

namespace {

uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void getScaleMinK4(int j, const uint8_t *q, uint8_t &d, uint8_t &m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

} // namespace

Error mlir::haqa::dequantize(uint32_t type, llvm::ArrayRef<uint8_t> src,
                             llvm::MutableArrayRef<float> dst) {
  std::optional<GGMLTypeInfo> info = getGGMLTypeInfo(type);
  if (!info || !info->canDequantize)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "unimplemented: dequantization of ggml type " +
            (info ? info->name.str() : std::to_string(type)));
  uint64_t n = dst.size();
  if (n % info->blockSize != 0 ||
      src.size() != n / info->blockSize * info->blockBytes)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "dequantize " + info->name.str() + ": " + std::to_string(n) +
            " values need " +
            std::to_string(n / info->blockSize * info->blockBytes) +
            " bytes, got " + std::to_string(src.size()));
  const uint8_t *p = src.data();
  float *y = dst.data();
  uint64_t blocks = n / info->blockSize;
  switch (static_cast<GGMLType>(type)) {
  case GGMLType::F32:
    std::memcpy(y, p, n * 4);
    break;
  case GGMLType::F16:
    for (uint64_t i = 0; i < n; ++i)
      y[i] = halfToFloat(load16(p + 2 * i));
    break;
  case GGMLType::BF16:
    for (uint64_t i = 0; i < n; ++i)
      y[i] = bf16ToFloat(load16(p + 2 * i));
    break;
  case GGMLType::Q8_0: // {half d; int8 qs[32]}
    for (uint64_t b = 0; b < blocks; ++b, p += info->blockBytes, y += 32) {
      float d = halfToFloat(load16(p));
      for (int j = 0; j < 32; ++j)
        y[j] = d * static_cast<int8_t>(p[2 + j]);
    }
    break;
  case GGMLType::Q4_0: // {half d; uint8 qs[16]}, q - 8
    for (uint64_t b = 0; b < blocks; ++b, p += info->blockBytes, y += 32) {
      float d = halfToFloat(load16(p));
      for (int j = 0; j < 16; ++j) {
        y[j] = d * ((p[2 + j] & 0xF) - 8);
        y[j + 16] = d * ((p[2 + j] >> 4) - 8);
      }
    }
    break;
  case GGMLType::Q4_1: // {half d, m; uint8 qs[16]}
    for (uint64_t b = 0; b < blocks; ++b, p += info->blockBytes, y += 32) {
      float d = halfToFloat(load16(p));
      float m = halfToFloat(load16(p + 2));
      for (int j = 0; j < 16; ++j) {
        y[j] = (p[4 + j] & 0xF) * d + m;
        y[j + 16] = (p[4 + j] >> 4) * d + m;
      }
    }
    break;
  case GGMLType::Q4_K: // {half d, dmin; uint8 scales[12]; uint8 qs[128]}
    for (uint64_t b = 0; b < blocks; ++b, p += info->blockBytes) {
      float d = halfToFloat(load16(p));
      float dmin = halfToFloat(load16(p + 2));
      const uint8_t *scales = p + 4;
      const uint8_t *q = p + 16;
      int is = 0;
      for (int j = 0; j < 256; j += 64, q += 32, is += 2) {
        uint8_t sc, m;
        getScaleMinK4(is, scales, sc, m);
        float d1 = d * sc, m1 = dmin * m;
        getScaleMinK4(is + 1, scales, sc, m);
        float d2 = d * sc, m2 = dmin * m;
        for (int l = 0; l < 32; ++l)
          *y++ = d1 * (q[l] & 0xF) - m1;
        for (int l = 0; l < 32; ++l)
          *y++ = d2 * (q[l] >> 4) - m2;
      }
    }
    break;
  case GGMLType::Q6_K: // {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d}
    for (uint64_t b = 0; b < blocks; ++b, p += info->blockBytes) {
      const uint8_t *ql = p;
      const uint8_t *qh = p + 128;
      const auto *sc = reinterpret_cast<const int8_t *>(p + 192);
      float d = halfToFloat(load16(p + 208));
      for (int n0 = 0; n0 < 256;
           n0 += 128, y += 128, ql += 64, qh += 32, sc += 8) {
        for (int l = 0; l < 32; ++l) {
          int is = l / 16;
          int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
          int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
          int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          y[l] = d * sc[is] * q1;
          y[l + 32] = d * sc[is + 2] * q2;
          y[l + 64] = d * sc[is + 4] * q3;
          y[l + 96] = d * sc[is + 6] * q4;
        }
      }
    }
    break;
  default:
    llvm_unreachable("checked above");
  }
  return Error::success();
}
