//===- HAQAGPUPasses.td - GPU target passes (CUDA, OpenCL) -*- tablegen -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_GPU_PASSES_TD
#define HAQA_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def HAQAGPUCheckLimitsPass
    : Pass<"haqa-gpu-check-limits", "::mlir::ModuleOp"> {
  let summary = "reject kernel schedules the target GPU cannot run";
  let description = [{
    Checks every haqa kernel's `#haqa.schedule` against a hardware profile
    (`hardware/<profile>.json`) before anything is compiled: threads per
    block (in total and per dimension), the blocks of `grid`, and `mma = 1`
    on a chip without tensor cores. After haqa-gpu-apply-schedule it checks
    the workgroup memory each block uses (what `placement = shared` stages,
    the sums of blocked matmuls), which that pass records on each block
    loop as `haqa.workgroup_bytes`, against the profile's static shared
    memory per block (or `shared-memory-bytes`). A pipeline runs it at both
    points. The error names the limit and the profile it comes from:

    ```
    error: 'haqa.silu' op schedule has 2048 threads per block; NVIDIA H100
    SXM5 80GB (h100) allows at most 1024 (max_threads_per_block)
    error: schedule stages 65536 bytes of shared memory per block; the limit
    is 49152 bytes (h100 static shared memory per block)
    ```

    With `profile=""` no profile is read and only the workgroup memory is
    checked, against `shared-memory-bytes` (the CUDA pipeline without a
    profile; GPU schedules run on the CPU).
  }];
  let options = [
    Option<"profile", "profile", "std::string", /*default=*/"\"h100\"",
           "hardware profile id (hardware/<id>.json) or a path to one; "
           "empty: none">,
    Option<"hardwareDir", "hardware-dir", "std::string", /*default=*/"\"\"",
           "directory of the profiles (default: the installed hardware/)">,
    Option<"sharedMemoryBytes", "shared-memory-bytes", "int64_t",
           /*default=*/"0",
           "workgroup memory a block may use (0: the profile's static limit; "
           "without a profile 49152, CUDA's static limit)">,
    Option<"limitSource", "limit-source", "std::string",
           /*default=*/"\"\"",
           "where the workgroup memory limit comes from, named in the error "
           "(default: '<profile> static shared memory per block', or "
           "'shared-memory-bytes' without a profile)">,
  ];
}

def HAQAGPUApplySchedulePass
    : Pass<"haqa-gpu-apply-schedule", "::mlir::func::FuncOp"> {
  let summary = "map each kernel's linalg ops to GPU blocks and threads";
  let description = [{
    Runs on the output of convert-haqa-to-linalg (tensors). For every linalg
    op, with the `#haqa.schedule` of its kernel (linalg ops of no kernel,
    such as fills, get a flat default), the GPU fields become upstream
    transforms:

    - Blocks: an scf.forall over the parallel loops, mapped to
      `#gpu.block<linear_dim_i>`, each iteration one block tile. A kernel
      dimension's block tile is `tile[d]`; without one it is what the
      block's threads cover.
    - `threads = [x, y, z]`: x threads along the innermost parallel loop
      (innermost in `order`), y along the next, z along the next, each with
      `vector` elements of the innermost loop; `threads = [n]`: n threads
      filling the parallel loops innermost first. Where a loop splits evenly
      over fewer threads, fewer are used (no partial tiles). An scf.forall
      mapped to `#gpu.thread<linear_dim_i>`; threads without work idle.
    - `tile[d]` of a reduction dimension: an scf.for over K steps around
      the thread loop (the block walks K in steps; staged operands are
      staged per step).
    - `placement[i] = shared`: operand i's block tile is copied into a
      workgroup-memory buffer by all the threads of the block
      (`#gpu.address_space<workgroup>`), read from there by the compute;
      `register`: each thread copies its tile of operand i (or, for the
      result, accumulates it) into private memory
      (`#gpu.address_space<private>`) and writes it back.
    - `order`: the order of each thread's loops (and which loop is
      contiguous across threads).
    - `vector = V`: each thread's innermost loop is cut into V-wide pieces
      and vectorized (128-bit loads for V = 4 x f32).
    - `unroll = U`: each thread's innermost loop is unrolled U times.
    - `grid = [x, y, z]`: the launch has x*y*z blocks and each block walks
      the block tiles with a stride of the grid (default: one block per
      tile).
    - `mma = 1` (matmuls with K a multiple of 32): tensor-core tiles. A
      block owns a bm x bn tile of sums in workgroup memory (`tile` rounded
      to multiples of 16, default 64 x 64); per K step of bk (`tile[2]`
      rounded to 32) the threads convert the activations to f16 and
      dequantize the weights to f16 into workgroup memory, and the warps
      (an scf.forall mapped to `#gpu.warp<linear_dim_i>`) multiply 16 x 16
      fragments, each a `linalg.matmul {haqa.mma}` that
      haqa-gpu-mma-to-wmma makes warp-synchronous on CUDA.

    Each block forall that uses workgroup memory records its bytes per
    block (`haqa.workgroup_bytes`; a tensor-core block also its tiles,
    `haqa.mma_tiles = array<i64: bm, bn, bk>`) for haqa-gpu-check-limits,
    which rejects blocks beyond the target's limit. `shared-memory-bytes`
    decides only between forms: a blocked matmul on CUDA cores is one
    kernel only where its sums and staged tile fit in it.
  }];
  let options = [
    Option<"defaultThreads", "default-threads", "int64_t", /*default=*/"256",
           "threads per block of linalg ops without a schedule">,
    Option<"sharedMemoryBytes", "shared-memory-bytes", "int64_t",
           /*default=*/"49152",
           "static workgroup memory a block may use, where a form is chosen "
           "by what fits (48 KiB: CUDA's static limit)">,
    Option<"addressSpaces", "address-spaces", "bool", /*default=*/"true",
           "stage into #gpu.address_space<workgroup / private> buffers (off: "
           "plain buffers, for running the structure on the CPU)">,
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::memref::MemRefDialect", "::mlir::affine::AffineDialect",
    "::mlir::tensor::TensorDialect", "::mlir::gpu::GPUDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
  ];
}

def HAQAGPUMapForallPass
    : Pass<"haqa-gpu-map-forall", "::mlir::func::FuncOp"> {
  let summary = "scf.forall mapped to blocks and threads to gpu.launch";
  let description = [{
    After bufferization: every scf.forall mapped to `#gpu.block<...>`
    becomes a gpu.launch with one block per iteration (or `haqa.grid`
    blocks walking the iterations with a grid stride); the scf.forall ops
    mapped to `#gpu.thread<...>` inside it become code run by the thread
    whose linear id is the iteration, guarded where the block has more
    threads than iterations, and followed by a gpu.barrier when more work
    of the same block follows; those mapped to `#gpu.warp<...>` likewise
    by the warp (32 threads) whose linear id is the iteration. Linear dimension 0 is the fastest varying.
    Workgroup and private buffers allocated in the launch become
    gpu.launch workgroup / private attributions; memref.copy in the launch
    becomes linalg.copy (loops of the thread making it).
    With `attributions=false` (SPIR-V, whose conversion lowers no
    attribution) they stay allocations, moved to the start of the launch:
    memref.alloc of workgroup memory (a Workgroup variable in SPIR-V) and
    memref.alloca of private memory (a Function variable).
  }];
  let options = [
    Option<"attributions", "attributions", "bool", /*default=*/"true",
           "workgroup / private buffers as gpu.launch attributions (false: "
           "allocations at the start of the launch)">,
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::linalg::LinalgDialect",
  ];
}

def HAQAGPUMmaToWMMAPass
    : Pass<"haqa-gpu-mma-to-wmma", "::mlir::func::FuncOp"> {
  let summary = "16x16 fragment matmuls (haqa.mma) to gpu.subgroup_mma ops";
  let description = [{
    After bufferization: each `linalg.matmul {haqa.mma}` that
    haqa-gpu-apply-schedule made for `mma = 1` (A 16 x K f16, B K x 16 f16,
    C 16 x 16 f32, row-major memrefs with static strides, run by one warp)
    becomes a warp-synchronous gpu.subgroup_mma_load_matrix of C, a loop
    over K in steps of 16 loading A and B fragments and accumulating with
    gpu.subgroup_mma_compute, and a store of C. convert-gpu-to-nvvm turns
    these into NVVM wmma intrinsics (tensor cores, sm_70 and newer).
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect",
  ];
}

def HAQAGPUAlignWorkgroupPass : Pass<"haqa-gpu-align-workgroup"> {
  let summary = "align every gpu.func's workgroup buffers";
  let description = [{
    After gpu-kernel-outlining: sets `llvm.align` on each workgroup
    attribution of each gpu.func that has none, so that convert-gpu-to-nvvm
    emits the `.shared` buffer with that alignment. gpu.launch cannot carry
    attribution attributes, and without them a buffer is aligned only to
    its element: tensor-core fragment loads and stores (wmma) need 32
    bytes, 128-bit vector accesses 16.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"32",
           "bytes (a power of two)">,
  ];
}

def HAQAGPUAlignKernelArgsPass : Pass<"haqa-gpu-align-kernel-args"> {
  let summary = "mark the kernel arguments that are aligned device buffers";
  let description = [{
    After gpu-kernel-outlining: a memref argument of a gpu.func gets
    `llvm.align` when, at every gpu.launch_func of it, the host passes a
    view of a device allocation from its first byte: an argument of the
    host function (the runtime allocates every buffer with cuMemAlloc) or a
    gpu.alloc, both at least 256 bytes aligned, through views that keep the
    base pointer (subview, reinterpret_cast, expand / collapse_shape, cast,
    view at byte 0). convert-gpu-to-nvvm puts the attribute on the
    descriptor's pointers, from which LLVM proves the alignment of 4 x f32
    vector loads and emits 128-bit loads (ld.global.v4.f32) instead of
    splitting them into scalars. Arguments reached any other way are left
    alone.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"16",
           "bytes (a power of two, at most the allocations')">,
  ];
}

def HAQAGPUHostMemoryPass
    : Pass<"haqa-gpu-host-memory", "::mlir::func::FuncOp"> {
  let summary = "host-side buffers and copies to gpu.alloc / gpu.memcpy";
  let description = [{
    After haqa-gpu-map-forall, the host part of a function only launches
    kernels; every buffer it allocates lives on the device (memref.alloc
    becomes gpu.alloc, memref.dealloc gpu.dealloc) and every copy it makes
    is a gpu.memcpy. A scalar the host reads (memref.load: attention's last
    visible position, which sizes its loops) is copied back into host memory
    first. Any other host-side read or write of memory (a linalg op left
    outside a launch, a strided copy) is an error: it would dereference a
    device pointer on the host.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def HAQAGPUHoistConstantsPass
    : Pass<"haqa-gpu-hoist-constants", "::mlir::func::FuncOp"> {
  let summary = "read constant tables in kernels from kernel arguments";
  let description = [{
    Before gpu-kernel-outlining: each memref.get_global inside a gpu.launch
    (a constant table the kernel reads, such as rope's signs) moves to just
    before the launch, so that outlining passes the global as a kernel
    argument. SPIR-V for OpenCL has no lowering of memref globals in
    kernels; the runtime makes one device buffer per global.
  }];
}

def HAQAGPUHalfAsBitsPass : Pass<"haqa-gpu-half-as-bits", "::mlir::ModuleOp"> {
  let summary = "read f16 / bf16 storage as 16-bit integers, decode to f32";
  let description = [{
    For devices without 16-bit float arithmetic: OpenCL has no bf16, and
    f16 only with `cl_khr_fp16` (without it the SPIR-V may not declare the
    Float16 capability). After gpu-kernel-outlining, every memref of the
    chosen types in the module (views of weight bytes on the host, kernel
    arguments, workgroup buffers) becomes a memref of i16 with the same
    layout, loads and stores move the bits, and each `arith.extf` to f32
    becomes integer operations on the bits: bf16 is the high half of an f32;
    f16 gets its exponent rebiased by 112 and its mantissa shifted by 13,
    subnormals become mantissa x 2^-24, infinities and NaNs stay. The values
    are exactly the stored ones. Any other use of such a value (arithmetic,
    a truncation) is an error naming the op: that code needs a device with
    16-bit floats.
  }];
  let options = [
    Option<"f16", "f16", "bool", /*default=*/"true", "rewrite f16">,
    Option<"bf16", "bf16", "bool", /*default=*/"true", "rewrite bf16">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def HAQAGPUPrepareSPIRVPass : Pass<"haqa-gpu-prepare-spirv", "::mlir::ModuleOp"> {
  let summary = "give each gpu.module what convert-gpu-to-spirv needs";
  let description = [{
    After spirv-attach-target, on every gpu.module with a
    `#spirv.target_env` target: the same environment as the
    `spirv.target_env` attribute (which the math and arith conversions read),
    each kernel's `spirv.entry_point_abi` with its workgroup size (from
    `known_block_size`, which haqa-gpu-map-forall's launches give), and the
    GPU address spaces of its memrefs as SPIR-V storage classes for OpenCL:
    `#gpu.address_space<workgroup>` Workgroup, `#gpu.address_space<private>`
    Function (upstream's OpenCL mapping takes numeric spaces only). Memrefs
    without a space (kernel arguments, whose types must match the host's)
    are left to convert-gpu-to-spirv, which makes them CrossWorkgroup. Math
    ops on one-element vectors become ops on scalars (convert-math-to-spirv
    would leave casts between vector<1xT> and T that convert-gpu-to-spirv
    cannot remove); masked vector loads and stores (partial tiles) become
    scalar accesses under scf.if, masked reductions reductions of the
    vector with the masked-off lanes set to the identity, and masks
    comparisons of the lane indices with the bound (convert-gpu-to-spirv
    lowers none of them); a float sum over more than 4 lanes becomes one
    per 4 lanes, chained (convert-gpu-to-spirv makes a float sum an OpDot,
    and OpenCL's dot takes at most 4 components). A kernel
    without a known block size is an error.
  }];
  let dependentDialects = ["::mlir::spirv::SPIRVDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def HAQASPIRVExpandCompositeConstructPass
    : Pass<"haqa-spirv-expand-composite-construct", "::mlir::spirv::ModuleOp"> {
  let summary = "build vectors from values by inserts, not CompositeConstruct";
  let description = [{
    Each spirv.CompositeConstruct of a vector from scalars that are not all
    constants becomes a spirv.Undef followed by one spirv.CompositeInsert per
    element. The same vector, in a form every consumer reads: the SPIR-V to
    LLVM translator of LLVM 15 (llvm-spirv-15, PoCL's route here) translates
    OpCompositeConstruct as a constant and crashes on run-time operands.
  }];
}

def HAQAGPULowerVectorPass : Pass<"haqa-gpu-lower-vector"> {
  let summary = "lower vector ops to the 1-D loads, stores and arithmetic "
                "that convert-gpu-to-nvvm takes";
  let description = [{
    convert-gpu-to-nvvm converts 1-D vector ops but applies none of the
    vector lowering rewrites that convert-vector-to-llvm runs first. This
    pass runs them: leading unit dimensions are dropped, transfers with
    permutation maps become minor-identity ones, 1-D in-bounds transfers
    become vector.load / vector.store (128-bit loads for 4 x f32), and
    multi-reductions, broadcasts, transposes, shape casts and vector.step
    become 1-D operations. Run it after convert-vector-to-scf.
  }];
  let dependentDialects = [
    "::mlir::vector::VectorDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect",
  ];
}

#endif // HAQA_GPU_PASSES_TD
