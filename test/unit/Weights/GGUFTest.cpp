//===- GGUFTest.cpp - GGUF reader, writer, number formats -------*- C++ -*-===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// Every malformed-file case patches one field of a valid file written by
// GGUFWriter and checks the one error that names the file and the field.
//
//===----------------------------------------------------------------------===//

#include "haqa/Weights/GGUF.h"
#include "haqa/Weights/Codecs.h"
#include "haqa/Weights/GGUFWriter.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace mlir;
using namespace mlir::haqa;

namespace {

/// A valid file: 2 metadata entries, tensors "a" (F32 [2, 32]) and "b"
/// (Q8_0 [64]).
std::string validFile() {
  llvm::SmallString<128> path;
  llvm::sys::fs::createTemporaryFile("haqa-gguf-test", "gguf", path);
  GGUFWriter w;
  w.addString("general.architecture", "llama");
  w.addUInt32("llama.block_count", 2);
  std::vector<uint8_t> a(2 * 32 * 4, 0), b(2 * 34, 0);
  w.addTensor("a", {2, 32}, static_cast<uint32_t>(GGMLType::F32), a);
  w.addTensor("b", {64}, static_cast<uint32_t>(GGMLType::Q8_0), b);
  EXPECT_FALSE(bool(w.write(path)));
  auto buf = llvm::MemoryBuffer::getFile(path);
  llvm::sys::fs::remove(path);
  return (*buf)->getBuffer().str();
}

/// Parses `bytes` and returns the error message ("" when it parses).
std::string parseError(const std::string &bytes) {
  auto f =
      GGUFFile::parse(llvm::MemoryBuffer::getMemBufferCopy(bytes), "t.gguf");
  if (f)
    return "";
  return llvm::toString(f.takeError());
}

template <typename T> void patch(std::string &bytes, size_t offset, T value) {
  std::memcpy(&bytes[offset], &value, sizeof(T));
}

TEST(GGUFTest, ParsesWhatTheWriterWrote) {
  std::string bytes = validFile();
  auto f =
      GGUFFile::parse(llvm::MemoryBuffer::getMemBufferCopy(bytes), "t.gguf");
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  EXPECT_EQ((*f)->getVersion(), 3u);
  EXPECT_EQ(*(*f)->getString("general.architecture"), "llama");
  EXPECT_EQ(*(*f)->getUInt("llama.block_count"), 2u);
  ASSERT_EQ((*f)->getTensors().size(), 2u);
  const GGUFTensorInfo *b = (*f)->findTensor("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->numBytes, 68u);
  EXPECT_EQ(b->offset % 32, 0u);
  EXPECT_EQ((*f)->getDataOffset() % 32, 0u);
  auto missing = (*f)->getUInt("llama.context_length");
  EXPECT_EQ(llvm::toString(missing.takeError()),
            "t.gguf: metadata 'llama.context_length' is missing");
  auto wrongType = (*f)->getUInt("general.architecture");
  EXPECT_EQ(llvm::toString(wrongType.takeError()),
            "t.gguf: metadata 'general.architecture': expected a "
            "non-negative integer, got string");
}

TEST(GGUFTest, BadMagic) {
  std::string bytes = validFile();
  bytes[0] = 'X';
  EXPECT_EQ(parseError(bytes),
            "t.gguf: header: bad magic '58475546' (expected 'GGUF')");
}

TEST(GGUFTest, ReadsVersion2) {
  // v2 and v3 share the layout (64-bit counts and lengths).
  std::string bytes = validFile();
  patch<uint32_t>(bytes, 4, 2);
  EXPECT_EQ(parseError(bytes), "");
}

TEST(GGUFTest, UnsupportedVersion) {
  std::string bytes = validFile();
  patch<uint32_t>(bytes, 4, 1);
  EXPECT_EQ(parseError(bytes),
            "t.gguf: header: unsupported GGUF version 1 (expected 2 or 3)");
}

TEST(GGUFTest, TruncatedEverywhere) {
  std::string bytes = validFile();
  auto f =
      GGUFFile::parse(llvm::MemoryBuffer::getMemBufferCopy(bytes), "t.gguf");
  ASSERT_TRUE(bool(f));
  const GGUFTensorInfo *b = (*f)->findTensor("b");
  size_t end = (*f)->getDataOffset() + b->offset + b->numBytes;
  // Every prefix that cuts into the header, table or data fails cleanly
  // (never crashes or over-reads); only the final padding may go.
  for (size_t n = 0; n < end; ++n)
    EXPECT_NE(parseError(bytes.substr(0, n)), "") << "prefix " << n;
  EXPECT_EQ(parseError(bytes.substr(0, 10)),
            "t.gguf: header: tensor count: file ends at byte 10 (truncated)");
}

TEST(GGUFTest, AbsurdCounts) {
  std::string bytes = validFile();
  patch<uint64_t>(bytes, 16, uint64_t(1) << 60); // metadata count
  EXPECT_NE(parseError(bytes).find("header: metadata count 1152921504606846976 "
                                   "cannot fit in the"),
            std::string::npos);
  bytes = validFile();
  patch<uint64_t>(bytes, 8, uint64_t(1) << 40); // tensor count
  EXPECT_NE(parseError(bytes).find("header: tensor count 1099511627776 cannot "
                                   "fit"),
            std::string::npos);
}

TEST(GGUFTest, StringLengthPastEnd) {
  std::string bytes = validFile();
  // The first key's length field follows the 24-byte header.
  patch<uint64_t>(bytes, 24, uint64_t(1) << 50);
  EXPECT_NE(parseError(bytes).find("metadata entry 0 key: length "
                                   "1125899906842624 at byte 24 exceeds"),
            std::string::npos);
}

/// Offsets inside tensor "a"'s table entry: name, n_dims, ne[0], ne[1],
/// type, offset.
struct TensorEntry {
  size_t nDims, ne0, ne1, type, offset;
};
TensorEntry entryOfA(const std::string &bytes) {
  // The tensor table entry of "a": u64 length 1, 'a', then fields.
  size_t name = bytes.find(std::string("\x01\0\0\0\0\0\0\0a", 9));
  size_t nDims = name + 9;
  return {nDims, nDims + 4, nDims + 12, nDims + 20, nDims + 24};
}

TEST(GGUFTest, HugeDimensionsOverflow) {
  // The absurd dimension is named, not the one where the product overflows.
  std::string bytes = validFile();
  TensorEntry e = entryOfA(bytes);
  patch<uint64_t>(bytes, e.ne0, uint64_t(1) << 62);
  patch<uint64_t>(bytes, e.ne1, 8);
  std::string size = std::to_string(bytes.size());
  std::string values = std::to_string(bytes.size() * 8);
  EXPECT_EQ(parseError(bytes),
            "t.gguf: tensor 'a': ne[0] = 4611686018427387904 exceeds the " +
                values + " values a " + size + "-byte file can hold");
  // Dimensions that each fit but whose product does not: all are named.
  bytes = validFile();
  patch<uint64_t>(bytes, e.ne0, 1024);
  patch<uint64_t>(bytes, e.ne1, 1024);
  EXPECT_EQ(parseError(bytes), "t.gguf: tensor 'a': ne[0] x ne[1] = 1024 x "
                               "1024 exceeds the " +
                                   values + " values a " + size +
                                   "-byte file can hold");
}

TEST(GGUFTest, ByteCountNeverWraps) {
  // 2^62 F32 values are 2^64 bytes: the byte count used to wrap to 0 and the
  // tensor passed the end-of-file check with no data.
  std::string bytes = validFile();
  TensorEntry e = entryOfA(bytes);
  patch<uint64_t>(bytes, e.ne0, uint64_t(1) << 61);
  patch<uint64_t>(bytes, e.ne1, 2);
  EXPECT_NE(parseError(bytes).find("t.gguf: tensor 'a': ne[0] = "
                                   "2305843009213693952 exceeds the "),
            std::string::npos);
}

TEST(GGUFTest, OverlappingTensors) {
  // "b" (68 bytes) placed inside "a" (256 bytes, at offset 0).
  std::string bytes = validFile();
  size_t name = bytes.find(std::string("\x01\0\0\0\0\0\0\0b", 9));
  size_t offsetOfB = name + 9 + 4 + 8 + 4; // n_dims, ne[0], type
  patch<uint64_t>(bytes, offsetOfB, 64);
  EXPECT_EQ(parseError(bytes), "t.gguf: tensor 'b': data at offset 64 + 68 "
                               "bytes overlaps tensor 'a' (offset 0 + 256 "
                               "bytes)");
  // Whichever comes first in the table, the later offset is named.
  patch<uint64_t>(bytes, offsetOfB, 0);
  patch<uint64_t>(bytes, entryOfA(bytes).offset, 32);
  EXPECT_EQ(parseError(bytes), "t.gguf: tensor 'a': data at offset 32 + 256 "
                               "bytes overlaps tensor 'b' (offset 0 + 68 "
                               "bytes)");
}

TEST(GGUFTest, ArrayLengthPastEnd) {
  // An array claiming more elements than the bytes left is refused before
  // anything is allocated for it.
  GGUFWriter w;
  GGUFValue v;
  v.type = GGUFValueType::Array;
  v.elementType = GGUFValueType::String;
  v.strings = {"a", "b"};
  w.addMetadata("tokenizer.ggml.tokens", v);
  llvm::SmallString<128> path;
  llvm::sys::fs::createTemporaryFile("haqa-gguf-test", "gguf", path);
  ASSERT_FALSE(bool(w.write(path)));
  auto buf = llvm::MemoryBuffer::getFile(path);
  llvm::sys::fs::remove(path);
  std::string bytes = (*buf)->getBuffer().str();
  // header (24) + key length (8) + key (21) + type (4) + element type (4).
  patch<uint64_t>(bytes, 24 + 8 + 21 + 4 + 4, uint64_t(1) << 40);
  EXPECT_NE(parseError(bytes).find("t.gguf: metadata "
                                   "'tokenizer.ggml.tokens': array length "
                                   "1099511627776 cannot fit in the"),
            std::string::npos);
}

TEST(GGUFTest, OpenRefusesWhatIsNotARegularFile) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("haqa-gguf-test", dir));
  auto f = GGUFFile::open(dir);
  ASSERT_FALSE(bool(f));
  EXPECT_EQ(llvm::toString(f.takeError()),
            (dir + ": not a regular file").str());
  llvm::sys::fs::remove(dir);
}

TEST(GGUFTest, ZeroDimensionAndTooManyDims) {
  std::string bytes = validFile();
  TensorEntry e = entryOfA(bytes);
  patch<uint64_t>(bytes, e.ne0, 0);
  EXPECT_EQ(parseError(bytes),
            "t.gguf: tensor 'a': ne[0] = 0 is not a valid dimension");
  bytes = validFile();
  patch<uint32_t>(bytes, e.nDims, 7);
  EXPECT_EQ(parseError(bytes),
            "t.gguf: tensor 'a': dimension count 7 not in [1, 4]");
}

TEST(GGUFTest, UnknownTensorType) {
  std::string bytes = validFile();
  patch<uint32_t>(bytes, entryOfA(bytes).type, 200);
  EXPECT_EQ(parseError(bytes), "t.gguf: tensor 'a': unknown ggml type 200");
}

TEST(GGUFTest, BlockSizeMismatch) {
  std::string bytes = validFile();
  TensorEntry e = entryOfA(bytes);
  patch<uint32_t>(bytes, e.type, static_cast<uint32_t>(GGMLType::Q4_K));
  EXPECT_EQ(parseError(bytes), "t.gguf: tensor 'a': ne[0] = 32 is not a "
                               "multiple of the Q4_K block size 256");
}

TEST(GGUFTest, OffsetPastEnd) {
  std::string bytes = validFile();
  patch<uint64_t>(bytes, entryOfA(bytes).offset, 1 << 20);
  EXPECT_NE(parseError(bytes).find("t.gguf: tensor 'a': data at offset "
                                   "1048576 + 256 bytes is past the end of "
                                   "the file"),
            std::string::npos);
  bytes = validFile();
  patch<uint64_t>(bytes, entryOfA(bytes).offset, 3);
  EXPECT_EQ(parseError(bytes), "t.gguf: tensor 'a': offset 3 is not a "
                               "multiple of the alignment 32");
}

TEST(GGUFTest, FuzzedBytesNeverCrash) {
  std::string good = validFile();
  std::mt19937 rng(42);
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = good;
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    (void)parseError(bytes); // must return, error or not
  }
}

TEST(NumberFormats, HalfRoundTripsEveryValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f))
      continue;
    EXPECT_EQ(floatToHalf(f), h) << "half " << h;
  }
}

TEST(NumberFormats, HalfRoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): to even.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);              // overflows to inf
  EXPECT_EQ(floatToHalf(1e-8f), 0x0000);                 // underflows to zero
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(bf16ToFloat(floatToBF16(3.140625f)), 3.140625f);
}

TEST(Quantize, RoundTripErrorWithinHalfAStep) {
  MLIRContext ctx;
  ctx.loadDialect<HAQADialect>();
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0, 0.05f);
  std::vector<float> x(4096);
  for (float &v : x)
    v = dist(rng);
  struct Case {
    QuantAttr q;
    GGMLType t;
    int levels;
  } cases[] = {{QuantAttr::getQ8_0(&ctx), GGMLType::Q8_0, 255},
               {QuantAttr::getQ4_0(&ctx), GGMLType::Q4_0, 16},
               {QuantAttr::getQ4_1(&ctx), GGMLType::Q4_1, 16}};
  for (const Case &c : cases) {
    auto bytes = quantizeWeights(c.q, x, 256);
    ASSERT_TRUE(bool(bytes));
    EXPECT_EQ(bytes->size(), c.q.getStorageBytes(x.size()));
    std::vector<float> y(x.size());
    ASSERT_FALSE(bool(dequantize(static_cast<uint32_t>(c.t), *bytes, y)));
    for (size_t b = 0; b < x.size(); b += 32) {
      float lo = *std::min_element(&x[b], &x[b + 32]);
      float hi = *std::max_element(&x[b], &x[b + 32]);
      float amax = std::max(std::fabs(lo), std::fabs(hi));
      // One quantization step of the block, plus the f16 scale's rounding.
      // Q4_0 maps the largest-magnitude value to -8 and clips the other
      // side at +7: values there may be off by up to one full step.
      float step = c.t == GGMLType::Q4_1   ? (hi - lo) / 15
                   : c.t == GGMLType::Q8_0 ? amax / 127
                                           : amax / 8;
      float bound = c.t == GGMLType::Q4_0 ? step : 0.5f * step;
      for (size_t j = b; j < b + 32; ++j)
        EXPECT_LE(std::fabs(x[j] - y[j]), bound * 1.01f + 1e-3f * amax)
            << c.q.getGGUFName().str() << " at " << j;
    }
  }
}

} // namespace
