"""The Open Inference Protocol, KServe v1 and rows keyed by feature name,
against the real daemon.

No packaged copy of the protocol's schema exists in Debian or npm, so the
rules of the OIP REST specification (open_inference_rest.yaml and
inference_rest.md of the protocol) are checked here as code: required
fields and their JSON types, datatypes from the protocol's list, integer
shapes with -1 only for the batch dimension in metadata, data holding as
many values as the shape says, "id" returned exactly when sent,
"model_version" a string, errors as {"error": string}.

Models: the bundled one (30 features, no names: XGBoost's f0 ... f29
apply) and one trained here with /usr/bin/python3's XGBoost with
feature_names and feature_types.  Every way of sending the same rows must
give Booster.predict's float32 values exactly.
"""

import json
import math
import os
import shutil
import tempfile

import numpy as np
import xgboost as xgb

from harness import MODEL, Inferd, note, run

NAMES = ["age", "bmi", "colour", "dose"]
TYPES = ["int", "q", "i", "float"]
DATATYPES = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
             "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"}

tmpdir = None


# -- the specification's rules -------------------------------------------
def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _strings(v):
    return isinstance(v, list) and all(isinstance(s, str) for s in v)


def check_error(body):
    """$..._error_response: {"error": $string}."""
    assert isinstance(body, dict) and isinstance(body.get("error"), str), \
        body


def check_server_metadata(body):
    """$metadata_server_response: name, version, extensions required."""
    assert isinstance(body.get("name"), str), body
    assert isinstance(body.get("version"), str), body
    assert _strings(body.get("extensions")), body


def check_metadata_tensor(t):
    """$metadata_tensor: name, datatype, shape (integers; variable-size
    dimensions are -1)."""
    assert isinstance(t.get("name"), str), t
    assert t.get("datatype") in DATATYPES, t
    shape = t.get("shape")
    assert isinstance(shape, list) and all(_is_int(d) and d >= -1
                                           for d in shape), t
    if "parameters" in t:
        assert isinstance(t["parameters"], dict), t


def check_model_metadata(body):
    """$metadata_model_response: name and platform required; versions an
    array of strings; inputs and outputs arrays of $metadata_tensor."""
    assert isinstance(body.get("name"), str), body
    assert isinstance(body.get("platform"), str), body
    if "versions" in body:
        assert _strings(body["versions"]), body
    for key in ("inputs", "outputs"):
        assert isinstance(body.get(key), list), body
        for t in body[key]:
            check_metadata_tensor(t)


def _count(data):
    return sum(_count(v) for v in data) if isinstance(data, list) else 1


def check_inference_response(body, request):
    """$inference_response: model_name and outputs required; id returned
    exactly when the request had one; each $response_output has name,
    shape (non-negative integers), datatype and data, whose value count
    is the product of the shape."""
    assert isinstance(body.get("model_name"), str), body
    if "model_version" in body:
        assert isinstance(body["model_version"], str), body
    if "id" in request:
        assert body.get("id") == request["id"], (body, request)
    else:
        assert "id" not in body, body
    assert isinstance(body.get("outputs"), list), body
    for o in body["outputs"]:
        assert isinstance(o.get("name"), str), o
        assert o.get("datatype") in DATATYPES, o
        shape = o.get("shape")
        assert isinstance(shape, list) and all(_is_int(d) and d >= 0
                                               for d in shape), o
        assert isinstance(o.get("data"), list), o
        assert _count(o["data"]) == math.prod(shape), o
        if "parameters" in o:
            assert isinstance(o["parameters"], dict), o


def check_inference_request(req):
    """$inference_request, so that the tests send only valid requests
    (except where they mean not to)."""
    assert isinstance(req.get("inputs"), list), req
    if "id" in req:
        assert isinstance(req["id"], str)
    for t in req["inputs"]:
        assert isinstance(t.get("name"), str), t
        assert t.get("datatype") in DATATYPES, t
        assert all(_is_int(d) and d >= 0 for d in t["shape"]), t
        assert _count(t["data"]) == math.prod(t["shape"]), t
    for o in req.get("outputs", []):
        assert isinstance(o.get("name"), str), o


def infer(d, path, req, status=200):
    """POST an OIP request; check request and answer against the rules."""
    if status == 200:
        check_inference_request(req)
    st, body = d.json("POST", path, req)
    assert st == status, (st, body, req)
    if st == 200:
        check_inference_response(body, req)
    else:
        check_error(body)
    return body


# -- models --------------------------------------------------------------
def named_model():
    """A model with feature_names and feature_types, its test rows and
    Booster.predict's answers for them."""
    rng = np.random.RandomState(7)
    X = np.column_stack([rng.randint(18, 90, 300), rng.rand(300) * 20 + 15,
                         rng.randint(0, 2, 300), rng.rand(300) * 5])
    y = ((X[:, 0] > 50) ^ (X[:, 2] > 0.5) | (X[:, 3] > 4)).astype(float)
    d = xgb.DMatrix(X, y, feature_names=NAMES, feature_types=TYPES)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 3,
                   "seed": 0, "nthread": 1}, d, 12)
    path = os.path.join(tmpdir, "people.json")
    b.save_model(path)
    with open(path) as f:
        learner = json.load(f)["learner"]
    assert learner["feature_names"] == NAMES, learner["feature_names"]
    Xt = np.column_stack([rng.randint(18, 90, 25), rng.rand(25) * 20 + 15,
                          rng.randint(0, 2, 25), rng.rand(25) * 5])
    Xt[3, 1] = np.nan
    Xt[5, :] = np.nan
    Xt[7, 0] = np.nan
    want = b.predict(xgb.DMatrix(Xt, feature_names=NAMES,
                                 feature_types=TYPES)).astype(np.float32)
    return path, Xt, want


def jnum(v):
    return None if math.isnan(v) else float(v)


def jint(v):
    return None if math.isnan(v) else int(v)


def same(what, got, want):
    got = np.asarray(got, dtype=np.float32).reshape(want.shape)
    assert np.array_equal(got, want), "%s: %r != %r" % (what, got, want)


# -- tests ---------------------------------------------------------------
def test_named_rows_every_way():
    """The same rows by array, by name (/predict, v1), as one OIP tensor
    and as per-feature OIP tensors of several datatypes: all equal
    Booster.predict float32 for float32."""
    path, X, want = named_model()
    rows = [[jnum(v) for v in r] for r in X]
    objs = [{n: jnum(v) for n, v in zip(NAMES, r) if not math.isnan(v)}
            for r in X]
    with Inferd(workers=1, model=path) as d:
        st, b = d.json("POST", "/predict", {"instances": rows})
        assert st == 200, b
        same("/predict arrays", b["predictions"], want)
        st, b = d.json("POST", "/predict", {"instances": objs})
        assert st == 200, b
        same("/predict objects", b["predictions"], want)
        mixed = [objs[i] if i % 2 else rows[i] for i in range(len(rows))]
        st, b = d.json("POST", "/predict", {"instances": mixed})
        same("/predict mixed", b["predictions"], want)
        st, b = d.json("POST", "/predict", {"features": objs[0]})
        same("/predict one object", b["predictions"], want[:1])
        st, b = d.json("POST", "/v1/models/people:predict",
                       {"instances": objs})
        assert st == 200, b
        same("v1 objects", b["predictions"], want)
        n = len(rows)
        req = {"inputs": [{"name": "input-0", "shape": [n, 4],
                           "datatype": "FP64", "data": rows}]}
        b = infer(d, "/v2/models/people/infer", req)
        same("OIP matrix", b["outputs"][0]["data"], want)
        assert b["outputs"][0]["datatype"] == "FP32", b
        req = {"id": "per-feature", "inputs": [
            {"name": "age", "shape": [n], "datatype": "INT64",
             "data": [jint(v) for v in X[:, 0]]},
            {"name": "bmi", "shape": [n, 1], "datatype": "FP32",
             "data": [[jnum(v)] for v in X[:, 1]]},
            {"name": "colour", "shape": [n], "datatype": "BOOL",
             "data": [None if math.isnan(v) else bool(v) for v in X[:, 2]]},
            {"name": "dose", "shape": [n], "datatype": "FP64",
             "data": [jnum(v) for v in X[:, 3]]}]}
        b = infer(d, "/v2/models/people/infer", req)
        same("OIP per feature", b["outputs"][0]["data"], want)
        # a feature left out is missing in every row
        req["inputs"].pop(2)
        b = infer(d, "/v2/models/people/infer", req)
        Xm = X.copy()
        Xm[:, 2] = np.nan
        st, ref = d.json("POST", "/predict", {"instances": [
            [jnum(v) for v in r] for r in Xm]})
        same("OIP feature left out", b["outputs"][0]["data"],
             np.asarray(ref["predictions"], dtype=np.float32))
        # unknown names are 400s that name them
        st, b = d.json("POST", "/predict", {"instances": [{"agee": 3}]})
        assert st == 400 and "unknown feature \"agee\"" in b["error"], b
        st, b = d.json("POST", "/v1/models/people:predict",
                       {"instances": [{"age": 3, "height": 1}]})
        assert st == 400 and "\"height\"" in b["error"], b
        b = infer(d, "/v2/models/people/infer", {"inputs": [
            {"name": "age", "shape": [1], "datatype": "INT8", "data": [3]},
            {"name": "weight", "shape": [1], "datatype": "FP32",
             "data": [3]}]}, 400)
        assert "\"weight\" is not a feature" in b["error"], b
        # metadata lists the names and XGBoost's types
        st, meta = d.json("GET", "/v2/models/people")
        assert st == 200, meta
        check_model_metadata(meta)
        assert [t["name"] for t in meta["inputs"]] == NAMES, meta
        assert [t["parameters"]["feature_type"] for t in meta["inputs"]] \
            == TYPES, meta
        assert all(t["shape"] == [-1] for t in meta["inputs"]), meta
    note("%d rows, 7 ways, float32-identical to Booster.predict" % len(X))


def test_oip_routes_and_rules():
    """Server metadata, versioned paths, outputs, id, datatypes and errors
    on the bundled model (no feature names)."""
    with Inferd(workers=2) as d:
        for path in ("/v2", "/v2/"):
            st, b = d.json("GET", path)
            assert st == 200, b
            check_server_metadata(b)
            assert b["name"] == "inferd" and b["extensions"] == [], b
        st, meta = d.json("GET", "/v2/models/breast_cancer")
        assert st == 200, meta
        check_model_metadata(meta)
        assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32",
                                   "shape": [-1, 30]}], meta
        # the model's outputs: its probability, and the class it picks
        assert meta["outputs"] == [
            {"name": "predict", "datatype": "FP32", "shape": [-1],
             "parameters": {"objective": "binary:logistic",
                            "content": "probability of class 1"}},
            {"name": "label", "datatype": "INT64", "shape": [-1],
             "parameters": {"class_labels": ["0", "1"]}}], meta
        ver = meta["versions"][0]
        with open(MODEL, "rb") as f:
            import hashlib
            assert ver == hashlib.sha256(f.read()).hexdigest()[:12], ver
        base = "/v2/models/breast_cancer/versions/" + ver
        st, b = d.json("GET", base)
        assert st == 200 and b == meta, b
        st, b = d.json("GET", base + "/ready")
        assert st == 200 and b == {"name": "breast_cancer", "ready": True}
        row = [1.0] * 30
        req = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP32",
                           "data": row}]}
        plain = infer(d, "/v2/models/breast_cancer/infer", req)
        versioned = infer(d, base + "/infer", req)
        assert plain == versioned and plain["model_version"] == ver, plain
        assert "id" not in plain, plain
        for bad in ("1", ver[:11], ver + "0", "0" * 12):
            for suffix in ("", "/ready"):
                st, b = d.json("GET", "/v2/models/breast_cancer/versions/"
                               + bad + suffix)
                assert st == 404 and "version not found" in b["error"] \
                    and ver in b["error"], (bad, b)
            b = infer(d, "/v2/models/breast_cancer/versions/%s/infer" % bad,
                      req, 404)
        st, b = d.json("GET", "/v2/models/other/versions/%s" % ver)
        assert st == 404 and "model not found" in b["error"], b
        # id: echoed when sent, "" included
        for rid in ("", "abc-1"):
            b = infer(d, "/v2/models/breast_cancer/infer", dict(req, id=rid))
            assert b["id"] == rid, b
        # outputs honoured
        b = infer(d, "/v2/models/breast_cancer/infer",
                  dict(req, outputs=[{"name": "predict",
                                      "parameters": {"binary_data": False}}]))
        assert [o["name"] for o in b["outputs"]] == ["predict"], b
        b = infer(d, "/v2/models/breast_cancer/infer", dict(req, outputs=[]))
        assert [o["name"] for o in b["outputs"]] == ["predict", "label"], b
        p, lab = b["outputs"]
        assert lab["datatype"] == "INT64" and lab["shape"] == [1] and \
            lab["data"] == [1 if p["data"][0] > 0.5 else 0], b
        b = infer(d, "/v2/models/breast_cancer/infer",
                  dict(req, outputs=[{"name": "label"}]))
        assert [o["name"] for o in b["outputs"]] == ["label"], b
        b = infer(d, "/v2/models/breast_cancer/infer",
                  dict(req, outputs=[{"name": "proba"}]), 400)
        assert "unknown output \"proba\"" in b["error"], b
        # every numeric datatype gives the same answer for integral values
        ints = [float(i % 2) for i in range(30)]
        first = None
        for dt in sorted(DATATYPES - {"BYTES"}):
            data = [bool(v) for v in ints] if dt == "BOOL" else \
                [int(v) for v in ints] if "INT" in dt else ints
            b = infer(d, "/v2/models/breast_cancer/infer", {"inputs": [
                {"name": "x", "shape": [1, 30], "datatype": dt,
                 "data": data}]})
            first = first or b["outputs"]
            assert b["outputs"] == first, (dt, b, first)
        # per-feature tensors on a model without names: f0 .. f29
        pf = {"inputs": [{"name": "f%d" % i, "shape": [1],
                          "datatype": "FP32", "data": [1.0]}
                         for i in range(30)]}
        b = infer(d, "/v2/models/breast_cancer/infer", pf)
        assert b["outputs"] == plain["outputs"], b
        for bad_req, want in [
                ({"inputs": [{"name": "x", "shape": [1, 30],
                              "datatype": "INT8", "data": [300] * 30}]},
                 "out of range for INT8"),
                ({"inputs": [{"name": "x", "shape": [1, 30],
                              "datatype": "FP16", "data": [7e4] * 30}]},
                 "does not fit FP16"),
                ({"inputs": [{"name": "x", "shape": [1, 30],
                              "datatype": "BYTES", "data": ["a"] * 30}]},
                 "\"BYTES\" is not supported")]:
            b = infer(d, "/v2/models/breast_cancer/infer", bad_req, 400)
            assert want in b["error"], b
        # the metric labels of the new routes
        text = d.metrics()
        for label in ("/v2", "/v2/models/{name}/versions/{version}",
                      "/v2/models/{name}/versions/{version}/ready",
                      "/v2/models/{name}/versions/{version}/infer"):
            assert d.sample("inferd_http_requests_total", text,
                            handler=label, code="200") >= 1, label
        assert d.sample("inferd_http_requests_total", text,
                        handler="/v2/models/{name}/versions/{version}",
                        code="404") >= 1


def test_kserve_v1():
    """KServe v1: the list of models, model status, :predict with
    "instances" or "inputs", arrays and f-names, errors."""
    with Inferd(workers=1) as d:
        st, b = d.json("GET", "/v1/models/breast_cancer")
        assert st == 200 and b == {"name": "breast_cancer", "ready": True}, b
        row = [0.5] * 30
        st, p = d.json("POST", "/predict", {"instances": [row, row]})
        st, b = d.json("POST", "/v1/models/breast_cancer:predict",
                       {"instances": [row, {"f%d" % i: 0.5
                                            for i in range(30)}]})
        assert st == 200 and b == p, (b, p)
        # "inputs", as KServe's own servers take it: the same answer
        st, b = d.json("POST", "/v1/models/breast_cancer:predict",
                       {"inputs": [row, {"f%d" % i: 0.5
                                         for i in range(30)}]})
        assert st == 200 and b == p, (b, p)
        st, b = d.json("POST", "/v1/models/breast_cancer:predict",
                       {"inputs": [row], "instances": [row]})
        assert st == 400 and "both" in b["error"], b
        st, b = d.json("POST", "/v1/models/breast_cancer:predict",
                       {"inputs": [row[:29]]})
        assert st == 400 and b["error"].startswith("inputs[0]"), b
        st, b = d.json("GET", "/v1/models")
        assert st == 200 and b == {"models": ["breast_cancer"]}, b
        st, hdrs, _ = d.request("POST", "/v1/models", b"{}")
        assert st == 405 and hdrs.get("allow") == "GET, HEAD", (st, hdrs)
        st, b = d.json("POST", "/v1/models/breast_cancer:predict",
                       {"features": row})
        assert st == 400 and "no \"instances\" or \"inputs\"" in \
            b["error"], b
        st, b = d.json("POST", "/v1/models/nope:predict", {"instances": [row]})
        assert st == 404 and "model not found" in b["error"], b
        st, b = d.json("GET", "/v1/models/nope")
        assert st == 404, b
        st, hdrs, _ = d.request("GET", "/v1/models/breast_cancer:predict")
        assert st == 405 and hdrs.get("allow") == "POST", (st, hdrs)
        text = d.metrics()
        assert d.sample("inferd_http_requests_total", text,
                        handler="/v1/models/{name}", code="200") == 1
        assert d.sample("inferd_http_requests_total", text,
                        handler="/v1/models/{name}:predict", code="200") == 2
        assert d.sample("inferd_http_requests_total", text,
                        handler="/v1/models/{name}:predict", code="400") == 3
        assert d.sample("inferd_http_requests_total", text,
                        handler="/v1/models", code="200") == 1


def main():
    global tmpdir
    tmpdir = tempfile.mkdtemp(prefix="inferd-oip.")
    try:
        run([test_named_rows_every_way, test_oip_routes_and_rules,
             test_kserve_v1])
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
