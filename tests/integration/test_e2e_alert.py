#!/usr/bin/env python3
"""The original screenshots, as a test: the SLO alert fires end to end.

Real inferd, Prometheus (prometheus) and Alertmanager
(prometheus-alertmanager) on free loopback ports, with an in-process
webhook receiver standing in for the pager, and wrk driving
contrib/wrk/delay.lua.

Timings are shortened, shapes are not: Prometheus scrapes and evaluates
every second; the rules are etc/prometheus/rules/*.yml with every group's
interval at 1s, the p95 alert's window at [30s] instead of [5m] and its
`for` at 10s instead of 1m (same expression otherwise), InferdDown's `for`
at 3s. Alertmanager runs etc/alertmanager/alertmanager.yml with the webhook
URL pointed at the test and group_wait/group_interval at 1s. The real
timings are covered by the promtool tests (tests/rules/).

1. One instance, through contrib/demo/demo.py's Demo (make demo's code,
   with the tests' timings). delay=0.5 s for 20 s: the p95 alert never
   even goes pending. The demo's incident (15 % of requests at delay=2 s):
   pending, firing at least 10 s later, delivered to the webhook as
   firing; headless Chromium finds on Prometheus' pages what the README's
   screenshots show (contrib/demo/screenshots.py); the demo's recovery:
   delivered as resolved. InferdDown is never pending.
2. Three instances discovered through file_sd_configs: one is slow (2 s),
   two are fast and serve more requests; the alert fires once, on the
   aggregate p95, with no instance label, although two of the three
   instances are within the SLO alone. Stopping one instance fires
   InferdDown for it.
"""

import contextlib
import os
import shutil
import sys
import tempfile
import time

from harness import Inferd, note, run
from promstack import (Alertmanager, Prometheus, Webhook, Wrk,
                       alertmanager_config, prometheus_config,
                       rules_for_test, wait_for)

sys.path.insert(0, os.path.join(os.environ.get("INFERD_SRCDIR", "."),
                                "contrib", "demo"))
from demo import Demo  # noqa: E402
from screenshots import capture  # noqa: E402

P95 = "PredictionLatencyP95AboveSLO"
P95_EXPR = ("histogram_quantile(0.95, sum(rate("
            "prediction_latency_seconds_bucket[30s])) by (le))")
P95_BY_INSTANCE = ("histogram_quantile(0.95, sum by (instance, le) (rate("
                   "prediction_latency_seconds_bucket[30s])))")
RULES = dict(p95_window="30s", p95_for="10s", down_for="3s")
INFERD_OPTIONS = {"max_delay": "5"}


def target(d):
    return "127.0.0.1:%d" % d.metrics_port


def alert_state(prom, name):
    """'pending', 'firing' or None for a label-less-instance alert."""
    alerts = prom.alerts(name)
    assert len(alerts) <= 1, alerts
    return alerts[0]["state"] if alerts else None


def test_single_instance():
    """make demo's story with the tests' timings, plus what only a test
    asks: a slow load within the SLO stays silent, and the browser pages
    show what the README's screenshots show."""
    with Demo(fast=True, say=note) as demo:
        prom = demo.prom
        demo.wait("inferd scraped", lambda: prom.value(
            'up{job="inferd"}') == 1, 20)

        # delay=0.5: slow, within the SLO. Never pending, never delivered.
        note("delay=0.5 load for 20 s: the p95 alert must stay silent")
        seen = []
        demo.load("slow", 0.5, 20)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            demo.poll()
            assert demo.state(P95) == "inactive", \
                "p95 alert went %s under delay=0.5 load (p95 %r)" % \
                (demo.state(P95), seen[-3:])
            v = prom.value(P95_EXPR)
            if v is not None:
                seen.append(v)
            time.sleep(1)
        demo.unload("slow")
        measured = [v for v in seen if v == v]  # drop NaN
        assert measured and 0.5 <= max(measured) < 1, \
            "delay=0.5 load not measured as 0.5 s <= p95 < 1 s: %r" % seen
        note("delay=0.5: p95 up to %.3f s, alert silent" % max(measured))

        # The demo's incident: pending, then firing, then delivered.
        demo.normal()
        t_load = time.monotonic() - demo.t0
        demo.incident(90)
        ev = {(e[1], e[3]): e[0] for e in demo.events if e[2] == P95 and
              e[0] >= t_load}
        t_pending, t_firing = ev[("prometheus", "pending")], \
            ev[("prometheus", "firing")]
        assert t_firing - t_pending >= 8, \
            "firing %.1f s after pending: `for: 10s` not honoured" % \
            (t_firing - t_pending)
        _, alert = demo.hook.notifications(P95, "firing")[0]
        assert alert["labels"]["severity"] == "page", alert
        assert "instance" not in alert["labels"], alert
        summary = alert["annotations"]["summary"]
        assert "above the 1 s SLO" in summary, summary
        assert "/d/inferd-slo" in alert["annotations"]["description"], alert
        note("firing %.1f s after pending; webhook got: %s" %
             (t_firing - t_pending, summary))

        # What the README's pictures show, checked on the pages.
        shots = tempfile.mkdtemp(prefix="inferd-shots.")
        try:
            seen = capture(demo, shots)
            assert sorted(os.listdir(shots)) == [
                "alertmanager.png", "alerts.png", "p95.png", "targets.png"]
            note("browser: target %s, p95 %.2f s, %s" % (
                seen["targets"], seen["p95"][1], seen["alerts"]))
        finally:
            shutil.rmtree(shots, ignore_errors=True)

        # Recovery: resolved once the window holds few slow requests.
        t_stop = time.monotonic() - demo.t0
        demo.recovery(90)
        assert demo.state(P95) == "inactive"
        note("recovery: resolved delivered after %.1f s" %
             (demo.notified(P95, "resolved", t_stop)[0][0] - t_stop))
        # Prometheus started with inferd already up: InferdDown was never
        # even pending (the rule ignores absent() while Prometheus starts).
        down = [e for e in demo.events if e[2] == "InferdDown"]
        assert not down, down


def test_three_instances():
    with contextlib.ExitStack() as stack:
        hook = stack.enter_context(Webhook())
        am = stack.enter_context(Alertmanager(alertmanager_config(hook.url)))
        slow, fast1, fast2 = [stack.enter_context(
            Inferd(workers=2, options=INFERD_OPTIONS)) for _ in range(3)]
        sd = "inferd-targets.yml"
        prom = stack.enter_context(Prometheus(
            prometheus_config(sd_file=sd, alertmanager=am),
            rules=rules_for_test(**RULES),
            sd_files={sd: [target(x) for x in (slow, fast1, fast2)]}))
        wait_for("three targets up", lambda: prom.value(
            'sum(up{job="inferd"})') == 3, 30)

        # About 15 slow requests a second on one instance, about 4 times as
        # many fast ones on the two others: 10-20 % of all requests are slow.
        stack.enter_context(Wrk(slow.port, "delay.lua", args=["2"],
                                connections=30, duration=150))
        fast_loads = [stack.enter_context(Wrk(x.port, "delay.lua",
                                              args=["0.05"], connections=2,
                                              threads=1, duration=150))
                      for x in (fast1, fast2)]
        note("one slow and two fast instances under load: waiting for the "
             "p95 alert to fire on the aggregate")

        wait_for("p95 alert firing on the aggregate", lambda: alert_state(
            prom, P95) == "firing", 60, 0.5)
        by_inst = {r["metric"]["instance"]: float(r["value"][1])
                   for r in prom.query(P95_BY_INSTANCE)["result"]}
        total = prom.value(P95_EXPR)
        note("p95 per instance %s, aggregate %.3f s" %
             ({k: round(v, 3) for k, v in by_inst.items()}, total))
        assert by_inst[target(slow)] > 1, by_inst
        assert by_inst[target(fast1)] < 1 and by_inst[target(fast2)] < 1, \
            by_inst
        assert total > 1, total
        alerts = prom.alerts(P95)
        assert len(alerts) == 1 and "instance" not in alerts[0]["labels"], \
            alerts
        wait_for("firing notification", lambda: hook.notifications(
            P95, "firing"), 20)

        # One instance goes away: InferdDown names it.
        gone = target(fast2)
        fast_loads[1].stop()
        assert fast2.stop() == 0
        t_stop = time.monotonic()
        note("%s stopped: waiting for InferdDown" % gone)

        def down_firing():
            return [a for a in prom.alerts("InferdDown")
                    if a["state"] == "firing" and
                    a["labels"].get("instance") == gone]
        wait_for("InferdDown firing for %s" % gone, down_firing, 30)
        # (Before the first scrape, absent() may have fired an InferdDown
        # without an instance: look for the one that names the instance.)
        _, alert = wait_for("InferdDown notification", lambda: [
            n for n in hook.notifications("InferdDown", "firing")
            if n[1]["labels"].get("instance") == gone], 20)[0]
        others = [a for a in prom.alerts("InferdDown")
                  if a["labels"].get("instance") != gone]
        assert not others, others
        note("%s stopped: InferdDown delivered after %.1f s" %
             (gone, time.monotonic() - t_stop))


if __name__ == "__main__":
    run([test_single_instance, test_three_instances])
