//===- HAQAOps.td - HAQA operations ------------------------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The ops of a Llama-2/3 / SmolLM2 decoder at the granularity of the kernels
// the agent tunes. Reshapes between [T, H*hd] and [T, H, hd] use upstream
// tensor.expand_shape / tensor.collapse_shape. Constraint tags (rms_norm_c1,
// ...) refer to docs/Spec.md and name the invalid.mlir cases.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_OPS_TD
#define HAQA_OPS_TD

include "haqa/HAQADialect.td"
include "haqa/HAQAAttrs.td"
include "haqa/HAQATypes.td"
include "haqa/HAQAInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def HAQA_Act : RankedTensorOf<[F32, F16, BF16]>;
def HAQA_Positions : 1DTensorOf<[I32, I64]>;
def HAQA_Tokens : 1DTensorOf<[I32, I64]>;

def HAQA_WeightOp : HAQA_Op<"weight", [Pure]> {
  let summary = "a named model weight stored outside the IR";
  let description = [{
    Refers to a weight by its model name (GGUF tensor name); the bytes live in
    the weights file that accompanies the module.

    ```mlir
    %w = haqa.weight "blk.0.attn_q.weight" : !haqa.weight<576x576, #haqa.quant<q4_1>>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs HAQA_WeightType:$result);
  let assemblyFormat = "$name attr-dict `:` qualified(type($result))";
}

/// A tunable kernel: carries an optional #haqa.schedule.
class HAQA_KernelOp<string mnemonic, list<Trait> traits = []>
    : HAQA_Op<mnemonic, !listconcat(traits,
        [Pure, DeclareOpInterfaceMethods<HAQA_KernelOpInterface>])>;

def HAQA_EmbeddingOp : HAQA_KernelOp<"embedding"> {
  let summary = "token embedding lookup (dequantizes the selected rows)";
  let description = [{
    `result[t, :] = table[tokens[t], :]`, dequantized to the result type.

    ```mlir
    %x = haqa.embedding %table[%ids] : !haqa.weight<49152x576, #haqa.quant<q8_0>>, tensor<4xi32> -> tensor<4x576xf32>
    ```
  }];
  let arguments = (ins HAQA_WeightType:$table, HAQA_Tokens:$tokens,
                       OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs 2DTensorOf<[F32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` qualified(type($table)) `,` type($tokens) `->` type($result)
  }];
  let hasVerifier = 1;
}

def HAQA_RMSNormOp : HAQA_KernelOp<"rms_norm"> {
  let summary = "root-mean-square normalization times a weight";
  let description = [{
    Over the innermost dimension D:
    `y = x / sqrt(mean(x^2) + epsilon) * weight`.

    ```mlir
    %y = haqa.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : tensor<4x576xf32>, !haqa.weight<576, #haqa.quant<f32>> -> tensor<4x576xf32>
    ```
  }];
  let arguments = (ins HAQA_Act:$input, HAQA_WeightType:$weight,
                       F32Attr:$epsilon,
                       OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs HAQA_Act:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` qualified(type($weight)) `->` type($result)
  }];
  let hasVerifier = 1;
}

def HAQA_MatmulOp : HAQA_KernelOp<"matmul", [AttrSizedOperandSegments]> {
  let summary = "activations times the transpose of a (quantized) weight";
  let description = [{
    `y[m, n] = sum_k x[m, k] * W[n, k]`: the weight is `[N, K]` as GGUF stores
    linear layers, quantized along K; quantized blocks are dequantized on the
    fly. With `bias(%b : !haqa.weight<N, f32>)` (Qwen2's attention
    projections) `y[m, n] += b[n]`.

    A matmul whose schedule has `fuse` (haqa-fuse-matmuls) may also compute
    its neighbours, in this order:

    - `norm(%g : !haqa.weight<K, f32>) epsilon = e`: the input is first
      rms-normalized, `x = x / sqrt(mean(x^2) + e) * g` per row;
    - `gate(%gt : type)`: `y = silu(gate) * y` (a swiglu with y as its up
      branch);
    - `residual(%r : type)`: `y = y + residual`.

    ```mlir
    %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_0>> -> tensor<1x1536xf32>
    %h = haqa.matmul %x, %w_up norm(%g : !haqa.weight<576, #haqa.quant<f32>>) epsilon = 1.0e-05 gate(%gate : tensor<1x1536xf32>) {schedule = #haqa.schedule<dot = i8, isa = avx2, micro = [1, 4], fuse = [norm, swiglu]>} : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_0>> -> tensor<1x1536xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32, F16, BF16]>:$input,
                       HAQA_WeightType:$weight,
                       Optional<HAQA_WeightType>:$bias,
                       Optional<HAQA_WeightType>:$norm,
                       Optional<2DTensorOf<[F32, F16, BF16]>>:$gate,
                       Optional<2DTensorOf<[F32, F16, BF16]>>:$residual,
                       OptionalAttr<F32Attr>:$epsilon,
                       OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs 2DTensorOf<[F32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $input `,` $weight
    (`bias` `(` $bias^ `:` qualified(type($bias)) `)`)?
    (`norm` `(` $norm^ `:` qualified(type($norm)) `)` `epsilon` `=` $epsilon)?
    (`gate` `(` $gate^ `:` type($gate) `)`)?
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    attr-dict `:` type($input) `,` qualified(type($weight)) `->` type($result)
  }];
  let builders = [
    // A plain matmul: no fused neighbours.
    OpBuilder<(ins "Type":$result, "Value":$input, "Value":$weight,
                   "ScheduleAttr":$schedule), [{
      build($_builder, $_state, result, input, weight, Value(), Value(),
            Value(), Value(), FloatAttr(), schedule);
    }]>,
    // A matmul with a bias (null: none), no fused neighbours.
    OpBuilder<(ins "Type":$result, "Value":$input, "Value":$weight,
                   "Value":$bias, "ScheduleAttr":$schedule), [{
      build($_builder, $_state, result, input, weight, bias, Value(),
            Value(), Value(), FloatAttr(), schedule);
    }]>
  ];
  let extraClassDeclaration = [{
    /// True when the matmul computes a neighbour (norm, gate or residual).
    bool isFused() { return getNorm() || getGate() || getResidual(); }
  }];
  let hasVerifier = 1;
}

def HAQA_RoPEOp : HAQA_KernelOp<"rope"> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates each pair of a head by `pos * theta^(-2i/hd)`. Llama-3 frequency
    scaling applies either as attributes (`scale_factor`, `low_freq_factor`,
    `high_freq_factor`, `original_context`: Hugging Face's
    `rope_scaling`) or as per-pair divisors `freq_factors` (a weight of hd/2
    values: GGUF's `rope_freqs.weight`), never both.

    ```mlir
    %y = haqa.rope %q, %pos {theta = 1.0e+04 : f32, style = #haqa<rope_style interleaved>} : tensor<4x9x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
    %z = haqa.rope %q, %pos freq_factors(%f : !haqa.weight<32, #haqa.quant<f32>>) {theta = 5.0e+05 : f32} : tensor<4x9x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
    ```
  }];
  let arguments = (ins 3DTensorOf<[F32, F16, BF16]>:$input,
                       HAQA_Positions:$positions,
                       Optional<HAQA_WeightType>:$freq_factors,
                       F32Attr:$theta,
                       DefaultValuedAttr<HAQA_RoPEStyleAttr, "RoPEStyle::interleaved">:$style,
                       OptionalAttr<F32Attr>:$scale_factor,
                       OptionalAttr<F32Attr>:$low_freq_factor,
                       OptionalAttr<F32Attr>:$high_freq_factor,
                       OptionalAttr<I64Attr>:$original_context,
                       OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs 3DTensorOf<[F32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $input `,` $positions (`freq_factors` `(` $freq_factors^ `:` qualified(type($freq_factors)) `)`)? attr-dict `:` type($input) `,` type($positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

def HAQA_SoftmaxOp : HAQA_KernelOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "softmax over the innermost dimension";
  let description = [{
    ```mlir
    %y = haqa.softmax %x : tensor<32x64x1024xf32>
    ```
  }];
  let arguments = (ins HAQA_Act:$input, OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs HAQA_Act:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def HAQA_SiLUOp : HAQA_KernelOp<"silu", [SameOperandsAndResultType]> {
  let summary = "x * sigmoid(x)";
  let description = [{
    ```mlir
    %y = haqa.silu %x : tensor<4x1536xf32>
    ```
  }];
  let arguments = (ins HAQA_Act:$input, OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs HAQA_Act:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

class HAQA_BinaryKernelOp<string mnemonic, string sum>
    : HAQA_KernelOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = sum;
  let arguments = (ins HAQA_Act:$lhs, HAQA_Act:$rhs,
                       OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs HAQA_Act:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def HAQA_SwiGLUOp : HAQA_BinaryKernelOp<"swiglu", "silu(gate) * up"> {
  let description = [{
    The gated feed-forward activation, `lhs` the gate and `rhs` the up branch.

    ```mlir
    %h = haqa.swiglu %gate, %up : tensor<4x1536xf32>
    ```
  }];
}

def HAQA_AddOp : HAQA_BinaryKernelOp<"add", "elementwise addition"> {
  let description = [{
    ```mlir
    %y = haqa.add %a, %b : tensor<4x576xf32>
    ```
  }];
}

def HAQA_MulOp : HAQA_BinaryKernelOp<"mul", "elementwise multiplication"> {
  let description = [{
    ```mlir
    %y = haqa.mul %a, %b : tensor<4x576xf32>
    ```
  }];
}

def HAQA_KVWriteOp : HAQA_KernelOp<"kv_write"> {
  let summary = "writes new keys or values into a KV cache at given positions";
  let description = [{
    `result = cache` with `result[positions[t], :, :] = values[t, :, :]`.

    ```mlir
    %kc1 = haqa.kv_write %kc0, %k, %pos : tensor<2048x3x64xf32>, tensor<4x3x64xf32>, tensor<4xi32> -> tensor<2048x3x64xf32>
    ```
  }];
  let arguments = (ins 3DTensorOf<[F32, F16, BF16]>:$cache,
                       3DTensorOf<[F32, F16, BF16]>:$values,
                       HAQA_Positions:$positions,
                       OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs 3DTensorOf<[F32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $cache `,` $values `,` $positions attr-dict `:` type($cache) `,` type($values) `,` type($positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

def HAQA_AttentionOp : HAQA_KernelOp<"attention"> {
  let summary = "causal grouped-query attention over a KV cache";
  let description = [{
    One op (lowerings decompose it into QK^T, softmax and PV): query `t` of
    head `h` attends to cache rows `0 .. positions[t]` of KV head
    `h / (Hq / Hkv)`, with logits multiplied by `scale` (1/sqrt(hd) for
    Llama).

    ```mlir
    %o = haqa.attention %q, %kc, %vc, %pos {scale = 0.125 : f32} : tensor<4x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>, tensor<4xi32> -> tensor<4x9x64xf32>
    ```
  }];
  let arguments = (ins 3DTensorOf<[F32, F16, BF16]>:$query,
                       3DTensorOf<[F32, F16, BF16]>:$keys,
                       3DTensorOf<[F32, F16, BF16]>:$values,
                       HAQA_Positions:$positions, F32Attr:$scale,
                       OptionalAttr<HAQA_ScheduleAttr>:$schedule);
  let results = (outs 3DTensorOf<[F32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `,` $positions attr-dict `:` type($query) `,` type($keys) `,` type($values) `,` type($positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Target ops: what a lowering makes of a kernel op
//===----------------------------------------------------------------------===//

def HAQA_MicroKernelOp : HAQA_Op<"micro_kernel", [AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "a call of one CPU micro-kernel of lib/MicroKernels";
  let description = [{
    A piece of a kernel that runs as a hand-written function for one
    instruction set rather than as generated loops (as IREE's ukernels):
    convert-haqa-to-linalg makes them of a matmul whose schedule has
    `dot = i8` or `dot = fma` and of an attention with `attn = fused`,
    haqa-cpu-lower-micro-kernels turns them into calls after
    bufferization. Destination style: `outs` are written whole. On tensors
    or, after bufferization, on memrefs (then without results).

    Kernels (K = 32 B; a Q8 activation block is 36 bytes, {f16 d, f16 s,
    i8 q[32]}, q = round(x / d) with d = max |x| / 127, s = d * sum q):

    - `quantize_q8`: ins `x` [M, K] f32; outs [M, 36 B] i8, each row of x
      as B Q8 blocks.
    - `dot_q8_0`, `dot_q4_0`, `dot_q4_1`: ins the Q8 rows [M, 36 B] i8 and
      the weight's GGUF block rows [N, bytes per block * B] i8; outs y [M,
      N] f32, y[m, n] = sum over blocks of d_w d_x (int32 sum of the
      products) (+ m_w s_x for Q4_1), as ggml's vec_dot with Q8
      activations.
    - `dot_q4_k`, `dot_q6_k`: the same over K-quant super-block rows [N,
      144 or 210 bytes * B / 8] (B a multiple of 8): each Q8 block meets
      one Q4_K sub-block (d sc d_x sum - dmin m s_x) or two 16-value Q6_K
      groups (d d_x (sc_a sum_a + sc_b sum_b)). `micro` = [mr, nr] is the register block, `threads` the
      host threads N is split over.

    - `dot_f16`, `dot_bf16`: ins x [M, K] f32 and the F16 / BF16 weight
      [N, K]; outs y [M, N] f32, y[m, n] = sum_k x[m, k] w[n, k] in f32
      (`dot = fma`); `micro` and `threads` as for the int8 dots.
    - `attention_f32`: ins q [T, Hq, D] f32, the key and value caches
      [C, Hkv, D] f32 and positions [T] i32; outs [T, Hq, D] f32: causal
      grouped-query attention of an `attn = fused` haqa.attention, query t
      seeing cache rows 0 .. positions[t], its scores multiplied by `scale`
      (required). `threads` splits the T x Hq (token, query head) units.

    - `rms_norm_f32`: ins x [M, K] f32 and the norm weight g [K] f32;
      outs [M, K] f32, x / sqrt(mean(x^2) + epsilon) * g per row
      (`epsilon` required): a matmul's fused `norm` prologue.
    - Epilogues of the dot kernels (a matmul's fused neighbours), applied
      by each thread to its piece of y right after its dot: with `gate`,
      one more input [M, N] f32 and y = silu(gate) * y; with `residual`,
      one more input [M, N] f32 (after the gate) and y = y + residual.

    `isa` picks the variant (the host must have the instructions).

    ```mlir
    %q = haqa.micro_kernel "quantize_q8" isa = avx512_vnni ins(%x : tensor<1x576xf32>) outs(%e : tensor<1x648xi8>) -> tensor<1x648xi8>
    %y = haqa.micro_kernel "dot_q8_0" isa = avx512_vnni ins(%q, %w : tensor<1x648xi8>, tensor<1536x612xi8>) outs(%z : tensor<1x1536xf32>) {micro = array<i64: 1, 4>, threads = 2 : i64} -> tensor<1x1536xf32>
    %n = haqa.micro_kernel "rms_norm_f32" isa = avx2 ins(%x, %g : tensor<1x576xf32>, tensor<576xf32>) outs(%e : tensor<1x576xf32>) {epsilon = 1.0e-05 : f32} -> tensor<1x576xf32>
    %h = haqa.micro_kernel "dot_q4_0" isa = avx2 ins(%q, %w, %gt : tensor<1x648xi8>, tensor<1536x324xi8>, tensor<1x1536xf32>) outs(%z : tensor<1x1536xf32>) {gate, micro = array<i64: 1, 4>, threads = 2 : i64} -> tensor<1x1536xf32>
    %o = haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %v, %pos : tensor<1x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<1xi32>) outs(%e : tensor<1x9x64xf32>) {scale = 1.250000e-01 : f32, threads = 2 : i64} -> tensor<1x9x64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$kernel, HAQA_CPUISAAttr:$isa,
                       Variadic<AnyShaped>:$inputs,
                       Variadic<AnyShaped>:$outputs,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$micro,
                       DefaultValuedAttr<I64Attr, "1">:$threads,
                       OptionalAttr<F32Attr>:$scale,
                       UnitAttr:$gate, UnitAttr:$residual,
                       OptionalAttr<F32Attr>:$epsilon);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $kernel `isa` `=` custom<ISA>($isa) `ins` `(` $inputs `:` type($inputs) `)`
    `outs` `(` $outputs `:` type($outputs) `)` attr-dict
    (`->` type($results)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getOutputsMutable(); }
    /// True for the f32 FMA dots on F16 / BF16 weights (dot_f16,
    /// dot_bf16).
    bool isFMADot() {
      return getKernel() == "dot_f16" || getKernel() == "dot_bf16";
    }
    /// Bytes of a Q8 activation block (36) and of a weight block of the
    /// dot kernels (34, 18, 20; the K-quants' super-blocks 144 and 210; 0
    /// for quantize_q8), and the values of such a block (32 or 256).
    static constexpr int64_t kQ8BlockBytes = 36;
    int64_t getWeightBlockBytes();
    int64_t getWeightBlockValues();
  private:
    LogicalResult verifyAttention();
    LogicalResult verifyRMSNorm();
  public:
  }];
}

#endif // HAQA_OPS_TD
