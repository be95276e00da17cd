"""Integration tests of the core daemon: the real inferd on loopback."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from email.utils import parsedate_to_datetime

from harness import BIN, MODEL, Inferd, run

COUNT = "prediction_latency_seconds_count"
REQS = "inferd_http_requests_total"


def shm_segment(pid):
    """Whether the master pid's segment exists.  (Other tests may run
    daemons beside this one: look only at ours.)"""
    return os.path.exists("/dev/shm/inferd.%d" % pid)


def get_many(d, n, path="/predict"):
    """n requests on one keep-alive connection; all must be 200."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    for _ in range(n):
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
    conn.close()


def test_counts_exact():
    with Inferd(workers=2) as d:
        before = d.samples()
        get_many(d, 300)
        for _ in range(20):      # new connections: both workers take some
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
        after = d.samples()
        key = (COUNT, frozenset())
        assert after[key] - before.get(key, 0) == 320, (after[key], before)
        k = (REQS, frozenset({"handler": "/predict", "code": "200"}.items()))
        assert after[k] - before.get(k, 0) == 320
        # healthz is counted but is not an inference: no observation.
        st, _ = d.json("GET", "/healthz")
        assert st == 200
        assert d.sample(COUNT) == 320
        assert d.sample(REQS, handler="/healthz", code="200") == 1


def test_predict_answers_json():
    with Inferd(workers=1) as d:
        st, body = d.json("GET", "/predict")
        assert st == 200 and len(body["predictions"]) == 1, body
        assert 0.0 <= body["predictions"][0] <= 1.0


def test_response_headers():
    """conn gives Date (cached per second), Content-Length and Content-Type
    itself: each once, right, on the constant GET /predict body (also after
    a ?delay=), on computed bodies and on errors, HTTP/1.1 and 1.0."""
    with Inferd(workers=1) as d:
        for method, path, body in (("GET", "/predict", None),
                                   ("GET", "/predict?delay=0.01", None),
                                   ("POST", "/predict",
                                    {"features": [1.0] * 30}),
                                   ("GET", "/nowhere", None),
                                   ("GET", "/healthz", None)):
            for _ in range(2):
                st, hdrs, data = d.request(method, path, body)
                assert hdrs["content-length"] == str(len(data)), hdrs
                assert hdrs["content-type"] == "application/json", hdrs
                assert data.endswith(b"\n") and json.loads(data)
                date = parsedate_to_datetime(hdrs["date"]).timestamp()
                assert abs(date - time.time()) < 5, hdrs["date"]
                assert hdrs["date"].endswith(" GMT"), hdrs["date"]
        # Cached per second, not for ever: two seconds on, a new Date.
        time.sleep(2.2)
        st, hdrs, _ = d.request("GET", "/healthz")
        later = parsedate_to_datetime(hdrs["date"]).timestamp()
        assert later - date >= 2, (date, hdrs["date"])
        assert abs(later - time.time()) <= 1.5, hdrs["date"]
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(b"GET /predict HTTP/1.0\r\n\r\n")
        raw = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            raw += chunk
        s.close()
        head, _, data = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert lines[0].startswith(b"HTTP/1.0 200"), raw
        for name in (b"Date", b"Content-Length", b"Content-Type"):
            assert sum(1 for ln in lines if ln.split(b":")[0] == name) == 1
        assert b"Content-Length: %d" % len(data) in lines, raw


def test_worker_nice():
    """The workers run worker_nice (default 5) nice steps below the master,
    also the one that replaces a killed worker."""
    def nice(pid):
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[16])

    def ready(d, pid):
        # A worker sets its nice value as it starts: wait until it serves.
        deadline = time.monotonic() + 10
        while d.sample("inferd_workers_alive") < 1 or \
                d.worker_pids() != [pid]:
            assert time.monotonic() < deadline, "worker not ready"
            time.sleep(0.05)
        return pid
    with Inferd(workers=1) as d:
        old = ready(d, d.worker_pids()[0])
        assert nice(old) == min(nice(d.proc.pid) + 5, 19)
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while d.worker_pids() in ([], [old]):
            assert time.monotonic() < deadline, "no new worker"
            time.sleep(0.05)
        new = ready(d, d.worker_pids()[0])
        assert nice(new) == min(nice(d.proc.pid) + 5, 19)
    with Inferd(workers=1, options={"worker_nice": "0"}) as d:
        pid = ready(d, d.worker_pids()[0])
        assert nice(pid) == nice(d.proc.pid)


def test_exposition_formats():
    with Inferd(workers=2) as d:
        get_many(d, 10)
        d.request("GET", "/predict?delay=abc")
        st, hdrs, text = d.request("GET", "/metrics", port=d.metrics_port)
        assert hdrs["content-type"] == \
            "text/plain; version=0.0.4; charset=utf-8", hdrs
        text = text.decode()
        assert 'prediction_latency_seconds_bucket{le="1.0"}' in text
        assert "# HELP prediction_latency_seconds " in text
        r = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.strip() == "" and r.stderr.strip() == "", \
            "promtool lint: " + r.stdout + r.stderr

        accept = ("application/openmetrics-text;version=1.0.0,"
                  "application/openmetrics-text;version=0.0.1;q=0.75,"
                  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        st, hdrs, om = d.request("GET", "/metrics", port=d.metrics_port,
                                 headers={"Accept": accept})
        assert hdrs["content-type"] == ("application/openmetrics-text; "
                                        "version=1.0.0; charset=utf-8")
        om = om.decode()
        assert om.endswith("# EOF\n")
        assert 'prediction_latency_seconds_bucket{le="1.0"}' in om
        # Debian's prometheus_client parses OpenMetrics strictly.
        code = ("import sys\n"
                "from prometheus_client.openmetrics.parser import "
                "text_string_to_metric_families as p\n"
                "fams = {f.name: f for f in p(sys.stdin.read())}\n"
                "h = fams['prediction_latency_seconds']\n"
                "assert h.type == 'histogram', h.type\n"
                "b = [s for s in h.samples if s.name.endswith('_bucket')]\n"
                "assert b[-1].labels['le'] == '+Inf'\n"
                "assert fams['inferd_http_requests'].type == 'counter'\n"
                "assert fams['inferd_build'].type == 'info'\n"
                "print(len(fams))\n")
        r = subprocess.run(["/usr/bin/python3", "-c", code], input=om,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_scrape_consistent_under_load():
    with Inferd(workers=2) as d:
        stop = threading.Event()

        def load():
            while not stop.is_set():
                get_many(d, 20)
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            last = {}
            for _ in range(50):
                s = d.samples()
                buckets = sorted(
                    ((float(dict(k[1])["le"]), v) for k, v in s.items()
                     if k[0] == "prediction_latency_seconds_bucket"))
                values = [v for _, v in buckets]
                assert values == sorted(values), buckets
                assert values[-1] == s[(COUNT, frozenset())]
                for k, v in s.items():
                    if k[0].endswith(("_total", "_bucket", "_count")):
                        assert v >= last.get(k, 0), (k, v, last[k])
                last = s
        finally:
            stop.set()
            for t in threads:
                t.join()


def test_delay_lands_above_slo_bucket():
    with Inferd(workers=1) as d:
        t0 = time.monotonic()
        st, body = d.json("GET", "/predict?delay=1.5")
        took = time.monotonic() - t0
        assert st == 200 and took >= 1.5, (st, took)
        assert d.sample("prediction_latency_seconds_bucket", le="1.0") == 0
        assert d.sample("prediction_latency_seconds_bucket", le="2.5") == 1
        assert d.sample(COUNT) == 1
        assert d.sample("prediction_latency_seconds_sum") >= 1.5


def test_connection_close_clients():
    """HTTP/1.0 and Connection: close clients, also while draining."""
    with Inferd(workers=1) as d:
        for hdr in [b"Connection: close\r\n", b""]:
            for version in [b"HTTP/1.1", b"HTTP/1.0"]:
                if version == b"HTTP/1.1" and not hdr:
                    continue
                out = raw_http(d.port, b"GET /predict " + version +
                               b"\r\nHost: x\r\n" + hdr + b"\r\n")
                assert b" 200 OK" in out and b"predictions" in out, out
        assert d.sample(COUNT) == 3


def test_delay_does_not_block_worker():
    """One worker: a delayed request must not hold up the others."""
    with Inferd(workers=1) as d:
        done = []
        t = threading.Thread(target=lambda: done.append(
            d.request("GET", "/predict?delay=2")[0]))
        t.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        st, _, _ = d.request("GET", "/predict")
        assert st == 200 and time.monotonic() - t0 < 1.0
        assert d.sample("inferd_http_requests_in_flight") == 1
        t.join()
        assert done == [200]
        assert d.sample("inferd_http_requests_in_flight") == 0


def test_bad_queries():
    bad = ["delay=-1", "delay=abc", "delay=nan", "delay=inf", "delay=1e999",
           "delay=", "delay=11", "delay=0x10", "delay=1&delay=2",
           "delay=1%00", "delay=%2B"]
    with Inferd(workers=1) as d:
        for q in bad:
            st, body = d.json("GET", "/predict?" + q)
            assert st == 400 and "delay" in body["error"], (q, st, body)
        st, body = d.json("GET", "/nope")
        assert st == 404 and "error" in body
        st, hdrs, data = d.request("DELETE", "/predict")
        assert st == 405 and hdrs["allow"] == "GET, HEAD, POST", (st, hdrs)
        assert "error" in json.loads(data)
        st, body = d.json("GET", "/predict?delay=0.01&other=1")
        assert st == 200
        assert d.sample(REQS, handler="/predict", code="400") == len(bad)
        assert d.sample(REQS, handler="other", code="404") == 1
        assert d.sample(REQS, handler="/predict", code="405") == 1
        st, _ = d.json("GET", "/healthz")
        assert st == 200
        # metrics port: JSON 404 and 405 too
        st, _, data = d.request("GET", "/x", port=d.metrics_port)
        assert st == 404 and "error" in json.loads(data)
        st, _, data = d.request("POST", "/metrics", port=d.metrics_port)
        assert st == 405 and "error" in json.loads(data)


def raw_http(port, data):
    """Send raw bytes; return what comes back until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def test_malformed_http():
    """Unparseable requests are answered before any handler, with a JSON
    error and Connection: close; the worker lives."""
    with Inferd(workers=1, options={"max_header_bytes": "1024"}) as d:
        pid = d.worker_pids()
        for data, status in [
                (b"GARBAGE\r\n\r\n", b" 400 "),
                (b"GET /predict HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 2000 +
                 b"\r\n\r\n", b" 400 "),
                (b"GET /predict HTTP/1.1\r\nBad Header\r\n\r\n", b" 400 "),
                (b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 99999999\r\n\r\n", b" 413 ")]:
            out = raw_http(d.port, data)
            assert status in out.split(b"\r\n")[0] + b" ", out
            head, _, body = out.partition(b"\r\n\r\n")
            assert b"\r\nConnection: close" in head, out
            assert "error" in json.loads(body), out
        st, body = d.json("GET", "/predict")
        assert st == 200 and d.worker_pids() == pid


def test_body_and_connection_limits():
    """max_connections counts from accept: the connection beyond it waits
    in the backlog (it is neither answered nor reset) until one closes."""
    with Inferd(workers=1, options={"max_body_bytes": "100",
                                    "max_connections": "2"}) as d:
        st, _, data = d.request("POST", "/predict", body=b"x" * 101,
                                headers={"Content-Type": "application/json"})
        assert st == 413, (st, data)
        time.sleep(0.2)         # that connection is closed and uncounted
        conns = [socket.create_connection(("127.0.0.1", d.port), timeout=10)
                 for _ in range(3)]
        for c in conns:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for c in conns[:2]:
            assert c.recv(4096).startswith(b"HTTP/1.1 200 "), "answered"
        conns[2].settimeout(0.5)
        try:
            data = conns[2].recv(4096)
            raise AssertionError("connection beyond max_connections got "
                                 "%r" % data)
        except socket.timeout:
            pass
        conns[0].close()
        conns[2].settimeout(5)
        assert conns[2].recv(4096).startswith(b"HTTP/1.1 200 ")
        for c in conns:
            c.close()


def test_kill_worker_replaced_counts_kept():
    with Inferd(workers=2) as d:
        get_many(d, 50)
        before = d.samples()
        victim = d.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        while True:
            pids = d.worker_pids()
            if victim not in pids and len(pids) == 2:
                break
            assert time.monotonic() - t0 < 1.0, "no replacement in 1 s"
            time.sleep(0.02)
        # every listener slot serves again: many fresh connections succeed
        for _ in range(40):
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
        assert time.monotonic() - t0 < 5
        after = d.samples()
        assert after[(COUNT, frozenset())] == before[(COUNT, frozenset())] + 40
        assert d.sample("inferd_worker_restarts_total") == 1
        assert d.sample("inferd_workers_alive") == 2


def test_kill_mid_load_counts_exact():
    """Clients count the answers they got; _count must equal it."""
    with Inferd(workers=2) as d:
        ok = [0] * 8
        stop = threading.Event()

        def client(i):
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(
                            "127.0.0.1", d.port, timeout=10)
                    conn.request("GET", "/predict")
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status == 200:
                        ok[i] += 1
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = None
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(8)]
        for t in threads:
            t.start()
        time.sleep(1)
        for _ in range(3):
            os.kill(d.worker_pids()[0], signal.SIGKILL)
            time.sleep(1.2)
        stop.set()
        for t in threads:
            t.join()
        assert d.sample("inferd_worker_restarts_total") == 3
        assert d.sample(COUNT) == sum(ok), (d.sample(COUNT), sum(ok))
        assert d.sample("inferd_http_requests_in_flight") == 0


def test_inflight_zeroed_when_worker_dies():
    with Inferd(workers=1) as d:
        t = threading.Thread(target=lambda: _ignore(
            lambda: d.request("GET", "/predict?delay=5")))
        t.start()
        time.sleep(0.3)
        assert d.sample("inferd_http_requests_in_flight") == 1
        os.kill(d.worker_pids()[0], signal.SIGKILL)
        t.join()
        time.sleep(0.2)
        assert d.sample("inferd_http_requests_in_flight") == 0
        assert d.sample(COUNT) == 0


def _ignore(fn):
    try:
        fn()
    except (OSError, http.client.HTTPException):
        pass


def test_serving_workers_replaced_at_once():
    """A worker killed after it was ready is replaced at once, however
    often: no backoff (that is for start-up failures, test_hostile.py)."""
    with Inferd(workers=1, options={"restart_delay_max": "5"}) as d:
        killed = set()

        def replaced():
            # A new worker serves (not the one just killed, which may not
            # be reaped yet: on a loaded machine it can still be listed).
            t0 = time.monotonic()
            while (d.sample("inferd_workers_alive") != 1 or
                   not set(d.worker_pids()) - killed):
                assert time.monotonic() - t0 < 1, "not replaced at once"
                time.sleep(0.01)
            return (set(d.worker_pids()) - killed).pop()
        for i in range(6):
            pid = replaced()
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
            time.sleep(0.02)
        replaced()
        assert "keeps dying" not in d.log
        assert d.sample("inferd_worker_restarts_total") == 6
        assert d.sample("inferd_worker_start_failures_total") == 0
        st, _, _ = d.request("GET", "/predict")
        assert st == 200


def test_sigterm_drains_inflight():
    d = Inferd(workers=2).start()
    try:
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            d.request("GET", "/predict?delay=1")[0])) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        assert d.sample("inferd_http_requests_in_flight") == 6
        workers = d.worker_pids()
        rc = d.stop()
        for t in threads:
            t.join()
        assert rc == 0, d.log
        assert results == [200] * 6, results
        for pid in workers:
            assert not os.path.exists("/proc/%d" % pid)
        assert not shm_segment(d.proc.pid)
    finally:
        d.kill()


def reload(d):
    """SIGHUP, then wait until the reload is done and the old workers are
    gone."""
    n = len(d.lines)
    old = d.worker_pids()
    d.proc.send_signal(signal.SIGHUP)
    d.wait_log(r"reload: model ", start=n)
    t0 = time.monotonic()
    while set(d.worker_pids()) & set(old):
        assert time.monotonic() - t0 < 5
        time.sleep(0.02)


def test_sighup_reloads_model():
    tmp = tempfile.mkdtemp()
    try:
        model = os.path.join(tmp, "m.json")
        shutil.copy(MODEL, model)
        with Inferd(workers=2, model=model) as d:
            sha = [k for k in d.samples() if k[0] == "inferd_model_info"]
            with open(model, "w") as f:
                f.write("{ not json")
            n = len(d.lines)
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log(r"reload: .*keeping model", start=n)
            assert d.sample("inferd_reload_failures_total",
                            what="model") == 1
            assert d.sample("inferd_reload_failures_total",
                            what="config") == 0
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
            shutil.copy(MODEL, model)
            reload(d)
            assert len(d.worker_pids()) == 2
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
            assert [k for k in d.samples()
                    if k[0] == "inferd_model_info"] == sha
            assert d.sample("inferd_worker_restarts_total") == 0
    finally:
        shutil.rmtree(tmp)


def test_stale_segment_removed():
    """A segment left by a master that was killed is removed at start."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    path = "/dev/shm/inferd.%d" % dead.pid
    with open(path, "wb") as f:
        f.write(b"\0" * 4096)
    try:
        with Inferd(workers=1):
            # (A daemon of a test running beside this one may be the one
            # that removes it: any master does at start.)
            assert not os.path.exists(path)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_workers_die_with_master():
    """A worker must not outlive a master killed with SIGKILL."""
    d = Inferd(workers=2).start()
    try:
        workers = d.worker_pids()
        d.proc.kill()
        d.proc.wait()
        t0 = time.monotonic()
        while any(os.path.exists("/proc/%d" % p) and
                  open("/proc/%d/stat" % p).read().split()[2] != "Z"
                  for p in workers):
            assert time.monotonic() - t0 < 5, "workers outlived the master"
            time.sleep(0.05)
    finally:
        d.kill()


def test_out_of_file_descriptors():
    """accept(2) failing with EMFILE pauses the listener instead of
    spinning; the worker serves again once descriptors are free."""
    with Inferd(workers=1, prefix=["prlimit", "--nofile=48:48", "--"],
                options={"max_connections": "1000"}) as d:
        d.wait_log(r"open file limit 48 is below max_connections")
        idle = []
        for _ in range(60):
            idle.append(socket.create_connection(("127.0.0.1", d.port)))
        time.sleep(0.5)
        for s in idle:
            s.close()
        time.sleep(0.3)
        st, _, _ = d.request("GET", "/predict", timeout=5)
        assert st == 200
        pauses = [l for l in d.lines if "accept; pausing" in l]
        assert 1 <= len(pauses) <= 20, len(pauses)


def test_worker_ignores_sighup():
    with Inferd(workers=1) as d:
        pid = d.worker_pids()[0]
        os.kill(pid, signal.SIGHUP)
        time.sleep(0.3)
        assert d.worker_pids() == [pid]
        assert d.sample("inferd_worker_restarts_total") == 0


def test_client_gone_counts_499():
    with Inferd(workers=1) as d:
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(b"GET /predict?delay=0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        s.close()
        time.sleep(0.8)
        assert d.sample(REQS, handler="/predict", code="499") == 1
        assert d.sample(REQS, handler="/predict", code="200") == 0
        assert d.sample("inferd_http_requests_in_flight") == 0


def test_every_method_gets_json_405():
    with Inferd(workers=1) as d:
        for method in ["TRACE", "PUT", "OPTIONS", "PATCH"]:
            st, hdrs, data = d.request(method, "/predict")
            assert st == 405 and "error" in json.loads(data), (method, st)
        assert d.sample(REQS, handler="/predict", code="405") == 4


def test_metrics_port_limits_headers():
    with Inferd(workers=1) as d:
        out = raw_http(d.metrics_port, b"GET /metrics HTTP/1.1\r\nX: " +
                       b"a" * 20000 + b"\r\n\r\n")
        assert b" 400 " in out.split(b"\r\n")[0], out[:100]
        assert d.metrics()


def test_sighup_during_reload_is_kept():
    with Inferd(workers=1) as d:
        t = threading.Thread(target=lambda: d.request(
            "GET", "/predict?delay=1"))
        t.start()
        time.sleep(0.2)
        n = len(d.lines)
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"reload: model ", start=n)
        n2 = len(d.lines)
        d.proc.send_signal(signal.SIGHUP)     # the old worker still drains
        d.wait_log(r"reloading when it is done", start=n2)
        t.join()
        d.wait_log(r"reload: model ", start=n2, timeout=5)


def test_oip_model_names_are_escaped_and_decoded():
    tmp = tempfile.mkdtemp()
    try:
        model = os.path.join(tmp, 'my "odd" model.json')
        shutil.copy(MODEL, model)
        with Inferd(workers=1, model=model) as d:
            for suffix in ["", "/ready"]:
                st, body = d.json("GET", "/v2/models/my%20%22odd%22%20model"
                                  + suffix)
                assert st == 200 and body["name"] == 'my "odd" model', body
            st, body = d.json("GET", "/v2/models/other/ready")
            assert st == 404
    finally:
        shutil.rmtree(tmp)


def test_reload_drops_nothing():
    """Clients on fresh connections see no error across reloads."""
    with Inferd(workers=2) as d:
        ok, errors = [0] * 4, []
        stop = threading.Event()

        def client(i):
            while not stop.is_set():
                try:
                    st, _, _ = d.request("GET", "/predict")
                    assert st == 200, st
                    ok[i] += 1
                except Exception as e:      # noqa: BLE001 - collected
                    errors.append(repr(e))
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(4)]
        for t in threads:
            t.start()
        try:
            for _ in range(3):
                reload(d)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert not errors, errors[:5]
        assert d.sample(COUNT) == sum(ok)


def start_fails(args, expect):
    """inferd with args must exit 1 before forking, saying expect in one
    line."""
    if "-c" not in args:
        args = ["--no-config"] + args
    p = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 1, (args, p.returncode, err)
    assert expect in err, (args, expect, err)
    errors = [l for l in err.splitlines() if expect in l]
    assert len(errors) == 1, err
    assert "ready: " not in err
    assert not shm_segment(p.pid)


def test_bad_configuration_stops_startup():
    tmp = tempfile.mkdtemp()
    try:
        conf = os.path.join(tmp, "inferd.conf")
        with open(conf, "w") as f:
            f.write("# comment\nworkers = 2\n\nmax_delay = soon\n")
        start_fails(["-c", conf], "%s:4: max_delay: 'soon' is not a "
                    "number of seconds" % conf)
        with open(conf, "w") as f:
            f.write("listen = 127.0.0.1\n")
        start_fails(["-c", conf], "%s:1: listen: '127.0.0.1' is not "
                    "ADDRESS:PORT" % conf)
        with open(conf, "w") as f:
            f.write("colour = blue\n")
        start_fails(["-c", conf], "%s:1: unknown key 'colour'" % conf)
        with open(conf, "w") as f:
            f.write("buckets = 0.5, 0.25\n")
        start_fails(["-c", conf], "%s:1: buckets: bounds must increase"
                    % conf)
        with open(conf, "w") as f:
            f.write("workers = 2\nmax_delay = 1\n# again\nworkers = 3\n")
        start_fails(["-c", conf], "%s:4: workers: already set on line 1"
                    % conf)
        start_fails(["-o", "buckets=0.5,2"], "buckets: 1.0 is not among "
                    "the bounds: it is the SLO threshold")
        start_fails(["--model", MODEL, "-l", "127.0.0.1:0", "-m",
                     "127.0.0.1:0", "-o", "user=no-such-user-8"],
                    "error: user: no user 'no-such-user-8'")
        start_fails(["--model", MODEL, "-l", "127.0.0.1:0", "-m",
                     "127.0.0.1:0", "-o", "group=nogroup"],
                    "error: group: 'nogroup' is set but user is not")
        start_fails(["-w", "many"], "command line (-w): workers: 'many'")
        start_fails(["-o", "max_body_bytes=-1"],
                    "command line (-o max_body_bytes): max_body_bytes:")
        start_fails(["-c", os.path.join(tmp, "missing.conf")],
                    "missing.conf: cannot open: No such file or directory")
        start_fails(["--model", os.path.join(tmp, "none.json")],
                    "command line (--model): model: %s: cannot open: "
                    "No such file or directory" % os.path.join(tmp,
                                                               "none.json"))
        start_fails(["-o", "model=" + os.path.join(tmp, "none.json")],
                    "command line (-o model): model: ")
        with open(conf, "w") as f:
            f.write("# a comment\nmodel = %s\n" %
                    os.path.join(tmp, "none.json"))
        start_fails(["-c", conf], "%s:2: model: %s: cannot open" %
                    (conf, os.path.join(tmp, "none.json")))
        start_fails(["-l", "127.0.0.1:99999"], "listen: '127.0.0.1:99999'")
        # the command line overrides the file
        with open(conf, "w") as f:
            f.write("workers = 3\nmax_delay = 0.5\n")
        with Inferd(workers=1, config=conf) as d:
            assert len(d.worker_pids()) == 1
            st, _ = d.json("GET", "/predict?delay=0.6")
            assert st == 400
    finally:
        shutil.rmtree(tmp)


def test_port_in_use_fails_cleanly():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        start_fails(["--model", MODEL, "-l", "127.0.0.1:%d" % port,
                     "-m", "127.0.0.1:0"],
                    "error: http: bind 127.0.0.1:%d" % port)
    finally:
        s.close()


def test_check_and_version():
    r = subprocess.run([BIN, "--no-config", "--model", MODEL, "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "configuration ok" in r.stdout, r
    r = subprocess.run([BIN, "-V"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("inferd ")
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "max_body_bytes" in r.stdout
    for args, why in [(["--bogus"], "unknown option --bogus"),
                      (["-x"], "unknown option -x"),
                      (["-c"], "option -c needs a value"),
                      (["-o", "workers"], "-o workers: expected KEY=VALUE"),
                      (["extra"], "unexpected argument 'extra'"),
                      (["--no-config", "-c", "x"],
                       "-c and --no-config exclude each other")]:
        r = subprocess.run([BIN] + args, capture_output=True, text=True)
        assert r.returncode == 1, (args, r)
        assert r.stdout == "" and r.stderr == \
            "inferd: %s; try 'inferd --help'\n" % why, (args, r.stderr)


if __name__ == "__main__":
    run([test_check_and_version, test_bad_configuration_stops_startup,
         test_port_in_use_fails_cleanly, test_predict_answers_json,
         test_response_headers, test_worker_nice,
         test_counts_exact, test_exposition_formats,
         test_scrape_consistent_under_load, test_delay_lands_above_slo_bucket,
         test_delay_does_not_block_worker, test_connection_close_clients,
         test_bad_queries,
         test_malformed_http,
         test_body_and_connection_limits, test_kill_worker_replaced_counts_kept,
         test_kill_mid_load_counts_exact, test_inflight_zeroed_when_worker_dies,
         test_serving_workers_replaced_at_once, test_sigterm_drains_inflight,
         test_sighup_reloads_model, test_stale_segment_removed,
         test_workers_die_with_master, test_out_of_file_descriptors,
         test_worker_ignores_sighup, test_client_gone_counts_499,
         test_every_method_gets_json_405, test_metrics_port_limits_headers,
         test_sighup_during_reload_is_kept,
         test_oip_model_names_are_escaped_and_decoded,
         test_reload_drops_nothing])
