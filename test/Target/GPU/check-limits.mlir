// Schedules are checked against the hardware profile before compilation;
// the error names the limit and where it comes from.
// RUN: haqa-opt %s --haqa-gpu-check-limits=profile=%S/Inputs/small-gpu.json --split-input-file --verify-diagnostics
// RUN: not haqa-opt %s --haqa-gpu-check-limits=profile=tpu9 --split-input-file 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not haqa-opt %s --haqa-gpu-check-limits=profile=host --split-input-file 2>&1 | FileCheck %s --check-prefix=CPU

// UNKNOWN: haqa-gpu-check-limits: {{.*}}tpu9
// CPU: haqa-gpu-check-limits: profile 'host' is a CPU

func.func @fits(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<threads = [32, 8]>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

func.func @too_many_threads(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  // expected-error @+1 {{schedule has 512 threads per block; Test GPU with small limits (small-gpu) allows at most 256 (max_threads_per_block)}}
  %y = haqa.silu %x {schedule = #haqa.schedule<threads = [64, 8]>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

func.func @z_too_large(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  // expected-error @+1 {{schedule has 128 threads along z; Test GPU with small limits (small-gpu) allows at most 64 (CUDA block dimension limit)}}
  %y = haqa.silu %x {schedule = #haqa.schedule<threads = [2, 2, 128]>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// Shared memory is checked once it is allocated: haqa-gpu-apply-schedule
// records each block's workgroup bytes and the pipelines run
// haqa-gpu-check-limits after it, against the profile's limit (static
// shared memory: at most 48 KiB), or CUDA's 48 KiB without a profile
// (also for GPU schedules run on the CPU).
func.func @too_much_shared(%x: tensor<8x2048xf32>) -> tensor<8x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x2048, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [8, 16, 2048], threads = [256], placement = [shared, global, register]>} : tensor<8x2048xf32>, !haqa.weight<64x2048, #haqa.quant<q8_0>> -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
// RUN: not haqa-opt %s --split-input-file --haqa-cuda-lower=profile=%S/Inputs/small-gpu.json 2>&1 | FileCheck %s --check-prefix=SHARED
// SHARED: error: schedule stages 65536 bytes of shared memory per block; the limit is 4096 bytes (small-gpu static shared memory per block)
// RUN: not haqa-opt %s --split-input-file --haqa-cuda-lower 2>&1 | FileCheck %s --check-prefix=SHARED-CUDA
// SHARED-CUDA: error: schedule stages 65536 bytes of shared memory per block; the limit is 49152 bytes (CUDA static shared memory per block)
// RUN: not haqa-opt %s --split-input-file --haqa-gpu-on-cpu-lower 2>&1 | FileCheck %s --check-prefix=SHARED-CPU
// SHARED-CPU: error: schedule stages 65536 bytes of shared memory per block; the limit is 49152 bytes (shared-memory-bytes)

// -----

// After haqa-gpu-apply-schedule: the workgroup bytes a block loop records
// (haqa.workgroup_bytes) against the profile's shared memory per block.
func.func @workgroup_fits(%out: tensor<64xf32>) -> tensor<64xf32> {
  %r = scf.forall (%i) in (4) shared_outs(%o = %out) -> (tensor<64xf32>) {
  } {haqa.threads = array<i64: 16>, haqa.workgroup_bytes = 4096 : i64, mapping = [#gpu.block<linear_dim_0>]}
  return %r : tensor<64xf32>
}

// -----

func.func @workgroup_too_much(%out: tensor<64xf32>) -> tensor<64xf32> {
  // expected-error @+1 {{schedule stages 4100 bytes of shared memory per block; the limit is 4096 bytes (small-gpu static shared memory per block)}}
  %r = scf.forall (%i) in (4) shared_outs(%o = %out) -> (tensor<64xf32>) {
  } {haqa.threads = array<i64: 16>, haqa.workgroup_bytes = 4100 : i64, mapping = [#gpu.block<linear_dim_0>]}
  return %r : tensor<64xf32>
}

// -----

// A tensor-core block's error names its tiles (haqa.mma_tiles).
func.func @workgroup_mma_tiles(%out: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{schedule stages 12288 bytes of shared memory per block (mma tiles 32x32x64); the limit is 4096 bytes (small-gpu static shared memory per block)}}
  %r = scf.forall (%i, %j) = (0, 0) to (64, 64) step (32, 32) shared_outs(%o = %out) -> (tensor<64x64xf32>) {
  } {haqa.mma_tiles = array<i64: 32, 32, 64>, haqa.threads = array<i64: 64>, haqa.workgroup_bytes = 12288 : i64, mapping = [#gpu.block<linear_dim_1>, #gpu.block<linear_dim_0>]}
  return %r : tensor<64x64xf32>
}

// -----

func.func @mma_without_tensor_cores(%x: tensor<32x64xf32>) -> tensor<32x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<f16>>
  // expected-error @+1 {{schedule has mma = 1; Test GPU with small limits (small-gpu) has no tensor cores (tensor_cores is false)}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<threads = [128], mma = 1>} : tensor<32x64xf32>, !haqa.weight<64x64, #haqa.quant<f16>> -> tensor<32x64xf32>
  return %y : tensor<32x64xf32>
}
