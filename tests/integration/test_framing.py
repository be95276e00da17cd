#!/usr/bin/env python3
"""Strict HTTP/1.1 framing (RFC 9112) on the wire, with raw sockets:
every ambiguous request is answered 400 with a JSON body and Connection:
close before any handler runs, and nothing after it on the connection is
parsed as a request; a body on any method is read by its framing, never
parsed as a request; HEAD is answered like GET without the body on every
route of both ports; pipelined requests are answered in order."""

import gzip
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("INFERD_SRCDIR", "."),
                                "tests", "lib"))
from harness import Inferd, run  # noqa: E402

REQS = "inferd_http_requests_total"
ROW = json.dumps({"features": [1.0] * 30}).encode()
SMUGGLED = b"GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n"


def exchange(port, data, timeout=3.0):
    """Send data, read until the server closes (or timeout); returns
    (bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
        return out, False
    finally:
        s.close()


def responses(raw, head_requests=()):
    """Split raw into [(status, headers, body)], by Content-Length; the
    i-th response has no body if i is in head_requests."""
    out = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        assert sep, raw
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            hdrs[k.strip().lower().decode()] = v.strip().decode()
        n = 0 if len(out) in head_requests else \
            int(hdrs.get("content-length", "0"))
        out.append((status, hdrs, rest[:n]))
        raw = rest[n:]
    return out


def refused(port, data, want="", status=400):
    raw, closed = exchange(port, data)
    rs = responses(raw)
    assert len(rs) == 1, (data, raw)
    st, hdrs, body = rs[0]
    assert st == status, (data, raw)
    assert hdrs.get("connection") == "close", (data, raw)
    assert hdrs.get("content-type") == "application/json", raw
    err = json.loads(body)["error"]
    assert want in err, (err, want)
    assert closed, ("connection left open after", data)
    return err


AMBIGUOUS = [
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 29\r\n"
     b"Content-Length: 29\r\n\r\n" + SMUGGLED, "more than one Content-Length"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Content-Length: 29\r\n\r\n" + SMUGGLED, "more than one Content-Length"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 34\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
     "Content-Length together with Transfer-Encoding"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 34\r\n\r\n0\r\n\r\n" + SMUGGLED,
     "Content-Length together with Transfer-Encoding"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
     b"chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, "exactly chunked"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity"
     b"\r\n\r\n" + SMUGGLED, "exactly chunked"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
     "more than one Transfer-Encoding"),
    (b"POST /predict HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n" + SMUGGLED, "HTTP/1.0"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked"
     b"\r\n\r\n0\r\n\r\n" + SMUGGLED, "whitespace between"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length : 29\r\n\r\n" +
     SMUGGLED, "whitespace between"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Content-Length: 29"
     b"\r\n\r\n" + SMUGGLED, "obs-fold"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tmore\r\n\r\n",
     "obs-fold"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: +29\r\n\r\n" +
     SMUGGLED, "decimal"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
     "decimal"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 29x\r\n\r\n" +
     SMUGGLED, "decimal"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 0x1d\r\n\r\n" +
     SMUGGLED, "decimal"),
    (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 29, 29\r\n\r\n"
     + SMUGGLED, "decimal"),
]

BAD_CHUNKS = [
    (b"0x1e", "malformed chunk size"),
    (b"+1e", "malformed chunk size"),
    (b" 1e", "malformed chunk size"),
    (b"1e ", "malformed chunk size"),
    (b"-1", "malformed chunk size"),
    (b"", "malformed chunk size"),
    (b"zz", "malformed chunk size"),
    (b"1;a\x01b", "control character"),
    (b"fffffffffffffffff", "chunk size too large"),
]


def test_ambiguous_framing():
    with Inferd(workers=1) as d:
        for data, want in AMBIGUOUS:
            refused(d.port, data, want)
        # Counted, as handler other, never observed.
        assert d.sample(REQS, handler="other", code="400") == len(AMBIGUOUS)
        assert d.sample("prediction_latency_seconds_count") == 0
        st, _ = d.json("GET", "/predict")
        assert st == 200


def test_malformed_chunks():
    with Inferd(workers=1) as d:
        for size, want in BAD_CHUNKS:
            refused(d.port, b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + size +
                    b"\r\n" + b"x" * 30 + b"\r\n0\r\n\r\n" + SMUGGLED, want)
        # Chunk data not followed by CRLF; a chunk line ending in bare LF.
        refused(d.port, b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
                "not followed by CRLF")
        refused(d.port, b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n",
                "chunk-size line")


def test_chunked_body_served():
    with Inferd(workers=1) as d:
        half = len(ROW) // 2
        body = (b"%x\r\n" % half + ROW[:half] + b"\r\n" +
                b"%X;ext=1\r\n" % (len(ROW) - half) + ROW[half:] + b"\r\n" +
                b"0\r\nX-Trailer: y\r\n\r\n")
        raw, closed = exchange(d.port, b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n" + body +
                               b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
        rs = responses(raw)
        assert [r[0] for r in rs] == [200, 200], raw
        assert "predictions" in json.loads(rs[0][2])
        assert json.loads(rs[1][2]) == {"status": "ok"}


def test_body_on_any_method_is_never_a_request():
    """HEAD and TRACE (the smuggling hole), GET and DELETE with a body:
    the body is read by its Content-Length (or chunks) and discarded; one
    answer per request."""
    with Inferd(workers=1) as d:
        for method, status in [(b"HEAD", 200), (b"GET", 200),
                               (b"TRACE", 405), (b"DELETE", 405),
                               (b"OPTIONS", 405)]:
            path = b"/healthz"
            data = (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED)
            raw, _ = exchange(d.port, data, timeout=1.0)
            rs = responses(raw, head_requests=(0,) if method == b"HEAD"
                           else ())
            assert len(rs) == 1 and rs[0][0] == status, (method, raw)
            # chunked, then a real request behind: two answers, in order.
            data = (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" %
                    len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n" +
                    b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n")
            raw, _ = exchange(d.port, data)
            rs = responses(raw, head_requests=(0,) if method == b"HEAD"
                           else ())
            assert [r[0] for r in rs] == [status, 200], (method, raw)
            assert json.loads(rs[1][2]) == {"live": True}, raw
        # The v2 server route was never reached.
        assert d.count(REQS, handler="/v2", code="200") == 0


def test_other_refusals():
    with Inferd(workers=1, options={"max_body_bytes": "100",
                                    "max_header_bytes": "1024"}) as d:
        refused(d.port, b"GARBAGE\r\n\r\n", "request line")
        refused(d.port, b"GET /x HTTP/2.0\r\n\r\n", "HTTP/1.1", status=505)
        refused(d.port, b"GET /x#f HTTP/1.1\r\n\r\n", "fragment")
        refused(d.port, b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                "more than one Host")
        refused(d.port, b"GET /x HTTP/1.1\r\nX: a\rb\r\n\r\n", "bare CR")
        refused(d.port, b"GET /x HTTP/1.1\r\nX: " + b"a" * 2000 +
                b"\r\n\r\n", "max_header_bytes")
        refused(d.port, b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 101\r\n\r\n", "max_body_bytes", status=413)
        refused(d.port, b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n65\r\n", "max_body_bytes",
                status=413)


def head_matches_get(port, path):
    raw, _ = exchange(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                      b"\r\nHEAD " + path + b" HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
    rs = responses(raw, head_requests=(1,))
    assert len(rs) == 2, (path, raw)
    (gs, gh, gb), (hs, hh, hb) = rs
    assert gs == hs, (path, gs, hs)
    assert hb == b"", (path, raw)
    assert gh["content-length"] == str(len(gb)), (path, gh)
    if path == b"/metrics":
        # Two scrapes differ by a few figures (counts, CPU seconds).
        assert abs(int(hh["content-length"]) - len(gb)) < len(gb) // 20, \
            (path, gh, hh)
    else:
        assert hh["content-length"] == gh["content-length"], (path, gh, hh)
    assert hh["content-type"] == gh["content-type"], (path, gh, hh)
    assert raw.endswith(b"\r\n\r\n"), (path, raw[-50:])
    return gs


def test_head_on_every_route():
    with Inferd(workers=1) as d:
        for path in [b"/predict", b"/healthz", b"/v2", b"/v2/",
                     b"/v2/health/live", b"/v2/health/ready",
                     b"/v2/models/breast_cancer",
                     b"/v2/models/breast_cancer/ready",
                     b"/v1/models/breast_cancer", b"/nowhere"]:
            head_matches_get(d.port, path)
        st, _ = d.json("GET", "/v2/models/breast_cancer")
        assert st == 200
        # The versioned routes: the version is the model's.
        version = d.json("GET", "/v2/models/breast_cancer")[1]["versions"][0]
        for suffix in [b"", b"/ready"]:
            assert head_matches_get(d.port, b"/v2/models/breast_cancer/"
                                    b"versions/" + version.encode() +
                                    suffix) == 200
        # POST-only routes answer HEAD 405 like GET, without a body.
        for path in [b"/v2/models/breast_cancer/infer",
                     b"/v1/models/breast_cancer:predict"]:
            assert head_matches_get(d.port, path) == 405
        # The metrics port, each exposition format.
        for path in [b"/metrics", b"/healthz", b"/nowhere"]:
            head_matches_get(d.metrics_port, path)


def test_pipelined_in_order():
    with Inferd(workers=1, options={"pipeline_depth": "2"}) as d:
        reqs = []
        for i in range(20):
            reqs.append(b"GET /predict?delay=0.0%d HTTP/1.1\r\nHost: x\r\n"
                        b"\r\n" % (i % 3) if i % 2 else
                        b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(ROW) + ROW)
        reqs.append(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n")
        raw, closed = exchange(d.port, b"".join(reqs), timeout=10)
        rs = responses(raw)
        assert [r[0] for r in rs] == [200] * 21, raw[:300]
        assert json.loads(rs[-1][2]) == {"ready": True}
        assert closed


def test_expect_continue():
    with Inferd(workers=1) as d:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nExpect: "
                  b"100-continue\r\nContent-Length: %d\r\n\r\n" % len(ROW))
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(ROW)
        assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
        s.close()


def test_metrics_gzip():
    """/metrics honours Accept-Encoding: gzip, as Prometheus asks."""
    with Inferd(workers=1) as d:
        st, hdrs, data = d.request("GET", "/metrics", port=d.metrics_port,
                                   headers={"Accept-Encoding": "gzip"})
        assert st == 200 and hdrs.get("content-encoding") == "gzip", hdrs
        assert hdrs.get("vary") == "Accept-Encoding", hdrs
        text = gzip.decompress(data).decode()
        assert "prediction_latency_seconds_count" in text
        assert len(data) < len(text) / 3, (len(data), len(text))
        for ae in [None, "gzip;q=0", "identity", "br"]:
            st, hdrs, data = d.request(
                "GET", "/metrics", port=d.metrics_port,
                headers={"Accept-Encoding": ae} if ae else {})
            assert st == 200 and "content-encoding" not in hdrs, (ae, hdrs)
            assert b"prediction_latency_seconds_count" in data
        # The protobuf format compresses too.
        st, hdrs, data = d.request(
            "GET", "/metrics", port=d.metrics_port,
            headers={"Accept-Encoding": "deflate, gzip",
                     "Accept": "application/vnd.google.protobuf; "
                     "proto=io.prometheus.client.MetricFamily; "
                     "encoding=delimited"})
        assert hdrs.get("content-encoding") == "gzip", hdrs
        assert b"prediction_latency_seconds" in gzip.decompress(data)


if __name__ == "__main__":
    run([test_ambiguous_framing, test_malformed_chunks,
         test_chunked_body_served, test_body_on_any_method_is_never_a_request,
         test_other_refusals, test_head_on_every_route,
         test_pipelined_in_order, test_expect_continue,
         test_metrics_gzip])
