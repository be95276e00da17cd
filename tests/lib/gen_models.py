#!/usr/bin/python3
"""Build XGBoost models for inferd's tests and benchmark.

As a module:
    from gen_models import build, OBJECTIVES
    case = build(outdir, "binary:logistic", depth=4, nfeatures=12, seed=1)
    case.path       the saved JSON model (Booster.save_model)
    case.X          test rows (float64, NaN = missing), never seen in training
    case.expected   Booster.predict(case.X) as float32, (rows,) or (rows, k)

As a program:
    /usr/bin/python3 tests/lib/gen_models.py bench OUT.json
        the benchmark model: 100 trees of depth 6 on 50 features
    /usr/bin/python3 tests/lib/gen_models.py OBJECTIVE DEPTH NFEATURES OUT.json

Everything is deterministic: fixed seeds, one thread, no sampling.
"""

import sys

import numpy as np
import xgboost as xgb

OBJECTIVES = ("reg:squarederror", "reg:logistic", "binary:logistic",
              "binary:logitraw", "multi:softprob", "multi:softmax")
NUM_CLASS = 4


class Case:
    def __init__(self, path, booster, X, expected, objective):
        self.path = path
        self.booster = booster
        self.X = X
        self.expected = expected
        self.objective = objective


def _data(rng, n, nfeatures, objective, missing):
    """Features with a spread of scales, NaN holes and a learnable label."""
    scale = 10.0 ** rng.randint(-3, 4, size=nfeatures)
    X = rng.randn(n, nfeatures) * scale
    signal = np.tanh(X[:, 0] / scale[0])
    if nfeatures > 1:
        signal += np.sin(X[:, 1] / scale[1])
    X[rng.rand(n, nfeatures) < missing] = np.nan
    noise = rng.randn(n) * 0.3
    if objective.startswith("multi:"):
        y = np.digitize(signal + noise, [-0.8, 0.0, 0.8])
    elif objective == "reg:squarederror":
        y = 5.0 * signal + noise + 3.0
    elif objective == "reg:logistic":
        y = 1.0 / (1.0 + np.exp(-(signal + noise)))
    else:
        y = (signal + noise > 0).astype(np.float64)
    return X, y


def build(outdir, objective, depth=4, nfeatures=10, rounds=20, seed=0,
          missing=0.1, rows=2000, train_rows=3000, params=None,
          name=None):
    """Train, save under outdir and predict on fresh rows; see module doc."""
    rng = np.random.RandomState(seed)
    X, y = _data(rng, train_rows, nfeatures, objective, missing)
    p = {"objective": objective, "max_depth": depth, "eta": 0.3,
         "nthread": 1, "seed": seed, "tree_method": "exact",
         "min_child_weight": 0.5}
    if objective.startswith("multi:"):
        p["num_class"] = NUM_CLASS
    p.update(params or {})
    booster = xgb.train(p, xgb.DMatrix(X, label=y, missing=np.nan),
                        num_boost_round=rounds)
    path = "%s/%s.json" % (outdir, name or "%s-d%d-f%d-s%d" % (
        objective.replace(":", "_"), depth, nfeatures, seed))
    booster.save_model(path)
    Xt, _ = _data(rng, rows, nfeatures, objective, missing)
    Xt[0, :] = np.nan                      # an all-missing row
    if rows > 2:
        Xt[1, :] = 0.0                     # zeros are values, not missing
        Xt[2, :] = -0.0
    expected = booster.predict(xgb.DMatrix(Xt, missing=np.nan))
    return Case(path, booster, Xt, expected.astype(np.float32), objective)


def main(argv):
    if len(argv) == 3 and argv[1] == "bench":
        rng = np.random.RandomState(7)
        X = rng.randn(20000, 50)
        y = (X[:, :10].sum(axis=1) + np.sin(X[:, 10:20]).sum(axis=1)
             + rng.randn(20000) > 0).astype(float)
        X[rng.rand(*X.shape) < 0.05] = np.nan
        b = xgb.train({"objective": "binary:logistic", "max_depth": 6,
                       "eta": 0.1, "nthread": 1, "seed": 0,
                       "tree_method": "hist"},
                      xgb.DMatrix(X, label=y), num_boost_round=100)
        b.save_model(argv[2])
        return 0
    if len(argv) == 5 and argv[1] in OBJECTIVES:
        import os
        out = os.path.abspath(argv[4])
        case = build(os.path.dirname(out), argv[1], depth=int(argv[2]),
                     nfeatures=int(argv[3]),
                     name=os.path.basename(out)[:-len(".json")])
        print(case.path)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
