#!/usr/bin/env python3
"""Writes the PTX (or cubin / fatbin bytes) of every gpu.binary in an MLIR
file produced by gpu-module-to-binary, one file per binary: OUT/<name>.ptx
(assembly) or OUT/<name>.bin (binary formats).

    haqa-opt k.mlir --haqa-cuda-lower | python/extract_ptx.py - out/
"""
import os
import re
import sys

OBJECT = re.compile(
    r'gpu\.binary @(\w+)\s*(?:<[^>]*>\s*)?\[#gpu\.object<#nvvm\.target<[^>]*>,'
    r'(?:\s*properties = \{[^}]*\},)?\s*(?:(assembly|bin|fatbin) = )?"((?:[^"\\]|\\.)*)"')


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == '\\':
            nxt = s[i + 1]
            if nxt in '\\"':
                out += nxt.encode()
                i += 2
            elif nxt == 'n':
                out += b'\n'
                i += 2
            elif nxt == 't':
                out += b'\t'
                i += 2
            else:
                out.append(int(s[i + 1:i + 3], 16))
                i += 3
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: extract_ptx.py INPUT.mlir|- OUTDIR')
    text = sys.stdin.read() if sys.argv[1] == '-' else open(sys.argv[1]).read()
    os.makedirs(sys.argv[2], exist_ok=True)
    found = 0
    for m in OBJECT.finditer(text):
        name, kind, payload = m.group(1), m.group(2), m.group(3)
        data = unescape(payload)
        ext = '.ptx' if kind == 'assembly' or data.lstrip().startswith(b'//') else '.bin'
        with open(os.path.join(sys.argv[2], name + ext), 'wb') as f:
            f.write(data)
        found += 1
    if not found:
        sys.exit('extract_ptx.py: no gpu.binary objects in the input')
    print(found)


if __name__ == '__main__':
    main()
