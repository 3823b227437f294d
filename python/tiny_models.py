#!/usr/bin/env python3
"""Tiny synthetic Llama models (random, seeded) for HAQA's import tests.

    python3 python/tiny_models.py OUTDIR

writes, for one 2-layer model (dim 64, 4 heads, 2 KV heads, ffn 128, vocab 256):
  hf/                    Hugging Face: config.json + model.safetensors (f32)
  hf-sharded/            the same weights in bf16, two shards + model.safetensors.index.json
  hf-llama3/             the same with Llama-3 rope scaling in config.json
  llama3-f32.gguf        its GGUF twin: scaling as a rope_freqs.weight tensor (Llama 3.1+)
  f32.gguf, f16.gguf, bf16.gguf, q8_0.gguf, q4_0.gguf, q4_1.gguf
                         the same model as llama.cpp's converter writes it (Q/K rows
                         permuted for interleaved rope; 2-d weights in that type)
  tied-f32.gguf          no output.weight (tied embeddings, as SmolLM2)
  qwen2-hf/              a Qwen2 checkpoint of the same shape: q / k / v biases, tied
                         embeddings, rope base 1e6 (Qwen2ForCausalLM)
  qwen2-f32.gguf, qwen2-q8_0.gguf
                         its GGUF twins (arch qwen2: Q/K rows as trained, half rope)
  qwen3-hf/, qwen3-f32.gguf
                         a Qwen3 of the same width with heads of 32 (q 128 wide), per-head q / k
                         RMS norms, no biases (Qwen3ForCausalLM / arch qwen3)
  kquant.gguf            dim 256, 1 layer, 2-d weights as random Q4_K / Q6_K blocks, and
  kquant-ref.npz         their dequantization by the gguf package (an independent reference)
and malformed inputs for error tests:
  missing-key-hf/        config.json without num_attention_heads
  bad-arch-hf/           a MistralForCausalLM config
  bad-header-hf/         safetensors header length past the end of the file
  bad-shape-hf/          q_proj of the wrong shape
  gpt2.gguf              general.architecture = gpt2
  huge-blocks.gguf       llama.block_count = 2^32 - 1 (the file has 21 tensors)
  neg-eps.gguf, nan-rope.gguf, zero-rope.gguf
                         a negative rms epsilon, a NaN / zero rope base
  overlap.gguf           blk.0.attn_v.weight's data offset is blk.0.attn_k.weight's
  missing-tensor.gguf    no blk.1.ffn_up.weight
  huge-layers-hf/        num_hidden_layers = 2^32 - 1
  neg-eps-hf/            rms_norm_eps = -1e-5
  neg-rope-hf/           rope_theta = -10000
  overlap-hf/            v_proj's data_offsets are k_proj's
  huge-dim-hf/           a shape whose element count overflows 64 bits
All files are deterministic for a given gguf / safetensors / numpy version.
"""
import argparse
import json
import math
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFWriter
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file

DIM, LAYERS, HEADS, KV_HEADS, FFN, VOCAB, CONTEXT = 64, 2, 4, 2, 128, 256, 128


def hf_weights(rng, dim=DIM, layers=LAYERS, heads=HEADS, kv=KV_HEADS, ffn=FFN, vocab=VOCAB, hd=None):
    hd = hd or dim // heads

    def r(*shape, scale=0.1):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {"model.embed_tokens.weight": r(vocab, dim, scale=1.0),
         "model.norm.weight": 1 + r(dim), "lm_head.weight": r(vocab, dim)}
    for l in range(layers):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + r(dim)
        w[p + "post_attention_layernorm.weight"] = 1 + r(dim)
        w[p + "self_attn.q_proj.weight"] = r(heads * hd, dim)
        w[p + "self_attn.k_proj.weight"] = r(kv * hd, dim)
        w[p + "self_attn.v_proj.weight"] = r(kv * hd, dim)
        w[p + "self_attn.o_proj.weight"] = r(dim, heads * hd)
        w[p + "mlp.gate_proj.weight"] = r(ffn, dim)
        w[p + "mlp.up_proj.weight"] = r(ffn, dim)
        w[p + "mlp.down_proj.weight"] = r(dim, ffn)
    return w


def hf_config(**extra):
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": DIM,
         "intermediate_size": FFN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
         "num_key_value_heads": KV_HEADS, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
         "max_position_embeddings": CONTEXT, "vocab_size": VOCAB, "tie_word_embeddings": False,
         "torch_dtype": "float32"}
    c.update(extra)
    return c


def write_hf(path, weights, config):
    os.makedirs(path, exist_ok=True)
    save_file(weights, os.path.join(path, "model.safetensors"))
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


def to_bf16_bits(a):
    """float32 -> bfloat16 bit patterns, round to nearest even."""
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def save_bf16_safetensors(weights, path):
    """A safetensors file with BF16 tensors, written by hand (the format is an
    8-byte header length, a JSON header, then the data)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(weights):
        data = to_bf16_bits(weights[name]).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(weights[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for b in blobs:
            f.write(b)


def rewrite_safetensors_header(path, edit):
    """Rewrites the JSON header of a safetensors file with `edit(header)`,
    keeping the data bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + raw[8 + n:])


def patch_gguf_offset(path, name, like):
    """Sets the data offset of tensor `name` in a GGUF file to that of
    tensor `like` (the last field of its tensor-table entry)."""
    with open(path, "rb") as f:
        raw = bytearray(f.read())

    def offset_field(n):
        key = len(n).to_bytes(8, "little") + n.encode()
        at = raw.index(key) + len(key)
        n_dims = int.from_bytes(raw[at:at + 4], "little")
        return at + 4 + 8 * n_dims + 4

    src = offset_field(like)
    dst = offset_field(name)
    raw[dst:dst + 8] = raw[src:src + 8]
    with open(path, "wb") as f:
        f.write(raw)


def permute(x, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: half -> interleaved rope rows."""
    return x.reshape(n_head, 2, x.shape[0] // n_head // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)


GGUF_NAMES = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
              "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
              "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
              "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down"}


def gguf_tensors(w, heads=HEADS, kv=KV_HEADS, tied=False, qwen2=False):
    """(gguf name, array) pairs in llama.cpp's layout (Qwen2: no permutation,
    the q / k / v biases as blk.N.attn_q.bias, ...)."""
    out = [("token_embd.weight", w["model.embed_tokens.weight"]),
           ("output_norm.weight", w["model.norm.weight"])]
    if not tied:
        out.append(("output.weight", w["lm_head.weight"]))
    layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("model.layers."))
    for l in range(layers):
        for hf, g in GGUF_NAMES.items():
            if f"model.layers.{l}.{hf}.weight" not in w:
                continue
            a = w[f"model.layers.{l}.{hf}.weight"]
            if g == "attn_q" and not qwen2:
                a = permute(a, heads)
            elif g == "attn_k" and not qwen2:
                a = permute(a, kv)
            out.append((f"blk.{l}.{g}.weight", a))
            bias = w.get(f"model.layers.{l}.{hf}.bias")
            if bias is not None:
                out.append((f"blk.{l}.{g}.bias", bias))
    return out


def write_gguf(path, tensors, arch="llama", dim=DIM, layers=LAYERS, heads=HEADS, kv=KV_HEADS,
               ffn=FFN, qtype=None, raw=None, theta=10000.0, eps=1e-5, head_dim=None):
    g = GGUFWriter(path, arch)
    if head_dim:
        g.add_key_length(head_dim)
        g.add_value_length(head_dim)
    g.add_block_count(layers)
    g.add_context_length(CONTEXT)
    g.add_embedding_length(dim)
    g.add_feed_forward_length(ffn)
    g.add_head_count(heads)
    g.add_head_count_kv(kv)
    g.add_rope_freq_base(theta)
    g.add_layer_norm_rms_eps(eps)
    for name, a in tensors:
        if raw and name in raw:
            data, t = raw[name]
            g.add_tensor(name, data, raw_dtype=t)
        elif qtype is not None and a.ndim == 2:
            if qtype in (T.F16,):
                g.add_tensor(name, a.astype(np.float16))
            else:
                g.add_tensor(name, quantize(a, qtype), raw_dtype=qtype)
        else:
            g.add_tensor(name, a)
    g.write_header_to_file()
    g.write_kv_data_to_file()
    g.write_tensors_to_file()
    g.close()


def llama3_rope_factors(theta, head_dim, factor, low, high, original):
    """rope_freqs.weight as llama.cpp's convert_hf_to_gguf.py writes it for
    Llama 3.1+ (divisors of each pair's frequency)."""
    freqs = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    low_wavelen, high_wavelen = original / low, original / high
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (original / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def random_kquant_blocks(rng, rows, cols, qtype):
    """Random but well-formed K-quant blocks: small finite fp16 scales."""
    nblocks = rows * cols // 256
    if qtype == T.Q4_K:  # half d, dmin; u8 scales[12]; u8 qs[128]
        b = rng.integers(0, 256, size=(nblocks, 144), dtype=np.uint8)
        b[:, 0:2] = np.frombuffer(np.full(nblocks, 0.01, np.float16).tobytes(), np.uint8).reshape(-1, 2)
        b[:, 2:4] = np.frombuffer(np.full(nblocks, 0.002, np.float16).tobytes(), np.uint8).reshape(-1, 2)
    else:  # Q6_K: u8 ql[128]; u8 qh[64]; i8 scales[16]; half d
        b = rng.integers(0, 256, size=(nblocks, 210), dtype=np.uint8)
        b[:, 208:210] = np.frombuffer(np.full(nblocks, 0.001, np.float16).tobytes(), np.uint8).reshape(-1, 2)
    return b.reshape(rows, cols // 256 * b.shape[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1234)
    w = hf_weights(rng)

    write_hf(os.path.join(out, "hf"), w, hf_config())
    # Sharded bf16 (values rounded to bf16 in both shards).
    sharded = os.path.join(out, "hf-sharded")
    os.makedirs(sharded, exist_ok=True)
    names = sorted(w)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    index = {"metadata": {}, "weight_map": {}}
    for i, part in enumerate(halves):
        fname = f"model-0000{i + 1}-of-00002.safetensors"
        save_bf16_safetensors({k: w[k] for k in part}, os.path.join(sharded, fname))
        index["weight_map"].update({k: fname for k in part})
    with open(os.path.join(sharded, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=1)
    with open(os.path.join(sharded, "config.json"), "w") as f:
        json.dump(hf_config(torch_dtype="bfloat16"), f, indent=1)
    write_hf(os.path.join(out, "hf-llama3"), w, hf_config(
        rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                           "high_freq_factor": 4.0, "original_max_position_embeddings": 32}))

    tensors = gguf_tensors(w)
    write_gguf(os.path.join(out, "f32.gguf"), tensors)
    factors = llama3_rope_factors(500000.0, DIM // HEADS, 8.0, 1.0, 4.0, 32)
    write_gguf(os.path.join(out, "llama3-f32.gguf"), tensors + [("rope_freqs.weight", factors)],
               theta=500000.0)
    for name, qt in (("f16", T.F16), ("bf16", T.BF16), ("q8_0", T.Q8_0), ("q4_0", T.Q4_0), ("q4_1", T.Q4_1)):
        write_gguf(os.path.join(out, f"{name}.gguf"), tensors, qtype=qt)
    write_gguf(os.path.join(out, "tied-f32.gguf"), gguf_tensors(w, tied=True))

    # Qwen2: the same shape with q / k / v biases, tied embeddings and a rope
    # base of 1e6; HF and GGUF twins.
    qw = {k: v for k, v in hf_weights(np.random.default_rng(77)).items() if k != "lm_head.weight"}
    hd = DIM // HEADS
    brng = np.random.default_rng(78)
    for l in range(LAYERS):
        for proj, rows in (("q_proj", HEADS * hd), ("k_proj", KV_HEADS * hd), ("v_proj", KV_HEADS * hd)):
            qw[f"model.layers.{l}.self_attn.{proj}.bias"] = (brng.standard_normal(rows) * 0.5).astype(np.float32)
    write_hf(os.path.join(out, "qwen2-hf"), qw, hf_config(
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", rope_theta=1000000.0,
        tie_word_embeddings=True, use_sliding_window=False))
    qt = gguf_tensors(qw, tied=True, qwen2=True)
    write_gguf(os.path.join(out, "qwen2-f32.gguf"), qt, arch="qwen2", theta=1000000.0)
    write_gguf(os.path.join(out, "qwen2-q8_0.gguf"), qt, arch="qwen2", theta=1000000.0, qtype=T.Q8_0)

    # Qwen3: heads of 32 on a width of 64 (q 128 wide), q / k RMS norms per
    # head, no biases.
    q3 = {k: v for k, v in hf_weights(np.random.default_rng(79), hd=32).items() if k != "lm_head.weight"}
    nrng = np.random.default_rng(80)
    for l in range(LAYERS):
        for n in ("q_norm", "k_norm"):
            q3[f"model.layers.{l}.self_attn.{n}.weight"] = (1 + 0.3 * nrng.standard_normal(32)).astype(np.float32)
    write_hf(os.path.join(out, "qwen3-hf"), q3, hf_config(
        architectures=["Qwen3ForCausalLM"], model_type="qwen3", rope_theta=1000000.0, head_dim=32,
        tie_word_embeddings=True, attention_bias=False))
    write_gguf(os.path.join(out, "qwen3-f32.gguf"), gguf_tensors(q3, tied=True, qwen2=True), arch="qwen3",
               theta=1000000.0, head_dim=32)

    # K-quants: dim 256 so that every row is a whole number of 256-value blocks.
    kw = hf_weights(np.random.default_rng(99), dim=256, layers=1, heads=4, kv=2, ffn=256, vocab=256)
    kt = gguf_tensors(kw, heads=4, kv=2)
    raw, ref = {}, {}
    for i, (name, a) in enumerate(kt):
        if a.ndim == 2:
            qt = T.Q4_K if i % 2 == 0 else T.Q6_K
            blocks = random_kquant_blocks(rng, a.shape[0], a.shape[1], qt)
            raw[name] = (blocks, qt)
            ref[name] = dequantize(blocks, qt).reshape(a.shape)
    write_gguf(os.path.join(out, "kquant.gguf"), kt, dim=256, layers=1, heads=4, kv=2, ffn=256, raw=raw)
    np.savez(os.path.join(out, "kquant-ref.npz"), **ref)

    # Malformed inputs.
    c = hf_config()
    del c["num_attention_heads"]
    write_hf(os.path.join(out, "missing-key-hf"), {"lm_head.weight": w["lm_head.weight"]}, c)
    write_hf(os.path.join(out, "bad-arch-hf"), {"lm_head.weight": w["lm_head.weight"]},
             hf_config(architectures=["MistralForCausalLM"]))
    bad = os.path.join(out, "bad-header-hf")
    write_hf(bad, w, hf_config())
    with open(os.path.join(bad, "model.safetensors"), "r+b") as f:
        f.write((1 << 40).to_bytes(8, "little"))  # header length: 1 TiB
    wrong = dict(w)
    wrong["model.layers.1.self_attn.q_proj.weight"] = wrong["model.layers.1.self_attn.q_proj.weight"][:32]
    write_hf(os.path.join(out, "bad-shape-hf"), wrong, hf_config())
    write_gguf(os.path.join(out, "gpt2.gguf"), tensors[:2], arch="gpt2")
    write_gguf(os.path.join(out, "huge-blocks.gguf"), tensors, layers=2**32 - 1)
    write_gguf(os.path.join(out, "neg-eps.gguf"), tensors, eps=-1e-5)
    write_gguf(os.path.join(out, "nan-rope.gguf"), tensors, theta=float("nan"))
    write_gguf(os.path.join(out, "zero-rope.gguf"), tensors, theta=0.0)
    write_gguf(os.path.join(out, "overlap.gguf"), tensors)
    patch_gguf_offset(os.path.join(out, "overlap.gguf"), "blk.0.attn_v.weight", "blk.0.attn_k.weight")
    write_hf(os.path.join(out, "huge-layers-hf"), w, hf_config(num_hidden_layers=2**32 - 1))
    write_gguf(os.path.join(out, "missing-tensor.gguf"), [t for t in tensors if t[0] != "blk.1.ffn_up.weight"])
    write_hf(os.path.join(out, "neg-eps-hf"), w, hf_config(rms_norm_eps=-1e-5))
    write_hf(os.path.join(out, "neg-rope-hf"), w, hf_config(rope_theta=-10000.0))
    overlap = os.path.join(out, "overlap-hf")
    write_hf(overlap, w, hf_config())

    def share(h):
        h["model.layers.0.self_attn.v_proj.weight"]["data_offsets"] = \
            h["model.layers.0.self_attn.k_proj.weight"]["data_offsets"]
    rewrite_safetensors_header(os.path.join(overlap, "model.safetensors"), share)
    huge = os.path.join(out, "huge-dim-hf")
    write_hf(huge, w, hf_config())

    def widen(h):
        h["model.norm.weight"]["shape"] = [2**62, 8]
    rewrite_safetensors_header(os.path.join(huge, "model.safetensors"), widen)
    print(f"wrote fixtures to {out}")


if __name__ == "__main__":
    main()
