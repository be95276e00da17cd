"""inferd's predictions against XGBoost's own, over HTTP.

Builds models with /usr/bin/python3 and python3-xgboost across the six
objectives, tree depths, feature counts and missing-value rates, serves
each with the real daemon, sends thousands of rows (NaN included, as JSON
null) to POST /predict and POST /v2/models/{name}/infer, and asserts that
the largest relative difference from Booster.predict is at most 1e-6.
(inferd does XGBoost's float32 arithmetic, so it is in fact 0.)
"""

import json
import math
import os
import shutil
import tempfile

import numpy as np

from gen_models import OBJECTIVES, build
from harness import MODEL, SRCDIR, Inferd, note, run

TOLERANCE = 1e-6
BATCH = 500               # rows per batch request (max_batch_rows is 1000)
SINGLE = 40               # rows also sent one by one

# (depth, nfeatures, missing rate, rounds): each objective gets all of them.
SHAPES = [
    (1, 1, 0.0, 5),
    (3, 7, 0.1, 30),
    (6, 40, 0.3, 20),
    (9, 12, 0.05, 15),
]

tmpdir = None


def row_json(row):
    return [None if math.isnan(v) else float(v) for v in row]


def compare(what, got, expected):
    """Assert max relative difference <= TOLERANCE; return it and the
    count of float32-identical outputs."""
    got = np.asarray(got, dtype=np.float64).reshape(expected.shape)
    exp = expected.astype(np.float64)
    assert np.all(np.isfinite(got)), "%s: non-finite predictions" % what
    diff = np.abs(got - exp)
    # relative, with an absolute floor for values that are all but zero
    rel = diff / np.maximum(np.abs(exp), 1e-30)
    rel[(diff <= 1e-12) & (np.abs(exp) < 1e-6)] = 0.0
    worst = float(rel.max())
    if worst > TOLERANCE:
        i = np.unravel_index(np.argmax(rel), rel.shape)
        raise AssertionError("%s: relative difference %g at %s: inferd %r, "
                             "xgboost %r" % (what, worst, i, got[i],
                                             exp[i]))
    exact = int(np.sum(got.astype(np.float32) == expected))
    return worst, exact


def post_predict(d, X):
    """All rows through POST /predict: batches, then some one by one."""
    out = []
    for i in range(0, len(X), BATCH):
        st, body = d.json("POST", "/predict",
                          {"instances": [row_json(r) for r in X[i:i + BATCH]]})
        assert st == 200, (st, body)
        assert len(body["predictions"]) == len(X[i:i + BATCH])
        out.extend(body["predictions"])
    for i in range(min(SINGLE, len(X))):
        st, body = d.json("POST", "/predict", {"features": row_json(X[i])})
        assert st == 200, (st, body)
        assert len(body["predictions"]) == 1
        assert body["predictions"][0] == out[i], (i, body, out[i])
    return out


def post_oip(d, name, X, nout):
    """All rows through the OIP: FP64 flat and FP32 nested, alternately."""
    out = []
    for k, i in enumerate(range(0, len(X), BATCH)):
        part = X[i:i + BATCH]
        rows = [row_json(r) for r in part]
        flat = k % 2 == 0
        req = {"id": "batch-%d" % k,
               "inputs": [{"name": "input-0",
                           "shape": [len(part), X.shape[1]],
                           "datatype": "FP64" if flat else "FP32",
                           "data": [v for r in rows for v in r] if flat
                           else rows}]}
        st, body = d.json("POST", "/v2/models/%s/infer" % name, req)
        assert st == 200, (st, body)
        assert body["model_name"] == name and body["id"] == "batch-%d" % k
        outs = {o["name"]: o for o in body["outputs"]}
        o = outs["predict"]
        assert o["datatype"] == "FP32", o["datatype"]
        if "label" in outs:	# a classifier: the class it picks
            p = np.asarray(o["data"]).reshape(len(part), -1)
            want = np.argmax(p, axis=1) if nout > 1 else (p[:, 0] > 0.5)
            assert outs["label"]["data"] == want.astype(int).tolist()
        want = [len(part)] if nout == 1 else [len(part), nout]
        assert o["shape"] == want, (o["shape"], want)
        out.extend(o["data"])
    return out


def check_case(case):
    name = os.path.basename(case.path)[:-len(".json")]
    nout = 1 if case.expected.ndim == 1 else case.expected.shape[1]
    with Inferd(workers=2, model=case.path) as d:
        st, meta = d.json("GET", "/v2/models/%s" % name)
        assert st == 200 and meta["name"] == name, meta
        assert meta["inputs"][0]["shape"] == [-1, case.X.shape[1]], meta
        assert meta["outputs"][0]["shape"] == ([-1] if nout == 1
                                               else [-1, nout]), meta
        got = post_predict(d, case.X)
        w1, e1 = compare(name + " /predict", got, case.expected)
        got = post_oip(d, name, case.X, nout)
        w2, e2 = compare(name + " OIP", got, case.expected)
        # GET /predict predicts on one all-missing row: row 0 here.
        st, body = d.json("GET", "/predict")
        assert st == 200, body
        compare(name + " GET /predict", body["predictions"],
                case.expected[:1])
    note("%-40s %5d rows: max rel diff %g (/predict), %g (OIP); "
         "%d/%d float32-identical" % (name, len(case.X), w1, w2,
                                      min(e1, e2), case.expected.size))


def make_test(objective):
    def test():
        for seed, (depth, nf, missing, rounds) in enumerate(SHAPES):
            case = build(tmpdir, objective, depth=depth, nfeatures=nf,
                         missing=missing, rounds=rounds, seed=seed,
                         rows=1500)
            check_case(case)
    test.__name__ = "test_" + objective.replace(":", "_")
    return test


def test_base_score_and_forest():
    """A non-default base_score (a probability for the logistic objectives,
    a margin for the others) and random-forest style parallel trees."""
    for objective, extra in [
            ("binary:logistic", {"base_score": 0.2}),
            ("reg:logistic", {"base_score": 0.7}),
            ("binary:logitraw", {"base_score": 0.3}),
            ("reg:squarederror", {"base_score": 42.0,
                                  "num_parallel_tree": 3,
                                  "subsample": 0.7, "colsample_bynode": 0.6}),
            ("multi:softprob", {"num_parallel_tree": 2, "subsample": 0.8})]:
        case = build(tmpdir, objective, depth=4, nfeatures=9, seed=11,
                     rows=800, params=extra,
                     name="extra-" + objective.replace(":", "_"))
        check_case(case)


def test_bundled_model_reference():
    """The bundled model answers its reference rows as XGBoost did."""
    with open(os.path.join(SRCDIR, "models",
                           "breast_cancer.reference.json")) as f:
        ref = json.load(f)
    with Inferd(workers=1, model=MODEL) as d:
        st, body = d.json("POST", "/predict", {"instances": ref["rows"]})
        assert st == 200, body
        compare("breast_cancer", body["predictions"],
                np.array(ref["predictions"], dtype=np.float32))
        for row, want in zip(ref["rows"], ref["predictions"]):
            st, body = d.json("POST", "/predict", {"features": row})
            assert st == 200 and np.float32(body["predictions"][0]) == \
                np.float32(want), (body, want)


def main():
    global tmpdir
    tmpdir = tempfile.mkdtemp(prefix="inferd-xgb.")
    try:
        run([make_test(o) for o in OBJECTIVES] +
            [test_base_score_and_forest, test_bundled_model_reference])
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
