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
// with the scale computed and applied in float and stored as IEEE half.
//
//===----------------------------------------------------------------------===//

#include "haqa/Import/Quantize.h"
#include "haqa/Import/GGUF.h"

#include <cfloat>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::haqa;

uint16_t mlir::haqa::floatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // nan: keep it quiet
    return static_cast<uint16_t>((bits >> 16) | 64);
  return static_cast<uint16_t>((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
}

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
  StringRef gguf = quant.getGGUFName();
  if (gguf.empty())
    return fail("unimplemented: quantizing to the planar layout " +
                llvm::Twine(quant.getGroup()) + "-value groups");
  if (rowLength % 32 != 0 || n % rowLength != 0)
    return fail("cannot quantize rows of " + llvm::Twine(rowLength) +
                " values into 32-value blocks");
  auto *block = gguf == "q8_0"   ? quantizeQ8_0
                : gguf == "q4_0" ? quantizeQ4_0
                                 : quantizeQ4_1;
  uint64_t blockBytes = quant.getStorageBytes(32);
  for (uint64_t b = 0; b < n / 32; ++b)
    block(&values[32 * b], &out[blockBytes * b]);
  return out;
}
