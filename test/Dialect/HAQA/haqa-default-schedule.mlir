// RUN: haqa-opt %s --haqa-default-schedule="target=cpu cpu-threads=2" | FileCheck %s --check-prefix=CPU
// RUN: haqa-opt %s --haqa-default-schedule=target=cuda | FileCheck %s --check-prefix=CUDA
// RUN: haqa-opt %s --haqa-default-schedule=target=opencl | FileCheck %s --check-prefix=CL
// RUN: not haqa-opt %s --haqa-default-schedule=target=tpu 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: haqa-opt %s --haqa-default-schedule="target=cpu cpu-threads=2 micro-kernels=avx2" | FileCheck %s --check-prefix=INT8
// RUN: haqa-opt %s --haqa-default-schedule="target=cpu cpu-threads=2 micro-kernels=avx2 fuse=true" | FileCheck %s --check-prefix=FUSE
// RUN: haqa-opt %s --haqa-default-schedule="target=cpu cpu-threads=2 micro-kernels=avx512_vnni" | FileCheck %s --check-prefix=VNNI512
// RUN: not haqa-opt %s --haqa-default-schedule="target=cpu micro-kernels=neon" 2>&1 | FileCheck %s --check-prefix=BADISA
// RUN: not haqa-opt %s --haqa-default-schedule="target=cuda micro-kernels=avx2" 2>&1 | FileCheck %s --check-prefix=BADTARGET

// BAD: error: unknown target 'tpu' (expected cpu, cuda or opencl)
// BADISA: error: micro-kernels=neon is no instruction set (expected scalar, avx2, avx_vnni, avx512_vnni or host)
// BADTARGET: error: micro-kernels=avx2 applies to target=cpu only

// CPU-LABEL: func.func @decode
// CUDA-LABEL: func.func @decode
// CL-LABEL: func.func @decode
func.func @decode(%x: tensor<1x576xf32>, %s: tensor<9x1x2048xf32>) -> (tensor<1x1536xf32>, tensor<9x1x2048xf32>, tensor<1x576xf32>) {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<q4_1>>
  // CPU: haqa.matmul {{.*}} {schedule = #haqa.schedule<tile = [1, 16, 576], order = [0, 1, 2], unroll = 4, vector = 16, cpu_threads = 2, prefetch = 2>}
  // micro-kernels: the quantized matmul as micro-kernels, four weight rows per
  // activation block at one row (decode).
  // INT8: haqa.matmul {{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4]>}
  // With fuse=true the micro-kernel matmuls also ask for their neighbours;
  // the other kernels are as without.
  // FUSE: haqa.matmul {{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [norm, swiglu, residual]>}
  // FUSE: haqa.softmax {{.*}} {schedule = #haqa.schedule<tile = [1, 1, 256], order = [0, 1, 2], unroll = 4, vector = 16, cpu_threads = 2, exp = fast>}
  // INT8: haqa.softmax {{.*}} {schedule = #haqa.schedule<tile = [1, 1, 256], order = [0, 1, 2], unroll = 4, vector = 16, cpu_threads = 2, exp = fast>}
  // GPU blocks follow from the tiles the threads cover (no grid); the
  // activations (576 x f32) are staged in shared memory.
  // CUDA: haqa.matmul {{.*}} {schedule = #haqa.schedule<unroll = 1, vector = 4, threads = [256], placement = [shared, global, register]>}
  // CL: haqa.matmul {{.*}} {schedule = #haqa.schedule<unroll = 1, vector = 4, threads = [128], placement = [shared, global, register]>}
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_1>> -> tensor<1x1536xf32>
  // CPU: haqa.softmax {{.*}} {schedule = #haqa.schedule<tile = [1, 1, 256], order = [0, 1, 2], unroll = 4, vector = 16, cpu_threads = 2, exp = fast>}
  // Rows of 2048: 2048 / 4 lanes needs 512 threads, capped at the preferred
  // block size.
  // CUDA: haqa.softmax {{.*}} {schedule = #haqa.schedule<unroll = 1, vector = 4, threads = [256]>}
  // CL: haqa.softmax {{.*}} {schedule = #haqa.schedule<unroll = 4, vector = 4, threads = [128]>}
  %p = haqa.softmax %s : tensor<9x1x2048xf32>
  // A kernel that already has a schedule (the agent's) keeps it.
  // CPU: haqa.silu {{.*}} {schedule = #haqa.schedule<unroll = 8>}
  // CUDA: haqa.silu {{.*}} {schedule = #haqa.schedule<unroll = 8>}
  %a = haqa.silu %y {schedule = #haqa.schedule<unroll = 8>} : tensor<1x1536xf32>
  // 576 = 2^6 * 9: the widest SIMD width dividing it is 16 on CPU; 576
  // elements (at most 16384) run on one thread.
  // CPU: haqa.add {{.*}} {schedule = #haqa.schedule<tile = [1, 256], order = [0, 1], unroll = 4, vector = 16, cpu_threads = 1>}
  // CUDA: haqa.add {{.*}} {schedule = #haqa.schedule<unroll = 1, vector = 4, threads = [256]>}
  %sum = haqa.add %x, %x : tensor<1x576xf32>
  return %a, %p, %sum : tensor<1x1536xf32>, tensor<9x1x2048xf32>, tensor<1x576xf32>
}

// Prefill (rows dynamic): four activation rows by four weight rows per block
// step, 16 accumulators (2.0-2.3x faster than [4, 1] at 64 and 128 rows on
// AVX-512 VNNI, AVX-VNNI and AVX2; docs/performance.md).
// INT8-LABEL: func.func @prefill
// VNNI512-LABEL: func.func @prefill
func.func @prefill(%x: tensor<?x576xf32>) -> tensor<?x1536xf32> {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<q4_0>>
  // INT8: haqa.matmul {{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [4, 4]>}
  // AVX-512 VNNI: four activation rows over packed panels of 16 weight rows
  // (1.7-2.5x faster than [4, 4] at 64 and 128 rows).
  // VNNI512: haqa.matmul {{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx512_vnni, micro = [4, 16]>}
  %y = haqa.matmul %x, %w : tensor<?x576xf32>, !haqa.weight<1536x576, #haqa.quant<q4_0>> -> tensor<?x1536xf32>
  return %y : tensor<?x1536xf32>
}

// With micro-kernels, attention is fused in the same instruction
// set; without, the generics with the vector exp.
// INT8-LABEL: func.func @attention
// CPU-LABEL: func.func @attention
func.func @attention(%q: tensor<1x9x64xf32>, %k: tensor<512x3x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  // INT8: haqa.attention {{.*}}schedule = #haqa.schedule<cpu_threads = 2, isa = avx2, attn = fused>
  // CPU: haqa.attention {{.*}}schedule = #haqa.schedule<tile = {{.*}}exp = fast>
  %o = haqa.attention %q, %k, %k, %pos {scale = 0.125 : f32} : tensor<1x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %o : tensor<1x9x64xf32>
}

// F16 weights: dot = fma micro-kernels, [1, 4] at one row, [4, 4] for
// prefill.
// INT8-LABEL: func.func @f16
func.func @f16(%x: tensor<1x576xf32>, %p: tensor<?x576xf32>) -> (tensor<1x1536xf32>, tensor<?x1536xf32>) {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<f16>>
  // INT8: haqa.matmul {{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = fma, isa = avx2, micro = [1, 4]>}
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<f16>> -> tensor<1x1536xf32>
  // INT8: haqa.matmul {{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = fma, isa = avx2, micro = [4, 4]>}
  %z = haqa.matmul %p, %w : tensor<?x576xf32>, !haqa.weight<1536x576, #haqa.quant<f16>> -> tensor<?x1536xf32>
  return %y, %z : tensor<1x1536xf32>, tensor<?x1536xf32>
}

// BF16 weights: dot = fma too (dot_bf16).
// INT8-LABEL: func.func @bf16
// INT8: haqa.matmul {{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = fma, isa = avx2, micro = [1, 4]>}
func.func @bf16(%x: tensor<1x576xf32>) -> tensor<1x1536xf32> {
  %w = haqa.weight "w" : !haqa.weight<1536x576, #haqa.quant<bf16>>
  %y = haqa.matmul %x, %w : tensor<1x576xf32>, !haqa.weight<1536x576, #haqa.quant<bf16>> -> tensor<1x1536xf32>
  return %y : tensor<1x1536xf32>
}

// A rope's sines and cosines as MLIR's polynomials on the CPU (exp = poly
// covers them), vectorized with the rest of its body.
// CPU-LABEL: func.func @rope
// CPU: haqa.rope {{.*}}exp = poly>
func.func @rope(%x: tensor<1x9x64xf32>, %pos: tensor<1xi32>) -> tensor<1x9x64xf32> {
  %y = haqa.rope %x, %pos {theta = 1.0e+04 : f32} : tensor<1x9x64xf32>, tensor<1xi32> -> tensor<1x9x64xf32>
  return %y : tensor<1x9x64xf32>
}
