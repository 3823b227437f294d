#!/usr/bin/env python3
"""Compare HAQA's tokenizer with llama.cpp's on the same GGUF vocabulary.

  python3 python/check_tokenizer.py IMPORT_DIR MODEL.gguf [--haqa-eval build/bin/haqa-eval]

IMPORT_DIR is llama-import's output for MODEL.gguf. Needs llama-cpp-python.
Tokenizes a fixed set of strings (prose, code, numbers, whitespace runs,
non-ASCII, chat markup) plus every line of the Apache-2.0 and GPL-3 license
texts shipped by Debian, without BOS and with special-token parsing, and
prints the fraction of strings whose ids are identical. Exit code 1 when any
string differs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

STRINGS = [
    "The capital of France is", "Hello world", " Hello  world  ", "hello\n\nworld\n",
    "1234567890", "3.14159 is pi", "It's we're they've I'm you'll he'd",
    "def f(x):\n    return x * 2  # comment\n", "int main() { return 0; }",
    "café naïve résumé", "日本語のテキスト", "Привет, мир!", "emoji 🙂 test",
    "tabs\tand\ttabs", "trailing spaces   ", "   leading spaces", "a\r\nb",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "URL: https://example.com/a?b=c&d=e", "$100.00 (approx.)", "x" * 50,
    "MixedCASE and UPPER words", "snake_case_name = camelCaseName",
]


def license_lines():
    lines = []
    for name in ("Apache-2.0", "GPL-3"):
        path = os.path.join("/usr/share/common-licenses", name)
        if os.path.exists(path):
            lines += [l for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("import_dir")
    ap.add_argument("gguf")
    ap.add_argument("--haqa-eval", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin", "haqa-eval"))
    args = ap.parse_args()
    import llama_cpp

    strings = STRINGS + license_lines()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(strings, f)
    ours = json.loads(subprocess.check_output([args.haqa_eval, args.import_dir, "--tokenize-json", f.name]))
    os.unlink(f.name)
    llm = llama_cpp.Llama(model_path=args.gguf, vocab_only=True, verbose=False)
    same = 0
    for s, o in zip(strings, ours):
        ref = llm.tokenize(s.encode(), add_bos=False, special=True)
        if ref == o:
            same += 1
        else:
            print(f"DIFF {s!r}\n  llama.cpp {ref}\n  haqa      {o}")
    print(f"identical: {same} of {len(strings)} strings")
    sys.exit(0 if same == len(strings) else 1)


if __name__ == "__main__":
    main()
