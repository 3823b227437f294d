//===- GGUFWriter.h - write GGUF v3 files -----------------------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// HAQA keeps a module's weights in a GGUF file beside the .mlir: a real,
// documented container that llama.cpp's tools and the gguf Python package
// read too. This writer produces GGUF v3 with 32-byte alignment.
//
//===----------------------------------------------------------------------===//

#ifndef HAQA_WEIGHTS_GGUFWRITER_H
#define HAQA_WEIGHTS_GGUFWRITER_H

#include "haqa/Weights/GGUF.h"

namespace mlir::haqa {

class GGUFWriter {
public:
  void addMetadata(llvm::StringRef key, GGUFValue value);
  void addString(llvm::StringRef key, llvm::StringRef value);
  void addUInt32(llvm::StringRef key, uint32_t value);
  void addFloat32(llvm::StringRef key, float value);

  /// Adds a tensor of row-major `shape` whose bytes are `data` (viewed, not
  /// copied: it must outlive write()).
  void addTensorView(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                     uint32_t ggmlType, llvm::ArrayRef<uint8_t> data);
  /// Same, taking ownership of the bytes.
  void addTensor(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                 uint32_t ggmlType, std::vector<uint8_t> data);

  llvm::Error write(llvm::StringRef path) const;

private:
  struct Tensor {
    std::string name;
    llvm::SmallVector<int64_t, 4> shape;
    uint32_t type;
    /// Owned bytes, or (when empty) a view of someone else's. The view is
    /// never taken of `owned`: the vector of tensors may copy it.
    std::vector<uint8_t> owned;
    llvm::ArrayRef<uint8_t> view;
    llvm::ArrayRef<uint8_t> bytes() const {
      return owned.empty() ? view : llvm::ArrayRef<uint8_t>(owned);
    }
  };
  std::vector<std::pair<std::string, GGUFValue>> metadata;
  std::vector<Tensor> tensors;
};

} // namespace mlir::haqa

#endif // HAQA_WEIGHTS_GGUFWRITER_H
