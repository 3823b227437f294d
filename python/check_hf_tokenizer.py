#!/usr/bin/env python3
"""HAQA's reading of a Hugging Face tokenizer.json, against the `tokenizers`
package (PyPI) on the same file.

  check_hf_tokenizer.py make MODEL.gguf KIND HF_DIR
      writes HF_DIR/tokenizer.json and tokenizer_config.json for the
      vocabulary and merges of MODEL.gguf, built with the `tokenizers`
      package as the model's own files are (KIND smollm: Digits +
      ByteLevel; qwen2: a Split on Qwen2's expression + ByteLevel, NFC),
      with its special tokens, EOS and chat template
  check_hf_tokenizer.py compare HF_DIR IMPORT_DIR [--haqa-eval PATH]
      tokenizes the strings of check_tokenizer.py (prose, code, numbers,
      whitespace, non-ASCII, chat markup, the Apache-2.0 and GPL-3 texts)
      plus long and mixed-script ones with `tokenizers` (HF_DIR) and with
      `haqa-eval IMPORT_DIR --tokenize-json` (llama-import's output for a
      checkpoint holding HF_DIR's files); prints how many agree; exit 1 when
      any differs
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_tokenizer import STRINGS, license_lines  # noqa: E402

QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
         r"\s*[\r\n]+|\s+(?!\S)|\s+")


def make(args):
    from gguf import GGUFReader
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers import AddedToken
    r = GGUFReader(args.gguf)

    def field(name):
        f = r.fields[name]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    tokens = field("tokenizer.ggml.tokens")
    merges = field("tokenizer.ggml.merges")
    types = r.fields["tokenizer.ggml.token_type"]
    kinds = [int(types.parts[i][0]) for i in types.data]
    eos = int(r.fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
    tmpl = field("tokenizer.chat_template")[0] if "tokenizer.chat_template" in r.fields else ""
    vocab = {t: i for i, t in enumerate(tokens)}
    bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges],
                     ignore_merges=False)
    tok = Tokenizer(bpe)
    if args.kind == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    else:
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    special = [AddedToken(t, special=True, normalized=False)
               for i, t in enumerate(tokens) if kinds[i] == 3]
    tok.add_special_tokens(special)
    os.makedirs(args.hf_dir, exist_ok=True)
    tok.save(os.path.join(args.hf_dir, "tokenizer.json"))
    # The ids the file gave the added tokens must be the GGUF's.
    for i, t in enumerate(tokens):
        if kinds[i] == 3 and tok.token_to_id(t) != i:
            sys.exit(f"check_hf_tokenizer: {t!r} got id {tok.token_to_id(t)}, not {i}")
    with open(os.path.join(args.hf_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": tokens[eos], "add_bos_token": False, "chat_template": tmpl}, f)
    print(f"wrote {args.hf_dir}/tokenizer.json: {len(vocab)} tokens, {len(merges)} merges, "
          f"{len(special)} special")


def compare(args):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(args.hf_dir, "tokenizer.json"))
    strings = STRINGS + license_lines() + [
        "a" * 20000, "9" * 1000, "x1y22z333 4444", "naïve café 東京 Привет 🙂🙂 مرحبا",
        "  \n\t \r\n  mixed   whitespace \n\n\n", "<|im_start|>system\nYou are<|im_end|>",
        "'S 'T 'RE it'S WE'RE", "£100 €200 ¥300", "über-größe STRASSE"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(strings, f)
    ours = json.loads(subprocess.check_output([args.haqa_eval, args.import_dir, "--tokenize-json", f.name]))
    os.unlink(f.name)
    same = 0
    for s, o in zip(strings, ours):
        ref = tok.encode(s, add_special_tokens=False).ids
        if ref == o:
            same += 1
        else:
            print(f"DIFF {s[:80]!r}\n  tokenizers {ref[:20]}\n  haqa       {o[:20]}")
    print(f"identical: {same} of {len(strings)} strings")
    sys.exit(0 if same == len(strings) else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(required=True)
    p = sub.add_parser("make")
    p.add_argument("gguf")
    p.add_argument("kind", choices=["smollm", "qwen2"])
    p.add_argument("hf_dir")
    p.set_defaults(run=make)
    p = sub.add_parser("compare")
    p.add_argument("hf_dir")
    p.add_argument("import_dir")
    p.add_argument("--haqa-eval", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin",
                                                       "haqa-eval"))
    p.set_defaults(run=compare)
    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
