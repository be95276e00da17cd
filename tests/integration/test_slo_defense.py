#!/usr/bin/python3
"""Defending the SLO, at a small scale with loose bounds (the tight
figures are bench/overload.py's, in make bench):

- heavy batches are evaluated off the event loop: while 16 connections
  post 1,000-row batches to a 500-tree model, a fresh-connection GET
  /predict still gets its answer fast;
- refused bodies are cheap: while 16 connections post 1 MiB bodies of
  empty objects (413), the same;
- admission control: past admission_target requests get 503 with
  Retry-After and a JSON body, counted in inferd_requests_shed_total and
  inferd_http_requests_total, never observed in prediction_latency_seconds;
  with admission off, nothing is shed;
- the histogram sees the wait: with batches queued on one worker's loop,
  the p95 a real Prometheus computes from the native histogram is close to
  the p95 h2load measured (bench/overload.py measures the same under
  the benchmark's loads);
- a stalled worker (SIGSTOP) is reported by /healthz and
  inferd_workers_stalled within worker_stall_interval, its socket leaves
  the port so new connections do not hang, and it is replaced.
"""

import json
import math
import os
import signal
import subprocess
import tempfile
import threading
import time

from harness import MODEL, Inferd, note, run
from promstack import NativePrometheus, prometheus_config, wait_for
import slo_load as L

TMP = tempfile.mkdtemp(prefix="inferd-slo.")
HEAVY = os.path.join(TMP, "trees500.json")
NTREES = L.many_trees(MODEL, HEAVY, 25)
BATCH = L.rows_body(1000, 30)
INNOCENT_P95 = 0.3      # seconds; the benchmark's goal is 0.05


def innocent_under(body, conns, opts=None):
    """Innocent GET /predict latencies while conns connections post body."""
    with Inferd(workers=2, model=HEAVY, options=opts) as d:
        idle = L.probe(d.port, 0.05, 0.5)
        h = L.Heavy(d.port, "/predict", body, conns).start()
        time.sleep(0.5)
        lat = L.probe(d.port, 0.05, 3.0)
        res = h.stop()
    note("idle p95 %.1f ms; under load p50 %.1f p95 %.1f max %.1f ms "
         "(%d probes); heavy: %s" % (
             1e3 * L.percentile(idle, .95), 1e3 * L.percentile(lat, .5),
             1e3 * L.percentile(lat, .95), 1e3 * max(lat), len(lat),
             res["codes"]))
    return lat, res


def test_heavy_batches_off_the_loop():
    lat, res = innocent_under(BATCH, 16, {"admission": "off"})
    assert res["ok"] > 0, res["codes"]
    assert L.percentile(lat, .95) < INNOCENT_P95, L.percentile(lat, .95)


def test_refused_bodies_cheap():
    lat, res = innocent_under(L.refused_body(), 16)
    assert res["codes"].get(413, 0) > 0, res["codes"]
    # 503: shed, when the queue of bodies to parse grew past the target
    assert set(res["codes"]) <= {413, 503, "error"}, res["codes"]
    assert L.percentile(lat, .95) < INNOCENT_P95, L.percentile(lat, .95)


def flood(opts, conns=16, seconds=2.0):
    """A single worker with one thread, flooded with heavy batches: the
    codes, a 503's headers and body, and the scrape after."""
    with Inferd(workers=1, model=HEAVY, options=dict(
            {"worker_threads": "1"}, **opts)) as d:
        h = L.Heavy(d.port, "/predict", BATCH, conns).start()
        time.sleep(seconds)
        st, hdrs, body = d.request("POST", "/predict", BATCH,
                                   {"Content-Type": "application/json"})
        res = h.stop()
        time.sleep(0.2)
        text = d.metrics()
        return res, (st, hdrs, body), text, d


def test_admission_sheds():
    res, (st, hdrs, body), text, d = flood({"admission_target": "0.02"})
    shed = (d.sample("inferd_requests_shed_total", text, reason="queue") +
            d.sample("inferd_requests_shed_total", text, reason="wait"))
    ok = d.sample("inferd_http_requests_total", text, handler="/predict",
                  code="200")
    n503 = d.sample("inferd_http_requests_total", text, handler="/predict",
                    code="503")
    count = d.sample("prediction_latency_seconds_count", text)
    note("flood with admission on: %s; shed %d, 200s %d, observed %d" % (
        res["codes"], shed, ok, count))
    assert res["codes"].get(503, 0) > 0, res["codes"]
    assert shed == n503 and shed >= res["codes"].get(503, 0), (shed, n503)
    # shed requests are not observed: the histogram holds the 200s only
    assert count == ok, (count, ok)
    # the probe sent while the flood ran, once more after it
    if st != 503:
        st, hdrs, body = 503, None, None
        with Inferd(workers=1, model=HEAVY, options={
                "worker_threads": "1", "admission_target": "0.001"}) as d2:
            h = L.Heavy(d2.port, "/predict", BATCH, 8).start()
            for _ in range(100):
                st, hdrs, body = d2.request(
                    "POST", "/predict", BATCH,
                    {"Content-Type": "application/json"})
                if st == 503:
                    break
            h.stop()
    assert st == 503, st
    assert hdrs.get("retry-after") == "1", hdrs
    assert hdrs.get("content-type", "").startswith("application/json")
    msg = json.loads(body)["error"]
    assert msg.startswith("overloaded:") and "admission_target" in msg, msg


def test_admission_off_queues():
    res, (st, _, _), text, d = flood({"admission": "off",
                                      "admission_target": "0.02"})
    note("flood with admission off: %s" % res["codes"])
    assert res["codes"].get(503, 0) == 0 and st == 200, res["codes"]
    assert d.sample("inferd_requests_shed_total", text, reason="queue") == 0


def test_histogram_sees_the_wait():
    """Everything on the loop of one worker (worker_threads 0, admission
    off), 8 connections of h2load posting batches: each request waits in
    the socket for the ones ahead of it, which the client sees and the
    histogram must too (it counts from the kernel's receive time).
    Loose: within 25 %; the benchmark measured 0.94 to 1.01."""
    with open(os.path.join(TMP, "batch.json"), "wb") as f:
        f.write(BATCH)
    log = os.path.join(TMP, "h2load.tsv")
    with Inferd(workers=1, model=HEAVY, options={
            "worker_threads": "0", "admission": "off"}) as d:
        cfg = prometheus_config(
            targets=["127.0.0.1:%d" % d.metrics_port], rule_files=())
        with NativePrometheus(cfg) as prom:
            wait_for("two scrapes", lambda: (prom.value(
                "sum_over_time(up[1m])") or 0) >= 2, 30)
            t0 = time.time()
            # a number of requests, not a duration: a request cut at the
            # end would be observed (499) and not logged
            subprocess.run(["h2load", "--h1", "-d", f.name, "-H",
                            "content-type: application/json", "-c", "8",
                            "-n", "160", "-t", "1", "--log-file", log,
                            "http://127.0.0.1:%d/predict" % d.port],
                           check=True, stdout=subprocess.DEVNULL)
            end = time.time() + 2.2     # two scrapes after the last answer
            while time.time() < end + 0.3:
                time.sleep(0.1)
            window = "[%ds] @ %.3f" % (math.ceil(end - t0 + 1), end)
            got = prom.value("histogram_quantile(0.95, sum(rate("
                             "prediction_latency_seconds%s)))" % window)
            count = prom.value("histogram_count(sum("
                               "prediction_latency_seconds @ %.3f))" % end)
    with open(log) as f:
        rows = [line.split("\t") for line in f]
    lat = sorted(int(r[2]) / 1e6 for r in rows)
    want = L.percentile(lat, .95)
    assert got is not None and count is not None, (got, count)
    note("h2load's p95 %.1f ms over %d answers, the histogram's %.1f ms "
         "(Prometheus, native; count %.0f); one request alone about "
         "%.1f ms" % (1e3 * want, len(rows), 1e3 * got, count,
                      1e3 * lat[0]))
    assert {r[1] for r in rows} == {"200"} and len(rows) == 160, rows[:3]
    # the requests waited behind others: several times one's own time
    assert want > 3 * lat[0], (want, lat[0])
    assert 0.75 * want <= got <= 1.25 * want, (got, want)
    # the worker's first requests: exactly those
    assert count == 160, count


def set_migrate(value):
    """Set net.ipv4.tcp_migrate_req; the old value, or None if it cannot
    be set here."""
    path = "/proc/sys/net/ipv4/tcp_migrate_req"
    try:
        with open(path) as f:
            old = f.read().strip()
        with open(path, "w") as f:
            f.write(value)
        return old
    except OSError:
        return None


def test_stalled_worker_found_fast():
    old = set_migrate("1")
    note("net.ipv4.tcp_migrate_req: %s" % (
        "set to 1 for this test" if old is not None else "cannot be set"))
    try:
        with Inferd(workers=2, options={"worker_stall_interval": "0.5",
                                        "worker_stall_timeout": "4",
                                        "log_level": os.environ.get(
                                            "SLO_LOG", "info")}) as d:
            st, h = d.json("GET", "/healthz")
            assert st == 200 and h["status"] == "ok", h
            victim = d.worker_pids()[0]
            os.kill(victim, signal.SIGSTOP)
            t0 = time.monotonic()
            early = []
            prober = threading.Thread(target=lambda: early.extend(
                L.probe(d.port, 0.05, 1.0)))
            try:
                # probes from the moment it stops (those that land in its
                # queue move when its socket leaves the port) ...
                prober.start()
                # ... the report, within the interval and a check ...
                time.sleep(1.0)
                st, _, body = d.request("GET", "/healthz",
                                        port=d.metrics_port)
                h = json.loads(body)
                stalled = d.sample("inferd_workers_stalled")
                # ... and fresh connections after: none may hang long
                lat = L.probe(d.port, 0.05, 1.0)
                prober.join(20)
                lat += early
            finally:
                try:
                    os.kill(victim, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            note("stopped worker: probes max %.0f ms p95 %.0f ms (%d); "
                 "/healthz %d %s after %.1f s" % (
                     1e3 * max(lat), 1e3 * L.percentile(lat, .95),
                     len(lat), st, h, time.monotonic() - t0))
            assert st == 503 and h["status"] == "stalled", (st, h)
            assert h["workers_stalled"] == 1 and stalled == 1
            if old is not None:
                # 0.5 s, a check period, and room for a busy machine
                assert max(lat) < 2.5, max(lat)
            # running again: ready again, nothing stalled
            deadline = t0 + 10
            while time.monotonic() < deadline:
                st, _, body = d.request("GET", "/healthz",
                                        port=d.metrics_port)
                if st == 200:
                    break
                time.sleep(0.1)
            assert st == 200, body
            assert d.sample("inferd_workers_stalled") == 0
            lat = L.probe(d.port, 0.02, 0.5)
            assert max(lat) < 1.0, max(lat)
    finally:
        if old is not None:
            set_migrate(old)


if __name__ == "__main__":
    try:
        run([test_heavy_batches_off_the_loop, test_refused_bodies_cheap,
             test_admission_sheds, test_admission_off_queues,
             test_histogram_sees_the_wait, test_stalled_worker_found_fast])
    finally:
        import shutil
        shutil.rmtree(TMP, True)
