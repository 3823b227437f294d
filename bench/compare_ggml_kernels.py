#!/usr/bin/env python3
"""The paper's Table 3 kernels: ggml's CPU backend against HAQA, side by side.

For every kernel and shape this runs, in one go on the same machine:
  * ggml (bench/ggml_kernels.c, built against the llama.cpp that
    bench/build_llamacpp.sh builds into the cache folder),
  * HAQA with its default schedule (haqa-bench --json),
  * HAQA with the best schedule of a seeded random sweep of the CPU schedule
    space (tile per dimension, loop order, vector width, unroll, host
    threads, prefetch for matmul): every candidate is compiled, checked
    against the reference executor and timed by haqa-bench in a child
    process; failures are counted by kind, never dropped.
It prints a table with the ratio ggml time / HAQA time (above 1: HAQA is
faster) and, with --json-out, writes every candidate's measurement.

  python3 bench/compare_ggml_kernels.py --samples 32 --seed 0
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAQA_BENCH = os.path.join(ROOT, "build", "bin", "haqa-bench")

# Kernel dimensions in the order of the haqa op's iteration space (the order
# #haqa.schedule's tile and order fields index), from the ggml-order shape.
def kernel_dims(kernel, ne):
    a, b, c = ne
    return {
        "softmax": [c, b, a],
        "silu": [b, a],
        "rms_norm": [b, a],
        "rope": [b, c, a],
        "matmul": [b, c, a],
    }[kernel]


def table3(tokens):
    specs = []
    for t in tokens:
        specs += [("softmax", (1024, t, 32), "f32"), ("silu", (11008, t, 1), "f32"),
                  ("rms_norm", (4096, t, 1), "f32"), ("rope", (128, t, 1), "f32")]
        specs += [("matmul", (2048, t, 2048), w) for w in ("f16", "q8_0", "q4_0")]
    return specs


def random_schedule(rng, kernel, ne, threads):
    dims = kernel_dims(kernel, ne)
    tile = []
    for i, extent in enumerate(dims):
        last = i == len(dims) - 1
        choices = [16, 32, 64, 128, 256, 512, 1024] if last else [1, 2, 4, 8, 16, 32, 64]
        choices = [c for c in choices if c <= extent] or [extent]
        tile.append(rng.choice(choices))
    order = list(range(len(dims)))
    rng.shuffle(order)
    s = {"tile": tile, "order": order,
         "vector": rng.choice([1, 4, 8, 16, 32]),
         "unroll": rng.choice([1, 2, 4, 8]),
         "cpu_threads": rng.choice(sorted({1, threads}))}
    if kernel == "matmul":
        s["prefetch"] = rng.choice([0, 1, 2, 4, 8])
    return s


def haqa_bench(kernel, ne, weights, schedule, repeats, timeout, threads):
    # --host-threads: the default schedule uses at most as many threads as ggml.
    cmd = [HAQA_BENCH, "--json", "--no-peak", "--kernel", kernel,
           "--shape", ",".join(map(str, ne)), "--weights", weights,
           "--repeats", str(repeats), "--timeout", str(timeout),
           "--host-threads", str(threads)]
    if schedule is not None:
        cmd += ["--schedule", json.dumps(schedule)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return {"status": "no-output", "message": (p.stderr or "").strip()[:300]}


def build_ggml_kernels():
    bin_dir = subprocess.run(["bash", os.path.join(ROOT, "bench", "build_llamacpp.sh")],
                             check=True, capture_output=True, text=True).stdout.strip()
    cache = os.path.dirname(os.path.dirname(bin_dir))
    exe = os.path.join(cache, "ggml_kernels")
    src = os.path.join(ROOT, "bench", "ggml_kernels.c")
    if os.path.exists(exe) and os.path.getmtime(exe) > os.path.getmtime(src):
        return exe
    lib = os.path.join(cache, "build", "ggml", "src")
    inc = os.path.join(cache, "src", "vendor", "llama.cpp", "ggml", "include")
    subprocess.run(["gcc", "-O2", "-march=native", "-I" + inc, src, "-o", exe,
                    os.path.join(lib, "libggml.a"), os.path.join(lib, "libggml-cpu.a"),
                    os.path.join(lib, "libggml-base.a"), "-lstdc++", "-fopenmp", "-lm",
                    "-lpthread"], check=True)
    return exe


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="ggml threads and HAQA's most")
    ap.add_argument("--tokens", default="1,64,128", help="Table 3 token counts")
    ap.add_argument("--kernels", default="", help="only these kernels (comma list)")
    ap.add_argument("--samples", type=int, default=32, help="random schedules per kernel")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=10, help="haqa-bench timed runs")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per candidate")
    ap.add_argument("--json-out", help="write every measurement here")
    args = ap.parse_args()
    if not os.access(HAQA_BENCH, os.X_OK):
        sys.exit(f"compare_ggml_kernels: {HAQA_BENCH} not built (run scripts/setup.sh)")
    tokens = [int(t) for t in args.tokens.split(",")]
    specs = table3(tokens)
    if args.kernels:
        keep = set(args.kernels.split(","))
        specs = [s for s in specs if s[0] in keep]

    exe = build_ggml_kernels()
    ggml = {}
    out = subprocess.run([exe, str(args.threads), args.tokens, "20"], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        r = json.loads(line)
        ggml[(r["kernel"], tuple(r["shape"]), r["weights"])] = r

    rng = random.Random(args.seed)
    rows, log = [], []
    t0 = time.time()
    for i, (kernel, ne, w) in enumerate(specs):
        default = haqa_bench(kernel, ne, w, None, args.repeats, args.timeout, args.threads)
        trials = [("default", None, default)]
        for _ in range(args.samples):
            s = random_schedule(rng, kernel, ne, args.threads)
            trials.append(("random", s, haqa_bench(kernel, ne, w, s, args.repeats, args.timeout,
                                                   args.threads)))
        fails = collections.Counter(r["status"] for _, _, r in trials if r["status"] != "ok")
        ok = [(r["median_ms"], s, r) for _, s, r in trials if r["status"] == "ok"]
        best = min(ok, key=lambda x: x[0]) if ok else None
        g = ggml.get((kernel, ne, w))
        rows.append((kernel, ne, w, g, default, best, fails))
        for kind, s, r in trials:
            log.append({"kernel": kernel, "shape": ne, "weights": w, "kind": kind,
                        "schedule": s, "result": r})
        print(f"[{i + 1}/{len(specs)}] {kernel} {list(ne)} {w}: "
              f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    print(f"# threads {args.threads}, {args.samples} random schedules per kernel "
          f"(seed {args.seed}), haqa-bench --repeats {args.repeats}; times are medians in ms")
    print(f"# ratio = ggml ms / HAQA ms (above 1: HAQA faster)")
    hdr = (f"{'kernel':<28} {'ggml':>9} {'HAQA def':>9} {'ratio':>6} {'HAQA best':>9} "
           f"{'ratio':>6}  {'failed':<18} best schedule")
    print(hdr)
    for kernel, ne, w, g, default, best, fails in rows:
        label = f"{kernel} [{','.join(map(str, ne))}]" + (f" {w}" if kernel == "matmul" else "")
        gms = g["median_ms"] if g else float("nan")
        dms = default.get("median_ms", float("nan"))
        bms = best[0] if best else float("nan")
        sched = json.dumps(best[1]) if best and best[1] is not None else "(default)"
        failed = ",".join(f"{k}:{v}" for k, v in sorted(fails.items())) or "-"
        print(f"{label:<28} {gms:9.4f} {dms:9.4f} {gms / dms:6.2f} {bms:9.4f} "
              f"{gms / bms:6.2f}  {failed:<18} {sched}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"ggml": list(ggml.values()), "haqa": log}, f, indent=1)


if __name__ == "__main__":
    main()
