#!/usr/bin/python3
"""Train inferd's bundled example model.

A small gradient-boosted classifier (20 trees of depth 3, binary:logistic)
on scikit-learn's breast cancer data set, which sklearn ships offline.
Deterministic: one thread, fixed seed, the exact tree method, no sampling.

    /usr/bin/python3 models/train.py [OUTDIR]

writes OUTDIR/breast_cancer.json (Booster.save_model, XGBoost's JSON) and
OUTDIR/breast_cancer.reference.json: a few rows (one with missing values,
as JSON null) and XGBoost's own predictions for them, which the tests and
a curl user can compare inferd's answers with.  OUTDIR defaults to the
directory of this script.
"""

import json
import os
import sys

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

PARAMS = {
    "objective": "binary:logistic",
    "max_depth": 3,
    "eta": 0.3,
    "tree_method": "exact",
    "nthread": 1,
    "seed": 0,
    "eval_metric": "logloss",
}
ROUNDS = 20
REFERENCE_ROWS = [0, 1, 19, 100, 200, 300, 400, 500]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.abspath(__file__))
    data = load_breast_cancer()
    X = data.data.astype(np.float64)
    y = data.target
    booster = xgb.train(PARAMS, xgb.DMatrix(X, label=y),
                        num_boost_round=ROUNDS)
    model_path = os.path.join(outdir, "breast_cancer.json")
    booster.save_model(model_path)

    rows = X[REFERENCE_ROWS].copy()
    missing = rows[1].copy()
    missing[[0, 7, 20, 27]] = np.nan     # radius, concave points: missing
    rows = np.vstack([rows, missing, np.full(X.shape[1], np.nan)])
    pred = booster.predict(xgb.DMatrix(rows, missing=np.nan))
    reference = {
        "model": "breast_cancer.json",
        "xgboost_version": xgb.__version__,
        "objective": PARAMS["objective"],
        "feature_names": [str(n) for n in data.feature_names],
        "target_names": [str(n) for n in data.target_names],
        "note": "predictions are XGBoost's Booster.predict (float32) for "
                "rows; null is a missing value; the last row is all "
                "missing, what GET /predict predicts on",
        "rows": [[None if np.isnan(v) else float(v) for v in r]
                 for r in rows],
        "predictions": [float(p) for p in pred],
    }
    # One row per line: readable, and small enough to diff.
    text = json.dumps({k: v for k, v in reference.items() if k != "rows"},
                      indent=1)
    text = text[:-2] + ',\n "rows": [\n' + ",\n".join(
        "  " + json.dumps(r) for r in reference["rows"]) + "\n ]\n}\n"
    json.loads(text)
    with open(os.path.join(outdir, "breast_cancer.reference.json"),
              "w") as f:
        f.write(text)
    print("wrote %s (%d bytes, %d trees) and its reference rows" %
          (model_path, os.path.getsize(model_path), ROUNDS))


if __name__ == "__main__":
    main()
