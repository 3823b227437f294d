// RUN: haqa-opt %s -split-input-file -verify-diagnostics

// Rules of #haqa.schedule on its own; rules that need the kernel's
// iteration space are in invalid-ops.mlir (schedule_c10 .. c13).
// schedule_c1
// expected-error@+1 {{expected positive tile sizes, got 0 at index 1}}
func.func private @s0() attributes {schedule = #haqa.schedule<tile = [4, 0]>}

// -----

// schedule_c1
// expected-error@+1 {{expected positive tile sizes, got -8 at index 0}}
func.func private @s1() attributes {schedule = #haqa.schedule<tile = [-8]>}

// -----

// schedule_c2
// expected-error@+1 {{expected order to be a permutation of [0, 3), got [0, 0, 2]}}
func.func private @s2() attributes {schedule = #haqa.schedule<order = [0, 0, 2]>}

// -----

// schedule_c2
// expected-error@+1 {{expected order to be a permutation of [0, 2), got [1, 2]}}
func.func private @s3() attributes {schedule = #haqa.schedule<order = [1, 2]>}

// -----

// schedule_c3
// expected-error@+1 {{expected order (3 entries) and tile (2 entries) to have the same length}}
func.func private @s4() attributes {schedule = #haqa.schedule<tile = [1, 64], order = [2, 1, 0]>}

// -----

// schedule_c4
// expected-error@+1 {{expected unroll factor in [1, 64], got 0}}
func.func private @s5() attributes {schedule = #haqa.schedule<unroll = 0>}

// -----

// schedule_c4
// expected-error@+1 {{expected unroll factor in [1, 64], got 128}}
func.func private @s6() attributes {schedule = #haqa.schedule<unroll = 128>}

// -----

// schedule_c5
// expected-error@+1 {{expected vector width to be a power of two in [1, 64], got 12}}
func.func private @s7() attributes {schedule = #haqa.schedule<vector = 12>}

// -----

// schedule_c5
// expected-error@+1 {{expected vector width to be a power of two in [1, 64], got 0}}
func.func private @s8() attributes {schedule = #haqa.schedule<vector = 0>}

// -----

// schedule_c6
// expected-error@+1 {{expected at most 3 threads dimensions, got 4}}
func.func private @s9() attributes {schedule = #haqa.schedule<threads = [32, 2, 2, 2]>}

// -----

// schedule_c6
// expected-error@+1 {{expected positive grid sizes, got 0 at index 0}}
func.func private @s10() attributes {schedule = #haqa.schedule<grid = [0]>}

// -----

// schedule_c6
// expected-error@+1 {{expected positive threads sizes, got -1 at index 1}}
func.func private @s11() attributes {schedule = #haqa.schedule<threads = [32, -1]>}

// -----

// schedule_c7
// expected-error@+1 {{expected at most 1024 threads per block, got 2048}}
func.func private @s12() attributes {schedule = #haqa.schedule<threads = [64, 32]>}

// -----

// schedule_c8
// expected-error@+1 {{expected cpu_threads in [1, 1024], got 0}}
func.func private @s13() attributes {schedule = #haqa.schedule<cpu_threads = 0>}

// -----

// schedule_c9
// expected-error@+1 {{expected prefetch distance in [0, 16], got 17}}
func.func private @s14() attributes {schedule = #haqa.schedule<prefetch = 17>}

// -----

// schedule_c9
// expected-error@+1 {{expected prefetch distance in [0, 16], got -1}}
func.func private @s15() attributes {schedule = #haqa.schedule<prefetch = -1>}

// -----

// expected-error@+1 {{unknown memory space 'texture'}}
func.func private @s16() attributes {schedule = #haqa.schedule<placement = [texture]>}

// -----

// expected-error@+1 {{unknown operand layout 'diagonal'}}
func.func private @s17() attributes {schedule = #haqa.schedule<layout = [diagonal]>}

// -----

// expected-error@+1 {{unknown schedule field 'tiles' (expected tile, order, unroll, vector, threads, grid, cpu_threads, placement, prefetch, layout, mma, dot, isa, micro, exp, attn or fuse)}}
func.func private @s18() attributes {schedule = #haqa.schedule<tiles = [4]>}

// -----

// expected-error@+1 {{duplicate schedule field 'unroll'}}
func.func private @s19() attributes {schedule = #haqa.schedule<unroll = 2, unroll = 4>}

// -----

// expected-error@+1 {{expected mma to be 0 or 1, got 2}}
func.func private @s20() attributes {schedule = #haqa.schedule<mma = 2>}

// -----

// schedule_c15
// expected-error@+1 {{expected micro to be [mr, nr] with mr one of 1, 2, 4 and nr one of 1, 2, 4, 16, got [1, 3]}}
func.func private @s21() attributes {schedule = #haqa.schedule<dot = i8, micro = [1, 3]>}

// -----

// schedule_c15
// expected-error@+1 {{expected micro to be [mr, nr] with mr one of 1, 2, 4 and nr one of 1, 2, 4, 16, got [4]}}
func.func private @s22() attributes {schedule = #haqa.schedule<dot = i8, micro = [4]>}

// -----

// schedule_c15: 16 is for nr only (mr is a register block)
// expected-error@+1 {{expected micro to be [mr, nr] with mr one of 1, 2, 4 and nr one of 1, 2, 4, 16, got [16, 4]}}
func.func private @s22b() attributes {schedule = #haqa.schedule<dot = i8, isa = avx512_vnni, micro = [16, 4]>}

// -----

// schedule_c22: packed panels exist for the AVX-512 VNNI int8 dots only
// expected-error@+1 {{expected micro nr = 16 (packed panels of 16 weight rows) only with dot = i8 and isa = avx512_vnni}}
func.func private @s22c() attributes {schedule = #haqa.schedule<dot = i8, isa = avx2, micro = [4, 16]>}

// -----

// schedule_c22
// expected-error@+1 {{expected micro nr = 16 (packed panels of 16 weight rows) only with dot = i8 and isa = avx512_vnni}}
func.func private @s22d() attributes {schedule = #haqa.schedule<dot = fma, isa = avx512_vnni, micro = [4, 16]>}

// -----

// schedule_c22: isa absent is scalar
// expected-error@+1 {{expected micro nr = 16 (packed panels of 16 weight rows) only with dot = i8 and isa = avx512_vnni}}
func.func private @s22e() attributes {schedule = #haqa.schedule<dot = i8, micro = [4, 16]>}

// -----

// schedule_c16
// expected-error@+1 {{expected isa only with dot = i8, dot = fma or attn = fused}}
func.func private @s23() attributes {schedule = #haqa.schedule<isa = avx2>}

// -----

// schedule_c16
// expected-error@+1 {{expected micro only with dot = i8 or fma}}
func.func private @s24() attributes {schedule = #haqa.schedule<dot = f32, micro = [1, 4]>}

// -----

// schedule_c16
// expected-error@+1 {{expected isa only with dot = i8, dot = fma or attn = fused}}
func.func private @s24b() attributes {schedule = #haqa.schedule<attn = generic, isa = avx2>}

// -----

// schedule_c16
// expected-error@+1 {{expected micro only with dot = i8 or fma}}
func.func private @s24c() attributes {schedule = #haqa.schedule<attn = fused, micro = [1, 4]>}

// -----

// expected-error@+1 {{unknown dot kind 'i4'}}
func.func private @s25() attributes {schedule = #haqa.schedule<dot = i4>}

// -----

// expected-error@+1 {{unknown instruction set 'neon'}}
func.func private @s26() attributes {schedule = #haqa.schedule<dot = i8, isa = neon>}

// -----

// expected-error@+1 {{unknown exp kind 'quick'}}
func.func private @s27() attributes {schedule = #haqa.schedule<exp = quick>}

// -----

// schedule_c19
// expected-error@+1 {{expected no tile, order, unroll, vector or prefetch with dot = i8 (the micro-kernel's register block is micro)}}
func.func private @s28() attributes {schedule = #haqa.schedule<tile = [1, 16, 576], dot = i8>}

// -----

// schedule_c19
// expected-error@+1 {{expected no tile, order, unroll, vector or prefetch with dot = i8 (the micro-kernel's register block is micro)}}
func.func private @s29() attributes {schedule = #haqa.schedule<prefetch = 2, dot = i8, isa = avx2>}

// -----

// schedule_c20
// expected-error@+1 {{expected no tile, order, unroll, vector, prefetch or exp with attn = fused (the micro-kernel has its own loops and exp)}}
func.func private @s30() attributes {schedule = #haqa.schedule<attn = fused, exp = poly>}

// -----

// schedule_c20
// expected-error@+1 {{expected no tile, order, unroll, vector, prefetch or exp with attn = fused (the micro-kernel has its own loops and exp)}}
func.func private @s31() attributes {schedule = #haqa.schedule<tile = [1, 1, 64, 64], attn = fused, isa = avx2>}

// -----

// expected-error@+1 {{unknown attention kind 'flash'}}
func.func private @s32() attributes {schedule = #haqa.schedule<attn = flash>}

// -----

// schedule_c19
// expected-error@+1 {{expected no tile, order, unroll, vector or prefetch with dot = fma (the micro-kernel's register block is micro)}}
func.func private @s33() attributes {schedule = #haqa.schedule<vector = 16, dot = fma>}

// -----

// schedule_c23
// expected-error@+1 {{expected fuse only with dot = i8 or fma (the micro-kernel dot computes the fused neighbours)}}
func.func private @s23() attributes {schedule = #haqa.schedule<cpu_threads = 2, fuse = [norm]>}

// -----

// schedule_c23
// expected-error@+1 {{expected fuse to name each neighbour once, got residual twice}}
func.func private @s23b() attributes {schedule = #haqa.schedule<dot = i8, fuse = [residual, norm, residual]>}

// -----

// schedule_c23
// expected-error@+1 {{unknown fused neighbour 'softmax'}}
func.func private @s23c() attributes {schedule = #haqa.schedule<dot = i8, fuse = [softmax]>}

// -----

// schedule_c23
func.func @s23d(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  // expected-error@+1 {{'haqa.silu' op schedule has fuse, which applies to matmul only}}
  %y = haqa.silu %x {schedule = #haqa.schedule<dot = i8, fuse = [norm]>} : tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
