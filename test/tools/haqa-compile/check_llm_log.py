#!/usr/bin/env python3
"""Summarizes the fake server's request log and haqa-compile's run.jsonl for
llm-agent.test: which pieces the prompts contain, the re-ask messages, the
reply problems and who proposed each trial."""
import collections
import json
import sys

reqs = [json.loads(l) for l in open(sys.argv[1])]
run = [json.loads(l) for l in open(sys.argv[2])]
first = reqs[0]["messages"]
pieces = ["Hardware platform:", "host CPU", "Kernel to optimize: rope", "FLOPs and",
          "bytes moved", "roofline floor", "tile[2]", "Allowed:", "Default:", "Thought:",
          "Action:"]
print("first system prompt: " + " | ".join(p for p in pieces if p in first[0]["content"]))
print("first user prompt: " + " | ".join(p for p in ["Round 1 of 4", "(none yet"]
                                         if p in first[1]["content"]))
r2 = next(r for r in reqs if r["messages"] and "Round 2 of 4" in r["messages"][1]["content"])
print("round 2 user prompt: " + " | ".join(p for p in ["Round 2 of 4", "Observation: latency",
                                                       "of the roofline",
                                                       "Values no trial has used yet"]
                                           if p in r2["messages"][1]["content"]))
# A re-ask (a request whose conversation already holds a reply) samples
# hotter than the first ask of its round.
temps = sorted({(len(r["messages"]) > 2, r.get("temperature")) for r in reqs if r["messages"]})
print("temperatures: " + " ".join(f"{'reask' if re else 'ask'}={t}" for re, t in temps))
for e in run:
    if e.get("event") == "reask":
        for p in ["tile[2] = 48 is not one of", "already measured", "not tried yet:\n- "]:
            if p in e["user"]:
                print("reask: " + p)
problems = collections.Counter(e["problem"] for e in run
                               if e.get("event") == "reply" and e["problem"] != "none")
print("problems: " + " ".join(f"{k}={v}" for k, v in sorted(problems.items())))
who = collections.Counter(e["proposed_by"] for e in run if e.get("event") == "trial")
print("trials: " + " ".join(f"{k}={v}" for k, v in sorted(who.items())))
