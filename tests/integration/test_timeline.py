#!/usr/bin/env python3
"""The request timeline and what the SLO histogram observes: the kernel's
receive time of a request's first byte (SO_TIMESTAMPNS) to the write of
its answer, minus the time inferd waited for the client.  A request whose
bytes waited in a stopped worker's socket is observed with that wait; a
request whose client is slow to send its body is not charged for it."""

import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("INFERD_SRCDIR", "."),
                                "tests", "lib"))
from harness import Inferd, run  # noqa: E402

BUCKET = "prediction_latency_seconds_bucket"
COUNT = "prediction_latency_seconds_count"
ROW = json.dumps({"features": [1.0] * 30}).encode()


class Reader:
    """Answers read one by one from a socket (pipelined ones included)."""

    def __init__(self, s):
        self.s = s
        self.buf = b""

    def _more(self):
        chunk = self.s.recv(65536)
        assert chunk, self.buf
        self.buf += chunk

    def answer(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        n = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
                 if ln.lower().startswith(b"content-length:")][0])
        while len(rest) < n:
            self._more()
            head, _, rest = self.buf.partition(b"\r\n\r\n")
        self.buf = rest[n:]
        return int(head.split()[1]), rest[:n]


def read_answer(s):
    return Reader(s).answer()


def test_wait_in_a_stopped_workers_socket_is_observed():
    """kill -STOP the worker, send a small request, wait 0.6 s, kill
    -CONT: observed above 0.5 s (the wait in the kernel's buffer is the
    server's), though the worker itself spent microseconds on it.
    Admission control off: it would answer this request 503 (it waited
    past admission_target), and this test is about the histogram."""
    with Inferd(workers=1, options={"admission": "off"}) as d:
        pid = d.worker_pids()[0]
        os.kill(pid, signal.SIGSTOP)
        try:
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(ROW) + ROW)
            time.sleep(0.6)
        finally:
            os.kill(pid, signal.SIGCONT)
        st, body = read_answer(s)
        s.close()
        assert st == 200, body
        assert d.sample(COUNT) == 1
        assert d.sample(BUCKET, le="0.5") == 0, d.metrics()
        assert d.sample("prediction_latency_seconds_sum") > 0.5
        assert d.sample(BUCKET, le="5.0") == 1


def test_slow_client_body_is_not_observed():
    """The head now, the body 0.6 s later, on an idle worker: observed
    below 0.5 s (the client's upload pace is not the server's wait)."""
    with Inferd(workers=1) as d:
        for split in [0, len(ROW) // 2]:
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(ROW) + ROW[:split])
            time.sleep(0.6)
            s.sendall(ROW[split:])
            st, body = read_answer(s)
            s.close()
            assert st == 200, body
        assert d.sample(COUNT) == 2
        assert d.sample(BUCKET, le="0.5") == 2, d.metrics()
        # A slow head (trickled) is the client's too.
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(b"GET /predict HTTP/1.1\r\n")
        time.sleep(0.6)
        s.sendall(b"Host: x\r\n\r\n")
        st, _ = read_answer(s)
        s.close()
        assert st == 200
        assert d.sample(BUCKET, le="0.5") == 3, d.metrics()


def test_delay_and_pipelined_wait_are_observed():
    """?delay= is the server's own wait; a pipelined request waiting
    behind a delayed one waits for the server too."""
    with Inferd(workers=1) as d:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(b"GET /predict?delay=0.6 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /predict HTTP/1.1\r\nHost: x\r\n\r\n")
        r = Reader(s)
        assert r.answer()[0] == 200
        assert r.answer()[0] == 200
        s.close()
        assert d.sample(COUNT) == 2
        assert d.sample(BUCKET, le="0.5") == 0, d.metrics()


if __name__ == "__main__":
    run([test_wait_in_a_stopped_workers_socket_is_observed,
         test_slow_client_body_is_not_observed,
         test_delay_and_pipelined_wait_are_observed])
