#!/usr/bin/env python3
"""A scripted OpenAI-compatible chat-completions server for the agent tests.

Serves POST <prefix>/chat/completions on 127.0.0.1 (a free port, written to
--port-file) and answers the requests in turn with the steps of --script, a
JSON list of
  {"content": "..."}                      a 200 chat completion
  {"status": 500, "error": "..."}         an HTTP error with an OpenAI-style body
  {"delay": 3, "content": "..."}          answer after a delay (time-outs)
  {"raw": "..."}                          a 200 with this exact body
  {"big": N}                              a 200 whose body is N bytes
  {"status": 429, "retry_after": S}       an HTTP error with Retry-After: S
  {"propose_default": true}              a 200 whose Action is the default
                                          configuration, read from the search
                                          space the system prompt lists
The last step repeats when the script runs out. --require-key answers 401 to
requests without "Authorization: Bearer KEY". Every request (messages, model,
whether the key matched; never the key itself) goes to --log as JSON lines.
The server exits after --idle seconds without requests.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--require-key", default="")
    ap.add_argument("--idle", type=float, default=120)
    args = ap.parse_args()
    steps = json.load(open(args.script))
    state = {"next": 0, "last": time.time()}
    lock = threading.Lock()
    log = open(args.log, "a")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, status, body, headers=()):
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(n)
            with lock:
                state["last"] = time.time()
                i = state["next"]
                step = steps[min(i, len(steps) - 1)]
                state["next"] += 1
            auth = self.headers.get("Authorization", "")
            key_ok = auth == f"Bearer {args.require_key}" if args.require_key else None
            try:
                req = json.loads(body)
            except ValueError:
                req = {"unparsable": body.decode(errors="replace")}
            log.write(json.dumps({"n": i, "path": self.path, "model": req.get("model"),
                                  "messages": req.get("messages"),
                                  "response_format": req.get("response_format"),
                                  "temperature": req.get("temperature"), "key_ok": key_ok,
                                  "has_auth": bool(auth), "t": time.time()}) + "\n")
            log.flush()
            if self.path != "/v1/chat/completions":
                return self.reply(404, {"error": {"message": f"no route {self.path}"}})
            if args.require_key and not key_ok:
                return self.reply(401, {"error": {"message": "Incorrect API key provided"}})
            if step.get("delay"):
                time.sleep(step["delay"])
            if "raw" in step:
                return self.reply(200, step["raw"])
            if step.get("propose_default"):
                # The default schedule, read from the search space the
                # system prompt lists ("- tile[2]: ... Default: 128"),
                # proposed as this round's action.
                system = (req.get("messages") or [{}])[0].get("content", "")
                config = {}
                for line in system.split("\n"):
                    if not line.startswith("- ") or ". Default: " not in line:
                        continue
                    name = line[2:].split(":", 1)[0]
                    value = json.loads(line.rsplit(". Default: ", 1)[1])
                    if "[" in name:
                        base, index = name[:-1].split("[")
                        config.setdefault(base, []).append((int(index), value))
                    else:
                        config[name] = value
                config = {k: [v for _, v in sorted(x)] if isinstance(x, list) and x and
                          isinstance(x[0], tuple) else x for k, x in config.items()}
                step = {"content": "Thought: the compiler's default.\nAction: " + json.dumps(config)}
            if "big" in step:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(step["big"]))
                self.end_headers()
                chunk = b"x" * 65536
                left = step["big"]
                try:
                    while left > 0:
                        self.wfile.write(chunk[:min(left, len(chunk))])
                        left -= len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the test wants
                return
            if step.get("status", 200) != 200:
                headers = [("Retry-After", str(step["retry_after"]))] if "retry_after" in step else []
                return self.reply(step["status"], {"error": {"message": step.get("error", "error")}},
                                  headers)
            self.reply(200, {
                "id": f"chatcmpl-{i}", "object": "chat.completion", "model": req.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": step["content"]}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(args.port_file + ".tmp", args.port_file)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while time.time() - state["last"] < args.idle:
        time.sleep(0.2)
    server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
