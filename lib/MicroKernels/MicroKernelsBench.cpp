//===- MicroKernelsBench.cpp - Decode timing of the micro-kernels --------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
// haqa-uk-bench: single-thread timing of the decode dot (one activation row)
// of every ISA variant this host supports, per format (Q4_K and Q6_K at the
// shapes whose K is a multiple of 256), shape and nr, and of
// decode attention (SmolLM2's 9 query heads over 3 KV heads of 64 at
// position 256). Prints the median of 50 calls after warm-up as ns per call
// and GB/s of weight (or K and V cache) bytes read. Then the prefill int8
// dots (64 activation rows, register blocks [4, 4] and [4, 16]: packed
// panels on avx512vnni) of q4_0, q4_k and q6_k at Qwen2.5-1.5B's 1536 x 1536
// and 8960 x 1536 (K x N), median of a tenth of the calls (at least 3), as
// us per call, GB/s of weights and GFLOP/s. Then the f16- and
// bf16-weight dots at 576 x 1536: decode (one row, register block [1, 4]) and
// prefill (64 rows, [4, 2] and [4, 4]), as us per call, GB/s of weights and
// GFLOP/s.
// Usage: haqa-uk-bench [repeats]
//
//===----------------------------------------------------------------------===//

#include "haqa/MicroKernels/MicroKernels.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace mlir::haqa;

namespace {

using DotFn = MicroKernelDotFn;
using QuantizeFn = MicroKernelQuantizeFn;
using DotF16Fn = MicroKernelDotF16Fn; // dot_bf16 too: the same signature
using AttentionFn = MicroKernelAttentionFn;

struct Format {
  const char *name;
  int64_t blockBytes;
  int64_t blockValues; // 32, or 256 for the K-quant super-blocks
  int scaleOffset;     // where the f16 scales of a block start
  int scaleBytes;      // and their bytes
};

/// Random blocks of k / blockValues per row with finite f16 scales in
/// [2^-10, 2^-6).
std::vector<uint8_t> randomWeights(const Format &f, int64_t n, int64_t k,
                                   std::mt19937 &rng) {
  const int64_t blocks = k / f.blockValues;
  std::vector<uint8_t> w(n * blocks * f.blockBytes);
  for (uint8_t &b : w)
    b = static_cast<uint8_t>(rng());
  for (int64_t i = 0; i < n * blocks; ++i)
    for (int s = 0; s < f.scaleBytes; s += 2) {
      uint16_t h = static_cast<uint16_t>(0x1400 + rng() % 0x1000);
      std::memcpy(&w[i * f.blockBytes + f.scaleOffset + s], &h, 2);
    }
  return w;
}

template <class Fn> double medianNs(Fn &&fn, int repeats) {
  for (int i = 0; i < 5; ++i)
    fn();
  std::vector<double> ns;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    auto t1 = std::chrono::steady_clock::now();
    ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  std::nth_element(ns.begin(), ns.begin() + ns.size() / 2, ns.end());
  return ns[ns.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 50;
  const Format formats[] = {{"q8_0", 34, 32, 0, 2},
                            {"q4_0", 18, 32, 0, 2},
                            {"q4_1", 20, 32, 0, 4},
                            {"q4_k", 144, 256, 0, 4},
                            {"q6_k", 210, 256, 208, 2}};
  // {K, N}: SmolLM2-135M's 576 x 1536 and Qwen2.5-1.5B's 1536 x 8960.
  const int64_t shapes[][2] = {{2048, 2048}, {576, 1536}, {1536, 8960}};
  std::mt19937 rng(42);

  std::printf("%-11s %-5s %5s %6s %3s %11s %8s\n", "isa", "fmt", "K", "N", "nr",
              "ns/call", "GB/s");
  for (const char *isa : getMicroKernelISAs()) {
    if (!isMicroKernelISASupported(isa)) {
      std::printf("%-11s not supported on this host\n", isa);
      continue;
    }
    auto quantize = reinterpret_cast<QuantizeFn>(
        findMicroKernel(std::string("haqa_uk_quantize_q8_") + isa));
    for (const auto &shape : shapes) {
      const int64_t k = shape[0], n = shape[1], blocks = k / 32;
      std::vector<float> x(k);
      std::normal_distribution<float> normal(0.0f, 1.0f);
      for (float &v : x)
        v = normal(rng);
      std::vector<uint8_t> xq(getQ8ActivationRowBytes(k));
      double qns = medianNs(
          [&] { quantize(x.data(), k, 1, k, xq.data(), xq.size()); }, repeats);
      std::printf("%-11s %-5s %5lld %6s %3s %11.1f\n", isa, "quant",
                  static_cast<long long>(k), "-", "-", qns);
      std::vector<float> y(n);
      for (const Format &f : formats) {
        if (k % f.blockValues != 0)
          continue;
        auto dot = reinterpret_cast<DotFn>(
            findMicroKernel(std::string("haqa_uk_dot_") + f.name + "_" + isa));
        std::vector<uint8_t> w = randomWeights(f, n, k, rng);
        const int64_t rowBytes = k / f.blockValues * f.blockBytes;
        for (int64_t nr : {1, 2, 4}) {
          double ns = medianNs(
              [&] {
                dot(w.data(), rowBytes, xq.data(), xq.size(), y.data(), n, 1, 0,
                    n, blocks, 1, nr);
              },
              repeats);
          std::printf("%-11s %-5s %5lld %6lld %3lld %11.1f %8.2f\n", isa,
                      f.name, static_cast<long long>(k),
                      static_cast<long long>(n), static_cast<long long>(nr), ns,
                      static_cast<double>(w.size()) / ns);
        }
      }
    }

    const int64_t headsQ = 9, headsKv = 3, hd = 64, rows = 257;
    const int32_t position = rows - 1;
    auto attention = reinterpret_cast<AttentionFn>(
        findMicroKernel(std::string("haqa_uk_attention_f32_") + isa));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> q(headsQ * hd), kv(2 * rows * headsKv * hd),
        out(headsQ * hd);
    for (float &x : q)
      x = normal(rng);
    for (float &x : kv)
      x = normal(rng);
    const float *k = kv.data(), *v = kv.data() + rows * headsKv * hd;
    double attentionNs = medianNs(
        [&] {
          attention(q.data(), headsQ * hd, k, v, headsKv * hd, rows, &position,
                    out.data(), headsQ * hd, headsQ, headsKv, hd, 0.125f, 0,
                    headsQ);
        },
        repeats);
    std::printf("%-11s %-5s %5lld %6lld %3s %11.1f %8.2f\n", isa, "attn",
                static_cast<long long>(hd), static_cast<long long>(rows), "-",
                attentionNs,
                static_cast<double>(kv.size() * sizeof(float)) / attentionNs);
  }

  std::printf("\n%-11s %-5s %4s %5s %6s %5s %11s %8s %8s\n", "isa", "fmt",
              "rows", "K", "N", "mr,nr", "us/call", "GB/s", "GFLOP/s");
  for (const char *isa : getMicroKernelISAs()) {
    if (!isMicroKernelISASupported(isa) || std::strcmp(isa, "scalar") == 0)
      continue;
    auto quantize = reinterpret_cast<QuantizeFn>(
        findMicroKernel(std::string("haqa_uk_quantize_q8_") + isa));
    const int64_t rows = 64;
    for (const auto &shape : {std::array<int64_t, 2>{1536, 1536},
                              std::array<int64_t, 2>{8960, 1536}}) {
      const int64_t k = shape[0], n = shape[1], blocks = k / 32;
      const int64_t xrb = getQ8ActivationRowBytes(k);
      std::vector<float> x(rows * k);
      std::normal_distribution<float> normal(0.0f, 1.0f);
      for (float &v : x)
        v = normal(rng);
      std::vector<uint8_t> xq(rows * xrb);
      quantize(x.data(), k, rows, k, xq.data(), xrb);
      std::vector<float> y(rows * n);
      for (const Format &f : formats) {
        if (std::strcmp(f.name, "q8_0") == 0 ||
            std::strcmp(f.name, "q4_1") == 0)
          continue;
        auto dot = reinterpret_cast<DotFn>(
            findMicroKernel(std::string("haqa_uk_dot_") + f.name + "_" + isa));
        std::vector<uint8_t> w = randomWeights(f, n, k, rng);
        const int64_t rowBytes = k / f.blockValues * f.blockBytes;
        for (int64_t nr : {4, 16}) {
          double ns = medianNs(
              [&] {
                dot(w.data(), rowBytes, xq.data(), xrb, y.data(), n, rows, 0, n,
                    blocks, 4, nr);
              },
              std::max(3, repeats / 10));
          std::printf(
              "%-11s %-5s %4lld %5lld %6lld %3d,%-2lld %10.1f %8.2f %8.2f\n",
              isa, f.name, static_cast<long long>(rows),
              static_cast<long long>(k), static_cast<long long>(n), 4,
              static_cast<long long>(nr), ns / 1000,
              static_cast<double>(w.size()) / ns, 2.0 * rows * k * n / ns);
        }
      }
    }
  }

  // F16 weights: normal halves of magnitude [2^-6, 2^-2) (exponents 9 .. 12);
  // BF16 weights: the same values truncated to bf16.
  const int64_t k = 576, n = 1536, prefillRows = 64;
  std::vector<uint16_t> wF16(n * k), wBF16(n * k);
  for (int64_t i = 0; i < n * k; ++i) {
    wF16[i] = static_cast<uint16_t>((rng() & 1) << 15 | (9 + rng() % 4) << 10 |
                                    (rng() & 0x3ff));
    const float f = microKernelHalfToFloat(wF16[i]);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    wBF16[i] = static_cast<uint16_t>(bits >> 16);
  }
  std::vector<float> x(prefillRows * k), y(prefillRows * n);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float &v : x)
    v = normal(rng);
  std::printf("\n%-11s %-5s %4s %5s %6s %5s %11s %8s %8s\n", "isa", "fmt",
              "rows", "K", "N", "mr,nr", "us/call", "GB/s", "GFLOP/s");
  for (const char *isa : getMicroKernelISAs()) {
    if (!isMicroKernelISASupported(isa))
      continue;
    for (const char *fmt : {"f16", "bf16"}) {
      auto dot = reinterpret_cast<DotF16Fn>(
          findMicroKernel(std::string("haqa_uk_dot_") + fmt + "_" + isa));
      const std::vector<uint16_t> &w =
          std::strcmp(fmt, "f16") == 0 ? wF16 : wBF16;
      const int64_t runs[][3] = {
          {1, 1, 4}, {prefillRows, 4, 2}, {prefillRows, 4, 4}};
      for (const auto &run : runs) {
        const int64_t rows = run[0], mr = run[1], nr = run[2];
        double ns = medianNs(
            [&] {
              dot(w.data(), k, x.data(), k, y.data(), n, rows, 0, n, k, mr, nr);
            },
            repeats);
        std::printf(
            "%-11s %-5s %4lld %5lld %6lld %3lld,%lld %11.1f %8.2f %8.2f\n", isa,
            fmt, static_cast<long long>(rows), static_cast<long long>(k),
            static_cast<long long>(n), static_cast<long long>(mr),
            static_cast<long long>(nr), ns / 1000,
            static_cast<double>(w.size() * sizeof(uint16_t)) / ns,
            2.0 * rows * k * n / ns);
      }
    }
  }
  return 0;
}
