#!/usr/bin/env python3
"""How late a watcher gets a live result (bench/instances.sh).

    bench/hop.py PORT_A PORT_B FILE STREAMS

Plays FILE (16 kHz 16-bit mono raw) on STREAMS live streams to instance A
at once, at the audio's pace, each into a transcription of its own, and
watches every one of them on A and, if PORT_B is not 0, on B.  The
streaming client gets each result straight from its session; a watcher
gets it through the bus (in-process, or Redis, where every message goes
through Redis, even to a watcher on the same instance).  For each result
a watcher and the client both got, prints "KIND WHERE MS": KIND i (an
interim) or f (a final), WHERE a or b, and how much later that watcher
had it than the client, in milliseconds.  Unpaired results go to standard
error as a count.  Standard library only: a minimal WebSocket client.
"""
import base64
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time


def create(port, title):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/transcriptions/", json.dumps({"title": title}),
                 {"Content-Type": "application/json"})
    reply = conn.getresponse()
    body = reply.read()
    if reply.status != 200:
        sys.exit(f"hop.py: POST /api/transcriptions/ on {port}: {reply.status} {body!r}")
    return json.loads(body)["id"]


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        got = sock.recv(n - len(data))
        if not got:
            raise EOFError
        data += got
    return data


def frame(opcode, payload):
    """A client frame: masked, as clients' frames must be."""
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x80 | opcode])
    if size < 126:
        head += bytes([0x80 | size])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


class Socket(threading.Thread):
    """A WebSocket on PATH; records (arrival, is_final, text, start) of each
    transcript_segment it receives."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.got = []
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += read_exact(self.sock, 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            sys.exit(f"hop.py: {path} on {port}: {head.splitlines()[0]!r}")
        self.sock.settimeout(None)

    def run(self):
        message = b""
        try:
            while True:
                b0, b1 = read_exact(self.sock, 2)
                size = b1 & 0x7F
                if size == 126:
                    size = struct.unpack("!H", read_exact(self.sock, 2))[0]
                elif size == 127:
                    size = struct.unpack("!Q", read_exact(self.sock, 8))[0]
                payload = read_exact(self.sock, size)
                now = time.monotonic()
                opcode = b0 & 0x0F
                if opcode == 8:
                    return
                if opcode not in (0, 1):
                    continue  # ping, pong, binary: not results
                message += payload
                if not b0 & 0x80:
                    continue  # more fragments to come
                text, message = message, b""
                msg = json.loads(text)
                if msg.get("type") == "transcript_segment":
                    p = msg["payload"]
                    self.got.append((now, bool(p.get("is_final")), p.get("text"), p.get("start")))
        except (EOFError, OSError):
            return

    def send(self, opcode, payload):
        self.sock.sendall(frame(opcode, payload))

    def close(self):
        try:
            self.sock.sendall(frame(8, b""))
        except OSError:
            pass
        time.sleep(0.2)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def pairs(client, watcher):
    """(is_final, watcher - client in ms) for each result both got, in order."""
    later = {}
    for t, final, text, start in watcher:
        later.setdefault((final, text, start), []).append(t)
    out, unpaired = [], 0
    for t, final, text, start in client:
        queue = later.get((final, text, start))
        if queue:
            out.append((final, (queue.pop(0) - t) * 1000))
        else:
            unpaired += 1
    return out, unpaired + sum(len(q) for q in later.values())


def play(port, tid, audio, watchers):
    """Streams audio into tid at its pace, 100 ms a message; returns the
    client's results once the server has closed the stream."""
    client = Socket(port, f"/ws/transcribe/{tid}")
    client.start()
    chunk, begun = 3200, time.monotonic()
    for k in range(0, len(audio), chunk):
        # Each message leaves when its last sample would be recorded.
        time.sleep(max(0.0, begun + (k + chunk) / 32000 - time.monotonic()))
        client.send(2, audio[k:k + chunk])
    client.send(1, b'{"type": "CloseStream"}')
    client.join(60)
    client.close()
    return client.got


def main():
    port_a, port_b, path, streams = sys.argv[1:5]
    port_a, port_b, streams = int(port_a), int(port_b), int(streams)
    audio = open(path, "rb").read()
    ports = [("a", port_a)] + ([("b", port_b)] if port_b else [])
    runs = []
    for i in range(streams):
        tid = create(port_a, f"hop {i}")
        watchers = [(where, Socket(port, f"/ws/watch/{tid}")) for where, port in ports]
        for _, w in watchers:
            w.start()
        runs.append((tid, watchers))
    # A watcher's subscription is in place once its status has come, but
    # give Redis a moment more before the first result is published.
    time.sleep(1.0)
    results = [None] * streams

    def one(k):
        results[k] = play(port_a, runs[k][0], audio, runs[k][1])
    players = [threading.Thread(target=one, args=(k,)) for k in range(streams)]
    for p in players:
        p.start()
    for p in players:
        p.join()
    time.sleep(1.0)  # the last finals on their way through the bus
    unpaired_all = 0
    for (_, watchers), got in zip(runs, results):
        for where, w in watchers:
            w.close()
            w.join(2)
            found, unpaired = pairs(got, w.got)
            unpaired_all += unpaired
            for final, ms in found:
                print(f"{'f' if final else 'i'} {where} {ms:.3f}")
    print(f"hop.py: {streams} streams, {unpaired_all} results not seen by both a watcher and the client",
          file=sys.stderr)


if __name__ == "__main__":
    main()
