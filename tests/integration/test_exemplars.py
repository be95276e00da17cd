#!/usr/bin/env python3
"""Exemplars, from a real Prometheus 2.42 to the access log line.

1. The OpenMetrics scrape carries, on the bucket of a slow request sent
   with a known traceparent, an exemplar with its trace ID, its latency
   and its time; a request without traceparent gives its request ID.
2. Prometheus with --enable-feature=exemplar-storage (OpenMetrics scrape)
   returns that trace ID from /api/v1/query_exemplars, and the access log
   line with that trace ID has the exemplar's latency.
3. The same through the protobuf scrape (native histograms on): the
   classic buckets' exemplars reach /api/v1/query_exemplars.
4. Exemplars of several workers are merged: the latest per bucket wins,
   and a respawned worker's slot keeps its exemplars.
"""

import json
import os
import re
import signal
import tempfile
import time

from harness import Inferd, run
from promstack import Prometheus, prometheus_config, wait_for

TRACE = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = "00-%s-b7ad6b7169203331-01" % TRACE
OM = "application/openmetrics-text; version=1.0.0"
EXEMPLAR = re.compile(r'^prediction_latency_seconds_bucket\{le="([^"]+)"\} '
                      r'\d+ # \{(trace_id|request_id)="([^"]*)"\} (\S+) '
                      r'(\d+\.\d{3})$', re.M)


class ExemplarPrometheus(Prometheus):
    """Prometheus storing exemplars (it then scrapes OpenMetrics)."""

    name = "prometheus-exemplars"
    features = "exemplar-storage"
    series = "prediction_latency_seconds_bucket"


class NativeExemplarPrometheus(ExemplarPrometheus):
    """... and native histograms (it then scrapes protobuf)."""

    name = "prometheus-native-exemplars"
    features = "exemplar-storage,native-histograms"
    # Prometheus 2.42 keeps the native histogram only (no _bucket series)
    # and gives it the classic buckets' exemplars.
    series = "prediction_latency_seconds"


def exemplars(d):
    """{le: (label, id, value, time)} of an OpenMetrics scrape."""
    return {m[0]: (m[1], m[2], float(m[3]), float(m[4]))
            for m in EXEMPLAR.findall(d.metrics(OM))}


def test_openmetrics_exemplars():
    with Inferd(workers=2, options={"max_delay": "5"}) as d:
        t0 = time.time()
        st, hdrs, _ = d.request("GET", "/predict?delay=0.55",
                                headers={"traceparent": TRACEPARENT})
        assert st == 200
        st, hdrs2, _ = d.request("GET", "/predict?delay=1.5")
        ex = exemplars(d)
        # 0.55 s lands in (0.5, 0.75] unless the machine is very slow.
        mine = [le for le, e in ex.items() if e[:2] == ("trace_id", TRACE)]
        assert len(mine) == 1, ex
        le = ex[mine[0]]
        assert 0.55 <= le[2] <= float(mine[0]), ex
        assert t0 - 1 <= le[3] <= time.time() + 1, ex
        other = [e for e in ex.values() if e[:2] ==
                 ("request_id", hdrs2["x-request-id"])]
        assert other and 1.5 <= other[0][2] < 2.5, ex
        # Not in the text format 0.0.4, which has no exemplars.
        assert " # {" not in d.metrics()


def test_merge_across_workers_and_respawn():
    with Inferd(workers=2, options={"max_delay": "5"}) as d:
        ids = []
        for i in range(8):          # both workers, new connections
            st, hdrs, _ = d.request("GET", "/predict?delay=0.3")
            ids.append(hdrs["x-request-id"])
        ex = exemplars(d)
        # The latest of all workers holds its bucket.
        last = [le for le, e in ex.items() if e[1] == ids[-1]]
        assert last, (ex, ids)
        # The worker holding the last exemplar dies; its slot keeps it.
        pids = d.worker_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        wait_for("workers replaced", lambda: len(set(d.worker_pids()) -
                                                 set(pids)) == 2, 20)
        ex = exemplars(d)
        assert ex[last[0]][1] == ids[-1], (ex, ids)


def query_exemplars(prom, start):
    data = prom.api("query_exemplars", query=prom.series,
                    start="%.3f" % start, end="%.3f" % (time.time() + 5))
    return [(s["seriesLabels"].get("le"), e["labels"], float(e["value"]))
            for s in data for e in s["exemplars"]]


def exemplar_to_log(cls):
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "access.log")
        with Inferd(workers=2, options={"max_delay": "5", "access_log": log,
                                        "access_log_flush": "0.1"}) as d, \
                cls(prometheus_config(["127.0.0.1:%d" % d.metrics_port],
                                      rule_files=())) as prom:
            start = time.time() - 60
            # Scraped before and after: Prometheus keeps an exemplar when
            # it is new to a series.
            wait_for("a first scrape", lambda: prom.value(
                'up{job="inferd"}'), 30)
            st, _, _ = d.request("GET", "/predict?delay=0.6",
                                 headers={"traceparent": TRACEPARENT})
            assert st == 200
            found = wait_for(
                "the trace ID in query_exemplars",
                lambda: [x for x in query_exemplars(prom, start)
                         if x[1].get("trace_id") == TRACE], 30)
            le, labels, value = found[0]
            assert value >= 0.6, found
            if le is not None:      # the bucket the latency falls in
                bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75,
                          1.0, 2.5, 5.0, 10.0, float("inf")]
                assert float(le) == min(b for b in bounds if b >= value), \
                    found
            # From the exemplar to the access log line: same trace ID,
            # same latency (to the microsecond the log writes).
            time.sleep(0.3)
            with open(log) as f:
                lines = [json.loads(x) for x in f]
            mine = [x for x in lines if x["trace_id"] == TRACE]
            assert len(mine) == 1, lines
            assert abs(mine[0]["latency"] - value) < 2e-6, (mine, value)
            assert mine[0]["path"] == "/predict" and mine[0]["status"] == 200


def test_prometheus_openmetrics():
    exemplar_to_log(ExemplarPrometheus)


def test_prometheus_protobuf():
    exemplar_to_log(NativeExemplarPrometheus)


if __name__ == "__main__":
    run([test_openmetrics_exemplars, test_merge_across_workers_and_respawn,
         test_prometheus_openmetrics, test_prometheus_protobuf])
