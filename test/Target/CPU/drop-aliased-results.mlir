// RUN: haqa-opt %s --haqa-cpu-drop-aliased-results --split-input-file | FileCheck %s

// A cache updated in place comes back as the argument itself, directly or
// through loops that carry it unchanged: no result, its argument recorded.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[C:.*]]: memref<8xf32>, %[[X:.*]]: memref<1xf32>, %[[N:.*]]: index) -> memref<1xf32>
// CHECK-SAME: attributes {haqa.aliased_results = array<i64: 0, 0>}
// CHECK: %[[Y:.*]] = memref.alloc
// CHECK: return %[[Y]] : memref<1xf32>
func.func @step(%cache: memref<8xf32>, %x: memref<1xf32>, %n: index) -> (memref<1xf32>, memref<8xf32>, memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %y = memref.alloc() : memref<1xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %cache) -> (memref<8xf32>) {
    %v = memref.load %x[%c0] : memref<1xf32>
    memref.store %v, %acc[%i] : memref<8xf32>
    scf.yield %acc : memref<8xf32>
  }
  return %y, %cache, %r : memref<1xf32>, memref<8xf32>, memref<8xf32>
}

// -----

// A fresh buffer, or a loop that yields another buffer, stays a result.
// CHECK-LABEL: func.func @fresh(
// CHECK-SAME: -> (memref<8xf32>, memref<8xf32>)
// CHECK-NOT: haqa.aliased_results
func.func @fresh(%cache: memref<8xf32>, %n: index) -> (memref<8xf32>, memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc() : memref<8xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %cache) -> (memref<8xf32>) {
    scf.yield %a : memref<8xf32>
  }
  return %a, %r : memref<8xf32>, memref<8xf32>
}

// -----

// An outlined kernel computing into its destination through nested tile
// loops: the result goes, and its caller uses the destination it passed.
// CHECK-LABEL: func.func private @kernel(
// CHECK-SAME: %[[D:.*]]: memref<4x8xf32>) {
// CHECK-NOT: haqa.aliased_results
// CHECK: return{{$}}
// CHECK-LABEL: func.func @caller(
// CHECK: %[[DEST:.*]] = memref.alloc() : memref<4x8xf32>
// CHECK: call @kernel(%[[DEST]]) {haqa.note = "kept"} : (memref<4x8xf32>) -> ()
// CHECK: return %[[DEST]] : memref<4x8xf32>
func.func private @kernel(%d: memref<4x8xf32>) -> memref<4x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%a = %d) -> (memref<4x8xf32>) {
    %s = scf.for %j = %c0 to %c8 step %c1 iter_args(%b = %a) -> (memref<4x8xf32>) {
      memref.store %f, %b[%i, %j] : memref<4x8xf32>
      scf.yield %b : memref<4x8xf32>
    }
    scf.yield %s : memref<4x8xf32>
  }
  return %r : memref<4x8xf32>
}
func.func @caller() -> memref<4x8xf32> {
  %dest = memref.alloc() : memref<4x8xf32>
  %r = call @kernel(%dest) {haqa.note = "kept"} : (memref<4x8xf32>) -> memref<4x8xf32>
  return %r : memref<4x8xf32>
}
