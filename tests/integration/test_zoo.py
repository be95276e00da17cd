"""Every kind of model XGBoost saves, against Booster.predict.

tests/lib/gen_zoo.py trains, with the Debian XGBoost, one small model per
objective, booster (gbtree, dart, gblinear), categorical split kind
(one-hot, partition), multi-target, num_parallel_tree, feature names and
early stopping, and saves each as JSON, as UBJSON and in XGBoost's binary
format (save_model("NAME.bin"); 1.7 refuses to write categorical splits
so) with Booster.predict's
outputs for 40 rows that have NaN holes, an all-missing row and, for the
categorical models, categories outside the trained set (unseen, 1000, -1,
2.5, 3.999, 1e9).  tests/zoo_predict (built by make check) loads each file
with inferd's loader and predicts the same rows; every output must be
float32-identical to XGBoost's (no tolerance: inferd does XGBoost's float
arithmetic).  The early-stopped model is also checked with model_trees =
best against iteration_range=(0, best_iteration + 1).  The binary format
is also read under an old name (legacy.model), without its "binf" header
as 0.x wrote it, and marked version 0 (base_score stored transformed),
each against what XGBoost 1.7 predicts loading the same bytes; damaged
binary files are refused naming the byte and what to do.

A few models then go through the real daemon: /predict on a UBJSON model,
a categorical model and a dart model.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from harness import Inferd, note, run

BUILDDIR = os.environ.get("INFERD_BUILDDIR", ".")
SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
DRIVER = os.path.join(BUILDDIR, "tests", "lib", "zoo_predict")

tmpdir = None
manifest = None
# gen_zoo.py's cases, each a test here
NAMES = ["squarederror", "squaredlogerror", "logistic", "pseudohubererror",
         "absoluteerror", "binary_logistic", "binary_logistic_bs03",
         "binary_logitraw", "binary_hinge", "poisson", "cox", "aft", "gamma",
         "tweedie", "softmax", "softprob", "rank_pairwise", "rank_ndcg",
         "rank_map", "dart", "dart_softprob", "gblinear",
         "gblinear_logistic", "gblinear_softprob", "cat_onehot",
         "cat_partition", "cat_softprob", "multi_target", "early_stop",
         "feature_names", "parallel_tree"]


def predict(path, ref, trees="all"):
    """zoo_predict's answer for model path and the rows of ref."""
    p = subprocess.run([DRIVER, path, ref, trees], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, "%s: exit %d: %s" % (path, p.returncode,
                                                  p.stderr.strip())
    return json.loads(p.stdout)


def same_f32(what, got, want):
    """Assert got equals want as float32, element for element."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float32)
    got = got.reshape(want.shape) if got.size == want.size else got
    assert got.shape == want.shape, "%s: shape %s, XGBoost %s" % (
        what, got.shape, want.shape)
    g32 = got.astype(np.float32)
    bad = np.flatnonzero(g32.ravel() != want.ravel())
    if len(bad):
        i = bad[0]
        raise AssertionError("%s: %d of %d outputs differ; first at %d: "
                             "inferd %r, XGBoost %r" % (
                                 what, len(bad), want.size, i,
                                 float(g32.ravel()[i]),
                                 float(want.ravel()[i])))


def load_ref(case):
    with open(case["ref"]) as f:
        return json.load(f)


def test_generate_zoo():
    """gen_zoo.py trains the zoo (and its own reference evaluator agrees
    with Booster.predict on every model)."""
    global manifest
    p = subprocess.run([sys.executable,
                        os.path.join(SRCDIR, "tests", "lib", "gen_zoo.py"), tmpdir],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    manifest = json.loads(p.stdout)
    got = sorted(c["name"] for c in manifest["cases"])
    assert got == sorted(NAMES), "the zoo and this test differ: %s" % (
        sorted(set(got) ^ set(NAMES)))
    note("XGBoost %s: %d models, each as JSON and UBJSON"
         % (manifest["xgboost"], len(manifest["cases"])))


def make_case_test(name):
    def test():
        case = [c for c in manifest["cases"] if c["name"] == name][0]
        ref = load_ref(case)
        fmts = ["json", "ubj"]
        if name.startswith("cat_"):
            # XGBoost 1.7 writes no categorical split in binary
            assert case["bin"] is None and "categorical" in \
                case["bin_refused"], case
        else:
            assert case["bin"] is not None, case["bin_refused"]
            assert case["bin_same"], "XGBoost reloading %s.bin differs" % name
            fmts.append("bin")
        for fmt in fmts:
            out = predict(case[fmt], case["ref"])
            assert out["booster"] == ref["booster"], out["booster"]
            same_f32("%s.%s" % (name, fmt), out["predict"], ref["predict"])
    test.__name__ = "test_zoo_" + name
    test.__doc__ = "%s: JSON, UBJSON and binary equal Booster.predict" % name
    return test


def test_early_stopping_best():
    """model_trees = best serves up to best_iteration, as
    iteration_range=(0, best + 1); all serves every round; both log."""
    case = [c for c in manifest["cases"] if c["name"] == "early_stop"][0]
    ref = load_ref(case)
    best = ref["best_iteration"]
    rounds = ref["num_boosted_rounds"]
    assert best + 1 < rounds, (best, rounds)
    for fmt in ("json", "ubj", "bin"):
        out = predict(case[fmt], case["ref"], "best")
        same_f32("early_stop.%s best" % fmt, out["predict"],
                 ref["predict_best"])
        assert "serving %d of %d rounds" % (best + 1, rounds) in \
            out["note"], out["note"]
        out = predict(case[fmt], case["ref"], "all")
        same_f32("early_stop.%s all" % fmt, out["predict"], ref["predict"])
        assert "model_trees = best serves %d" % (best + 1) in out["note"], \
            out["note"]
    # 1.7 sets best_iteration on every model: no note when it is the last
    other = [c for c in manifest["cases"] if c["name"] == "squarederror"][0]
    assert predict(other["json"], other["ref"], "best")["note"] is None


def test_legacy_binary_forms():
    """The binary format as legacy.model, without "binf" (0.x) and marked
    version 0 (base_score transformed): as XGBoost 1.7 reads the bytes."""
    assert [c["name"] for c in manifest["legacy"]] == [
        "legacy.model", "legacy_noheader.model", "legacy_v0.model"]
    for c in manifest["legacy"]:
        with open(c["ref"]) as f:
            ref = json.load(f)
        out = predict(c["path"], c["ref"])
        same_f32(c["name"], out["predict"], ref["predict"])


def refused(path, ref):
    p = subprocess.run([DRIVER, path, ref], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1, (path, p.returncode, p.stdout[:200])
    return p.stderr


def test_binary_damaged_refused():
    """A cut, padded or altered binary model is refused, naming the byte
    and what was found; never a crash or a wrong model."""
    case = [c for c in manifest["cases"] if c["name"] == "dart"][0]
    with open(case["bin"], "rb") as f:
        raw = f.read()
    bad = os.path.join(tmpdir, "bad.bin")

    def check(data, *want):
        with open(bad, "wb") as f:
            f.write(data)
        err = refused(bad, case["ref"])
        for w in want:
            assert w in err, (w, err)
        return err

    # every cut: at the header, in mparam, the names, the trees, weights
    for cut in (6, 100, 150, 300, len(raw) // 2, len(raw) - 3):
        check(raw[:cut], "XGBoost binary model, byte", "truncated")
    check(raw + b"xx", "2 bytes after the model's end",
          'save_model("model.json")')
    # the objective's name length made huge
    big = raw[:140] + (1 << 40).to_bytes(8, "little") + raw[148:]
    check(big, "byte 140", "the objective's name: length 1099511627776")
    # an unknown booster name of the same length as gbtree... (dart: 4)
    i = raw.index(b"dart")
    check(raw[:i] + b"dorg" + raw[i + 4:], 'booster "dorg" is not one of')
    # an unknown objective
    i = raw.index(b"binary:logistic")
    check(raw[:i] + b"binary:logistix" + raw[i + 15:],
          '"binary:logistix" is not an objective')
    # a child out of range: the checks the JSON model gets
    j = raw.index(b"dart") + 4 + XGB_GBTREE_PARAM + XGB_TREE_PARAM
    node = raw[:j + 4] + (999).to_bytes(4, "little") + raw[j + 8:]
    check(node, "trees[0]", "999")


XGB_GBTREE_PARAM = 160
XGB_TREE_PARAM = 148


def test_daemon_binary():
    """The real daemon serves a binary model on every route: GET and POST
    /predict, OIP metadata and inference, KServe v1 (instances and
    inputs) give Booster.predict's answers; a SIGHUP reload from a JSON
    model to a binary one and back; the limits (max_model_bytes,
    max_tree_depth) hold for binary files too."""
    case = [c for c in manifest["cases"] if c["name"] == "softprob"][0]
    ref = load_ref(case)
    rows = ref["rows"]
    want = np.asarray(ref["predict"], dtype=np.float32)
    with Inferd(workers=1, model=case["bin"]) as d:
        name = "softprob"
        st, body = d.json("POST", "/predict", {"instances": rows})
        assert st == 200, (st, body)
        same_f32("daemon softprob.bin", body["predictions"], want)
        for key in ("instances", "inputs"):
            st, body = d.json("POST", "/v1/models/%s:predict" % name,
                              {key: rows})
            assert st == 200, (st, body)
            same_f32("daemon softprob.bin v1 " + key, body["predictions"],
                     want)
        st, body = d.json("GET", "/v1/models")
        assert st == 200 and body == {"models": [name]}, body
        # GET /predict: the row of missing values, rows[0] of the zoo
        assert all(v is None for v in rows[0])
        st, body = d.json("GET", "/predict")
        assert st == 200, body
        same_f32("daemon GET /predict", body["predictions"], want[:1])
        # OIP: metadata from the model, inference with both outputs
        st, meta = d.json("GET", "/v2/models/" + name)
        assert st == 200, meta
        assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32",
                                   "shape": [-1, 4]}], meta
        labels = ["0", "1", "2"]
        assert meta["outputs"] == [
            {"name": "predict", "datatype": "FP32", "shape": [-1, 3],
             "parameters": {"objective": "multi:softprob",
                            "content": "class probabilities",
                            "class_labels": labels}},
            {"name": "label", "datatype": "INT64", "shape": [-1],
             "parameters": {"class_labels": labels}}], meta
        st, body = d.json("POST", "/v2/models/%s/infer" % name, {
            "inputs": [{"name": "input-0", "shape": [len(rows), 4],
                        "datatype": "FP32", "data": rows}]})
        assert st == 200, body
        p, lab = body["outputs"]
        same_f32("daemon OIP", p["data"], want.ravel())
        assert lab["data"] == np.argmax(want, axis=1).tolist(), lab
    # reload: JSON -> binary -> JSON, the version following the bytes
    conf = os.path.join(tmpdir, "reload.conf")
    model = os.path.join(tmpdir, "served")
    shutil.copy(case["json"], model)
    with open(conf, "w") as f:
        f.write("model = %s\n" % model)
    with Inferd(workers=1, model=None, config=conf) as d:
        v_json = d.json("GET", "/v2/models/served")[1]["versions"][0]
        shutil.copy(case["bin"], model + ".new")
        os.replace(model + ".new", model)
        n = len(d.lines)
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(r"reload: model served ", 20, n)
        deadline = time.monotonic() + 20
        while True:
            st, meta = d.json("GET", "/v2/models/served")
            if st == 200 and meta["versions"][0] != v_json:
                break
            assert time.monotonic() < deadline, meta
            time.sleep(0.05)
        st, body = d.json("POST", "/predict", {"instances": rows})
        assert st == 200, body
        same_f32("daemon after reload to binary", body["predictions"], want)
    # limits: max_model_bytes and max_tree_depth refuse a binary file
    size = os.path.getsize(case["bin"])
    p = subprocess.run([os.path.join(BUILDDIR, "src", "inferd"), "-t",
                        "--no-config", "--model", case["bin"], "-o",
                        "max_model_bytes=%d" % (size - 1)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "max_model_bytes" in p.stderr, p.stderr
    p = subprocess.run([os.path.join(BUILDDIR, "src", "inferd"), "-t",
                        "--no-config", "--model", case["bin"], "-o",
                        "max_tree_depth=2"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "max_tree_depth" in p.stderr, p.stderr
    p = subprocess.run([os.path.join(BUILDDIR, "src", "inferd"), "-t",
                        "--no-config", "--model", case["bin"]],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "multi:softprob" in p.stdout, p


def test_daemon_ubjson_categorical_dart():
    """The real daemon serves a UBJSON, a categorical and a dart model as
    Booster.predict does."""
    for name, fmt in (("softprob", "ubj"), ("cat_partition", "ubj"),
                      ("cat_onehot", "json"), ("dart", "json")):
        case = [c for c in manifest["cases"] if c["name"] == name][0]
        ref = load_ref(case)
        with Inferd(workers=1, model=case[fmt]) as d:
            st, body = d.json("POST", "/predict",
                              {"instances": ref["rows"]})
            assert st == 200, (name, st, body)
            same_f32("daemon %s.%s" % (name, fmt), body["predictions"],
                     ref["predict"])


def main():
    global tmpdir
    tmpdir = tempfile.mkdtemp(prefix="inferd-zoo.")
    try:
        tests()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def tests():
    run([test_generate_zoo] + [make_case_test(n) for n in NAMES] +
        [test_early_stopping_best, test_legacy_binary_forms,
         test_binary_damaged_refused, test_daemon_binary,
         test_daemon_ubjson_categorical_dart])


if __name__ == "__main__":
    main()
