#!/usr/bin/python3
"""make demo: watch inferd's p95 alert fire, on this machine, without Docker.

Starts, from this source tree and its own etc/ files:

  inferd           the bundled model, 2 workers     (port 8000, metrics 9180)
  Prometheus       etc/prometheus/prometheus.yml and rules/*.yml  (9090)
  Alertmanager     etc/alertmanager/alertmanager.yml              (9093)
  a webhook        the receiver alertmanager.yml names            (5001)

(each on the port in parentheses when it is free, else on a free one; the
URLs printed are the ones in use), then drives traffic:

  1. normal:   fast requests only (about 40 a second);
  2. incident: slow requests added (?delay=2, about 7 a second, 15 % of
               all): p95 rises to about 2 s, PredictionLatencyP95AboveSLO
               goes pending, then firing, and Alertmanager notifies;
  3. recovery: the slow requests stop and fast ones run at full speed,
               until the alerts resolve and Alertmanager says so.

It prints every alert state change Prometheus reports and every
notification the webhook receives, as they happen, then keeps everything
running for you to look at until Ctrl-C, which stops all it started.

tests/integration/test_e2e_alert.py drives the same class (Demo) with
shortened timings (--fast): the scrape and evaluation every second, the
p95 window [30s] and `for: 10s`, Alertmanager's group delays 1 s.
"""

import argparse
import contextlib
import http.server
import os
import signal
import socket
import sys
import time
import urllib.parse

SRCDIR = os.path.normpath(os.path.join(os.path.dirname(
    os.path.abspath(__file__)), "..", ".."))
os.environ.setdefault("INFERD_SRCDIR", SRCDIR)
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))

import yaml  # noqa: E402

import harness  # noqa: E402
from promstack import (Alertmanager, Prometheus, Webhook, Wrk,  # noqa: E402
                       alertmanager_config, prometheus_config,
                       rules_for_test)

P95 = "PredictionLatencyP95AboveSLO"
P95_QUERY = ("histogram_quantile(0.95, sum(rate("
             "prediction_latency_seconds_bucket[5m])) by (le))")
# The stated ports: those of etc/'s files and of inferd's defaults.
PORTS = {"inferd": 8000, "metrics": 9180, "prometheus": 9090,
         "alertmanager": 9093, "webhook": 5001}
# Test timings (--fast): what tests/integration/test_e2e_alert.py uses.
FAST_RULES = dict(p95_window="30s", p95_for="10s", down_for="3s")
# Traffic: (delay in seconds, connections).  One connection of delay=D
# sends about 1/D requests a second.
NORMAL = (0.05, 2)
SLOW = (2, 14)


def port_or_free(port):
    """port if nothing listens on 127.0.0.1:port, else a free one."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


class QuietInferd(harness.Inferd):
    """harness.Inferd without its log echoed to stderr."""

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()


def rules_from_etc():
    """{file name: text} of etc/prometheus/rules/*.yml, as they are."""
    d = os.path.join(SRCDIR, "etc", "prometheus", "rules")
    out = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".yml"):
            with open(os.path.join(d, name)) as f:
                out[name] = f.read()
    return out


def prometheus_config_from_etc(metrics_port, prom_port, am_port):
    """etc/prometheus/prometheus.yml with this run's ports; the rule files
    are copied beside it (rules_from_etc)."""
    with open(os.path.join(SRCDIR, "etc", "prometheus",
                           "prometheus.yml")) as f:
        cfg = yaml.safe_load(f)
    cfg["rule_files"] = ["inferd-*.yml"]
    cfg["alerting"]["alertmanagers"][0]["static_configs"] = [
        {"targets": ["127.0.0.1:%d" % am_port]}]
    for job in cfg["scrape_configs"]:
        port = {"inferd": metrics_port, "prometheus": prom_port}[
            job["job_name"]]
        job["static_configs"] = [{"targets": ["127.0.0.1:%d" % port]}]
    return cfg


class Demo:
    """The stack and the traffic; a context manager that stops all."""

    def __init__(self, fast=False, say=print, inferd_options=None):
        self.fast = fast
        self.say = say
        self.options = {"max_delay": "5"}
        self.options.update(inferd_options or {})
        self.t0 = time.monotonic()
        self.stack = contextlib.ExitStack()
        self.loads = {}
        self.states = {}        # (alertname, labels) -> state
        self.seen = 0           # webhook messages printed
        self.events = []        # (seconds, "prometheus"|"webhook", name, state)
        self.started = []       # (what, pid)

    # -- life ----------------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        st = self.stack
        ports = {k: (port_or_free(v) if not self.fast else 0)
                 for k, v in PORTS.items()}
        self.hook = st.enter_context(self._webhook(ports["webhook"]))
        if self.fast:
            amcfg = alertmanager_config(self.hook.url)
        else:
            amcfg = alertmanager_config(self.hook.url, group_wait="30s",
                                        group_interval="5m")
        am = Alertmanager(amcfg)
        if ports["alertmanager"]:
            am.port = ports["alertmanager"]
        self.am = st.enter_context(am)
        self.started.append(("Alertmanager", self.am.proc.pid))
        d = QuietInferd(workers=2, options=self.options)
        if ports["inferd"]:
            d.cmd[d.cmd.index("-l") + 1] = "127.0.0.1:%d" % ports["inferd"]
            d.cmd[d.cmd.index("-m") + 1] = "127.0.0.1:%d" % ports["metrics"]
        self.inferd = st.enter_context(d)
        self.started.append(("inferd", d.proc.pid))
        target = "127.0.0.1:%d" % d.metrics_port
        if self.fast:
            prom = Prometheus(prometheus_config([target], alertmanager=self.am),
                              rules=rules_for_test(**FAST_RULES))
        else:
            prom = Prometheus(None, rules=rules_from_etc())
            if ports["prometheus"]:
                prom.port = ports["prometheus"]
            prom.config = prometheus_config_from_etc(
                d.metrics_port, prom.port, self.am.port)
        self.prom = st.enter_context(prom)
        self.started.append(("Prometheus", self.prom.proc.pid))
        return self

    def _webhook(self, port):
        hook = Webhook()
        if port and port != hook.port:
            # The stated port (alertmanager.yml's receiver URL), same
            # handler.
            handler = hook.server.RequestHandlerClass
            hook.server.server_close()
            hook.server = http.server.ThreadingHTTPServer(
                ("127.0.0.1", port), handler)
            hook.port = port
            hook.url = "http://127.0.0.1:%d/alerts" % port
        return hook

    def stop(self):
        for name in list(self.loads):
            self.unload(name)
        self.stack.close()

    # -- what to look at -----------------------------------------------------
    def urls(self):
        prom, am, d = self.prom.url, self.am.url, self.inferd
        graph = urllib.parse.urlencode({
            "g0.expr": P95_QUERY, "g0.tab": "0", "g0.range_input": "15m"})
        return [
            ("inferd predictions", "http://127.0.0.1:%d/predict" % d.port),
            ("inferd metrics", "http://127.0.0.1:%d/metrics" %
             d.metrics_port),
            ("Prometheus targets", prom + "/classic/targets"),
            ("p95 graph", prom + "/classic/graph?" + graph),
            ("Prometheus alerts", prom + "/classic/alerts"),
            # Debian's package has no web UI: its API lists the alerts.
            ("Alertmanager", am + "/api/v2/alerts?active=true"),
            ("webhook receiver", self.hook.url),
        ]

    # -- traffic -------------------------------------------------------------
    def load(self, name, delay, connections):
        """Start (or replace) the load called name: wrk on delay.lua."""
        self.unload(name)
        w = Wrk(self.inferd.port, "delay.lua", args=[str(delay)],
                connections=connections, threads=min(2, connections),
                duration=3600).start()
        self.loads[name] = w
        self.started.append(("wrk (%s)" % name, w.proc.pid))
        self.say("%s load: %d connections of GET /predict?delay=%s" %
                 (self.stamp(), connections, delay))
        return w

    def unload(self, name):
        """Stop the load called name; return wrk's summary."""
        w = self.loads.pop(name, None)
        return w.stop() if w is not None else ""

    # -- watching ------------------------------------------------------------
    def stamp(self):
        return "[%4.0fs]" % (time.monotonic() - self.t0)

    def poll(self):
        """Print the alert state changes and the notifications since the
        last call."""
        now = {}
        for a in self.prom.alerts():
            labels = dict(a["labels"])
            key = (labels.pop("alertname"), tuple(sorted(labels.items())))
            now[key] = a["state"]
        for key in sorted(set(now) | set(self.states)):
            old, new = self.states.get(key), now.get(key, "inactive")
            if new != (old or "inactive"):
                name, labels = key
                inst = dict(labels).get("instance")
                self.say("%s Prometheus: %s%s %s" % (
                    self.stamp(), name, " (%s)" % inst if inst else "", new))
                self.events.append((time.monotonic() - self.t0, "prometheus",
                                    name, new))
        self.states = {k: v for k, v in now.items()}
        with self.hook._lock:
            msgs = self.hook.messages[self.seen:]
            self.seen = len(self.hook.messages)
        for _, msg in msgs:
            for a in msg.get("alerts", []):
                self.say("%s webhook: %s %s (severity %s): %s" % (
                    self.stamp(), a["labels"]["alertname"], a["status"],
                    a["labels"].get("severity", "-"),
                    a["annotations"].get("summary", "")))
                self.events.append((time.monotonic() - self.t0, "webhook",
                                    a["labels"]["alertname"], a["status"]))

    def notified(self, name, status, since=0.0):
        return [e for e in self.events if e[1] == "webhook" and
                e[2] == name and e[3] == status and e[0] >= since]

    def state(self, name):
        """The state of the label-less-instance alert name."""
        st = [s for (n, _), s in self.states.items() if n == name]
        return st[0] if st else "inactive"

    def wait(self, what, fn, timeout, interval=1.0):
        """poll() until fn() is true; return fn()'s value or fail."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("%s: not seen in %d s" % (what, timeout))
            time.sleep(interval)

    def p95(self):
        v = self.prom.value(P95_QUERY if not self.fast else
                            P95_QUERY.replace("[5m]", "[30s]"))
        return v

    # -- the story -------------------------------------------------------------
    def normal(self):
        self.load("normal", *NORMAL)

    def incident(self, timeout):
        """Add slow traffic until the p95 alert's firing notification."""
        t = time.monotonic() - self.t0
        self.load("slow", *SLOW)
        self.wait("%s firing notification" % P95,
                  lambda: self.notified(P95, "firing", t), timeout)

    def recovery(self, timeout):
        """Stop the slow traffic, send fast requests at full speed until
        the p95 alert's resolved notification."""
        t = time.monotonic() - self.t0
        self.unload("slow")
        self.load("normal", 0, 4)
        self.wait("%s resolved notification" % P95,
                  lambda: self.notified(P95, "resolved", t), timeout)
        self.load("normal", *NORMAL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fast", action="store_true",
                    help="the tests' timings (seconds instead of minutes)")
    ap.add_argument("--no-recovery", action="store_true",
                    help="keep the slow traffic on after the alert fires")
    args = ap.parse_args()
    # SIGTERM as Ctrl-C: stop everything started.
    def interrupt(signo, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    demo = Demo(fast=args.fast)
    try:
        with demo:
            print("inferd demo: everything runs on 127.0.0.1; open in a "
                  "browser:")
            for what, url in demo.urls():
                print("  %-20s %s" % (what, url))
            print("Ctrl-C stops it all.\n")
            demo.normal()
            demo.wait("normal traffic scraped", lambda: demo.prom.value(
                'up{job="inferd"}') == 1, 120)
            time.sleep(5 if args.fast else 30)
            print("%s incident: slow requests join the fast ones; the p95 "
                  "alert fires in about %s" % (
                      demo.stamp(), "30 s" if args.fast else "3 minutes"))
            demo.incident(120 if args.fast else 900)
            print("%s p95 = %.2f s: the alert fired and Alertmanager "
                  "notified the webhook" % (demo.stamp(), demo.p95()))
            if not args.no_recovery:
                print("%s recovery: slow requests stop; resolved in about "
                      "%s" % (demo.stamp(), "30 s" if args.fast else
                              "5 minutes (Alertmanager's group_interval)"))
                demo.recovery(120 if args.fast else 900)
            print("%s done; still running for you to look at. Ctrl-C "
                  "stops it." % demo.stamp())
            while True:
                demo.poll()
                time.sleep(2)
    except KeyboardInterrupt:
        print()
    except TimeoutError as e:
        print("demo: %s" % e, file=sys.stderr)
        return 1
    finally:
        demo.stop()
        print("stopped all the demo started: %s" % ", ".join(
            "%s (pid %d)" % s for s in demo.started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
