//===- ReaderLimits.h - bounds on what a model file may claim ---*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// The one list of bounds the model readers (GGUF, safetensors, config.json,
// the Llama importer) enforce on counts and sizes read from a file before
// anything is allocated from them. Most bounds are what the file can hold
// (an array cannot be longer than the bytes left, a tensor cannot have more
// values than its bytes store); the constants here are the rest, each with
// its reason. docs/import.md ("Bounds on file contents") lists them all.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_READERLIMITS_H
#define HAQA_WEIGHTS_READERLIMITS_H

#include <cstdint>

namespace mlir::haqa {

/// GGUF tensor dimensions (ggml's GGML_MAX_DIMS).
inline constexpr uint32_t kMaxTensorDims = 4;
/// GGUF tensor names: llama.cpp rejects names of 64 bytes or more
/// (GGML_MAX_NAME).
inline constexpr uint64_t kMaxTensorNameLength = 63;
/// GGUF metadata keys: the format has no limit, real keys are short.
inline constexpr uint64_t kMaxMetadataKeyLength = 1 << 16;
/// Values a byte of tensor data can hold: no ggml type stores a value in less
/// than one bit (the densest HAQA reads, Q2_K, takes 2.6), so a dimension or
/// element count above 8 x the file's size cannot be in the file.
inline constexpr uint64_t kMaxValuesPerByte = 8;
/// Tensors of one Llama layer (two norms, q, k, v, output, gate, up, down):
/// a model cannot have more layers than its tensors / 9.
inline constexpr uint64_t kTensorsPerLayer = 9;
/// Layers of a model imported from its configuration alone (--shapes-only),
/// where no tensor bounds them; released Llama-family models have under 200.
inline constexpr int64_t kMaxShapesOnlyLayers = 1 << 16;
/// Values of one tensor of such a model (the largest released tensor, a
/// 256K-token embedding of dimension 16K, has 2^32): with the layer bound,
/// the bytes of all weights stay far below 2^63.
inline constexpr uint64_t kMaxShapesOnlyValues = uint64_t(1) << 40;
/// Every other size a configuration gives (embedding length, head counts,
/// feed-forward length, vocabulary size): each is then checked against the
/// tensors present.
inline constexpr int64_t kMaxConfigSize = int64_t(1) << 32;
/// Context length (the KV cache rows a module may ask for): nothing in a file
/// bounds it; 2^24 is above every released model's (10M tokens).
inline constexpr int64_t kMaxContextLength = int64_t(1) << 24;

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_READERLIMITS_H
