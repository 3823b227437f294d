//===- WeightStore.h - the weights of a module, by name ---------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// A module refers to its weights by name (`haqa.weight "blk.0.attn_q.weight"`)
// and says their storage in the type. A WeightStore holds the tensors (a
// GGUF weights file, memory-mapped, or tensors added in memory) and hands out
// what each reader needs: the reference executor the values, a compiled
// model the bytes in the module's storage. When the module's storage is not
// the stored one (after --haqa-quantize), the bytes are quantized in memory
// from the stored values, round-to-nearest, as llama-import --bits would
// write them: one import serves every precision.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_WEIGHTSTORE_H
#define HAQA_WEIGHTS_WEIGHTSTORE_H

#include "haqa/Dialect/HAQA/IR/HAQA.h"
#include "haqa/Weights/GGUF.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mlir::haqa {

class WeightStore {
public:
  /// The tensors of the GGUF file at `path` (read when asked for).
  static llvm::Expected<std::unique_ptr<WeightStore>>
  open(llvm::StringRef path);
  /// An empty store: tensors come from add().
  WeightStore();
  ~WeightStore();

  /// Adds (or replaces) a tensor held in memory: `bytes` of ggml type
  /// `ggmlType`, row-major `shape` (a planar storage: GGMLType::I8 and the
  /// shape {bytes}). Forgets the values and bytes handed out before.
  void add(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
           uint32_t ggmlType, std::vector<uint8_t> bytes);

  /// The values of `name` in `type`'s storage: the stored values, quantized
  /// into `type`'s storage first when that is not the stored one. Kept until
  /// the store goes.
  llvm::Expected<const std::vector<float> *> getValues(llvm::StringRef name,
                                                       WeightType type);
  /// The bytes of `name` in `type`'s storage: the stored bytes when they
  /// already are (a view, no copy), else quantized in memory from the stored
  /// values (kept until the store goes). The shape must match.
  llvm::Expected<llvm::ArrayRef<uint8_t>> getBytes(llvm::StringRef name,
                                                   WeightType type);

  /// Whether the store holds `name` exactly in `type`'s storage (getBytes
  /// then hands out the stored bytes, converting nothing).
  bool isStoredAs(llvm::StringRef name, WeightType type);

  /// The GGUF file behind the store (its metadata carries the tokenizer), or
  /// null for a store filled in memory.
  const GGUFFile *getFile() const { return file.get(); }
  /// The file's name, or "in-memory weights": what errors start with.
  llvm::StringRef getName() const { return name; }

private:
  struct Tensor {
    llvm::SmallVector<int64_t, 4> shape;
    uint32_t ggmlType = 0;
    llvm::ArrayRef<uint8_t> bytes;
    std::vector<uint8_t> owned;
  };
  llvm::Error error(const llvm::Twine &what) const;
  /// The stored tensor `name` checked against `type` (shape; planar bytes).
  llvm::Expected<const Tensor *> find(llvm::StringRef name, WeightType type);
  /// Cache key of a tensor in a storage.
  static std::string key(llvm::StringRef name, QuantAttr quant);

  std::unique_ptr<GGUFFile> file;
  std::string name = "in-memory weights";
  llvm::StringMap<Tensor> tensors;
  llvm::StringMap<std::vector<float>> values;
  llvm::StringMap<std::vector<uint8_t>> converted;
  /// getValues / getBytes may be called from several threads.
  std::mutex mutex;
};

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_WEIGHTSTORE_H
