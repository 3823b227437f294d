// A micro-kernel's instruction set against the target's CPU features: a
// host without it is refused, naming the missing feature, before any code
// runs (never a SIGILL).
// RUN: haqa-opt %s --split-input-file --haqa-cpu-lower-micro-kernels=features=avx2,fma,f16c --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @avx2(
// CHECK: call @haqa_uk_dot_q8_0_avx2(
func.func @avx2(%q: memref<1x72xi8>, %w: memref<8x68xi8>, %y: memref<1x8xf32>) {
  haqa.micro_kernel "dot_q8_0" isa = avx2 ins(%q, %w : memref<1x72xi8>, memref<8x68xi8>) outs(%y : memref<1x8xf32>)
  return
}

// -----

func.func @avx512_vnni(%q: memref<1x72xi8>, %w: memref<8x68xi8>, %y: memref<1x8xf32>) {
  // expected-error@+1 {{'haqa.micro_kernel' op isa = avx512_vnni needs the CPU feature 'avx512f', which the target (features avx2,fma,f16c) lacks}}
  haqa.micro_kernel "dot_q8_0" isa = avx512_vnni ins(%q, %w : memref<1x72xi8>, memref<8x68xi8>) outs(%y : memref<1x8xf32>)
  return
}

// -----

func.func @avx_vnni(%q: memref<1x72xi8>, %w: memref<8x36xi8>, %y: memref<1x8xf32>) {
  // expected-error@+1 {{'haqa.micro_kernel' op isa = avx_vnni needs the CPU feature 'avxvnni', which the target (features avx2,fma,f16c) lacks}}
  haqa.micro_kernel "dot_q4_0" isa = avx_vnni ins(%q, %w : memref<1x72xi8>, memref<8x36xi8>) outs(%y : memref<1x8xf32>)
  return
}
