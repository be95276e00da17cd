#!/usr/bin/python3
"""bench_onnx: inferd's evaluator against ONNX Runtime on one ONNX model.

    cd BUILDDIR && make bench-onnx                 # or, by hand:
    cd BUILDDIR && make bench/bench_onnx && \\
        /usr/bin/python3 ../bench/bench_onnx.py [--seconds S] [--model X.json]

The model is the issue's benchmark shape: XGBoost (Debian's 1.7) trains 500
trees of depth 8 on 50 features (reg:squarederror, 20,000 rows with 5%
missing values), and tests/lib/onnx_trees.py converts it to a
TreeEnsembleRegressor as onnxmltools does (BRANCH_LT, default directions
as missing_value_tracks_true, base_score in base_values).  Both engines
then predict the same 20,000 float32 rows, in batches of 100 and of
10,000, pinned to one core (taskset -c 0): bench/bench_onnx (inferd's
model_predict, linked with libinferd.a) and bench/bench_ort.js
(onnxruntime-node, one intra-op thread, the tensors made beforehand so
that only run() is timed), alternating --rounds times (2), the best of each
kept.  First it checks that both answer the first 10,000 rows
identically.  Prints every command and the rows per second; it
reports, it does not assert.
"""

import argparse
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
BUILDDIR = os.getcwd()
ORTDIR = os.path.join(BUILDDIR, "ort")


def sh(cmd, **kw):
    print("$ " + " ".join(shlex.quote(c) for c in cmd))
    sys.stdout.flush()
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          **kw).stdout


def train(path):
    import xgboost as xgb
    rng = np.random.RandomState(7)
    X = rng.randn(20000, 50)
    y = X[:, :10].sum(axis=1) + np.sin(X[:, 10:20]).sum(axis=1) + \
        rng.randn(20000)
    X[rng.rand(*X.shape) < 0.05] = np.nan
    b = xgb.train({"objective": "reg:squarederror", "max_depth": 8,
                   "eta": 0.05, "nthread": 1, "seed": 0,
                   "tree_method": "hist"},
                  xgb.DMatrix(X, label=y), num_boost_round=500)
    b.save_model(path)


def rate(out):
    return float(out.split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternate the engines this many times, keep the "
                    "best of each (a shared machine's noise)")
    ap.add_argument("--model", help="an XGBoost JSON model (default: "
                    "train the 500-tree one)")
    a = ap.parse_args()
    import onnx_trees
    tmp = tempfile.mkdtemp(prefix="inferd-bench-onnx.")
    xj = a.model or os.path.join(tmp, "bench500.json")
    if not a.model:
        print("# training 500 trees of depth 8 on 50 features (XGBoost)")
        sys.stdout.flush()
        train(xj)
    m, nf = onnx_trees.xgboost_json_to_onnx(xj)
    onnx_path = os.path.join(tmp, "bench500.onnx")
    with open(onnx_path, "wb") as f:
        f.write(m.SerializeToString())
    nodes = [a for a in m.graph.node[0].attribute
             if a.name == "nodes_modes"][0].strings
    print("# model %s: %d bytes, %d nodes" % (
        onnx_path, os.path.getsize(onnx_path), len(nodes)))
    if not os.path.exists(os.path.join(ORTDIR, "node_modules",
                                       "onnxruntime-node")):
        os.makedirs(ORTDIR, exist_ok=True)
        sh(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
            "onnxruntime-node"], cwd=ORTDIR)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(20000, nf)).astype("<f4")
    x[rng.random(x.shape) < 0.05] = np.nan
    rows = os.path.join(tmp, "rows.f32")
    x.tofile(rows)
    inferd = [os.path.join(BUILDDIR, "bench", "bench_onnx")]
    ort = ["node", os.path.join(HERE, "bench_ort.js"), ORTDIR]
    pin = ["taskset", "-c", "0"]
    # the same answers first
    a1, a2 = os.path.join(tmp, "inferd.f32"), os.path.join(tmp, "ort.f32")
    sh(inferd + [onnx_path, rows, "10000", "0", a1])
    sh(ort + [onnx_path, rows, str(nf), "10000", "0", a2])
    p, q = np.fromfile(a1, "<f4"), np.fromfile(a2, "<f4")
    print("# first 10,000 rows: %d of %d predictions bit-identical to ONNX "
          "Runtime's (max |diff| %.3g)" % (int((p == q).sum()), len(q),
                                           float(np.abs(p - q).max())))
    ver = sh(["node", "-e", "console.log(require(%r).version)" % os.path.join(
        ORTDIR, "node_modules", "onnxruntime-node", "package.json")]).strip()
    print("# ONNX Runtime %s (onnxruntime-node), one core, %.0f s each" % (
        ver, a.seconds))
    res = []
    for batch in (100, 10000):
        i = o = 0.0
        for _ in range(a.rounds):
            i = max(i, rate(sh(pin + inferd + [onnx_path, rows, str(batch),
                                               str(a.seconds)])))
            o = max(o, rate(sh(pin + ort + [onnx_path, rows, str(nf),
                                             str(batch), str(a.seconds)])))
        res.append((batch, i, o))
    print("\n| batch | inferd rows/s | ONNX Runtime rows/s | inferd / ORT |")
    print("| ---: | ---: | ---: | ---: |")
    for batch, i, o in res:
        print("| %d | %.0f | %.0f | %.2fx |" % (batch, i, o, i / o))
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
