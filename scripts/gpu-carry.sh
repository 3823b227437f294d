#!/usr/bin/env bash
# Prepares .gpu-carry/ (git-ignored) for running HAQA on a lent GPU machine
# that has no network and no LLVM: .gpu-carry/debs holds the Debian packages
# of the shared libraries this build links against that such a machine may
# lack (libLLVM and libMLIR 22, z3, ICU 72, libxml2, libedit: about 63 MB),
# .gpu-carry/bin the tools (11 MB). Together they exceed one call's 64 MiB:
# carry .gpu-carry/debs in a first call that unpacks them (the warm machine
# keeps /tmp), then .gpu-carry/bin. On the GPU machine:
#
#   bash scripts/gpu-carry.sh --unpack     # first call: libraries under /tmp/haqa-deps
#   export LD_LIBRARY_PATH=/tmp/haqa-deps/usr/lib/llvm-22/lib:/tmp/haqa-deps/usr/lib/x86_64-linux-gnu
#   .gpu-carry/bin/haqa-bench --target cuda
#
# scripts/gpu-check.sh --prebuilt .gpu-carry/bin does the same and runs the
# checks it can without lit (the CUDA kernels and their timings).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.gpu-carry
if [[ ${1:-} == --unpack ]]; then
  mkdir -p /tmp/haqa-deps
  for f in "$DIR"/debs/*.deb; do dpkg -x "$f" /tmp/haqa-deps; done
  echo "LD_LIBRARY_PATH=/tmp/haqa-deps/usr/lib/llvm-22/lib:/tmp/haqa-deps/usr/lib/x86_64-linux-gnu"
  exit 0
fi
[[ -x build/bin/haqa-bench ]] || { echo "gpu-carry.sh: build first (scripts/setup.sh)" >&2; exit 1; }
rm -rf "$DIR" && mkdir -p "$DIR/debs"
(cd "$DIR/debs" && apt-get download libllvm22 libmlir-22 libz3-4 libicu72 \
  libxml2 libedit2 >/dev/null 2>&1)
cp -r build/bin "$DIR/bin"
du -sh "$DIR/debs" "$DIR/bin"
