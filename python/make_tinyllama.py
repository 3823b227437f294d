#!/usr/bin/env python3
"""A random-weight Llama with TinyLlama-1.1B's shapes, for decode/prefill
benchmarks (speed only: the weights are noise, N(0, 0.02), norms 1).

    python3 python/make_tinyllama.py OUT.gguf [--layers 22]

dim 2048, 22 layers, 32 heads, 4 KV heads, ffn 5632, vocab 32000, context
2048, rope theta 10000; 2-d weights F16, norms F32, as llama.cpp's converter
writes a TinyLlama F16 GGUF. No vocabulary (tokenizer.ggml.model = "none"):
benchmarks feed token ids. Deterministic for a numpy version (seed 7).
"""
import argparse

import numpy as np
from gguf import GGUFWriter

DIM, HEADS, KV, FFN, VOCAB, CONTEXT = 2048, 32, 4, 5632, 32000, 2048


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=22)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    hd = DIM // HEADS

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    g = GGUFWriter(args.out, "llama")
    g.add_name("tinyllama-shaped-random")
    g.add_block_count(args.layers)
    g.add_context_length(CONTEXT)
    g.add_embedding_length(DIM)
    g.add_feed_forward_length(FFN)
    g.add_head_count(HEADS)
    g.add_head_count_kv(KV)
    g.add_rope_dimension_count(hd)
    g.add_rope_freq_base(10000.0)
    g.add_layer_norm_rms_eps(1e-5)
    g.add_vocab_size(VOCAB)
    g.add_file_type(1)  # MOSTLY_F16
    g.add_tokenizer_model("none")
    ones = np.ones(DIM, dtype=np.float32)
    g.add_tensor("token_embd.weight", mat(VOCAB, DIM))
    g.add_tensor("output_norm.weight", ones)
    g.add_tensor("output.weight", mat(VOCAB, DIM))
    for layer in range(args.layers):
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
