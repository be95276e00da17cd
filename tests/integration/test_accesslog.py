#!/usr/bin/env python3
"""Finding the slow requests, against the real daemon.

1. The access log: one JSON line per request with every field; the
   request's ID is the one in X-Request-Id and in the JSON error body.
2. Control characters and bytes that are not UTF-8 in paths and queries
   are escaped: the file holds no control byte, and each line reads back
   as the bytes the client sent.
3. Hostile X-Request-Id values are replaced by new IDs (never echoed);
   request_id_max_length bounds what is kept.
4. Hostile traceparent values are ignored and never echoed; a valid one
   gives the log line its trace ID.
5. A reopen under wrk load (rename, SIGUSR1, twice) loses and splits no
   line: lines in all files = requests the daemon counted.
6. A write error (the log is /dev/full) is counted and logged once per
   worker, never fatal.
7. The slow-request log: a warning with phases and IDs with the access log
   off, rate-limited, every slow request counted.
8. logrotate with the shipped contrib/logrotate/inferd (its path and its
   postrotate command pointed at the test's daemon), twice under wrk load:
   rotated, compressed and current files hold one line per request.
9. The runbooks' jq lines (doc/runbooks.md) work on a real log:
   the slowest requests of the last five minutes come first, and an ID
   finds its one line.
"""

import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import BIN, MODEL, SRCDIR, Inferd, Skip, run
from promstack import Wrk

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = "00-%s-00f067aa0ba902b7-01" % TRACE
GENERATED = re.compile(r"^[0-9a-f]{16}-\d+-[0-9a-f]+$")
REQS = "inferd_http_requests_total"
FIELDS = {"time", "client", "port", "method", "path", "query", "status",
          "bytes_in", "bytes_out", "rows", "latency", "read", "wait",
          "predict", "write", "request_id", "trace_id", "worker", "model"}


def raw(port, head, body=b""):
    """Send raw bytes (request line and headers, no final CRLF CRLF);
    return (status, {header: value}, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + b"\r\nHost: t\r\nConnection: close\r\n" +
                  (b"Content-Length: %d\r\n" % len(body) if body else b"") +
                  b"\r\n" + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode(
            "latin-1")
    return int(lines[0].split()[1]), hdrs, rest


def read_lines(*paths):
    """Every line of the files, each parsed (a split line fails)."""
    out = []
    for p in paths:
        if not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            data = f.read()
        assert data == b"" or data.endswith(b"\n"), "a line is cut: %r" % \
            data[-200:]
        for line in data.split(b"\n")[:-1]:
            out.append(json.loads(line))
    return out


def wait_lines(path, n, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        lines = read_lines(path)
        if len(lines) >= n or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def counted(d):
    return sum(v for (name, _), v in d.samples().items() if name == REQS)


def test_fields():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=2, options={"access_log": log,
                                        "access_log_flush": "0.05"}) as d:
            body = {"instances": [[0.0] * 30, [1.0] * 30]}
            st, hdrs, data = d.request(
                "POST", "/predict?x=1", body=body,
                headers={"X-Request-Id": "client-id-1",
                         "traceparent": TRACEPARENT})
            assert st == 200, data
            assert hdrs["x-request-id"] == "client-id-1"
            st, hdrs, data = d.request("GET", "/no/such/route")
            assert st == 404
            err = json.loads(data)
            rid = hdrs["x-request-id"]
            assert GENERATED.match(rid), rid
            assert err["request_id"] == rid, (err, rid)
            # A 400 from the routes' checks carries it too.
            st, hdrs, data = d.request("GET", "/predict?delay=nope",
                                       headers={"X-Request-Id": "bad-1"})
            assert st == 400 and json.loads(data)["request_id"] == "bad-1"
            lines = wait_lines(log, 3)
        assert len(lines) == 3, lines
        for line in lines:
            assert set(line) == FIELDS, set(line) ^ FIELDS
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                            line["time"])
            assert line["client"] == "127.0.0.1" and line["port"] > 0
            assert line["model"] == "breast_cancer"
            assert line["worker"] in (0, 1)
            phases = line["read"] + line["wait"] + line["predict"]
            assert abs(phases - line["latency"]) < 0.001, line
        by_id = {line["request_id"]: line for line in lines}
        post = by_id["client-id-1"]
        assert post["method"] == "POST" and post["path"] == "/predict"
        assert post["query"] == "x=1" and post["status"] == 200
        assert post["rows"] == 2 and post["bytes_in"] > 0
        assert post["bytes_out"] > 0 and post["trace_id"] == TRACE
        assert post["predict"] > 0
        miss = by_id[rid]
        assert miss["status"] == 404 and miss["query"] is None
        assert miss["trace_id"] is None
        assert by_id["bad-1"]["status"] == 400


def test_escaped():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=1, options={"access_log": log,
                                        "access_log_flush": "0"}) as d:
            # What the parser lets through but JSON must escape.
            st, _, _ = raw(d.port, b'GET /x"}{\\%00?q="a\\"&b=%ff'
                           b" HTTP/1.1")
            assert st == 404
            # Control and non-UTF-8 bytes in the request line: refused
            # by the parser (400), and still one clean line.
            st, hdrs, body = raw(d.port, b"GET /predict?q=\x01\x1b[31m"
                                 b"red\x7f&b=\xff HTTP/1.1")
            assert st == 400, st
            assert json.loads(body)["request_id"] == hdrs["x-request-id"]
            st, _, _ = raw(d.port, b"GET /p\x08\tcaf\xc3\xa9 HTTP/1.1")
            assert st == 400
            lines = wait_lines(log, 3)
            with open(log, "rb") as f:
                data = f.read()
        assert len(lines) == 3, lines
        for b in data[:-1]:
            assert b >= 0x20 and b != 0x7f or b == 0x0a, data
        assert data.count(b"\n") == 3
        assert lines[0]["path"] == '/x"}{\\%00', lines[0]
        assert lines[0]["query"] == 'q="a\\"&b=%ff', lines[0]
        for line in lines[1:]:
            assert line["status"] == 400, line
            assert line["request_id"] and set(line) == FIELDS, line
            # Whatever of the target is logged is escaped, never raw.
            for k in ("path", "query", "method"):
                assert line[k] is None or all(
                    0x20 <= ord(ch) != 0x7f for ch in line[k]
                    if ord(ch) < 0x80) or "\\x" in json.dumps(line[k]), \
                    line


def test_hostile_request_ids():
    hostile = [b"a b", b"caf\xc3\xa9", b"x" * 65, b"tab\there",
               b"\x01ctl", b"", b"del\x7f"]
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=1, options={"access_log": log,
                                        "access_log_flush": "0",
                                        "request_id_max_length": "8"}) as d:
            seen = set()
            for h in hostile:
                st, hdrs, body = raw(d.port, b"GET /nope HTTP/1.1\r\n"
                                     b"X-Request-Id: " + h)
                # Control bytes in a header: the parser's 400, named too.
                assert st == (400 if re.search(b"[\x00-\x08\x0a-\x1f"
                                               b"\x7f]", h) else 404), \
                    (h, st)
                rid = hdrs["x-request-id"]
                assert GENERATED.match(rid), (h, rid)
                assert json.loads(body)["request_id"] == rid
                assert rid not in seen
                seen.add(rid)
            # At the limit: kept; one above: replaced.
            st, hdrs, _ = raw(d.port, b"GET /predict HTTP/1.1\r\n"
                              b"X-Request-Id: 12345678")
            assert hdrs["x-request-id"] == "12345678"
            st, hdrs, _ = raw(d.port, b"GET /predict HTTP/1.1\r\n"
                              b"X-Request-Id: 123456789")
            assert GENERATED.match(hdrs["x-request-id"])
            # Visible ASCII is kept, quotes included, and escaped in JSON.
            st, hdrs, body = raw(d.port, b"GET /nope HTTP/1.1\r\n"
                                 b"X-Request-Id: a\"b\\{}")
            assert hdrs["x-request-id"] == "a\"b\\{}"
            assert json.loads(body)["request_id"] == "a\"b\\{}"
            lines = wait_lines(log, len(hostile) + 3)
        ids = [line["request_id"] for line in lines]
        assert ids[-1] == "a\"b\\{}" and ids[-3] == "12345678", ids
        assert all(GENERATED.match(i) for i in ids[:len(hostile)]), ids


def test_hostile_traceparent():
    hostile = [
        b"00-" + TRACE.upper().encode() + b"-00f067aa0ba902b7-01",
        b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        b"ff-" + TRACE.encode() + b"-00f067aa0ba902b7-01",
        b"00-" + TRACE.encode() + b"-00f067aa0ba902b7-01-extra",
        b"00-" + TRACE.encode()[:-1] + b"\"-00f067aa0ba902b7-01",
        b"00-" + TRACE.encode() + b"-00f067aa0ba902b7",
        b"<script>alert(1)</script>",
        b"00-" + b"a" * 2000,
    ]
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=1, options={"access_log": log,
                                        "access_log_flush": "0"}) as d:
            for h in hostile:
                st, hdrs, body = raw(d.port, b"GET /predict HTTP/1.1\r\n"
                                     b"traceparent: " + h)
                assert st == 200, (h, st, body)
                assert not any(h.decode("latin-1") in v
                               for v in hdrs.values()), hdrs
            raw(d.port, b"GET /predict HTTP/1.1\r\ntraceparent: " +
                TRACEPARENT.encode())
            lines = wait_lines(log, len(hostile) + 1)
            with open(log, "rb") as f:
                data = f.read()
        assert [line["trace_id"] for line in lines] == \
            [None] * len(hostile) + [TRACE]
        assert b"script" not in data and b"extra" not in data


def test_reopen_under_load():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=2, options={"access_log": log}) as d:
            wrk = Wrk(d.port, "predict.lua", connections=8, duration=6)
            wrk.start()
            for n in (1, 2):
                time.sleep(2)
                os.rename(log, "%s.%d" % (log, n))
                os.kill(d.proc.pid, signal.SIGUSR1)
                d.wait_log(r"received SIGUSR1", timeout=5)
            out = wrk.wait(30)
            time.sleep(0.5)
            total = counted(d)
        # The daemon has stopped: every buffer is written.
        lines = {}
        for p in (log + ".1", log + ".2", log):
            lines[p] = read_lines(p)
        n = sum(len(v) for v in lines.values())
        assert total > 100, out
        assert all(len(v) > 0 for v in lines.values()), \
            {p: len(v) for p, v in lines.items()}
        assert n == total, ("lines", n, "requests", total, out)
        ids = [x["request_id"] for v in lines.values() for x in v]
        assert len(set(ids)) == len(ids), "request IDs repeat"


def test_write_error_counted():
    with Inferd(workers=2, options={"access_log": "/dev/full",
                                    "access_log_flush": "0"}) as d:
        for _ in range(20):
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
        # The line is written (and its error counted) after the answer
        # left, so the last one may trail the client by a moment.
        deadline = time.monotonic() + 5
        while True:
            errors = d.samples()[("inferd_access_log_write_errors_total",
                                  frozenset())]
            if errors >= 20 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert errors == 20, errors
        d.wait_log(r"access log /dev/full: write")
        time.sleep(0.2)
        assert len(re.findall(r"lines are lost", d.log)) <= 2, d.log


def test_unwritable_path_refused():
    """A path the workers cannot open fails the start with its reason."""
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "no", "such", "dir", "access.log")
        r = subprocess.run([BIN, "-l", "127.0.0.1:0", "-m", "127.0.0.1:0",
                            "-w", "1", "--no-config", "--model", MODEL,
                            "-o", "access_log=" + bad],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0, r.stderr
        assert "access_log: access log %s: No such file or directory" % bad \
            in r.stderr, r.stderr
        assert "ready:" not in r.stderr


def test_slow_request_log():
    with Inferd(workers=1, options={"max_delay": "5",
                                    "slow_request_threshold": "0.2",
                                    "slow_request_log_rate": "1"}) as d:
        start = len(d.lines)
        st, hdrs, _ = d.request("GET", "/predict?delay=0.3",
                                headers={"traceparent": TRACEPARENT})
        assert st == 200
        line = d.wait_log(r"slow request: ", start=start)
        assert "warn" in line, line
        entry = json.loads(line[line.index("{"):])
        assert entry["trace_id"] == TRACE
        assert entry["request_id"] == hdrs["x-request-id"]
        assert entry["wait"] >= 0.29 and entry["latency"] >= 0.3
        # Four at once, within the same second: counted, not logged.
        start = len(d.lines)
        ts = [threading.Thread(target=d.request,
                               args=("GET", "/predict?delay=0.3"))
              for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        time.sleep(0.3)
        assert not any("slow request" in x for x in d.lines[start:]), \
            d.lines[start:]
        time.sleep(1)
        d.request("GET", "/predict?delay=0.25")
        line = d.wait_log(r"slow request: ", start=start)
        assert "(4 more not logged" in line, line
        assert d.sample("inferd_slow_requests_total") == 6
        # Fast ones are neither logged nor counted.
        d.request("GET", "/predict")
        assert d.sample("inferd_slow_requests_total") == 6


def test_logrotate():
    if shutil.which("logrotate") is None:
        raise Skip("logrotate not installed (Debian package logrotate)")
    with open(os.path.join(SRCDIR, "contrib", "logrotate", "inferd")) as f:
        conf = f.read()
    assert "/var/log/inferd/*.log {" in conf and "postrotate" in conf
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=2, options={"access_log": log}) as d:
            cfg = os.path.join(tmp, "logrotate.conf")
            text = conf.replace("/var/log/inferd/*.log", log)
            text = re.sub(r"(postrotate\n).*?(\n\s*endscript)",
                          r"\1\t\tkill -USR1 %d\2" % d.proc.pid, text,
                          flags=re.S)
            with open(cfg, "w") as f:
                f.write(text)
            wrk = Wrk(d.port, "predict.lua", connections=8, duration=5)
            wrk.start()
            for n in range(2):
                time.sleep(1.5)
                # notifempty: logrotate leaves an empty log alone (no
                # SIGUSR1), so wait for the workers' first flush into it.
                t0 = time.monotonic()
                while not (os.path.exists(log) and os.path.getsize(log)):
                    assert time.monotonic() - t0 < 10, "nothing logged"
                    time.sleep(0.1)
                start = len(d.lines)
                r = subprocess.run(["logrotate", "-f", "-s",
                                    os.path.join(tmp, "state"), cfg],
                                   capture_output=True, text=True)
                assert r.returncode == 0, r.stderr
                d.wait_log(r"received SIGUSR1", timeout=5, start=start)
            out = wrk.wait(30)
            time.sleep(0.5)
            total = counted(d)
        names = sorted(os.listdir(tmp))
        assert "access.log.1" in names and "access.log.2.gz" in names, names
        n = len(read_lines(log, log + ".1"))
        with gzip.open(log + ".2.gz") as f:
            data = f.read()
        assert data.endswith(b"\n")
        for line in data.split(b"\n")[:-1]:
            json.loads(line)
        n += data.count(b"\n")
        assert total > 100 and n == total, ("lines", n, "requests", total,
                                            out)


def runbook(name):
    """The command after <!-- runbook-test: name --> in the runbook."""
    with open(os.path.join(SRCDIR, "doc", "runbooks.md")) as f:
        text = f.read()
    m = re.search(r"<!-- runbook-test: %s -->\s*```sh\n(.*?)\n\s*```" %
                  name, text, re.S)
    assert m, "no runbook-test %s in doc/runbooks.md" % name
    return m.group(1).strip()


def test_runbook_jq():
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=2, options={"access_log": log,
                                        "max_delay": "5"}) as d:
            for delay, rid in ((0.05, "mid"), (0.3, "slowest"),
                               (0, "fast"), (0.15, "second")):
                d.request("GET", "/predict?delay=%s" % delay,
                          headers={"X-Request-Id": rid,
                                   "traceparent": TRACEPARENT
                                   if rid == "second" else ""})
        cmd = runbook("slowest").replace("/var/log/inferd/access.log", log)
        out = subprocess.run(["bash", "-c", cmd], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        rows = [json.loads(x) for x in out.stdout.splitlines()]
        assert [r["request_id"] for r in rows] == \
            ["slowest", "second", "mid", "fast"], rows
        assert rows[0]["latency"] >= 0.3 and "wait" in rows[0]
        cmd = runbook("exemplar").replace("/var/log/inferd/access.log", log)
        cmd = re.sub(r"ID=\S+;", "ID=%s;" % TRACE, cmd)
        out = subprocess.run(["bash", "-c", cmd], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        rows = [json.loads(x) for x in out.stdout.splitlines()]
        assert len(rows) == 1 and rows[0]["request_id"] == "second", rows


if __name__ == "__main__":
    run([test_fields, test_escaped, test_hostile_request_ids,
         test_hostile_traceparent, test_reopen_under_load,
         test_write_error_counted, test_unwritable_path_refused,
         test_slow_request_log, test_logrotate,
         test_runbook_jq])
