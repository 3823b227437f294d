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

// Shared memory is checked where it is allocated, in the CUDA pipeline,
// against the profile's limit (static shared memory: at most 48 KiB).
func.func @too_much_shared(%x: tensor<8x2048xf32>) -> tensor<8x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x2048, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [8, 16, 2048], threads = [256], placement = [shared, global, register]>} : tensor<8x2048xf32>, !haqa.weight<64x2048, #haqa.quant<q8_0>> -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}
// RUN: not haqa-opt %s --split-input-file --haqa-cuda-lower=profile=%S/Inputs/small-gpu.json 2>&1 | FileCheck %s --check-prefix=SHARED
// SHARED: error: 'linalg.generic' op schedule stages 65536 bytes of shared memory per block; the limit is 4096 bytes (small-gpu static shared memory per block)

// -----

func.func @mma_without_tensor_cores(%x: tensor<32x64xf32>) -> tensor<32x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<f16>>
  // expected-error @+1 {{schedule has mma = 1; Test GPU with small limits (small-gpu) has no tensor cores (tensor_cores is false)}}
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<threads = [128], mma = 1>} : tensor<32x64xf32>, !haqa.weight<64x64, #haqa.quant<f16>> -> tensor<32x64xf32>
  return %y : tensor<32x64xf32>
}
