#!/usr/bin/env python3
"""haqa-serve under the `openai` client (PyPI), and raw HTTP for bad input.

  openai_client.py KEY HAQA-SERVE-COMMAND...

Starts the server command with `--port 0 --port-file F --api-key KEY`
appended, waits for it, runs the checks, and stops it. Prints one line per
check; exits 1 at the first failure.
"""
import atexit
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

import openai

key, command = sys.argv[1], sys.argv[2:]
port_file = os.path.join(tempfile.mkdtemp(), "port")
server = subprocess.Popen(command + ["--port", "0", "--port-file", port_file, "--api-key", key])
atexit.register(server.kill)
for _ in range(600):
    if server.poll() is not None:
        sys.exit(f"openai_client: the server exited ({server.returncode})")
    if os.path.exists(port_file) and open(port_file).read().strip():
        break
    time.sleep(0.1)
port = int(open(port_file).read())
base = f"http://127.0.0.1:{port}/v1"
client = openai.OpenAI(base_url=base, api_key=key)
msgs = [{"role": "user", "content": "What is the capital of France?"}]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


models = client.models.list()
check(len(models.data) == 1 and models.data[0].object == "model", f"models: {models.data[0].id}")

r = client.chat.completions.create(model=models.data[0].id, messages=msgs, max_tokens=12, temperature=0)
text = r.choices[0].message.content
u = r.usage
check(bool(text) and r.choices[0].finish_reason in ("stop", "length"), f"chat: {text!r}")
check(u.completion_tokens <= 12 and u.total_tokens == u.prompt_tokens + u.completion_tokens,
      f"usage: {u.prompt_tokens} + {u.completion_tokens}")

# The same prompt again reuses the KV rows of all its tokens but the last
# (usage.prompt_tokens_details.cached_tokens) and gives the same text; a
# different question shares the chat template's start.
check(u.prompt_tokens_details.cached_tokens == 0, "first request: nothing cached")
again = client.chat.completions.create(model="any", messages=msgs, max_tokens=12, temperature=0)
cached = again.usage.prompt_tokens_details.cached_tokens
check(again.choices[0].message.content == text and cached == u.prompt_tokens - 1,
      f"prefix reused: {cached} of {u.prompt_tokens} prompt tokens, the same text")
other = client.chat.completions.create(
    model="any", messages=[{"role": "user", "content": "Name a color."}], max_tokens=4,
    temperature=0)
part = other.usage.prompt_tokens_details.cached_tokens
check(0 < part < other.usage.prompt_tokens and bool(other.choices[0].message.content),
      f"shared start reused: {part} of {other.usage.prompt_tokens}")

# Streaming gives the same greedy text, piece by piece.
pieces, finish = [], None
for chunk in client.chat.completions.create(model="any", messages=msgs, max_tokens=12, temperature=0,
                                            stream=True):
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
    if chunk.choices and chunk.choices[0].finish_reason:
        finish = chunk.choices[0].finish_reason
check("".join(pieces) == text and len(pieces) > 1 and finish == r.choices[0].finish_reason,
      f"stream: {len(pieces)} pieces, the same text, finish {finish}")

# A stop sequence ends the text before it.
first = text.split(" ")[0]
s = client.chat.completions.create(model="any", messages=msgs, max_tokens=12, temperature=0, stop=[" "])
check(s.choices[0].message.content == first and s.choices[0].finish_reason == "stop",
      f"stop: {s.choices[0].message.content!r}")

# Sampling with a seed repeats; /v1/completions takes a prompt.
a = client.completions.create(model="any", prompt="Once upon a time", max_tokens=8, temperature=0.9, seed=7)
b = client.completions.create(model="any", prompt="Once upon a time", max_tokens=8, temperature=0.9, seed=7)
check(a.choices[0].text == b.choices[0].text and a.object == "text_completion",
      f"completions, seeded: {a.choices[0].text!r}")

# JSON mode: whatever the model wants to say, the output is one JSON object.
for temp in (0, 0.9):
    j = client.chat.completions.create(
        model="any", max_tokens=300, temperature=temp, seed=1, response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Give the capital of France as JSON with keys country "
                                              "and capital."}])
    content = j.choices[0].message.content
    try:
        obj = json.loads(content)
    except ValueError:
        obj = None
    check(isinstance(obj, dict) and j.choices[0].finish_reason == "stop",
          f"json_object at temperature {temp}: {content[:60]!r}")

# Errors: a wrong key, an unimplemented response_format, bad values.
try:
    openai.OpenAI(base_url=base, api_key="wrong").models.list()
    check(False, "wrong key refused")
except openai.AuthenticationError as e:
    check(e.status_code == 401, "wrong key: 401")
for bad, what in (({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
                  "json_schema"),
                  ({"temperature": -1}, "temperature -1"), ({"max_tokens": 0}, "max_tokens 0")):
    try:
        client.chat.completions.create(model="any", messages=msgs, **bad)
        check(False, what + " refused")
    except openai.BadRequestError as e:
        check(e.status_code == 400, f"{what}: 400 {e.body.get('message', '')[:60]!r}")


def raw(method, path, body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    resp = c.getresponse()
    data = resp.read()
    c.close()
    return resp.status, data


status, data = raw("POST", "/v1/chat/completions", b"{not json")
check(status == 400 and "error" in json.loads(data), f"malformed JSON: {status}")
status, data = raw("POST", "/v1/chat/completions", b"x" * (2 << 20))
check(status == 413 and "error" in json.loads(data), f"oversized body: {status}")
status, data = raw("GET", "/v1/nothing")
check(status == 404 and "error" in json.loads(data), f"unknown route: {status}")

# A client that disconnects mid-stream frees the model: the next request
# is answered.
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/v1/chat/completions",
          body=json.dumps({"messages": msgs, "max_tokens": 200, "stream": True}),
          headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
resp = c.getresponse()
resp.readline()
c.close()
again = client.chat.completions.create(model="any", messages=msgs, max_tokens=4, temperature=0)
check(bool(again.choices[0].message.content), "after a disconnect mid-stream: answered")
print("all checks passed")
