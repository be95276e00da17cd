"""onnx_trees: scikit-learn tree ensembles to ONNX-ML graphs, for the tests.

A converter written for the tests (no skl2onnx is packaged), with
onnx.helper from Debian's python3-onnx.  It writes what the common
converters write, in ai.onnx.ml opsets 1, 3 and 5:

    RandomForest/ExtraTrees regressors  TreeEnsembleRegressor, leaf values
                                        over the tree count with SUM, or
                                        AVERAGE
    GradientBoostingRegressor           TreeEnsembleRegressor, learning
                                        rate in the leaves, base_values the
                                        initial prediction
    RandomForest/ExtraTrees classifiers TreeEnsembleClassifier, class
                                        fractions over the tree count;
                                        binary: one weight (class 1)
    GradientBoostingClassifier          TreeEnsembleClassifier, LOGISTIC
                                        (binary) or SOFTMAX, base_values
    opset 5                             TreeEnsemble (regressors, and
                                        classifiers as n_targets scores)

and around the ensemble the operators converters add: ZipMap on the
probabilities, Cast and Identity on the label, the input or the scores, a
final Softmax, Sigmoid or Exp.  The node comparison (BRANCH_LEQ, as scikit-learn
decides x <= threshold) can be rewritten into an equivalent BRANCH_LT, GT
or GTE with the children swapped or the threshold moved to the next
float32, and missing_value_tracks_true set at random: the result is then
checked against ONNX Runtime, not scikit-learn.

    python3 onnx_trees.py OUTDIR   writes a small zoo and prints its names
"""

import os
import sys

import numpy as np
from onnx import TensorProto, TypeProto, helper

ML = "ai.onnx.ml"
LEAF = -1  # sklearn's TREE_LEAF


def _f32(x):
    return float(np.float32(x))


def _next_up(x):
    return float(np.nextafter(np.float32(x), np.float32(np.inf)))


class Nodes:
    """The nodes_* arrays of one ensemble in opset 1/3 form."""

    def __init__(self):
        self.treeids, self.nodeids, self.featureids = [], [], []
        self.modes, self.values, self.trueids, self.falseids = [], [], [], []
        self.mtt = []

    def add(self, t, n, f, mode, v, tid, fid, mtt=0):
        self.treeids.append(t)
        self.nodeids.append(n)
        self.featureids.append(f)
        self.modes.append(mode)
        self.values.append(v)
        self.trueids.append(tid)
        self.falseids.append(fid)
        self.mtt.append(mtt)


def add_tree(nodes, weights, tid, tree, leaf_fn, rng=None, modes="LEQ"):
    """Append sklearn tree `tree' as tree tid.  leaf_fn(node) gives the
    list of (group, weight) of a leaf.  modes: "LEQ" as scikit-learn, or
    "mix" for equivalent comparisons chosen at random."""
    left, right = tree.children_left, tree.children_right
    for i in range(tree.node_count):
        if left[i] == LEAF:
            nodes.add(tid, i, 0, "LEAF", 0.0, 0, 0, 0)
            for g, w in leaf_fn(i):
                weights.append((tid, i, g, w))
            continue
        t = _f32(tree.threshold[i])
        f = int(tree.feature[i])
        mtt = int(rng.integers(0, 2)) if rng is not None else 0
        mode = "BRANCH_LEQ"
        if modes == "mix":
            mode = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GT",
                    "BRANCH_GTE"][int(rng.integers(0, 4))]
        if mode == "BRANCH_LEQ":      # x <= t: left
            nodes.add(tid, i, f, mode, t, int(left[i]), int(right[i]), mtt)
        elif mode == "BRANCH_LT":     # x < next(t): left
            nodes.add(tid, i, f, mode, _next_up(t), int(left[i]),
                      int(right[i]), mtt)
        elif mode == "BRANCH_GT":     # x > t: right
            nodes.add(tid, i, f, mode, t, int(right[i]), int(left[i]), mtt)
        else:                         # x >= next(t): right
            nodes.add(tid, i, f, mode, _next_up(t), int(right[i]),
                      int(left[i]), mtt)


def _attrs_v1(nodes, weights, prefix, opset, dtype):
    """The attributes of an opset 1 or 3 ensemble."""
    a = dict(nodes_treeids=nodes.treeids, nodes_nodeids=nodes.nodeids,
             nodes_featureids=nodes.featureids, nodes_modes=nodes.modes,
             nodes_truenodeids=nodes.trueids,
             nodes_falsenodeids=nodes.falseids,
             nodes_missing_value_tracks_true=nodes.mtt)
    a[prefix + "_treeids"] = [w[0] for w in weights]
    a[prefix + "_nodeids"] = [w[1] for w in weights]
    a[prefix + "_ids"] = [w[2] for w in weights]
    vals = [float(v) for v in nodes.values]
    ws = [float(w[3]) for w in weights]
    if opset >= 3 and dtype is not None:
        np_t = np.float64 if dtype == TensorProto.DOUBLE else np.float32
        a["nodes_values_as_tensor"] = helper.make_tensor(
            "nodes_values", dtype, [len(vals)], np.array(vals, np_t))
        a[prefix + "_weights_as_tensor"] = helper.make_tensor(
            prefix + "_weights", dtype, [len(ws)], np.array(ws, np_t))
    else:
        a["nodes_values"] = vals
        a[prefix + "_weights"] = ws
    return a


def _attrs_v5(nodes, weights, n_targets, agg, post):
    """An opset-5 TreeEnsemble's attributes from opset 1 form: interior
    nodes and leaves apart, children by position."""
    interior, leaves = {}, {}
    for k in range(len(nodes.treeids)):
        key = (nodes.treeids[k], nodes.nodeids[k])
        if nodes.modes[k] == "LEAF":
            leaves[key] = k
        else:
            interior[key] = k
    ipos = {key: i for i, key in enumerate(interior)}
    wl = {}
    for (t, n, g, w) in weights:
        wl.setdefault((t, n), []).append((g, w))
    leaf_t, leaf_w, lpos = [], [], {}
    for key in leaves:
        gw = wl.get(key, [(0, 0.0)])
        if len(gw) != 1:
            raise ValueError("opset 5 leaves weigh one target")
        lpos[key] = len(leaf_t)
        leaf_t.append(gw[0][0])
        leaf_w.append(gw[0][1])
    codes = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2,
             "BRANCH_GT": 3, "BRANCH_EQ": 4, "BRANCH_NEQ": 5}
    feat, split, modes, tids, fids, tl, fl, mtt = ([] for _ in range(8))
    roots = []
    for key, k in interior.items():
        t = key[0]
        if not roots or nodes.treeids[roots[-1][1]] != t:
            roots.append((ipos[key], k))
        feat.append(nodes.featureids[k])
        split.append(nodes.values[k])
        modes.append(codes[nodes.modes[k]])
        mtt.append(nodes.mtt[k])
        for ids, leafs, child in ((tids, tl, nodes.trueids[k]),
                                  (fids, fl, nodes.falseids[k])):
            ck = (t, child)
            if ck in lpos:
                ids.append(lpos[ck])
                leafs.append(1)
            else:
                ids.append(ipos[ck])
                leafs.append(0)
    # a tree that is one leaf: one node whose branches both name it
    seen = {nodes.treeids[k] for k in interior.values()}
    for key in leaves:
        if key[0] not in seen:
            seen.add(key[0])
            roots.append((len(feat), None))
            feat.append(0)
            split.append(0.0)
            modes.append(0)
            mtt.append(0)
            tids.append(lpos[key])
            fids.append(lpos[key])
            tl.append(1)
            fl.append(1)
    return dict(
        n_targets=n_targets, aggregate_function=agg,
        post_transform=post, tree_roots=[r[0] for r in roots],
        nodes_featureids=feat, nodes_truenodeids=tids,
        nodes_falsenodeids=fids, nodes_trueleafs=tl, nodes_falseleafs=fl,
        nodes_missing_value_tracks_true=mtt,
        nodes_modes=helper.make_tensor("m", TensorProto.UINT8, [len(modes)],
                                       np.array(modes, np.uint8).tobytes(),
                                       raw=True),
        nodes_splits=helper.make_tensor("s", TensorProto.FLOAT, [len(split)],
                                        np.array(split, np.float32)),
        leaf_targetids=leaf_t,
        leaf_weights=helper.make_tensor("w", TensorProto.FLOAT, [len(leaf_w)],
                                        np.array(leaf_w, np.float32)))


def ensemble_arrays(est, kind, rng=None, modes="LEQ", one_weight=True):
    """(nodes, weights, ngroups, base, post) of a fitted estimator.
    kind: "rf" (forests), "gb" (gradient boosting), with est a regressor
    or classifier."""
    nodes, weights = Nodes(), []
    is_cls = hasattr(est, "classes_")
    if kind == "rf":
        trees = [e.tree_ for e in est.estimators_]
        n = len(trees)
        ncls = len(est.classes_) if is_cls else 1
        nout = est.n_outputs_ if not is_cls else 1
        for t, tree in enumerate(trees):
            def leaf(i, tree=tree):
                v = tree.value[i]
                if is_cls:
                    p = v[0] / v[0].sum()
                    if ncls == 2 and one_weight:
                        return [(0, _f32(p[1] / n))]
                    return [(k, _f32(p[k] / n)) for k in range(ncls)]
                return [(k, _f32(v[k][0] / n)) for k in range(nout)]
            add_tree(nodes, weights, t, tree, leaf, rng, modes)
        groups = ncls if is_cls else nout
        return nodes, weights, groups, None, "NONE"
    # gradient boosting
    lr = est.learning_rate
    stages = est.estimators_
    k = stages.shape[1]
    t = 0
    for s in range(stages.shape[0]):
        for c in range(k):
            tree = stages[s, c].tree_

            def leaf(i, tree=tree, c=c):
                return [(c, _f32(lr * tree.value[i][0][0]))]
            add_tree(nodes, weights, t, tree, leaf, rng, modes)
            t += 1
    init = est._raw_predict_init(np.zeros((1, est.n_features_in_)))[0]
    base = [float(b) for b in init]
    if not is_cls:
        return nodes, weights, 1, base, "NONE"
    if k == 1:
        return nodes, weights, 2, base, "LOGISTIC"
    return nodes, weights, k, base, "SOFTMAX"


def graph_model(nodes, weights, nfeat, groups, classifier, opset=1,
                base=None, post="NONE", agg="SUM", labels=None,
                zipmap=True, cast_label=False, cast_input=False,
                identity=False, final=None, dtype=None, as_v5=False):
    """A ModelProto around one ensemble (see the module's comment)."""
    in_t = TensorProto.DOUBLE if dtype == TensorProto.DOUBLE else \
        TensorProto.FLOAT
    X = helper.make_tensor_value_info("X", in_t, [None, nfeat])
    nodes_out, outputs = [], []
    ens_in = "X"
    if cast_input:
        nodes_out.append(helper.make_node("Cast", ["X"], ["Xc"], to=in_t))
        ens_in = "Xc"
    if as_v5:
        codes = {"SUM": 1, "AVERAGE": 0, "MIN": 2, "MAX": 3}
        pcodes = {"NONE": 0, "SOFTMAX": 1, "LOGISTIC": 2,
                  "SOFTMAX_ZERO": 3, "PROBIT": 4}
        a = _attrs_v5(nodes, weights, groups, codes[agg], pcodes[post])
        nodes_out.append(helper.make_node("TreeEnsemble", [ens_in], ["S"],
                                          domain=ML, **a))
        score = "S"
        ml_opset = 5
    elif classifier:
        a = _attrs_v1(nodes, weights, "class", opset, dtype)
        if labels is not None and isinstance(labels[0], str):
            a["classlabels_strings"] = labels
        else:
            a["classlabels_int64s"] = [int(x) for x in (
                labels if labels is not None else range(groups))]
        if base is not None:
            a["base_values"] = base
        a["post_transform"] = post
        nodes_out.append(helper.make_node(
            "TreeEnsembleClassifier", [ens_in], ["L", "S"], domain=ML, **a))
        score = "S"
        ml_opset = opset
        lab_t = TensorProto.STRING if labels is not None and \
            isinstance(labels[0], str) else TensorProto.INT64
        if cast_label and lab_t == TensorProto.INT64:
            nodes_out.append(helper.make_node("Cast", ["L"], ["label"],
                                              to=TensorProto.INT64))
        else:
            nodes_out.append(helper.make_node("Identity", ["L"], ["label"]))
        outputs.append(helper.make_tensor_value_info("label", lab_t, [None]))
    else:
        a = _attrs_v1(nodes, weights, "target", opset, dtype)
        a["n_targets"] = groups
        a["aggregate_function"] = agg
        if base is not None:
            a["base_values"] = base
        a["post_transform"] = post
        nodes_out.append(helper.make_node(
            "TreeEnsembleRegressor", [ens_in], ["S"], domain=ML, **a))
        score = "S"
        ml_opset = opset
    if identity:
        nodes_out.append(helper.make_node("Identity", [score], ["S2"]))
        score = "S2"
    if final == "Sigmoid":
        nodes_out.append(helper.make_node("Sigmoid", [score], ["S3"]))
        score = "S3"
    elif final == "Exp":
        nodes_out.append(helper.make_node("Exp", [score], ["S3"]))
        score = "S3"
    elif final == "Softmax":
        nodes_out.append(helper.make_node("Softmax", [score], ["S3"],
                                          axis=-1))
        score = "S3"
    name = "probabilities" if classifier else "variable"
    nodes_out.append(helper.make_node("Identity", [score], [name]))
    outputs.append(helper.make_tensor_value_info(
        name, TensorProto.FLOAT, [None, groups]))
    if classifier and zipmap:
        key = "classlabels_strings" if labels is not None and \
            isinstance(labels[0], str) else "classlabels_int64s"
        kv = labels if key == "classlabels_strings" else \
            [int(x) for x in (labels if labels is not None
                              else range(groups))]
        nodes_out.append(helper.make_node("ZipMap", [name], ["output_map"],
                                          domain=ML, **{key: kv}))
        vt = TensorProto.STRING if key == "classlabels_strings" else \
            TensorProto.INT64
        mt = TypeProto()
        mt.map_type.key_type = vt
        mt.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(
            TensorProto.FLOAT, []))
        outputs.append(helper.make_value_info(
            "output_map", helper.make_sequence_type_proto(mt)))
    g = helper.make_graph(nodes_out, "trees", [X], outputs)
    m = helper.make_model(g, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid(ML, ml_opset)],
        producer_name="inferd-tests")
    m.ir_version = 8
    return m


AGGS = ("sum", "average", "min", "max")
POSTS = ("logistic", "softmax", "softmax_zero", "probit")
ZOO_NAMES = (
    ["%s_o%d" % (n, o) for o in (1, 3) for n in (
        "rf_reg", "et_reg", "gb_reg", "rf_bin", "rf_multi", "et_multi",
        "gb_bin", "gb_multi")] +
    ["rf_reg_o5", "gb_reg_o5", "gb_multi_o5", "rf_bin2w_o1",
     "gb_bin_sigmoid", "gb_multi_softmax", "post1_probit",
     "gb_multi_mix_zero", "eq_neq", "rf_reg_double", "gb_reg_exp"] +
    ["%s_%s" % (p, a) for p in ("mix", "mix2", "mix5") for a in AGGS] +
    ["post2_" + p for p in POSTS])


def zoo(outdir, seed=7):
    """Write the test zoo into outdir: {name: (path, info)}, info a dict
    with nfeat, classifier, groups, est (the sklearn estimator), kind,
    exact (whether sklearn's predictions are comparable)."""
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                                  GradientBoostingClassifier,
                                  GradientBoostingRegressor,
                                  RandomForestClassifier,
                                  RandomForestRegressor)
    rng = np.random.default_rng(seed)
    out = {}
    Xr, yr = make_regression(n_samples=300, n_features=8, noise=5.0,
                             random_state=seed)
    Xr = Xr.astype(np.float32)
    Y2 = np.stack([yr, -0.5 * yr + Xr[:, 0]], axis=1)
    Xb, yb = make_classification(n_samples=300, n_features=8, n_informative=5,
                                 random_state=seed)
    Xm, ym = make_classification(n_samples=300, n_features=8, n_informative=6,
                                 n_classes=4, n_clusters_per_class=1,
                                 random_state=seed)
    Xb, Xm = Xb.astype(np.float32), Xm.astype(np.float32)

    def save(name, model, **info):
        p = os.path.join(outdir, name + ".onnx")
        with open(p, "wb") as f:
            f.write(model.SerializeToString())
        out[name] = (p, info)

    rfr = RandomForestRegressor(n_estimators=12, max_depth=6,
                                random_state=seed).fit(Xr, yr)
    etr = ExtraTreesRegressor(n_estimators=10, max_depth=5,
                              random_state=seed).fit(Xr, yr)
    gbr = GradientBoostingRegressor(n_estimators=25, max_depth=3,
                                    random_state=seed).fit(Xr, yr)
    rf2 = RandomForestRegressor(n_estimators=6, max_depth=4,
                                random_state=seed).fit(Xr, Y2)
    rfb = RandomForestClassifier(n_estimators=10, max_depth=6,
                                 random_state=seed).fit(Xb, yb)
    rfm = RandomForestClassifier(n_estimators=10, max_depth=6,
                                 random_state=seed).fit(Xm, ym)
    etm = ExtraTreesClassifier(n_estimators=8, max_depth=5,
                               random_state=seed).fit(Xm, ym)
    gbb = GradientBoostingClassifier(n_estimators=20, max_depth=3,
                                     random_state=seed).fit(Xb, yb)
    gbm = GradientBoostingClassifier(n_estimators=10, max_depth=3,
                                     random_state=seed).fit(Xm, ym)
    reg = dict(nfeat=8, classifier=False)
    for opset in (1, 3):
        for name, est, kind in (("rf_reg", rfr, "rf"), ("et_reg", etr, "rf"),
                                ("gb_reg", gbr, "gb")):
            n, w, g, b, post = ensemble_arrays(est, kind)
            save("%s_o%d" % (name, opset), graph_model(
                n, w, 8, g, False, opset, b, post, identity=opset == 3,
                cast_input=opset == 3,
                dtype=TensorProto.FLOAT if opset == 3 else None),
                groups=1, est=est, sk=True, **reg)
        for name, est, kind, ng in (("rf_bin", rfb, "rf", 2),
                                    ("rf_multi", rfm, "rf", 4),
                                    ("et_multi", etm, "rf", 4),
                                    ("gb_bin", gbb, "gb", 2),
                                    ("gb_multi", gbm, "gb", 4)):
            n, w, g, b, post = ensemble_arrays(est, kind)
            save("%s_o%d" % (name, opset), graph_model(
                n, w, 8, g, True, opset, b, post, cast_label=opset == 3,
                dtype=TensorProto.FLOAT if opset == 3 else None),
                groups=g, est=est, sk=True, nfeat=8, classifier=True)
    # opset 5: regressors, and classifiers' scores
    for name, est, kind in (("rf_reg", rfr, "rf"), ("gb_reg", gbr, "gb")):
        n, w, g, b, post = ensemble_arrays(est, kind)
        if b is not None:   # TreeEnsemble has no base_values: a leaf tree
            n.add(10**6, 0, 0, "LEAF", 0.0, 0, 0)
            w.append((10**6, 0, 0, _f32(b[0])))
        save(name + "_o5", graph_model(n, w, 8, g, False, as_v5=True),
             groups=1, est=est, sk=True, **reg)
    n, w, g, b, post = ensemble_arrays(gbm, "gb")
    for k, bk in enumerate(b):
        n.add(10**6 + k, 0, 0, "LEAF", 0.0, 0, 0)
        w.append((10**6 + k, 0, k, _f32(bk)))
    save("gb_multi_o5", graph_model(n, w, 8, g, False, as_v5=True,
                                    post="SOFTMAX"),
         groups=4, est=gbm, sk="proba", **reg)
    # what other converters write
    n, w, g, b, post = ensemble_arrays(rfb, "rf", one_weight=False)
    save("rf_bin2w_o1", graph_model(n, w, 8, g, True, 1, None, "NONE",
                                    labels=["no", "yes"]),
         groups=2, est=rfb, sk=False, nfeat=8, classifier=True)
    n, w, g, b, post = ensemble_arrays(gbb, "gb")
    save("gb_bin_sigmoid", graph_model(n, w, 8, 1, False, 1, b[:1], "NONE",
                                       final="Sigmoid"),
         groups=1, est=gbb, sk=False, **reg)
    n, w, g, b, post = ensemble_arrays(gbr, "gb")
    w = [(t, i, k, _f32(x / 100.0)) for (t, i, k, x) in w]
    save("gb_reg_exp", graph_model(n, w, 8, 1, False, 1, [b[0] / 100.0],
                                   "NONE", final="Exp"),
         groups=1, est=gbr, sk=False, **reg)
    n, w, g, b, post = ensemble_arrays(gbm, "gb")
    save("gb_multi_softmax", graph_model(n, w, 8, 4, False, 1, b, "NONE",
                                         final="Softmax"),
         groups=4, est=gbm, sk="proba", **reg)
    # every comparison, missing values tracked at random, every
    # aggregate and transform
    for agg in ("SUM", "AVERAGE", "MIN", "MAX"):
        n, w, g, b, post = ensemble_arrays(rfr, "rf", rng, modes="mix")
        save("mix_%s" % agg.lower(), graph_model(n, w, 8, 1, False, 1,
                                                 [1.5], agg=agg),
             groups=1, est=rfr, sk=False, **reg)
        n, w, g, b, post = ensemble_arrays(rf2, "rf", rng, modes="mix")
        save("mix2_%s" % agg.lower(), graph_model(n, w, 8, 2, False, 3,
                                                  [0.25, -0.5], agg=agg,
                                                  dtype=TensorProto.FLOAT),
             groups=2, est=rf2, sk=False, **reg)
        n, w, g, b, post = ensemble_arrays(rfr, "rf", rng, modes="mix")
        save("mix5_%s" % agg.lower(), graph_model(n, w, 8, 1, False,
                                                  as_v5=True, agg=agg),
             groups=1, est=rfr, sk=False, **reg)
    for post in ("LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"):
        n, w, g, b, _ = ensemble_arrays(rf2, "rf", rng, modes="mix")
        scale = 1.0 / 4000.0 if post == "PROBIT" else 0.02
        w = [(t, i, k, _f32(x * scale)) for (t, i, k, x) in w]
        base = [0.5, 0.5] if post == "PROBIT" else [0.1, 0.0]
        save("post2_%s" % post.lower(), graph_model(
            n, w, 8, 2, False, 1, base, post), groups=2, est=rf2, sk=False,
            **reg)
    n, w, g, b, _ = ensemble_arrays(rfr, "rf", rng)
    w = [(t, i, k, _f32(x / 1000.0)) for (t, i, k, x) in w]
    save("post1_probit", graph_model(n, w, 8, 1, False, 1, [0.5], "PROBIT"),
         groups=1, est=rfr, sk=False, **reg)
    n, w, g, b, post = ensemble_arrays(gbm, "gb", rng, modes="mix")
    save("gb_multi_mix_zero", graph_model(n, w, 8, 4, True, 1, b,
                                          "SOFTMAX_ZERO"),
         groups=4, est=gbm, sk=False, nfeat=8, classifier=True)
    # a double model: double thresholds and weights (opset 3 tensors)
    n, w, g, b, post = ensemble_arrays(rfr, "rf")
    n.values = [float(e.tree_.threshold[i]) if e.tree_.children_left[i] !=
                LEAF else 0.0 for e in rfr.estimators_
                for i in range(e.tree_.node_count)]
    save("rf_reg_double", graph_model(n, w, 8, 1, False, 3, [0.0],
                                      dtype=TensorProto.DOUBLE),
         groups=1, est=rfr, sk=True, double=True, **reg)
    # equality splits (as LightGBM's categorical splits convert)
    n, w = Nodes(), []
    for t in range(6):
        n.add(t, 0, t % 3, "BRANCH_EQ", float(t % 4), 1, 2, t % 2)
        n.add(t, 1, (t + 1) % 8, "BRANCH_NEQ", 2.0, 3, 4, 0)
        for i in (2, 3, 4):
            n.add(t, i, 0, "LEAF", 0.0, 0, 0)
            w.append((t, i, 0, _f32(0.1 * (t + i))))
    save("eq_neq", graph_model(n, w, 8, 1, False, 1, [0.0]), groups=1,
         est=None, sk=False, **reg)
    return out


def xgboost_json_to_onnx(path, opset=1):
    """An XGBoost JSON model (gbtree, one output group, an identity or
    logistic objective) as a TreeEnsembleRegressor, as onnxmltools writes
    it: BRANCH_LT (XGBoost sends x < condition left), the default
    direction as missing_value_tracks_true, base_score in base_values.
    Returns (ModelProto, nfeatures)."""
    import json
    with open(path) as f:
        j = json.load(f)
    learner = j["learner"]
    nfeat = int(learner["learner_model_param"]["num_feature"])
    base = float(learner["learner_model_param"]["base_score"])
    obj = learner["objective"]["name"]
    post = "NONE"
    if obj == "binary:logistic":
        post = "LOGISTIC"
        base = float(np.log(base / (1.0 - base)))
    trees = learner["gradient_booster"]["model"]["trees"]
    nodes, weights = Nodes(), []
    for t, tr in enumerate(trees):
        left, right = tr["left_children"], tr["right_children"]
        for i in range(len(left)):
            if left[i] == -1:
                nodes.add(t, i, 0, "LEAF", 0.0, 0, 0)
                weights.append((t, i, 0, _f32(tr["split_conditions"][i])))
                continue
            nodes.add(t, i, int(tr["split_indices"][i]), "BRANCH_LT",
                      _f32(tr["split_conditions"][i]), int(left[i]),
                      int(right[i]), int(tr["default_left"][i]))
    m = graph_model(nodes, weights, nfeat, 1, False, opset, [base], "NONE")
    for a in m.graph.node[0].attribute:
        if a.name == "post_transform":
            a.s = post.encode()
    return m, nfeat


if __name__ == "__main__":
    for name, (path, info) in sorted(zoo(sys.argv[1]).items()):
        print(name, path)
