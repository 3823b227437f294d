// The host CPU pipeline as haqa-opt runs it (the very one the runtime
// compiles with): its passes in order, and a kernel lowered to the LLVM
// dialect.
// RUN: haqa-opt %s --pass-pipeline='builtin.module(haqa-cpu-lower)' --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPE
// RUN: haqa-opt %s --haqa-default-schedule="target=cpu cpu-threads=2" --haqa-cpu-lower | FileCheck %s

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
// PIPE: finalize-memref-to-llvm
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
