//===- MicroKernels.cpp - Micro-kernel registry and host checks ----------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/MicroKernels/MicroKernels.h"
#include "MicroKernelsImpl.h"

#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

using namespace mlir::haqa;

// clang-format off
#define HAQA_UK_SYMBOL(name)                                                   \
  MicroKernelSymbol{#name, reinterpret_cast<void *>(&name)}
#define HAQA_UK_ISA_SYMBOLS(isa)                                               \
  HAQA_UK_SYMBOL(haqa_uk_quantize_q8_##isa),                                   \
  HAQA_UK_SYMBOL(haqa_uk_dot_q8_0_##isa),                                      \
  HAQA_UK_SYMBOL(haqa_uk_dot_q4_0_##isa),                                      \
  HAQA_UK_SYMBOL(haqa_uk_dot_q4_1_##isa),                                      \
  HAQA_UK_SYMBOL(haqa_uk_dot_q4_k_##isa),                                      \
  HAQA_UK_SYMBOL(haqa_uk_dot_q6_k_##isa),                                      \
  HAQA_UK_SYMBOL(haqa_uk_dot_f16_##isa),                                       \
  HAQA_UK_SYMBOL(haqa_uk_dot_bf16_##isa),                                      \
  HAQA_UK_SYMBOL(haqa_uk_attention_f32_##isa),                                 \
  HAQA_UK_SYMBOL(haqa_uk_rms_norm_f32_##isa),                                  \
  HAQA_UK_SYMBOL(haqa_uk_epilogue_f32_##isa)

std::vector<MicroKernelSymbol> mlir::haqa::getMicroKernelSymbols() {
  return {
      HAQA_UK_ISA_SYMBOLS(scalar),
#if defined(__x86_64__)
      HAQA_UK_ISA_SYMBOLS(avx2),
      HAQA_UK_ISA_SYMBOLS(avxvnni),
      HAQA_UK_ISA_SYMBOLS(avx512vnni),
#endif
  };
}
// clang-format on

void *mlir::haqa::findMicroKernel(const std::string &name) {
  for (const MicroKernelSymbol &s : getMicroKernelSymbols())
    if (name == s.name)
      return s.address;
  return nullptr;
}

std::vector<const char *> mlir::haqa::getMicroKernelISAs() {
#if defined(__x86_64__)
  return {"scalar", "avx2", "avxvnni", "avx512vnni"};
#else
  return {"scalar"};
#endif
}

#if defined(__x86_64__)
namespace {

/// The x86 features the variants need, from cpuid and (for the register
/// state the OS saves) xgetbv; the same with any compiler.
struct X86Features {
  bool avx2 = false, fma = false, f16c = false, avxvnni = false;
  bool avx512 = false; // avx512f, avx512bw, avx512vl, avx512vnni and state

  X86Features() {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
      return;
    const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
    fma = c & (1u << 12);
    f16c = c & (1u << 29);
    if (!osxsave || !avx)
      return;
    uint32_t xcr0Lo, xcr0Hi;
    __asm__("xgetbv" : "=a"(xcr0Lo), "=d"(xcr0Hi) : "c"(0));
    if ((xcr0Lo & 0x6) != 0x6) { // XMM and YMM state
      fma = f16c = false;
      return;
    }
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
      return;
    const unsigned maxSubleaf = a;
    avx2 = b & (1u << 5);
    avx512 = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)) &&
             (c & (1u << 11)) && (xcr0Lo & 0xe0) == 0xe0; // opmask, ZMM state
    if (maxSubleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
      avxvnni = a & (1u << 4);
  }
};

} // namespace
#endif

bool mlir::haqa::isMicroKernelISASupported(const char *isa) {
  if (!isa)
    return false;
  if (std::strcmp(isa, "scalar") == 0)
    return true;
#if defined(__x86_64__)
  static const X86Features f;
  const bool base = f.avx2 && f.fma && f.f16c;
  if (std::strcmp(isa, "avx2") == 0)
    return base;
  if (std::strcmp(isa, "avxvnni") == 0)
    return base && f.avxvnni;
  if (std::strcmp(isa, "avx512vnni") == 0)
    return base && f.avx512;
#endif
  return false;
}

float mlir::haqa::microKernelHalfToFloat(uint16_t h) {
  return uk::halfToFloat(h);
}

uint16_t mlir::haqa::microKernelFloatToHalf(float f) {
  return uk::floatToHalf(f);
}

float mlir::haqa::microKernelBF16ToFloat(uint16_t b) {
  return uk::bitsFloat(static_cast<uint32_t>(b) << 16);
}
