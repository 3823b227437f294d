#!/usr/bin/env bash
# Packs what a lent GPU machine (no network, no LLVM) needs to run HAQA's
# CUDA checks into .gpu-carry/ (git-ignored), small enough for one call of
# the device tool (64 MiB):
#
#   libs.tar.xz   libLLVM and libMLIR 22 and every other shared library the
#                 tools need beyond glibc and libstdc++ (about 47 MB); z3,
#                 which libLLVM links for a solver HAQA never calls, is a
#                 stub that aborts if it ever is (saves 7 MB); libomp and
#                 the MLIR runner utilities the CPU JIT loads
#   tools.tar.xz  build/bin, build/test/lit.site.cfg.py, FileCheck, not,
#                 count and lit (about 2 MB)
#   wheels/       gguf (the tests' fixture makers write GGUF)
#
# Here:   bash scripts/gpu-carry.sh          (after scripts/setup.sh)
# There:  source scripts/gpu-carry.sh --unpack   (not in a pipeline: the
#         exports must reach the shell that runs gpu-check.sh)
#   unpacks the libraries under /tmp/haqa-deps (keeping only those the
#   machine lacks, LLVM and MLIR always), restores build/ with the paths of
#   that checkout, installs the wheels, and exports LD_LIBRARY_PATH,
#   HAQA_LLVM_LIB_DIR and LIT.
#   scripts/gpu-check.sh --skip-build then runs everything.
CARRY_DIR=.gpu-carry
LLVM=/usr/lib/llvm-22

if [[ ${1:-} == --unpack ]]; then
  cd "$(dirname "${BASH_SOURCE[0]}")/.." || return 1
  DEPS=/tmp/haqa-deps
  rm -rf "$DEPS" && mkdir -p "$DEPS"
  tar -xJf "$CARRY_DIR/libs.tar.xz" -C "$DEPS" || return 1
  for f in "$DEPS"/lib/*; do
    n=$(basename "$f")
    case $n in libLLVM*|libMLIR*|libz3*|libomp.so|libmlir_*) continue ;; esac
    if ldconfig -p | grep -q "^[[:space:]]$n "; then rm -f "$f"; fi
  done
  echo "gpu-carry: carried libraries used: $(cd "$DEPS/lib" && echo *)"
  tar -xJf "$CARRY_DIR/tools.tar.xz" || return 1
  sed -i -e "s|@SRC@|$PWD|g" -e "s|@LLVM_BIN@|$PWD/$CARRY_DIR/llvm/bin|g" \
    build/test/lit.site.cfg.py
  python3 -m pip install -q --no-index --no-deps --disable-pip-version-check \
    "$CARRY_DIR"/wheels/*.whl 2>&1 | grep -v WARNING || true
  export LD_LIBRARY_PATH=$DEPS/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export HAQA_LLVM_LIB_DIR=$DEPS/lib
  export LIT="python3 $PWD/$CARRY_DIR/llvm/bin/lit.py"
  export PATH=$PWD/$CARRY_DIR/llvm/bin:$PATH
  return 0 2>/dev/null || exit 0
fi

set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/bin/haqa-bench ]] || {
  echo "gpu-carry.sh: build first (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$CARRY_DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TOOLS=(build/bin/* "$LLVM/bin/FileCheck" "$LLVM/bin/not" "$LLVM/bin/count")

# Libraries: rebuilt only when the LLVM build changes (xz -9e takes minutes).
STAMP=$(md5sum "$LLVM/lib/libLLVM.so.22.1" "$LLVM/lib/libMLIR.so.22.1" | md5sum | cut -c1-12)
if [[ ! -f $CARRY_DIR/libs.tar.xz || $(cat "$CARRY_DIR/libs.stamp" 2>/dev/null) != "$STAMP" ]]; then
  mkdir -p "$TMP/lib"
  for t in "${TOOLS[@]}"; do ldd "$t"; done | awk '$3 ~ /^\// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libresolv|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libz3)\.so' |
    while read -r lib; do cp -L "$lib" "$TMP/lib/"; done
  # The solver libLLVM links and HAQA never calls: every function it imports
  # from libz3, defined to abort.
  nm -D --undefined-only "$LLVM/lib/libLLVM.so.22.1" | awk '$2 ~ /^Z3_/ {print $2}' |
    sed 's/@.*//' | sort -u |
    awk 'BEGIN {print "#include <stdlib.h>"} {print "void " $1 "(void) { abort(); }"}' \
      > "$TMP/z3stub.c"
  gcc -shared -fPIC -O1 -Wl,-soname,libz3.so.4 -o "$TMP/lib/libz3.so.4" "$TMP/z3stub.c"
  # Loaded by the CPU JIT (OpenMP, memrefCopy), found through HAQA_LLVM_LIB_DIR.
  cp -L "$LLVM/lib/libomp.so.5" "$TMP/lib/libomp.so"
  cp -L "$LLVM/lib/libmlir_c_runner_utils.so" "$TMP/lib/"
  ldd "$LLVM/lib/libmlir_c_runner_utils.so" | awk '$3 ~ /libmlir_/ {print $3}' |
    while read -r lib; do cp -L "$lib" "$TMP/lib/"; done
  tar -C "$TMP" -cf - lib | xz -9e -T0 > "$CARRY_DIR/libs.tar.xz"
  echo "$STAMP" > "$CARRY_DIR/libs.stamp"
fi

# Tools and the lit configuration, with this checkout's paths as markers.
mkdir -p "$TMP/t/build/test" "$TMP/t/build/include/haqa" "$TMP/t/$CARRY_DIR/llvm/bin"
cp -r build/bin "$TMP/t/build/bin"
cp build/include/haqa/Version.inc "$TMP/t/build/include/haqa/"
sed -e "s|$PWD|@SRC@|g" -e "s|$LLVM/bin|@LLVM_BIN@|g" build/test/lit.site.cfg.py \
  > "$TMP/t/build/test/lit.site.cfg.py"
cp "$LLVM/bin/FileCheck" "$LLVM/bin/not" "$LLVM/bin/count" "$TMP/t/$CARRY_DIR/llvm/bin/"
cp -r "$LLVM/utils/lit/lit" "$TMP/t/$CARRY_DIR/llvm/bin/lit"
printf 'import sys\nfrom lit.main import main\nmain()\n' > "$TMP/t/$CARRY_DIR/llvm/bin/lit.py"
tar -C "$TMP/t" -cf - build "$CARRY_DIR/llvm" | xz -9 -T0 > "$CARRY_DIR/tools.tar.xz"

rm -rf "$CARRY_DIR/wheels" && mkdir -p "$CARRY_DIR/wheels"
GGUF=$(python3 -c 'import importlib.metadata as m; print(m.version("gguf"))')
python3 -m pip download -q --no-deps --only-binary=:all: -d "$CARRY_DIR/wheels" "gguf==$GGUF"
du -ch "$CARRY_DIR"/libs.tar.xz "$CARRY_DIR"/tools.tar.xz "$CARRY_DIR"/wheels/* | tail -1
