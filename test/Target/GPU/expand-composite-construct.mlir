// A vector built from run-time scalars becomes an undef and one insert per
// element (llvm-spirv-15, PoCL's route, crashes on OpCompositeConstruct of
// non-constants); vectors of constants stay as they are.
// RUN: haqa-opt %s --pass-pipeline='builtin.module(spirv.module(haqa-spirv-expand-composite-construct))' | FileCheck %s

// CHECK-LABEL: spirv.func @splat
// CHECK: %[[U:.*]] = spirv.Undef : vector<4xf32>
// CHECK: %[[V0:.*]] = spirv.CompositeInsert %arg0, %[[U]][0 : i32]
// CHECK: %[[V1:.*]] = spirv.CompositeInsert %arg0, %[[V0]][1 : i32]
// CHECK: %[[V2:.*]] = spirv.CompositeInsert %arg1, %[[V1]][2 : i32]
// CHECK: %[[V3:.*]] = spirv.CompositeInsert %arg1, %[[V2]][3 : i32]
// CHECK: spirv.ReturnValue %[[V3]]
// CHECK-LABEL: spirv.func @constants
// CHECK: spirv.CompositeConstruct
spirv.module Physical64 OpenCL requires #spirv.vce<v1.0, [Kernel, Addresses, Int64], []> {
  spirv.func @splat(%a: f32, %b: f32) -> vector<4xf32> "None" {
    %v = spirv.CompositeConstruct %a, %a, %b, %b : (f32, f32, f32, f32) -> vector<4xf32>
    spirv.ReturnValue %v : vector<4xf32>
  }
  spirv.func @constants() -> vector<2xf32> "None" {
    %c = spirv.Constant 1.0 : f32
    %v = spirv.CompositeConstruct %c, %c : (f32, f32) -> vector<2xf32>
    spirv.ReturnValue %v : vector<2xf32>
  }
}
