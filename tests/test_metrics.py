#!/usr/bin/env python3
"""What the metrics say, against the real daemon.

1. The SLO histogram observes valid requests only: client errors (4xx) are
   counted by handler and code but never move prediction_latency_seconds;
   a request whose client left (499) and a server error (5xx) do.
2. The model's work: inferd_model_compute_seconds and inferd_request_rows
   count the prediction requests that ran the model, with their rows.
3. The protobuf exposition is negotiated like the text formats, and
   carries the same families as the text (native buckets included).
4. The process metrics add up the master and its workers.
"""

import json
import os
import resource
import socket
import time

from harness import BIN, Inferd, run

COUNT = "prediction_latency_seconds_count"
REQS = "inferd_http_requests_total"
OIP = "/v2/models/breast_cancer/infer"
NFEAT = 30


def test_client_errors_not_observed():
    n = 25
    with Inferd(workers=2) as d:
        for i in range(n):
            st, _ = d.json("GET", "/predict?delay=nope")
            assert st == 400
            st, _ = d.json("POST", "/predict", body={"features": [1, 2]})
            assert st == 400
            st, _, _ = d.request("POST", OIP, body=b"{")
            assert st == 400
            st, _, _ = d.request("PUT", "/predict")
            assert st == 405
        s = d.samples()
        assert s.get((COUNT, frozenset()), 0) == 0, s
        assert d.sample("prediction_latency_seconds_sum", text=None) == 0
        assert d.sample(REQS, handler="/predict", code="400") == 2 * n
        assert d.sample(REQS, handler="/v2/models/{name}/infer",
                        code="400") == n
        assert d.sample(REQS, handler="/predict", code="405") == n
        # A valid request is observed.
        st, _ = d.json("GET", "/predict")
        assert st == 200
        assert d.sample(COUNT) == 1


def test_client_gone_observed():
    """499: the client gave up on a slow request; the slowness counts."""
    with Inferd(workers=1) as d:
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(b"GET /predict?delay=0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        s.close()
        time.sleep(0.8)
        assert d.sample(REQS, handler="/predict", code="499") == 1
        assert d.sample(COUNT) == 1
        assert d.sample("prediction_latency_seconds_sum") >= 0.5
        assert d.sample("prediction_latency_seconds_bucket", le="0.25") == 0


def vm_size(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize for %d" % pid)


def asan():
    """Whether the daemon is built with AddressSanitizer."""
    with open(BIN, "rb") as f:
        return b"__asan_init" in f.read()


def test_server_error_observed():
    """5xx: a request the server failed is observed.  A worker whose
    address space is capped cannot allocate the values of a large OIP
    shape (whitespace pads the body so that the shape passes the size
    check): inferd answers 500, and the histogram counts it."""
    if asan():
        print("  skipped: AddressSanitizer aborts on a failed allocation")
        return
    rows = 400000
    body = json.dumps({"inputs": [{"name": "x", "shape": [rows, NFEAT],
                                   "datatype": "FP32", "data": [1.0]}]})
    body = body.encode() + b" " * (2 * rows * NFEAT)
    opts = {"max_batch_rows": "1000000", "max_body_bytes": str(len(body) + 1)}
    with Inferd(workers=1, options=opts) as d:
        pid = d.worker_pids()[0]
        # The body is read (24 MB, and copied); 48 MB of values are not.
        limit = vm_size(pid) + 3 * len(body)
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
        st, _, data = d.request("POST", OIP, body=body)
        assert st == 500 and b"out of memory" in data, (st, data[:200])
        assert d.sample(REQS, handler="/v2/models/{name}/infer",
                        code="500") == 1
        assert d.sample(COUNT) == 1
        # The worker keeps serving.
        st, _ = d.json("GET", "/predict")
        assert st == 200
        assert d.sample(COUNT) == 2


if __name__ == "__main__":
    run([test_client_errors_not_observed, test_client_gone_observed,
         test_server_error_observed])
