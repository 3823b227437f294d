// dot = i8: the matmul as two micro-kernels (convert-haqa-to-linalg), their
// bufferized form as calls of lib/MicroKernels (haqa-cpu-lower-micro-kernels),
// and the instruction set checked against the target's CPU features.
// RUN: haqa-opt %s --split-input-file --convert-haqa-to-linalg | FileCheck %s --check-prefix=CONVERT
// RUN: haqa-opt %s --split-input-file --haqa-cpu-lower-micro-kernels=features=any --verify-diagnostics | FileCheck %s

// CONVERT-LABEL: func.func @matmul_q8_0(
// CONVERT-SAME: %[[X:.*]]: tensor<1x64xf32>, %[[W:.*]]: memref<544xi8> {haqa.weight = "w"})
// CONVERT: %[[Y0:.*]] = tensor.empty() : tensor<1x8xf32>
// CONVERT-NOT: linalg.fill
// CONVERT: %[[R0:.*]] = tensor.empty() : tensor<1x72xi8>
// CONVERT: %[[R:.*]] = haqa.micro_kernel "quantize_q8" isa = avx512_vnni ins(%[[X]] : tensor<1x64xf32>) outs(%[[R0]] : tensor<1x72xi8>) -> tensor<1x72xi8>
// CONVERT: %[[V:.*]] = memref.reinterpret_cast %[[W]] to offset: [0], sizes: [8, 68], strides: [68, 1]
// CONVERT: %[[WT:.*]] = bufferization.to_tensor %[[V]]
// CONVERT: haqa.micro_kernel "dot_q8_0" isa = avx512_vnni ins(%[[R]], %[[WT]] : tensor<1x72xi8>, tensor<8x68xi8>) outs(%[[Y0]] : tensor<1x8xf32>) {micro = array<i64: 1, 4>, threads = 2 : i64}
// CONVERT-NOT: linalg.generic
func.func @matmul_q8_0(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx512_vnni, micro = [1, 4]>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q8_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// Q4_0 and Q4_1 blocks (18 and 20 bytes), isa absent: scalar; micro absent:
// [1, 1]; one thread.
// CONVERT-LABEL: func.func @matmul_q4(
// CONVERT: haqa.micro_kernel "quantize_q8" isa = scalar ins(%{{.*}} : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x72xi8>)
// CONVERT: haqa.micro_kernel "dot_q4_0" isa = scalar ins(%{{.*}}, %{{.*}} : tensor<?x72xi8>, tensor<8x36xi8>) outs(%{{.*}} : tensor<?x8xf32>)
// CONVERT: haqa.micro_kernel "dot_q4_1" isa = avx2 ins(%{{.*}}, %{{.*}} : tensor<?x72xi8>, tensor<8x40xi8>) outs(%{{.*}} : tensor<?x8xf32>) {micro = array<i64: 4, 2>}
func.func @matmul_q4(%x: tensor<?x64xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %w0 = haqa.weight "w0" : !haqa.weight<8x64, #haqa.quant<q4_0>>
  %w1 = haqa.weight "w1" : !haqa.weight<8x64, #haqa.quant<q4_1>>
  %y0 = haqa.matmul %x, %w0 {schedule = #haqa.schedule<dot = i8>} : tensor<?x64xf32>, !haqa.weight<8x64, #haqa.quant<q4_0>> -> tensor<?x8xf32>
  %y1 = haqa.matmul %x, %w1 {schedule = #haqa.schedule<dot = i8, isa = avx2, micro = [4, 2]>} : tensor<?x64xf32>, !haqa.weight<8x64, #haqa.quant<q4_1>> -> tensor<?x8xf32>
  return %y0, %y1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// On memrefs: each operand as the address of its first element (aligned
// pointer plus offset in bytes) and its row stride; the dot split over N in
// pieces of whole nr blocks, one per thread: 10 rows, 3 threads, nr = 2: 4 + 4 + 2.
// CHECK-DAG: func.func private @haqa_uk_quantize_q8_avx512vnni(!llvm.ptr, i64, i64, i64, !llvm.ptr, i64)
// CHECK-DAG: func.func private @haqa_uk_dot_q8_0_avx512vnni(!llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @calls(
// CHECK: %[[XB:.*]], %[[XO:.*]], %{{.*}}:2, %[[XS:.*]]:2 = memref.extract_strided_metadata %arg0
// CHECK: %[[XA:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %[[XOB:.*]] = arith.muli %[[XO]], %c4
// CHECK: %[[XP:.*]] = arith.addi %[[XA]], %[[XOB]]
// CHECK: llvm.inttoptr
// CHECK: call @haqa_uk_quantize_q8_avx512vnni(
// CHECK: scf.forall (%[[T:.*]]) in (3) {
// CHECK: %[[N0:.*]] = arith.muli %{{.*}}, %c4_i64
// CHECK: %[[N1:.*]] = arith.minsi %{{.*}}, %c10_i64
// CHECK: func.call @haqa_uk_dot_q8_0_avx512vnni(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[N0]], %[[N1]], %c2_i64, %c1_i64, %c2_i64_{{.*}})
func.func @calls(%x: memref<1x64xf32, strided<[128, 1], offset: ?>>, %q: memref<1x72xi8>, %w: memref<10x68xi8>, %y: memref<1x10xf32>) {
  haqa.micro_kernel "quantize_q8" isa = avx512_vnni ins(%x : memref<1x64xf32, strided<[128, 1], offset: ?>>) outs(%q : memref<1x72xi8>)
  haqa.micro_kernel "dot_q8_0" isa = avx512_vnni ins(%q, %w : memref<1x72xi8>, memref<10x68xi8>) outs(%y : memref<1x10xf32>) {micro = array<i64: 1, 2>, threads = 3}
  return
}

// -----

// One thread: one call over all of N.
// CHECK-LABEL: func.func @one_thread(
// CHECK-NOT: scf.forall
// CHECK: call @haqa_uk_dot_q4_1_scalar(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0_i64, %c8_i64, %c2_i64, %c1_i64, %c1_i64_{{.*}})
func.func @one_thread(%q: memref<?x72xi8>, %w: memref<8x40xi8>, %y: memref<?x8xf32>) {
  haqa.micro_kernel "dot_q4_1" isa = scalar ins(%q, %w : memref<?x72xi8>, memref<8x40xi8>) outs(%y : memref<?x8xf32>)
  return
}

// -----

// K-quant weights: rows of super-blocks (Q4_K 144 bytes, Q6_K 210 per 256
// values); K is passed in 32-value blocks, 8 per super-block.
// CHECK-LABEL: func.func @kquants(
// CHECK: call @haqa_uk_dot_q4_k_avx2(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0_i64, %c8_i64, %c16_i64, %c1_i64, %c1_i64_{{.*}})
// CHECK: call @haqa_uk_dot_q6_k_avx2(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0_i64{{.*}}, %c8_i64{{.*}}, %c16_i64{{.*}}, %c1_i64{{.*}}, %c1_i64{{.*}})
func.func @kquants(%q: memref<?x576xi8>, %w4: memref<8x288xi8>, %w6: memref<8x420xi8>, %y: memref<?x8xf32>) {
  haqa.micro_kernel "dot_q4_k" isa = avx2 ins(%q, %w4 : memref<?x576xi8>, memref<8x288xi8>) outs(%y : memref<?x8xf32>)
  haqa.micro_kernel "dot_q6_k" isa = avx2 ins(%q, %w6 : memref<?x576xi8>, memref<8x420xi8>) outs(%y : memref<?x8xf32>)
  return
}

// -----

// Still on tensors: the pass runs after bufferization.
func.func @tensors(%x: tensor<1x64xf32>, %q: tensor<1x72xi8>) -> tensor<1x72xi8> {
  // expected-error@+1 {{'haqa.micro_kernel' op expected memref operands: haqa-cpu-lower-micro-kernels runs after bufferization}}
  %r = haqa.micro_kernel "quantize_q8" isa = scalar ins(%x : tensor<1x64xf32>) outs(%q : tensor<1x72xi8>) -> tensor<1x72xi8>
  return %r : tensor<1x72xi8>
}

// -----

// attn = fused: one attention_f32 micro-kernel, no slice of the caches.
// CONVERT-LABEL: func.func @attention_fused(
// CONVERT-SAME: %[[Q:.*]]: tensor<?x9x64xf32>, %[[K:.*]]: tensor<512x3x64xf32>, %[[V:.*]]: tensor<512x3x64xf32>, %[[P:.*]]: tensor<?xi32>)
// CONVERT: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<?x9x64xf32>
// CONVERT: haqa.micro_kernel "attention_f32" isa = avx512_vnni ins(%[[Q]], %[[K]], %[[V]], %[[P]] : tensor<?x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<?xi32>) outs(%[[E]] : tensor<?x9x64xf32>) {scale = 1.250000e-01 : f32, threads = 2 : i64}
// CONVERT-NOT: linalg.generic
func.func @attention_fused(%q: tensor<?x9x64xf32>, %k: tensor<512x3x64xf32>, %v: tensor<512x3x64xf32>, %pos: tensor<?xi32>) -> tensor<?x9x64xf32> {
  %o = haqa.attention %q, %k, %v, %pos {scale = 0.125 : f32, schedule = #haqa.schedule<cpu_threads = 2, isa = avx512_vnni, attn = fused>} : tensor<?x9x64xf32>, tensor<512x3x64xf32>, tensor<512x3x64xf32>, tensor<?xi32> -> tensor<?x9x64xf32>
  return %o : tensor<?x9x64xf32>
}

// -----

// On memrefs: q, the caches, positions and the output as pointers (row
// strides of q, the caches and the output), the T x Hq units split evenly
// over the threads: piece t is [t * units / 2, (t + 1) * units / 2).
// CHECK-DAG: func.func private @haqa_uk_attention_f32_avx2(!llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, f32, i64, i64)
// CHECK-LABEL: func.func @attention_calls(
// CHECK: %[[U:.*]] = arith.muli %{{.*}}, %c9_i64
// CHECK: %[[S:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: scf.forall (%[[I:.*]]) in (2) {
// CHECK: %[[I64:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK: %[[A:.*]] = arith.muli %[[I64]], %[[U]]
// CHECK: %[[U0:.*]] = arith.divsi %[[A]], %c2_i64
// CHECK: %[[U1:.*]] = arith.divsi %{{.*}}, %c2_i64
// CHECK: func.call @haqa_uk_attention_f32_avx2(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c9_i64{{.*}}, %c3_i64, %c64_i64, %[[S]], %[[U0]], %[[U1]])
func.func @attention_calls(%q: memref<?x9x64xf32>, %k: memref<512x3x64xf32>, %v: memref<512x3x64xf32>, %pos: memref<?xi32>, %o: memref<?x9x64xf32>) {
  haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %v, %pos : memref<?x9x64xf32>, memref<512x3x64xf32>, memref<512x3x64xf32>, memref<?xi32>) outs(%o : memref<?x9x64xf32>) {scale = 0.125 : f32, threads = 2}
  return
}

// -----

func.func @attention_strided(%q: memref<1x9x64xf32, strided<[1152, 128, 1]>>, %k: memref<512x3x64xf32>, %pos: memref<1xi32>, %o: memref<1x9x64xf32>) {
  // expected-error@+1 {{'haqa.micro_kernel' op expected operands with unit inner strides (one row stride per operand)}}
  haqa.micro_kernel "attention_f32" isa = avx2 ins(%q, %k, %k, %pos : memref<1x9x64xf32, strided<[1152, 128, 1]>>, memref<512x3x64xf32>, memref<512x3x64xf32>, memref<1xi32>) outs(%o : memref<1x9x64xf32>) {scale = 0.125 : f32}
  return
}

// -----

// dot = fma: one dot_f16 micro-kernel on the F16 weight as stored.
// CONVERT-LABEL: func.func @matmul_f16(
// CONVERT-SAME: %[[X:.*]]: tensor<?x64xf32>, %[[W:.*]]: memref<1024xi8> {haqa.weight = "w"})
// CONVERT: %[[Y0:.*]] = tensor.empty(%{{.*}}) : tensor<?x8xf32>
// CONVERT: %[[V:.*]] = memref.view %[[W]][%{{.*}}][] : memref<1024xi8> to memref<8x64xf16>
// CONVERT: %[[WT:.*]] = bufferization.to_tensor %[[V]]
// CONVERT: haqa.micro_kernel "dot_f16" isa = avx2 ins(%[[X]], %[[WT]] : tensor<?x64xf32>, tensor<8x64xf16>) outs(%[[Y0]] : tensor<?x8xf32>) {micro = array<i64: 4, 4>, threads = 2 : i64}
// CONVERT-NOT: linalg.generic
func.func @matmul_f16(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<f16>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<cpu_threads = 2, dot = fma, isa = avx2, micro = [4, 4]>} : tensor<?x64xf32>, !haqa.weight<8x64, #haqa.quant<f16>> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// dot_f16 on memrefs: strides and K in elements; N split over the threads
// in whole nr blocks as the int8 dots.
// CHECK-DAG: func.func private @haqa_uk_dot_f16_avx2(!llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @f16_calls(
// CHECK: scf.forall (%{{.*}}) in (2) {
// CHECK: func.call @haqa_uk_dot_f16_avx2(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c64_i64, %c4_i64{{.*}}, %c4_i64{{.*}})
func.func @f16_calls(%x: memref<?x64xf32>, %w: memref<8x64xf16>, %y: memref<?x8xf32>) {
  haqa.micro_kernel "dot_f16" isa = avx2 ins(%x, %w : memref<?x64xf32>, memref<8x64xf16>) outs(%y : memref<?x8xf32>) {micro = array<i64: 4, 4>, threads = 2}
  return
}

// -----

// BF16 weights: dot = fma as a dot_bf16 micro-kernel on the weight as stored
// (bf16 widened to f32 by a shift), called as dot_f16 is.
// CONVERT-LABEL: func.func @matmul_bf16(
// CONVERT: %[[V:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<1024xi8> to memref<8x64xbf16>
// CONVERT: %[[WT:.*]] = bufferization.to_tensor %[[V]]
// CONVERT: haqa.micro_kernel "dot_bf16" isa = avx512_vnni ins(%{{.*}}, %[[WT]] : tensor<1x64xf32>, tensor<8x64xbf16>) outs(%{{.*}} : tensor<1x8xf32>) {micro = array<i64: 1, 4>, threads = 2 : i64}
// CHECK-DAG: func.func private @haqa_uk_dot_bf16_avx512vnni(!llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @matmul_bf16(
// CHECK-LABEL: func.func @bf16_calls(
// CHECK: func.call @haqa_uk_dot_bf16_avx512vnni(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %c64_i64, %c1_i64{{.*}}, %c4_i64{{.*}})
func.func @matmul_bf16(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<bf16>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<cpu_threads = 2, dot = fma, isa = avx512_vnni, micro = [1, 4]>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<bf16>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
func.func @bf16_calls(%x: memref<1x64xf32>, %w: memref<8x64xbf16>, %y: memref<1x8xf32>) {
  haqa.micro_kernel "dot_bf16" isa = avx512_vnni ins(%x, %w : memref<1x64xf32>, memref<8x64xbf16>) outs(%y : memref<1x8xf32>) {micro = array<i64: 1, 4>, threads = 2}
  return
}

// -----

// micro = [4, 16] (packed panels): N split over the threads in whole panels
// (40 rows, 2 threads: pieces of 32, [0, 32) and [32, 40)), nr = 16 passed on.
// CHECK-LABEL: func.func @panel_calls(
// CHECK: scf.forall (%{{.*}}) in (2) {
// CHECK: %[[P0:.*]] = arith.muli %{{.*}}, %c32_i64
// CHECK: %[[P1:.*]] = arith.minsi %{{.*}}, %c40_i64
// CHECK: func.call @haqa_uk_dot_q4_0_avx512vnni(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[P0]], %[[P1]], %c2_i64, %c4_i64, %c16_i64)
func.func @panel_calls(%q: memref<?x72xi8>, %w: memref<40x36xi8>, %y: memref<?x40xf32>) {
  haqa.micro_kernel "dot_q4_0" isa = avx512_vnni ins(%q, %w : memref<?x72xi8>, memref<40x36xi8>) outs(%y : memref<?x40xf32>) {micro = array<i64: 4, 16>, threads = 2}
  return
}

// -----

// A matmul with fused neighbours (haqa-fuse-matmuls): the norm prologue as
// an rms_norm_f32 micro-kernel whose rows the quantizer reads, the gate and
// residual as further inputs of the dot, flagged for its epilogue.
// CONVERT-LABEL: func.func @fused(
// CONVERT-SAME: %[[X:[^:]*]]: tensor<1x64xf32>, %[[GT:[^:]*]]: tensor<1x8xf32>, %[[R:[^:]*]]: tensor<1x8xf32>
// CONVERT: %[[G:.*]] = bufferization.to_tensor {{.*}} : memref<64xf32> to tensor<64xf32>
// CONVERT: %[[N:.*]] = haqa.micro_kernel "rms_norm_f32" isa = avx2 ins(%[[X]], %[[G]] : tensor<1x64xf32>, tensor<64xf32>) outs(%{{.*}} : tensor<1x64xf32>) {epsilon = 9.99999974E-6 : f32}
// CONVERT: %[[Q:.*]] = haqa.micro_kernel "quantize_q8" isa = avx2 ins(%[[N]] : tensor<1x64xf32>)
// CONVERT: haqa.micro_kernel "dot_q4_0" isa = avx2 ins(%[[Q]], %{{.*}}, %[[GT]], %[[R]] : tensor<1x72xi8>, tensor<8x36xi8>, tensor<1x8xf32>, tensor<1x8xf32>) outs(%{{.*}} : tensor<1x8xf32>) {gate, micro = array<i64: 1, 4>, residual, threads = 2 : i64}
func.func @fused(%x: tensor<1x64xf32>, %gt: tensor<1x8xf32>, %r: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %w = haqa.weight "w" : !haqa.weight<8x64, #haqa.quant<q4_0>>
  %g = haqa.weight "g" : !haqa.weight<64, #haqa.quant<f32>>
  %y = haqa.matmul %x, %w norm(%g : !haqa.weight<64, #haqa.quant<f32>>) epsilon = 1.0e-5 gate(%gt : tensor<1x8xf32>) residual(%r : tensor<1x8xf32>) {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [norm, swiglu, residual]>} : tensor<1x64xf32>, !haqa.weight<8x64, #haqa.quant<q4_0>> -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// On memrefs: rms_norm_f32 as one call (x, stride, g, y, stride, rows, K,
// epsilon); each thread's dot call followed by the epilogue on its piece
// [n0, n1), a null pointer for the absent gate.
// CHECK-DAG: func.func private @haqa_uk_rms_norm_f32_avx2(!llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, i64, i64, f32)
// CHECK-DAG: func.func private @haqa_uk_epilogue_f32_avx2(!llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, i64, i64, i64)
// CHECK-LABEL: func.func @fused_calls(
// CHECK: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: call @haqa_uk_rms_norm_f32_avx2(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[EPS]])
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: scf.forall
// CHECK: call @haqa_uk_dot_q8_0_avx2(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[Y:[^,]*]], %[[YS:[^,]*]], %[[M:[^,]*]], %[[N0:[^,]*]], %[[N1:[^,]*]],
// CHECK-NEXT: call @haqa_uk_epilogue_f32_avx2(%[[Y]], %[[YS]], %[[NULL]], %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[M]], %[[N0]], %[[N1]])
func.func @fused_calls(%x: memref<1x64xf32>, %g: memref<64xf32>, %n: memref<1x64xf32>, %q: memref<1x72xi8>, %w: memref<8x68xi8>, %r: memref<1x8xf32>, %y: memref<1x8xf32>) {
  haqa.micro_kernel "rms_norm_f32" isa = avx2 ins(%x, %g : memref<1x64xf32>, memref<64xf32>) outs(%n : memref<1x64xf32>) {epsilon = 1.0e-5 : f32}
  haqa.micro_kernel "dot_q8_0" isa = avx2 ins(%q, %w, %r : memref<1x72xi8>, memref<8x68xi8>, memref<1x8xf32>) outs(%y : memref<1x8xf32>) {micro = array<i64: 1, 4>, residual, threads = 2 : i64}
  return
}
