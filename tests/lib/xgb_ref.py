#!/usr/bin/python3
"""A reference evaluator of XGBoost models, for tests only.

It reads a model saved by XGBoost (JSON or UBJSON, told from the bytes) and
predicts as XGBoost 1.7's CPU predictor does, in float32 with the C
library's expf/logf, so that its answers can be compared with
Booster.predict and with inferd bit for bit.  It is slow (pure Python) and
meant for small models.

    from xgb_ref import RefModel
    m = RefModel.load("model.ubj")
    m.predict(X)                        # as Booster.predict(DMatrix(X))
    m.predict(X, output_margin=True)
    m.predict(X, iteration_range=(0, m.best_iteration + 1))

Where XGBoost does what it does is named at each function.
"""

import ctypes
import json
import math
import struct

import numpy as np

_libm = ctypes.CDLL("libm.so.6")
for _f in ("expf", "logf"):
    getattr(_libm, _f).restype = ctypes.c_float
    getattr(_libm, _f).argtypes = [ctypes.c_float]

F32 = np.float32


def expf(x):
    return F32(_libm.expf(float(x)))


def logf(x):
    return F32(_libm.logf(float(x)))


# ---------------------------------------------------------------- UBJSON

class UBJError(ValueError):
    pass


_NUM = {"i": (">b", 1), "U": (">B", 1), "I": (">h", 2), "l": (">i", 4),
        "L": (">q", 8), "d": (">f", 4), "D": (">d", 8)}


def ubj_decode(b):
    """Decode UBJSON bytes (the subset XGBoost writes, and a bit more)."""
    pos = 0

    def need(n):
        if len(b) - pos < n:
            raise UBJError("byte %d: truncated" % pos)

    def num(t):
        nonlocal pos
        fmt, n = _NUM[t]
        need(n)
        v = struct.unpack_from(fmt, b, pos)[0]
        pos += n
        return v

    def length():
        nonlocal pos
        need(1)
        t = chr(b[pos])
        pos += 1
        if t not in "iUIlL":
            raise UBJError("byte %d: bad length marker %r" % (pos - 1, t))
        return num(t)

    def string():
        nonlocal pos
        n = length()
        need(n)
        s = b[pos:pos + n].decode("utf-8")
        pos += n
        return s

    def header():
        nonlocal pos
        typ = cnt = None
        if pos < len(b) and b[pos:pos + 1] == b"$":
            typ = chr(b[pos + 1])
            pos += 2
        if pos < len(b) and b[pos:pos + 1] == b"#":
            pos += 1
            cnt = length()
        return typ, cnt

    def value(t=None):
        nonlocal pos
        if t is None:
            while pos < len(b) and b[pos:pos + 1] == b"N":
                pos += 1
            need(1)
            t = chr(b[pos])
            pos += 1
        if t in _NUM:
            return num(t)
        if t == "Z":
            return None
        if t in "TF":
            return t == "T"
        if t == "S":
            return string()
        if t == "C":
            need(1)
            pos += 1
            return chr(b[pos - 1])
        if t == "[":
            typ, cnt = header()
            if typ in ("d", "D", "l", "L", "I") and cnt is not None:
                fmt, n = _NUM[typ]
                need(n * cnt)
                out = list(np.frombuffer(b, dtype=fmt[0] + fmt[1], count=cnt,
                                         offset=pos).tolist())
                pos += n * cnt
                return out
            out = []
            while cnt is None or len(out) < cnt:
                if cnt is None:
                    while b[pos:pos + 1] == b"N":
                        pos += 1
                    if b[pos:pos + 1] == b"]":
                        pos += 1
                        break
                out.append(value(typ))
            return out
        if t == "{":
            typ, cnt = header()
            out = {}
            while cnt is None or len(out) < cnt:
                if cnt is None:
                    while b[pos:pos + 1] == b"N":
                        pos += 1
                    if b[pos:pos + 1] == b"}":
                        pos += 1
                        break
                k = string()
                out[k] = value(typ)
            return out
        raise UBJError("byte %d: unknown marker %r" % (pos - 1, t))

    v = value()
    return v


def load_tree(data):
    """The model as Python objects, JSON or UBJSON told from the bytes.
    NaN stays NaN (Python's json reads XGBoost's bare NaN)."""
    if len(data) >= 2 and data[:1] == b"{" and chr(data[1]).isalpha():
        return ubj_decode(data)
    if data[:4] == b"binf":
        raise ValueError("XGBoost's deprecated binary format")
    return json.loads(data.decode("utf-8"))


# ---------------------------------------------------------------- model

def _base_score(s):
    """learner_model_param.base_score: "5E-1" (1.x, 2.0) or "[5E-1,...]"
    (3.x vector form, one per target/class)."""
    s = s.strip()
    if s.startswith("["):
        return [F32(float(v)) for v in s[1:-1].split(",")]
    return [F32(float(s))]


def prob_to_margin(objective, b):
    """ObjFunction::ProbToMargin: base_score (a mean) to a margin."""
    if objective in ("reg:logistic", "binary:logistic"):
        return F32(-logf(F32(F32(1.0) / b) - F32(1.0)))
    if objective in ("count:poisson", "reg:gamma", "reg:tweedie",
                     "survival:cox", "survival:aft"):
        return logf(b)
    return b


class Tree:
    def __init__(self, t):
        self.left = t["left_children"]
        self.right = t["right_children"]
        self.feat = t["split_indices"]
        self.cond = [F32(c) if c is not None else F32("nan")
                     for c in t["split_conditions"]]
        self.dleft = [bool(d) for d in t["default_left"]]
        n = len(self.left)
        self.stype = t.get("split_type") or [0] * n
        self.cats = {}
        cats = t.get("categories", [])
        for k, node in enumerate(t.get("categories_nodes", [])):
            beg = t["categories_segments"][k]
            size = t["categories_sizes"][k]
            self.cats[node] = set(cats[beg:beg + size])

    def leaf(self, x):
        nid = 0
        while self.left[nid] != -1:
            v = x[self.feat[nid]]
            if math.isnan(v):
                nid = self.left[nid] if self.dleft[nid] else self.right[nid]
            elif self.stype[nid] == 1:
                nid = (self.left[nid] if _cat_left(self.cats[nid], v)
                       else self.right[nid])
            else:
                nid = self.left[nid] if F32(v) < self.cond[nid] \
                    else self.right[nid]
        return self.cond[nid]


def _cat_left(cats, v):
    """common::Decision (src/common/categorical.h): go left unless v, cast
    to int, is one of the node's categories; negative values and values
    >= 2^24 go left too.  Values past the largest category go left."""
    v = F32(v)
    if v < 0 or v >= F32(16777216):
        return True
    return int(v) not in cats


class RefModel:
    @classmethod
    def load(cls, path):
        with open(path, "rb") as f:
            return cls(load_tree(f.read()))

    def __init__(self, tree):
        lr = tree["learner"]
        self.version = tuple(tree.get("version", (0, 0, 0)))
        p = lr["learner_model_param"]
        self.objective = lr["objective"]["name"]
        self.num_feature = int(p["num_feature"])
        self.num_class = int(p.get("num_class", "0"))
        self.num_target = int(p.get("num_target", "1"))
        self.ngroups = max(self.num_class, self.num_target, 1)
        bs = _base_score(p["base_score"])
        self.base = [prob_to_margin(self.objective, b) for b in bs]
        attrs = lr.get("attributes", {})
        self.best_iteration = (int(attrs["best_iteration"])
                               if "best_iteration" in attrs else None)
        self.feature_names = lr.get("feature_names", [])
        self.feature_types = lr.get("feature_types", [])
        gb = lr["gradient_booster"]
        self.booster = gb["name"]
        if self.booster == "gblinear":
            w = gb["model"]["weights"]
            self.weights = [F32(v) for v in w]
            return
        model = gb["gbtree"]["model"] if self.booster == "dart" else gb["model"]
        self.trees = [Tree(t) for t in model["trees"]]
        self.tree_info = model["tree_info"]
        npt = int(model["gbtree_model_param"]["num_parallel_tree"])
        self.layer_trees = npt * self.ngroups
        self.weight_drop = ([F32(w) for w in gb["weight_drop"]]
                            if self.booster == "dart" else None)

    def margins(self, X, iteration_range=None):
        X = np.asarray(X, dtype=np.float64)
        out = np.empty((len(X), self.ngroups), dtype=F32)
        for r, x in enumerate(X):
            out[r] = self._row(x, iteration_range)
        return out

    def _row(self, x, iteration_range):
        g_n = self.ngroups
        m = [self.base[g] if len(self.base) > 1 else self.base[0]
             for g in range(g_n)]
        if self.booster == "gblinear":
            nf = self.num_feature
            for g in range(g_n):
                # gblinear.cc Pred: psum = bias + base, then += x * w
                s = F32(self.weights[nf * g_n + g] + m[g])
                for i in range(nf):
                    if not math.isnan(x[i]):
                        s = F32(s + F32(F32(x[i]) * self.weights[i * g_n + g]))
                m[g] = s
            return m
        lo, hi = 0, len(self.trees)
        if iteration_range is not None and iteration_range != (0, 0):
            lo = iteration_range[0] * self.layer_trees
            hi = iteration_range[1] * self.layer_trees
        for i in range(lo, hi):
            g = self.tree_info[i]
            v = self.trees[i].leaf(x)
            if self.weight_drop is not None:
                v = F32(v * self.weight_drop[i])
            m[g] = F32(m[g] + v)
        return m

    def predict(self, X, output_margin=False, iteration_range=None):
        """As Booster.predict: (rows,) or (rows, groups) float32; softmax
        gives the class index as float."""
        m = self.margins(X, iteration_range)
        if output_margin:
            return m[:, 0] if self.ngroups == 1 else m
        obj = self.objective
        if obj in ("reg:logistic", "binary:logistic"):
            f = np.vectorize(_sigmoid, otypes=[F32])
            out = f(m)
        elif obj in ("count:poisson", "reg:gamma", "reg:tweedie",
                     "survival:cox", "survival:aft"):
            out = np.vectorize(expf, otypes=[F32])(m)
        elif obj == "binary:hinge":
            out = (m > 0).astype(F32)
        elif obj == "multi:softprob":
            out = np.array([_softmax(r) for r in m], dtype=F32)
        elif obj == "multi:softmax":
            return np.array([F32(_argmax(r)) for r in m], dtype=F32)
        else:
            out = m
        return out[:, 0] if self.ngroups == 1 else out


def _sigmoid(x):
    """common::Sigmoid (src/common/math.h)."""
    x = min(F32(-x), F32(88.7))
    return F32(F32(1.0) / F32(F32(expf(x) + F32(1.0)) + F32(1e-16)))


def _softmax(r):
    """common::Softmax: float exps, summed in double, divided in float."""
    wmax = r[0]
    for v in r[1:]:
        wmax = max(v, wmax)
    e = [expf(F32(v - wmax)) for v in r]
    s = 0.0
    for v in e:
        s += float(v)
    return [F32(v / F32(s)) for v in e]


def _argmax(r):
    """common::FindMaxIndex: the first largest."""
    best = 0
    for i, v in enumerate(r):
        if v > r[best]:
            best = i
    return best
