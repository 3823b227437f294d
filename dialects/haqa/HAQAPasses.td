//===- HAQAPasses.td - HAQA dialect passes -----------------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_PASSES_TD
#define HAQA_PASSES_TD

include "mlir/Pass/PassBase.td"

def HAQAExtractKernelsPass : Pass<"haqa-extract-kernels", "ModuleOp"> {
  let summary = "list the distinct kernels of a module as JSON for the agent";
  let description = [{
    Walks every op implementing KernelOpInterface and writes one JSON object
    per distinct kernel (same op, operand types and schedule): its name,
    shape signature, operand types, weight quantization, current schedule,
    FLOPs, bytes and how often it occurs. The IR is left unchanged.

    Input:
    ```mlir
    %y = haqa.silu %x : tensor<1x1536xf32>
    ```
    Output (to `output`, stdout when empty):
    ```json
    {"kernels": [
      {"kernel": "silu", "signature": "silu [1536,1,1]", "count": 1, ...}
    ], "total": {...}}
    ```
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"\"",
           "write the JSON to this file instead of stdout">,
  ];
}

def HAQADefaultSchedulePass : Pass<"haqa-default-schedule", "ModuleOp"> {
  let summary = "attach a default #haqa.schedule to kernels that have none";
  let description = [{
    Derives a schedule from the target's limits (vector width, threads per
    block or workgroup, cores) and the kernel's iteration space, and attaches
    it to every kernel without one. Kernels that already carry a schedule
    (e.g. chosen by the agent) are left alone.

    Before:
    ```mlir
    %y = haqa.silu %x : tensor<1x1536xf32>
    ```
    After (`target=cpu cpu-threads=2`):
    ```mlir
    %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 256], order = [0, 1], unroll = 4, vector = 16, cpu_threads = 2>} : tensor<1x1536xf32>
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "cpu, cuda or opencl">,
    Option<"cpuThreads", "cpu-threads", "int64_t", /*default=*/"0",
           "host threads for target=cpu (0: this machine's hardware threads)">,
    Option<"microKernels", "micro-kernels", "std::string", /*default=*/"\"\"",
           "target=cpu: the micro-kernels' instruction set (scalar, avx2, "
           "avx_vnni, avx512_vnni, or host: the best this machine has): "
           "matmuls with Q8_0 / Q4_0 / Q4_1 weights get dot = i8, F16 ones "
           "dot = fma, attention attn = fused; empty: generated loops">,
    Option<"fuse", "fuse", "bool", /*default=*/"false",
           "with micro-kernels: the matmul schedules also ask for their "
           "neighbours (fuse = [norm, swiglu, residual]; haqa-fuse-matmuls "
           "rewrites them)">,
  ];
  let dependentDialects = ["::mlir::haqa::HAQADialect"];
}

def HAQAQuantizePass : Pass<"haqa-quantize", "ModuleOp"> {
  let summary = "choose the storage (FP16 / INT8 / INT4) of every 2-d weight";
  let description = [{
    Rewrites the `!haqa.weight` type of each 2-d weight (embedding, linear
    layers, output) to the requested storage; 1-d weights (norms) stay as
    they are. The bytes follow from the type: whoever reads or writes the
    weights quantizes the source values round-to-nearest into it (GGUF's
    reference quantizers for q8_0 / q4_0 / q4_1, so INT8 and INT4 with
    group 32 give bytes identical to llama.cpp's Q8_0 and Q4_0).

    `bits=16` is f16, `bits=8 group=32` is q8_0, `bits=4 group=32` is q4_0
    (`zero=min`: q4_1); other group sizes use the planar layout.
    `storage` names a GGUF type instead (f32, f16, bf16, q8_0, q4_0, q4_1,
    q4_k, q6_k; the K-quants need rows that are multiples of 256 and follow
    ggml's reference quantizers byte for byte). `overrides` sets other bit
    widths or storages per weight name glob, first match wins:
    `overrides=output.weight:8,blk.0.*:16` or, like llama.cpp's Q4_K_M,
    `storage=q4_k overrides=output.weight:q6_k,*ffn_down*:q6_k`.

    Before (`bits=8`):
    ```mlir
    %w = haqa.weight "blk.0.attn_q.weight" : !haqa.weight<576x576, #haqa.quant<f32>>
    ```
    After:
    ```mlir
    %w = haqa.weight "blk.0.attn_q.weight" : !haqa.weight<576x576, #haqa.quant<q8_0>>
    ```
  }];
  let options = [
    Option<"bits", "bits", "int64_t", /*default=*/"8",
           "16, 8 or 4 (0: keep the storage of weights no override names)">,
    Option<"group", "group", "int64_t", /*default=*/"32",
           "values per scale along the reduction axis (INT8 / INT4)">,
    Option<"zero", "zero", "std::string", /*default=*/"\"none\"",
           "none or min (INT4 / INT8 with a per-group minimum)">,
    Option<"storage", "storage", "std::string", /*default=*/"\"\"",
           "a GGUF storage for every 2-d weight instead of bits (f32, f16, "
           "bf16, q8_0, q4_0, q4_1, q4_k, q6_k)">,
    Option<"overrides", "overrides", "std::string", /*default=*/"\"\"",
           "comma-separated glob:bits or glob:storage pairs over weight "
           "names">,
  ];
  let dependentDialects = ["::mlir::haqa::HAQADialect"];
}

def HAQAPlanMemoryPass : Pass<"haqa-plan-memory", "ModuleOp"> {
  let summary = "compute the memory each precision needs and which fit";
  let description = [{
    For the module's current weight storage and for FP16, INT8 (q8_0) and
    INT4 (q4_0) weights, adds up:
    - weights: every distinct `haqa.weight`'s storage bytes (2-d weights at
      the precision, 1-d norms as stored);
    - KV cache: 2 x layers x context x kv_heads x head_dim x kv-bits / 8;
    - activations: batch x 4 bytes x (4 dim + 2 ffn + heads x context +
      vocab), the float working set of one prefill batch;
    - buffer cache: the idle intermediates the CPU runtime keeps for reuse
      (lib/Runtime/BufferCache.cpp): at most `buffer-cache` (its bound,
      1 GiB by default) and at most the activations, which are what it
      caches (0 for targets without it);
    - runtime overhead: a fixed allowance (`overhead`).
    and records the plan as the module attribute `haqa.memory_plan`, with
    `fits` against `limit`. Sizes take B, KB/MB/GB (10^3..) and KiB/MiB/GiB
    (2^10..) suffixes. The model shapes come from the module's `haqa.config`.
  }];
  let options = [
    Option<"limit", "limit", "std::string", /*default=*/"\"\"",
           "memory available, e.g. 12GB (empty: no limit)">,
    Option<"context", "context", "int64_t", /*default=*/"0",
           "tokens of KV cache to plan for (0: the module's KV cache rows)">,
    Option<"batch", "batch", "int64_t", /*default=*/"512",
           "tokens processed at once during prefill">,
    Option<"kvBits", "kv-bits", "int64_t", /*default=*/"16",
           "bits per KV cache element (16: f16 as llama.cpp)">,
    Option<"overhead", "overhead", "std::string", /*default=*/"\"256MiB\"",
           "fixed runtime allowance (context, workspace, graph)">,
    Option<"bufferCache", "buffer-cache", "std::string",
           /*default=*/"\"1GiB\"",
           "bound on the CPU runtime's idle cached buffers (0: none)">,
  ];
}

def HAQALastLogitsPass : Pass<"haqa-last-logits", "ModuleOp"> {
  let summary = "compute a prompt step's logits for its last token only";
  let description = [{
    Greedy or sampled generation reads only the last row of @prefill's
    logits; the output head (the final rms_norm and the vocabulary matmul)
    on every prompt row is wasted work (SmolLM2: the 49152 x 576 head is a
    fifth of a prefill's multiply-adds). This pass slices the last row of
    the hidden state before the row-wise ops that end in the function's
    first result (haqa.rms_norm, haqa.matmul, each with one use), rebuilds
    them on one row and makes the result `tensor<1 x vocab>`. Their
    schedules, chosen for many rows, are dropped (haqa-default-schedule
    gives them one-row ones). llama.cpp's prompt steps output the last
    token's logits alone in the same way. Perplexity, which needs every
    row's logits, runs on the module without this pass.

    ```mlir
    %n = haqa.rms_norm %h, %g : tensor<?x576xf32>, ... -> tensor<?x576xf32>
    %l = haqa.matmul %n, %w : tensor<?x576xf32>, ... -> tensor<?x49152xf32>
    // becomes
    %last = tensor.extract_slice %h[%r, 0] [1, 576] [1, 1]  // %r = rows - 1
    %n = haqa.rms_norm %last, %g : tensor<1x576xf32>, ... -> tensor<1x576xf32>
    %l = haqa.matmul %n, %w : tensor<1x576xf32>, ... -> tensor<1x49152xf32>
    ```
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"prefill\"",
           "the function whose first result becomes the last row's">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def HAQAFuseMatmulsPass : Pass<"haqa-fuse-matmuls", "ModuleOp"> {
  let summary = "let CPU matmuls compute the neighbours their schedules ask for";
  let description = [{
    For each haqa.matmul whose schedule lists neighbours in `fuse` (which
    needs `dot = i8` or `fma`), rewrites the neighbours into the matmul, so
    that they run inside its kernel: no kernel call, thread fork / join or
    intermediate buffer of their own.

    - `norm`: the haqa.rms_norm producing the matmul's input (f32 rows, an
      f32 norm weight) becomes the matmul's `norm` prologue; the rms_norm
      goes when no other op uses it (q, k and v each normalize the row
      themselves: a row of K values, small against the N x K dot);
    - `swiglu`: the haqa.swiglu whose up branch (rhs) is the matmul's only
      use becomes its `gate` epilogue, y = silu(gate) * y;
    - `residual`: the haqa.add that is the only use of the matmul's result
      (or of its swiglu) becomes its `residual` epilogue, y = y + r.

    The fused matmul is placed where the last absorbed op was, so that every
    operand is defined before it. Schedules without `fuse` and other
    targets' schedules are left alone.

    ```mlir
    %n = haqa.rms_norm %x, %g {epsilon = 1.0e-05 : f32} : ...
    %y = haqa.matmul %n, %w {schedule = #haqa.schedule<..., fuse = [norm, residual]>} : ...
    %o = haqa.add %y, %x : tensor<1x576xf32>
    // becomes
    %o = haqa.matmul %x, %w norm(%g : ...) epsilon = 1.0e-05 residual(%x : tensor<1x576xf32>) {schedule = ...} : ...
    ```
  }];
}

#endif // HAQA_PASSES_TD
