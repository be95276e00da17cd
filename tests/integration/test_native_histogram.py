#!/usr/bin/env python3
"""Native histograms end to end, with the real Prometheus.

Two inferds answer with constant latencies, set with ?delay=: one 0.3 s,
the other 2 s. Two real Prometheus servers scrape both every second:

- one with --enable-feature=native-histograms, which asks for the
  protobuf exposition and stores prediction_latency_seconds as a native
  histogram (Debian's 2.42 then drops its classic buckets);
- one without it, which scrapes OpenMetrics text and keeps the classic
  buckets.

The first must find histogram_quantile(0.95, sum(rate(
prediction_latency_seconds[...]))) within 5 % of the true p95, per
instance and over both (where 2 s requests are more than 5 % of the
traffic, so p95 is that of the 2 s requests). On a loaded machine a
latency is not quite constant: the true p95 lies between the delay (no
request is faster) and the p95 the clients measured (each request's
server-side latency is inside its client-side one), and the estimate
must be within 5 % of that interval. The second must still answer the seed's query,
histogram_quantile(0.95, sum(rate(prediction_latency_seconds_bucket[...]))
by (le)), with what the classic buckets give (2.425 for 2 s: 1 + 0.95 x 1.5).
"""

import http.client
import math
import threading
import time

from harness import Inferd, run
from promstack import (NativePrometheus, Prometheus, prometheus_config,
                       wait_for)

SLOW, FAST = 2.0, 0.3
LOAD_SECONDS = 14
WINDOW = "10s"
TOLERANCE = 0.05


def drive(port, delay, threads, stop, errors, lat=None):
    """Keep `threads` clients asking for /predict?delay=delay until stop;
    append each request's (end time, client-side latency) to lat."""
    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while not stop.is_set():
                t0 = time.monotonic()
                conn.request("GET", "/predict?delay=%g" % delay)
                r = conn.getresponse()
                r.read()
                t1 = time.monotonic()
                if lat is not None:
                    lat.append((t1, t1 - t0))
                if r.status != 200:
                    errors.append(r.status)
        except Exception as e:      # reported by the caller
            errors.append(repr(e))
        finally:
            conn.close()
    ts = [threading.Thread(target=client, daemon=True)
          for _ in range(threads)]
    for t in ts:
        t.start()
    return ts


def value_at(prom, expr, t):
    res = prom.query(expr, time="%.3f" % t)["result"]
    assert len(res) == 1, (expr, res)
    return float(res[0]["value"][1])


def classic_quantile(q, buckets):
    """Prometheus' histogram_quantile over [(le, rate)] sorted, +Inf last."""
    total = buckets[-1][1]
    rank = q * total
    prev_le, prev = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if math.isinf(le):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev) / (c - prev)
        prev_le, prev = le, c
    return math.nan


def test_native_p95_within_5_percent():
    with Inferd(workers=2) as fast, Inferd(workers=2) as slow:
        targets = ["127.0.0.1:%d" % fast.metrics_port,
                   "127.0.0.1:%d" % slow.metrics_port]
        cfg = prometheus_config(targets=targets, rule_files=())
        with NativePrometheus(cfg) as native, Prometheus(cfg) as classic:
            for p in (native, classic):
                wait_for("both targets up", lambda p=p: set(
                    p.targets_up("inferd").values()) == {"up"} and
                    len(p.targets_up("inferd")) == 2, 20)
            stop, errors = threading.Event(), []
            lat = {FAST: [], SLOW: []}
            ts = drive(fast.port, FAST, 4, stop, errors, lat[FAST])
            ts += drive(slow.port, SLOW, 8, stop, errors, lat[SLOW])
            time.sleep(LOAD_SECONDS)
            t = time.time() - 1.5
            stop.set()
            for th in ts:
                th.join(10)
            assert not errors, errors[:5]
            # The window's requests, roughly: the last 10 s but 1.5 s.
            end = time.monotonic()
            for d in lat:
                xs = sorted(x for te, x in lat[d] if te > end - 14)
                lat[d] = xs[int(0.95 * len(xs))]
            check_native(native, t, fast, slow, lat)
            check_classic(classic, t, slow)


def within(got, lo, hi):
    """Whether got is within TOLERANCE of the interval [lo, hi]."""
    return lo * (1 - TOLERANCE) <= got <= hi * (1 + TOLERANCE)


def check_native(prom, t, fast, slow, client_p95):
    q = ("histogram_quantile(0.95, sum(rate("
         "prediction_latency_seconds%s[" + WINDOW + "])))")
    for d, delay in ((fast, FAST), (slow, SLOW)):
        sel = '{instance="127.0.0.1:%d"}' % d.metrics_port
        got = value_at(prom, q % sel, t)
        print("  native p95 of a constant %g s: %.4f s (%+.2f %%; clients "
              "measured p95 %.4f s)" % (delay, got, 100 * (got / delay - 1),
                                        client_p95[delay]))
        assert within(got, delay, client_p95[delay]), \
            (delay, got, client_p95[delay])
    got = value_at(prom, q % "", t)
    print("  native p95 of both: %.4f s (%+.2f %%)" %
          (got, 100 * (got / SLOW - 1)))
    assert within(got, SLOW, client_p95[SLOW]), (got, client_p95[SLOW])
    # It is a native histogram: one series, no _bucket series.
    n = prom.query("count(prediction_latency_seconds)", time="%.3f" % t)
    assert n["result"], n


def check_classic(prom, t, slow):
    seed = ("histogram_quantile(0.95, sum(rate("
            "prediction_latency_seconds_bucket[" + WINDOW + "])) by (le))")
    got = value_at(prom, seed, t)
    rates = prom.query("sum(rate(prediction_latency_seconds_bucket[" +
                       WINDOW + "])) by (le)", time="%.3f" % t)["result"]
    buckets = sorted((float(r["metric"]["le"]), float(r["value"][1]))
                     for r in rates)
    want = classic_quantile(0.95, buckets)
    print("  classic p95 of both (the seed's query): %.4f s" % got)
    assert abs(got - want) < 1e-9 * max(1, want), (got, want)
    assert 1.0 < got <= 2.5, got
    sel = '{instance="127.0.0.1:%d"}' % slow.metrics_port
    got = value_at(prom, "histogram_quantile(0.95, sum(rate("
                   "prediction_latency_seconds_bucket%s[%s])) by (le))" %
                   (sel, WINDOW), t)
    print("  classic p95 of a constant 2 s: %.4f s" % got)
    assert abs(got - 2.425) < 1e-9, got


if __name__ == "__main__":
    run([test_native_p95_within_5_percent])
