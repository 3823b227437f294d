#!/usr/bin/env python3
"""A random-weight Llama with TinyLlama-1.1B's shapes (or SmolLM2-135M's),
for decode/prefill benchmarks (speed only: the weights are noise,
N(0, 0.02), norms 1).

    python3 python/make_tinyllama.py OUT.gguf [--layers N] [--preset smollm2]

tinyllama (default): dim 2048, 22 layers, 32 heads, 4 KV heads, ffn 5632,
vocab 32000, context 2048, rope theta 10000, a separate output matrix.
smollm2: dim 576, 30 layers, 9 heads, 3 KV heads, ffn 1536, vocab 49152,
context 8192, rope theta 100000, tied embeddings (no output.weight), for a
machine that cannot fetch the real SmolLM2 (the work per token is the same).
2-d weights F16, norms F32, as llama.cpp's converter writes an F16 GGUF. No
vocabulary (tokenizer.ggml.model = "none"): benchmarks feed token ids.
Deterministic for a numpy version (seed 7).
"""
import argparse

import numpy as np

PRESETS = {
    # dim, layers, heads, kv heads, ffn, vocab, context, rope theta, tied
    "tinyllama": (2048, 22, 32, 4, 5632, 32000, 2048, 10000.0, False),
    "smollm2": (576, 30, 9, 3, 1536, 49152, 8192, 100000.0, True),
}


def main():
    from gguf import GGUFWriter  # here: bench/torch_decode.py imports PRESETS alone

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tinyllama")
    ap.add_argument("--layers", type=int, help="default: the preset's")
    args = ap.parse_args()
    DIM, layers, HEADS, KV, FFN, VOCAB, CONTEXT, theta, tied = PRESETS[args.preset]
    if args.layers is not None:
        layers = args.layers
    rng = np.random.default_rng(7)
    hd = DIM // HEADS

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    g = GGUFWriter(args.out, "llama")
    g.add_name(args.preset + "-shaped-random")
    g.add_block_count(layers)
    g.add_context_length(CONTEXT)
    g.add_embedding_length(DIM)
    g.add_feed_forward_length(FFN)
    g.add_head_count(HEADS)
    g.add_head_count_kv(KV)
    g.add_rope_dimension_count(hd)
    g.add_rope_freq_base(theta)
    g.add_layer_norm_rms_eps(1e-5)
    g.add_vocab_size(VOCAB)
    g.add_file_type(1)  # MOSTLY_F16
    g.add_tokenizer_model("none")
    ones = np.ones(DIM, dtype=np.float32)
    g.add_tensor("token_embd.weight", mat(VOCAB, DIM))
    g.add_tensor("output_norm.weight", ones)
    if not tied:
        g.add_tensor("output.weight", mat(VOCAB, DIM))
    for layer in range(layers):
        p = f"blk.{layer}."
        g.add_tensor(p + "attn_norm.weight", ones)
        g.add_tensor(p + "attn_q.weight", mat(DIM, DIM))
        g.add_tensor(p + "attn_k.weight", mat(KV * hd, DIM))
        g.add_tensor(p + "attn_v.weight", mat(KV * hd, DIM))
        g.add_tensor(p + "attn_output.weight", mat(DIM, DIM))
        g.add_tensor(p + "ffn_norm.weight", ones)
        g.add_tensor(p + "ffn_gate.weight", mat(FFN, DIM))
        g.add_tensor(p + "ffn_up.weight", mat(FFN, DIM))
        g.add_tensor(p + "ffn_down.weight", mat(DIM, FFN))
    g.write_header_to_file()
    g.write_kv_data_to_file()
    g.write_tensors_to_file()
    g.close()


if __name__ == "__main__":
    main()
