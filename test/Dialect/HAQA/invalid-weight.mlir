// RUN: haqa-opt %s -split-input-file -verify-diagnostics

// weight_c1
// expected-error@+1 {{expected a 1-d or 2-d weight, got rank 3}}
func.func private @rank3() -> !haqa.weight<2x8x64, #haqa.quant<f32>>

// -----

// weight_c2
// expected-error@+1 {{expected positive weight dimensions, got 0}}
func.func private @zero_dim() -> !haqa.weight<0x64, #haqa.quant<f32>>

// -----

// weight_c3
// expected-error@+1 {{expected group size to divide the innermost dimension (48), got 32}}
func.func private @group_does_not_divide() -> !haqa.weight<8x48, #haqa.quant<q8_0>>

// -----

// expected-error@+1 {{expected static shape}}
func.func private @dynamic() -> !haqa.weight<?x64, #haqa.quant<f32>>

// -----

// weight_c4
// expected-error@+1 {{expected the innermost dimension (96) to be a multiple of 256 for q4_k super-blocks}}
func.func private @kquant_row() -> !haqa.weight<8x96, #haqa.quant<q4_k>>
