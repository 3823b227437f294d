// RUN: haqa-opt %s --split-input-file --haqa-fuse-matmuls | FileCheck %s

// One Llama layer's CPU matmuls, each fusing what its schedule's `fuse`
// lists: q and k normalize the row themselves (fuse = [norm]; the
// rms_norm goes once no op uses it), o adds the residual (fuse =
// [residual]), up takes the gate's silu and the down projection adds the
// residual.
// CHECK-LABEL: func.func @layer(
// CHECK-SAME: %[[X:.*]]: tensor<1x64xf32>
// CHECK-NOT: haqa.rms_norm
// CHECK: %[[Q:.*]] = haqa.matmul %[[X]], %[[WQ:.*]] norm(%[[G:.*]] : !haqa.weight<64, #haqa.quant<f32>>) epsilon = 9.99999974E-6 {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [norm]>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
// CHECK: %[[K:.*]] = haqa.matmul %[[X]], %{{.*}} norm(%[[G]] : {{.*}}) epsilon = 9.99999974E-6 {schedule
// CHECK: %[[H:.*]] = haqa.matmul %[[Q]], %{{.*}} residual(%[[X]] : tensor<1x64xf32>) {schedule = {{.*}}fuse = [residual]>}
// CHECK-NOT: haqa.add
// CHECK: %[[GT:.*]] = haqa.matmul %[[H]], %{{.*}} {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4]>} : {{.*}} -> tensor<1x128xf32>
// CHECK: %[[UP:.*]] = haqa.matmul %[[H]], %{{.*}} gate(%[[GT]] : tensor<1x128xf32>) {schedule = {{.*}}fuse = [swiglu]>}
// CHECK-NOT: haqa.swiglu
// CHECK: %[[OUT:.*]] = haqa.matmul %[[UP]], %{{.*}} residual(%[[H]] : tensor<1x64xf32>)
// CHECK: return %[[OUT]], %[[K]]
func.func @layer(%x: tensor<1x64xf32>) -> (tensor<1x64xf32>, tensor<1x64xf32>) {
  %g = haqa.weight "attn_norm.weight" : !haqa.weight<64, #haqa.quant<f32>>
  %n = haqa.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : tensor<1x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<1x64xf32>
  %wq = haqa.weight "attn_q.weight" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  %wk = haqa.weight "attn_k.weight" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  %q = haqa.matmul %n, %wq {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [norm]>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  %k = haqa.matmul %n, %wk {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [norm]>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  %wo = haqa.weight "attn_output.weight" : !haqa.weight<64x64, #haqa.quant<q4_0>>
  %o = haqa.matmul %q, %wo {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [residual]>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q4_0>> -> tensor<1x64xf32>
  %h = haqa.add %x, %o : tensor<1x64xf32>
  %wg = haqa.weight "ffn_gate.weight" : !haqa.weight<128x64, #haqa.quant<q4_0>>
  %wu = haqa.weight "ffn_up.weight" : !haqa.weight<128x64, #haqa.quant<q4_0>>
  %wd = haqa.weight "ffn_down.weight" : !haqa.weight<64x128, #haqa.quant<q4_1>>
  %up = haqa.matmul %h, %wu {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [swiglu]>} : tensor<1x64xf32>, !haqa.weight<128x64, #haqa.quant<q4_0>> -> tensor<1x128xf32>
  %gate = haqa.matmul %h, %wg {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4]>} : tensor<1x64xf32>, !haqa.weight<128x64, #haqa.quant<q4_0>> -> tensor<1x128xf32>
  %act = haqa.swiglu %gate, %up : tensor<1x128xf32>
  %d = haqa.matmul %act, %wd {schedule = #haqa.schedule<cpu_threads = 2, dot = i8, isa = avx2, micro = [1, 4], fuse = [residual]>} : tensor<1x128xf32>, !haqa.weight<64x128, #haqa.quant<q4_1>> -> tensor<1x64xf32>
  %out = haqa.add %d, %h : tensor<1x64xf32>
  return %out, %k : tensor<1x64xf32>, tensor<1x64xf32>
}

// -----

// All three on one matmul (a prefill's dynamic rows, dot = fma): the up
// projection normalizes its input, multiplies by silu(gate) and adds the
// residual; the rms_norm stays, the gate matmul still reads it.
// CHECK-LABEL: func.func @all(
// CHECK: %[[N:.*]] = haqa.rms_norm
// CHECK: %[[GT:.*]] = haqa.matmul %[[N]]
// CHECK: %[[Y:.*]] = haqa.matmul %arg0, %{{.*}} norm(%{{.*}} : !haqa.weight<64, #haqa.quant<f32>>) epsilon = 9.99999974E-6 gate(%[[GT]] : tensor<?x32xf32>) residual(%arg1 : tensor<?x32xf32>) {schedule = #haqa.schedule<dot = fma, isa = avx2, micro = [4, 4], fuse = [norm, swiglu, residual]>}
// CHECK-NEXT: return %[[Y]]
func.func @all(%x: tensor<?x64xf32>, %r: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %g = haqa.weight "norm" : !haqa.weight<64, #haqa.quant<f32>>
  %n = haqa.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : tensor<?x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<?x64xf32>
  %wg = haqa.weight "gate" : !haqa.weight<32x64, #haqa.quant<f16>>
  %wu = haqa.weight "up" : !haqa.weight<32x64, #haqa.quant<f16>>
  %gate = haqa.matmul %n, %wg : tensor<?x64xf32>, !haqa.weight<32x64, #haqa.quant<f16>> -> tensor<?x32xf32>
  %up = haqa.matmul %n, %wu {schedule = #haqa.schedule<dot = fma, isa = avx2, micro = [4, 4], fuse = [norm, swiglu, residual]>} : tensor<?x64xf32>, !haqa.weight<32x64, #haqa.quant<f16>> -> tensor<?x32xf32>
  %act = haqa.swiglu %gate, %up : tensor<?x32xf32>
  %y = haqa.add %r, %act : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Nothing to fuse: the result has two users (no epilogue), the input is no
// rms_norm, the matmul is the swiglu's gate (not its up branch), or the
// schedule has no fuse.
// CHECK-LABEL: func.func @kept(
// CHECK: haqa.matmul %{{[^ ]*}}, %{{[^ ]*}} {schedule
// CHECK: haqa.add
// CHECK: haqa.add
// CHECK-COUNT-2: haqa.matmul %{{[^ ]*}}, %{{[^ ]*}} {schedule
// CHECK: haqa.swiglu
func.func @kept(%x: tensor<1x64xf32>) -> (tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xf32>) {
  %w = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  %a = haqa.matmul %x, %w {schedule = #haqa.schedule<dot = i8, fuse = [norm, residual]>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  %b = haqa.add %a, %x : tensor<1x64xf32>
  %c = haqa.add %a, %b : tensor<1x64xf32>
  %g = haqa.matmul %x, %w {schedule = #haqa.schedule<dot = i8, fuse = [swiglu]>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  %u = haqa.matmul %x, %w {schedule = #haqa.schedule<dot = i8>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  %s = haqa.swiglu %g, %u : tensor<1x64xf32>
  return %c, %s, %b : tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xf32>
}

// -----

// A biased matmul (Qwen2's q / k / v) takes in its rms_norm but no epilogue:
// the bias comes before gate and residual (matmul_c8), so the add stays.
// CHECK-LABEL: func.func @biased(
// CHECK: %[[Y:.+]] = haqa.matmul %{{[^ ]*}}, %{{[^ ]*}} bias(%{{.*}} : !haqa.weight<64, #haqa.quant<f32>>) norm(%{{.*}} : !haqa.weight<64, #haqa.quant<f32>>) epsilon = 9.99999974E-6
// CHECK: haqa.add %[[Y]], %{{.*}}
func.func @biased(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %g = haqa.weight "g" : !haqa.weight<64, #haqa.quant<f32>>
  %w = haqa.weight "w" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  %b = haqa.weight "b" : !haqa.weight<64, #haqa.quant<f32>>
  %h = haqa.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : tensor<1x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<1x64xf32>
  %y = haqa.matmul %h, %w bias(%b : !haqa.weight<64, #haqa.quant<f32>>) {schedule = #haqa.schedule<dot = i8, fuse = [norm, swiglu, residual]>} : tensor<1x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<1x64xf32>
  %r = haqa.add %y, %x : tensor<1x64xf32>
  return %r : tensor<1x64xf32>
}
