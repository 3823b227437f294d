#!/usr/bin/env python3
"""Checks used by the import lit tests.

  check_import.py logits A.jsonl B.jsonl [--atol X]
      the per-step logits written by two `haqa-eval --logits-out` runs agree
  check_import.py quantized SOURCE.gguf WEIGHTS.gguf TYPE
      every 2-d tensor of WEIGHTS.gguf (written by llama-import --bits) has
      TYPE (Q8_0, Q4_0, Q4_1) and the same bytes as gguf.quants.quantize of
      the source's values
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


def quantized(args):
    from gguf import GGMLQuantizationType, GGUFReader
    from gguf.quants import dequantize, quantize
    qtype = GGMLQuantizationType[args.type]
    src = {t.name: t for t in GGUFReader(args.source).tensors}
    same = 0
    tensors = [t for t in GGUFReader(args.weights).tensors if len(t.shape) == 2]
    for t in tensors:
        s = src[t.name]
        values = dequantize(s.data, s.tensor_type).astype(np.float32)
        values = values.reshape(list(reversed(s.shape.tolist())))
        if t.tensor_type != qtype:
            sys.exit(f"{t.name}: stored as {t.tensor_type.name}, expected {qtype.name}")
        if np.array_equal(np.frombuffer(quantize(values, qtype).tobytes(), np.uint8),
                          np.frombuffer(t.data.tobytes(), np.uint8)):
            same += 1
        else:
            print(f"{t.name}: bytes differ")
    print(f"{qtype.name}: {same} of {len(tensors)} tensors byte-identical to gguf.quants.quantize")
    if same != len(tensors):
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(required=True)
    p = sub.add_parser("logits")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--atol", type=float, default=0.0)
    p.set_defaults(run=logits)
    p = sub.add_parser("quantized")
    p.add_argument("source")
    p.add_argument("weights")
    p.add_argument("type")
    p.set_defaults(run=quantized)
    p = sub.add_parser("kquant")
    p.add_argument("weights")
    p.add_argument("ref")
    p.set_defaults(run=kquant)
    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
