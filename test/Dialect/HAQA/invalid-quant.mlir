// RUN: haqa-opt %s -split-input-file -verify-diagnostics

// quant_c1
// expected-error@+1 {{plain f16 storage takes no group, scale, zero or layout}}
func.func private @plain_with_group() attributes {quant = #haqa.quant<f16, group = 32>}

// -----

// quant_c2
// expected-error@+1 {{expected a positive group size for i8 storage, got 0}}
func.func private @no_group() attributes {quant = #haqa.quant<i8>}

// -----

// quant_c2
// expected-error@+1 {{expected a positive group size for i4 storage, got -32}}
func.func private @negative_group() attributes {quant = #haqa.quant<i4, group = -32>}

// -----

// quant_c3
// expected-error@+1 {{expected scale type f16, bf16 or f32, got 'i32'}}
func.func private @int_scale() attributes {quant = #haqa.quant<i8, group = 32, scale = i32>}

// -----

// quant_c4
// expected-error@+1 {{expected an even group size for i4 storage (two values per byte), got 3}}
func.func private @odd_i4_group() attributes {quant = #haqa.quant<i4, group = 3>}

// -----

// quant_c5
// expected-error@+1 {{gguf layout needs group = 32 and scale = f16, got group = 64 and scale = 'f16'}}
func.func private @gguf_group() attributes {quant = #haqa.quant<i8, group = 64, layout = gguf>}

// -----

// quant_c5
// expected-error@+1 {{gguf layout needs group = 32 and scale = f16, got group = 32 and scale = 'f32'}}
func.func private @gguf_scale() attributes {quant = #haqa.quant<i4, group = 32, scale = f32, layout = gguf>}

// -----

// quant_c5
// expected-error@+1 {{gguf has no i8 block with zero = min}}
func.func private @gguf_q8_1() attributes {quant = #haqa.quant<i8, group = 32, zero = min, layout = gguf>}

// -----

// quant_c5
// expected-error@+1 {{gguf has no i4 block with zero = zero_point}}
func.func private @gguf_zp() attributes {quant = #haqa.quant<i4, group = 32, zero = zero_point, layout = gguf>}

// -----

// expected-error@+1 {{expected f32, f16, bf16, i8, i6, i4, q8_0, q4_0, q4_1, q4_k or q6_k, got 'q5_0'}}
func.func private @unknown_kind() attributes {quant = #haqa.quant<q5_0>}

// -----

// expected-error@+1 {{unknown quant field 'bits' (expected group, scale, zero or layout)}}
func.func private @unknown_field() attributes {quant = #haqa.quant<i8, bits = 8>}

// -----

// expected-error@+1 {{duplicate quant field 'group'}}
func.func private @duplicate_field() attributes {quant = #haqa.quant<i8, group = 32, group = 64>}

// -----

// expected-error@+1 {{expected zero = none, zero_point or min, got 'max'}}
func.func private @bad_zero() attributes {quant = #haqa.quant<i8, group = 32, zero = max>}

// -----

// expected-error@+1 {{expected layout = gguf, gguf_k or planar, got 'tiled'}}
func.func private @bad_layout() attributes {quant = #haqa.quant<i8, group = 32, layout = tiled>}

// -----

// quant_c6
// expected-error@+1 {{gguf_k layout exists only as Q4_K (i4, group = 32, scale = f16, zero = min) and Q6_K (i6, group = 16, scale = f16, zero = none)}}
func.func private @gguf_k_q8() attributes {quant = #haqa.quant<i8, group = 32, layout = gguf_k>}

// -----

// quant_c6
// expected-error@+1 {{gguf_k layout exists only as Q4_K}}
func.func private @gguf_k_group() attributes {quant = #haqa.quant<i4, group = 16, zero = min, layout = gguf_k>}

// -----

// quant_c6
// expected-error@+1 {{gguf_k layout exists only as Q4_K}}
func.func private @gguf_k_scale() attributes {quant = #haqa.quant<i6, group = 16, scale = f32, layout = gguf_k>}

// -----

// quant_c7
// expected-error@+1 {{i6 storage exists only as Q6_K (layout = gguf_k)}}
func.func private @i6_planar() attributes {quant = #haqa.quant<i6, group = 16>}

// -----

// quant_c5
// expected-error@+1 {{gguf has no i6 block with zero = none}}
func.func private @i6_gguf() attributes {quant = #haqa.quant<i6, group = 32, layout = gguf>}
