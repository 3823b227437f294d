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
    the very argument it was passed in. Such results are removed from public
    functions too (upstream drop-equivalent-buffer-results leaves public
    functions alone), so buffer-results-to-out-params does not add an
    out-parameter and a copy of the whole cache per call. The argument index
    of each removed result is recorded in `haqa.aliased_results` on the
    function (one entry per removed result, in result order).

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

#endif // HAQA_CPU_PASSES_TD
