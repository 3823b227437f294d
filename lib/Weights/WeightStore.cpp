//===- WeightStore.cpp - the weights of a module, by name ----------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/WeightStore.h"
#include "haqa/Weights/Codecs.h"

using namespace mlir;
using namespace mlir::haqa;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

WeightStore::WeightStore() = default;
WeightStore::~WeightStore() = default;

Expected<std::unique_ptr<WeightStore>> WeightStore::open(StringRef path) {
  auto file = GGUFFile::open(path);
  if (!file)
    return file.takeError();
  auto store = std::make_unique<WeightStore>();
  store->name = (*file)->getName().str();
  for (const GGUFTensorInfo &info : (*file)->getTensors()) {
    Tensor &t = store->tensors[info.name];
    t.shape = info.shape();
    t.ggmlType = info.type;
    t.bytes = (*file)->getTensorData(info);
  }
  store->file = std::move(*file);
  return std::move(store);
}

void WeightStore::add(StringRef tensorName, llvm::ArrayRef<int64_t> shape,
                      uint32_t ggmlType, std::vector<uint8_t> bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  Tensor &t = tensors[tensorName];
  t.shape.assign(shape.begin(), shape.end());
  t.ggmlType = ggmlType;
  t.owned = std::move(bytes);
  t.bytes = t.owned;
  // Anything derived from an earlier tensor of that name is stale.
  values.clear();
  converted.clear();
}

Error WeightStore::error(const llvm::Twine &what) const {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ": " + what);
}

std::string WeightStore::key(StringRef tensorName, QuantAttr quant) {
  std::string k = tensorName.str() + "\n";
  llvm::raw_string_ostream os(k);
  os << Attribute(quant);
  return k;
}

Expected<const WeightStore::Tensor *> WeightStore::find(StringRef tensorName,
                                                        WeightType type) {
  auto it = tensors.find(tensorName);
  if (it == tensors.end())
    return error("tensor '" + tensorName + "' is missing");
  const Tensor &t = it->second;
  if (t.ggmlType == static_cast<uint32_t>(GGMLType::I8)) {
    // Planar bytes written by llama-import: read as the module says.
    QuantAttr quant = type.getQuant();
    if (quant.getLayout() != StorageLayout::planar || !quant.isQuantized() ||
        t.bytes.size() != type.getStorageBytes())
      return error("tensor '" + tensorName +
                   "': " + llvm::Twine(t.bytes.size()) +
                   " raw bytes do not hold the module's storage");
    return &t;
  }
  if (llvm::ArrayRef<int64_t>(t.shape) != type.getShape())
    return error("tensor '" + tensorName +
                 "': shape does not match the module's weight type");
  return &t;
}

/// Whether a tensor of `ggmlType` holds exactly the bytes of `type`'s
/// storage.
static bool storedAs(uint32_t ggmlType, WeightType type) {
  return getGGUFTensorLayout(type).ggmlType == ggmlType;
}

bool WeightStore::isStoredAs(StringRef tensorName, WeightType type) {
  std::lock_guard<std::mutex> lock(mutex);
  auto t = find(tensorName, type);
  if (!t) {
    llvm::consumeError(t.takeError());
    return false;
  }
  return storedAs((*t)->ggmlType, type);
}

Expected<const std::vector<float> *>
WeightStore::getValues(StringRef tensorName, WeightType type) {
  std::lock_guard<std::mutex> lock(mutex);
  QuantAttr quant = type.getQuant();
  std::string k = key(tensorName, quant);
  if (auto it = values.find(k); it != values.end())
    return &it->second;
  auto t = find(tensorName, type);
  if (!t)
    return t.takeError();
  std::vector<float> v(type.getNumElements());
  auto fail = [&](Error e) {
    return error("tensor '" + tensorName +
                 "': " + llvm::toString(std::move(e)));
  };
  if ((*t)->ggmlType == static_cast<uint32_t>(GGMLType::I8)) {
    if (Error e = dequantizePlanar(quant, (*t)->bytes, v))
      return fail(std::move(e));
    return &values.try_emplace(k, std::move(v)).first->second;
  }
  if (Error e = dequantize((*t)->ggmlType, (*t)->bytes, v))
    return fail(std::move(e));
  // A module whose storage differs from the stored one (after
  // --haqa-quantize) sees the values requantized round-to-nearest into it.
  if (!storedAs((*t)->ggmlType, type)) {
    auto bytes = quantizeWeights(quant, v, type.getShape().back());
    if (!bytes)
      return fail(bytes.takeError());
    if (Error e = dequantizeWeights(quant, *bytes, v))
      return fail(std::move(e));
  }
  return &values.try_emplace(k, std::move(v)).first->second;
}

Expected<llvm::ArrayRef<uint8_t>> WeightStore::getBytes(StringRef tensorName,
                                                        WeightType type) {
  QuantAttr quant = type.getQuant();
  std::vector<float> stored;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto t = find(tensorName, type);
    if (!t)
      return t.takeError();
    if (storedAs((*t)->ggmlType, type)) {
      if ((*t)->bytes.size() != type.getStorageBytes())
        return error("tensor '" + tensorName + "' has " +
                     llvm::Twine((*t)->bytes.size()) +
                     " bytes, the module's storage needs " +
                     llvm::Twine(type.getStorageBytes()));
      return (*t)->bytes;
    }
    std::string k = key(tensorName, quant);
    if (auto it = converted.find(k); it != converted.end())
      return llvm::ArrayRef<uint8_t>(it->second);
    stored.resize(type.getNumElements());
    if (Error e = dequantize((*t)->ggmlType, (*t)->bytes, stored))
      return error("tensor '" + tensorName +
                   "': " + llvm::toString(std::move(e)));
  }
  auto bytes = quantizeWeights(quant, stored, type.getShape().back());
  if (!bytes)
    return error("tensor '" + tensorName +
                 "': " + llvm::toString(bytes.takeError()));
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<uint8_t> &slot = converted[key(tensorName, quant)];
  if (slot.empty())
    slot = std::move(*bytes);
  return llvm::ArrayRef<uint8_t>(slot);
}
