#!/usr/bin/env python3
"""Test helper for haqa-device-runner (protocol in lib/Runtime/RemoteProtocol.h).

  runner_client.py start BIN TOKEN STATE [ARGS]  start a runner on a free loopback port
  runner_client.py busy STATE TOKEN         hold one connection, open a second
  runner_client.py stop STATE               kill -9 it
  runner_client.py with STATE TOKEN -- CMD  run CMD with HAQA_OPENCL_REMOTE / HAQA_RUNNER_TOKEN
  runner_client.py malformed STATE TOKEN    send bad messages, print each reply
  runner_client.py dying STATE              a fake runner that dies at its first Run
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

HELLO, HELLO_REPLY, PROGRAM, OK, RUN, RUN_REPLY, RELEASE, ERROR = range(1, 9)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def header(kind, length, magic=b'HAQR', version=1):
    return magic + struct.pack('<IIQ', version, kind, length)


def field(data):
    if isinstance(data, str):
        data = data.encode()
    return struct.pack('<Q', len(data)) + data


def recv_all(s, n):
    out = b''
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def reply(s):
    h = recv_all(s, 20)
    if h is None:
        return 'closed'
    _, _, kind, length = struct.unpack('<4sIIQ', h)
    payload = recv_all(s, length) or b''
    if kind == ERROR:
        (n,) = struct.unpack('<Q', payload[:8])
        return 'error: ' + payload[8:8 + n].decode(errors='replace')
    return {HELLO_REPLY: 'hello-reply', OK: 'ok', RUN_REPLY: 'run-reply'}.get(kind, f'type {kind}')


def connect(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=30)
    return s


def state(path):
    port, pid = open(path).read().split()
    return int(port), int(pid)


def main():
    cmd = sys.argv[1]
    if cmd == 'start':
        binary, token, path = sys.argv[2:5]
        extra = sys.argv[5:]
        port = free_port()
        log = open(path + '.log', 'w')
        # Gone after 15 minutes even if the test never stops it.
        p = subprocess.Popen(['timeout', '900', binary, '--port', str(port), '--token', token] + extra,
                             stderr=log, start_new_session=True)
        for _ in range(100):
            if 'listening' in open(path + '.log').read():
                break
            time.sleep(0.05)
        open(path, 'w').write(f'{port} {p.pid}\n')
        print(f'runner on port {port}')
    elif cmd == 'stop':
        _, pid = state(sys.argv[2])
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    elif cmd == 'with':
        path, token = sys.argv[2:4]
        port, _ = state(path)
        env = dict(os.environ, HAQA_OPENCL_REMOTE=f'127.0.0.1:{port}', HAQA_RUNNER_TOKEN=token)
        rest = sys.argv[sys.argv.index('--') + 1:]
        sys.exit(subprocess.call(rest, env=env))
    elif cmd == 'malformed':
        path, token = sys.argv[2:4]
        port, _ = state(path)
        cases = [
            ('bad magic', header(HELLO, 0, magic=b'XXXX')),
            ('version 2', header(HELLO, 0, version=2)),
            ('oversized', header(HELLO, 1 << 62)),
            ('unknown type', header(99, 0)),
            ('wrong token', header(HELLO, len(field('nope'))) + field('nope')),
            ('run before hello', header(RUN, 0)),
        ]
        for name, data in cases:
            s = connect(port)
            s.sendall(data)
            print(f'{name}: {reply(s)}')
            s.close()
        # One authenticated connection survives bad requests.
        s = connect(port)
        hello = field(token)
        s.sendall(header(HELLO, len(hello)) + hello)
        print(f'hello: {reply(s)}')
        truncated = field('f') + struct.pack('<Q', 1)
        s.sendall(header(RUN, len(truncated)) + truncated)
        print(f'truncated run: {reply(s)}')
        huge_count = field('f') + struct.pack('<QQ', 0, 1 << 40)
        s.sendall(header(RUN, len(huge_count)) + huge_count)
        print(f'huge count: {reply(s)}')
        program = field('junk') + b'\x00' + field(b'\x00' * 64)
        s.sendall(header(PROGRAM, len(program)) + program)
        print(f'junk program: {reply(s).splitlines()[0][:80]}')
        s.sendall(header(RELEASE, 0))
        print(f'release: {reply(s)}')
        s.close()
    elif cmd == 'busy':
        # One authenticated connection held open, then a second one.
        path, token = sys.argv[2:4]
        port, _ = state(path)
        first = connect(port)
        hello = field(token)
        first.sendall(header(HELLO, len(hello)) + hello)
        print(f'first: {reply(first)}')
        second = connect(port)
        second.sendall(header(HELLO, len(hello)) + hello)
        print(f'second: {reply(second)}')
        first.close()
        second.close()
    elif cmd == 'dying':
        path = sys.argv[2]
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(('127.0.0.1', 0))
        server.listen(8)
        port = server.getsockname()[1]
        pid = os.fork()
        if pid:
            open(path, 'w').write(f'{port} {pid}\n')
            print(f'dying runner on port {port}')
            return
        os.setsid()
        signal.alarm(900)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        while True:
            c, _ = server.accept()
            # A process per connection, as the real runner; the first Run
            # kills them all, listener included.
            if os.fork():
                c.close()
                continue
            while True:
                h = recv_all(c, 20)
                if h is None:
                    break
                _, _, kind, length = struct.unpack('<4sIIQ', h)
                recv_all(c, length)
                if kind == HELLO:
                    body = field('fake device') + field('OpenCL 3.0') + field('') + b'\x01\x00'
                    c.sendall(header(HELLO_REPLY, len(body)) + body)
                elif kind == PROGRAM:
                    c.sendall(header(OK, 0))
                elif kind == RUN:
                    os.killpg(0, signal.SIGKILL)
                else:
                    c.sendall(header(OK, 0))
            c.close()
            os._exit(0)


if __name__ == '__main__':
    main()
