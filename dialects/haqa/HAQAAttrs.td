//===- HAQAAttrs.td - HAQA attributes and enums ------------*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Enums, the weight quantization description #haqa.quant and the per-kernel
// schedule #haqa.schedule.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_ATTRS_TD
#define HAQA_ATTRS_TD

include "haqa/HAQADialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def HAQA_ElemKind : I32EnumAttr<"ElemKind", "stored element kind of a weight", [
    I32EnumAttrCase<"f32", 0>, I32EnumAttrCase<"f16", 1>,
    I32EnumAttrCase<"bf16", 2>, I32EnumAttrCase<"i8", 3>,
    I32EnumAttrCase<"i4", 4>,
    // Six-bit values: only in GGUF Q6_K super-blocks (layout = gguf_k).
    I32EnumAttrCase<"i6", 5>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_ZeroKind : I32EnumAttr<"ZeroKind",
    "how a quantized group is offset", [
    // q = round(x / scale), x = scale * q.
    I32EnumAttrCase<"none", 0>,
    // q = round(x / scale) + zp, x = scale * (q - zp); zp stored per group.
    I32EnumAttrCase<"zero_point", 1>,
    // q = round((x - min) / scale), x = scale * q + min; min stored per group
    // (GGUF Q4_1).
    I32EnumAttrCase<"min", 2>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_StorageLayout : I32EnumAttr<"StorageLayout",
    "byte layout of a quantized weight", [
    // GGUF blocks: per 32 values, the scale (and min) then the packed values;
    // Q4 packs value j in the low nibble and j+16 in the high nibble of byte j.
    I32EnumAttrCase<"gguf", 0>,
    // Values row-major (int4 two per byte, low nibble first), then all
    // scales, then all offsets.
    I32EnumAttrCase<"planar", 1>,
    // GGUF K-quant super-blocks of 256 values: an f16 super-scale (and
    // super-min) and per sub-block of `group` values a small integer scale
    // (and min), then the packed values. Q4_K: 144 bytes {f16 d, dmin;
    // u8 scales[12] (6-bit scale and min of 8 sub-blocks of 32); u8 qs[128]
    // (sub-blocks 2p, 2p+1 in the low, high nibbles of qs[32p .. 32p+31])},
    // x = d * sc * q - dmin * m. Q6_K: 210 bytes {u8 ql[128] (low 4 bits);
    // u8 qh[64] (high 2 bits); i8 scales[16] (per 16 values); f16 d},
    // x = d * sc * (q - 32).
    I32EnumAttrCase<"gguf_k", 2>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_MemSpace : I32EnumAttr<"MemSpace", "where a kernel keeps an operand", [
    I32EnumAttrCase<"global", 0>, I32EnumAttrCase<"shared", 1>,
    I32EnumAttrCase<"local", 2>,
    // "register" is a C++ keyword: the enumerator is `reg`.
    I32EnumAttrCase<"reg", 3, "register">]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_OperandLayout : I32EnumAttr<"OperandLayout",
    "how a kernel reads an operand", [
    I32EnumAttrCase<"row", 0>, I32EnumAttrCase<"col", 1>,
    // Row/column major, transposed into a scratch copy before use.
    I32EnumAttrCase<"row_t", 2>, I32EnumAttrCase<"col_t", 3>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_RoPEStyle : I32EnumAttr<"RoPEStyle", "which elements rope rotates together", [
    // Pairs (2i, 2i+1): GGUF llama (weights permuted at conversion).
    I32EnumAttrCase<"interleaved", 0>,
    // Pairs (i, i + hd/2): Hugging Face checkpoints ("neox").
    I32EnumAttrCase<"half", 1>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_RoPEStyleAttr : EnumAttr<HAQA_Dialect, HAQA_RoPEStyle, "rope_style">;

def HAQA_DotKind : I32EnumAttr<"DotKind",
    "the arithmetic of a matmul's dot products on the CPU", [
    // Weights widened to f32 in registers, f32 multiply-adds: the generated
    // loops the other schedule fields shape.
    I32EnumAttrCase<"f32", 0>,
    // The activation rows quantized once per call to Q8 blocks (as ggml's
    // Q8_0 / Q8_1: 32 values, f16 scale, f16 scaled sum), then int8 block
    // dot products with i32 sums by a micro-kernel (lib/MicroKernels).
    I32EnumAttrCase<"i8", 1>,
    // F16 (F16C) or BF16 (a shift) weights converted to f32 in registers
    // and f32 multiply-adds on the f32 activations, register-blocked by a
    // micro-kernel.
    I32EnumAttrCase<"fma", 2>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_CPUISA : I32EnumAttr<"CPUISA",
    "the instruction set of a CPU micro-kernel", [
    // Plain C++, any host.
    I32EnumAttrCase<"scalar", 0>,
    // AVX2 + FMA + F16C: vpmaddubsw / vpmaddwd int8 products.
    I32EnumAttrCase<"avx2", 1>,
    // AVX-VNNI (VEX): vpdpbusd on 256-bit registers.
    I32EnumAttrCase<"avx_vnni", 2>,
    // AVX-512 VNNI (with BW and VL): vpdpbusd.
    I32EnumAttrCase<"avx512_vnni", 3>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_CPUISAAttr : EnumAttr<HAQA_Dialect, HAQA_CPUISA, "isa">;

def HAQA_ExpKind : I32EnumAttr<"ExpKind", "how a CPU kernel computes exp", [
    // math.exp as calls of the C library's expf, one element at a time.
    I32EnumAttrCase<"libm", 0>,
    // MLIR's polynomial approximation (range reduction and a polynomial in
    // plain arithmetic): vectorizes with the rest of the body.
    I32EnumAttrCase<"poly", 1>,
    // exp as a shorter polynomial of HAQA's own (lib/Target/CPU/FastExp.cpp:
    // degree 6, 2^n in the exponent bits, about 17 operations against
    // poly's 25); sin, cos and tanh as poly.
    I32EnumAttrCase<"fast", 2>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_AttnKind : I32EnumAttr<"AttnKind",
    "how a CPU attention kernel is computed", [
    // linalg generics (scores, mask, softmax, P V) that tile, order, vector,
    // unroll and exp shape.
    I32EnumAttrCase<"generic", 0>,
    // One micro-kernel call per piece of the (token, query head) units:
    // scores, softmax and P V of a unit over its visible cache rows, in
    // `isa`, the K and V rows read once per unit (lib/MicroKernels).
    I32EnumAttrCase<"fused", 1>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_FuseKind : I32EnumAttr<"FuseKind",
    "a neighbour a CPU matmul kernel computes itself", [
    // The haqa.rms_norm producing the matmul's input: the row normalized
    // inside the kernel, before the activation quantization (input and
    // norm weight become the matmul's).
    I32EnumAttrCase<"norm", 0>,
    // The haqa.swiglu taking the matmul's result as its up branch: the
    // dot's epilogue multiplies by silu(gate).
    I32EnumAttrCase<"swiglu", 1>,
    // The haqa.add of the matmul's result and another value: the dot's
    // epilogue adds the residual.
    I32EnumAttrCase<"residual", 2>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_MatmulPart : I32EnumAttr<"MatmulPart",
    "which generic of a (blocked) matmul an op is", [
    // P[m, n, j] = sum over the K blocks of x * w: 16 partial sums per
    // output, over loops (m, n, h, b, j) with K = 32 b + 16 h + j.
    I32EnumAttrCase<"partial_sums", 0>,
    // y[m, n] = sum_j P[m, n, j]: the 16 lanes added once per output, over
    // loops (m, n, j).
    I32EnumAttrCase<"lane_sum", 1>,
    // y[m, n] += bias[n] after the product (matmul_c8): elementwise, over
    // loops (m, n).
    I32EnumAttrCase<"bias", 2>]> {
  let cppNamespace = "::mlir::haqa";
  let genSpecializedAttr = 0;
}

def HAQA_MatmulPartAttr : EnumAttr<HAQA_Dialect, HAQA_MatmulPart, "matmul_part">;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class HAQA_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<HAQA_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def HAQA_QuantAttr : HAQA_Attr<"Quant", "quant"> {
  let summary = "how a weight tensor is stored: element kind, groups, scales";
  let description = [{
    Describes weight quantization along the reduction (innermost) axis:
    `kind` is the stored element (f32/f16/bf16 plain, i8/i4 quantized),
    `group` the number of consecutive values sharing one scale, `scale` the
    scale's float type, `zero` whether a group also stores a zero point or a
    minimum, and `layout` the byte order (GGUF blocks or planar arrays).

    The GGUF block formats have short spellings that print back as written:

    ```mlir
    #haqa.quant<f16>
    #haqa.quant<q8_0>   // = <i8, group = 32, scale = f16, zero = none, layout = gguf>
    #haqa.quant<q4_0>   // = <i4, group = 32, scale = f16, zero = none, layout = gguf>
    #haqa.quant<q4_1>   // = <i4, group = 32, scale = f16, zero = min, layout = gguf>
    #haqa.quant<q4_k>   // = <i4, group = 32, scale = f16, zero = min, layout = gguf_k>
    #haqa.quant<q6_k>   // = <i6, group = 16, scale = f16, zero = none, layout = gguf_k>
    #haqa.quant<i4, group = 128, scale = f32, zero = zero_point, layout = planar>
    ```
  }];
  let parameters = (ins
    EnumParameter<HAQA_ElemKind>:$kind,
    "int64_t":$group,
    "Type":$scaleType,
    EnumParameter<HAQA_ZeroKind>:$zero,
    EnumParameter<HAQA_StorageLayout>:$layout);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Plain (unquantized) storage of the given element kind.
    static QuantAttr getPlain(MLIRContext *ctx, ElemKind kind);
    /// GGUF Q8_0, Q4_0 and Q4_1.
    static QuantAttr getQ8_0(MLIRContext *ctx);
    static QuantAttr getQ4_0(MLIRContext *ctx);
    static QuantAttr getQ4_1(MLIRContext *ctx);
    /// GGUF Q4_K and Q6_K (super-blocks of 256 values).
    static QuantAttr getQ4_K(MLIRContext *ctx);
    static QuantAttr getQ6_K(MLIRContext *ctx);
    /// True for i8/i6/i4 (group quantized) storage.
    bool isQuantized() const;
    /// Bits of one stored value (32, 16, 8, 6 or 4).
    unsigned getBits() const;
    /// The GGUF type name ("q8_0", "q4_0", "q4_1", "q4_k", "q6_k", "f16",
    /// "f32", "bf16") when
    /// this storage is byte-identical to it, else an empty string.
    StringRef getGGUFName() const;
    /// Bytes of one GGUF block, as ggml's type size: block_q8_0 {f16 d;
    /// i8 qs[32]} is 34, block_q4_0 {f16 d; u8 qs[16]} 18 and block_q4_1
    /// {f16 d, m; u8 qs[16]} 20; plain storage has blocks of one element
    /// (4 or 2 bytes); block_q4_K is 144 and block_q6_K 210 bytes (per 256
    /// values). 0 for planar quantized storage, which has no blocks.
    uint64_t getGGUFBlockBytes() const;
    /// Values per GGUF block: 1 (plain), 32 (gguf), 256 (gguf_k); 0 for
    /// planar quantized storage.
    int64_t getGGUFBlockValues() const;
    /// Bytes needed to store `numElements` values whose innermost dimension
    /// is `rowLength` (a multiple of the group size for quantized storage).
    uint64_t getStorageBytes(uint64_t numElements) const;
  }];
}

def HAQA_ScheduleAttr : HAQA_Attr<"Schedule", "schedule"> {
  let summary = "the per-kernel choices of the tuning agent";
  let description = [{
    The schedule covers the HAQA paper's deployment search space
    (appendix D): loop nest order and tiles, unrolling, SIMD width, parallel
    mapping, memory placement, prefetching and operand layout. Every field is
    optional; absent fields are left to the lowering's heuristics.

    - `tile`: tile size per iteration dimension (outermost first).
    - `order`: a permutation of the iteration dimensions, outermost first.
    - `unroll`: innermost-loop unroll factor (1 = none).
    - `vector`: SIMD lanes of the innermost loop (1 = scalar).
    - `threads`: threads per block / workgroup (up to 3 dims, x first).
    - `grid`: blocks / workgroups per grid (up to 3 dims, x first).
    - `cpu_threads`: host threads.
    - `placement`: memory space per operand (inputs then results).
    - `prefetch`: software prefetch distance in iterations (0 = none).
    - `layout`: how each operand (inputs then results) is read or written.
    - `mma`: 1 runs a matmul on the GPU's tensor cores (16x16x16 f16
      fragments, f32 accumulation; tiles rounded to fragment multiples),
      0 on its CUDA cores.
    - `dot`: a CPU matmul's arithmetic: `f32` (weights widened in registers
      by generated loops), `i8` (activation rows quantized to Q8 blocks once
      per call, int8 block dot products by a micro-kernel; Q8_0 / Q4_0 /
      Q4_1 weights) or `fma` (F16 or BF16 weights converted in registers, f32
      multiply-adds by a micro-kernel).
    - `isa`: the instruction set of the micro-kernel (`dot = i8`, `dot =
      fma`, `attn = fused`): scalar, avx2, avx_vnni, avx512_vnni; the host
      must have it.
    - `micro`: the `dot = i8` / `dot = fma` register block `[mr, nr]`: mr
      activation rows times nr weight rows computed together over the whole
      K (1, 2 or 4); nr = 16 with `dot = i8, isa = avx512_vnni`: panels of
      16 weight rows packed once per call (one dword of each row per lane),
      every block of mr activation rows run over each panel.
    - `exp`: how a CPU kernel with exponentials (softmax, silu, swiglu,
      attention) computes them: `libm` (expf calls, one element at a time),
      `poly` (MLIR's polynomial approximation, vectorized) or `fast` (a
      shorter polynomial of HAQA's own for exp, vectorized; sin / cos /
      tanh as poly).
    - `attn`: how a CPU attention is computed: `generic` (linalg generics
      the loop fields shape) or `fused` (a micro-kernel per piece of the
      (token, query head) units, in `isa`).
    - `fuse`: the neighbours a CPU matmul with `dot = i8` or `dot = fma`
      computes in its own kernel (haqa-fuse-matmuls): `norm` (the rms_norm
      producing its input), `swiglu` (the swiglu of which it is the up
      branch), `residual` (an add of its result); no extra kernel call,
      thread fork / join or intermediate buffer for them.

    ```mlir
    #haqa.schedule<tile = [1, 64, 256], order = [0, 1, 2], unroll = 4,
                   vector = 16, cpu_threads = 2, prefetch = 2>
    #haqa.schedule<threads = [128], grid = [2048], placement = [shared, global, register]>
    #haqa.schedule<tile = [64, 64, 32], threads = [128], mma = 1>
    #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx512_vnni, micro = [1, 4]>
    #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx512_vnni, micro = [4, 16]>
    #haqa.schedule<cpu_threads = 2, isa = avx2, attn = fused>
    #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [norm, residual]>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t">:$tile,
    ArrayRefParameter<"int64_t">:$order,
    "std::optional<int64_t>":$unroll,
    "std::optional<int64_t>":$vector,
    ArrayRefParameter<"int64_t">:$threads,
    ArrayRefParameter<"int64_t">:$grid,
    "std::optional<int64_t>":$cpuThreads,
    ArrayRefParameter<"::mlir::haqa::MemSpace">:$placement,
    "std::optional<int64_t>":$prefetch,
    ArrayRefParameter<"::mlir::haqa::OperandLayout">:$layout,
    "std::optional<int64_t>":$mma,
    "std::optional<::mlir::haqa::DotKind>":$dot,
    "std::optional<::mlir::haqa::CPUISA>":$isa,
    ArrayRefParameter<"int64_t">:$micro,
    "std::optional<::mlir::haqa::ExpKind>":$exp,
    "std::optional<::mlir::haqa::AttnKind>":$attn,
    ArrayRefParameter<"::mlir::haqa::FuseKind">:$fuse);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    // Every field but the CPU micro-kernel ones (dot, isa, micro, exp,
    // attn, fuse).
    AttrBuilder<(ins "ArrayRef<int64_t>":$tile, "ArrayRef<int64_t>":$order,
                     "std::optional<int64_t>":$unroll,
                     "std::optional<int64_t>":$vector,
                     "ArrayRef<int64_t>":$threads, "ArrayRef<int64_t>":$grid,
                     "std::optional<int64_t>":$cpuThreads,
                     "ArrayRef<::mlir::haqa::MemSpace>":$placement,
                     "std::optional<int64_t>":$prefetch,
                     "ArrayRef<::mlir::haqa::OperandLayout>":$layout,
                     "std::optional<int64_t>":$mma), [{
      return $_get($_ctxt, tile, order, unroll, vector, threads, grid,
                   cpuThreads, placement, prefetch, layout, mma,
                   std::nullopt, std::nullopt, ArrayRef<int64_t>(),
                   std::nullopt, std::nullopt, ArrayRef<FuseKind>());
    }]>
  ];
  let extraClassDeclaration = [{
    /// True for `dot = i8`: the matmul runs as a Q8 micro-kernel.
    bool isInt8Dot() const {
      return getDot() && *getDot() == ::mlir::haqa::DotKind::i8;
    }
    /// True for `dot = i8` and `dot = fma`: the matmul is a micro-kernel.
    bool isMicroKernelDot() const {
      return getDot() && *getDot() != ::mlir::haqa::DotKind::f32;
    }
    /// True for `attn = fused`: the attention runs as a micro-kernel.
    bool isFusedAttention() const {
      return getAttn() && *getAttn() == ::mlir::haqa::AttnKind::fused;
    }
    /// True when `fuse` lists `kind`.
    bool fuses(::mlir::haqa::FuseKind kind) const {
      return llvm::is_contained(getFuse(), kind);
    }
    /// This schedule with `fuse` replaced (empty: none).
    ScheduleAttr withFuse(ArrayRef<::mlir::haqa::FuseKind> fuse) const;
    /// Checks the fields that depend on the kernel: the iteration space
    /// (`dims`, ShapedType::kDynamic where unknown) and operand count.
    LogicalResult verifyAgainst(function_ref<InFlightDiagnostic()> emitError,
                                ArrayRef<int64_t> dims,
                                unsigned numOperands) const;
  }];
}

#endif // HAQA_ATTRS_TD
