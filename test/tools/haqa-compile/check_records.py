#!/usr/bin/env python3
"""Checks a haqa-compile records database (and JSONL log) for lit tests.

  check_records.py DB LOG|- KERNEL ROUNDS STRATEGY:COUNT...
      every listed strategy has COUNT trials of KERNEL, rounds 0..COUNT-1
      once each; the log (unless -) has the same trials.
  check_records.py --wait-trials N DB
      waits (up to 120 s) until DB holds N trials (for the kill -9 test).
"""
import json
import os
import sqlite3
import sys
import time


def trials(db, kernel, strategy):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT round, status FROM trials WHERE kernel LIKE ? AND strategy = ?",
                       (kernel + " %", strategy)).fetchall()
    con.close()
    return rows


def main():
    if sys.argv[1] == "--wait-trials":
        n, db = int(sys.argv[2]), sys.argv[3]
        for _ in range(1200):
            if os.path.exists(db):
                try:
                    con = sqlite3.connect(db)
                    got = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
                    con.close()
                    if got >= n:
                        return 0
                except sqlite3.Error:
                    pass
            time.sleep(0.1)
        sys.exit(f"check_records: {db} never reached {n} trials")
    db, log, kernel, _rounds = sys.argv[1:5]
    for spec in sys.argv[5:]:
        strategy, count = spec.split(":")
        rows = trials(db, kernel, strategy)
        rounds = sorted(r for r, _ in rows)
        if rounds != list(range(int(count))):
            sys.exit(f"check_records: {strategy}: rounds {rounds}, expected 0..{int(count) - 1}")
        if log != "-":
            logged = [json.loads(l) for l in open(log)]
            logged = [l for l in logged if l.get("event") == "trial"]
            mine = [l for l in logged if l["strategy"] == strategy and l["kernel"].startswith(kernel)]
            if strategy != "default" and len(mine) != int(count):
                sys.exit(f"check_records: {strategy}: {len(mine)} log lines, expected {count}")
            for l in mine:
                if l["status"] == "ok" and not l["latency_ms"] > 0:
                    sys.exit(f"check_records: bad latency in {l}")
                # Every correct trial was timed in pairs with the default
                # (or is the default: speedup 1, no pairs), its speedup
                # inside its 95% interval.
                if l["status"] == "ok":
                    lo, mid, hi = l.get("speedup_lo"), l.get("speedup"), l.get("speedup_hi")
                    if mid is None or not (0 < lo <= mid <= hi):
                        sys.exit(f"check_records: no paired speedup in {l}")
                    if l["pairs"] == 0 and not lo == mid == hi == 1:
                        sys.exit(f"check_records: unpaired but not the default: {l}")
    print("ok")


if __name__ == "__main__":
    main()
