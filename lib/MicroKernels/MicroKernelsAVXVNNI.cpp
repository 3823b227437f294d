//===- MicroKernelsAVXVNNI.cpp - AVX-VNNI (256-bit vpdpbusd, VEX) micro-kernels
//-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The avxvnni variants: every function carries target("avx2,fma,f16c,avxvnni"),
// so this file builds for any x86-64 and its code only runs where the caller
// checked isMicroKernelISASupported("avxvnni").
//
//===----------------------------------------------------------------------===//

#include "MicroKernelsImpl.h"
#include "haqa/MicroKernels/MicroKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <type_traits>

namespace mlir::haqa::uk::avxvnni {
#define HAQA_UK_TARGET __attribute__((target("avx2,fma,f16c,avxvnni")))
#define HAQA_UK_DOT 1
#include "X86Kernels.inc"
// After X86Kernels.inc, whose helpers it uses.
#include "X86KQuants.inc"
#undef HAQA_UK_DOT
#undef HAQA_UK_TARGET
} // namespace mlir::haqa::uk::avxvnni

extern "C" void haqa_uk_quantize_q8_avxvnni(const float *x, int64_t x_stride,
                                            int64_t rows, int64_t k,
                                            uint8_t *out,
                                            int64_t out_row_bytes) {
  mlir::haqa::uk::avxvnni::quantizeRowsY(x, x_stride, rows, k, out,
                                         out_row_bytes);
}

HAQA_UK_DEFINE_DOTS(mlir::haqa::uk::avxvnni::kernelY, avxvnni)
HAQA_UK_DEFINE_KQUANT_DOTS(mlir::haqa::uk::avxvnni::kernelKY, avxvnni)

#endif // __x86_64__
