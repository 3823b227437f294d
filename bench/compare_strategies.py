#!/usr/bin/env python3
"""Equal-budget comparison of the search strategies on the Table 3 kernels.

Every strategy gets the same budget (--rounds trials per kernel) from each of
--seeds seeds, on the host CPU, through `haqa-compile --table3`; all trials go
to one records database (--retune: no strategy reuses another's results). A
long random search (--optimum-rounds trials per kernel) stands in for the
optimum. For each kernel and strategy it prints the median and interquartile
range over seeds of (a) the best latency reached, relative to the optimum, and
(b) the round at which it was reached; then the same aggregated over kernels.
The LLM agent joins when HAQA_LLM_BASE_URL (or --llm-base-url) is set.

  python3 bench/compare_strategies.py --tokens 1 --rounds 10 --seeds 5
"""
import argparse
import collections
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAQA_COMPILE = os.path.join(ROOT, "build", "bin", "haqa-compile")


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def run(args, strategy, seed, rounds, out, extra=()):
    cmd = [HAQA_COMPILE, "--table3", "--tokens", args.tokens, "--weights", args.weights,
           "--strategy", strategy, "--seed", str(seed), "--rounds", str(rounds),
           "--repeats", str(args.repeats), "--retune", "--records", args.records,
           "-o", out] + list(extra)
    if args.kernels:
        cmd += ["--kernels", args.kernels]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"compare_strategies: {' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    print(f"  {strategy:8} seed {seed}: {time.time() - t0:6.1f} s", file=sys.stderr, flush=True)
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", default="1")
    ap.add_argument("--weights", default="f16,q8_0,q4_0")
    ap.add_argument("--kernels", default="")
    ap.add_argument("--strategies", default="random,grid,local,bayes,nsga2")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--optimum-rounds", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "strategies"))
    ap.add_argument("--records", default="")
    ap.add_argument("--llm-base-url", default=os.environ.get("HAQA_LLM_BASE_URL", ""))
    ap.add_argument("--llm-model", default=os.environ.get("HAQA_LLM_MODEL", "local"))
    ap.add_argument("--llm-max-tokens", type=int, default=256)
    ap.add_argument("--no-run", action="store_true",
                    help="only analyze the records already in --out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not args.records:
        args.records = os.path.join(args.out, "records.sqlite")
    strategies = args.strategies.split(",")
    if args.llm_base_url and "llm" not in strategies:
        strategies.append("llm")

    if not args.no_run:
        print(f"optimum: random search, {args.optimum_rounds} rounds", file=sys.stderr)
        run(args, "random", 1000, args.optimum_rounds, os.path.join(args.out, "optimum"))
    for s in strategies if not args.no_run else []:
        for seed in range(args.seeds):
            extra = (["--llm-base-url", args.llm_base_url, "--llm-model", args.llm_model,
                      "--llm-max-tokens", str(args.llm_max_tokens), "--llm-timeout", "300"]
                     if s == "llm" else [])
            run(args, s, seed, args.rounds, os.path.join(args.out, f"{s}-{seed}"), extra)

    con = sqlite3.connect(args.records)
    rows = con.execute("SELECT kernel, strategy, seed, round, status, latency_ms, proposed_by "
                       "FROM trials ORDER BY kernel, strategy, seed, round").fetchall()
    kernels = sorted({r[0] for r in rows})
    optimum = {}
    for k in kernels:
        lat = [r[5] for r in rows if r[0] == k and r[4] == "ok"]
        optimum[k] = min(lat) if lat else float("nan")
    runs = collections.defaultdict(list)  # (kernel, strategy, seed) -> trials
    for r in rows:
        if r[1] == "random" and r[2] == 1000:
            continue
        runs[(r[0], r[1], r[2])].append(r)

    print(f"# {args.rounds} rounds per kernel, {args.seeds} seeds; optimum = best of all "
          f"trials (a {args.optimum_rounds}-round random search plus every strategy's)")
    print("# best: best latency reached / optimum (1.00 = optimum); round: when it was reached;"
          " median [q1, q3] over seeds; failed: trials that did not give a correct result;"
          " fallback: rounds whose point came from the tuner's random fallback, not the strategy")
    print(f"{'kernel':<28} {'strategy':<8} {'best/opt':>22} {'round':>18} {'failed':>7} {'fallback':>8}")
    agg = collections.defaultdict(lambda: ([], []))
    for k in kernels:
        for s in strategies:
            rel, when, failed, fallback = [], [], 0, 0
            for seed in range(args.seeds):
                trials = runs.get((k, s, seed), [])[: args.rounds]
                best, best_round = float("inf"), None
                for t in trials:
                    failed += t[4] != "ok"
                    fallback += (t[6] or "").endswith(":fallback")
                    if t[4] == "ok" and t[5] < best:
                        best, best_round = t[5], t[3] + 1
                if best_round:
                    rel.append(best / optimum[k])
                    when.append(best_round)
            if not rel:
                continue
            r, w = quartiles(rel), quartiles(when)
            agg[s][0].extend(rel)
            agg[s][1].extend(when)
            print(f"{k:<28} {s:<8} {r[1]:6.2f} [{r[0]:5.2f},{r[2]:5.2f}] "
                  f"{w[1]:5.1f} [{w[0]:4.1f},{w[2]:4.1f}] {failed:7d} {fallback:8d}")
    print()
    print(f"{'all kernels':<28} {'strategy':<8} {'best/opt':>22} {'round':>18}")
    for s in strategies:
        rel, when = agg[s]
        if rel:
            r, w = quartiles(rel), quartiles(when)
            print(f"{'':<28} {s:<8} {r[1]:6.2f} [{r[0]:5.2f},{r[2]:5.2f}] "
                  f"{w[1]:5.1f} [{w[0]:4.1f},{w[2]:4.1f}]")

    if "llm" in strategies:
        total = collections.Counter()
        for seed in range(args.seeds):
            log = os.path.join(args.out, f"llm-{seed}", "run.jsonl")
            if not os.path.exists(log):
                continue
            for line in open(log):
                e = json.loads(line)
                if e.get("event") == "llm-summary":
                    for k, v in e.items():
                        if isinstance(v, (int, float)) and k != "seconds":
                            total[k] += v
                        elif k == "seconds":
                            total[k] += v
        req = max(1, total["requests"])
        rounds = sum(len(v[: args.rounds]) for (k, st, sd), v in runs.items() if st == "llm")
        print()
        print(f"# LLM agent ({args.llm_model}): {total['requests']} requests for {rounds} rounds, "
              f"{total['seconds']:.0f} s waiting for replies")
        for k in ("usable", "malformed", "out_of_range", "off_task", "repeats", "endpoint_errors"):
            print(f"{k:<16} {total[k]:6d}  {total[k] / req:6.1%} of requests")
        print(f"{'reasks':<16} {total['reasks']:6d}")
        print(f"{'fallbacks':<16} {total['fallbacks']:6d}  {total['fallbacks'] / max(1, rounds):6.1%} of rounds")


if __name__ == "__main__":
    main()
