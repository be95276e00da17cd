#!/usr/bin/python3
"""bench/overload.py: inferd under overload and head-of-line load (a
section of `make bench`; also runs alone).  Reports, asserts nothing.

The load generator is h2load (Debian's nghttp2-client), written in C++
and cheap enough per request to offer several times inferd's capacity
from the same two cores; its --log-file gives each request's status and
duration.  Every inferd here is scraped once a second by two real
Prometheus servers, one with native histograms and one without, and the
p95 each computes from prediction_latency_seconds is set beside the p95
the generators measured for the same requests.

1. Overload.  A 500-tree model (tests/lib/gen_models.py), its trees
   repeated BENCH_OVERLOAD_TREE_COPIES times (10: 5,000 trees), and POST
   /predict batches of BENCH_OVERLOAD_ROWS rows (300).  Capacity first:
   wrk, closed loop, 8 connections, admission off.  Then h2load in rate
   mode, open loop (-r: new connections at a fixed rate whatever the
   earlier ones are doing, one request each) offers 0.5x, 1x, 1.5x and 3x
   that rate, with admission on and off, one inferd (2 workers) per
   setting.  For each: served (200) p50/p95/p99, the shed fraction (503),
   goodput (200s per second, first request to last answer) against
   capacity, and the histogram's p95.  Drawn into doc/overload.png.
2. Head of line.  An innocent client makes a fresh-connection GET /predict
   every 50 ms while h2load keeps 64 connections posting 1,000-row batches
   (the bundled 30-feature model), and while 64 connections post 1 MiB
   bodies of empty objects that are refused (413); with worker_threads 0
   and admission off (everything on the loop, as before) and at the
   defaults.  Innocent p50/p95/max, the heavy connections' throughput, and
   the histogram's p95 against the generators' p95 of the requests the
   histogram observes (200s; a 413 did no inference and is not observed).

Run from the build directory:
    /usr/bin/python3 SRCDIR/bench/overload.py [OUT.json]
Environment: BENCH_OVERLOAD_SECONDS (8, per offered load),
BENCH_OVERLOAD_TREE_COPIES (10), BENCH_OVERLOAD_ROWS (300),
BENCH_HOL_SECONDS (6), BENCH_OVERLOAD_PARTS (overload,hol: which parts
run), INFERD_BIN (src/inferd), OVERLOAD_PNG (SRCDIR/doc/overload.png).
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRCDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
os.environ.setdefault("INFERD_SRCDIR", SRCDIR)
os.environ.setdefault("INFERD_BIN", os.path.abspath("src/inferd"))

import slo_load as L           # noqa: E402
from harness import Inferd     # noqa: E402
from promstack import (NativePrometheus, Prometheus,  # noqa: E402
                       prometheus_config, wait_for)

SECONDS = float(os.environ.get("BENCH_OVERLOAD_SECONDS", "8"))
HOL_SECONDS = float(os.environ.get("BENCH_HOL_SECONDS", "6"))
PNG = os.environ.get("OVERLOAD_PNG", os.path.join(SRCDIR, "doc",
                                                  "overload.png"))
PARTS = os.environ.get("BENCH_OVERLOAD_PARTS", "overload,hol").split(",")
MULTS = (0.5, 1.0, 1.5, 3.0)
TREE_COPIES = int(os.environ.get("BENCH_OVERLOAD_TREE_COPIES", "10"))
ROWS = int(os.environ.get("BENCH_OVERLOAD_ROWS", "300"))
MODEL = os.path.join(SRCDIR, "models", "breast_cancer.json")
PAUSE = 3.0     # seconds between runs: queues drain, windows stay apart
NATIVE_Q = ("histogram_quantile(0.95, sum(rate("
            "prediction_latency_seconds[%ds] @ %.3f)))")
CLASSIC_Q = ("histogram_quantile(0.95, sum(rate("
             "prediction_latency_seconds_bucket[%ds] @ %.3f)) by (le))")


def say(*a):
    print(*a, flush=True)


def model_500(tmp):
    """A 500-tree, 30-feature XGBoost model (depth 6), built once and kept
    under bench/results/ in the build directory; then the same trees
    TREE_COPIES times (slo_load.many_trees)."""
    keep = os.path.abspath("bench/results/trees500-d6-f30.json")
    if not os.path.exists(keep):
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        code = ("import sys; sys.path.insert(0, %r); import gen_models as g;"
                "c = g.build(%r, 'binary:logistic', depth=6, nfeatures=30, "
                "rounds=500, rows=10, train_rows=3000, name='m'); print(c.path)"
                % (os.path.join(SRCDIR, "tests", "lib"), tmp))
        out = subprocess.run(["/usr/bin/python3", "-c", code], check=True,
                             capture_output=True, text=True).stdout.split()
        shutil.copy(out[-1], keep)
    if TREE_COPIES == 1:
        return keep
    heavy = os.path.join(tmp, "trees%d.json" % (500 * TREE_COPIES))
    L.many_trees(keep, heavy, TREE_COPIES)
    return heavy


class Stack:
    """One inferd (2 workers) and the two Prometheus servers scraping it
    every second: native histograms on and off."""

    def __init__(self, model, options):
        self.d = Inferd(workers=2, model=model, options=options,
                        start_timeout=300)
        self.proms = []

    def __enter__(self):
        self.d.__enter__()
        try:
            cfg = prometheus_config(
                targets=["127.0.0.1:%d" % self.d.metrics_port],
                rule_files=())
            self.native = NativePrometheus(cfg).__enter__()
            self.proms.append(self.native)
            self.classic = Prometheus(cfg).__enter__()
            self.proms.append(self.classic)
            for p in self.proms:
                wait_for("inferd scraped twice", lambda p=p: (p.value(
                    "sum_over_time(up[1m])") or 0) >= 2, 30)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        for p in reversed(self.proms):
            p.__exit__(*exc)
        self.d.__exit__(*exc)

    def p95(self, t0, t1):
        """The p95 each Prometheus computes from the histogram of what was
        observed between wall-clock times t0 and t1 (the window opens in
        the quiet second before t0 and closes two scrapes after t1):
        (native, classic) in seconds, None where it has nothing."""
        end = t1 + 2.2
        while time.time() < end + 0.3:
            time.sleep(0.1)
        rng = int(math.ceil(end - (t0 - 1.0)))
        out = []
        for prom, q in ((self.native, NATIVE_Q), (self.classic, CLASSIC_Q)):
            v = prom.value(q % (rng, end))
            out.append(None if v is None or math.isnan(v) else v)
        return tuple(out)


def h2load(argv, log):
    """Run h2load with --log-file log; ({status: [seconds]}, span seconds
    from the first request's start to the last answer, its summary)."""
    if os.path.exists(log):
        os.unlink(log)
    p = subprocess.run(argv + ["--log-file", log], capture_output=True,
                       text=True)
    lat, first, last = {}, None, None
    with open(log) as f:
        for line in f:
            start, status, dur = line.split("\t")[:3]
            start, dur = int(start) / 1e6, int(dur) / 1e6
            lat.setdefault(status, []).append(dur)
            first = start if first is None else min(first, start)
            last = start + dur if last is None else max(last, start + dur)
    summary = {}
    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, \d+ "
                  r"succeeded, \d+ failed, (\d+) errored, (\d+) timeout",
                  p.stdout)
    if m:
        summary.update(total=int(m.group(1)), done=int(m.group(2)),
                       errored=int(m.group(3)), timeout=int(m.group(4)))
    m = re.search(r"time for connect:\s+(\S+)\s+(\S+)\s+(\S+)", p.stdout)
    if m:
        summary.update(connect_max=m.group(2), connect_mean=m.group(3))
    if not lat and p.returncode != 0:
        raise RuntimeError("h2load failed: %s" % p.stderr.strip())
    return lat, (last - first) if first is not None else 0.0, summary


def rate_args(rate):
    """h2load -r N --rate-period Pms (whole milliseconds only) within 2 %
    of rate connections a second, in the smallest bursts (N) that allow:
    ["-r", N, "--rate-period", "Pms"], and the rate they make."""
    for n in range(1, 1000):
        p = max(1, round(n * 1000.0 / rate))
        if abs(n * 1000.0 / p - rate) <= 0.02 * rate:
            break
    return ["-r", str(n), "--rate-period", "%dms" % p], n * 1000.0 / p


def capacity(model, body):
    """Closed-loop requests/s with wrk: 8 connections (both workers' 4
    threads busy whatever the kernel's SO_REUSEPORT hash does, nothing
    queued long enough to reach wrk's timeout), admission off."""
    with Inferd(workers=2, model=model, options={"admission": "off"},
                start_timeout=300) as d:
        argv = ["wrk", "-t1", "-c8", "-d%ds" % max(4, SECONDS),
                "--timeout", "30s",
                "-s", os.path.join(SRCDIR, "bench", "post.lua"),
                "http://127.0.0.1:%d" % d.port, "--", body]
        say("  $ " + " ".join(argv))
        out = subprocess.run(argv, capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s*(\S+)", out).group(1))


def offer(st, body, rate, tmp):
    """h2load, open loop, at rate new connections (one request each) a
    second for SECONDS against the running stack st."""
    rargs, real = rate_args(rate)
    n = max(1, int(round(real * SECONDS)))
    argv = (["h2load", "--h1", "-d", body, "-H",
             "content-type: application/json"] + rargs +
            ["-c", str(n), "-n", str(n), "-t", "1", "-T", "60",
             "http://127.0.0.1:%d/predict" % st.d.port])
    time.sleep(PAUSE)
    before = st.d.samples()
    t0 = time.time()
    lat, span, summary = h2load(argv, os.path.join(tmp, "h2load.tsv"))
    t1 = time.time()
    after = st.d.samples()
    native, classic = st.p95(t0, t1)

    def delta(name, **labels):
        k = (name, frozenset(labels.items()))
        return after.get(k, 0.0) - before.get(k, 0.0)
    served = sorted(lat.get("200", []))
    sent = sum(len(v) for v in lat.values())
    return {"rate": rate, "offered": real, "argv": argv, "sent": sent,
            "codes": {k: len(v) for k, v in lat.items()},
            "h2load": summary,
            "p50": L.percentile(served, .5), "p95": L.percentile(served, .95),
            "p99": L.percentile(served, .99),
            "shed_fraction": len(lat.get("503", [])) / sent if sent else 0,
            "goodput": len(served) / max(span, SECONDS), "span": span,
            "hist_p95_native": native, "hist_p95_classic": classic,
            "server": {
                "count": delta("prediction_latency_seconds_count"),
                "shed_queue": delta("inferd_requests_shed_total",
                                    reason="queue"),
                "shed_wait": delta("inferd_requests_shed_total",
                                   reason="wait")}}


def ms(v):
    return "-" if v is None else "%.1f" % (1e3 * v)


def ratio(hist, gen):
    return "-" if hist is None or not gen else "%.2f" % (hist / gen)


def overload(tmp):
    model = model_500(tmp)
    body = os.path.join(tmp, "rows.json")
    with open(body, "wb") as f:
        f.write(L.rows_body(ROWS, 30))
    say("== overload: %d-row batches, %d trees (a 500-tree model x %d), "
        "2 workers, h2load open loop (one request per connection)"
        % (ROWS, 500 * TREE_COPIES, TREE_COPIES))
    cap = capacity(model, body)
    say("  capacity (closed loop, admission off): %.1f requests/s" % cap)
    res = {"capacity": cap, "model": os.path.basename(model), "rows": ROWS,
           "runs": []}
    say("  %-4s %-5s %7s %6s %7s %7s %7s %6s %6s %8s %6s %7s %7s %5s" % (
        "adm", "load", "offered", "sent", "p50 ms", "p95 ms", "p99 ms",
        "shed", "503", "goodput", "of cap", "hist95", "classic", "h/g"))
    # Both servers run side by side and take turns at each load, so that
    # the host's drift (a shared machine) falls on both alike.
    with Stack(model, {"admission": "on"}) as on, \
            Stack(model, {"admission": "off"}) as off:
        for m in MULTS:
            for adm, st in (("on", on), ("off", off)):
                r = offer(st, body, m * cap, tmp)
                r.update(admission=adm, mult=m)
                res["runs"].append(r)
                shed = r["server"]["shed_queue"] + r["server"]["shed_wait"]
                say("  %-4s %-5s %7.0f %6d %7.1f %7.1f %7.1f %5.1f%% "
                    "%5.1f%% %8.0f %5.0f%% %7s %7s %5s" % (
                        adm, "%gx" % m, r["offered"], r["sent"],
                        1e3 * r["p50"], 1e3 * r["p95"], 1e3 * r["p99"],
                        100 * shed / max(1, r["sent"]),
                        100 * r["shed_fraction"], r["goodput"],
                        100 * r["goodput"] / cap, ms(r["hist_p95_native"]),
                        ms(r["hist_p95_classic"]),
                        ratio(r["hist_p95_native"], r["p95"])))
                say("       $ %s --log-file F  (%s)" % (
                    " ".join(r["argv"]), ", ".join(
                        "%s %s" % kv for kv in r["h2load"].items())))
    top = [r for r in res["runs"] if r["mult"] == MULTS[-1]]
    for r in top:
        say("  %gx, admission %s: served p95 %.0f ms, goodput %.0f %% of "
            "capacity%s" % (r["mult"], r["admission"], 1e3 * r["p95"],
                            100 * r["goodput"] / cap,
                            " (goals: under 250 ms, 90 %% or more)"
                            if r["admission"] == "on" else ""))
    say("  before (main a58be13): no admission control; as the rows with "
        "admission off")
    return res


def hol_run(st, body, tmp):
    """64 heavy connections (h2load) posting body to st while the innocent
    client probes.  h2load is given a number of requests, not a duration:
    a request cut at the end would reach inferd as one the client gave up
    on, which the histogram observes (status 499) and the log does not.
    A one-second run first sets the number (about HOL_SECONDS of load);
    its own cut requests fall before the measured window.  Returns
    ({status: [seconds]}, (wall-clock start, end), the probe's latencies,
    the h2load command)."""
    url = "http://127.0.0.1:%d/predict" % st.d.port
    base = ["h2load", "--h1", "-d", body, "-H",
            "content-type: application/json", "-c", "64", "-t", "1"]
    log = os.path.join(tmp, "hol.tsv")
    warm, span, _ = h2load(base + ["-D", "1", url], log)
    n = sum(len(v) for v in warm.values()) / max(span, 0.5) * HOL_SECONDS
    argv = base + ["-n", "%d" % max(64, 64 * round(n / 64)), url]
    time.sleep(PAUSE)
    os.unlink(log)
    t0 = time.time()
    p = subprocess.Popen(argv + ["--log-file", log], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    lat = []
    while p.poll() is None:
        lat += L.probe(st.d.port, 0.05, 0.5)
    p.communicate()
    t1 = time.time()
    heavy = {}
    with open(log) as f:
        for line in f:
            _, status, dur = line.split("\t")[:3]
            heavy.setdefault(status, []).append(int(dur) / 1e6)
    return heavy, (t0, t1), lat, argv


def hol(tmp):
    """Innocent GET /predict under heavy and refused bodies, before (all
    on the loop) and after (defaults); the histogram against the clients."""
    say("\n== head of line: innocent fresh-connection GET /predict every "
        "50 ms, 2 workers, bundled model, h2load 64 connections")
    out = []
    bodies = {"1000-row batches": os.path.join(tmp, "rows1000.json"),
              "1 MiB refused bodies": os.path.join(tmp, "refused.json")}
    with open(bodies["1000-row batches"], "wb") as f:
        f.write(L.rows_body(1000, 30))
    with open(bodies["1 MiB refused bodies"], "wb") as f:
        f.write(L.refused_body())
    say("  %-20s %-16s %7s %7s %7s %9s %8s %8s %8s %5s" % (
        "load", "inferd", "p50 ms", "p95 ms", "max ms", "heavy/s",
        "gen p95", "hist95", "classic", "h/g"))
    for kind, body in bodies.items():
        for label, opts in (("worker_threads 0", {"worker_threads": "0",
                                                  "admission": "off"}),
                            ("defaults", {})):
            with Stack(MODEL, opts) as st:
                heavy, seconds, lat, argv = hol_run(st, body, tmp)
                native, classic = st.p95(*seconds)
            seconds = seconds[1] - seconds[0]
            # What the histogram observes: the 200s of both clients (the
            # probe's failures, counted there as 1 s or more, are none).
            seen = sorted(heavy.get("200", []) + [x for x in lat if x < 1])
            gen = L.percentile(seen, .95) if seen else None
            thr = sum(len(v) for v in heavy.values()) / seconds
            row = {"load": kind, "inferd": label, "argv": argv,
                   "p50": L.percentile(lat, .5),
                   "p95": L.percentile(lat, .95), "max": max(lat),
                   "probes": len(lat),
                   "heavy_codes": {k: len(v) for k, v in heavy.items()},
                   "heavy_rate": thr,
                   "heavy_ok_rate": len(heavy.get("200", [])) / seconds,
                   "observed": len(seen), "gen_p95": gen,
                   "hist_p95_native": native, "hist_p95_classic": classic}
            out.append(row)
            say("  %-20s %-16s %7.1f %7.1f %7.1f %9.0f %8s %8s %8s %5s  %s"
                % (kind, label, 1e3 * row["p50"], 1e3 * row["p95"],
                   1e3 * row["max"], thr, ms(gen), ms(native), ms(classic),
                   ratio(native, gen), row["heavy_codes"]))
    say("  heavy: $ %s --log-file F" % " ".join(out[-1]["argv"]))
    say("  goals: innocent p95 at most 50 ms at the defaults; heavy batch "
        "throughput at the defaults at least 80 %% of the loop's: %.0f %%"
        % (100 * out[1]["heavy_ok_rate"] / max(out[0]["heavy_ok_rate"], 1)))
    say("  before (main a58be13, evhttp, everything on the loop; the "
        "issue's figures): innocent p95 322 ms under 64 connections of "
        "1,000-row batches, 7.3 and 10.4 s under 64 connections of refused "
        "1 MiB bodies (249 ms of CPU per refusal)")
    return out


def plot(res, path):
    """Served p95 (and the histogram's) and goodput against offered load,
    admission on and off."""
    code = r'''
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
res = json.load(open(sys.argv[1]))
cap = res["capacity"]
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
for adm, style, color in (("on", "o-", "C0"), ("off", "s--", "C1")):
    runs = [r for r in res["runs"] if r["admission"] == adm]
    x = [r["mult"] for r in runs]
    a.plot(x, [1e3 * r["p95"] for r in runs], style, color=color,
           label="admission %s (h2load)" % adm)
    a.plot(x, [1e3 * (r["hist_p95_native"] or float("nan")) for r in runs],
           "x:", color=color, markersize=10,
           label="admission %s (histogram)" % adm)
    b.plot(x, [100 * r["goodput"] / cap for r in runs], style, color=color,
           label="admission " + adm)
a.axhline(250, color="red", lw=0.8, ls=":", label="250 ms (SLO / 4)")
a.set_yscale("log")
a.set_xlabel("offered load (x capacity)")
a.set_ylabel("served p95 (ms)")
a.set_title("Served p95")
a.legend(fontsize="small")
b.axhline(90, color="red", lw=0.8, ls=":", label="90 % of capacity")
b.set_xlabel("offered load (x capacity)")
b.set_ylabel("goodput (% of capacity)")
b.set_title("Goodput (200s per second)")
b.set_ylim(0, 120)
b.legend(fontsize="small")
fig.suptitle("inferd, 2 workers, %d-row batches on %s "
             "(capacity %.0f req/s), h2load open loop" %
             (res["rows"], res["model"], cap))
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=80)
'''
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(res, f)
        f.flush()
        subprocess.run(["/usr/bin/python3", "-c", code, f.name, path],
                       check=True)
    say("  drawn: " + path)


def main(argv):
    out = argv[1] if len(argv) > 1 else "bench/results/overload.json"
    for tool, pkg in (("wrk", "wrk"), ("h2load", "nghttp2-client"),
                      ("prometheus", "prometheus")):
        if shutil.which(tool) is None:
            say("overload: %s not found (Debian package %s); skipped"
                % (tool, pkg))
            return 0
    tmp = tempfile.mkdtemp(prefix="inferd-overload.")
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "loadavg_before": open("/proc/loadavg").read().split()[:3]}
    try:
        if "overload" in PARTS:
            result["overload"] = overload(tmp)
            try:
                plot(result["overload"], PNG)
            except (OSError, subprocess.CalledProcessError) as e:
                say("  no plot (python3-matplotlib?): %s" % e)
        if "hol" in PARTS:
            result["head_of_line"] = hol(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    hg = [r["hist_p95_native"] / r["p95"] for r in
          result.get("overload", {}).get("runs", [])
          if r["hist_p95_native"] and r["p95"]]
    hg += [r["hist_p95_native"] / r["gen_p95"] for r in
           result.get("head_of_line", []) if r["hist_p95_native"] and
           r["gen_p95"]]
    if hg:
        say("\n  the histogram's p95 (Prometheus, native) over the "
            "generator's: %.2f to %.2f in %d runs (goal: within 20 %%)"
            % (min(hg), max(hg), len(hg)))
    result["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    say("  load average before %s, after %s" % (
        " ".join(result["loadavg_before"]),
        " ".join(result["loadavg_after"])))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    say("results: " + out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
