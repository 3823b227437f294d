#!/usr/bin/env python3
"""Prefill / decode tokens/s of PyTorch (transformers' LlamaForCausalLM,
eager, FP16, SDPA attention) on the GPU, for the same shapes and token
counts as `haqa-bench --model` in scripts/gpu-check.sh: a baseline from a
widely used engine beside HAQA's numbers. Random weights (the work per token
does not depend on them).

    python3 bench/torch_decode.py [--models smollm2,tinyllama] [-p 128] [-n 128] [-r 3]

Each run: one forward over the P prompt ids (filling the KV cache) and N
greedy single-token steps; the first run warms up, the median of R runs is
printed with its min and max, as haqa-bench does.
"""
import argparse
import os
import statistics
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from make_tinyllama import PRESETS  # noqa: E402  (the same shapes as HAQA's side)


def llama_config(name):
    dim, layers, heads, kv, ffn, vocab, context, theta, tied = PRESETS[name]
    return LlamaConfig(hidden_size=dim, num_hidden_layers=layers, num_attention_heads=heads,
                       num_key_value_heads=kv, intermediate_size=ffn, vocab_size=vocab,
                       max_position_embeddings=context, rope_theta=theta,
                       tie_word_embeddings=tied, rms_norm_eps=1e-5)


def row(what, v):
    return f"{what} {statistics.median(v):.2f} tokens/s (min {min(v):.2f}, max {max(v):.2f}, {len(v)} runs)"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="smollm2,tinyllama")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-r", type=int, default=3)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_decode: no CUDA device")
    for name in args.models.split(","):
        cfg = llama_config(name)
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = LlamaForCausalLM(cfg).half().eval()
        ids = torch.tensor([[(1 + 7919 * i) % cfg.vocab_size for i in range(args.p)]],
                           device="cuda")
        pp, tg = [], []
        with torch.no_grad():
            for r in range(args.r + 1):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                out = model(ids, use_cache=True)
                past, tok = out.past_key_values, out.logits[:, -1:].argmax(-1)
                torch.cuda.synchronize()
                t1 = time.perf_counter()
                for _ in range(args.n):
                    out = model(tok, past_key_values=past, use_cache=True)
                    past, tok = out.past_key_values, out.logits[:, -1:].argmax(-1)
                torch.cuda.synchronize()
                t2 = time.perf_counter()
                if r:
                    pp.append(args.p / (t1 - t0))
                    tg.append(args.n / (t2 - t1))
        print(f"torch {name} fp16 ({torch.cuda.get_device_name()}, torch {torch.__version__}): "
              f"pp{args.p} tg{args.n}", flush=True)
        print("torch   " + row("prefill", pp), flush=True)
        print("torch   " + row("decode ", tg), flush=True)
        del model, past, out
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
