#!/usr/bin/env python3
"""llama.cpp's perplexity on a text, computed as haqa-eval --ppl does.

  python3 python/check_perplexity.py MODEL.gguf TEXT [--chunk 512]

Chunks of --chunk tokens (tokenized by llama.cpp with its BOS setting), each
evaluated from an empty cache; the predictions of the second half of each
chunk are scored (llama.cpp's llama-perplexity method). Needs
llama-cpp-python. Prints the perplexity and the number of scored tokens.
"""
import argparse
import math

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf")
    ap.add_argument("text")
    ap.add_argument("--chunk", type=int, default=512)
    args = ap.parse_args()
    import llama_cpp
    llm = llama_cpp.Llama(model_path=args.gguf, n_ctx=args.chunk, n_batch=args.chunk, n_threads=2,
                          logits_all=True, verbose=False)
    tokens = llm.tokenize(open(args.text, "rb").read(), add_bos=llm._model.add_bos_token(), special=False)
    nll, count = 0.0, 0
    for c in range(len(tokens) // args.chunk):
        chunk = tokens[c * args.chunk:(c + 1) * args.chunk]
        llm.reset()
        llm.eval(chunk)
        logits = np.array(llm.scores[:args.chunk], dtype=np.float64)
        for i in range(args.chunk // 2, args.chunk - 1):
            row = logits[i]
            m = row.max()
            nll += math.log(np.exp(row - m).sum()) + m - row[chunk[i + 1]]
            count += 1
    print(f"tokens {len(tokens)} scored {count} perplexity {math.exp(nll / count):.4f}")


if __name__ == "__main__":
    main()
