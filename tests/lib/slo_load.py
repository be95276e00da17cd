"""Load for the SLO-defense tests and benchmark (tests/integration/
test_slo_defense.py, bench/overload.py): closed-loop heavy clients and an
innocent prober, on plain sockets.

    heavy = Heavy(port, "/predict", body, conns=16).start()
    lat = probe(port, interval=0.05, seconds=3)     # fresh-connection GETs
    res = heavy.stop()          # {"ok": n, "codes": {...}, "lat": [...]}
"""

import http.client
import json
import threading
import time


def percentile(v, q):
    """The q-quantile (0..1) of v by nearest rank; nan when empty."""
    if not v:
        return float("nan")
    s = sorted(v)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]


def rows_body(nrows, ncols, keyed=False, seed=1):
    """A /predict body of nrows rows of ncols numbers."""
    import random
    r = random.Random(seed)
    if keyed:
        inst = [{"f%d" % c: round(r.uniform(-3, 3), 4) for c in
                 range(ncols)} for _ in range(nrows)]
    else:
        inst = [[round(r.uniform(-3, 3), 4) for _ in range(ncols)]
                for _ in range(nrows)]
    return json.dumps({"instances": inst}).encode()


def refused_body(size=1 << 20):
    """A body just under size bytes of empty objects: refused (413)."""
    n = (size - 20) // 3
    return b'{"instances":[' + b",".join([b"{}"] * n) + b"]}"


class Heavy:
    """conns threads, each posting body on a kept-alive connection (a new
    one after the server closes) until stop()."""

    def __init__(self, port, path, body, conns):
        self.port, self.path, self.body, self.conns = port, path, body, conns
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.codes = {}
        self.lat = []
        self.threads = []
        self.t0 = self.t1 = None

    def _one(self):
        conn = None
        while not self.done.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=30)
                t = time.monotonic()
                conn.request("POST", self.path, body=self.body, headers={
                    "Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                dt = time.monotonic() - t
                with self.lock:
                    self.codes[resp.status] = self.codes.get(
                        resp.status, 0) + 1
                    if resp.status == 200:
                        self.lat.append(dt)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.codes["error"] = self.codes.get("error", 0) + 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def start(self):
        self.t0 = time.monotonic()
        for _ in range(self.conns):
            t = threading.Thread(target=self._one, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(60)
        self.t1 = time.monotonic()
        return {"ok": self.codes.get(200, 0), "codes": dict(self.codes),
                "lat": list(self.lat), "seconds": self.t1 - self.t0}


def probe(port, interval=0.05, seconds=3.0, path="/predict"):
    """Fresh-connection GETs every interval for seconds: their latencies
    (connect to last byte); a failure counts as the time it took, at least
    1 s."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            out.append(time.monotonic() - t if r.status == 200 else
                       max(1.0, time.monotonic() - t))
        except (OSError, http.client.HTTPException):
            out.append(max(1.0, time.monotonic() - t))
        rest = interval - (time.monotonic() - t)
        if rest > 0:
            time.sleep(rest)
    return out


def many_trees(src, dst, copies):
    """Write at dst the XGBoost JSON model src with its trees repeated
    copies times (a heavier model to evaluate, valid for inferd, without
    training one); returns the number of trees."""
    with open(src) as f:
        m = json.load(f)
    g = m["learner"]["gradient_booster"]["model"]
    trees = []
    for _ in range(copies):
        for t in g["trees"]:
            t = dict(t)
            t["id"] = len(trees)
            trees.append(t)
    g["trees"] = trees
    g["tree_info"] = [g["tree_info"][i % len(g["tree_info"])]
                      for i in range(len(trees))]
    g["gbtree_model_param"]["num_trees"] = str(len(trees))
    attrs = m["learner"].get("attributes", {})
    for k in ("best_iteration", "best_ntree_limit", "best_score"):
        attrs.pop(k, None)
    if "iteration_indptr" in g:
        g["iteration_indptr"] = list(range(len(trees) + 1))
    with open(dst, "w") as f:
        json.dump(m, f)
    return len(trees)
