#!/usr/bin/python3
"""The hostile scenarios at full scale, on demand (not in make check:
each takes a minute or more).  The real inferd on free loopback ports,
bounded in time; it prints the figures and exits 1 when a requirement of
the issue is not met.

    tests/lib/attack.py slowloris   # 2,500 trickling connections for 60 s
    tests/lib/attack.py chaos       # kill -9 every 200 ms for 30 s, with wrk
    tests/lib/attack.py chaos --no-wrk  # the same, exact _count accounting
    tests/lib/attack.py idle        # memory of an idle connection

Run from the build directory (src/inferd), or set INFERD_BIN and
INFERD_SRCDIR as make check does.  -o key=value passes a setting to
inferd; see --help of each scenario for its scale.
"""

import argparse
import errno
import heapq
import http.client
import multiprocessing
import os
import random
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Inferd      # noqa: E402

COUNT = "prediction_latency_seconds_count"


# -- helpers -----------------------------------------------------------------

def raise_nofile():
    """Raise this process's soft file limit to its hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def timed_get(port, path="/predict", timeout=1.0, conn=None):
    """GET on a fresh connection (or conn): (status or None, seconds)."""
    t0 = time.monotonic()
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - t0
    except (OSError, http.client.HTTPException):
        conn.close()
        return None, time.monotonic() - t0
    finally:
        if own:
            conn.close()


def pct(values, p):
    """The p-th percentile (nearest rank) of values; inf for none."""
    if not values:
        return float("inf")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * len(v))) - 1))]


def rss_kb(pid):
    """VmRSS of pid in KiB, 0 when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return 0


class Sampler(threading.Thread):
    """Peak RSS and descriptors of the master and its workers, every
    0.25 s."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d = d
        self.stop = threading.Event()
        self.peak_total = self.peak_worker = self.peak_master = 0
        self.peak_fds = 0

    def run(self):
        while not self.stop.wait(0.25):
            try:
                pids = self.d.worker_pids()
            except FileNotFoundError:
                return
            w = [rss_kb(p) for p in pids]
            m = rss_kb(self.d.proc.pid)
            self.peak_master = max(self.peak_master, m)
            self.peak_worker = max([self.peak_worker] + w)
            self.peak_total = max(self.peak_total, m + sum(w))
            self.peak_fds = max([self.peak_fds] + [nfds(p) for p in pids])


def listen_overflows():
    """The kernel's count of connections dropped because an accept queue
    was full (TcpExt ListenOverflows; for the whole network namespace)."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            d = dict(zip(names.split()[1:], values.split()[1:]))
            return int(d.get("ListenOverflows", 0))
    return 0


def inferd_args(args):
    opts = {}
    for kv in args.option:
        k, _, v = kv.partition("=")
        opts[k] = v
    prefix = ["prlimit", "--nofile=%s" % args.nofile, "--"] \
        if args.nofile else []
    return dict(workers=args.workers, prefix=prefix, options=opts)


# -- slowloris ---------------------------------------------------------------

SLOW_HEAD = b"GET /predict HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 8000


def trickle(port, n, interval, seconds, out):
    """n connections, each sending one byte of a head every interval s for
    seconds; one closed by the server is opened again at once.  Sends
    its figures on the pipe out."""
    raise_nofile()
    sel = selectors.DefaultSelector()
    conns = {}      # socket -> [opened, bytes sent]
    heap = []       # (when, serial, socket): the next byte to send
    serial = 0
    lifetimes = []
    st = dict(failed=0, answered=0, sent=0)

    def connect(when):
        nonlocal serial
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            st["failed"] += 1
            return
        sel.register(s, selectors.EVENT_READ)
        conns[s] = [time.monotonic(), 0]
        serial += 1
        heapq.heappush(heap, (when, serial, s))

    t0 = time.monotonic()
    for i in range(n):
        connect(t0 + interval * i / n)     # spread the bytes over interval
    end = t0 + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        wait = min(0.1, end - now, max(0, heap[0][0] - now) if heap else 1)
        for key, _ in sel.select(wait):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                st["answered"] += 1     # inferd answered a trickle (400?)
                continue
            lifetimes.append(time.monotonic() - conns.pop(s)[0])
            sel.unregister(s)
            s.close()
            connect(time.monotonic())  # the attacker comes back
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, s = heapq.heappop(heap)
            if s not in conns:
                continue
            c = conns[s]
            try:
                if s.send(SLOW_HEAD[c[1]:c[1] + 1]) == 1:
                    c[1] += 1
                    st["sent"] += 1
                when = now + interval
            except (BlockingIOError, InterruptedError):
                when = now + 0.2        # still connecting
            except OSError:
                when = now + 0.2        # its close is seen by select
            serial += 1
            heapq.heappush(heap, (when, serial, s))
    now = time.monotonic()
    still = [now - c[0] for c in conns.values()]
    for s in list(conns):
        sel.unregister(s)
        s.close()
    sel.close()
    st.update(lifetimes=lifetimes, still=still)
    out.send(st)
    out.close()


def slowloris(args):
    raise_nofile()
    with Inferd(**inferd_args(args)) as d:
        print("slowloris: inferd %s; %d connections, a byte each every "
              "%g s, for %g s" % (" ".join(d.cmd), args.conns,
                                  args.interval, args.seconds))
        sys.stdout.flush()
        sampler = Sampler(d)
        sampler.start()
        overflows = listen_overflows()
        rd, wr = multiprocessing.Pipe(False)
        att = multiprocessing.Process(
            target=trickle, args=(d.port, args.conns, args.interval,
                                  args.seconds, wr))
        att.start()
        time.sleep(args.warmup)
        normal = []
        lock = threading.Lock()

        def one():
            r = timed_get(d.port, timeout=args.patience)
            with lock:
                normal.append(r)

        threads = []
        t_next = time.monotonic()
        t_stop = t_next + args.seconds - args.warmup - 1
        while time.monotonic() < t_stop:
            t = threading.Thread(target=one)
            t.start()
            threads.append(t)
            t_next += 1.0
            time.sleep(max(0, t_next - time.monotonic()))
        for t in threads:
            t.join()
        st = rd.recv()
        att.join()
        sampler.stop.set()
        sampler.join()
        peak_fds = sampler.peak_fds
        overflows = listen_overflows() - overflows
    ok_times = [dt for s, dt in normal if s == 200]
    fast = [dt for dt in ok_times if dt <= 2.0]
    lat = [dt if s == 200 else float("inf") for s, dt in normal]
    life = st["lifetimes"]
    print("normal client: %d requests, %d answered (200), %d within 2 s "
          "(%.1f %%); p50 %.3f s, p99 %.3f s, max %.3f s" % (
              len(normal), len(ok_times), len(fast),
              100.0 * len(fast) / max(1, len(normal)), pct(lat, 50),
              pct(lat, 99), max(lat) if lat else 0))
    print("tricklers: %d closed by inferd (open to close, as the client "
          "sees it, backlog wait included: min %.2f s, p50 %.2f s, "
          "p99 %.2f s, max %.2f s); %d still open at the end, the oldest "
          "%.2f s; %d bytes trickled; %d connects failed; %d answers" % (
              len(life), min(life) if life else 0, pct(life, 50),
              pct(life, 99), max(life) if life else 0, len(st["still"]),
              max(st["still"]) if st["still"] else 0, st["sent"],
              st["failed"], st["answered"]))
    print("inferd: peak RSS %.1f MiB (master %.1f MiB, largest worker "
          "%.1f MiB); a worker's peak descriptors %d; connections the "
          "kernel dropped on a full accept queue: %d (ListenOverflows, "
          "whole namespace)" % (
              sampler.peak_total / 1024.0, sampler.peak_master / 1024.0,
              sampler.peak_worker / 1024.0, peak_fds, overflows))
    ht = float(inferd_args(args)["options"].get("header_timeout", 10))
    fails = []
    if len(fast) < 0.95 * len(normal) or not normal:
        fails.append("fewer than 95 % of normal requests within 2 s")
    if not life:
        fails.append("inferd closed no trickling connection")
    if st["still"] and max(st["still"]) > 2 * ht + 5:
        fails.append("tricklers held open for more than 2 x header_timeout")
    return fails


# -- chaos -------------------------------------------------------------------

def check_monotonic(prev, cur):
    """The counters of scrape cur that are below those of prev."""
    bad = []
    for key, v in prev.items():
        if key[0].endswith(("_total", "_count", "_sum", "_bucket")) and \
                cur.get(key, 0) < v:
            bad.append((key, v, cur.get(key)))
    return bad


def chaos(args):
    use_wrk = args.wrk
    with Inferd(**inferd_args(args)) as d:
        print("chaos: inferd %s; kill -9 of a random worker every %g s for "
              "%g s; %s" % (" ".join(d.cmd), args.kill_every, args.seconds,
                            "wrk -t2 -c%d /predict" % args.wrk_conns
                            if use_wrk else "Python clients only"))
        sys.stdout.flush()
        wrk = None
        if use_wrk:
            wrk = subprocess.Popen(
                ["wrk", "-t", "2", "-c", str(args.wrk_conns), "-d",
                 "%ds" % (args.seconds + 1), "--timeout", "2s",
                 "http://127.0.0.1:%d/predict" % d.port],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        stop = threading.Event()
        lock = threading.Lock()
        probes, scrapes, ok = [], [], {"keepalive": 0, "fresh": 0}

        def prober(period):
            t_next = time.monotonic()
            while not stop.is_set():
                r = timed_get(d.port, timeout=args.probe_timeout)
                with lock:
                    probes.append(r)
                t_next += period
                time.sleep(max(0, t_next - time.monotonic()))

        def client(kind):
            conn = None
            while not stop.is_set():
                if kind == "keepalive" and conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", d.port, timeout=5)
                st, _ = timed_get(d.port, timeout=5, conn=conn)
                if st == 200:
                    with lock:
                        ok[kind] += 1
                elif conn is not None:
                    conn.close()
                    conn = None
            if conn is not None:
                conn.close()

        def scraper():
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    st, _, data = d.request("GET", "/metrics",
                                            port=d.metrics_port, timeout=2)
                    scrapes.append((st, data.decode(),
                                    time.monotonic() - t0))
                except OSError as e:
                    scrapes.append((None, str(e), time.monotonic() - t0))
                time.sleep(0.5)

        nprobe = 4
        threads = [threading.Thread(target=prober,
                                    args=(nprobe / args.probe_rate,))
                   for _ in range(nprobe)]
        threads.append(threading.Thread(target=scraper))
        if not use_wrk:
            threads += [threading.Thread(target=client, args=("keepalive",))
                        for _ in range(args.keepalive)]
            threads += [threading.Thread(target=client, args=("fresh",))
                        for _ in range(args.fresh)]
        for t in threads:
            t.start()
        kills = 0
        t_end = time.monotonic() + args.seconds
        try:
            while time.monotonic() < t_end:
                time.sleep(args.kill_every)
                pids = d.worker_pids()
                if pids:
                    try:
                        os.kill(random.choice(pids), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass
        finally:
            stop.set()
            for t in threads:
                t.join()
            out = wrk.communicate()[0] if wrk else ""
        t0 = time.monotonic()
        while d.sample("inferd_workers_alive") != args.workers and \
                time.monotonic() - t0 < 10:
            time.sleep(0.05)
        time.sleep(0.2)
        final = d.samples()
        backoffs = len(re.findall(r"keeps dying", d.log))
    fast = [dt for st, dt in probes if st == 200 and dt <= 1.0]
    lat = [dt if st == 200 else float("inf") for st, dt in probes]
    bad_scrapes = [s for s in scrapes if s[0] != 200]
    backwards = []
    alive0 = 0
    prev = {}
    for st, text, _ in scrapes:
        if st != 200:
            continue
        cur = d.samples(text)
        backwards += check_monotonic(prev, cur)
        alive0 += cur.get(("inferd_workers_alive", frozenset()), 1) == 0
        prev = cur
    count = final.get((COUNT, frozenset()), 0)
    seen = sum(ok.values()) + sum(1 for st, _ in probes if st == 200)
    print("kills: %d; start-up backoffs logged: %d" % (kills, backoffs))
    print("probes (fresh connection, %g/s): %d, %d answered within 1 s "
          "(%.1f %%), %d later, %d failed (reset or timeout); p50 %.3f s, "
          "p99 %.3f s" % (
              args.probe_rate, len(probes), len(fast),
              100.0 * len(fast) / max(1, len(probes)),
              sum(1 for st, dt in probes if st == 200 and dt > 1.0),
              sum(1 for st, _ in probes if st != 200), pct(lat, 50),
              pct(lat, 99)))
    print("scrapes: %d, %d failed, slowest %.3f s, %d saw "
          "inferd_workers_alive 0; counters gone backwards: %d" % (
              len(scrapes), len(bad_scrapes),
              max(s[2] for s in scrapes) if scrapes else 0, alive0,
              len(backwards)))
    m = re.search(r"(\d+) requests in [^\n]*", out)
    if use_wrk:
        errs = re.search(r"Socket errors:[^\n]*", out)
        non2xx = re.search(r"Non-2xx[^\n]*", out)
        print("wrk: %s; %s; %s" % (m.group(0) if m else out.strip(),
                                   errs.group(0) if errs else
                                   "no socket errors",
                                   non2xx.group(0) if non2xx else
                                   "no non-2xx"))
        wrk_n = int(m.group(1)) if m else 0
        print("%s = %d; probes' successes + wrk's count = %d (wrk's "
              "count is not exact: it stops with requests in flight)" % (
                  COUNT, count, seen + wrk_n))
    else:
        print("%s = %d; successful responses the clients saw = %d "
              "(keep-alive %d, fresh %d, probes %d)" % (
                  COUNT, count, seen, ok["keepalive"], ok["fresh"],
                  seen - sum(ok.values())))
    fails = []
    if len(fast) < 0.95 * len(probes) or not probes:
        fails.append("fewer than 95 % of probes within 1 s")
    if bad_scrapes:
        fails.append("%d scrapes failed: %r" % (len(bad_scrapes),
                                                bad_scrapes[:2]))
    if backwards:
        fails.append("counters went backwards: %r" % backwards[:3])
    if not use_wrk and count != seen:
        fails.append("%s %d != %d responses seen" % (COUNT, count, seen))
    if use_wrk and not m:
        fails.append("wrk did not report")
    return fails


# -- idle --------------------------------------------------------------------

def idle(args):
    """The memory of an idle connection, in a worker and in the kernel."""
    raise_nofile()
    a = inferd_args(args)
    a["workers"] = 1
    a["options"].setdefault("max_connections", str(args.conns + 10))
    a["options"].setdefault("header_timeout", "120")
    with Inferd(**a) as d:
        pid = d.worker_pids()[0]
        d.request("GET", "/predict")
        before = rss_kb(pid)
        socks = []
        for _ in range(args.conns):
            socks.append(socket.create_connection(("127.0.0.1", d.port)))
        time.sleep(1)
        full = rss_kb(pid)
        fds = nfds(pid)
        head = SLOW_HEAD[:args.head]
        for s in socks:
            s.sendall(head)
        time.sleep(1)
        trickled = rss_kb(pid)
        for s in socks:
            s.close()
        time.sleep(1)
        after = rss_kb(pid)
    print("idle: worker RSS %d KiB; with %d idle connections %d KiB "
          "(%.0f bytes each, %d descriptors); after %d bytes of a head on "
          "each %d KiB "
          "(%.0f bytes each); all closed %d KiB" % (
              before, args.conns, full, (full - before) * 1024.0 /
              args.conns, fds, args.head, trickled, (trickled - before) * 1024.0 /
              args.conns, after))
    return []


# -- main --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="scenario", required=True)

    def common(p, workers=2, nofile=None):
        p.add_argument("-w", "--workers", type=int, default=workers)
        p.add_argument("-o", "--option", action="append", default=[],
                       metavar="KEY=VALUE", help="an inferd setting")
        p.add_argument("--nofile", default=nofile, metavar="SOFT:HARD",
                       help="inferd's file limit (prlimit)")

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = "unlimited" if hard == resource.RLIM_INFINITY else hard
    p = sub.add_parser("slowloris", help="2,500 trickling connections and "
                       "a normal client at 1 request/s")
    common(p, nofile="1024:%s" % hard)
    p.add_argument("--conns", type=int, default=2500)
    p.add_argument("--interval", type=float, default=5.0,
                   help="seconds between two bytes of a connection")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=1.0,
                   help="seconds of attack before the normal client")
    p.add_argument("--patience", type=float, default=30.0,
                   help="the normal client's timeout")
    p.set_defaults(run=slowloris)

    p = sub.add_parser("chaos", help="kill -9 of a random worker every "
                       "200 ms, under load, with probes and scrapes")
    common(p)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--kill-every", type=float, default=0.2)
    p.add_argument("--no-wrk", dest="wrk", action="store_false",
                   help="Python clients only: exact _count accounting")
    p.add_argument("--wrk-conns", type=int, default=50)
    p.add_argument("--probe-rate", type=float, default=20.0)
    p.add_argument("--probe-timeout", type=float, default=3.0)
    p.add_argument("--keepalive", type=int, default=4,
                   help="keep-alive client threads (without wrk)")
    p.add_argument("--fresh", type=int, default=2,
                   help="fresh-connection client threads (without wrk)")
    p.set_defaults(run=chaos)

    p = sub.add_parser("idle", help="memory of idle connections in a "
                       "worker")
    common(p, workers=1)
    p.add_argument("--conns", type=int, default=4000)
    p.add_argument("--head", type=int, default=1,
                   help="bytes of a head then sent on each (at most %d)" %
                   len(SLOW_HEAD))
    p.set_defaults(run=idle)

    args = ap.parse_args()
    t0 = time.monotonic()
    fails = args.run(args)
    print("%s: %s in %.0f s" % (args.scenario, "FAIL: " + "; ".join(fails)
                               if fails else "PASS",
                               time.monotonic() - t0))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
