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
  check_import.py forward HF_DIR TOKENS LOGITS.jsonl [--atol X]
      an independent numpy forward pass of the Hugging Face checkpoint
      (Llama, Qwen2, Qwen3: biases and per-head q / k norms where the
      checkpoint has them, head_dim from the config, half rope,
      grouped-query attention, tied embeddings) over TOKENS ("1,2,3") and the
      greedy tokens after them gives the logits of every step of LOGITS.jsonl
  check_import.py planar SOURCE.gguf WEIGHTS.gguf BITS GROUP ZERO [--scale f16]
      every I8 (planar-layout) tensor of WEIGHTS.gguf, read here from the
      layout in docs/Spec.md (values, then scales, then offsets), is within
      one quantization step of the source's values in every group
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
    """HAQA keeps K-quant tensors as stored: each is still Q4_K / Q6_K and
    the gguf package dequantizes it to the reference values (the source's)."""
    from gguf import GGUFReader
    from gguf.quants import dequantize
    ref = np.load(args.ref)
    got = {t.name: t for t in GGUFReader(args.weights).tensors}
    worst = 0.0
    for name in ref.files:
        t = got[name]
        if t.tensor_type.name not in ("Q4_K", "Q6_K"):
            sys.exit(f"{name}: stored as {t.tensor_type.name}, expected Q4_K or Q6_K")
        a = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(ref[name].shape)
        worst = max(worst, float(np.abs(a - ref[name]).max()))
    print(f"tensors {len(ref.files)} kept as Q4_K / Q6_K, max abs difference {worst:.3g}")
    if worst != 0.0:
        sys.exit("K-quant tensors differ from the source's")


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


def planar(args):
    from gguf import GGUFReader
    from gguf.quants import dequantize
    src = {t.name: t for t in GGUFReader(args.source).tensors}
    sdt = {"f16": np.float16, "f32": np.float32}[args.scale]
    bits, group = args.bits, args.group
    tensors = [t for t in GGUFReader(args.weights).tensors if t.tensor_type.name == "I8"]
    if not tensors:
        sys.exit("no planar (I8) tensors")
    worst = 0.0
    for t in tensors:
        s = src[t.name]
        x = dequantize(s.data, s.tensor_type).astype(np.float32).reshape(-1)
        raw = np.frombuffer(t.data.tobytes(), np.uint8)
        n, groups = x.size, x.size // group
        nv = (n * bits + 7) // 8
        sb = np.dtype(sdt).itemsize
        ob = {"none": 0, "zero_point": 1, "min": sb}[args.zero]
        if raw.size != nv + groups * (sb + ob):
            sys.exit(f"{t.name}: {raw.size} bytes, expected {nv + groups * (sb + ob)}")
        q = raw[:nv].astype(np.int32)
        if bits == 4:
            q = np.stack([q & 15, q >> 4], axis=1).reshape(-1)
        scale = np.frombuffer(raw[nv:nv + groups * sb].tobytes(), sdt).astype(np.float32)
        offs = raw[nv + groups * sb:]
        if args.zero == "none":
            q = q - 8 if bits == 4 else q.astype(np.uint8).view(np.int8).astype(np.int32)
            y = q.reshape(groups, group) * scale[:, None]
        elif args.zero == "zero_point":
            y = (q.reshape(groups, group) - offs.astype(np.int32)[:, None]) * scale[:, None]
        else:
            mins = np.frombuffer(offs.tobytes(), sdt).astype(np.float32)
            y = q.reshape(groups, group) * scale[:, None] + mins[:, None]
        err = np.abs(y - x.reshape(groups, group)).max(axis=1)
        steps = err / np.maximum(np.abs(scale), 1e-30)
        worst = max(worst, float(steps.max()))
    print(f"planar i{bits} group {group} zero {args.zero}: {len(tensors)} tensors, "
          f"worst error {worst:.3f} quantization steps")
    if worst > 1.01:
        sys.exit("planar values are more than one step from the source")


def forward(args):
    from safetensors.numpy import load_file
    cfg = json.load(open(f"{args.hf}/config.json"))
    w = {k: v.astype(np.float64) for k, v in load_file(f"{args.hf}/model.safetensors").items()}
    dim, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv, layers = cfg.get("num_key_value_heads", heads), cfg["num_hidden_layers"]
    hd, eps, theta = cfg.get("head_dim") or dim // heads, cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    head_w = w.get("lm_head.weight", w["model.embed_tokens.weight"])

    def norm(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    def rope(x, pos):  # x [T, H, hd], half style
        inv = theta ** (-np.arange(0, hd, 2) / hd)
        ang = np.outer(pos, inv)  # [T, hd/2]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        a, b = x[..., : hd // 2], x[..., hd // 2:]
        return np.concatenate([a * cos - b * sin, a * sin + b * cos], -1)

    def logits_of(tokens):
        t = len(tokens)
        x = w["model.embed_tokens.weight"][tokens]
        pos = np.arange(t)
        for l in range(layers):
            p = f"model.layers.{l}."
            h = norm(x, w[p + "input_layernorm.weight"])
            q = lin(h, p + "self_attn.q_proj").reshape(t, heads, hd)
            k = lin(h, p + "self_attn.k_proj").reshape(t, kv, hd)
            if p + "self_attn.q_norm.weight" in w:  # Qwen3: per-head norms
                q = norm(q, w[p + "self_attn.q_norm.weight"])
                k = norm(k, w[p + "self_attn.k_norm.weight"])
            q, k = rope(q, pos), rope(k, pos)
            v = lin(h, p + "self_attn.v_proj").reshape(t, kv, hd)
            k, v = np.repeat(k, heads // kv, 1), np.repeat(v, heads // kv, 1)
            s = np.einsum("thd,uhd->htu", q, k) / np.sqrt(hd)
            s = s + np.triu(np.full((t, t), -np.inf), 1)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o = np.einsum("htu,uhd->thd", s, v).reshape(t, heads * hd)
            x = x + lin(o, p + "self_attn.o_proj")
            h = norm(x, w[p + "post_attention_layernorm.weight"])
            g, u = lin(h, p + "mlp.gate_proj"), lin(h, p + "mlp.up_proj")
            x = x + lin(g / (1 + np.exp(-g)) * u, p + "mlp.down_proj")
        return norm(x, w["model.norm.weight"])[-1] @ head_w.T

    got = [np.array(json.loads(line)["logits"]) for line in open(args.logits)]
    tokens = [int(t) for t in args.tokens.split(",")]
    worst = 0.0
    for step in got:
        want = logits_of(tokens)
        worst = max(worst, float(np.abs(want - step).max()))
        tokens.append(int(np.argmax(want)))
    print(f"steps {len(got)} max abs logit difference to numpy {worst:.3g}")
    if worst > args.atol:
        sys.exit(f"difference {worst} above tolerance {args.atol}")


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
    p = sub.add_parser("forward")
    p.add_argument("hf")
    p.add_argument("tokens")
    p.add_argument("logits")
    p.add_argument("--atol", type=float, default=1e-3)
    p.set_defaults(run=forward)
    p = sub.add_parser("planar")
    p.add_argument("source")
    p.add_argument("weights")
    p.add_argument("bits", type=int)
    p.add_argument("group", type=int)
    p.add_argument("zero", choices=["none", "zero_point", "min"])
    p.add_argument("--scale", choices=["f16", "f32"], default="f16")
    p.set_defaults(run=planar)
    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
