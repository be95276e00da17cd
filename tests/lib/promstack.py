"""Real Prometheus, Alertmanager, a webhook receiver and wrk for the tests.

    from promstack import Prometheus, Alertmanager, Webhook, Wrk, rules_for_test

Each runner starts the Debian binary on a free loopback port with its data
in a temporary directory, and stops it (SIGTERM, then SIGKILL) on stop() or
on leaving its `with` block; the directory is removed. Used by
tests/integration/test_grafana.py and tests/integration/test_e2e_alert.py.
"""

import glob
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

from harness import note

SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
RULES_DIR = os.path.join(SRCDIR, "etc", "prometheus", "rules")
ALERTMANAGER_YML = os.path.join(SRCDIR, "etc", "alertmanager",
                                "alertmanager.yml")
WRK_DIR = os.path.join(SRCDIR, "contrib", "wrk")
PROGRESS = 10                      # seconds between "still waiting" notes


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, fn, timeout, interval=0.5):
    """Call fn until it returns something true; return that, or fail.

    Every PROGRESS seconds it notes (TAP diagnostics) what it still waits
    for, so that a long test is not silent.
    """
    start = time.monotonic()
    deadline = start + timeout
    next_note = start + PROGRESS
    last = None
    while True:
        try:
            last = fn()
        except (OSError, ValueError, KeyError) as e:
            last = e
        else:
            if last:
                return last
        now = time.monotonic()
        if now >= deadline:
            raise AssertionError("timed out after %ss waiting for %s "
                                 "(last: %r)" % (timeout, what, last))
        if now >= next_note:
            note("still waiting for %s: %.0f s of %s s (last: %.60r)" %
                 (what, now - start, timeout, last))
            next_note += PROGRESS
        time.sleep(interval)


def http_json(url, data=None, timeout=10):
    """GET (or POST form data) url; return the decoded JSON body."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        payload = e.read()
        try:
            return json.loads(payload)
        except ValueError:
            raise AssertionError("%s: HTTP %d %r" % (url, e.code, payload))


class _Process:
    """A child process with a temporary directory and a log file."""

    name = "process"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="inferd-%s." % self.name)
        self.port = free_port()
        self.proc = None
        self.logpath = os.path.join(self.dir, "log")

    def _spawn(self, argv):
        self._logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._logf,
                                     stderr=subprocess.STDOUT)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_ready(self, timeout=30):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s:\n%s" %
                                     (self.name, self.proc.returncode,
                                      self.log))
            try:
                with urllib.request.urlopen(self.url + "/-/ready",
                                            timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for("%s ready" % self.name, ready, timeout, 0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            if self.proc is not None:
                sys.stderr.write("%s log:\n%s\n" % (self.name, self.log))
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stderr.write("%s log (tail):\n%s\n" %
                             (self.name, self.log[-3000:]))
        self.stop()
        return False


class Prometheus(_Process):
    """prometheus with the given configuration (a dict) and rule files.

    rules: {file name: YAML text}, written beside the configuration;
    sd_files: {file name: [targets]} for file_sd_configs, likewise.
    """

    name = "prometheus"
    features = None     # --enable-feature=, in a subclass

    def __init__(self, config, rules=None, sd_files=None):
        super().__init__()
        self.config = config
        self.rules = rules or {}
        self.sd_files = sd_files or {}

    def start(self):
        for fname, text in self.rules.items():
            with open(os.path.join(self.dir, fname), "w") as f:
                f.write(text)
        for fname, targets in self.sd_files.items():
            self.write_sd(fname, targets)
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            yaml.safe_dump(self.config, f)
        self._spawn(["prometheus", "--config.file=" + cfg,
                     "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                     "--web.listen-address=127.0.0.1:%d" % self.port,
                     "--rules.alert.resend-delay=1s",
                     "--log.level=warn"] +
                    (["--enable-feature=" + self.features]
                     if self.features else []))
        self.wait_ready()
        return self

    def write_sd(self, fname, targets):
        """(Re)write a file_sd file atomically."""
        path = os.path.join(self.dir, fname)
        with open(path + ".tmp", "w") as f:
            yaml.safe_dump([{"targets": list(targets)}], f)
        os.rename(path + ".tmp", path)

    def api(self, path, **params):
        """Call /api/v1/PATH; return data, or fail with the error."""
        r = http_json(self.url + "/api/v1/" + path, data=params or None)
        if r.get("status") != "success":
            raise AssertionError("%s %r: %s: %s" % (path, params,
                                 r.get("errorType"), r.get("error")))
        return r["data"]

    def query(self, expr, **params):
        return self.api("query", query=expr, **params)

    def query_range(self, expr, seconds, step):
        end = time.time()
        return self.api("query_range", query=expr, start="%.3f" % (end - seconds),
                        end="%.3f" % end, step=str(step))

    def value(self, expr):
        """The single value of an instant query, or None when empty."""
        res = self.query(expr)["result"]
        if not res:
            return None
        assert len(res) == 1, (expr, res)
        return float(res[0]["value"][1])

    def alerts(self, name=None):
        """Active (pending or firing) alerts, optionally of one name."""
        return [a for a in self.api("alerts")["alerts"]
                if name is None or a["labels"]["alertname"] == name]

    def targets_up(self, job):
        """{instance: health} of the active targets of a job."""
        return {t["labels"]["instance"]: t["health"]
                for t in self.api("targets")["activeTargets"]
                if t["labels"].get("job") == job}


class NativePrometheus(Prometheus):
    """Prometheus with native histograms: it scrapes protobuf, and
    Debian's 2.42 then keeps the native histogram only (no _bucket
    series)."""

    name = "prometheus-native"
    features = "native-histograms"


class Alertmanager(_Process):
    """prometheus-alertmanager with the given configuration (a dict)."""

    name = "alertmanager"

    def __init__(self, config):
        super().__init__()
        self.config = config

    def start(self):
        cfg = os.path.join(self.dir, "alertmanager.yml")
        with open(cfg, "w") as f:
            yaml.safe_dump(self.config, f)
        self._spawn(["prometheus-alertmanager", "--config.file=" + cfg,
                     "--storage.path=" + os.path.join(self.dir, "data"),
                     "--web.listen-address=127.0.0.1:%d" % self.port,
                     "--cluster.listen-address=",
                     "--log.level=warn"])
        self.wait_ready()
        return self


class Webhook:
    """An in-process HTTP server recording Alertmanager's notifications."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                try:
                    msg = json.loads(self.rfile.read(n))
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                with hook._lock:
                    hook.messages.append((time.monotonic(), msg))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, fmt, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/alerts" % self.port
        self._thread = None

    def notifications(self, alertname=None, status=None, since=0):
        """[(time, alert)] of every alert delivered, filtered."""
        with self._lock:
            msgs = list(self.messages)
        return [(t, a) for t, m in msgs if t >= since
                for a in m.get("alerts", [])
                if (alertname is None or a["labels"]["alertname"] == alertname)
                and (status is None or a["status"] == status)]

    def __enter__(self):
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


class Wrk:
    """wrk running one of contrib/wrk/*.lua in the background."""

    def __init__(self, port, script, args=(), connections=10, threads=2,
                 duration=300, timeout=10):
        self.argv = ["wrk", "-t%d" % threads, "-c%d" % connections,
                     "-d%ds" % duration, "--timeout", "%ds" % timeout,
                     "-s", os.path.join(WRK_DIR, script),
                     "http://127.0.0.1:%d/" % port]
        if args:
            self.argv += ["--"] + [str(a) for a in args]
        self.proc = None
        self.output = ""

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        return self

    def stop(self):
        """Stop the load (SIGINT: wrk prints its summary); return it."""
        if self.proc is None:
            return self.output
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.output, _ = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output, _ = self.proc.communicate()
        self.proc = None
        return self.output

    def wait(self, timeout):
        """Wait for a bounded run to end; return its summary."""
        self.output, _ = self.proc.communicate(timeout=timeout)
        rc = self.proc.returncode
        self.proc = None
        assert rc == 0, "wrk exited %d:\n%s" % (rc, self.output)
        return self.output

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def wrk_requests(summary):
    """Number of requests and of non-2xx/3xx answers in a wrk summary."""
    total = bad = 0
    for line in summary.splitlines():
        words = line.split()
        if "requests in" in line:
            total = int(words[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            bad = int(words[-1])
    return total, bad


def load_rules():
    """[(file name, parsed rule file)] of etc/prometheus/rules/*.yml."""
    out = []
    for path in sorted(glob.glob(os.path.join(RULES_DIR, "*.yml"))):
        with open(path) as f:
            out.append((os.path.basename(path), yaml.safe_load(f)))
    assert out, "no rule files in %s" % RULES_DIR
    return out


def rules_for_test(interval="1s", p95_window=None, p95_for=None, down_for=None):
    """{file name: YAML text}: the project's rules with test timings.

    Every group is evaluated every `interval`. The p95 alert keeps its
    expression, with its [5m] window replaced by p95_window and its `for`
    by p95_for; InferdDown's `for` becomes down_for. Nothing else changes.
    """
    out = {}
    for fname, doc in load_rules():
        for g in doc["groups"]:
            g["interval"] = interval
            for r in g["rules"]:
                if r.get("alert") == "PredictionLatencyP95AboveSLO":
                    if p95_window:
                        new = r["expr"].replace("[5m]", "[%s]" % p95_window)
                        assert new != r["expr"], r["expr"]
                        r["expr"] = new
                    if p95_for:
                        r["for"] = p95_for
                elif r.get("alert") == "InferdDown" and down_for:
                    r["for"] = down_for
        out["test-" + fname] = yaml.safe_dump(doc, sort_keys=False)
    return out


def prometheus_config(targets=None, sd_file=None, alertmanager=None,
                      interval="1s", rule_files=("test-*.yml",)):
    """A Prometheus configuration scraping inferd as job "inferd"."""
    job = {"job_name": "inferd", "scrape_interval": interval,
           "scrape_timeout": interval}
    if sd_file:
        job["file_sd_configs"] = [{"files": [sd_file],
                                   "refresh_interval": "1s"}]
    else:
        job["static_configs"] = [{"targets": list(targets)}]
    cfg = {"global": {"scrape_interval": interval,
                      "scrape_timeout": interval,
                      "evaluation_interval": interval},
           "rule_files": list(rule_files),
           "scrape_configs": [job]}
    if alertmanager:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": ["127.0.0.1:%d" % alertmanager.port]}]}]}
    return cfg


def alertmanager_config(webhook_url, group_wait="1s", group_interval="1s"):
    """etc/alertmanager/alertmanager.yml, delivering to webhook_url quickly.

    The routing tree and inhibitions stay as they are; only the webhook
    URLs and the grouping delays change.
    """
    with open(ALERTMANAGER_YML) as f:
        cfg = yaml.safe_load(f)
    cfg["route"]["group_wait"] = group_wait
    cfg["route"]["group_interval"] = group_interval
    n = 0
    for rcv in cfg["receivers"]:
        for wh in rcv.get("webhook_configs", []):
            wh["url"] = webhook_url
            n += 1
    assert n, "no webhook receiver in %s" % ALERTMANAGER_YML
    return cfg
