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

from harness import BIN, Inferd, Skip, run

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
        raise Skip("AddressSanitizer aborts on a failed allocation")
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


def proc_stat(pid):
    """(cpu seconds, vsize, rss bytes) of pid from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return ((int(fields[11]) + int(fields[12])) / tick, int(fields[20]),
            int(fields[21]) * os.sysconf("SC_PAGE_SIZE"))


def test_process_metrics():
    """Summed over the master and its workers; CPU keeps the time of a
    worker that died."""
    with Inferd(workers=2) as d:
        # Workers that are still starting grow: wait until both serve.
        deadline = time.monotonic() + 10
        while d.sample("inferd_workers_alive") != 2:
            assert time.monotonic() < deadline, d.log
            time.sleep(0.05)
        pids = [d.proc.pid] + d.worker_pids()
        s = d.samples()
        v = {k[0]: val for k, val in s.items() if k[0].startswith("process_")}
        stats = [proc_stat(p) for p in pids]
        fds = sum(len(os.listdir("/proc/%d/fd" % p)) for p in pids)
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert v["process_max_fds"] == limit * len(pids), v
        # The scrape's own connection and listing come and go.
        assert abs(v["process_open_fds"] - fds) <= 4, (v, fds)
        vsize = sum(x[1] for x in stats)
        rss = sum(x[2] for x in stats)
        assert abs(v["process_virtual_memory_bytes"] - vsize) < 0.2 * vsize
        assert abs(v["process_resident_memory_bytes"] - rss) < 0.2 * rss
        assert v["process_start_time_seconds"] <= time.time()
        body = json.dumps({"instances": [[1.0] * NFEAT] * 50}).encode()
        for _ in range(200):
            st, _, _ = d.request("POST", "/predict", body=body)
            assert st == 200
        # The model's work was counted: 200 requests of 50 rows.
        assert d.sample("inferd_request_rows_count") == 200
        assert d.sample("inferd_request_rows_sum") == 200 * 50
        assert d.sample("inferd_request_rows_bucket", le="50.0") == 200
        assert d.sample("inferd_request_rows_bucket", le="20.0") == 0
        assert d.sample("inferd_model_compute_seconds_count") == 200
        # GET /predict answers a probe computed once: no model work.
        d.request("GET", "/predict")
        assert d.sample("inferd_model_compute_seconds_count") == 200
        check_reaped_cpu(d, body)


def burn(d, body, seconds):
    """POST until the current workers have used seconds of CPU between
    them; their CPU time (from /proc)."""
    pids = d.worker_pids()
    deadline = time.monotonic() + 60
    while True:
        for _ in range(50):
            st, _, _ = d.request("POST", "/predict", body=body)
            assert st == 200
        used = sum(proc_stat(p)[0] for p in pids)
        if used >= seconds:
            return used
        assert time.monotonic() < deadline, (used, seconds)


def check_reaped_cpu(d, body):
    """CPU keeps the time of the workers that died.  procstat clamps the
    total so that it never drops, which alone would make "after >= before"
    true whatever happens to a dead worker's time: so the old workers burn
    more than their replacements will, all of them are killed, and the
    total must then grow by what the replacements burn on top of what the
    dead ones had used (reaped, in the master's RUSAGE_CHILDREN)."""
    old = d.worker_pids()
    burn(d, body, 0.6)
    before = d.sample("process_cpu_seconds_total")
    mine = sum(proc_stat(p)[0] for p in [d.proc.pid] + old)
    assert before >= mine - 0.05, (before, mine)
    n = len(d.lines)
    for pid in old:
        os.kill(pid, 9)
    for _ in old:
        n = d.lines.index(d.wait_log(r"replacing it", 10, n)) + 1
    deadline = time.monotonic() + 10
    while (d.sample("inferd_workers_alive") != len(old) or
           set(d.worker_pids()) & set(old)):
        assert time.monotonic() < deadline, d.log
        time.sleep(0.05)
    new_used = burn(d, body, 0.15)
    after = d.sample("process_cpu_seconds_total")
    # Ticks of 1/CLK_TCK s each side: a loose margin, never a clamp.
    assert after >= before + new_used - 0.1, (before, new_used, after)


def test_protobuf_negotiated():
    """Prometheus' protobuf Accept gets the delimited MetricFamily stream;
    its first message is prediction_latency_seconds."""
    accept = ("application/vnd.google.protobuf;"
              "proto=io.prometheus.client.MetricFamily;encoding=delimited,"
              "application/openmetrics-text;version=1.0.0;q=0.8,"
              "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    with Inferd(workers=1) as d:
        st, hdrs, data = d.request("GET", "/metrics", port=d.metrics_port,
                                   headers={"Accept": accept})
        assert st == 200
        assert hdrs["content-type"] == (
            "application/vnd.google.protobuf; "
            "proto=io.prometheus.client.MetricFamily; encoding=delimited")
        # A varint length, then field 1 (name), a string.
        n, i = 0, 0
        while data[i] & 0x80:
            n |= (data[i] & 0x7f) << (7 * i)
            i += 1
        n |= data[i] << (7 * i)
        msg = data[i + 1:i + 1 + n]
        assert len(msg) == n and msg[0] == 0x0a, data[:20]
        assert msg[2:2 + msg[1]] == b"prediction_latency_seconds", msg[:40]
        # Text is still the default.
        st, hdrs, _ = d.request("GET", "/metrics", port=d.metrics_port)
        assert hdrs["content-type"].startswith("text/plain; version=0.0.4")


def test_text_consistent():
    """+Inf equals _count for every histogram of both text formats."""
    with Inferd(workers=2) as d:
        body = json.dumps({"instances": [[1.0] * NFEAT] * 3}).encode()
        for _ in range(20):
            d.request("POST", "/predict", body=body)
            d.request("GET", "/predict?delay=0.001")
        for accept in (None, "application/openmetrics-text"):
            s = d.samples(d.metrics(accept).replace("# EOF\n", ""))
            for h in ("prediction_latency_seconds",
                      "inferd_model_compute_seconds", "inferd_request_rows"):
                inf = s[(h + "_bucket", frozenset({("le", "+Inf")}))]
                assert inf == s[(h + "_count", frozenset())], (h, accept)
                assert inf > 0


if __name__ == "__main__":
    run([test_client_errors_not_observed, test_client_gone_observed,
         test_server_error_observed, test_process_metrics,
         test_protobuf_negotiated, test_text_consistent])
