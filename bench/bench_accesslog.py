#!/usr/bin/env python3
"""The cost of the access log: CPU per request with access_log on and off.

Starts inferd twice on free loopback ports, with access_log = off and with
access_log = FILE (default buffer and flush), and runs wrk against each in
alternating rounds, in ABBA order (GET /predict, then POST /predict of one row with
contrib/wrk/post.lua), measuring the server's CPU (utime + stime of the
master and its workers, /proc) per request.  It prints each round, the
median ratio on/off per request kind, and checks that the log has one
line per request.  Self-contained: `make bench` runs it after bench/run;
another script may import it and call main(argv).  Not part of make check;
it reports, it does not assert (the target is a ratio of at most 1.15).

    cd BUILDDIR && python3 SRCDIR/bench/bench_accesslog.py \\
        [--workers 2] [--seconds 5] [--rounds 3] [--connections 32]

Environment: INFERD_BIN (./src/inferd), INFERD_SRCDIR (the script's
parent), WRK (wrk).
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HZ = os.sysconf("SC_CLK_TCK")
SRCDIR = os.environ.get("INFERD_SRCDIR",
                        os.path.dirname(os.path.dirname(
                            os.path.abspath(__file__))))
TARGET = 1.15


def ticks(pid):
    """CPU clock ticks (user + system) of pid and its live children."""
    def stat(p):
        try:
            with open("/proc/%d/stat" % p) as f:
                return f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
    st = stat(pid)
    if st is None:
        return 0
    total = int(st[11]) + int(st[12])
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    for k in kids:
        cs = stat(k)
        if cs is not None:
            total += int(cs[11]) + int(cs[12])
    return total


class Daemon:
    """inferd on free ports; its stderr in a file."""

    def __init__(self, binary, workers, options, tmp, name):
        self.errpath = os.path.join(tmp, name + ".stderr")
        argv = [binary, "-l", "127.0.0.1:0", "-m", "127.0.0.1:0",
                "-w", str(workers), "--no-config", "--model",
                os.path.join(SRCDIR, "models", "breast_cancer.json")]
        for k, v in options.items():
            argv += ["-o", "%s=%s" % (k, v)]
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=self.err)
        self.port = None
        deadline = time.monotonic() + 20
        while self.port is None:
            with open(self.errpath) as f:
                text = f.read()
            m = re.search(r"http listening on \S+:(\d+)$", text, re.M)
            if m and "ready:" in text:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None or \
                    time.monotonic() > deadline:
                sys.exit("bench_accesslog: inferd did not start:\n" + text)
            else:
                time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def load(wrk, d, script, seconds, conns):
    """One wrk run: (requests, server CPU us per request)."""
    argv = [wrk, "-t1", "-c%d" % conns, "-d%gs" % seconds, "-s",
            os.path.join(SRCDIR, "contrib", "wrk", script),
            "http://127.0.0.1:%d/" % d.port]
    t0 = ticks(d.proc.pid)
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    t = ticks(d.proc.pid) - t0
    m = re.search(r"(\d+) requests in", out)
    if not m:
        sys.exit("bench_accesslog: wrk failed:\n" + out)
    n = int(m.group(1))
    return n, t / HZ * 1e6 / max(n, 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args(argv)
    binary = os.environ.get("INFERD_BIN", "./src/inferd")
    wrk = os.environ.get("WRK", "wrk")
    results = {}
    with tempfile.TemporaryDirectory(prefix="inferd-bench-al.") as tmp:
        log = os.path.join(tmp, "access.log")
        off = Daemon(binary, args.workers, {}, tmp, "off")
        on = Daemon(binary, args.workers, {"access_log": log}, tmp, "on")
        served_on = 0
        try:
            print("bench_accesslog: %d workers, %d connections, %d rounds "
                  "of %g s, server CPU per request" % (
                      args.workers, args.connections, args.rounds,
                      args.seconds))
            for kind, script in (("GET", "predict.lua"),
                                 ("POST", "post.lua")):
                for r in range(args.rounds):
                    # ABBA: neither configuration always runs first, as
                    # the shared machine's load drifts.
                    pair = (("off", off), ("on", on))
                    for name, d in pair if r % 2 == 0 else pair[::-1]:
                        n, us = load(wrk, d, script, args.seconds,
                                     args.connections)
                        if name == "on":
                            served_on += n
                        results.setdefault((kind, name), []).append(us)
                        print("  %-4s round %d  access_log %-3s  %8d "
                              "requests  %6.1f us CPU/req" % (
                                  kind, r + 1, name, n, us))
                        sys.stdout.flush()
        finally:
            off.stop()
            on.stop()
        with open(log, "rb") as f:
            lines = f.read().count(b"\n")
    summary = {}
    for kind in ("GET", "POST"):
        a = statistics.median(results[(kind, "off")])
        b = statistics.median(results[(kind, "on")])
        summary[kind] = {"off_us": round(a, 2), "on_us": round(b, 2),
                         "ratio": round(b / a, 3)}
        print("  %-4s median: off %.1f us, on %.1f us CPU/req: %.3fx "
              "(target <= %.2fx)%s" % (kind, a, b, b / a, TARGET,
                                       "" if b / a <= TARGET else
                                       "  ABOVE TARGET"))
    # wrk counts the responses it read; lines also cover the few it left
    # in flight at its end (answered, or 499).
    print("  access log: %d lines for %d requests wrk counted%s" % (
        lines, served_on, "" if lines >= served_on else "  LINES MISSING"))
    print("bench_accesslog: " + json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
