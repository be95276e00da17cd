"""The model file and its limits, through the real daemon.

A FIFO (or anything not a regular file) at the model path must not hang
the daemon: at start and with -t it exits 1 naming the file and what it
is; on SIGHUP the old model stays.  max_model_bytes and max_tree_depth
refuse a model at load with the key's name; model_trees = best serves an
early-stopped model up to best_iteration and the start is logged with both
counts and the key.
"""

import os
import shutil
import signal
import subprocess
import tempfile

import numpy as np

from harness import BIN, MODEL, Inferd, run

tmpdir = None


def start_fails(args, expect):
    """inferd with args must exit 1 within the timeout, saying expect."""
    p = subprocess.run([BIN, "-l", "127.0.0.1:0", "-m", "127.0.0.1:0"] +
                       args, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 1, (args, p.returncode, p.stderr)
    assert expect in p.stderr, (args, expect, p.stderr)
    assert "ready: " not in p.stderr


def test_fifo_model_refused_at_start_and_check():
    """A FIFO as the model: exit 1 at once, at start and with -t."""
    fifo = os.path.join(tmpdir, "model.json")
    os.mkfifo(fifo)
    try:
        want = "%s: is a FIFO, not a regular file" % fifo
        start_fails(["--model", fifo], want)
        start_fails(["--model", fifo, "-t"], want)
        start_fails(["--model", tmpdir], "%s: is a directory, not a "
                    "regular file" % tmpdir)
    finally:
        os.unlink(fifo)


def test_fifo_model_refused_at_reload():
    """SIGHUP with a FIFO in the model's place keeps the old model."""
    model = os.path.join(tmpdir, "reload.json")
    shutil.copy(MODEL, model)
    try:
        with Inferd(workers=1, model=model) as d:
            os.unlink(model)
            os.mkfifo(model)
            n = len(d.lines)
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log(r"reload: .*is a FIFO, not a regular file.*; "
                       r"keeping model", start=n, timeout=10)
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
    finally:
        os.unlink(model)


def test_fifo_config_refused():
    """A FIFO as the configuration file: exit 1 at once at start and with
    -t; on SIGHUP the running configuration stays and /metrics answers."""
    fifo = os.path.join(tmpdir, "inferd.conf")
    os.mkfifo(fifo)
    try:
        want = "%s: is a FIFO, not a regular file" % fifo
        start_fails(["--model", MODEL, "-c", fifo], want)
        start_fails(["--model", MODEL, "-c", fifo, "-t"], want)
    finally:
        os.unlink(fifo)
    conf = os.path.join(tmpdir, "reload.conf")
    with open(conf, "w") as f:
        f.write("max_delay = 3\n")
    try:
        with Inferd(workers=1, config=conf) as d:
            os.unlink(conf)
            os.mkfifo(conf)
            n = len(d.lines)
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log(r"reload: .*is a FIFO, not a regular file.*; "
                       r"keeping the running configuration", start=n,
                       timeout=10)
            assert d.sample("inferd_reload_failures_total",
                            what="config") == 1
            st, _, _ = d.request("GET", "/predict")
            assert st == 200
    finally:
        os.unlink(conf)


def test_max_model_bytes():
    """A model file larger than max_model_bytes is refused before it is
    read; the default takes the bundled model."""
    size = os.path.getsize(MODEL)
    start_fails(["--model", MODEL, "-o", "max_model_bytes=%d" % (size - 1),
                 "-t"], "file is %d bytes, more than max_model_bytes (%d)"
                % (size, size - 1))
    p = subprocess.run([BIN, "--model", MODEL, "-o",
                        "max_model_bytes=%d" % size, "-t"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    start_fails(["--model", MODEL, "-o", "max_model_bytes=0"],
                "max_model_bytes: '0' is not an integer from 1")


def test_max_tree_depth():
    """A tree deeper than max_tree_depth is refused at load."""
    start_fails(["--model", MODEL, "-o", "max_tree_depth=1", "-t"],
                "deeper than 1 levels (max_tree_depth)")
    start_fails(["--model", MODEL, "-o", "model_trees=some"],
                "model_trees: 'some' is not one of all, best")


def early_stopped_model():
    """An 8-round model saved with best_iteration 2, its rows and
    Booster.predict's answers with all trees and up to best_iteration."""
    import xgboost as xgb
    rng = np.random.RandomState(4)
    X = rng.randn(200, 3)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 2,
                   "nthread": 1, "seed": 0}, xgb.DMatrix(X, y), 8)
    b.set_attr(best_iteration="2")
    path = os.path.join(tmpdir, "early.ubj")
    b.save_model(path)
    Xt = rng.randn(20, 3)
    d = xgb.DMatrix(Xt)
    return (path, Xt, b.predict(d),
            b.predict(d, iteration_range=(0, 3)))


def test_model_trees_best():
    """model_trees = best serves best_iteration + 1 rounds, all serves
    every round; the start says which and how to change it."""
    path, X, all_pred, best_pred = early_stopped_model()
    rows = X.tolist()
    for mode, want, line in (
            ("best", best_pred, "serving 3 of 8 rounds, up to "
             "best_iteration 2 (model_trees = best"),
            ("all", all_pred, "best_iteration 2 (3 rounds) but serving "
             "all 8 rounds, as Booster.predict (model_trees = all; "
             "model_trees = best serves 3")):
        with Inferd(workers=1, model=path,
                    options={"model_trees": mode}) as d:
            assert any(line in ln for ln in d.lines), (line, d.log)
            st, body = d.json("POST", "/predict", {"instances": rows})
            assert st == 200, body
            got = np.asarray(body["predictions"], dtype=np.float32)
            assert np.array_equal(got, want.astype(np.float32)), (
                mode, got, want)
    assert not np.array_equal(all_pred, best_pred)


def main():
    global tmpdir
    tmpdir = tempfile.mkdtemp(prefix="inferd-models.")
    try:
        run([test_fifo_model_refused_at_start_and_check,
             test_fifo_config_refused,
             test_fifo_model_refused_at_reload, test_max_model_bytes,
             test_max_tree_depth, test_model_trees_best])
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
