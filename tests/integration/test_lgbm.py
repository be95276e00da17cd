"""LightGBM text models (model.txt) against an independent reference.

Every model under tests/data/lightgbm/ (real files LightGBM wrote, from
lleaves' test suite, and hand-written ones in LightGBM's exact layout from
tests/lib/gen_lgbm.py for each objective, linear trees, random-forest
mode, v3 and v4; see the README there) is loaded by inferd's loader
through tests/lib/lgbm_predict and evaluated on rows with missing values,
zeros (0, -0.0, values within LightGBM's 1e-35 zero threshold),
categories outside the trained set (negative, fractional, 2^31 and up,
beyond the bitset) and values just either side of every numerical
threshold (the threshold itself, the doubles next to it, and its float32
neighbours).  Each answer must equal tests/lib/lgbm_ref.py's, written from
LightGBM's source, bit for bit: predictions, raw scores, and predictions
from the rows rounded to float32.

Then the real daemon: /predict, KServe v1 and the OIP on a few models,
rows keyed by feature name, the raw option, and refusals that name the
line at fault.
"""

import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import lgbm_ref  # noqa: E402
from harness import Inferd, note, run  # noqa: E402

BUILDDIR = os.environ.get("INFERD_BUILDDIR", ".")
SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
DRIVER = os.path.join(BUILDDIR, "tests", "lib", "lgbm_predict")
DATA = os.path.join(SRCDIR, "tests", "data", "lightgbm")

tmpdir = None


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def f32_next(x, up):
    """The float32 next to float32 x, upwards or downwards."""
    b = struct.unpack("<i", struct.pack("<f", x))[0]
    if x == 0.0:
        return (1 if up else -1) * 1.401298464324817e-45
    b += 1 if (x > 0) == up else -1
    return struct.unpack("<f", struct.pack("<i", b))[0]


def rows_for(model, seed=7, nmax=400):
    """Rows that probe every decision kind of model."""
    rng = random.Random(seed)
    nf = model.nfeatures
    num, cat = lgbm_ref.thresholds(model)
    rows = []
    base = [rng.uniform(-2.0, 2.0) for _ in range(nf)]
    rows.append([None] * nf)
    rows.append([0.0] * nf)
    rows.append([-0.0] * nf)
    rows.append([1e-36] * nf)
    rows.append([-1e-36] * nf)
    rows.append([lgbm_ref.K_ZERO] * nf)
    rows.append([2.0e-35] * nf)
    for _ in range(30):
        r = [rng.uniform(-3.0, 3.0) for _ in range(nf)]
        for i in range(nf):
            if rng.random() < 0.15:
                r[i] = None
            elif rng.random() < 0.1:
                r[i] = 0.0
        rows.append(r)
    # categorical features: in the set, beyond it, negative, fractional,
    # huge; the rest of the row random
    for f in cat:
        for v in (0, 1, 2, 3, 5, 7, 31, 32, 33, 39, 40, 63, 64, 100, 1000,
                  -1, -0.5, -0.99, 0.5, 2.5, 3.999, 1e9, 2147483647.0,
                  2147483648.0, 3e9, 1e20, None, -1e9):
            r = list(base)
            r[f] = v
            rows.append(r)
    # numerical thresholds: exactly on, the doubles either side, float32
    # neighbours
    probe = list(num)
    rng.shuffle(probe)
    for f, t in probe[:max(0, (nmax - len(rows)) // 6)]:
        for v in (t, math.nextafter(t, math.inf),
                  math.nextafter(t, -math.inf), f32(t),
                  f32_next(f32(t), True), f32_next(f32(t), False)):
            r = list(base)
            r[f] = v
            rows.append(r)
    return rows


def driver(path, rows):
    rf = os.path.join(tmpdir, "rows.json")
    with open(rf, "w") as f:
        json.dump({"rows": rows}, f)
    p = subprocess.run([DRIVER, path, rf], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, "%s: exit %d: %s" % (path, p.returncode,
                                                  p.stderr.strip())
    return json.loads(p.stdout)


def same(what, got, want):
    """Bit-identical doubles (NaN as null)."""
    assert len(got) == len(want), (what, len(got), len(want))
    for r, (g, w) in enumerate(zip(got, want)):
        g = [math.nan if x is None else x for x in g]
        for k, (a, b) in enumerate(zip(g, w)):
            if math.isnan(a) and math.isnan(b):
                continue
            assert a == b, "%s: row %d output %d: inferd %r, reference " \
                "%r" % (what, r, k, a, b)


def model_files():
    return sorted(f for f in os.listdir(DATA) if f.endswith(".txt"))


def check_model(name):
    path = os.path.join(DATA, name)
    model = lgbm_ref.load(path)
    rows = rows_for(model)
    got = driver(path, rows)
    assert got["nfeatures"] == model.nfeatures
    assert got["noutputs"] == model.ntpi
    assert got["names"] == model.feature_names, got["names"]
    assert got["wants_double"] == 1
    assert got["booster"] == ("rf" if model.average else "gbdt")
    want = [model.predict(r) for r in rows]
    same(name + " predict", got["predict"], want)
    same(name + " raw", got["raw"],
         [model.predict(r, raw=True) for r in rows])
    r32 = [[None if v is None else f32(v) for v in r] for r in rows]
    same(name + " predict_f32", got["predict_f32"],
         [model.predict(r) for r in r32])
    # the float32 rounding must matter somewhere for the double path to
    # be worth having: count rows whose answer it changes
    return sum(1 for a, b in zip(want, [model.predict(r) for r in r32])
               if a != b), len(rows)


def test_models_against_reference():
    """Every committed model: predictions, raw scores and float32-input
    predictions equal lgbm_ref.py's bit for bit."""
    names = model_files()
    assert len(names) >= 30, names
    flips = 0
    for n in names:
        d, nr = check_model(n)
        flips += d
        note("%s: %d rows equal%s" % (n, nr, ", %d differ when rounded to "
                                      "float32" % d if d else ""))
    # near-threshold rows rounded to float32 land on the other side
    assert flips > 0, "no row tells the double path from float32"


def test_generator_is_committed():
    """The hand-written models under tests/data/lightgbm are what
    gen_lgbm.py writes (so their description in the README holds)."""
    sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
    import gen_lgbm
    out = os.path.join(tmpdir, "gen")
    gen_lgbm.main(out)
    for f in sorted(os.listdir(out)):
        with open(os.path.join(out, f)) as a, \
                open(os.path.join(DATA, f)) as b:
            assert a.read() == b.read(), f


def daemon_rows(d, path, model, rows, extra=""):
    st, body = d.json("POST", "/predict" + extra, {"instances": rows})
    assert st == 200, (st, body)
    return body


def test_daemon_predict():
    """The real daemon's /predict, KServe v1 and OIP answers equal the
    reference, from double features (rows next to thresholds included)."""
    for name in ("lleaves_airline.txt", "gen_multiclass.txt",
                 "gen_linear.txt", "gen_rf.txt", "gen_regression_sqrt.txt"):
        path = os.path.join(DATA, name)
        model = lgbm_ref.load(path)
        rows = rows_for(model, nmax=200)
        want = [model.predict(r) for r in rows]
        raw = [model.predict(r, raw=True) for r in rows]
        with Inferd(workers=1, model=path) as d:
            body = daemon_rows(d, path, model, rows)
            got = body["predictions"]
            if model.ntpi == 1:
                got = [[x] for x in got]
            same("daemon " + name, got, want)
            body = daemon_rows(d, path, model, rows, "?output=raw")
            got = body["predictions"]
            if model.ntpi == 1:
                got = [[x] for x in got]
            same("daemon raw " + name, got, raw)
            mname = name[:-4]
            st, body = d.json("POST", "/v1/models/%s:predict" % mname,
                              {"instances": rows[:20]})
            assert st == 200, (st, body)
            got = body["predictions"]
            if model.ntpi == 1:
                got = [[x] for x in got]
            same("daemon v1 " + name, got, want[:20])
            st, meta = d.json("GET", "/v2/models/%s" % mname)
            assert st == 200, (st, meta)
            assert meta["platform"] == "lightgbm", meta
            assert [i["name"] for i in meta["inputs"]] == \
                model.feature_names, meta
            assert all(i["datatype"] == "FP64" for i in meta["inputs"])
            assert meta["outputs"][0]["datatype"] == "FP64", meta
            # OIP: an FP64 tensor is read unrounded, an FP32 one rounded
            # as declared (LightGBM widens a float32 array exactly)
            flat = [v for r in rows for v in r]
            for dt, ref in (("FP64", want),
                            ("FP32", [model.predict(
                                [None if v is None else f32(v) for v in r])
                                for r in rows])):
                st, body = d.json("POST", "/v2/models/%s/infer" % mname, {
                    "inputs": [{"name": "x", "datatype": dt,
                                "shape": [len(rows), model.nfeatures],
                                "data": flat}]})
                assert st == 200, (st, body)
                out = body["outputs"][0]
                assert out["datatype"] == "FP64", out
                got = out["data"]
                k = model.ntpi
                same("daemon OIP %s %s" % (dt, name),
                     [got[i * k:(i + 1) * k] for i in range(len(rows))],
                     ref)
            note("daemon %s: %d rows equal" % (name, len(rows)))


def test_daemon_raw_refused():
    """?output= other than raw or predict is 400, and raw is refused for
    an XGBoost model, naming why."""
    path = os.path.join(DATA, "gen_binary.txt")
    model = lgbm_ref.load(path)
    row = [0.5] * model.nfeatures
    with Inferd(workers=1, model=path) as d:
        st, body = d.json("POST", "/predict?output=margin",
                          {"instances": [row]})
        assert st == 400 and "output=margin" in json.dumps(body), body
    with Inferd(workers=1) as d:
        st, body = d.json("POST", "/predict?output=raw",
                          {"instances": [[0.0] * 30]})
        assert st == 400 and "LightGBM" in json.dumps(body), (st, body)


def test_daemon_reload():
    """SIGHUP swaps an XGBoost model for a LightGBM one, then refuses a
    cut LightGBM file naming its line and keeps serving the model it has."""
    import re
    import signal
    from harness import MODEL
    conf = os.path.join(tmpdir, "inferd.conf")
    lg = os.path.join(DATA, "gen_rf.txt")
    model = lgbm_ref.load(lg)
    cut = os.path.join(tmpdir, "cut.txt")
    with open(lg) as f, open(cut, "w") as g:
        g.write(f.read()[:3000])

    def conf_model(path):
        with open(conf + ".new", "w") as f:
            f.write("model = %s\n" % path)
        os.replace(conf + ".new", conf)

    def hup(d, pattern):
        n = len(d.lines)
        d.proc.send_signal(signal.SIGHUP)
        return d.wait_log(pattern, 20, n)

    rows = rows_for(model, nmax=40)
    conf_model(MODEL)
    with Inferd(workers=1, model=None, config=conf) as d:
        conf_model(lg)
        hup(d, r"reload: model gen_rf \(binary sigmoid:1, sha256 ")
        for _ in range(100):
            st, body = d.json("POST", "/predict", {"instances": rows})
            if st == 200 and len(body["predictions"]) == len(rows) and \
                    not isinstance(body["predictions"][0], list) and \
                    d.json("GET", "/v2/models/gen_rf")[0] == 200:
                break
            import time
            time.sleep(0.1)
        same("reloaded", [[x] for x in body["predictions"]],
             [model.predict(r) for r in rows])
        conf_model(cut)
        hup(d, r"reload: %s: line \d+: .*; keeping model gen_rf" %
            re.escape(cut))
        st, body = d.json("POST", "/predict", {"instances": rows})
        assert st == 200, (st, body)
        same("kept", [[x] for x in body["predictions"]],
             [model.predict(r) for r in rows])


def test_daemon_feature_names():
    """Rows keyed by LightGBM's feature names; a name left out is
    missing."""
    path = os.path.join(DATA, "gen_v3_names.txt")
    model = lgbm_ref.load(path)
    rows = rows_for(model, nmax=60)
    keyed = [{n: v for n, v in zip(model.feature_names, r) if v is not None}
             for r in rows]
    with Inferd(workers=1, model=path) as d:
        st, body = d.json("POST", "/predict", {"instances": keyed})
        assert st == 200, (st, body)
        same("keyed", [[x] for x in body["predictions"]],
             [model.predict(r) for r in rows])


def refuse(text, *want):
    p = os.path.join(tmpdir, "bad.txt")
    with open(p, "w") as f:
        f.write(text)
    r = subprocess.run([DRIVER, p, os.path.join(tmpdir, "none.json")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    for w in want:
        assert w in r.stderr, (w, r.stderr)
    return r.stderr


def test_refusals():
    """Malformed models are refused with the line and what is wrong."""
    with open(os.path.join(DATA, "gen_binary.txt")) as f:
        good = f.read()
    lines = good.split("\n")
    ln = lambda pfx: [i for i, x in enumerate(lines)
                      if x.startswith(pfx)][0]
    refuse(good.replace("objective=binary sigmoid:1",
                        "objective=softmax_bogus"),
           "line %d: objective \"softmax_bogus\" is not one LightGBM "
           "writes" % (ln("objective=") + 1))
    i = ln("left_child=")
    bad = list(lines)
    bad[i] = bad[i].replace(" ", " x", 1)
    refuse("\n".join(bad), "line %d: left_child[1]: \"x" % (i + 1),
           "is not an integer")
    bad = list(lines)
    bad[i] = "left_child=" + " ".join(["1"] * len(bad[i].split()))
    refuse("\n".join(bad), "Tree=0")
    i = ln("threshold=")
    bad = list(lines)
    bad[i] = bad[i].rsplit(" ", 1)[0]
    refuse("\n".join(bad), "line %d: threshold:" % (i + 1), "expected")
    refuse(good.replace("version=v4", "version=v9"), "version=v9",
           "v2 to v4")
    refuse(good[:len(good) // 2], "cut short")
    refuse(good.replace("num_class=1\n", ""), "no num_class line")
    i = ln("decision_type=")
    bad = list(lines)
    bad[i] = "decision_type=" + " ".join(["12"] * len(bad[i].split()))
    refuse("\n".join(bad), "line %d: decision_type[0]: 12 has missing "
           "type 3" % (i + 1))
    i = ln("split_feature=")
    bad = list(lines)
    bad[i] = bad[i].replace("=", "=99 ", 1).rsplit(" ", 1)[0]
    refuse("\n".join(bad), "line %d: split_feature[0]: 99 out of range" %
           (i + 1))
    refuse(good.replace("feature_names=", "feature_names=dup dup "),
           "feature_names")


def main():
    global tmpdir
    tmpdir = tempfile.mkdtemp(prefix="inferd-lgbm.")
    try:
        run([test_models_against_reference, test_generator_is_committed,
             test_refusals, test_daemon_predict, test_daemon_raw_refused,
             test_daemon_reload, test_daemon_feature_names])
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
