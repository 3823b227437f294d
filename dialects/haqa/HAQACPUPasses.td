//===- HAQACPUPasses.td - host CPU target passes -----------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_CPU_PASSES_TD
#define HAQA_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def HAQACPUApplySchedulePass
    : Pass<"haqa-cpu-apply-schedule", "::mlir::func::FuncOp"> {
  let summary = "apply each kernel's #haqa.schedule to its linalg ops";
  let description = [{
    Runs on the output of convert-haqa-to-linalg. For every linalg.generic
    carrying `haqa.schedule`, with `haqa.loop_dims` mapping its loops to the
    kernel's iteration dimensions, the fields become upstream transforms
    (TilingInterface, linalg vectorizer, scf unrolling):

    - `cpu_threads = T` (T > 1): the outermost parallel dimension in `order`
      is split over T threads with scf.forall (OpenMP after lowering).
    - `tile` and `order`: scf.for tile loops, nested in `order` (a kernel
      dimension split over several linalg loops, like K over Q8_0 blocks, is
      tiled on its outer loop in whole blocks).
    - `vector = V` (V > 1): the innermost loop is cut into V-wide pieces and
      each tile is vectorized (masked where a size is dynamic).
    - `unroll = U`: the innermost scf.for is unrolled U times.
    - `prefetch = D`: in the innermost tile loop that walks a weight, a
      memref.prefetch of the weight slice D iterations ahead.

    `placement` and `layout` have no CPU meaning beyond the defaults yet; a
    schedule that sets them other than to global / row is reported.
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::memref::MemRefDialect", "::mlir::affine::AffineDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def HAQACPUDropAliasedResultsPass
    : Pass<"haqa-cpu-drop-aliased-results", "::mlir::ModuleOp"> {
  let summary = "drop memref results that are the function's own arguments";
  let description = [{
    After one-shot bufferization, a KV cache updated in place comes back as
    the very argument it was passed in, and so does an outlined kernel's
    result computed in its destination argument (through the tile loops
    that carry it, nested ones included). Such results are removed, so
    buffer-results-to-out-params adds no out-parameter and no copy per
    call: from public functions too (upstream
    drop-equivalent-buffer-results leaves public functions alone, and does
    not look through loops). Calls in the module use the argument instead.
    For a function nothing in the module calls, the argument index of each
    removed result is recorded in `haqa.aliased_results` (one entry per
    removed result, in result order).

    ```mlir
    func.func @step(%cache: memref<8xf32>, %x: memref<1xf32>)
        -> (memref<1xf32>, memref<8xf32>) {
      ...
      return %y, %cache : memref<1xf32>, memref<8xf32>
    }
    // becomes
    func.func @step(%cache: memref<8xf32>, %x: memref<1xf32>) -> memref<1xf32>
        attributes {haqa.aliased_results = array<i64: 0>}
    ```
  }];
}

def HAQACPULowerMicroKernelsPass
    : Pass<"haqa-cpu-lower-micro-kernels", "::mlir::ModuleOp"> {
  let summary = "haqa.micro_kernel on memrefs as calls of lib/MicroKernels";
  let description = [{
    After bufferization, each `haqa.micro_kernel` becomes a call of the C
    function `haqa_uk_<kernel>_<isa>` (lib/MicroKernels, which the CPU
    runtime hands to the JIT): every memref as the address of its first
    element and its row stride, then the sizes. A dot kernel with
    `threads = T > 1` is split over N in an scf.forall of T pieces (OpenMP
    after lowering), each a whole number of `nr` rows.

    The instruction set of each call is checked against `features` first:
    a kernel asking for instructions the target lacks is an error naming the
    missing feature, never a SIGILL.

    ```mlir
    haqa.micro_kernel "quantize_q8" isa(<avx2>) ins(%x : memref<1x64xf32>) outs(%q : memref<1x72xi8>)
    // becomes
    call @haqa_uk_quantize_q8_avx2(%xp, %c64, %c1, %c64, %qp, %c72)
        : (!llvm.ptr, i64, i64, i64, !llvm.ptr, i64) -> ()
    ```
  }];
  let options = [
    Option<"features", "features", "std::string", /*default=*/"\"host\"",
           "the CPU features code may use, comma-separated LLVM names "
           "(avx2,fma,f16c,avxvnni,avx512f,avx512bw,avx512vl,avx512vnni); "
           "'host': this machine's; 'any': no check">,
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::func::FuncDialect",
    "::mlir::arith::ArithDialect",
  ];
}

#endif // HAQA_CPU_PASSES_TD
