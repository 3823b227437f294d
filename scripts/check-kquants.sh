#!/usr/bin/env bash
# Checks HAQA's K-quant codecs (lib/Weights/KQuants.cpp) against ggml's: the
# bytes of quantizeQ4_KBlock / quantizeQ6_KBlock against quantize_row_q4_K_ref
# / quantize_row_q6_K_ref on random rows of many shapes (normal, uniform,
# outliers, all zero, constant, tiny, small, large, one-signed, sparse, ties,
# spread magnitudes, some sub-blocks zero), and the floats of
# dequantizeQ4_KBlock / dequantizeQ6_KBlock against dequantize_row_q4_K /
# _q6_K on those blocks and on random bytes. Exit 1 on the first mismatch
# (printed), 77 without the llama.cpp build.
#   bash scripts/check-kquants.sh [blocks per kind, default 2000] [seed]
# Builds twice: g++ -O2, and -O3 -march=native (FMA available: the codecs
# must not contract). Needs the llama.cpp build of bench/build_llamacpp.sh
# (libggml-base.a); HAQA_LLAMACPP_CACHE points elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
PER_KIND=${1:-2000}
SEED=${2:-1}
CACHE=${HAQA_LLAMACPP_CACHE:-${HAQA_CACHE:-$HOME/.cache/haqa}/llama.cpp}
GGML_SRC=$CACHE/src/vendor/llama.cpp/ggml
GGML_LIB=$CACHE/build/ggml/src/libggml-base.a
if [[ ! -f $GGML_LIB || ! -d $GGML_SRC/include ]]; then
  echo "check-kquants: no llama.cpp build at $CACHE (want $GGML_LIB)." >&2
  echo "Build it with: bench/build_llamacpp.sh" >&2
  exit 77
fi
CXX=${CXX:-g++}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat > "$TMP/driver.cpp" <<'EOF'
#include "haqa/Weights/KQuants.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

// ggml's entry points (C linkage; the block structs are plain bytes here).
extern "C" {
void quantize_row_q4_K_ref(const float *x, void *y, int64_t k);
void quantize_row_q6_K_ref(const float *x, void *y, int64_t k);
void dequantize_row_q4_K(const void *x, float *y, int64_t k);
void dequantize_row_q6_K(const void *x, float *y, int64_t k);
}

using namespace mlir::haqa;

static const char *kKinds[] = {
    "normal",   "uniform", "outliers", "zero",   "constant", "tiny",
    "small",    "large",   "positive", "negative", "sparse", "ties",
    "spread",   "zero-subblocks", "mixed-scale-subblocks"};
constexpr int kNumKinds = sizeof(kKinds) / sizeof(kKinds[0]);

static void fill(int kind, std::mt19937 &rng, float *x) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  switch (kind) {
  case 0: for (int i = 0; i < 256; ++i) x[i] = normal(rng); break;
  case 1: for (int i = 0; i < 256; ++i) x[i] = 2 * unit(rng) - 1; break;
  case 2:
    for (int i = 0; i < 256; ++i) x[i] = normal(rng) * 0.02f;
    for (int k = 0; k < 4; ++k) x[rng() % 256] = normal(rng) * 10;
    break;
  case 3: for (int i = 0; i < 256; ++i) x[i] = 0; break;
  case 4: {
    float c = normal(rng);
    for (int i = 0; i < 256; ++i) x[i] = c;
    break;
  }
  case 5: for (int i = 0; i < 256; ++i) x[i] = normal(rng) * 1e-30f; break;
  case 6: for (int i = 0; i < 256; ++i) x[i] = normal(rng) * 1e-5f; break;
  case 7: for (int i = 0; i < 256; ++i) x[i] = normal(rng) * 1e4f; break;
  case 8: for (int i = 0; i < 256; ++i) x[i] = unit(rng) + 0.5f; break;
  case 9: for (int i = 0; i < 256; ++i) x[i] = -std::fabs(normal(rng)); break;
  case 10:
    for (int i = 0; i < 256; ++i) x[i] = unit(rng) < 0.1f ? normal(rng) : 0;
    break;
  case 11: // small integers and halves: many exact ties in the roundings
    for (int i = 0; i < 256; ++i) x[i] = 0.5f * (int(rng() % 33) - 16);
    break;
  case 12: // each value of its own magnitude, 1e-8 .. 1e4
    for (int i = 0; i < 256; ++i)
      x[i] = normal(rng) * std::pow(10.0f, -8 + 12 * unit(rng));
    break;
  case 13: // whole 16-value sub-blocks zero
    for (int i = 0; i < 256; ++i) x[i] = normal(rng);
    for (int s = 0; s < 16; ++s)
      if (rng() % 3 == 0)
        for (int i = 0; i < 16; ++i) x[16 * s + i] = 0;
    break;
  default: // each 16-value sub-block of its own magnitude and sign bias
    for (int s = 0; s < 16; ++s) {
      float mag = std::pow(10.0f, -6 + 8 * unit(rng));
      float bias = (unit(rng) - 0.5f) * 3;
      for (int i = 0; i < 16; ++i) x[16 * s + i] = (normal(rng) + bias) * mag;
    }
    break;
  }
}

static bool sameFloat(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, 4) == 0;
}

static void dumpBlock(const char *what, const uint8_t *p, int n) {
  std::printf("  %s:", what);
  for (int i = 0; i < n; ++i)
    std::printf("%s%02x", i % 32 ? " " : "\n    ", p[i]);
  std::printf("\n");
}

struct Format {
  const char *name;
  int bytes;
  void (*mine)(const float *, uint8_t *);
  void (*theirs)(const float *, void *, int64_t);
  void (*mineDeq)(const uint8_t *, float *);
  void (*theirsDeq)(const void *, float *, int64_t);
};

static bool check(const Format &f, int perKind, unsigned seed) {
  std::mt19937 rng(seed);
  float x[256], a[256], b[256];
  std::vector<uint8_t> mine(f.bytes), theirs(f.bytes);
  long total = 0, same = 0, deqTotal = 0, deqSame = 0;
  for (int kind = 0; kind < kNumKinds; ++kind)
    for (int n = 0; n < perKind; ++n) {
      fill(kind, rng, x);
      f.mine(x, mine.data());
      f.theirs(x, theirs.data(), 256);
      ++total;
      if (std::memcmp(mine.data(), theirs.data(), f.bytes) != 0) {
        int at = 0;
        while (mine[at] == theirs[at]) ++at;
        std::printf("%s: block %d of kind %s differs at byte %d\n", f.name, n,
                    kKinds[kind], at);
        std::printf("  input:");
        for (int i = 0; i < 256; ++i)
          std::printf("%s%a", i % 8 ? " " : "\n    ", x[i]);
        std::printf("\n");
        dumpBlock("haqa", mine.data(), f.bytes);
        dumpBlock("ggml", theirs.data(), f.bytes);
        return false;
      }
      ++same;
      f.mineDeq(theirs.data(), a);
      f.theirsDeq(theirs.data(), b, 256);
      ++deqTotal;
      int bad = -1;
      for (int i = 0; i < 256 && bad < 0; ++i)
        if (!sameFloat(a[i], b[i])) bad = i;
      if (bad >= 0) {
        std::printf("%s dequantize: block %d of kind %s differs at value %d: "
                    "haqa %a ggml %a\n", f.name, n, kKinds[kind], bad, a[bad],
                    b[bad]);
        return false;
      }
      ++deqSame;
    }
  // Decoders on arbitrary bytes (any scales, any codes, NaN/inf halves).
  for (int n = 0; n < perKind * 4; ++n) {
    for (int i = 0; i < f.bytes; ++i) theirs[i] = uint8_t(rng());
    f.mineDeq(theirs.data(), a);
    f.theirsDeq(theirs.data(), b, 256);
    ++deqTotal;
    for (int i = 0; i < 256; ++i)
      if (!sameFloat(a[i], b[i])) {
        std::printf("%s dequantize: random block %d differs at value %d: "
                    "haqa %a ggml %a\n", f.name, n, i, a[i], b[i]);
        dumpBlock("block", theirs.data(), f.bytes);
        return false;
      }
    ++deqSame;
  }
  std::printf("%s: %ld/%ld blocks identical\n", f.name, same, total);
  std::printf("%s dequantize: %ld/%ld blocks identical\n", f.name, deqSame,
              deqTotal);
  return true;
}

int main(int argc, char **argv) {
  int perKind = argc > 1 ? std::atoi(argv[1]) : 2000;
  unsigned seed = argc > 2 ? unsigned(std::atoi(argv[2])) : 1;
  Format q4{"Q4_K", int(kQ4_KBytes), quantizeQ4_KBlock, quantize_row_q4_K_ref,
            dequantizeQ4_KBlock, dequantize_row_q4_K};
  Format q6{"Q6_K", int(kQ6_KBytes), quantizeQ6_KBlock, quantize_row_q6_K_ref,
            dequantizeQ6_KBlock, dequantize_row_q6_K};
  bool ok = check(q4, perKind, seed);
  ok = check(q6, perKind, seed + 1) && ok;
  return ok ? 0 : 1;
}
EOF

build() { # name, flags...
  local name=$1; shift
  "$CXX" -std=c++17 "$@" -Iinclude "$TMP/driver.cpp" lib/Weights/KQuants.cpp \
    "$GGML_LIB" -lm -lpthread -fopenmp -o "$TMP/$name"
}
STATUS=0
for variant in "O2:-O2" "native:-O3 -march=native"; do
  name=${variant%%:*}
  read -r -a flags <<< "${variant#*:}"
  build "$name" "${flags[@]}"
  echo "== $CXX ${flags[*]}"
  "$TMP/$name" "$PER_KIND" "$SEED" || STATUS=1
done
exit $STATUS
