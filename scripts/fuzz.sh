#!/usr/bin/env bash
# Builds the libFuzzer targets for the GGUF and safetensors readers, the
# tokenizers and the JSON-mode recognizer (against LLVM's JSON parser) with
# clang (ASan + UBSan) and runs each for a while.
#   bash scripts/fuzz.sh [seconds per target, default 60]
# Corpora and crashes go to build-fuzz/. Needs clang with libFuzzer
# (Debian: clang-14, libclang-rt-14-dev comes with it).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
OUT=build-fuzz
mkdir -p $OUT
CXX=${CXX_FUZZ:-clang++}
FLAGS=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Iinclude -Ibuild/include -isystem /usr/lib/llvm-22/include
       -D_GLIBCXX_USE_CXX11_ABI=1)
LIBS=(-L/usr/lib/llvm-22/lib -Wl,-rpath,/usr/lib/llvm-22/lib -lLLVM)
# The reader, its block table, the dequantizers and the file opener: no MLIR
# needed.
READER=(lib/Weights/GGUF.cpp lib/Weights/Dequantize.cpp
        lib/Dialect/HAQA/IR/GGMLTypes.cpp lib/Support/InputFiles.cpp
        lib/Support/Parsing.cpp)
$CXX "${FLAGS[@]}" fuzz/gguf_fuzzer.cpp "${READER[@]}" "${LIBS[@]}" -o $OUT/gguf_fuzzer
$CXX "${FLAGS[@]}" fuzz/safetensors_fuzzer.cpp llama-import/Safetensors.cpp \
  "${READER[@]}" "${LIBS[@]}" -o $OUT/safetensors_fuzzer
$CXX "${FLAGS[@]}" fuzz/tokenizer_fuzzer.cpp lib/Tokenizer/Tokenizer.cpp \
  "${READER[@]}" "${LIBS[@]}" -o $OUT/tokenizer_fuzzer
$CXX "${FLAGS[@]}" fuzz/json_prefix_fuzzer.cpp lib/Support/JSONPrefix.cpp \
  "${LIBS[@]}" -o $OUT/json_prefix_fuzzer

# Seeds: small valid files, written by the fixture maker when present.
mkdir -p $OUT/corpus-gguf $OUT/corpus-safetensors $OUT/corpus-tokenizer \
  $OUT/corpus-json_prefix
# JSON seeds: objects of every kind of value.
printf '{"a": [1, -2.5e+3, true, false, null, "x\\u00e9\\n"], "b": {}}' > $OUT/corpus-json_prefix/seed1
printf '{ "k" : { "n" : [ [ ], [ { } ] ] } }' > $OUT/corpus-json_prefix/seed2
# Text seeds for the tokenizers: the license texts Debian ships, in pieces.
split -b 2048 /usr/share/common-licenses/GPL-3 $OUT/corpus-tokenizer/gpl- || true
if [ -d build/fixtures ]; then
  find build/fixtures -name '*.gguf' -size -512k -exec cp {} $OUT/corpus-gguf/ \;
  find build/fixtures -name '*.safetensors' -size -512k -exec cp {} $OUT/corpus-safetensors/ \;
fi
for t in gguf safetensors tokenizer json_prefix; do
  echo "== $t: ${SECONDS_PER_TARGET}s"
  (cd $OUT && ./${t}_fuzzer -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
     -rss_limit_mb=2048 -artifact_prefix=crash-$t- corpus-$t) 2>&1 | tail -n 5
done
