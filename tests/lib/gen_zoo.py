#!/usr/bin/python3
"""Train a zoo of small XGBoost models: every objective, booster, kind of
categorical split, multi-target, early stopping and feature names the
installed XGBoost (Debian's 1.7) can save, each saved as JSON and UBJSON,
with reference predictions.

    /usr/bin/python3 tests/lib/gen_zoo.py OUTDIR

writes, for each case NAME,
    OUTDIR/NAME.json, OUTDIR/NAME.ubj    the model, save_model both ways
    OUTDIR/NAME.bin                      save_model("NAME.bin"): XGBoost's
        binary format, unless XGBoost refuses to write the model so
        (categorical splits): then the case's "bin_refused" says why
    OUTDIR/NAME.ref.json                 {"rows": [[x, null (NaN), ...]],
        "predict": Booster.predict, "margin": output_margin=True,
        "predict_best" / "margin_best": iteration_range=(0, best + 1) when
        the model was early-stopped, plus objective, booster, best_iteration}
and OUTDIR/legacy.model (the binary format under a name of XGBoost
before 1.0), with OUTDIR/legacy_noheader.model (the same without "binf",
as 0.x wrote) and OUTDIR/legacy_v0.model (also marked version 0.0, whose
base_score 1.x reads as transformed), each with the predictions XGBoost
gives loading those very bytes, and prints a JSON manifest of all of it.  Each model is also checked against
the reference evaluator tests/lib/xgb_ref.py (both formats); a mismatch is
reported in the manifest ("ref_max_ulps") and makes the exit status 1.

Deterministic: fixed seeds, one thread, no sampling.  Small: a few trees of
depth <= 3 on a few hundred rows; the zoo takes a few seconds.
"""

import json
import os
import sys
import warnings

import numpy as np
import xgboost as xgb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xgb_ref  # noqa: E402

NROWS = 300
NFEAT = 4
NCATS = 5           # categories 0..4 in training
ROUNDS = 4


def _features(rng, n, cat=False):
    X = rng.randn(n, NFEAT)
    if cat:
        X[:, 0] = rng.randint(0, NCATS, n)
        X[:, 2] = rng.randint(0, NCATS, n)
    X[rng.rand(n, NFEAT) < 0.08] = np.nan
    return X


def _signal(X):
    s = np.nan_to_num(X[:, 1]) + 0.5 * np.sin(np.nan_to_num(X[:, 3]))
    return s + np.where(np.isin(X[:, 0], [1, 3]), 1.0, -0.5)


def _labels(kind, X, rng):
    s = _signal(X) + 0.3 * rng.randn(len(X))
    if kind == "real":
        return 3 * s + 1
    if kind == "positive":
        return np.exp(0.5 * s)
    if kind == "unit":
        return 1 / (1 + np.exp(-s))
    if kind == "binary":
        return (s > 0).astype(float)
    if kind == "count":
        return rng.poisson(np.exp(0.5 * s)).astype(float)
    if kind == "tweedie":
        y = rng.poisson(np.exp(0.3 * s)) * np.exp(0.5 * s)
        return y.astype(float)
    if kind == "cox":
        t = np.exp(-0.5 * s) * rng.exponential(1, len(X)) + 0.01
        censored = rng.rand(len(X)) < 0.2
        return np.where(censored, -t, t)
    if kind == "class":
        return np.digitize(s, [-0.5, 0.7]).astype(float)
    if kind == "rank":
        return np.clip(np.round(s + 1), 0, 3)
    if kind == "multi":
        return np.c_[3 * s + 1, np.nan_to_num(X[:, 2]) - s]
    raise ValueError(kind)


# name, params, label kind, extra options
TREE = {"tree_method": "hist", "max_depth": 3, "eta": 0.5}
CASES = [
    ("squarederror", {"objective": "reg:squarederror"}, "real", {}),
    ("squaredlogerror", {"objective": "reg:squaredlogerror"}, "positive",
     {}),
    ("logistic", {"objective": "reg:logistic"}, "unit", {}),
    ("pseudohubererror", {"objective": "reg:pseudohubererror"}, "real", {}),
    ("absoluteerror", {"objective": "reg:absoluteerror"}, "real", {}),
    ("binary_logistic", {"objective": "binary:logistic"}, "binary", {}),
    ("binary_logistic_bs03", {"objective": "binary:logistic",
                              "base_score": 0.3}, "binary", {}),
    ("binary_logitraw", {"objective": "binary:logitraw"}, "binary", {}),
    ("binary_hinge", {"objective": "binary:hinge"}, "binary", {}),
    ("poisson", {"objective": "count:poisson"}, "count", {}),
    ("cox", {"objective": "survival:cox"}, "cox", {}),
    ("aft", {"objective": "survival:aft",
             "aft_loss_distribution": "normal"}, "positive", {"aft": True}),
    ("gamma", {"objective": "reg:gamma"}, "positive", {}),
    ("tweedie", {"objective": "reg:tweedie",
                 "tweedie_variance_power": 1.3}, "tweedie", {}),
    ("softmax", {"objective": "multi:softmax", "num_class": 3}, "class", {}),
    ("softprob", {"objective": "multi:softprob", "num_class": 3}, "class",
     {}),
    ("rank_pairwise", {"objective": "rank:pairwise"}, "rank",
     {"group": 20}),
    ("rank_ndcg", {"objective": "rank:ndcg"}, "rank", {"group": 20}),
    ("rank_map", {"objective": "rank:map"}, "binary", {"group": 20}),
    ("dart", {"booster": "dart", "objective": "binary:logistic",
              "rate_drop": 0.5, "skip_drop": 0.0, "one_drop": 1},
     "binary", {}),
    ("dart_softprob", {"booster": "dart", "objective": "multi:softprob",
                       "num_class": 3, "rate_drop": 0.4, "one_drop": 1},
     "class", {}),
    ("gblinear", {"booster": "gblinear", "objective": "reg:squarederror"},
     "real", {}),
    ("gblinear_logistic", {"booster": "gblinear",
                           "objective": "binary:logistic"}, "binary", {}),
    ("gblinear_softprob", {"booster": "gblinear",
                           "objective": "multi:softprob", "num_class": 3},
     "class", {}),
    ("cat_onehot", {"objective": "reg:squarederror",
                    "max_cat_to_onehot": 64}, "real", {"cat": True}),
    ("cat_partition", {"objective": "binary:logistic",
                       "max_cat_to_onehot": 1}, "binary", {"cat": True}),
    ("cat_softprob", {"objective": "multi:softprob", "num_class": 3,
                      "max_cat_to_onehot": 1}, "class", {"cat": True}),
    ("multi_target", {"objective": "reg:squarederror"}, "multi", {}),
    ("early_stop", {"objective": "binary:logistic", "eta": 0.3,
                    "max_depth": 3}, "binary", {"early": True}),
    ("feature_names", {"objective": "reg:squarederror"}, "real",
     {"names": True}),
    ("parallel_tree", {"objective": "binary:logistic",
                       "num_parallel_tree": 2, "subsample": 1.0},
     "binary", {}),
]


def _test_rows(rng, cat):
    """Rows never seen in training: NaN holes, an all-missing row, and for
    categorical features values outside the trained set (unseen, large,
    negative, non-integer)."""
    X = _features(rng, 40, cat)
    X[0, :] = np.nan
    if cat:
        odd = [NCATS, NCATS + 3, 1000, -1, 2.5, 3.999, 1e9, 0.0, np.nan]
        for i, v in enumerate(odd):
            X[1 + i, 0] = v
            X[1 + i, 2] = odd[-1 - i]
    return X


def _dmatrix(X, y, opts, names, types):
    kw = {"feature_names": names}
    if opts.get("cat"):
        kw.update(feature_types=types, enable_categorical=True)
    d = xgb.DMatrix(X, y, **kw)
    return d


def _train(name, params, kind, opts, rng):
    cat = bool(opts.get("cat"))
    X = _features(rng, NROWS, cat)
    y = _labels(kind, X, rng)
    names = (["age", "bmi", "colour", "dose"] if opts.get("names") or cat
             else None)
    types = ["c", "q", "c", "q"] if cat else None
    p = dict(TREE)
    p.update(seed=0, nthread=1)
    p.update(params)
    if p.get("booster") == "gblinear":
        for k in ("tree_method", "max_depth", "max_cat_to_onehot"):
            p.pop(k, None)
    d = _dmatrix(X, None if opts.get("aft") else y, opts, names, types)
    if opts.get("aft"):
        lo = y.copy()
        hi = np.where(rng.rand(len(y)) < 0.3, np.inf, y)
        d.set_float_info("label_lower_bound", lo)
        d.set_float_info("label_upper_bound", hi)
    if opts.get("group"):
        d.set_group([opts["group"]] * (NROWS // opts["group"]))
    kw = {}
    rounds = ROUNDS
    if opts.get("early"):
        Xv = _features(rng, 200, cat)
        yv = _labels(kind, Xv, rng)
        yv = np.where(rng.rand(len(yv)) < 0.15, 1 - yv, yv)  # noisy: stops
        kw = {"evals": [(_dmatrix(Xv, yv, opts, names, types), "val")],
              "early_stopping_rounds": 3, "verbose_eval": False}
        rounds = 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = xgb.train(p, d, rounds, **kw)
    Xt = _test_rows(rng, cat)
    dt = _dmatrix(Xt, None, opts, names, types)
    return b, Xt, dt


def _ulps(a, b):
    """Largest distance in float32 units in the last place."""
    a = np.asarray(a, dtype=np.float32).ravel().view(np.int32).astype(
        np.int64)
    b = np.asarray(b, dtype=np.float32).ravel().view(np.int32).astype(
        np.int64)
    return int(np.max(np.abs(a - b))) if len(a) else 0


def _rows_json(X):
    return [[None if np.isnan(v) else float(v) for v in r] for r in X]


def _case(outdir, name, params, kind, opts, rng):
    b, Xt, dt = _train(name, params, kind, opts, rng)
    paths = {f: os.path.join(outdir, name + "." + f) for f in ("json", "ubj")}
    for p in paths.values():
        b.save_model(p)
    pred = b.predict(dt)
    margin = b.predict(dt, output_margin=True)
    binpath, bin_refused, bin_same = os.path.join(outdir, name + ".bin"), \
        None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b.save_model(binpath)
        # XGBoost loading its own binary file answers as the booster did
        bb = xgb.Booster(model_file=binpath)
        bb.set_param({"nthread": 1})
        bin_same = _ulps(bb.predict(xgb.DMatrix(Xt)), pred) == 0
    except xgb.core.XGBoostError as ex:
        bin_refused = str(ex).splitlines()[0]
        binpath = None
    ref = {"name": name, "objective": params.get("objective"),
           "booster": params.get("booster", "gbtree"),
           "params": params, "rows": _rows_json(Xt),
           "predict": pred.tolist(), "margin": margin.tolist()}
    attrs = b.attributes()
    best = None
    if opts.get("early"):
        best = int(attrs["best_iteration"])
        rng_ = (0, best + 1)
        ref["predict_best"] = b.predict(dt, iteration_range=rng_).tolist()
        ref["margin_best"] = b.predict(dt, iteration_range=rng_,
                                       output_margin=True).tolist()
        ref["num_boosted_rounds"] = b.num_boosted_rounds()
    ref["best_iteration"] = best
    ref["attributes"] = attrs
    ulps = 0
    for p in paths.values():
        m = xgb_ref.RefModel.load(p)
        ulps = max(ulps, _ulps(m.predict(Xt), pred),
                   _ulps(m.predict(Xt, output_margin=True), margin))
        if best is not None:
            ulps = max(ulps, _ulps(m.predict(Xt, iteration_range=(0, best + 1)),
                                   ref["predict_best"]))
    ref["ref_max_ulps"] = ulps
    with open(os.path.join(outdir, name + ".ref.json"), "w") as f:
        json.dump(ref, f)
    return {"name": name, "json": paths["json"], "ubj": paths["ubj"],
            "bin": binpath, "bin_refused": bin_refused,
            "bin_same": bin_same,
            "ref": os.path.join(outdir, name + ".ref.json"),
            "objective": ref["objective"], "booster": ref["booster"],
            "best_iteration": best, "ref_max_ulps": ulps}


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_zoo.py OUTDIR\n")
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.RandomState(9)
    manifest = {"xgboost": xgb.__version__, "cases": [],
                "not_in_this_xgboost": []}
    for name, params, kind, opts in CASES:
        manifest["cases"].append(_case(outdir, name, params, kind, opts, rng))
    try:
        xgb.train({"objective": "reg:quantileerror"},
                  xgb.DMatrix(np.zeros((2, 1)), np.zeros(2)), 1)
    except xgb.core.XGBoostError:
        manifest["not_in_this_xgboost"].append("reg:quantileerror")
    # the binary format under an old name, then as 0.x wrote it: no
    # "binf" header, and version 0.0 (base_score read as transformed)
    b, Xt, _ = _train("legacy", {"objective": "binary:logistic",
                                 "base_score": 0.3}, "binary", {}, rng)
    legacy = os.path.join(outdir, "legacy.model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.save_model(legacy)
    with open(legacy, "rb") as f:
        raw = f.read()
    assert raw[:4] == b"binf"
    noheader = raw[4:]
    v0 = noheader[:20] + bytes(8) + noheader[28:]
    manifest["legacy"] = []
    for fname, data in (("legacy.model", raw),
                        ("legacy_noheader.model", noheader),
                        ("legacy_v0.model", v0)):
        path = os.path.join(outdir, fname)
        with open(path, "wb") as f:
            f.write(data)
        # quiet: XGBoost's warning about < 1.0 goes to stdout
        with warnings.catch_warnings(), xgb.config_context(verbosity=0):
            warnings.simplefilter("ignore")
            bb = xgb.Booster(model_file=path)
        ref = {"rows": _rows_json(Xt),
               "predict": bb.predict(xgb.DMatrix(Xt)).tolist()}
        refpath = path + ".ref.json"
        with open(refpath, "w") as f:
            json.dump(ref, f)
        manifest["legacy"].append({"name": fname, "path": path,
                                   "ref": refpath})
    json.dump(manifest, sys.stdout, indent=1)
    sys.stdout.write("\n")
    bad = [c["name"] for c in manifest["cases"] if c["ref_max_ulps"] != 0]
    if bad:
        sys.stderr.write("xgb_ref differs from Booster.predict: %s\n" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
