#!/usr/bin/env python3
"""Memory per worker is bounded under the attacks that grew it without
bound through evhttp, and goes back after the attacker leaves.  The bound
each test asserts is SECURITY.md's, computed from the limits:
  connections x (2 x max_header_bytes + 16 KiB input + pipeline_depth
  responses) + max_body_memory, over the worker's resident size at rest.
Each attack prints the growth it measured."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("INFERD_SRCDIR", "."),
                                "tests", "lib"))
from harness import BIN, Inferd, note, run  # noqa: E402

# Under AddressSanitizer freed memory sits in its quarantine (256 MB): the
# attacks still run and their closes and refusals are checked, but
# resident sizes say nothing there.
with open(BIN, "rb") as _f:
    ASAN = b"__asan_init" in _f.read()

MiB = 1 << 20
KiB = 1 << 10
SLACK = 8 * MiB         # allocator and libevent noise


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * KiB
    raise AssertionError(key)


def rss(pid):
    return status(pid, "VmRSS")


def settle_rss(pid, want, timeout=5.0):
    """Wait until pid's RSS is at most want; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        r = rss(pid)
        if r <= want or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def per_conn(max_header=8192, depth=4, response=1 * KiB):
    return 2 * max_header + 16 * KiB + depth * response + 4 * KiB


def flood(port, seconds, request=b"GET /predict HTTP/1.1\r\nHost: x\r\n\r\n",
          junk=400 * MiB):
    """100,000 pipelined requests and junk behind them, never reading the
    answers; returns (bytes sent, seconds until the server closed)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    data = request * 100000
    sent, t0, closed = 0, time.monotonic(), None
    chunk = b"x" * 65536
    while time.monotonic() - t0 < seconds:
        try:
            if sent < len(data):
                n = s.send(data[sent:sent + 65536])
            elif sent < len(data) + junk:
                n = s.send(chunk)
            else:
                time.sleep(0.05)
                n = 0
            sent += n
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            closed = time.monotonic() - t0
            break
    s.close()
    return sent, closed


def test_pipelining_flood():
    opts = {"request_timeout": "3", "pipeline_depth": "4"}
    with Inferd(workers=1, options=opts) as d:
        pid = d.worker_pids()[0]
        base = rss(pid)
        sent, closed = flood(d.port, 10)
        peak = status(pid, "VmHWM")
        note("pipelining flood: %d bytes sent, worker grew %.1f MiB at "
             "peak, closed after %s s" % (sent, (peak - base) / MiB,
                                          closed and round(closed, 1)))
        assert ASAN or peak - base < per_conn() + SLACK, (base, peak)
        assert closed is not None and closed < 3 + 3, closed
        st, _ = d.json("GET", "/predict")
        assert st == 200
        # The metrics port, the master.
        mpid = d.proc.pid
        mbase = rss(mpid)
        sent, closed = flood(d.metrics_port, 14, b"GET /metrics HTTP/1.1\r\n"
                             b"Host: x\r\n\r\n")
        mpeak = rss(mpid)
        note("metrics flood: %d bytes sent, master grew %.1f MiB, closed "
             "after %s s" % (sent, (mpeak - mbase) / MiB,
                             closed and round(closed, 1)))
        assert ASAN or status(mpid, "VmHWM") - mbase < \
            per_conn(response=64 * KiB, depth=2) + SLACK
        assert closed is not None and closed < 10 + 3, closed
        assert ASAN or settle_rss(mpid, mbase + SLACK) <= mbase + SLACK


def test_burst_reader():
    """Requests pipelined without end, answers read in 2 MB bursts every
    1.5 s: the write deadline is a whole time from the first stall, so
    the connection is closed about request_timeout after it."""
    opts = {"request_timeout": "3"}
    with Inferd(workers=1, options=opts) as d:
        pid = d.worker_pids()[0]
        base = rss(pid)
        s = socket.create_connection(("127.0.0.1", d.port))
        stop = threading.Event()

        def send():
            req = b"GET /predict HTTP/1.1\r\nHost: x\r\n\r\n" * 1000
            try:
                while not stop.is_set():
                    s.sendall(req)
            except OSError:
                pass
        t = threading.Thread(target=send, daemon=True)
        t.start()
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 40:
            time.sleep(1.5)
            got = 0
            try:
                while got < 2 * MiB:
                    b = s.recv(2 * MiB - got)
                    if not b:
                        closed = time.monotonic() - t0
                        break
                    got += len(b)
            except (ConnectionResetError, OSError):
                closed = time.monotonic() - t0
            if closed is not None:
                break
        stop.set()
        peak = status(pid, "VmHWM")
        s.close()
        note("burst reader: closed after %s s, worker grew %.1f MiB" %
             (closed and round(closed, 1), (peak - base) / MiB))
        # The client sees the close only once it has read what the kernel
        # still held for it (several bursts): loose; evhttp kept it 40 s.
        # (Under ASan the worker is too slow to keep the kernel's buffer
        # full: the client then reads all there is, and is served.)
        assert ASAN or (closed is not None and closed < 3 + 9), closed
        assert ASAN or peak - base < per_conn() + SLACK, (base, peak)


def test_bodies_held_open():
    """300 connections each send 1 MiB - 1 byte of a 1 MiB body and hold:
    the worker holds at most max_body_memory of them (the others get 503
    with Retry-After), and the memory goes back once they close."""
    opts = {"max_body_memory": str(32 * MiB), "max_body_bytes": str(MiB)}
    n = 300
    with Inferd(workers=1, options=opts) as d:
        pid = d.worker_pids()[0]
        base = rss(pid)
        socks, statuses = [], []
        body = b"x" * (MiB - 1)

        def one():
            s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
            socks.append(s)
            try:
                s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: %d\r\n\r\n" % MiB + body)
            except OSError:
                pass
        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(1)
        held = rss(pid)
        peak = status(pid, "VmHWM")
        bound = 32 * MiB + n * per_conn() + SLACK
        for s in socks:
            s.settimeout(0.01)
            try:
                out = s.recv(4096)
                if out:
                    statuses.append(int(out.split()[1]))
            except (socket.timeout, OSError):
                pass
        refused = statuses.count(503)
        note("300 x 1 MiB bodies held: worker grew %.1f MiB (peak %.1f "
             "MiB; bound %.1f MiB), %d refused 503" %
             ((held - base) / MiB, (peak - base) / MiB, bound / MiB,
              refused))
        assert ASAN or peak - base < bound, (base, peak, bound)
        assert refused >= n - 32 - 2, statuses
        assert set(statuses) <= {503}, statuses
        for s in socks:
            s.close()
        after = settle_rss(pid, base + SLACK)
        note("after they closed: worker %.1f MiB above rest" %
             ((after - base) / MiB))
        assert ASAN or after <= base + SLACK, (base, after)
        # The 503s are counted (handler other), as resource exhaustion.
        assert d.sample("inferd_http_requests_total", handler="other",
                        code="503") == refused
        st, _ = d.json("POST", "/predict",
                       body={"features": [1.0] * 30})
        assert st == 200


if __name__ == "__main__":
    run([test_pipelining_flood, test_burst_reader, test_bodies_held_open])
