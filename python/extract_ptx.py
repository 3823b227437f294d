#!/usr/bin/env python3
"""Writes the PTX (or cubin / fatbin bytes) of every gpu.binary in an MLIR
file produced by gpu-module-to-binary, one file per binary: OUT/<name>.ptx
(assembly) or OUT/<name>.bin (binary formats). With --ptxas, each PTX file
is also assembled for --arch (exit status 1 if any fails, with ptxas's
message).

    haqa-opt k.mlir --haqa-cuda-lower | python/extract_ptx.py - out/
    python/extract_ptx.py k.ll.mlir out/ --ptxas /usr/local/cuda/bin/ptxas --arch sm_90
"""
import argparse
import subprocess
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('input', help='MLIR file with gpu.binary ops, or -')
    ap.add_argument('outdir')
    ap.add_argument('--ptxas', help='assemble each PTX file with this ptxas')
    ap.add_argument('--arch', default='sm_80')
    args = ap.parse_args()
    text = sys.stdin.read() if args.input == '-' else open(args.input).read()
    os.makedirs(args.outdir, exist_ok=True)
    found = 0
    written = []
    for m in OBJECT.finditer(text):
        name, kind, payload = m.group(1), m.group(2), m.group(3)
        data = unescape(payload)
        ext = '.ptx' if kind == 'assembly' or data.lstrip().startswith(b'//') else '.bin'
        path = os.path.join(args.outdir, name + ext)
        with open(path, 'wb') as f:
            f.write(data)
        written.append(path)
        found += 1
    if not found:
        sys.exit('extract_ptx.py: no gpu.binary objects in the input')
    print(f'{found} kernels')
    if not args.ptxas:
        return
    failed = 0
    for path in written:
        if not path.endswith('.ptx'):
            continue
        r = subprocess.run([args.ptxas, f'-arch={args.arch}', path, '-o',
                            path[:-4] + '.cubin'], capture_output=True, text=True)
        if r.returncode != 0:
            failed += 1
            sys.stderr.write(f'ptxas -arch={args.arch} {path}:\n{r.stderr}')
    print(f'ptxas {args.arch}: {len(written) - failed} assembled, {failed} failed')
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    main()
