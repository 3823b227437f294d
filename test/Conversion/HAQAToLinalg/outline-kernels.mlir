// RUN: haqa-opt %s --convert-haqa-to-linalg=outline-kernels=true | FileCheck %s

// Two layers' identical rms_norm + matmul pairs share one private function
// per kernel; each call passes its own weight bytes and a destination the
// kernel computes into: the last op's init is the destination argument (no
// empty tensor, no materialize_in_destination, so no copy once bufferized).
// The differently shaped matmul gets a function of its own.

// CHECK-LABEL: func.func @layers(
// CHECK-SAME: %[[X:.*]]: tensor<?x64xf32>, %[[N0:.*]]: memref<256xi8> {haqa.weight = "n0"}, %[[W0:.*]]: memref<4352xi8> {haqa.weight = "w0"}, %[[N1:.*]]: memref<256xi8> {haqa.weight = "n1"}, %[[W1:.*]]: memref<4352xi8> {haqa.weight = "w1"}, %[[OUT:.*]]: memref<2176xi8> {haqa.weight = "out"}
// CHECK: %[[D0:.*]] = bufferization.alloc_tensor(%{{.*}}) : tensor<?x64xf32>
// CHECK: %[[A:.*]] = call @rms_norm_kernel(%[[X]], %[[N0]], %[[D0]])
// CHECK: %[[B:.*]] = call @matmul_kernel(%[[A]], %[[W0]], %{{.*}})
// CHECK: %[[C:.*]] = call @rms_norm_kernel(%[[B]], %[[N1]], %{{.*}})
// CHECK: %[[D:.*]] = call @matmul_kernel(%[[C]], %[[W1]], %{{.*}})
// CHECK: call @matmul_kernel_0(%[[D]], %[[OUT]], %{{.*}}) : (tensor<?x64xf32>, memref<2176xi8>, tensor<?x32xf32>) -> tensor<?x32xf32>

// CHECK: func.func private @rms_norm_kernel(%{{.*}}: tensor<?x64xf32>, %{{.*}}: memref<256xi8>, %[[DEST:.*]]: tensor<?x64xf32>) -> tensor<?x64xf32>
// CHECK: linalg.generic {{.*}}haqa.kernel = "rms_norm"
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} outs(%[[DEST]] : tensor<?x64xf32>) {{.*}}haqa.kernel = "rms_norm"
// CHECK-NOT: materialize_in_destination
// CHECK: return %[[Y]]
// CHECK: func.func private @matmul_kernel(
// CHECK: func.func private @matmul_kernel_0(
func.func @layers(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %n0 = haqa.weight "n0" : !haqa.weight<64, #haqa.quant<f32>>
  %w0 = haqa.weight "w0" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  %n1 = haqa.weight "n1" : !haqa.weight<64, #haqa.quant<f32>>
  %w1 = haqa.weight "w1" : !haqa.weight<64x64, #haqa.quant<q8_0>>
  %o = haqa.weight "out" : !haqa.weight<32x64, #haqa.quant<q8_0>>
  %a = haqa.rms_norm %x, %n0 {epsilon = 1.0e-5 : f32} : tensor<?x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<?x64xf32>
  %b = haqa.matmul %a, %w0 : tensor<?x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<?x64xf32>
  %c = haqa.rms_norm %b, %n1 {epsilon = 1.0e-5 : f32} : tensor<?x64xf32>, !haqa.weight<64, #haqa.quant<f32>> -> tensor<?x64xf32>
  %d = haqa.matmul %c, %w1 : tensor<?x64xf32>, !haqa.weight<64x64, #haqa.quant<q8_0>> -> tensor<?x64xf32>
  %e = haqa.matmul %d, %o : tensor<?x64xf32>, !haqa.weight<32x64, #haqa.quant<q8_0>> -> tensor<?x32xf32>
  return %e : tensor<?x32xf32>
}
