// Each #haqa.schedule GPU field and the block / thread structure it gives
// (before bufferization; haqa-gpu-map-forall turns it into gpu.launch).
// The workgroup memory each block loop records is checked by
// haqa-gpu-check-limits (without a profile: the default 48 KiB).
// RUN: haqa-opt %s --convert-haqa-to-linalg --haqa-gpu-apply-schedule --haqa-gpu-check-limits=profile= --canonicalize --split-input-file --verify-diagnostics | FileCheck %s

// threads = [n] and vector: n threads of `vector` elements each cover one
// block tile (128 x 4 = 512 columns); per thread one 4-wide vector.
// CHECK-LABEL: func.func @threads_vector(
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 1024) step (1, 512)
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 128)
// CHECK: vector.transfer_read {{.*}} : tensor<1x4xf32>, vector<1x4xf32>
// CHECK: } {mapping = [#gpu.thread<linear_dim_1>, #gpu.thread<linear_dim_0>]}
// CHECK: } {haqa.threads = array<i64: 128>, mapping = [#gpu.block<linear_dim_1>, #gpu.block<linear_dim_0>]}
func.func @threads_vector(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<threads = [128], vector = 4>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// tile and threads = [x, y]: a block tile of 2 x 256, x = 64 threads along
// the columns and y = 2 along the rows; each thread 1 x 4 elements.
// CHECK-LABEL: func.func @tile_threads_xy(
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 1024) step (2, 256)
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (2, 64)
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x1xf32>)
// CHECK: {haqa.threads = array<i64: 64, 2>
func.func @tile_threads_xy(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [2, 256], threads = [64, 2]>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// order: with the rows innermost, the threads run along the rows.
// CHECK-LABEL: func.func @order(
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (64, 8) step (64, 1)
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (64, 1)
func.func @order(%x: tensor<64x8xf32>) -> tensor<64x8xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<order = [1, 0], threads = [64]>} : tensor<64x8xf32>
  return %y : tensor<64x8xf32>
}

// -----

// grid: the launch's block count, recorded for haqa-gpu-map-forall (a grid
// stride over the 4 x 4 tiles).
// CHECK-LABEL: func.func @grid(
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 1024) step (1, 256)
// CHECK: {haqa.grid = 2 : i64, haqa.threads = array<i64: 256>
func.func @grid(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<threads = [256], grid = [2]>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// tile of a reduction dimension: rms_norm's sum of squares walks the 1024
// columns in K steps of 256 inside the block, around its thread loop.
// CHECK-LABEL: func.func @k_steps(
// One block per row:
// CHECK: tensor.extract_slice %{{.*}}[%{{.*}}, 0] [1, 1024] [1, 1] : tensor<4x1024xf32> to tensor<1x1024xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: tensor.extract_slice {{.*}} : tensor<1x1024xf32> to tensor<1x256xf32>
// CHECK: scf.forall (%{{.*}}) in (1)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
func.func @k_steps(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %w = haqa.weight "norm" : !haqa.weight<1024, #haqa.quant<f32>>
  %y = haqa.rms_norm %x, %w {epsilon = 1.0e-5 : f32, schedule = #haqa.schedule<tile = [1, 256], threads = [32]>} : tensor<4x1024xf32>, !haqa.weight<1024, #haqa.quant<f32>> -> tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// placement = [shared, global, register] on a Q8_0 matmul, one kernel: each
// block's sums per lane live in workgroup memory, zeroed by its threads; the
// block's activations are copied into workgroup memory by all its threads
// (their own thread loop), the compute reads them from there. The weights
// (Q8_0 bytes and f16 scales) are read from global memory and dequantized in
// registers. Then, in the same block, each thread adds the lanes of its
// outputs, accumulated in private memory. The block loop records its
// workgroup bytes: 1024 of sums and 256 of activations.
// CHECK-LABEL: func.func @placement(
// CHECK: scf.forall ({{.*}}) = (0, 0) to (1, 32) step (1, 16)
// CHECK: %[[ACC:.*]] = bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x16x16xf32>
// CHECK: scf.forall {{.*}} shared_outs(%{{.*}} = %[[ACC]])
// CHECK: vector.transfer_write %{{.*}} : vector<1x1x4xf32>
// CHECK: %[[SHARED:.*]] = bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<1x2x2x16xf32>
// CHECK: %[[STAGED:.*]] = scf.forall {{.*}} shared_outs(%{{.*}} = %[[SHARED]])
// CHECK: } {mapping = [#gpu.thread
// CHECK: scf.forall
// CHECK: tensor.extract_slice %[[STAGED]]
// CHECK: arith.sitofp {{.*}} : vector<{{.*}}xi8> to vector<{{.*}}xf32>
// CHECK: bufferization.alloc_tensor() {memory_space = #gpu.address_space<private>}
// CHECK: linalg.copy {haqa.gpu.staged}
// CHECK: haqa.workgroup_bytes = 1280 : i64, mapping = [#gpu.block
func.func @placement(%x: tensor<1x64xf32>) -> tensor<1x32xf32> {
  %w = haqa.weight "w" : !haqa.weight<32x64, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<vector = 4, threads = [64], placement = [shared, global, register]>} : tensor<1x64xf32>, !haqa.weight<32x64, #haqa.quant<q8_0>> -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// unroll: each thread's innermost loop (4 columns, one at a time without a
// vector width) unrolled twice.
// CHECK-LABEL: func.func @unroll(
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 64)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[STEP:.*]] iter_args
// CHECK-COUNT-2: linalg.generic
// CHECK: scf.yield
func.func @unroll(%x: tensor<1x1024xf32>) -> tensor<1x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 256], threads = [64], unroll = 2>} : tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}

// -----

// Too much workgroup memory for one block: the error names the limit.
func.func @too_much_shared(%x: tensor<64x4096xf32>) -> tensor<64x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x4096, #haqa.quant<f16>>
  // expected-error @+1 {{schedule stages 1048576 bytes of shared memory per block; the limit is 49152 bytes (shared-memory-bytes)}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [64, 8, 4096], threads = [256], placement = [shared, global, global]>} : tensor<64x4096xf32>, !haqa.weight<64x4096, #haqa.quant<f16>> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

// mma = 1: a block forall over 32 x 32 output tiles (M = 40: the last tile
// has 8 rows), sums in workgroup memory zeroed by the threads; per K step
// of 64 the activations are converted to f16 (the A tile zeroed first, for
// the short last tile) and the Q8_0 weight dequantized to f16 into
// workgroup memory ([2 blocks, 2, 16, 32 columns] = 64 x 32); 2 warps (64
// threads) each own a 32 x 16 column of fragments, a 16 x 64 by 64 x 16
// linalg.matmul {haqa.mma} per fragment; the threads copy the sums out.
// The block loop records its tiles and workgroup bytes (4096 of sums, 4096
// each of the f16 tiles).
// CHECK-LABEL: func.func @mma(
// CHECK: scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (40, 64) step (32, 32)
// CHECK: affine.min #{{.*}}(%[[I]])
// CHECK: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x32xf32>
// CHECK: vector.transfer_write %{{.*}} : vector<1x4xf32>, tensor<1x4xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<32x64xf16>
// CHECK: vector.transfer_write %{{.*}} : vector<1x4xf16>, tensor<1x4xf16>
// CHECK: } {mapping = [#gpu.thread<linear_dim_1>, #gpu.thread<linear_dim_0>]}
// CHECK: arith.truncf %{{.*}} : vector<1x4xf32> to vector<1x4xf16>
// CHECK: bufferization.alloc_tensor() {memory_space = #gpu.address_space<workgroup>} : tensor<2x2x16x32xf16>
// CHECK: arith.sitofp
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: } {mapping = [#gpu.thread<linear_dim_3>, #gpu.thread<linear_dim_2>, #gpu.thread<linear_dim_1>, #gpu.thread<linear_dim_0>]}
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2], [3]] : tensor<2x2x16x32xf16> into tensor<64x32xf16>
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 2)
// CHECK: linalg.matmul {haqa.mma} ins(%{{.*}}, %{{.*}} : tensor<16x64xf16>, tensor<64x16xf16>) outs(%{{.*}} : tensor<16x16xf32>)
// CHECK: } {mapping = [#gpu.warp<linear_dim_1>, #gpu.warp<linear_dim_0>]}
// CHECK: scf.yield
// CHECK: } {mapping = [#gpu.thread<linear_dim_1>, #gpu.thread<linear_dim_0>]}
// CHECK: } {haqa.mma_tiles = array<i64: 32, 32, 64>, haqa.threads = array<i64: 64>, haqa.workgroup_bytes = 12288 : i64, mapping = [#gpu.block<linear_dim_1>, #gpu.block<linear_dim_0>]}
func.func @mma(%x: tensor<40x128xf32>) -> tensor<40x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x128, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [32, 32, 64], threads = [64], vector = 4, mma = 1>} : tensor<40x128xf32>, !haqa.weight<64x128, #haqa.quant<q8_0>> -> tensor<40x64xf32>
  return %y : tensor<40x64xf32>
}

// -----

// mma = 1 on a kernel that is not a matmul.
func.func @mma_not_matmul(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  // expected-error @+1 {{mma = 1 applies only to matmuls with K a multiple of 32 (GGUF blocks)}}
  %y = haqa.silu %x {schedule = #haqa.schedule<threads = [64], mma = 1>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// mma = 1 where no 16-column fragment tiles N.
func.func @mma_bad_n(%x: tensor<32x64xf32>) -> tensor<32x40xf32> {
  %w = haqa.weight "w" : !haqa.weight<40x64, #haqa.quant<q4_0>>
  // expected-error @+1 {{mma = 1 needs N a multiple of 16, got 40}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<threads = [128], mma = 1>} : tensor<32x64xf32>, !haqa.weight<40x64, #haqa.quant<q4_0>> -> tensor<32x40xf32>
  return %y : tensor<32x40xf32>
}

// -----

// mma = 1 tiles whose sums and f16 tiles exceed the shared memory limit.
func.func @mma_too_much_shared(%x: tensor<128x256xf32>) -> tensor<128x128xf32> {
  %w = haqa.weight "w" : !haqa.weight<128x256, #haqa.quant<f16>>
  // expected-error @+1 {{schedule stages 131072 bytes of shared memory per block (mma tiles 128x128x128); the limit is 49152 bytes (shared-memory-bytes)}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [128, 128, 128], threads = [256], mma = 1>} : tensor<128x256xf32>, !haqa.weight<128x256, #haqa.quant<f16>> -> tensor<128x128xf32>
  return %y : tensor<128x128xf32>
}

// -----

// A fill whose one use is a reduction's result makes no kernel of its own:
// the block forall starts from the fill's destination, the block's threads
// fill its tile, and then come the K steps (one launch instead of two).
// CHECK-LABEL: func.func @fill_in_the_kernel
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8xf32>
// CHECK-NOT: linalg.fill
// CHECK: scf.forall (%{{.*}}) = (0) to (8) step (2) shared_outs(%{{.*}} = %[[E]])
// CHECK: scf.forall
// CHECK: linalg.fill
// CHECK: mapping = [#gpu.thread<linear_dim_0>]
// CHECK: scf.for
// CHECK: scf.forall
// CHECK: linalg.generic
// CHECK: mapping = [#gpu.thread<linear_dim_0>]
// CHECK: mapping = [#gpu.block<linear_dim_0>]
func.func @fill_in_the_kernel(%x: tensor<8x256xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, k) -> (i, k)>, affine_map<(i, k) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x256xf32>) outs(%f : tensor<8xf32>) attrs = {haqa.schedule = #haqa.schedule<tile = [2, 64], threads = [2]>} {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
