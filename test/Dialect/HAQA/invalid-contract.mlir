// RUN: haqa-opt %s -split-input-file -verify-diagnostics

// The discardable attributes of convert-haqa-to-linalg's contract
// (Contract.h) are checked wherever they appear.

// contract_c1
func.func @matmul_part_string(%a: f32) -> f32 {
  // expected-error@+1 {{'arith.addf' op expected haqa.matmul_part to be a #haqa<matmul_part partial_sums|lane_sum>, got "lane_sum"}}
  %0 = arith.addf %a, %a {haqa.matmul_part = "lane_sum"} : f32
  return %0 : f32
}

// -----

// An unknown part does not parse.
func.func @matmul_part_unknown(%a: f32) -> f32 {
  // expected-error@+2 {{expected ::mlir::haqa::MatmulPart to be one of: partial_sums, lane_sum}}
  // expected-error@+1 {{failed to parse HAQA_MatmulPartAttr parameter 'value'}}
  %0 = arith.addf %a, %a {haqa.matmul_part = #haqa<matmul_part sums>} : f32
  return %0 : f32
}

// -----

// contract_c1
func.func @loop_dims_array(%a: f32) -> f32 {
  // expected-error@+1 {{'arith.addf' op expected haqa.loop_dims to be an array<i64>, got [0, 1]}}
  %0 = arith.addf %a, %a {haqa.loop_dims = [0, 1]} : f32
  return %0 : f32
}

// -----

// contract_c1
func.func @kernel_name(%a: f32) -> f32 {
  // expected-error@+1 {{'arith.addf' op expected haqa.kernel to be a string, got 3 : i64}}
  %0 = arith.addf %a, %a {haqa.kernel = 3} : f32
  return %0 : f32
}

// -----

// contract_c1
func.func @schedule_kind(%a: f32) -> f32 {
  // expected-error@+1 {{'arith.addf' op expected haqa.schedule to be a #haqa.schedule, got "fast"}}
  %0 = arith.addf %a, %a {haqa.schedule = "fast"} : f32
  return %0 : f32
}

// -----

// Other haqa.* attributes are left to the passes that read them.
func.func @other(%a: f32) -> f32 {
  %0 = arith.addf %a, %a {haqa.threads = 3, haqa.matmul_part = #haqa<matmul_part lane_sum>} : f32
  return %0 : f32
}
