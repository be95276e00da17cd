"""Start a real inferd on free loopback ports and talk to it.

    from harness import Inferd
    with Inferd(workers=2, options={"max_delay": "5"}) as d:
        st, hdrs, body = d.request("GET", "/predict")
        d.sample("prediction_latency_seconds_count")

On exit the daemon gets SIGTERM; the harness asserts that it exits 0 and
leaves no /dev/shm segment and no worker process behind.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile as _tempfile
import threading
import time

# The tests are plain asserts: with PYTHONOPTIMIZE (python -O) every one
# of them would vanish and a broken inferd would pass.  Refuse to run.
try:
    assert False
except AssertionError:
    pass
else:
    sys.stderr.write("harness: Python runs with asserts disabled "
                     "(PYTHONOPTIMIZE or -O); the tests would check "
                     "nothing. Unset PYTHONOPTIMIZE.\n")
    print("Bail out! asserts disabled (PYTHONOPTIMIZE)")
    sys.stdout.flush()
    sys.exit(99)

BIN = os.environ.get("INFERD_BIN", "src/inferd")
SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
MODEL = os.path.join(SRCDIR, "models", "breast_cancer.json")

# Sanitizer reports, and libevent's own warnings (through inferd's log).
_SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|"
                        r"^\[(warn|err)\] |: libevent: ")
_LISTEN = re.compile(r"(http|metrics) listening on (\S+):(\d+)$")


def public_copy(*paths):
    """Copies of paths in a fresh directory that every user may read (and
    execute), removed at exit: for a test that runs inferd as another user
    (nobody), who cannot reach a build or source tree under a private home
    such as /root."""
    d = _tempfile.mkdtemp(prefix="inferd-public.")
    os.chmod(d, 0o755)
    atexit.register(shutil.rmtree, d, True)
    out = []
    for p in paths:
        q = os.path.join(d, os.path.basename(p))
        shutil.copy(p, q)
        os.chmod(q, 0o755 if os.access(p, os.X_OK) else 0o644)
        out.append(q)
    return out


def free_port():
    """A loopback TCP port that was free a moment ago (for a server that
    cannot take port 0 and say which it got, as inferd does)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(port, method, path, body=None, headers=None, timeout=30):
    """One request to 127.0.0.1:port on a new connection: (status,
    {lower-case header: value}, body bytes).  A dict or list body is sent
    as JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {},
                           **{"Content-Type": "application/json"})
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in
                             resp.getheaders()}, data
    finally:
        conn.close()


def variant_model(dst, base_score):
    """A copy of the bundled model (same trees and name) with another
    base_score, so that every prediction differs from the original's: a
    reload that kept the old model shows in the answers."""
    with open(MODEL) as f:
        m = json.load(f)
    m["learner"]["learner_model_param"]["base_score"] = repr(base_score)
    with open(dst + ".new", "w") as f:
        json.dump(m, f)
    os.replace(dst + ".new", dst)
    return dst


class Inferd:
    """A running inferd.  Its stderr is collected in self.log."""

    def __init__(self, workers=2, model=MODEL, options=None, args=(),
                 config=None, start_timeout=20, env=None, prefix=(),
                 binary=None, echo=True):
        self.cmd = list(prefix) + [binary or BIN, "-l", "127.0.0.1:0",
                                   "-m", "127.0.0.1:0", "-w", str(workers)]
        if model is not None:       # None: the configuration's model
            self.cmd += ["--model", model]
        # No -c: --no-config, so that a configuration installed on this
        # machine ($(sysconfdir)/inferd/inferd.conf) cannot change a test.
        self.cmd += ["-c", config] if config is not None else ["--no-config"]
        for k, v in (options or {}).items():
            self.cmd += ["-o", "%s=%s" % (k, v)]
        self.cmd += list(args)
        self.start_timeout = start_timeout
        self.echo = echo            # copy inferd's output to stderr
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = self.metrics_port = None
        self.lines = []
        self._cond = threading.Condition()

    # -- process -----------------------------------------------------------
    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=self.env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_log(r"ready: ", self.start_timeout)
        for line in self.lines:
            m = _LISTEN.search(line)
            if m:
                port = int(m.group(3))
                if m.group(1) == "http":
                    self.port = port
                else:
                    self.metrics_port = port
        assert self.port and self.metrics_port, self.log
        return self

    def _read(self):
        for line in self.proc.stdout:
            if self.echo:
                sys.stderr.write("  | " + line)
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def log(self):
        with self._cond:
            return "\n".join(self.lines)

    def wait_log(self, pattern, timeout=10, start=0):
        """Wait for a log line matching pattern (after line start)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and
                                 not self._reader.is_alive()):
                    raise AssertionError("no log line /%s/ in:\n%s" %
                                         (pattern, "\n".join(self.lines)))
                self._cond.wait(min(left, 0.2))

    def worker_pids(self):
        """Pids of the master's children (its workers)."""
        path = "/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)
        with open(path) as f:
            return [int(p) for p in f.read().split()]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal the master, wait for it; return its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        children = self.worker_pids()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("inferd did not stop within %ss" % timeout)
        self._reader.join(5)
        for pid in children:
            assert not _alive(pid), "worker %d outlived the master" % pid
        return rc

    def kill(self):
        """SIGKILL the master and its workers; remove its segment."""
        if self.proc and self.proc.poll() is None:
            for pid in self.worker_pids():
                _kill(pid)
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            for path in segments_of(self.proc.pid):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.kill()
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.kill()
            return False
        pid = self.proc.pid
        rc = self.stop()
        assert rc == 0, "inferd exited with status %r\n%s" % (rc, self.log)
        for line in self.lines:
            assert not _SANITIZER.search(line), \
                "sanitizer or libevent report in inferd's output:\n" + self.log
        assert not segments_of(pid), \
            "shared memory left behind: %s" % segments_of(pid)
        return False

    # -- HTTP --------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, port=None,
                timeout=30):
        """One request on a new connection: (status, headers, body)."""
        return http_request(port or self.port, method, path, body, headers,
                            timeout)

    def json(self, method, path, body=None, headers=None):
        """A request whose answer must be JSON: (status, decoded body)."""
        st, hdrs, data = self.request(method, path, body, headers)
        assert hdrs.get("content-type", "").startswith("application/json"), \
            (st, hdrs, data)
        return st, json.loads(data)

    def metrics(self, accept=None):
        st, hdrs, data = self.request(
            "GET", "/metrics", port=self.metrics_port,
            headers={"Accept": accept} if accept else None)
        assert st == 200, (st, data)
        return data.decode()

    def samples(self, text=None):
        """{(name, frozenset(labels.items())): value} of a text scrape."""
        out = {}
        for line in (text or self.metrics()).splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$',
                         line)
            assert m, "bad sample line %r" % line
            labels = dict(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"',
                                     m.group(3) or ""))
            out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
        return out

    def sample(self, name, text=None, **labels):
        """The value of one sample; a missing series is a failure (a check
        such as == 0 must not pass because the series vanished)."""
        text = text if text is not None else self.metrics()
        key = (name, frozenset(labels.items()))
        s = self.samples(text)
        if key not in s:
            raise AssertionError("no sample %s%s in the scrape:\n%s" % (
                name, _labels(labels), text))
        return s[key]

    def count(self, name, text=None, **labels):
        """A counter whose labelled series appears at its first event
        (handler and code, reload failures): 0 while the series is absent,
        but its family must be declared (# TYPE) in the scrape."""
        text = text if text is not None else self.metrics()
        key = (name, frozenset(labels.items()))
        s = self.samples(text)
        if key in s:
            return s[key]
        family = re.sub(r"_(total|count|sum|bucket)$", "", name)
        if not re.search(r"^# TYPE (%s|%s) " % (re.escape(name),
                                                 re.escape(family)),
                         text, re.M):
            raise AssertionError("no metric family %s in the scrape:\n%s"
                                 % (name, text))
        return 0.0


def _labels(labels):
    return "{%s}" % ",".join('%s="%s"' % kv for kv in sorted(
        labels.items())) if labels else ""


def segments_of(pid):
    """The names in /dev/shm of master pid's segments (none while it
    runs: it unlinks its segment as soon as it is mapped)."""
    import glob
    # inferd names its segment inferd.<pid>.<random>; a bare inferd.<pid>
    # is some other program's (an older inferd's, whose pid this master
    # happens to reuse), not this master's.
    return glob.glob("/dev/shm/inferd.%d.*" % pid)


def mapped_segment(pid):
    """(path in /proc/PID/maps, /proc/PID/map_files/RANGE) of the shared
    segment process pid maps, or None."""
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and "/dev/shm/inferd." in parts[5]:
                return (parts[5].strip(),
                        "/proc/%d/map_files/%s" % (pid, parts[0]))
    return None


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def note(msg):
    """Print msg as TAP diagnostics, one "# " line per line, at once.

    make check shows these lines as the test runs (tap-driver --comments):
    a long test says what it is doing or waiting for.
    """
    for line in str(msg).splitlines() or [""]:
        print(("# " + line).rstrip())
    sys.stdout.flush()


class Skip(Exception):
    """Raised by a test that cannot run here; reported as a TAP skip."""


def run(tests):
    """Run test functions in order as a TAP producer; exit 1 on failure.

    Prints the plan (1..N) first, then "ok N - name" or "not ok N - name"
    for each.  A failure's traceback goes to stderr (the test's log) and
    its first line to stdout as a diagnostic.  A crash before the end
    leaves the plan unfulfilled, which the TAP driver reports as an error.
    """
    # INFERD_TEST_ONLY="test_x.py:test_a test_x.py:test_b ...": of this
    # file, run only those (tests/mutate runs the cases that catch a bug).
    me = os.path.basename(sys.argv[0])
    only = {c for f, _, c in (w.partition(":") for w in
                              os.environ.get("INFERD_TEST_ONLY", "").split())
            if f == me and c}
    if only:
        unknown = only - {t.__name__ for t in tests}
        assert not unknown, "INFERD_TEST_ONLY: no test %s in %s" % (
            ", ".join(sorted(unknown)), me)
        tests = [t for t in tests if t.__name__ in only]
    print("1..%d" % len(tests))
    sys.stdout.flush()
    failed = 0
    for n, t in enumerate(tests, 1):
        t0 = time.monotonic()
        try:
            t()
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (n, t.__name__, e))
        except Exception as e:
            import traceback
            sys.stderr.write(traceback.format_exc())
            sys.stderr.flush()
            where = traceback.extract_tb(e.__traceback__)[-1]
            first = (str(e).splitlines() or [where.line])[0]
            print("not ok %d - %s" % (n, t.__name__))
            note("%s:%d: %s: %s" % (os.path.basename(where.filename),
                                    where.lineno, type(e).__name__, first))
            failed += 1
        else:
            print("ok %d - %s (%.1fs)" % (n, t.__name__,
                                         time.monotonic() - t0))
        sys.stdout.flush()
    sys.exit(1 if failed else 0)
