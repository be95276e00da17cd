"""Malformed requests and corrupt models against the real daemon.

1. A corpus of malformed prediction requests, for POST /predict and for the
   Open Inference Protocol: each gets the right status and a JSON
   {"error": "..."} body that says what is wrong, and the daemon keeps
   serving (GET /healthz and a good prediction after each).
2. Corrupt model files: inferd started with each exits non-zero and says on
   stderr which field of which tree is wrong.
3. SIGHUP with a corrupt model file keeps the model being served.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from gen_models import build
from harness import BIN, MODEL, Inferd, note, run, segments_of

NFEAT = 30                         # the bundled breast cancer model
MAX_ROWS = 50
MAX_BODY = 65536
GOOD_ROW = [1.0] * NFEAT
OIP = "/v2/models/breast_cancer/infer"


def oip(shape=(1, NFEAT), datatype="FP32", data=None, **extra):
    """An OIP request body with one input, fields overridable."""
    inp = {"name": "input-0", "shape": list(shape), "datatype": datatype,
           "data": data if data is not None else
           [1.0] * (shape[0] * shape[1])}
    req = {"inputs": [inp]}
    req.update(extra)
    return json.dumps(req).encode()


def j(obj):
    return json.dumps(obj).encode()


# (method, path, body, status, a piece of the error message)
CORPUS = [
    ("POST", "/predict", b"", 400, "empty request body"),
    ("POST", "/predict", b"{\"features\": [1, 2", 400,
     "invalid JSON at line 1, column"),
    ("POST", "/predict", b"{\"features\":\n [1,, 2]}", 400,
     "invalid JSON at line 2, column"),
    ("POST", "/predict", b"\xff\xfe garbage", 400, "invalid JSON"),
    # Not JSON at all (CSV): the answer says what the body must be.
    ("POST", "/predict", b"1.5,2,3\n4,5,6\n", 400,
     "the body must be JSON: {\"features\": [...]} for one row"),
    ("POST", "/v1/models/breast_cancer:predict", b"1.5,2,3\n", 400,
     "the body must be JSON: {\"instances\": [[...], ...]}"),
    ("POST", "/predict", b"[1, 2, 3]", 400, "request body is an array"),
    ("POST", "/predict", b"{}", 400, "no \"features\" or \"instances\""),
    ("POST", "/predict", j({"features": GOOD_ROW, "instances": [GOOD_ROW]}),
     400, "both \"features\" and \"instances\""),
    ("POST", "/predict", j({"features": [1, 2, 3]}), 400,
     "features (row 0): expected 30 features, got 3"),
    ("POST", "/predict", j({"features": GOOD_ROW + [1]}), 400,
     "expected 30 features, got 31"),
    ("POST", "/predict", j({"features": GOOD_ROW[:5] + ["x"] + GOOD_ROW[6:]}),
     400, "features[5] (row 0, column 5): expected a number or null, got a "
     "string"),
    ("POST", "/predict", j({"features": GOOD_ROW[:29] + [True]}), 400,
     "(row 0, column 29): expected a number or null, got a boolean"),
    ("POST", "/predict", j({"features": "1,2,3"}), 400,
     "features: expected an array"),
    ("POST", "/predict", j({"features": GOOD_ROW[:29] + [1e39]}), 400,
     "does not fit a 32-bit float"),
    ("POST", "/predict", b"{\"features\": [NaN]}", 400, "invalid JSON"),
    ("POST", "/predict", j({"instances": []}), 400, "empty batch"),
    ("POST", "/predict", j({"instances": GOOD_ROW}), 400,
     "instances[0] (row 0): expected an array of 30 features or an object "
     "keyed by feature name, got a number"),
    ("POST", "/predict", j({"instances": [GOOD_ROW, GOOD_ROW[:10]]}), 400,
     "instances[1] (row 1): expected 30 features, got 10"),
    ("POST", "/predict", j({"instances": [GOOD_ROW, GOOD_ROW[:3] + [{}] +
                                          GOOD_ROW[4:]]}), 400,
     "instances[1][3] (row 1, column 3): expected a number or null, got an "
     "object"),
    ("POST", "/predict", j({"instances": [GOOD_ROW] * (MAX_ROWS + 1)}), 413,
     "51 rows, more than the limit of 50 (max_batch_rows)"),
    ("POST", "/predict", b"{\"features\": [" + b"1.0, " * 20000 + b"1.0]}",
     413, ""),
    ("GET", "/predict?delay=abc", None, 400, ""),
    ("POST", OIP, b"", 400, "empty request body"),
    ("POST", OIP, b"{\"inputs\": [", 400, "invalid JSON at line 1, column"),
    ("POST", OIP, j({}), 400, "inputs: missing"),
    ("POST", OIP, j({"inputs": []}), 400, "inputs: no input tensor"),
    ("POST", OIP, j({"inputs": [json.loads(oip())["inputs"][0]] * 2}), 400,
     "inputs[0].name: \"input-0\" is not a feature of the model"),
    ("POST", OIP, oip(datatype="INT128"), 400,
     "inputs[0].datatype: \"INT128\" is not supported; use one of BOOL"),
    ("POST", OIP, oip(datatype="BYTES", data=["a"] * NFEAT), 400,
     "\"BYTES\" is not supported"),
    ("POST", OIP, j({"inputs": [{"name": "input-0", "shape": [1, NFEAT],
                                 "data": GOOD_ROW}]}), 400,
     "inputs[0].datatype: missing"),
    ("POST", OIP, j({"inputs": [{"shape": [1, NFEAT], "datatype": "FP32",
                                 "data": GOOD_ROW}]}), 400,
     "inputs[0].name: missing"),
    ("POST", OIP, oip(shape=(1, 4), data=[1, 2, 3, 4]), 400,
     "inputs[0].shape: 4 features, but the model takes 30"),
    ("POST", OIP, j({"inputs": [{"name": "input-0", "shape": [NFEAT],
                                 "datatype": "FP32", "data": GOOD_ROW}]}),
     400, "inputs[0].shape: expected [rows, features]"),
    ("POST", OIP, oip(shape=(2, NFEAT), data=GOOD_ROW), 400,
     "inputs[0].data: 30 values, but shape [2, 30] needs 60"),
    ("POST", OIP, oip(shape=(0, NFEAT), data=[]), 400, "0 rows"),
    ("POST", OIP, oip(shape=(MAX_ROWS + 1, NFEAT), data=[]), 413,
     "51 rows, more than the limit of 50"),
    ("POST", OIP, oip(data=GOOD_ROW[:7] + ["7"] + GOOD_ROW[8:]), 400,
     "inputs[0].data: value 7 (row 0, column 7) is a string"),
    ("POST", OIP, oip(id=17), 400, "id: expected a string"),
    ("POST", OIP, oip(outputs=[{"name": "probabilities"}]), 400,
     "unknown output \"probabilities\""),
    ("POST", "/v2/models/no_such_model/infer", oip(), 404, ""),
]


def check_one(d, method, path, body, status, want):
    """One corpus entry; returns a problem (a string) or None."""
    headers = {"Content-Type": "application/json"} if body is not None \
        else {}
    st, hdrs, data = d.request(method, path, body=body, headers=headers)
    what = "%s %s %r" % (method, path, (body or b"")[:60])
    if st != status:
        return "%s: status %d, want %d: %r" % (what, st, status, data[:200])
    if st == 413 and body is not None and len(body) > MAX_BODY:
        # libevent 2.1 refuses an oversized body itself, with its own HTML
        # page and no hook to change it (doc/limits.md).
        return None
    if not hdrs.get("content-type", "").startswith("application/json"):
        return "%s: content-type %r, want application/json: %r" % (
            what, hdrs.get("content-type"), data[:200])
    try:
        err = json.loads(data)
    except ValueError:
        return "%s: body is not JSON: %r" % (what, data[:200])
    if not isinstance(err, dict) or not isinstance(err.get("error"), str):
        return "%s: body is not {\"error\": \"...\"}: %r" % (what, err)
    if want not in err["error"]:
        return "%s: error %r lacks %r" % (what, err["error"], want)
    st, _, _ = d.request("GET", "/healthz")
    if st != 200:
        return "%s: healthz %d afterwards" % (what, st)
    return None


def check_corpus():
    """Every corpus entry is tried (problems are collected, so that one
    failure does not hide the others and the daemon stops cleanly)."""
    problems = []
    with Inferd(workers=2, options={"max_batch_rows": str(MAX_ROWS),
                                    "max_body_bytes": str(MAX_BODY)}) as d:
        for entry in CORPUS:
            p = check_one(d, *entry)
            if p:
                problems.append(p)
        # still serving, both APIs
        st, body = d.json("POST", "/predict", {"features": GOOD_ROW})
        assert st == 200 and len(body["predictions"]) == 1, body
        st, body = d.json("POST", OIP, json.loads(oip()))
        assert st == 200 and body["outputs"][0]["shape"] == [1], body
        # the per-handler counter saw the 400s of both inference routes
        n400 = sum(1 for c in CORPUS if c[1] == "/predict" and c[3] == 400
                   and c[0] == "POST")
        got = d.sample("inferd_http_requests_total", handler="/predict",
                       code="400")
        if got < n400:
            problems.append("/predict 400 count %g < %d" % (got, n400))
        n400 = sum(1 for c in CORPUS if c[1] == OIP and c[3] == 400)
        got = d.sample("inferd_http_requests_total",
                       handler="/v2/models/{name}/infer", code="400")
        if got != n400:
            problems.append("OIP 400 count %g != %d" % (got, n400))
    note("%d malformed requests, %d problems" % (len(CORPUS),
                                                len(problems)))
    assert not problems, "\n".join(problems)


def test_malformed_requests():
    check_corpus()


# Corrupt models: (file name, how to corrupt the text, message piece).
# Each function gets the text of a good model (a parsed dict for the
# structural ones) and returns the bad file's bytes.
def _tree(m, i=0):
    return m["learner"]["gradient_booster"]["model"]["trees"][i]


def _edit(fn):
    def make(text):
        m = json.loads(text)
        fn(m)
        return json.dumps(m).encode()
    return make


def _set_left(m):
    _tree(m, 1)["left_children"][0] = 999


def _cycle(m):
    t = _tree(m, 2)
    t["left_children"][t["left_children"][0]] = 0   # a child points back


def _short(m):
    _tree(m, 1)["split_conditions"].pop()


def _feature(m):
    _tree(m)["split_indices"][0] = 77


def _objective(m):
    m["learner"]["objective"]["name"] = "reg:expectileerror"


def _booster(m):
    m["learner"]["gradient_booster"]["name"] = "dart"


def _num_class(m):
    m["learner"]["learner_model_param"]["num_class"] = "5"


CORRUPT = [
    ("notjson.json", lambda t: b"this is not JSON\n",
     "not an XGBoost JSON, UBJSON or binary model (first bytes 74 68 69 73"),
    ("badjson.json", lambda t: b"{\"learner\": nope}\n",
     "(line 1, column 16): not valid JSON: invalid token near 'nope'"),
    ("legacy.model", lambda t: b"binf" + bytes(60),
     "XGBoost binary model, byte 4: truncated: LearnerModelParam needs 136 "
     "bytes, 60 left"),
    ("snapshot.bin", lambda t: b"CONFIG-offset:" + bytes(60),
     "1.x raw snapshot (save_raw or pickle), which inferd does not read: "
     "load it with XGBoost and re-save it with save_model(\"model.json\")"),
    ("truncated.json", lambda t: t[:len(t) // 2], "truncated JSON"),
    ("empty.json", lambda t: b"", "file is empty"),
    ("objective.json", _edit(_objective),
     "learner.objective.name: objective \"reg:expectileerror\" is not "
     "supported: its output is a cumulative softplus"),
    ("dart.json", _edit(_booster),
     "learner.gradient_booster.gbtree: missing"),
    ("range.json", _edit(_set_left),
     "learner.gradient_booster.model.trees[1].left_children[0]: index 999 "
     "out of range"),
    ("cycle.json", _edit(_cycle),
     "learner.gradient_booster.model.trees[2].left_children["),
    ("short.json", _edit(_short),
     "trees[1].split_conditions: "),
    ("feature.json", _edit(_feature),
     "trees[0].split_indices[0]: feature 77 out of range (num_feature is "
     "30)"),
    ("numclass.json", _edit(_num_class),
     "num_class: 5 classes, but objective binary:logistic is not "
     "multi-class"),
]


def start_fails(path, want):
    """inferd with model path must exit non-zero, saying want."""
    p = subprocess.Popen([BIN, "--no-config", "-l", "127.0.0.1:0",
                          "-m", "127.0.0.1:0", "-w", "1", "--model", path],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = out.decode(errors="replace")
    assert p.returncode != 0, "started with %s:\n%s" % (path, out)
    assert want in out, "%s: %r lacks %r" % (path, out, want)
    assert path in out, "%s: the message does not name the file" % path
    assert not segments_of(p.pid), segments_of(p.pid)
    note("%-16s exit %d: %s" % (os.path.basename(path), p.returncode,
                                 out.strip().splitlines()[-1]))


def test_corrupt_models():
    tmp = tempfile.mkdtemp(prefix="inferd-corrupt.")
    try:
        with open(MODEL, "rb") as f:
            good = f.read()
        for name, make, want in CORRUPT:
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(make(good))
            start_fails(path, want)
        start_fails(os.path.join(tmp, "missing.json"),
                    "cannot open: No such file or directory")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_reload_keeps_model():
    """SIGHUP with a corrupt file keeps the old model; a good one is
    taken."""
    tmp = tempfile.mkdtemp(prefix="inferd-reload.")
    try:
        path = os.path.join(tmp, "m.json")
        shutil.copy(MODEL, path)
        with Inferd(workers=2, model=path) as d:
            st, before = d.json("POST", "/predict", {"features": GOOD_ROW})
            assert st == 200, before
            with open(path, "wb") as f:
                f.write(b"{\"learner\": ")
            n = len(d.lines)
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log(re.escape(path) + r".*truncated JSON", 10, n)
            for _ in range(20):
                st, body = d.json("POST", "/predict", {"features": GOOD_ROW})
                assert st == 200 and body == before, body
            assert d.sample("inferd_reload_failures_total",
                            what="model") == 1
            # a good, different model is taken
            case = build(tmp, "reg:squarederror", depth=2, nfeatures=30,
                         rows=3, name="other")
            os.replace(case.path, path)
            d.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 15
            while True:
                st, body = d.json("POST", "/predict",
                                  {"features": GOOD_ROW})
                if st == 200 and body != before:
                    break
                assert time.monotonic() < deadline, "reload not taken"
                time.sleep(0.1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run([test_malformed_requests, test_corrupt_models,
         test_reload_keeps_model])
