#!/usr/bin/env bash
# HAQA on a machine with an NVIDIA GPU: builds, runs the CUDA tests, the
# Table 3 kernel benchmark (default schedule vs the best of a tuning run) and
# end-to-end prefill / decode tokens/s at FP16 / INT8 / INT4 for SmolLM2 and
# the synthetic TinyLlama-shaped 1.1B model, against llama.cpp's CUDA build
# where one can be built here. Everything goes to $OUT (default
# out/gpu-check); the last lines print what to copy into
# docs/performance.md.
#
#   bash scripts/gpu-check.sh [--profile h100] [--rounds 10] [--skip-build]
#        [--skip-llamacpp] [--prebuilt DIR] [--out DIR]
#
# --prebuilt DIR: use the tools in DIR (scripts/gpu-carry.sh, for a machine
# without LLVM): no build, and the CUDA kernel checks run through haqa-bench
# instead of lit.
#
# Needs: the NVIDIA driver (libcuda.so.1), LLVM/MLIR 22 and a C++ toolchain
# for the build (or --skip-build with a build/ from the same source), the
# CUDA toolkit's ptxas for the PTX tests, and for the model runs the imports
# bench/compare_llamacpp.py makes (SmolLM2 from scripts/setup.sh, or a
# HAQA_CACHE carried over).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=""
ROUNDS=10
BUILD=1
LLAMACPP=1
PREBUILT=""
OUT=out/gpu-check
while [[ $# -gt 0 ]]; do
  case $1 in
    --profile) PROFILE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    --skip-llamacpp) LLAMACPP=0; shift ;;
    --prebuilt) PREBUILT=$2; BUILD=0; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "gpu-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check.sh: no NVIDIA GPU here (nvidia-smi finds none)" >&2
  exit 3
fi
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)
log "GPU: $GPU"
if [[ -z $PROFILE ]]; then
  case $GPU in
    *H100*|*H200*|*GH200*) PROFILE=h100 ;;
    *A100*) PROFILE=a100 ;;
    *A6000*) PROFILE=a6000 ;;
    *4090*) PROFILE=rtx4090 ;;
    *Orin*) PROFILE=jetson-orin ;;
    *) PROFILE=h100
       log "no profile matches '$GPU': using h100's limits (--profile to choose)" ;;
  esac
fi
log "profile: $PROFILE; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

if [[ $BUILD == 1 ]]; then
  log "build"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >"$OUT/build.log" 2>&1
  ninja -C build -j"$(nproc)" >>"$OUT/build.log" 2>&1
fi
BIN=${PREBUILT:-build/bin}
export HAQA_HARDWARE_DIR=${HAQA_HARDWARE_DIR:-$PWD/hardware}
LIT=${LIT:-$(command -v lit || echo /usr/lib/llvm-22/bin/lit)}

if [[ -z $PREBUILT && -x $LIT ]]; then
  log "CUDA tests (lit: the GPU target and runtime)"
  "$LIT" -v build/test/Target/GPU build/test/Runtime/cuda-kernels.test \
    build/test/Runtime/gpu-on-cpu.test 2>&1 | tee "$OUT/lit.log" | tail -4
else
  log "CUDA kernels against the reference executor (haqa-bench)"
  {
    "$BIN/haqa-bench" --target cuda --repeats 3 --kernel matmul --shape 256,3,48 \
      --weights f32,f16,bf16,q8_0,q4_0,q4_1
    for k in "softmax 100,3,2" "rms_norm 300,2,1" "rope 16,3,2" "silu 1000,2,1" \
             "swiglu 100,2,1" "add 200,3,1" "mul 64,1,1"; do
      set -- $k
      "$BIN/haqa-bench" --target cuda --repeats 3 --kernel "$1" --shape "$2"
    done
    "$BIN/haqa-bench" --target cuda --repeats 3 --kernel matmul --shape 512,4,64 \
      --weights q4_0,q8_0 --schedule '{"tile": [2, 16, 128], "threads": [16, 8],
      "vector": 4, "unroll": 2, "grid": [3], "placement": ["shared", "global", "register"]}'
  } 2>&1 | tee "$OUT/kernels.log" || log "some kernels failed: see $OUT/kernels.log"
fi
if [[ -x $BIN/haqa-unittests ]]; then
  "$BIN/haqa-unittests" --gtest_filter='CUDADevice.*' 2>&1 | tee "$OUT/gtest.log" | tail -3
fi

log "Table 3 kernels, default CUDA schedules"
"$BIN/haqa-bench" --target cuda --repeats 20 | tee "$OUT/table3-default.txt"
log "Table 3 kernels, tuned on this GPU: random search, $ROUNDS rounds (default vs best)"
"$BIN/haqa-compile" --table3 --target "$PROFILE" --strategy random \
  --rounds "$ROUNDS" --seed 0 -o "$OUT/tune" 2>&1 | tee "$OUT/table3-tuned.txt"

log "end to end: HAQA on the GPU vs llama.cpp's CUDA build (same weight bytes)"
if [[ $LLAMACPP == 1 ]]; then
  python3 bench/compare_llamacpp.py --gpu "$PROFILE" --models smollm2,tinyllama \
    --bits 16,8,4 -p 128 -n 128 -r 3 2>&1 | tee "$OUT/e2e.txt" || {
      log "llama.cpp (CUDA) comparison failed (see $OUT/e2e.txt); HAQA alone:"
      LLAMACPP=0
    }
fi
if [[ $LLAMACPP == 0 ]]; then
  CACHE=${HAQA_CACHE:-$HOME/.cache/haqa}
  for m in smollm2 tinyllama; do
    for b in 16 8 4; do
      dir=$CACHE/bench/import/$m-$b
      if [[ -f $dir/model.mlir ]]; then
        echo "$m bits=$b" | tee -a "$OUT/e2e-haqa.txt"
        "$BIN/haqa-bench" --model "$dir" --target cuda --prompt-tokens 128 \
          --gen-tokens 128 --repeats 3 2>&1 | tee -a "$OUT/e2e-haqa.txt"
      else
        log "missing $dir (run bench/compare_llamacpp.py once on a CPU machine)"
      fi
    done
  done
fi
log "done: results in $OUT; put them in docs/performance.md with the GPU model above"
