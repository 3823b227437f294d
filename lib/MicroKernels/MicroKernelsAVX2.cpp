//===- MicroKernelsAVX2.cpp - AVX2 (vpmaddubsw + vpmaddwd) micro-kernels -===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The avx2 variants: every function carries target("avx2,fma,f16c"), so this
// file builds for any x86-64 and its code only runs where the caller checked
// isMicroKernelISASupported("avx2").
//
//===----------------------------------------------------------------------===//

#include "MicroKernelsImpl.h"
#include "haqa/MicroKernels/MicroKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <type_traits>

namespace mlir::haqa::uk::avx2 {
#define HAQA_UK_TARGET __attribute__((target("avx2,fma,f16c")))
#define HAQA_UK_DOT 0
#include "X86Kernels.inc"
// After X86Kernels.inc, whose helpers it uses.
#include "X86KQuants.inc"
#undef HAQA_UK_DOT
#undef HAQA_UK_TARGET
} // namespace mlir::haqa::uk::avx2

extern "C" void haqa_uk_quantize_q8_avx2(const float *x, int64_t x_stride,
                                         int64_t rows, int64_t k, uint8_t *out,
                                         int64_t out_row_bytes) {
  mlir::haqa::uk::avx2::quantizeRowsY(x, x_stride, rows, k, out, out_row_bytes);
}

HAQA_UK_DEFINE_DOTS(mlir::haqa::uk::avx2::kernelY, avx2)
HAQA_UK_DEFINE_KQUANT_DOTS(mlir::haqa::uk::avx2::kernelKY, avx2)

#endif // __x86_64__
