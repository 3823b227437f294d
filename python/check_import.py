#!/usr/bin/env python3
"""Checks used by the import lit tests.

  check_import.py logits A.jsonl B.jsonl [--atol X]
      the per-step logits written by two `haqa-eval --logits-out` runs agree
  check_import.py kquant WEIGHTS.gguf REF.npz
      every tensor of REF.npz (the gguf package's dequantization of K-quant
      blocks) equals the f32 tensor of the same name that llama-import wrote
"""
import argparse
import json
import sys

import numpy as np


def logits(args):
    a = [np.array(json.loads(line)["logits"]) for line in open(args.a)]
    b = [np.array(json.loads(line)["logits"]) for line in open(args.b)]
    if len(a) != len(b) or not a:
        sys.exit(f"step counts differ or are zero: {len(a)} vs {len(b)}")
    worst = max(float(np.abs(x - y).max()) for x, y in zip(a, b))
    print(f"steps {len(a)} max abs logit difference {worst:.3g}")
    if worst > args.atol:
        sys.exit(f"difference {worst} above tolerance {args.atol}")


def kquant(args):
    from gguf import GGUFReader
    ref = np.load(args.ref)
    got = {t.name: t for t in GGUFReader(args.weights).tensors}
    worst = 0.0
    for name in ref.files:
        t = got[name]
        if t.tensor_type.name != "F32":
            sys.exit(f"{name}: stored as {t.tensor_type.name}, expected F32")
        a = np.asarray(t.data, dtype=np.float32).reshape(ref[name].shape)
        worst = max(worst, float(np.abs(a - ref[name]).max()))
    print(f"tensors {len(ref.files)} max abs difference {worst:.3g}")
    if worst != 0.0:
        sys.exit("K-quant dequantization differs from the gguf package")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(required=True)
    p = sub.add_parser("logits")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--atol", type=float, default=0.0)
    p.set_defaults(run=logits)
    p = sub.add_parser("kquant")
    p.add_argument("weights")
    p.add_argument("ref")
    p.set_defaults(run=kquant)
    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
