"""ONNX-ML tree ensembles, against ONNX Runtime.

tests/lib/onnx_trees.py converts scikit-learn forests and gradient
boosting (Debian's python3-sklearn) into TreeEnsembleRegressor,
TreeEnsembleClassifier (ai.onnx.ml opsets 1 and 3) and TreeEnsemble (opset
5) graphs with the operators converters put around them (ZipMap, Cast,
Identity, a final Sigmoid or Softmax), every comparison mode, missing
values tracked either way, every aggregate_function and post_transform.
Each model is checked against scikit-learn's predict / predict_proba (where
the graph means the same thing: float32 against float64, so within 1e-4)
and then inferd's answers against ONNX Runtime's (onnxruntime-node, run
with node on one thread; installed by this test with npm into the build
tree if missing).

ONNX Runtime computes in float32 as inferd does: the ensembles' outputs
must be float32-identical, bit for bit, labels equal.  Two exceptions:
the graph's standard Sigmoid, Softmax and Exp operators are compared within
relative 1e-6 (absolute 1e-7): ONNX Runtime computes them with MLAS's
vectorised exp approximations, not libm's expf; and a double-input model
within relative 2e-6 (absolute 5e-4, the rounding of a dozen float
sums of values in the hundreds): ONNX Runtime sums its leaves in
double, inferd in float32 (its thresholds still compare exactly).

Then the real daemon: /predict, OIP inference with the probabilities and
the label outputs, OIP metadata, SIGHUP reloading one ONNX model for
another (and refusing a broken one); and hostile models, each refused
with a message naming what is wrong.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

from harness import Inferd, note, run

BUILDDIR = os.environ.get("INFERD_BUILDDIR", ".")
SRCDIR = os.environ.get("INFERD_SRCDIR", ".")
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))
DRIVER = os.path.join(BUILDDIR, "tests", "lib", "zoo_predict")
ORTDIR = os.path.abspath(os.path.join(BUILDDIR, "ort"))
ORT_RUN = os.path.join(SRCDIR, "tests", "lib", "ort_run.js")

tmpdir = None
models = {}
rows = {}


def install_ort():
    """onnxruntime-node in BUILDDIR/ort (the build tree is git-ignored)."""
    if os.path.exists(os.path.join(ORTDIR, "node_modules",
                                   "onnxruntime-node", "package.json")):
        return
    os.makedirs(ORTDIR, exist_ok=True)
    note("installing onnxruntime-node into %s" % ORTDIR)
    p = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit",
                        "--no-fund", "onnxruntime-node"], cwd=ORTDIR,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, "npm install onnxruntime-node: " + \
        p.stderr[-1500:]


def ort(path, x, double=False):
    """ONNX Runtime's tensor outputs for rows x: {name: np.array}."""
    f = os.path.join(tmpdir, "rows.f32")
    np.asarray(x, dtype="<f4").tofile(f)
    args = ["node", ORT_RUN, ORTDIR, path, f, str(x.shape[1])]
    if double:
        args.append("double")
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "%s: ONNX Runtime: %s" % (path, p.stderr)
    out = {}
    for name, v in json.loads(p.stdout).items():
        a = np.array(v["data"])
        out[name] = a.reshape(v["dims"]) if v["type"] != "string" else a
    return out


def inferd(path, x):
    """inferd's loader and evaluator (tests/lib/zoo_predict) on rows x."""
    ref = os.path.join(tmpdir, "rows.json")
    with open(ref, "w") as f:
        json.dump({"rows": [[None if np.isnan(v) else float(v) for v in r]
                            for r in x]}, f)
    p = subprocess.run([DRIVER, path, ref], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, "%s: exit %d: %s" % (path, p.returncode,
                                                  p.stderr.strip())
    return json.loads(p.stdout)


def test_rows(x, rng, holes):
    """x with NaN holes at random (a fraction holes of the values), an
    all-missing row and values on the thresholds' edges."""
    x = np.array(x, dtype=np.float32)
    if holes:
        x[rng.random(x.shape) < holes] = np.nan
        x[0, :] = np.nan
    return x


def same_f32(what, got, want):
    got = np.asarray(got, dtype=np.float64).astype(np.float32)
    want = np.asarray(want, dtype=np.float32).reshape(got.shape)
    bad = np.flatnonzero((got.ravel() != want.ravel()) &
                         ~(np.isnan(got.ravel()) & np.isnan(want.ravel())))
    if len(bad):
        i = bad[0]
        raise AssertionError("%s: %d of %d outputs differ; first at %d: "
                             "inferd %r, ONNX Runtime %r" % (
                                 what, len(bad), want.size, i,
                                 float(got.ravel()[i]),
                                 float(want.ravel()[i])))


def close(what, got, want, rtol, atol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64).reshape(got.shape)
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    if (err > 0).any():
        i = int(np.argmax(err))
        raise AssertionError("%s: %d outputs off by more than rtol %g atol "
                             "%g; worst at %d: %r against %r" % (
                                 what, int((err > 0).sum()), rtol, atol, i,
                                 got.ravel()[i], want.ravel()[i]))


def test_generate():
    """onnx_trees.py writes the zoo; where the graph means what the
    scikit-learn model means, its ONNX Runtime answers are
    predict_proba's / predict's (float32 against float64)."""
    import onnx_trees
    install_ort()
    models.update(onnx_trees.zoo(tmpdir))
    assert sorted(models) == sorted(onnx_trees.ZOO_NAMES), \
        sorted(set(models) ^ set(onnx_trees.ZOO_NAMES))
    rng = np.random.default_rng(3)
    base = rng.normal(size=(300, 8)).astype(np.float32) * 2.0
    rows["plain"] = test_rows(base, rng, 0.0)
    rows["holes"] = test_rows(base, rng, 0.15)
    checked = 0
    for name, (path, info) in sorted(models.items()):
        if not info.get("sk"):
            continue
        est = info["est"]
        o = ort(ort_twin(path), rows["plain"], info.get("double", False))
        x = rows["plain"].astype(np.float32)
        if info["classifier"]:
            p = est.predict_proba(x)
            close(name + " probabilities vs sklearn", o["probabilities"], p,
                  1e-4, 1e-5)
            lab = o["label"].astype(np.int64)
            # a probability tie breaks to the first class in both
            ok = np.abs(p.max(axis=1) - np.sort(p, axis=1)[:, -2]) > 1e-5
            assert (lab[ok] == est.predict(x)[ok]).all(), name
        elif info["sk"] == "proba":
            close(name + " vs sklearn predict_proba", o["variable"],
                  est.predict_proba(x), 1e-4, 1e-5)
        else:
            y = est.predict(x)
            close(name + " vs sklearn predict", o["variable"].ravel(), y,
                  1e-4, 1e-3)
        checked += 1
    note("%d models, %d checked against scikit-learn" % (len(models),
                                                        checked))


# The graph's own Sigmoid / Softmax operators: MLAS in ONNX Runtime.  (A
# double model, "double" in its info, is compared within float rounding:
# ONNX Runtime accumulates it in double.)
TOLERANT = {"gb_bin_sigmoid", "gb_multi_softmax", "gb_reg_exp"}


def ort_twin(path):
    """The model ONNX Runtime must be given for what path means.  ONNX
    Runtime 1.31 reads an opset-5 TreeEnsemble's post_transform in the
    order of its older operators' names (1 LOGISTIC, 2 SOFTMAX), where
    the ONNX specification (and inferd) has 1 SOFTMAX, 2 LOGISTIC: give it
    a twin with 1 and 2 swapped (scikit-learn confirms the
    specification's meaning, test_generate)."""
    import onnx
    m = onnx.load(path)
    nd = [n for n in m.graph.node if n.op_type == "TreeEnsemble"]
    if not nd:
        return path
    for a in nd[0].attribute:
        if a.name == "post_transform" and a.i in (1, 2):
            a.i = 3 - a.i
            twin = path[:-5] + ".ort.onnx"
            onnx.save(m, twin)
            return twin
    return path


def make_case(name):
    def test():
        path, info = models[name]
        for kind in ("plain", "holes"):
            x = rows[kind]
            o = ort(ort_twin(path), x, info.get("double", False))
            got = inferd(path, x)
            key = "probabilities" if info["classifier"] else "variable"
            want = o[key]
            assert got["noutputs"] == want.shape[1], (got["noutputs"],
                                                      want.shape)
            if name in TOLERANT:
                close("%s %s" % (name, kind), got["predict"], want, 1e-6,
                      1e-7)
            elif info.get("double"):
                # thresholds compare exactly (a path differing would be
                # off by a leaf); ONNX Runtime sums in double, inferd in
                # float
                close("%s %s" % (name, kind), got["predict"], want, 2e-6,
                      5e-4)
            else:
                same_f32("%s %s" % (name, kind), got["predict"], want)
            if info["classifier"]:
                lab = [str(v) for v in o["label"]]
                assert got["labels"] == lab, "%s %s: labels differ at %d" % (
                    name, kind, [a == b for a, b in
                                 zip(got["labels"], lab)].index(False))
    test.__name__ = "test_ort_" + name
    test.__doc__ = "%s: inferd equals ONNX Runtime" % name
    return test


def oip_row_body(x):
    return {"inputs": [{"name": "input", "datatype": "FP32",
                        "shape": list(x.shape),
                        "data": [None if np.isnan(v) else float(v)
                                 for v in x.ravel()]}]}


def test_daemon_predict_oip():
    """The real daemon: /predict and KServe v1 answer a classifier's
    probabilities as ONNX Runtime; OIP answers them and the label output,
    and its metadata lists both outputs with datatype, shape and the class
    labels."""
    x = rows["holes"][:50]
    for name in ("gb_multi_o1", "rf_bin2w_o1", "gb_reg_o3"):
        path, info = models[name]
        o = ort(path, x)
        key = "probabilities" if info["classifier"] else "variable"
        with Inferd(workers=1, model=path) as d:
            st, body = d.json("POST", "/predict", {"instances": [
                [None if np.isnan(v) else float(v) for v in r] for r in x]})
            assert st == 200, (name, st, body)
            same_f32("daemon /predict " + name, body["predictions"], o[key])
            model = name
            st, body = d.json("POST", "/v1/models/%s:predict" % model,
                              {"instances": [[None if np.isnan(v) else
                                              float(v) for v in r]
                                             for r in x]})
            assert st == 200, (name, st, body)
            same_f32("daemon KServe v1 " + name, body["predictions"],
                     o[key])
            st, meta = d.json("GET", "/v2/models/" + model)
            assert st == 200, (st, meta)
            outs = {t["name"]: t for t in meta["outputs"]}
            if not info["classifier"]:
                assert list(outs) == ["predict"], meta
                continue
            assert outs["predict"]["shape"] == [-1, info["groups"]], meta
            assert outs["label"]["shape"] == [-1], meta
            labels = [str(v) for v in o["label"]]
            if name == "rf_bin2w_o1":
                assert outs["label"]["datatype"] == "BYTES", meta
                assert outs["label"]["parameters"]["class_labels"] == \
                    ["no", "yes"], meta
            else:
                assert outs["label"]["datatype"] == "INT64", meta
                assert outs["label"]["parameters"]["class_labels"] == \
                    [0, 1, 2, 3], meta
            st, r = d.json("POST", "/v2/models/%s/infer" % model,
                           dict(oip_row_body(x), outputs=[
                               {"name": "predict"}, {"name": "label"}]))
            assert st == 200, (st, r)
            got = {t["name"]: t for t in r["outputs"]}
            same_f32("daemon OIP " + name, got["predict"]["data"],
                     o["probabilities"])
            assert [str(v) for v in got["label"]["data"]] == labels, name
            assert got["label"]["shape"] == [len(x)], got["label"]
            # the label alone
            st, r = d.json("POST", "/v2/models/%s/infer" % model,
                           dict(oip_row_body(x[:3]),
                                outputs=[{"name": "label"}]))
            assert st == 200 and [t["name"] for t in r["outputs"]] == \
                ["label"], (st, r)


def test_reload():
    """SIGHUP reloads an ONNX model in place: a regressor becomes a
    classifier (metadata and answers follow); a hostile file is refused
    with its message and the running model keeps serving."""
    import re
    import signal
    import time
    path = os.path.join(tmpdir, "served.onnx")
    shutil.copy(models["gb_reg_o1"][0], path)
    x = rows["plain"][:5]
    body = {"instances": [[float(v) for v in r] for r in x]}

    def hup(d, pattern):
        n = len(d.lines)
        d.proc.send_signal(signal.SIGHUP)
        return d.wait_log(pattern, 20, n)

    def answers(d, want):
        t0 = time.monotonic()
        while True:
            st, r = d.json("POST", "/predict", body)
            assert st == 200, (st, r)
            try:
                same_f32("reload", r["predictions"], want)
                return
            except AssertionError:
                # the old workers answer until they are replaced
                assert time.monotonic() - t0 < 20
                time.sleep(0.1)

    with Inferd(workers=1, model=path) as d:
        answers(d, ort(path, x)["variable"])
        shutil.copy(models["rf_multi_o1"][0], path + ".new")
        os.replace(path + ".new", path)
        hup(d, r"reload: model served \(TreeEnsembleClassifier")
        answers(d, ort(path, x)["probabilities"])
        st, meta = d.json("GET", "/v2/models/served")
        assert [o["name"] for o in meta["outputs"]] == ["predict", "label"], \
            meta
        bad = hostile("reload", lambda m: _attr(m, "nodes_featureids")
                      .ints.__setitem__(0, 99))
        shutil.copy(bad, path + ".new")
        os.replace(path + ".new", path)
        line = hup(d, r"reload: .*keeping model served")
        assert re.search(r"feature 99 out of range", line), line
        answers(d, ort(models["rf_multi_o1"][0], x)["probabilities"])


def hostile(name, mutate):
    """A copy of a zoo model changed by mutate(ModelProto), saved."""
    import onnx
    m = onnx.load(models["rf_multi_o1"][0])
    mutate(m)
    p = os.path.join(tmpdir, "hostile_%s.onnx" % name)
    with open(p, "wb") as f:
        f.write(m.SerializeToString())
    return p


def refused(path, *want):
    ref = os.path.join(tmpdir, "one.json")
    with open(ref, "w") as f:
        json.dump({"rows": []}, f)
    p = subprocess.run([DRIVER, path, ref], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1, (path, p.returncode, p.stdout, p.stderr)
    for w in want:
        assert w in p.stderr, "%r not in %r" % (w, p.stderr)
    return p.stderr


def _attr(m, name):
    for a in m.graph.node[0].attribute:
        if a.name == name:
            return a
    raise KeyError(name)


def test_hostile_models():
    """Broken or hostile ONNX files are refused, each with a message that
    names the attribute (or operator) and what is wrong."""
    from onnx import helper

    def unknown_op(m):
        m.graph.node.append(helper.make_node("Abs", ["probabilities"],
                                             ["y"]))

    def before(m):
        m.graph.node[0].input[0] = "Xn"
        m.graph.node.insert(0, helper.make_node("Neg", ["X"], ["Xn"]))

    def bad_child(m):
        _attr(m, "nodes_truenodeids").ints[0] = 99999

    def cycle(m):
        a = _attr(m, "nodes_falsenodeids")
        # node 1 of tree 0 (a split: depth 6) sends its false branch back
        # to the root
        a.ints[1] = 0

    def feature(m):
        _attr(m, "nodes_featureids").ints[0] = 12

    def huge_targets(m):
        m.graph.node[0].op_type = "TreeEnsembleRegressor"
        for n in ("class_ids", "class_nodeids", "class_treeids",
                  "class_weights"):
            _attr(m, n).name = n.replace("class", "target")
        for a in list(m.graph.node[0].attribute):
            if a.name.startswith("classlabels"):
                m.graph.node[0].attribute.remove(a)
        m.graph.node[0].attribute.append(helper.make_attribute(
            "n_targets", 10**12))
        del m.graph.node[0].output[0]

    def weights_count(m):
        del _attr(m, "class_weights").floats[5:]

    def mode(m):
        _attr(m, "nodes_modes").strings[0] = b"BRANCH_SOMETIMES"

    def dup(m):
        _attr(m, "nodes_nodeids").ints[1] = 0

    cases = [
        ("unknown_op", unknown_op, ["graph.node[4] (Abs)",
                                    "operator Abs", "not served"]),
        ("before", before, ["graph.node[0] (Neg)", "operator Neg before "
                            "the ensemble is not served"]),
        ("bad_child", bad_child, ["nodes_truenodeids[0]: node 99999 of "
                                  "tree 0 does not exist"]),
        ("cycle", cycle, ["nodes_falsenodeids[1]: node 0 is reached twice"]),
        ("feature", feature, ["nodes_featureids[0]: feature 12 out of "
                              "range (the input has 8)"]),
        ("huge_targets", huge_targets, ["n_targets: 1000000000000 "
                                        "(expected 1 to 65536)"]),
        ("weights_count", weights_count, ["class_weights: ", "must be "
                                          "equal"]),
        ("mode", mode, ['nodes_modes[0]: unknown mode "BRANCH_SOMETIMES"']),
        ("dup", dup, ["node 0 of tree 0 is given twice"]),
    ]
    for name, mutate, want in cases:
        refused(hostile(name, mutate), *want)
    # truncated: protobuf cannot parse it
    with open(models["rf_multi_o1"][0], "rb") as f:
        data = f.read()
    p = os.path.join(tmpdir, "hostile_truncated.onnx")
    with open(p, "wb") as f:
        f.write(data[:len(data) // 2])
    refused(p, "not a valid ONNX model")
    # the daemon refuses to start on one, saying why
    d = Inferd(workers=1, model=hostile("unknown_op", unknown_op))
    try:
        d.start()
    except Exception:
        pass
    d.kill()
    assert "operator Abs" in d.log, d.log


def main():
    global tmpdir
    tmpdir = tempfile.mkdtemp(prefix="inferd-onnx.")
    try:
        import onnx_trees
        names = sorted(onnx_trees.ZOO_NAMES)
        run([test_generate] + [make_case(n) for n in names] +
            [test_daemon_predict_oip, test_reload, test_hostile_models])
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
