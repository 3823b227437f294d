// Each #haqa.schedule field and the loops it produces on the host CPU.
// RUN: haqa-opt %s --convert-haqa-to-linalg --haqa-cpu-apply-schedule --canonicalize --split-input-file --verify-diagnostics | FileCheck %s

// tile: one scf.for per tiled dimension, stepping by its tile size.
// CHECK-LABEL: func.func @tile(
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C2]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C256]]
// CHECK: linalg.generic {{.*}}ins({{.*}} : tensor<2x256xf32>)
func.func @tile(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [2, 256]>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// order: the same tiles with the nest interchanged (columns outermost).
// CHECK-LABEL: func.func @order(
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C256]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C2]]
func.func @order(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [2, 256], order = [1, 0]>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// cpu_threads: the outermost parallel dimension split over the threads.
// CHECK-LABEL: func.func @cpu_threads(
// CHECK: scf.forall (%{{.*}}) in (2)
// CHECK: linalg.generic {{.*}}ins({{.*}} : tensor<2x1024xf32>)
// CHECK: scf.forall.in_parallel
func.func @cpu_threads(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<cpu_threads = 2>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// vector: the innermost loop in 8-lane pieces, each one vector op.
// CHECK-LABEL: func.func @vector(
// CHECK: scf.for %{{.*}} step %c8
// CHECK: vector.transfer_read {{.*}} : tensor<1x8xf32>, vector<1x8xf32>
// CHECK: math.exp %{{.*}} : vector<1x8xf32>
// CHECK: vector.transfer_write
// CHECK-NOT: linalg.generic
func.func @vector(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<vector = 8>} : tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// vector on a reduction along the innermost loop: 8 lanes accumulate apart
// in a vector the piece loop carries (no reduction per piece), then one
// 8-to-1 reduction after the loop.
// CHECK-LABEL: func.func @vector_reduction(
// CHECK: %[[NEG:.*]] = arith.constant dense<0xFF800000> : vector<1x1x8xf32>
// CHECK: scf.for %{{.*}} step %c1 iter_args
// CHECK: %[[LANES:.*]] = scf.for %{{.*}} step %c8 iter_args(%[[ACC:.*]] = %[[NEG]]) -> (vector<1x1x8xf32>)
// CHECK-NOT: vector.multi_reduction
// CHECK: arith.maximumf %{{.*}}, %[[ACC]] : vector<1x1x8xf32>
// CHECK: scf.yield %{{.*}} : vector<1x1x8xf32>
// CHECK: vector.multi_reduction <maximumf>, %[[LANES]], %{{.*}} [2] : vector<1x1x8xf32> to vector<1x1xf32>
func.func @vector_reduction(%x: tensor<1x4x64xf32>) -> tensor<1x4x64xf32> {
  %y = haqa.softmax %x {schedule = #haqa.schedule<vector = 8>} : tensor<1x4x64xf32>
  return %y : tensor<1x4x64xf32>
}

// -----

// unroll: the innermost loop's body repeated 4 times, its step 4x larger.
// CHECK-LABEL: func.func @unroll(
// CHECK: scf.for %{{.*}} step %c64
// CHECK-COUNT-4: math.exp %{{.*}} : vector<1x16xf32>
// CHECK-NOT: math.exp
func.func @unroll(%x: tensor<1x256xf32>) -> tensor<1x256xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<vector = 16, unroll = 4>} : tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}

// -----

// prefetch: in the loop over K blocks (tiles of 64 values = 2 blocks), the
// Q8_0 quants and scales two tiles (4 blocks) ahead.
// CHECK-LABEL: func.func @prefetch(
// CHECK: %[[QS:.*]] = memref.reinterpret_cast %{{.*}} to offset: [2], sizes: [64, 8, 2, 16]
// CHECK: %[[DS:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [64, 8]
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c8 iter_args
// CHECK: scf.for %[[IV:.*]] = %{{.*}} to %{{.*}} step %c2 iter_args
// CHECK: %[[AHEAD:.*]] = arith.addi %[[IV]], %c4 : index
// CHECK: memref.prefetch %[[QS]][%{{.*}}, %[[AHEAD]], %{{.*}}, %{{.*}}], read, locality<3>, data
// CHECK: memref.prefetch %[[DS]][%{{.*}}, %[[AHEAD]]], read, locality<3>, data
func.func @prefetch(%x: tensor<2x256xf32>) -> tensor<2x64xf32> {
  %w = haqa.weight "w" : !haqa.weight<64x256, #haqa.quant<q8_0>>
  %y = haqa.matmul %x, %w {schedule = #haqa.schedule<tile = [1, 8, 64], prefetch = 2>} : tensor<2x256xf32>, !haqa.weight<64x256, #haqa.quant<q8_0>> -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

// placement and layout have no CPU meaning beyond the defaults yet: said,
// not silently dropped.
func.func @placement(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  // expected-remark @below {{placement other than global has no CPU lowering yet; ignored}}
  %y = haqa.silu %x {schedule = #haqa.schedule<placement = [shared, global]>} : tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// exp = libm: math.exp stays (expf calls after lowering, one element at a
// time even in a vectorized loop).
// CHECK-LABEL: func.func @exp_libm(
// CHECK: math.exp %{{.*}} : vector<1x16xf32>
func.func @exp_libm(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 1024], vector = 16, exp = libm>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// exp = poly: MLIR's polynomial approximation (range reduction by ln 2, a
// polynomial in fma, the exponent built with shifts), vectorized with the body.
// CHECK-LABEL: func.func @exp_poly(
// CHECK-NOT: math.exp
// CHECK: math.fma %{{.*}} : vector<1x16xf32>
// CHECK: arith.shli %{{.*}} : vector<1x16xi32>
// CHECK-NOT: math.exp
func.func @exp_poly(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 1024], vector = 16, exp = poly>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// exp = fast: HAQA's shorter exp (FastExp.cpp): the argument clamped, n =
// roundeven(x log2 e), two FMAs for x - n ln2, six for the polynomial, n
// added to the exponent bits, 0 below the clamp, NaN passed through;
// vectorized with the body.
// CHECK-LABEL: func.func @exp_fast(
// CHECK-NOT: math.exp
// CHECK: arith.maxnumf %{{.*}} : vector<1x16xf32>
// CHECK: arith.minnumf %{{.*}} : vector<1x16xf32>
// CHECK: math.roundeven %{{.*}} : vector<1x16xf32>
// CHECK-COUNT-8: math.fma %{{.*}} : vector<1x16xf32>
// CHECK: arith.fptosi %{{.*}} : vector<1x16xf32> to vector<1x16xi32>
// CHECK: arith.shli %{{.*}} : vector<1x16xi32>
// CHECK: arith.addi %{{.*}} : vector<1x16xi32>
// CHECK: arith.cmpf olt
// CHECK: arith.select
// CHECK: arith.cmpf uno
// CHECK: arith.select
// CHECK-NOT: math.exp
func.func @exp_fast(%x: tensor<4x1024xf32>) -> tensor<4x1024xf32> {
  %y = haqa.silu %x {schedule = #haqa.schedule<tile = [1, 1024], vector = 16, exp = fast>} : tensor<4x1024xf32>
  return %y : tensor<4x1024xf32>
}

// -----

// exp = fast on a rope: no exp in it; its sines and cosines as exp = poly.
// CHECK-LABEL: func.func @rope_fast(
// CHECK-NOT: math.sin
// CHECK-NOT: math.cos
// CHECK: vector.gather {{.*}} into vector<1x1x16xf32>
func.func @rope_fast(%x: tensor<2x1x64xf32>, %pos: tensor<2xi32>) -> tensor<2x1x64xf32> {
  %y = haqa.rope %x, %pos {theta = 1.0e+04 : f32, schedule = #haqa.schedule<vector = 16, exp = fast>} : tensor<2x1x64xf32>, tensor<2xi32> -> tensor<2x1x64xf32>
  return %y : tensor<2x1x64xf32>
}

// -----

// exp = poly on a rope: its sines and cosines are polynomials too, and the
// pair partner (an N-d tensor.extract of the activation) a gather, so the
// whole body is vector code.
// CHECK-LABEL: func.func @rope_poly(
// CHECK-NOT: math.sin
// CHECK-NOT: math.cos
// CHECK: vector.gather {{.*}} into vector<1x1x16xf32>
// CHECK-NOT: math.sin
// CHECK-NOT: math.cos
func.func @rope_poly(%x: tensor<2x1x64xf32>, %pos: tensor<2xi32>) -> tensor<2x1x64xf32> {
  %y = haqa.rope %x, %pos {theta = 1.0e+04 : f32, schedule = #haqa.schedule<vector = 16, exp = poly>} : tensor<2x1x64xf32>, tensor<2xi32> -> tensor<2x1x64xf32>
  return %y : tensor<2x1x64xf32>
}

// -----

// exp = libm on a rope: sin and cos stay math ops (sinf / cosf calls).
// CHECK-LABEL: func.func @rope_libm(
// CHECK: math.cos
// CHECK: math.sin
func.func @rope_libm(%x: tensor<2x1x64xf32>, %pos: tensor<2xi32>) -> tensor<2x1x64xf32> {
  %y = haqa.rope %x, %pos {theta = 1.0e+04 : f32, schedule = #haqa.schedule<vector = 16, exp = libm>} : tensor<2x1x64xf32>, tensor<2xi32> -> tensor<2x1x64xf32>
  return %y : tensor<2x1x64xf32>
}
