"""An independent reference evaluator for LightGBM text models (model.txt).

Written from LightGBM's own source (src/boosting/gbdt_model_text.cpp
LoadModelFromString, src/io/tree.cpp Tree::Tree(const char*),
include/LightGBM/tree.h NumericalDecision / CategoricalDecision /
Predict, src/boosting/gbdt_prediction.cpp, src/objective/*.hpp
ConvertOutput, c_api.cpp's dense row readers), in pure Python with
Python floats (IEEE doubles, as LightGBM computes), one node at a time
with LightGBM's own tree layout (child < 0 is leaf ~child).  It shares
nothing with inferd's C loader: tests compare the two.

    model = load(path)
    model.predict(row)            -> list of outputs (Booster.predict)
    model.predict(row, raw=True)  -> raw scores (predict(raw_score=True))

A row is a list of floats; None or float('nan') is a missing value.
"""

import math
import struct

K_ZERO = struct.unpack("f", struct.pack("f", 1e-35))[0]  # kZeroThreshold


class Tree:
    def __init__(self, kv):
        self.num_leaves = int(kv["num_leaves"])
        self.num_cat = int(kv["num_cat"])
        self.leaf_value = [float(x) for x in kv["leaf_value"].split()]
        assert len(self.leaf_value) == self.num_leaves
        self.is_linear = int(kv.get("is_linear", "0")) != 0
        n = self.num_leaves - 1
        if n > 0:
            self.left = [int(x) for x in kv["left_child"].split()]
            self.right = [int(x) for x in kv["right_child"].split()]
            self.feat = [int(x) for x in kv["split_feature"].split()]
            self.thr = [float(x) for x in kv["threshold"].split()]
            if "decision_type" in kv:
                self.dt = [int(x) for x in kv["decision_type"].split()]
            else:
                self.dt = [0] * n
            assert len(self.left) == len(self.right) == n
            assert len(self.feat) == len(self.thr) == len(self.dt) == n
        if self.num_cat > 0:
            self.cat_boundaries = [int(x) for x in
                                   kv["cat_boundaries"].split()]
            self.cat_threshold = [int(x) for x in
                                  kv["cat_threshold"].split()]
        if self.is_linear:
            self.leaf_const = [float(x) for x in
                               kv.get("leaf_const", "").split()] or \
                [0.0] * self.num_leaves
            nf = [int(x) for x in kv.get("num_features", "").split()]
            feats = [int(x) for x in kv.get("leaf_features", "").split()]
            coef = [float(x) for x in kv.get("leaf_coeff", "").split()]
            self.leaf_features, self.leaf_coeff = [], []
            at = 0
            for i in range(self.num_leaves):
                k = nf[i] if nf else 0
                self.leaf_features.append(feats[at:at + k])
                self.leaf_coeff.append(coef[at:at + k])
                at += k

    @staticmethod
    def is_zero(v):
        return -K_ZERO <= v <= K_ZERO

    def numerical(self, v, node):
        dt = self.dt[node]
        missing = (dt >> 2) & 3
        if math.isnan(v) and missing != 2:
            v = 0.0
        if (missing == 1 and self.is_zero(v)) or \
                (missing == 2 and math.isnan(v)):
            return self.left[node] if dt & 2 else self.right[node]
        return self.left[node] if v <= self.thr[node] else self.right[node]

    def categorical(self, v, node):
        if math.isnan(v):
            return self.right[node]
        # static_cast<int>: truncation; x86 makes out-of-range INT_MIN
        if v >= 2.0 ** 31 or v <= -(2.0 ** 31) - 1:
            return self.right[node]
        c = int(v)
        if c < 0:
            return self.right[node]
        idx = int(self.thr[node])
        lo = self.cat_boundaries[idx]
        n = self.cat_boundaries[idx + 1] - lo
        word = c // 32
        if word < n and (self.cat_threshold[lo + word] >> (c % 32)) & 1:
            return self.left[node]
        return self.right[node]

    def leaf(self, row):
        if self.num_leaves <= 1:
            return 0
        node = 0
        while node >= 0:
            v = row[self.feat[node]]
            if self.dt[node] & 1:
                node = self.categorical(v, node)
            else:
                node = self.numerical(v, node)
        return ~node

    def predict(self, row):
        leaf = self.leaf(row)
        if not self.is_linear:
            return self.leaf_value[leaf]
        out = self.leaf_const[leaf]
        for f, c in zip(self.leaf_features[leaf], self.leaf_coeff[leaf]):
            v = row[f]
            if math.isnan(v):
                return self.leaf_value[leaf]
            out += c * v
        return out


def lgbm_pow(base, power):
    """Common::Pow: halving, thirding, peeling."""
    if power == 0:
        return 1.0
    if power % 2 == 0:
        return lgbm_pow(base * base, power // 2)
    if power % 3 == 0:
        return lgbm_pow(base * base * base, power // 3)
    return base * lgbm_pow(base, power - 1)


def lgbm_atof(s):
    """Common::Atof, which BinaryLogloss and MulticlassOVA read sigmoid:
    with: digits, fraction over a power of ten, exponent by factors."""
    i, sign = 0, 1.0
    if s[i:i + 1] in ("-", "+"):
        sign = -1.0 if s[i] == "-" else 1.0
        i += 1
    value = 0.0
    while i < len(s) and s[i].isdigit():
        value = value * 10.0 + int(s[i])
        i += 1
    if i < len(s) and s[i] == ".":
        i += 1
        right, nn = 0.0, 0
        while i < len(s) and s[i].isdigit():
            right = int(s[i]) + right * 10.0
            nn += 1
            i += 1
        value += right / lgbm_pow(10.0, nn)
    frac, scale = False, 1.0
    if i < len(s) and s[i] in "eE":
        i += 1
        if s[i] in "+-":
            frac = s[i] == "-"
            i += 1
        expon = int(s[i:])
        expon = min(expon, 308)
        while expon >= 50:
            scale *= 1e50
            expon -= 50
        while expon >= 8:
            scale *= 1e8
            expon -= 8
        while expon > 0:
            scale *= 10.0
            expon -= 1
    return sign * (value / scale if frac else value * scale)


def sigmoid(s, x):
    return 1.0 / (1.0 + math.exp(-s * x))


class Model:
    def __init__(self, text):
        lines = text.split("\n")
        if lines[0].rstrip("\r") != "tree":
            raise ValueError("not a LightGBM text model")
        kv = {}
        i = 1
        while i < len(lines) and not lines[i].startswith("Tree="):
            line = lines[i].rstrip("\r")
            if line:
                k, _, v = line.partition("=")
                kv[k] = v
            i += 1
        self.num_class = int(kv["num_class"])
        self.ntpi = int(kv.get("num_tree_per_iteration", self.num_class))
        self.nfeatures = int(kv["max_feature_idx"]) + 1
        self.average = "average_output" in kv
        self.feature_names = kv["feature_names"].split(" ")
        self.objective = kv.get("objective", "")
        self.trees = []
        while i < len(lines) and lines[i].startswith("Tree="):
            i += 1
            tkv = {}
            while i < len(lines) and lines[i].rstrip("\r"):
                k, _, v = lines[i].rstrip("\r").partition("=")
                tkv[k] = v
                i += 1
            self.trees.append(Tree(tkv))
            while i < len(lines) and not lines[i].rstrip("\r"):
                i += 1
        self.iters = len(self.trees) // self.ntpi
        toks = self.objective.split(" ")
        self.obj = toks[0]
        self.params = {}
        self.sqrt = "sqrt" in toks[1:]
        for t in toks[1:]:
            if ":" in t:
                a, _, b = t.partition(":")
                self.params[a] = b

    def raw(self, row):
        row = [float("nan") if v is None else float(v) for v in row]
        # c_api.cpp's dense row readers keep |v| > kZeroThreshold or NaN
        row = [v if (abs(v) > K_ZERO or math.isnan(v)) else 0.0
               for v in row]
        out = [0.0] * self.ntpi
        for it in range(self.iters):
            for k in range(self.ntpi):
                out[k] += self.trees[it * self.ntpi + k].predict(row)
        return out

    def predict(self, row, raw=False):
        out = self.raw(row)
        if raw:
            return out
        if self.average:
            out = [o / self.iters for o in out]
        return self.convert(out)

    def convert(self, out):
        o = self.obj
        if o in ("regression", "regression_l1", "fair", "quantile", "mape"):
            if self.sqrt:
                return [math.copysign(1.0, x) * x * x if x != 0 else 0.0
                        for x in out]
            return out
        if o in ("huber", "lambdarank", "rank_xendcg", "custom", ""):
            return out
        if o in ("poisson", "gamma", "tweedie"):
            return [math.exp(x) for x in out]
        if o in ("binary", "multiclassova"):
            s = lgbm_atof(self.params["sigmoid"])
            return [sigmoid(s, x) for x in out]
        if o == "cross_entropy":
            return [sigmoid(1.0, x) for x in out]
        if o == "cross_entropy_lambda":
            return [math.log1p(math.exp(x)) for x in out]
        if o == "multiclass":
            wmax = max(out)
            e = [math.exp(x - wmax) for x in out]
            s = 0.0
            for x in e:
                s += x
            return [x / s for x in e]
        raise ValueError("unknown objective %r" % o)


def load(path):
    with open(path) as f:
        return Model(f.read())


def thresholds(model):
    """Every (feature, threshold) of the model's numerical splits and
    every (feature, category set bound) of its categorical ones: where
    the tests probe values just either side."""
    num, cat = set(), set()
    for t in model.trees:
        for n in range(t.num_leaves - 1):
            if t.dt[n] & 1:
                cat.add(t.feat[n])
            else:
                num.add((t.feat[n], t.thr[n]))
    return sorted(num), sorted(cat)
