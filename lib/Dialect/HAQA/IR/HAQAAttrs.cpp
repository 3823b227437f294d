//===- HAQAAttrs.cpp - #haqa.quant and #haqa.schedule -----------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Parsing, printing and verification of the quantization description and of
// the schedule. Verifier messages carry the constraint tag of docs/Spec.md.
//
//===----------------------------------------------------------------------===//

#include "haqa/Dialect/HAQA/IR/GGMLTypes.h"
#include "haqa/Dialect/HAQA/IR/HAQA.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::haqa;

#include "haqa/Dialect/HAQA/IR/HAQAEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "haqa/Dialect/HAQA/IR/HAQAAttrs.cpp.inc"

void HAQADialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "haqa/Dialect/HAQA/IR/HAQAAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// QuantAttr
//===----------------------------------------------------------------------===//

static bool isPlainKind(ElemKind k) {
  return k == ElemKind::f32 || k == ElemKind::f16 || k == ElemKind::bf16;
}

QuantAttr QuantAttr::getPlain(MLIRContext *ctx, ElemKind kind) {
  return get(ctx, kind, 0, NoneType::get(ctx), ZeroKind::none,
             StorageLayout::planar);
}
QuantAttr QuantAttr::getQ8_0(MLIRContext *ctx) {
  return get(ctx, ElemKind::i8, 32, Float16Type::get(ctx), ZeroKind::none,
             StorageLayout::gguf);
}
QuantAttr QuantAttr::getQ4_0(MLIRContext *ctx) {
  return get(ctx, ElemKind::i4, 32, Float16Type::get(ctx), ZeroKind::none,
             StorageLayout::gguf);
}
QuantAttr QuantAttr::getQ4_1(MLIRContext *ctx) {
  return get(ctx, ElemKind::i4, 32, Float16Type::get(ctx), ZeroKind::min,
             StorageLayout::gguf);
}

QuantAttr QuantAttr::getQ4_K(MLIRContext *ctx) {
  return get(ctx, ElemKind::i4, 32, Float16Type::get(ctx), ZeroKind::min,
             StorageLayout::gguf_k);
}
QuantAttr QuantAttr::getQ6_K(MLIRContext *ctx) {
  return get(ctx, ElemKind::i6, 16, Float16Type::get(ctx), ZeroKind::none,
             StorageLayout::gguf_k);
}

bool QuantAttr::isQuantized() const { return !isPlainKind(getKind()); }

unsigned QuantAttr::getBits() const {
  switch (getKind()) {
  case ElemKind::f32:
    return 32;
  case ElemKind::f16:
  case ElemKind::bf16:
    return 16;
  case ElemKind::i8:
    return 8;
  case ElemKind::i6:
    return 6;
  case ElemKind::i4:
    return 4;
  }
  llvm_unreachable("unknown element kind");
}

StringRef QuantAttr::getGGUFName() const {
  if (!isQuantized())
    return stringifyElemKind(getKind());
  if (getLayout() == StorageLayout::gguf_k)
    return getKind() == ElemKind::i6 ? "q6_k" : "q4_k";
  if (getLayout() != StorageLayout::gguf)
    return "";
  if (getKind() == ElemKind::i8)
    return "q8_0";
  return getZero() == ZeroKind::min ? "q4_1" : "q4_0";
}

uint64_t QuantAttr::getGGUFBlockBytes() const {
  if (!isQuantized())
    return getBits() / 8;
  if (getLayout() == StorageLayout::planar)
    return 0;
  // ggml's block_q8_0 / q4_0 / q4_1 / q4_K / q6_K, from the one table of
  // ggml types (the verifier holds gguf storage to theirs).
  std::optional<GGMLType> type = getGGMLTypeByName(getGGUFName());
  std::optional<GGMLTypeInfo> info =
      type ? getGGMLTypeInfo(static_cast<uint32_t>(*type)) : std::nullopt;
  assert(info && info->blockSize == getGGUFBlockValues() &&
         "gguf storage is a ggml type");
  return info ? info->blockBytes : 0;
}

int64_t QuantAttr::getGGUFBlockValues() const {
  if (!isQuantized())
    return 1;
  switch (getLayout()) {
  case StorageLayout::gguf:
    return 32;
  case StorageLayout::gguf_k:
    return 256;
  case StorageLayout::planar:
    return 0;
  }
  llvm_unreachable("unknown layout");
}

uint64_t QuantAttr::getStorageBytes(uint64_t numElements) const {
  if (!isQuantized())
    return numElements * getBits() / 8;
  if (getLayout() != StorageLayout::planar) {
    uint64_t block = getGGUFBlockValues();
    return (numElements + block - 1) / block * getGGUFBlockBytes();
  }
  uint64_t group = getGroup();
  uint64_t groups = (numElements + group - 1) / group;
  uint64_t scaleBytes = getScaleType().getIntOrFloatBitWidth() / 8;
  uint64_t bytes = (numElements * getBits() + 7) / 8 + groups * scaleBytes;
  if (getZero() == ZeroKind::min)
    bytes += groups * scaleBytes;
  else if (getZero() == ZeroKind::zero_point)
    bytes += groups; // one uint8 zero point per group
  return bytes;
}

LogicalResult QuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                ElemKind kind, int64_t group, Type scaleType,
                                ZeroKind zero, StorageLayout layout) {
  if (isPlainKind(kind)) {
    // quant_c1
    if (group != 0 || !isa<NoneType>(scaleType) || zero != ZeroKind::none ||
        layout != StorageLayout::planar)
      return emitError() << "plain " << stringifyElemKind(kind)
                         << " storage takes no group, scale, zero or layout";
    return success();
  }
  // quant_c2
  if (group <= 0)
    return emitError() << "expected a positive group size for "
                       << stringifyElemKind(kind) << " storage, got " << group;
  // quant_c3
  if (!scaleType.isF16() && !scaleType.isBF16() && !scaleType.isF32())
    return emitError() << "expected scale type f16, bf16 or f32, got "
                       << scaleType;
  // quant_c4
  if (kind == ElemKind::i4 && group % 2 != 0)
    return emitError() << "expected an even group size for i4 storage (two "
                          "values per byte), got "
                       << group;
  // quant_c5
  if (layout == StorageLayout::gguf) {
    if (group != 32 || !scaleType.isF16())
      return emitError() << "gguf layout needs group = 32 and scale = f16, got "
                            "group = "
                         << group << " and scale = " << scaleType;
    if (zero == ZeroKind::zero_point ||
        (kind == ElemKind::i8 && zero == ZeroKind::min) || kind == ElemKind::i6)
      return emitError() << "gguf has no " << stringifyElemKind(kind)
                         << " block with zero = " << stringifyZeroKind(zero);
  }
  // quant_c6
  if (layout == StorageLayout::gguf_k) {
    bool q4k = kind == ElemKind::i4 && group == 32 && zero == ZeroKind::min;
    bool q6k = kind == ElemKind::i6 && group == 16 && zero == ZeroKind::none;
    if (!(q4k || q6k) || !scaleType.isF16())
      return emitError() << "gguf_k layout exists only as Q4_K (i4, group = "
                            "32, scale = f16, zero = min) and Q6_K (i6, group "
                            "= 16, scale = f16, zero = none)";
  }
  // quant_c7
  if (kind == ElemKind::i6 && layout != StorageLayout::gguf_k)
    return emitError() << "i6 storage exists only as Q6_K (layout = gguf_k)";
  return success();
}

Attribute QuantAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  StringRef word;
  if (parser.parseLess() || parser.parseKeyword(&word))
    return {};
  SMLoc loc = parser.getCurrentLocation();
  if (word == "q8_0" || word == "q4_0" || word == "q4_1" || word == "q4_k" ||
      word == "q6_k") {
    if (parser.parseGreater())
      return {};
    return word == "q8_0"   ? getQ8_0(ctx)
           : word == "q4_0" ? getQ4_0(ctx)
           : word == "q4_1" ? getQ4_1(ctx)
           : word == "q4_k" ? getQ4_K(ctx)
                            : getQ6_K(ctx);
  }
  std::optional<ElemKind> kind = symbolizeElemKind(word);
  if (!kind) {
    parser.emitError(loc) << "expected f32, f16, bf16, i8, i6, i4, q8_0, "
                             "q4_0, q4_1, q4_k or q6_k, got '"
                          << word << "'";
    return {};
  }
  // Plain kinds default to no scale; fields given anyway reach the verifier,
  // which names the rule they break.
  int64_t group = 0;
  Type scale = isPlainKind(*kind) ? Type(NoneType::get(ctx))
                                  : Type(Float16Type::get(ctx));
  ZeroKind zero = ZeroKind::none;
  StorageLayout layout = StorageLayout::planar;
  llvm::SmallSet<StringRef, 4> seen;
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (!seen.insert(key).second) {
      parser.emitError(keyLoc) << "duplicate quant field '" << key << "'";
      return {};
    }
    if (key == "group") {
      if (parser.parseInteger(group))
        return {};
    } else if (key == "scale") {
      if (parser.parseType(scale))
        return {};
    } else if (key == "zero" || key == "layout") {
      StringRef value;
      SMLoc valueLoc = parser.getCurrentLocation();
      if (parser.parseKeyword(&value))
        return {};
      if (key == "zero") {
        auto z = symbolizeZeroKind(value);
        if (!z) {
          parser.emitError(valueLoc)
              << "expected zero = none, zero_point or min, got '" << value
              << "'";
          return {};
        }
        zero = *z;
      } else {
        auto l = symbolizeStorageLayout(value);
        if (!l) {
          parser.emitError(valueLoc)
              << "expected layout = gguf, gguf_k or planar, got '" << value
              << "'";
          return {};
        }
        layout = *l;
      }
    } else {
      parser.emitError(keyLoc) << "unknown quant field '" << key
                               << "' (expected group, scale, zero or layout)";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, ctx, *kind, group,
                    scale, zero, layout);
}

void QuantAttr::print(AsmPrinter &printer) const {
  printer << "<";
  StringRef gguf = getGGUFName();
  if (!gguf.empty()) {
    printer << gguf << ">";
    return;
  }
  printer << stringifyElemKind(getKind()) << ", group = " << getGroup()
          << ", scale = " << getScaleType()
          << ", zero = " << stringifyZeroKind(getZero())
          << ", layout = " << stringifyStorageLayout(getLayout()) << ">";
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kMaxUnroll = 64;
constexpr int64_t kMaxVector = 64;
constexpr int64_t kMaxThreadsPerBlock = 1024;
constexpr int64_t kMaxCpuThreads = 1024;
// The paper's appendix D range of prefetch distances.
constexpr int64_t kMaxPrefetch = 16;
} // namespace

static void printList(AsmPrinter &p, ArrayRef<int64_t> values) {
  p << "[";
  llvm::interleaveComma(values, p);
  p << "]";
}

LogicalResult ScheduleAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> tile,
    ArrayRef<int64_t> order, std::optional<int64_t> unroll,
    std::optional<int64_t> vector, ArrayRef<int64_t> threads,
    ArrayRef<int64_t> grid, std::optional<int64_t> cpuThreads,
    ArrayRef<MemSpace> placement, std::optional<int64_t> prefetch,
    ArrayRef<OperandLayout> layout, std::optional<int64_t> mma,
    std::optional<DotKind> dot, std::optional<CPUISA> isa,
    ArrayRef<int64_t> micro, std::optional<ExpKind> exp,
    std::optional<AttnKind> attn, ArrayRef<FuseKind> fuse) {
  // schedule_c1
  for (auto [i, t] : llvm::enumerate(tile))
    if (t <= 0)
      return emitError() << "expected positive tile sizes, got " << t
                         << " at index " << i;
  // schedule_c2
  if (!order.empty()) {
    llvm::SmallVector<bool> hit(order.size(), false);
    for (int64_t o : order) {
      if (o < 0 || o >= static_cast<int64_t>(order.size()) || hit[o]) {
        auto diag = emitError() << "expected order to be a permutation of [0, "
                                << order.size() << "), got [";
        llvm::interleaveComma(order, diag);
        return diag << "]";
      }
      hit[o] = true;
    }
  }
  // schedule_c3
  if (!order.empty() && !tile.empty() && order.size() != tile.size())
    return emitError() << "expected order (" << order.size()
                       << " entries) and tile (" << tile.size()
                       << " entries) to have the same length";
  // schedule_c4
  if (unroll && (*unroll < 1 || *unroll > kMaxUnroll))
    return emitError() << "expected unroll factor in [1, " << kMaxUnroll
                       << "], got " << *unroll;
  // schedule_c5
  if (vector &&
      (*vector < 1 || *vector > kMaxVector || !llvm::isPowerOf2_64(*vector)))
    return emitError() << "expected vector width to be a power of two in [1, "
                       << kMaxVector << "], got " << *vector;
  // schedule_c6
  for (auto [name, dims] : {std::make_pair(StringRef("threads"), threads),
                            std::make_pair(StringRef("grid"), grid)}) {
    if (dims.size() > 3)
      return emitError() << "expected at most 3 " << name << " dimensions, got "
                         << dims.size();
    for (auto [i, d] : llvm::enumerate(dims))
      if (d <= 0)
        return emitError() << "expected positive " << name << " sizes, got "
                           << d << " at index " << i;
  }
  // schedule_c7
  int64_t block = 1;
  for (int64_t t : threads)
    block *= t;
  if (block > kMaxThreadsPerBlock)
    return emitError() << "expected at most " << kMaxThreadsPerBlock
                       << " threads per block, got " << block;
  // schedule_c8
  if (cpuThreads && (*cpuThreads < 1 || *cpuThreads > kMaxCpuThreads))
    return emitError() << "expected cpu_threads in [1, " << kMaxCpuThreads
                       << "], got " << *cpuThreads;
  // schedule_c9
  if (prefetch && (*prefetch < 0 || *prefetch > kMaxPrefetch))
    return emitError() << "expected prefetch distance in [0, " << kMaxPrefetch
                       << "], got " << *prefetch;
  // schedule_c14
  if (mma && *mma != 0 && *mma != 1)
    return emitError() << "expected mma to be 0 or 1, got " << *mma;
  // schedule_c15
  auto registerBlock = [](int64_t v) { return v == 1 || v == 2 || v == 4; };
  if (!micro.empty() &&
      (micro.size() != 2 || !registerBlock(micro[0]) ||
       (!registerBlock(micro[1]) && micro[1] != 16))) {
    auto diag = emitError() << "expected micro to be [mr, nr] with mr one of "
                               "1, 2, 4 and nr one of 1, 2, 4, 16, got [";
    llvm::interleaveComma(micro, diag);
    return diag << "]";
  }
  // schedule_c22
  if (micro.size() == 2 && micro[1] == 16 &&
      (!dot || *dot != DotKind::i8 || !isa || *isa != CPUISA::avx512_vnni))
    return emitError() << "expected micro nr = 16 (packed panels of 16 "
                          "weight rows) only with dot = i8 and isa = "
                          "avx512_vnni";
  // schedule_c16
  bool ukDot = dot && *dot != DotKind::f32;
  bool fused = attn && *attn == AttnKind::fused;
  if (!ukDot && !micro.empty())
    return emitError() << "expected micro only with dot = i8 or fma";
  if (!ukDot && !fused && isa)
    return emitError()
           << "expected isa only with dot = i8, dot = fma or attn = fused";
  // schedule_c20
  if (fused && (!tile.empty() || !order.empty() || unroll || vector ||
                prefetch || exp))
    return emitError() << "expected no tile, order, unroll, vector, "
                          "prefetch or exp with attn = fused (the "
                          "micro-kernel has its own loops and exp)";
  // schedule_c23
  if (!fuse.empty() && !ukDot)
    return emitError() << "expected fuse only with dot = i8 or fma (the "
                          "micro-kernel dot computes the fused neighbours)";
  for (auto [i, f] : llvm::enumerate(fuse))
    if (llvm::is_contained(fuse.take_front(i), f))
      return emitError() << "expected fuse to name each neighbour once, got "
                         << stringifyFuseKind(f) << " twice";
  // schedule_c19
  if (ukDot && (!tile.empty() || !order.empty() || unroll || vector ||
                prefetch))
    return emitError() << "expected no tile, order, unroll, vector or "
                          "prefetch with dot = "
                       << stringifyDotKind(*dot)
                       << " (the micro-kernel's register block is micro)";
  return success();
}

ScheduleAttr ScheduleAttr::withFuse(ArrayRef<FuseKind> fuse) const {
  return ScheduleAttr::get(getContext(), getTile(), getOrder(), getUnroll(),
                           getVector(), getThreads(), getGrid(),
                           getCpuThreads(), getPlacement(), getPrefetch(),
                           getLayout(), getMma(), getDot(), getIsa(),
                           getMicro(), getExp(), getAttn(), fuse);
}

LogicalResult
ScheduleAttr::verifyAgainst(function_ref<InFlightDiagnostic()> emitError,
                            ArrayRef<int64_t> dims,
                            unsigned numOperands) const {
  ArrayRef<int64_t> tile = getTile();
  // schedule_c10
  if (tile.size() > dims.size())
    return emitError() << "expected at most " << dims.size()
                       << " tile sizes for a " << dims.size()
                       << "-d iteration space, got " << tile.size();
  // schedule_c11
  for (auto [i, t] : llvm::enumerate(tile))
    if (!ShapedType::isDynamic(dims[i]) && t > dims[i])
      return emitError() << "expected tile size " << t << " at index " << i
                         << " to be at most the dimension " << dims[i];
  // schedule_c12
  if (!getOrder().empty() && getOrder().size() != dims.size())
    return emitError() << "expected order to permute the " << dims.size()
                       << " iteration dimensions, got " << getOrder().size()
                       << " entries";
  // schedule_c13
  if (!getPlacement().empty() && getPlacement().size() != numOperands)
    return emitError() << "expected one placement per operand and result ("
                       << numOperands << "), got " << getPlacement().size();
  if (!getLayout().empty() && getLayout().size() != numOperands)
    return emitError() << "expected one layout per operand and result ("
                       << numOperands << "), got " << getLayout().size();
  return success();
}

/// Parses `[a, b, ...]` where each element is read by `parseElement`.
static ParseResult parseBracketList(AsmParser &parser,
                                    function_ref<ParseResult()> parseElement) {
  return parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                        parseElement);
}

template <typename EnumT>
static ParseResult parseEnum(AsmParser &parser, std::optional<EnumT> &out,
                             std::optional<EnumT> (*symbolize)(StringRef),
                             StringRef what) {
  StringRef word;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&word))
    return failure();
  out = symbolize(word);
  if (!out)
    return parser.emitError(loc) << "unknown " << what << " '" << word << "'";
  return success();
}

template <typename EnumT>
static ParseResult parseEnumList(AsmParser &parser, SmallVectorImpl<EnumT> &out,
                                 std::optional<EnumT> (*symbolize)(StringRef),
                                 StringRef what) {
  return parseBracketList(parser, [&]() -> ParseResult {
    std::optional<EnumT> value;
    if (parseEnum(parser, value, symbolize, what))
      return failure();
    out.push_back(*value);
    return success();
  });
}


Attribute ScheduleAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> tile, order, threads, grid;
  SmallVector<int64_t> micro;
  std::optional<int64_t> unroll, vector, cpuThreads, prefetch, mma;
  std::optional<DotKind> dot;
  std::optional<CPUISA> isa;
  std::optional<ExpKind> exp;
  std::optional<AttnKind> attn;
  SmallVector<MemSpace> placement;
  SmallVector<OperandLayout> layout;
  SmallVector<FuseKind> fuse;
  llvm::SmallSet<StringRef, 16> seen;
  auto parseIntList = [&](SmallVectorImpl<int64_t> &out) {
    return parseBracketList(parser, [&]() -> ParseResult {
      return parser.parseInteger(out.emplace_back());
    });
  };
  auto parseOne = [&](std::optional<int64_t> &out) -> ParseResult {
    int64_t v;
    if (parser.parseInteger(v))
      return failure();
    out = v;
    return success();
  };
  auto parseField = [&]() -> ParseResult {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return failure();
    if (!seen.insert(key).second)
      return parser.emitError(keyLoc)
             << "duplicate schedule field '" << key << "'";
    if (key == "tile")
      return parseIntList(tile);
    if (key == "order")
      return parseIntList(order);
    if (key == "threads")
      return parseIntList(threads);
    if (key == "grid")
      return parseIntList(grid);
    if (key == "unroll")
      return parseOne(unroll);
    if (key == "vector")
      return parseOne(vector);
    if (key == "cpu_threads")
      return parseOne(cpuThreads);
    if (key == "prefetch")
      return parseOne(prefetch);
    if (key == "mma")
      return parseOne(mma);
    if (key == "micro")
      return parseIntList(micro);
    if (key == "dot")
      return parseEnum<DotKind>(parser, dot, symbolizeDotKind, "dot kind");
    if (key == "isa")
      return parseEnum<CPUISA>(parser, isa, symbolizeCPUISA,
                               "instruction set");
    if (key == "exp")
      return parseEnum<ExpKind>(parser, exp, symbolizeExpKind, "exp kind");
    if (key == "attn")
      return parseEnum<AttnKind>(parser, attn, symbolizeAttnKind,
                                 "attention kind");
    if (key == "placement")
      return parseEnumList<MemSpace>(parser, placement, symbolizeMemSpace,
                                     "memory space");
    if (key == "layout")
      return parseEnumList<OperandLayout>(
          parser, layout, symbolizeOperandLayout, "operand layout");
    if (key == "fuse")
      return parseEnumList<FuseKind>(parser, fuse, symbolizeFuseKind,
                                     "fused neighbour");
    return parser.emitError(keyLoc)
           << "unknown schedule field '" << key
           << "' (expected tile, order, unroll, vector, threads, grid, "
              "cpu_threads, placement, prefetch, layout, mma, dot, isa, "
              "micro, exp, attn or fuse)";
  };
  if (parser.parseLess())
    return {};
  if (failed(parser.parseOptionalGreater())) {
    if (parser.parseCommaSeparatedList(parseField) || parser.parseGreater())
      return {};
  }
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    tile, order, unroll, vector, threads, grid, cpuThreads,
                    placement, prefetch, layout, mma, dot, isa, micro, exp,
                    attn, fuse);
}

void ScheduleAttr::print(AsmPrinter &printer) const {
  SmallVector<std::function<void()>> fields;
  auto addList = [&](StringRef name, ArrayRef<int64_t> values) {
    if (!values.empty())
      fields.push_back([&printer, name, values] {
        printer << name << " = ";
        printList(printer, values);
      });
  };
  auto addOne = [&](StringRef name, std::optional<int64_t> value) {
    if (value)
      fields.push_back(
          [&printer, name, value] { printer << name << " = " << *value; });
  };
  addList("tile", getTile());
  addList("order", getOrder());
  addOne("unroll", getUnroll());
  addOne("vector", getVector());
  addList("threads", getThreads());
  addList("grid", getGrid());
  addOne("cpu_threads", getCpuThreads());
  if (!getPlacement().empty())
    fields.push_back([&] {
      printer << "placement = [";
      llvm::interleaveComma(getPlacement(), printer, [&](MemSpace m) {
        printer << stringifyMemSpace(m);
      });
      printer << "]";
    });
  addOne("prefetch", getPrefetch());
  if (!getLayout().empty())
    fields.push_back([&] {
      printer << "layout = [";
      llvm::interleaveComma(getLayout(), printer, [&](OperandLayout l) {
        printer << stringifyOperandLayout(l);
      });
      printer << "]";
    });
  addOne("mma", getMma());
  if (getDot())
    fields.push_back(
        [&] { printer << "dot = " << stringifyDotKind(*getDot()); });
  if (getIsa())
    fields.push_back(
        [&] { printer << "isa = " << stringifyCPUISA(*getIsa()); });
  addList("micro", getMicro());
  if (getExp())
    fields.push_back(
        [&] { printer << "exp = " << stringifyExpKind(*getExp()); });
  if (getAttn())
    fields.push_back(
        [&] { printer << "attn = " << stringifyAttnKind(*getAttn()); });
  if (!getFuse().empty())
    fields.push_back([&] {
      printer << "fuse = [";
      llvm::interleaveComma(getFuse(), printer, [&](FuseKind f) {
        printer << stringifyFuseKind(f);
      });
      printer << "]";
    });
  printer << "<";
  llvm::interleaveComma(fields, printer, [](auto &f) { f(); });
  printer << ">";
}
