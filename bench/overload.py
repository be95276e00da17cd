#!/usr/bin/python3
"""bench/overload.py: inferd under overload and head-of-line load (a
section of `make bench`; also runs alone).  Reports, asserts nothing.

1. Overload.  A 500-tree model (tests/lib/gen_models.py), its trees
   repeated BENCH_OVERLOAD_TREE_COPIES times (10: 5,000 trees), and POST
   /predict batches of BENCH_OVERLOAD_ROWS rows (1,000): heavy enough
   that 3x capacity is a few dozen requests a second, which a Python
   generator offers from the same two cores without taking the server's
   CPU (with 100-row batches on 500 trees, 3x is 4,000 a second here, and
   the generator itself starved the server).  Capacity is measured
   first: wrk, closed loop, 16 connections, admission off.  Then an
   open-loop generator (asyncio, below: requests at evenly spaced times,
   each on its own connection whatever the earlier ones do, latency counted
   from the scheduled time) offers 0.5x, 1x, 1.5x and 3x that rate, with
   admission on and off, one inferd (2 workers) per setting.  For each:
   served (200) p50/p95/p99, the shed fraction (503), goodput (200s per
   second of the run until the last answer) against capacity.  Drawn into
   doc/overload.png.  (hey -q is not open-loop: its workers start together
   and send in synchronized bursts; httperf reports no percentiles.)
2. Head of line.  An innocent client makes a fresh-connection GET /predict
   every 50 ms while 64 connections post 1,000-row batches (the bundled
   30-feature model), and while 64 connections post 1 MiB bodies of empty
   objects that are refused; with worker_threads 0 (everything on the
   loop, as before) and at the defaults.  Innocent p50/p95/max, and the
   heavy clients' throughput.

Run from the build directory:
    /usr/bin/python3 SRCDIR/bench/overload.py [OUT.json]
Environment: BENCH_OVERLOAD_SECONDS (8, per offered load),
BENCH_OVERLOAD_TREE_COPIES (10), BENCH_OVERLOAD_ROWS (1000),
BENCH_HOL_SECONDS (5), INFERD_BIN
(src/inferd), OVERLOAD_PNG (SRCDIR/doc/overload.png).
"""

import csv
import io
import json
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

SECONDS = float(os.environ.get("BENCH_OVERLOAD_SECONDS", "8"))
HOL_SECONDS = float(os.environ.get("BENCH_HOL_SECONDS", "5"))
PNG = os.environ.get("OVERLOAD_PNG", os.path.join(SRCDIR, "doc",
                                                  "overload.png"))
MULTS = (0.5, 1.0, 1.5, 3.0)
TREE_COPIES = int(os.environ.get("BENCH_OVERLOAD_TREE_COPIES", "10"))
ROWS = int(os.environ.get("BENCH_OVERLOAD_ROWS", "1000"))
MODEL = os.path.join(SRCDIR, "models", "breast_cancer.json")


def say(*a):
    print(*a, flush=True)


def model_500(tmp):
    """A 500-tree, 30-feature XGBoost model (depth 6), built once and kept
    under bench/results/ in the build directory; then the same trees
    TREE_COPIES times (slo_load.many_trees), so that 3x capacity stays
    within what the generator offers from the same 2 cores."""
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


def capacity(model, body):
    """Closed-loop requests/s with wrk: 4 connections (the 2 workers' 4
    threads busy, nothing queued long enough to reach wrk's timeout),
    admission off."""
    with Inferd(workers=2, model=model, options={"admission": "off"},
                start_timeout=300) as d:
        argv = ["wrk", "-t1", "-c4", "-d%ds" % max(4, SECONDS),
                "--timeout", "30s",
                "-s", os.path.join(SRCDIR, "bench", "post.lua"),
                "http://127.0.0.1:%d" % d.port, "--", body]
        say("  $ " + " ".join(argv))
        out = subprocess.run(argv, capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s*(\S+)", out).group(1))


async def _one(port, req, t_sched, out):
    """One request on a fresh connection; appends (status, latency from its
    scheduled time) to out."""
    import asyncio
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(req)
        head = await r.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
        if m:
            await r.readexactly(int(m.group(1)))
        out.append((status, time.monotonic() - t_sched))
        w.close()
    except (OSError, ValueError, asyncio.IncompleteReadError):
        out.append(("error", time.monotonic() - t_sched))


async def _open_loop(port, body, rate, seconds):
    """Requests at evenly spaced times, rate per second, each on its own
    connection whatever the earlier ones are doing (open loop); latency is
    measured from the scheduled time, so a late start counts."""
    import asyncio
    req = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
           b"application/json\r\nConnection: close\r\nContent-Length: "
           b"%d\r\n\r\n" % len(body)) + body
    out, tasks = [], []
    t0 = time.monotonic()
    n = int(rate * seconds)
    for i in range(n):
        t = t0 + i / rate
        d = t - time.monotonic()
        if d > 0:
            await asyncio.sleep(d)
        tasks.append(asyncio.ensure_future(_one(port, req, t, out)))
    await asyncio.wait(tasks, timeout=60)
    return out, time.monotonic() - t0


def offer(d, body, rate):
    """The open-loop generator at rate requests/s for SECONDS against the
    running inferd d (after a pause for the last run's queues to drain)."""
    import asyncio
    with open(body, "rb") as f:
        data = f.read()
    time.sleep(2)
    before = d.samples()
    t0 = time.monotonic()
    res, span = asyncio.run(_open_loop(d.port, data, rate, SECONDS))
    wall = time.monotonic() - t0
    after = d.samples()

    def delta(name, **labels):
        k = (name, frozenset(labels.items()))
        return after.get(k, 0.0) - before.get(k, 0.0)
    hist = {"count": delta("prediction_latency_seconds_count")}
    for reason in ("queue", "wait"):
        hist["shed_" + reason] = delta("inferd_requests_shed_total",
                                       reason=reason)
    lat = [t for s, t in res if s == 200]
    codes = {}
    for s, _ in res:
        codes[str(s)] = codes.get(str(s), 0) + 1
    n = len(res)
    return {"rate": rate, "sent": n, "achieved_rate": n / SECONDS,
            "codes": codes, "p50": L.percentile(lat, .5),
            "p95": L.percentile(lat, .95), "p99": L.percentile(lat, .99),
            "shed_fraction": codes.get("503", 0) / n if n else 0.0,
            "goodput": len(lat) / max(span, SECONDS), "span": span,
            "wall": wall, "server": hist}


def overload(tmp):
    model = model_500(tmp)
    body = os.path.join(tmp, "rows100.json")
    with open(body, "wb") as f:
        f.write(L.rows_body(ROWS, 30))
    say("== overload: %d-row batches, %d trees (a 500-tree model x %d), "
        "2 workers" % (ROWS, 500 * TREE_COPIES, TREE_COPIES))
    cap = capacity(model, body)
    say("  capacity (closed loop, admission off): %.1f requests/s" % cap)
    res = {"capacity": cap, "model": os.path.basename(model), "rows": ROWS,
           "runs": []}
    say("  %-9s %-5s %8s %8s %8s %8s %8s %6s %9s %7s" % (
        "admission", "load", "offered", "sent/s", "p50 ms", "p95 ms",
        "p99 ms", "shed", "goodput/s", "of cap"))
    for adm in ("on", "off"):
        with Inferd(workers=2, model=model, options={"admission": adm},
                    start_timeout=300) as d:
            for m in MULTS:
                r = offer(d, body, m * cap)
                r.update(admission=adm, mult=m)
                res["runs"].append(r)
                say("  %-9s %-5s %8.0f %8.0f %8.1f %8.1f %8.1f %5.1f%% "
                    "%9.0f %6.0f%%" % (
                        adm, "%gx" % m, r["rate"], r["achieved_rate"],
                        1e3 * r["p50"], 1e3 * r["p95"], 1e3 * r["p99"],
                        100 * r["shed_fraction"], r["goodput"],
                        100 * r["goodput"] / cap))
    return res


def hol():
    """Innocent GET /predict under heavy and refused bodies, before (all
    on the loop) and after (defaults)."""
    say("\n== head of line: innocent fresh-connection GET /predict every "
        "50 ms, 2 workers, bundled model")
    out = []
    batch = L.rows_body(1000, 30)
    refused = L.refused_body()
    say("  %-22s %-26s %8s %8s %8s %12s" % (
        "load (64 connections)", "inferd", "p50 ms", "p95 ms", "max ms",
        "heavy req/s"))
    for kind, body in (("1000-row batches", batch),
                       ("1 MiB refused bodies", refused)):
        for label, opts in (("worker_threads 0", {"worker_threads": "0",
                                                  "admission": "off"}),
                            ("defaults", {})):
            with Inferd(workers=2, model=MODEL, options=opts) as d:
                h = L.Heavy(d.port, "/predict", body, 64).start()
                time.sleep(0.5)
                lat = L.probe(d.port, 0.05, HOL_SECONDS)
                r = h.stop()
            thr = sum(v for k, v in r["codes"].items()
                      if k != "error") / r["seconds"]
            row = {"load": kind, "inferd": label,
                   "p50": L.percentile(lat, .5),
                   "p95": L.percentile(lat, .95), "max": max(lat),
                   "probes": len(lat), "heavy_codes": r["codes"],
                   "heavy_rate": thr, "heavy_ok_rate": r["ok"] / r["seconds"]}
            out.append(row)
            say("  %-22s %-26s %8.1f %8.1f %8.1f %12.1f  %s" % (
                kind, label, 1e3 * row["p50"], 1e3 * row["p95"],
                1e3 * row["max"], thr, r["codes"]))
    return out


def plot(res, path):
    """Served p95 and goodput against offered load, admission on and off."""
    code = r'''
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
res = json.load(open(sys.argv[1]))
cap = res["capacity"]
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
for adm, style in (("on", "o-"), ("off", "s--")):
    runs = [r for r in res["runs"] if r["admission"] == adm]
    x = [r["mult"] for r in runs]
    a.plot(x, [1e3 * r["p95"] for r in runs], style,
           label="admission " + adm)
    b.plot(x, [100 * r["goodput"] / cap for r in runs], style,
           label="admission " + adm)
a.axhline(250, color="red", lw=0.8, ls=":", label="250 ms (SLO / 4)")
a.set_yscale("log")
a.set_xlabel("offered load (x capacity)")
a.set_ylabel("served p95 (ms)")
a.set_title("Served p95")
a.legend()
b.axhline(90, color="red", lw=0.8, ls=":", label="90 % of capacity")
b.set_xlabel("offered load (x capacity)")
b.set_ylabel("goodput (% of capacity)")
b.set_title("Goodput (200s per second)")
b.set_ylim(0, 120)
b.legend()
fig.suptitle("inferd, 2 workers, %d-row batches on %s "
             "(capacity %.0f req/s)" % (res["rows"], res["model"], cap))
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
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            say("overload: %s not found (Debian package %s); skipped"
                % (tool, tool))
            return 0
    tmp = tempfile.mkdtemp(prefix="inferd-overload.")
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "loadavg_before": open("/proc/loadavg").read().split()[:3]}
    try:
        result["overload"] = overload(tmp)
        try:
            plot(result["overload"], PNG)
        except (OSError, subprocess.CalledProcessError) as e:
            say("  no plot (python3-matplotlib?): %s" % e)
        result["head_of_line"] = hol()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
