#!/usr/bin/env bash
# Builds the llama.cpp bundled in PyPI's llama-cpp-python source package into
# a cache folder (never the repo): llama-bench and llama-quantize, CPU
# backend, -march=native with AMX off (GCC 12 drops AMX tile-config stores:
# prompt processing of quantized models crashes otherwise; see
# ../shared/docs/toolchain.md). Prints the bin directory. --server also
# builds llama-server (the OpenAI-compatible server, for the LLM agent bench).
# --cuda builds llama-bench with the CUDA backend instead (needs nvcc; into
# build-cuda/, for the chip of this machine's GPU). A machine without network
# can point HAQA_LLAMACPP_SRC at an unpacked llama-cpp-python source.
#   bench/build_llamacpp.sh [--server | --cuda] [cache-dir]
set -euo pipefail
SERVER=OFF
CUDA=OFF
if [[ ${1:-} == --server ]]; then SERVER=ON; shift; fi
if [[ ${1:-} == --cuda ]]; then CUDA=ON; shift; fi
CACHE=${1:-${HAQA_CACHE:-$HOME/.cache/haqa}/llama.cpp}
BUILD=$CACHE/build
[[ $CUDA == ON ]] && BUILD=$CACHE/build-cuda
BIN=$BUILD/bin
if [[ -x $BIN/llama-bench && -x $BIN/llama-quantize &&
      ( $SERVER == OFF || -x $BIN/llama-server ) ]]; then
  echo "$BIN"; exit 0
fi
mkdir -p "$CACHE"
if [[ -n ${HAQA_LLAMACPP_SRC:-} && ! -d $CACHE/src ]]; then
  ln -s "$HAQA_LLAMACPP_SRC" "$CACHE/src"
fi
if [[ ! -d $CACHE/src ]]; then
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$CACHE/dl" \
    llama-cpp-python >&2
  tarball=$(ls "$CACHE"/dl/llama_cpp_python-*.tar.gz | head -1)
  mkdir -p "$CACHE/src"
  tar -xzf "$tarball" -C "$CACHE/src" --strip-components=1
fi
NOAMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
EXTRA=()
JOBS=2
if [[ $CUDA == ON ]]; then
  NVCC=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  [[ -x $NVCC ]] || { echo "build_llamacpp.sh: --cuda needs nvcc" >&2; exit 1; }
  EXTRA=(-DGGML_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC"
         -DCMAKE_CUDA_ARCHITECTURES=${HAQA_CUDA_ARCH:-native})
  JOBS=$(nproc)
fi
cmake -S "$CACHE/src/vendor/llama.cpp" -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=$SERVER \
  -DCMAKE_C_FLAGS="$NOAMX" -DCMAKE_CXX_FLAGS="$NOAMX" "${EXTRA[@]}" >&2
TARGETS=(llama-bench llama-quantize)
[[ $SERVER == ON ]] && TARGETS+=(llama-server)
cmake --build "$BUILD" -j"$JOBS" --target "${TARGETS[@]}" >&2
echo "$BIN"
