#!/usr/bin/env python3
"""Writes the SPIR-V of every gpu.binary in an MLIR file produced by the
OpenCL pipeline (haqa-opencl-lower), one file per binary: OUT/<name>.spv.
With --spirv-val, each is validated for --target-env (exit status 1 if any
fails, with spirv-val's message).

    haqa-opt k.mlir --haqa-opencl-lower | python/extract_spirv.py - out/ --spirv-val spirv-val
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from extract_ptx import unescape  # noqa: E402

# The target environment nests <...>, so the object is found by its
# payload: the first string after `#gpu.object<#spirv.target_env<`.
OBJECT = re.compile(r'gpu\.binary @(\w+)\s*(?:<[^>]*>\s*)?\[#gpu\.object<#spirv\.target_env<'
                    r'[^"]*"((?:[^"\\]|\\.)*)"')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('input', help='MLIR file with gpu.binary ops, or -')
    ap.add_argument('outdir')
    ap.add_argument('--spirv-val', help='validate each module with this spirv-val')
    ap.add_argument('--target-env', default='opencl1.2')
    args = ap.parse_args()
    text = sys.stdin.read() if args.input == '-' else open(args.input).read()
    os.makedirs(args.outdir, exist_ok=True)
    written = []
    for m in OBJECT.finditer(text):
        data = unescape(m.group(2))
        if data[:4] != b'\x03\x02\x23\x07':
            sys.exit(f'extract_spirv.py: @{m.group(1)} is no SPIR-V module')
        path = os.path.join(args.outdir, m.group(1) + '.spv')
        with open(path, 'wb') as f:
            f.write(data)
        written.append(path)
    if not written:
        sys.exit('extract_spirv.py: no SPIR-V gpu.binary objects in the input')
    print(f'{len(written)} kernels')
    if not args.spirv_val:
        return
    failed = 0
    for path in written:
        r = subprocess.run([args.spirv_val, '--target-env', args.target_env, path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            failed += 1
            sys.stderr.write(f'spirv-val {path}:\n{r.stderr}{r.stdout}')
    print(f'spirv-val {args.target_env}: {len(written) - failed} valid, {failed} invalid')
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    main()
