// The host CPU pipeline as haqa-opt runs it (the very one the runtime
// compiles with): its passes in order, and a kernel lowered to the LLVM
// dialect.
// RUN: haqa-opt %s --pass-pipeline='builtin.module(haqa-cpu-lower)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPE
// RUN: haqa-opt %s --haqa-default-schedule="target=cpu cpu-threads=2" --haqa-cpu-lower | FileCheck %s
// RUN: haqa-opt %s --haqa-default-schedule="target=cpu cpu-threads=2" --haqa-cpu-lower=buffer-cache=false | FileCheck %s --check-prefix=MALLOC

// PIPE: convert-haqa-to-linalg{attention-whole-cache=false outline-kernels=true}
// PIPE: haqa-cpu-apply-schedule
// PIPE: lower-vector-mask
// PIPE-NOT: eliminate-empty-tensors
// PIPE: one-shot-bufferize{{.*}}bufferize-function-boundaries=true{{.*}}function-boundary-type-conversion=identity-layout-map
// PIPE: drop-equivalent-buffer-results
// PIPE: haqa-cpu-drop-aliased-results
// PIPE: buffer-results-to-out-params{{.*}}hoist-static-allocs=true modify-public-functions=true
// PIPE: ownership-based-buffer-deallocation
// PIPE: convert-vector-to-scf{full-unroll=true
// PIPE: scf-forall-to-parallel
// PIPE: convert-scf-to-openmp
// PIPE: finalize-memref-to-llvm{{.*}}use-generic-functions=true
// PIPE: convert-scf-to-cf
// PIPE: convert-vector-to-llvm{{.*}}enable-x86vector=true
// PIPE: convert-openmp-to-llvm
// PIPE: reconcile-unrealized-casts

// CHECK-LABEL: llvm.func @silu
// CHECK-NOT: haqa.
// CHECK-NOT: linalg.
func.func @silu(%x: tensor<2x256xf32>) -> tensor<2x256xf32> {
  %y = haqa.silu %x : tensor<2x256xf32>
  return %y : tensor<2x256xf32>
}

// An intermediate buffer of the caller: allocated and freed through the
// generic functions the CPU runtime's buffer cache implements (reused from
// step to step), or with buffer-cache=false through malloc / free.
// CHECK-LABEL: llvm.func @silu_mul_silu
// CHECK: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK: llvm.call @_mlir_memref_to_llvm_free
// MALLOC-LABEL: llvm.func @silu_mul_silu
// MALLOC-NOT: _mlir_memref_to_llvm
// MALLOC: llvm.call @malloc
// MALLOC: llvm.call @free
func.func @silu_mul_silu(%x: tensor<2x256xf32>) -> tensor<2x256xf32> {
  %y = haqa.silu %x : tensor<2x256xf32>
  %z = haqa.mul %y, %x : tensor<2x256xf32>
  %w = haqa.silu %z : tensor<2x256xf32>
  return %w : tensor<2x256xf32>
}
