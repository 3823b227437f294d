//===- Quantize.cpp - round-to-nearest weight quantization ------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Per 32-value block, as ggml-quants.c:
//   Q8_0: d = amax / 127, q = roundf(x / d)                (half away from 0)
//   Q4_0: d = max / -8 (max: the value of largest magnitude),
//         q = min(15, (int8)(x / d + 8.5))                  (truncation)
//   Q4_1: d = (max - min) / 15, m = min,
//         q = min(15, (int8)((x - min) / d + 0.5))
// with the scale computed and applied in float and stored as IEEE half;
// Q4_K and Q6_K per 256-value super-block by KQuants.cpp. Also the mapping
// between ggml types and #haqa.quant, and dequantization of any #haqa.quant
// storage.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/Codecs.h"
#include "haqa/Weights/KQuants.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::haqa;

static void put16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

static void quantizeQ8_0(const float *x, uint8_t *out) {
  float amax = 0;
  for (int j = 0; j < 32; ++j)
    amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / ((1 << 7) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  put16(out, floatToHalf(d));
  for (int j = 0; j < 32; ++j)
    out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(roundf(x[j] * id)));
}

static void quantizeQ4_0(const float *x, uint8_t *out) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / -8;
  const float id = d ? 1.0f / d : 0.0f;
  put16(out, floatToHalf(d));
  for (int j = 0; j < 16; ++j) {
    const float x0 = x[j] * id, x1 = x[16 + j] * id;
    const uint8_t xi0 = std::min<int8_t>(15, static_cast<int8_t>(x0 + 8.5f));
    const uint8_t xi1 = std::min<int8_t>(15, static_cast<int8_t>(x1 + 8.5f));
    out[2 + j] = xi0 | (xi1 << 4);
  }
}

static void quantizeQ4_1(const float *x, uint8_t *out) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / ((1 << 4) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  put16(out, floatToHalf(d));
  put16(out + 2, floatToHalf(min));
  for (int j = 0; j < 16; ++j) {
    const float x0 = (x[j] - min) * id, x1 = (x[16 + j] - min) * id;
    const uint8_t xi0 = std::min<int8_t>(15, static_cast<int8_t>(x0 + 0.5f));
    const uint8_t xi1 = std::min<int8_t>(15, static_cast<int8_t>(x1 + 0.5f));
    out[4 + j] = xi0 | (xi1 << 4);
  }
}

//===----------------------------------------------------------------------===//
// Planar layout: all values (row-major; i4 two per byte, low nibble first),
// then one scale per group (the scale type), then one offset per group
// (zero_point: uint8; min: the scale type).
//   zero = none:       i8: d = amax / 127, q = round(x / d) in [-127, 127];
//                      i4: d = max / -8, nibble = min(15, trunc(x / d + 8.5))
//                      (Q4_0's rule), x = d * (nibble - 8)
//   zero = zero_point: s = (max - min) / L, z = clamp(round(-min / s), 0, L),
//                      q = clamp(round(x / s) + z, 0, L), x = s * (q - z)
//   zero = min:        s = (max - min) / L, q = clamp(round((x - min) / s),
//                      0, L), x = s * q + min
// with L = 255 (i8) or 15 (i4); the scale is computed in float and stored
// rounded to the scale type.
//===----------------------------------------------------------------------===//

namespace {

struct PlanarLayout {
  uint64_t n, groups, group, bits, scaleBytes, valuesBytes, scalesOffset,
      offsetsOffset;
  Type scaleType;
  ZeroKind zero;
};

PlanarLayout planarLayout(QuantAttr q, uint64_t n) {
  PlanarLayout l;
  l.n = n;
  l.group = q.getGroup();
  l.groups = (n + l.group - 1) / l.group;
  l.bits = q.getBits();
  l.scaleType = q.getScaleType();
  l.scaleBytes = l.scaleType.getIntOrFloatBitWidth() / 8;
  l.valuesBytes = (n * l.bits + 7) / 8;
  l.scalesOffset = l.valuesBytes;
  l.offsetsOffset = l.scalesOffset + l.groups * l.scaleBytes;
  l.zero = q.getZero();
  return l;
}

void storeScale(const PlanarLayout &l, uint8_t *p, float v) {
  if (l.scaleType.isF32())
    std::memcpy(p, &v, 4);
  else if (l.scaleType.isF16())
    put16(p, floatToHalf(v));
  else
    put16(p, floatToBF16(v));
}

float loadScale(const PlanarLayout &l, const uint8_t *p) {
  float v;
  uint16_t h;
  if (l.scaleType.isF32()) {
    std::memcpy(&v, p, 4);
    return v;
  }
  std::memcpy(&h, p, 2);
  return l.scaleType.isF16() ? halfToFloat(h) : bf16ToFloat(h);
}

void storeValue(const PlanarLayout &l, uint8_t *values, uint64_t i,
                unsigned q) {
  if (l.bits == 8) {
    values[i] = static_cast<uint8_t>(q);
  } else if (i % 2 == 0) {
    values[i / 2] = (values[i / 2] & 0xF0) | (q & 0xF);
  } else {
    values[i / 2] = (values[i / 2] & 0x0F) | ((q & 0xF) << 4);
  }
}

unsigned loadValue(const PlanarLayout &l, const uint8_t *values, uint64_t i) {
  if (l.bits == 8)
    return values[i];
  return i % 2 == 0 ? values[i / 2] & 0xF : values[i / 2] >> 4;
}

void quantizePlanar(const PlanarLayout &l, llvm::ArrayRef<float> x,
                    uint8_t *out) {
  const int levels = l.bits == 8 ? 255 : 15;
  for (uint64_t g = 0; g < l.groups; ++g) {
    uint64_t b = g * l.group, e = std::min(l.n, b + l.group);
    float mn = FLT_MAX, mx = -FLT_MAX, amax = 0, signedMax = 0;
    for (uint64_t i = b; i < e; ++i) {
      mn = std::min(mn, x[i]);
      mx = std::max(mx, x[i]);
      if (amax < std::fabs(x[i])) {
        amax = std::fabs(x[i]);
        signedMax = x[i];
      }
    }
    uint8_t *scale = out + l.scalesOffset + g * l.scaleBytes;
    if (l.zero == ZeroKind::none) {
      float d = l.bits == 8 ? amax / 127 : signedMax / -8;
      float id = d ? 1.0f / d : 0.0f;
      storeScale(l, scale, d);
      for (uint64_t i = b; i < e; ++i) {
        unsigned q =
            l.bits == 8
                ? static_cast<uint8_t>(static_cast<int8_t>(roundf(x[i] * id)))
                : std::min<int8_t>(15, static_cast<int8_t>(x[i] * id + 8.5f));
        storeValue(l, out, i, q);
      }
      continue;
    }
    float s = (mx - mn) / levels;
    float is = s ? 1.0f / s : 0.0f;
    storeScale(l, scale, s);
    if (l.zero == ZeroKind::zero_point) {
      int z = std::clamp(static_cast<int>(roundf(-mn * is)), 0, levels);
      out[l.offsetsOffset + g] = static_cast<uint8_t>(z);
      for (uint64_t i = b; i < e; ++i)
        storeValue(
            l, out, i,
            std::clamp(static_cast<int>(roundf(x[i] * is)) + z, 0, levels));
    } else {
      storeScale(l, out + l.offsetsOffset + g * l.scaleBytes, mn);
      for (uint64_t i = b; i < e; ++i)
        storeValue(
            l, out, i,
            std::clamp(static_cast<int>(roundf((x[i] - mn) * is)), 0, levels));
    }
  }
}

} // namespace

llvm::Error mlir::haqa::dequantizePlanar(QuantAttr quant,
                                         llvm::ArrayRef<uint8_t> bytes,
                                         llvm::MutableArrayRef<float> y) {
  PlanarLayout l = planarLayout(quant, y.size());
  if (bytes.size() != quant.getStorageBytes(y.size()))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "planar weights: " + std::to_string(y.size()) + " values need " +
            std::to_string(quant.getStorageBytes(y.size())) + " bytes, got " +
            std::to_string(bytes.size()));
  const uint8_t *p = bytes.data();
  for (uint64_t i = 0; i < l.n; ++i) {
    uint64_t g = i / l.group;
    float s = loadScale(l, p + l.scalesOffset + g * l.scaleBytes);
    unsigned q = loadValue(l, p, i);
    switch (l.zero) {
    case ZeroKind::none:
      y[i] = l.bits == 8 ? s * static_cast<int8_t>(q)
                         : s * (static_cast<int>(q) - 8);
      break;
    case ZeroKind::zero_point:
      y[i] = s * (static_cast<int>(q) - p[l.offsetsOffset + g]);
      break;
    case ZeroKind::min:
      y[i] = s * q + loadScale(l, p + l.offsetsOffset + g * l.scaleBytes);
      break;
    }
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<uint8_t>>
mlir::haqa::quantizeWeights(QuantAttr quant, llvm::ArrayRef<float> values,
                            int64_t rowLength) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
  };
  uint64_t n = values.size();
  std::vector<uint8_t> out(quant.getStorageBytes(n));
  if (!quant.isQuantized()) {
    for (uint64_t i = 0; i < n; ++i) {
      switch (quant.getKind()) {
      case ElemKind::f32:
        std::memcpy(&out[4 * i], &values[i], 4);
        break;
      case ElemKind::f16:
        put16(&out[2 * i], floatToHalf(values[i]));
        break;
      case ElemKind::bf16:
        put16(&out[2 * i], floatToBF16(values[i]));
        break;
      default:
        llvm_unreachable("plain kinds only");
      }
    }
    return out;
  }
  if (quant.getLayout() == StorageLayout::planar) {
    if (rowLength % quant.getGroup() != 0 || n % rowLength != 0)
      return fail("cannot quantize rows of " + llvm::Twine(rowLength) +
                  " values into " + llvm::Twine(quant.getGroup()) +
                  "-value groups");
    quantizePlanar(planarLayout(quant, n), values, out.data());
    return out;
  }
  StringRef gguf = quant.getGGUFName();
  const int64_t blockValues = quant.getGGUFBlockValues();
  if (rowLength % blockValues != 0 || n % rowLength != 0)
    return fail("cannot quantize rows of " + llvm::Twine(rowLength) +
                " values into " + llvm::Twine(blockValues) + "-value blocks (" +
                gguf + ")");
  auto *block = gguf == "q8_0"   ? quantizeQ8_0
                : gguf == "q4_0" ? quantizeQ4_0
                : gguf == "q4_1" ? quantizeQ4_1
                : gguf == "q4_k" ? quantizeQ4_KBlock
                                 : quantizeQ6_KBlock;
  uint64_t blockBytes = quant.getGGUFBlockBytes();
  for (uint64_t b = 0; b < n / blockValues; ++b)
    block(&values[blockValues * b], &out[blockBytes * b]);
  return out;
}

llvm::Error mlir::haqa::dequantizeWeights(QuantAttr quant,
                                          llvm::ArrayRef<uint8_t> bytes,
                                          llvm::MutableArrayRef<float> values) {
  if (std::optional<uint32_t> ggml = getGGMLTypeForQuant(quant))
    return dequantize(*ggml, bytes, values);
  return dequantizePlanar(quant, bytes, values);
}

//===----------------------------------------------------------------------===//
// ggml types <-> #haqa.quant
//===----------------------------------------------------------------------===//

QuantAttr mlir::haqa::getQuantForGGMLType(MLIRContext *ctx, uint32_t type) {
  switch (static_cast<GGMLType>(type)) {
  case GGMLType::F32:
    return QuantAttr::getPlain(ctx, ElemKind::f32);
  case GGMLType::F16:
    return QuantAttr::getPlain(ctx, ElemKind::f16);
  case GGMLType::BF16:
    return QuantAttr::getPlain(ctx, ElemKind::bf16);
  case GGMLType::Q8_0:
    return QuantAttr::getQ8_0(ctx);
  case GGMLType::Q4_0:
    return QuantAttr::getQ4_0(ctx);
  case GGMLType::Q4_1:
    return QuantAttr::getQ4_1(ctx);
  case GGMLType::Q4_K:
    return QuantAttr::getQ4_K(ctx);
  case GGMLType::Q6_K:
    return QuantAttr::getQ6_K(ctx);
  default:
    return {};
  }
}

GGUFTensorLayout mlir::haqa::getGGUFTensorLayout(WeightType type) {
  if (std::optional<uint32_t> ggml = getGGMLTypeForQuant(type.getQuant()))
    return {*ggml, llvm::SmallVector<int64_t, 4>(type.getShape())};
  return {static_cast<uint32_t>(GGMLType::I8),
          {static_cast<int64_t>(type.getStorageBytes())}};
}

std::optional<uint32_t> mlir::haqa::getGGMLTypeForQuant(QuantAttr q) {
  std::optional<GGMLType> t = getGGMLTypeByName(q.getGGUFName());
  if (!t)
    return std::nullopt;
  return static_cast<uint32_t>(*t);
}
