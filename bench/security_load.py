#!/usr/bin/env python3
"""security_load.py - what hostile or careless clients cost a server.

  watchers  N raw WebSocket watchers of a long transcript that never read
            (issue 32: 150 of them on 3,000 segments made /api/health time
            out and the server grow to 637 MiB): /api/health's latency
            and the server's resident memory while they hang on.
  listers   N clients that ask for the list of 20,000 transcriptions and
            never read the answer (issue 32: 60 of them added 190 MiB):
            the same measurements.
  auth      the cost of checking an API key: sequential GETs and
            WebSocket handshakes against the same server with
            --auth off, then with --auth required and a key.

Usage: bench/security_load.py watchers|listers|auth [--bin build/verbatim]
       [--watchers 150] [--segments 3000] [--listers 60]
       [--transcriptions 20000] [--seconds 20] [--requests 2000]
Prints one JSON object.  Needs Python 3 (standard library only).
"""
import argparse
import base64
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(binary, extra, db_dir):
    port = free_port()
    log = open(os.path.join(db_dir, "server.log"), "a")
    proc = subprocess.Popen([binary, "serve", "--port", str(port), "--db",
                             os.path.join(db_dir, "db.sqlite")] + extra,
                            stdout=log, stderr=log)
    for _ in range(300):
        try:
            status, _ = get(port, "/api/health", timeout=1)
            if status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start; see " + db_dir)


def get(port, path, headers=None, timeout=60, method="GET", body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def handshake(port, path, headers=""):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"{headers}\r\n").encode())
    return s


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def hold(args, proc, port, socks):
    """/api/health's latency and the server's memory while socks hang on."""
    latencies, rss, timeouts = [], [], 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        t = time.monotonic()
        try:
            get(port, "/api/health", timeout=30)
            latencies.append(time.monotonic() - t)
        except OSError:
            timeouts += 1
        rss.append(rss_mib(proc.pid))
        time.sleep(0.2)
    _, health = get(port, "/api/health", timeout=30)
    for s in socks:
        s.close()
    return {
        "health_p50_s": round(statistics.median(latencies), 4) if latencies else None,
        "health_p95_s": round(pct(latencies, 95), 4) if latencies else None,
        "health_max_s": round(max(latencies), 4) if latencies else None,
        "health_timeouts": timeouts,
        "rss_max_mib": round(max(rss), 1),
        "watchers_open_at_end": json.loads(health).get("watchers"),
    }


def listers(args):
    d = tempfile.mkdtemp(prefix="vbsec-")
    proc, port = start(args.bin, [], d)
    try:
        db = sqlite3.connect(os.path.join(d, "db.sqlite"), timeout=10)
        db.executemany("INSERT INTO transcriptions (title, created_at) VALUES (?, ?)",
                       [(f"Seeded {i}", "2026-01-01T00:00:00.000000+00:00")
                        for i in range(args.transcriptions)])
        db.commit()
        db.close()
        rss_before = rss_mib(proc.pid)
        socks = []
        for _ in range(args.listers):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.connect(("127.0.0.1", port))
            s.sendall(f"GET /api/transcriptions/?summary=true HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{port}\r\n\r\n".encode())
            socks.append(s)
        out = {"bin": args.bin, "listers": args.listers,
               "transcriptions": args.transcriptions,
               "rss_before_mib": round(rss_before, 1)}
        out.update(hold(args, proc, port, socks))
        print(json.dumps(out))
    finally:
        proc.terminate()
        proc.wait()


def watchers(args):
    d = tempfile.mkdtemp(prefix="vbsec-")
    proc, port = start(args.bin, [], d)
    try:
        status, body = get(port, "/api/transcriptions/", method="POST",
                           body='{"title": "long meeting"}',
                           headers={"Content-Type": "application/json"})
        tid = json.loads(body)["id"]
        db = sqlite3.connect(os.path.join(d, "db.sqlite"), timeout=10)
        words = json.dumps([{"word": "word", "start": 0, "end": 0.1,
                             "confidence": 0.9}] * 12)
        db.executemany(
            "INSERT INTO segments (transcription_id, text, speaker, start_time,"
            " end_time, is_final, words) VALUES (?, ?, 'speaker_0', ?, ?, 1, ?)",
            [(tid, "a sentence of about a dozen words said in a meeting " * 2,
              i + 0.5, i + 0.9, words) for i in range(args.segments)])
        db.commit()
        db.close()
        rss_before = rss_mib(proc.pid)
        socks = [handshake(port, f"/ws/watch/{tid}") for _ in range(args.watchers)]
        out = {"bin": args.bin, "watchers": args.watchers,
               "segments": args.segments, "rss_before_mib": round(rss_before, 1)}
        out.update(hold(args, proc, port, socks))
        print(json.dumps(out))
    finally:
        proc.terminate()
        proc.wait()


def timed(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def auth(args):
    out = {"bin": args.bin, "requests": args.requests}
    for mode in ("off", "required"):
        d = tempfile.mkdtemp(prefix="vbsec-")
        db = os.path.join(d, "db.sqlite")
        key = subprocess.run([args.bin, "keys", "create", "--name", "bench",
                              "--scope", "admin", "--db", db],
                             capture_output=True, text=True,
                             check=True).stdout.strip()
        proc, port = start(args.bin, ["--auth", mode], d)
        try:
            h = {"Authorization": f"Token {key}"} if mode == "required" else {}
            get(port, "/api/transcriptions/", method="POST", headers=dict(
                h, **{"Content-Type": "application/json"}), body='{"title": "x"}')
            rest = timed(lambda: get(port, "/api/transcriptions/1/", headers=h),
                         args.requests)
            hdr = f"Authorization: Token {key}\r\n" if mode == "required" else ""

            def ws():
                s = handshake(port, "/ws/watch/1", hdr)
                s.settimeout(10)
                reply = s.recv(4096)
                assert reply.startswith(b"HTTP/1.1 101"), reply[:60]
                s.close()
            sockets = timed(ws, args.requests // 4)
            out[mode] = {"rest_median_ms": round(statistics.median(rest) * 1e3, 3),
                         "rest_p95_ms": round(pct(rest, 95) * 1e3, 3),
                         "handshake_median_ms": round(statistics.median(sockets) * 1e3, 3),
                         "handshake_p95_ms": round(pct(sockets, 95) * 1e3, 3)}
        finally:
            proc.terminate()
            proc.wait()
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["watchers", "listers", "auth"])
    p.add_argument("--bin", default="build/verbatim")
    p.add_argument("--watchers", type=int, default=150)
    p.add_argument("--segments", type=int, default=3000)
    p.add_argument("--listers", type=int, default=60)
    p.add_argument("--transcriptions", type=int, default=20000)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--requests", type=int, default=2000)
    args = p.parse_args()
    {"watchers": watchers, "listers": listers, "auth": auth}[args.what](args)


if __name__ == "__main__":
    main()
