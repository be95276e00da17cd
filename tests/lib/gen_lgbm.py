"""Hand-written LightGBM text models, for what the public model files lack.

No LightGBM is packaged in Debian, and the real models committed under
tests/data/lightgbm/ (written by LightGBM, from lleaves' test suite) are
all version v3 and cover regression, regression_l1, binary and multiclass
only.  This writes models in exactly the layout LightGBM's
GBDT::SaveModelToString and Tree::ToString write (header keys in their
order, tree_sizes, each tree's keys in order, two newlines after a tree,
"end of trees", feature importances, parameters), with random trees, for
every objective LightGBM writes, linear trees, random-forest mode,
categorical splits and every missing type.

    python3 gen_lgbm.py OUTDIR          writes every case of CASES
    python3 gen_lgbm.py --bench FILE    writes the bench model (BENCH)
    python3 gen_lgbm.py --bench-full FILE   ... with full trees
    write(path, **case)                 one model (used by the bench too)
"""

import os
import random
import sys

K_ZERO = 1.0000000180025095e-35  # (double)1e-35f, LightGBM's kZeroThreshold


def g17(x):
    """LightGBM's ArrayToString<true>: 17 significant digits."""
    return "%.17g" % x


def gen_tree(rng, nfeat, depth, catfeats, ncats_max, linear, leaf_scale,
             full=False, stop=0.2, missing_types=(0, 1, 2)):
    """A random tree as LightGBM's arrays (split order, ~leaf children):
    below the root, a node is a leaf with probability stop, or at depth;
    full: every leaf at depth."""
    split_feature, threshold, decision_type = [], [], []
    left, right, leaf_value = [], [], []
    cat_boundaries, cat_threshold = [0], []
    leaf_depth = []

    def build(d):
        if d >= depth or (not full and d > 0 and rng.random() < stop):
            leaf_value.append(rng.uniform(-leaf_scale, leaf_scale))
            leaf_depth.append(d)
            return ~(len(leaf_value) - 1)
        me = len(split_feature)
        f = rng.randrange(nfeat)
        split_feature.append(f)
        left.append(None)
        right.append(None)
        if f in catfeats:
            cats = sorted(rng.sample(range(ncats_max),
                                     rng.randint(1, max(1, ncats_max // 2))))
            nwords = cats[-1] // 32 + 1
            words = [0] * nwords
            for c in cats:
                words[c // 32] |= 1 << (c % 32)
            threshold.append(len(cat_boundaries) - 1)
            cat_threshold.extend(words)
            cat_boundaries.append(len(cat_threshold))
            decision_type.append(1 | (rng.choice([0, 2]) << 2))
        else:
            r = rng.random()
            if r < 0.1:
                t = K_ZERO
            elif r < 0.15:
                t = -K_ZERO
            elif r < 0.2:
                t = float(rng.randint(-3, 3))
            else:
                t = rng.uniform(-2.0, 2.0)
            threshold.append(t)
            missing = rng.choice(missing_types)
            default_left = rng.choice([0, 1])
            decision_type.append((missing << 2) | (default_left << 1))
        left[me] = build(d + 1)
        right[me] = build(d + 1)
        return me

    build(0)
    nl = len(leaf_value)
    t = {"num_leaves": nl, "num_cat": len(cat_boundaries) - 1,
         "split_feature": split_feature, "threshold": threshold,
         "decision_type": decision_type, "left_child": left,
         "right_child": right, "leaf_value": leaf_value,
         "cat_boundaries": cat_boundaries, "cat_threshold": cat_threshold}
    if linear:
        t["leaf_const"] = [rng.uniform(-1, 1) for _ in range(nl)]
        t["leaf_features"] = []
        t["leaf_coeff"] = []
        numf = [f for f in range(nfeat) if f not in catfeats]
        for i in range(nl):
            k = rng.randint(0, min(3, len(numf)))
            fs = sorted(rng.sample(numf, k))
            t["leaf_features"].append(fs)
            t["leaf_coeff"].append([rng.uniform(-0.5, 0.5) for _ in fs])
    return t


def tree_text(t, linear):
    """Tree::ToString for t."""
    nl = t["num_leaves"]
    n = nl - 1
    ints = lambda a: " ".join(str(x) for x in a)
    dbls = lambda a: " ".join(g17(x) for x in a)
    s = "num_leaves=%d\n" % nl
    s += "num_cat=%d\n" % t["num_cat"]
    s += "split_feature=%s\n" % ints(t["split_feature"])
    s += "split_gain=%s\n" % " ".join("%g" % (100.0 / (i + 1))
                                      for i in range(n))
    thr = [g17(x) if t["decision_type"][i] & 1 == 0 else str(int(x))
           for i, x in enumerate(t["threshold"])]
    s += "threshold=%s\n" % " ".join(thr)
    s += "decision_type=%s\n" % ints(t["decision_type"])
    s += "left_child=%s\n" % ints(t["left_child"])
    s += "right_child=%s\n" % ints(t["right_child"])
    s += "leaf_value=%s\n" % dbls(t["leaf_value"])
    s += "leaf_weight=%s\n" % " ".join("1" for _ in range(nl))
    s += "leaf_count=%s\n" % " ".join("1" for _ in range(nl))
    s += "internal_value=%s\n" % " ".join("0" for _ in range(n))
    s += "internal_weight=%s\n" % " ".join("0" for _ in range(n))
    s += "internal_count=%s\n" % " ".join(str(nl) for _ in range(n))
    if t["num_cat"] > 0:
        s += "cat_boundaries=%s\n" % ints(t["cat_boundaries"])
        s += "cat_threshold=%s\n" % ints(t["cat_threshold"])
    s += "is_linear=%d\n" % (1 if linear else 0)
    if linear:
        s += "leaf_const=%s\n" % dbls(t["leaf_const"])
        s += "num_features=%s\n" % ints(len(f) for f in t["leaf_features"])
        s += "leaf_features="
        for fs in t["leaf_features"]:
            if fs:
                s += ints(fs) + " "
            s += " "
        s += "\n"
        s += "leaf_coeff="
        for cs in t["leaf_coeff"]:
            if cs:
                s += dbls(cs) + " "
            s += " "
        s += "\n"
    s += "shrinkage=%s\n" % ("1" if True else "")
    s += "\n"
    return s


def model_text(objective, nfeat=8, iters=10, num_class=1, depth=4,
               version="v4", linear=False, average=False, catfeats=(),
               ncats_max=40, seed=1, names=None, full=False,
               leaf_scale=1.0, stop=0.2, missing_types=(0, 1, 2)):
    rng = random.Random(seed)
    catfeats = set(catfeats)
    trees = [gen_tree(rng, nfeat, depth, catfeats, ncats_max, linear,
                      leaf_scale, full, stop, missing_types)
             for _ in range(iters * num_class)]
    tstrs = ["Tree=%d\n" % i + tree_text(t, linear) + "\n"
             for i, t in enumerate(trees)]
    names = names or ["Column_%d" % i for i in range(nfeat)]
    infos = []
    for f in range(nfeat):
        if f in catfeats:
            infos.append(":".join(str(c) for c in range(ncats_max)))
        else:
            infos.append("[-2:2]")
    s = "tree\n"
    s += "version=%s\n" % version
    s += "num_class=%d\n" % num_class
    s += "num_tree_per_iteration=%d\n" % num_class
    s += "label_index=0\n"
    s += "max_feature_idx=%d\n" % (nfeat - 1)
    if objective is not None:
        s += "objective=%s\n" % objective
    if average:
        s += "average_output\n"
    s += "feature_names=%s\n" % " ".join(names)
    s += "feature_infos=%s\n" % " ".join(infos)
    s += "tree_sizes=%s\n" % " ".join(str(len(x)) for x in tstrs)
    s += "\n"
    s += "".join(tstrs)
    s += "end of trees\n"
    s += "\nfeature_importances:\n"
    s += "%s=%d\n" % (names[0], len(trees))
    s += "\nparameters:\n"
    s += "[boosting: %s]\n" % ("rf" if average else "gbdt")
    s += "[objective: %s]\n" % (objective or "custom").split(" ")[0]
    s += "[linear_tree: %d]\n" % (1 if linear else 0)
    s += "\nend of parameters\n"
    s += "\npandas_categorical:null\n"
    return s


def write(path, **kw):
    with open(path, "w") as f:
        f.write(model_text(**kw))


# name -> model_text arguments.  Every objective LightGBM writes, with the
# parameters its ToString puts on the objective line.
CASES = {
    "regression": dict(objective="regression", catfeats=(2,)),
    "regression_sqrt": dict(objective="regression sqrt", seed=2),
    "regression_l1": dict(objective="regression_l1", seed=3),
    "huber": dict(objective="huber", seed=4),
    "fair": dict(objective="fair", seed=5),
    "quantile": dict(objective="quantile", seed=6),
    "mape": dict(objective="mape", seed=7),
    "poisson": dict(objective="poisson", seed=8, leaf_scale=0.3),
    "gamma": dict(objective="gamma", seed=9, leaf_scale=0.3),
    "tweedie": dict(objective="tweedie", seed=10, leaf_scale=0.3),
    "binary": dict(objective="binary sigmoid:1", seed=11, catfeats=(1, 5)),
    "binary_sigmoid07": dict(objective="binary sigmoid:0.7", seed=12),
    # 1.01876: LightGBM's Atof reads it one ulp below strtod's double
    "binary_sigmoid_atof": dict(objective="binary sigmoid:1.01876",
                                seed=26),
    "cross_entropy": dict(objective="cross_entropy", seed=13),
    "cross_entropy_lambda": dict(objective="cross_entropy_lambda", seed=14),
    "multiclass": dict(objective="multiclass num_class:3", num_class=3,
                       seed=15, catfeats=(0,)),
    "multiclassova": dict(objective="multiclassova num_class:3 sigmoid:1",
                          num_class=3, seed=16),
    "lambdarank": dict(objective="lambdarank", seed=17),
    "rank_xendcg": dict(objective="rank_xendcg", seed=18),
    "custom": dict(objective=None, seed=19),
    "linear": dict(objective="regression", linear=True, seed=20,
                   catfeats=(3,)),
    "linear_binary": dict(objective="binary sigmoid:1", linear=True,
                          seed=21),
    "rf": dict(objective="binary sigmoid:1", average=True, seed=22,
               catfeats=(4,)),
    "rf_regression": dict(objective="regression", average=True, seed=23),
    "v3_names": dict(objective="regression", version="v3", seed=24,
                     names=["age", "income", "height", "weight", "x.y",
                            "z_1", "colour", "w"]),
    "deep": dict(objective="regression", depth=12, iters=3, seed=25,
                 full=False),
}


# make bench-lgbm's models: 500 trees of depth 8 on 50 features,
# regression, numerical splits with missing types None and NaN (what
# LightGBM writes unless zero_as_missing is set).  BENCH has trees
# shaped like trained ones (about 105 leaves, as XGBoost's max_depth=8
# trees of bench/bench_model's figure have 107); BENCH_FULL every tree
# full (255 leaves), the worst case for the cache.
BENCH = dict(objective="regression", nfeat=50, iters=500, depth=8,
             stop=0.14, seed=500, leaf_scale=0.1, missing_types=(0, 2))
BENCH_FULL = dict(BENCH, full=True)


def main(outdir):
    if outdir == "--bench":
        write(sys.argv[2], **BENCH)
        return
    if outdir == "--bench-full":
        write(sys.argv[2], **BENCH_FULL)
        return
    os.makedirs(outdir, exist_ok=True)
    for name, kw in CASES.items():
        write(os.path.join(outdir, "gen_%s.txt" % name), **kw)


if __name__ == "__main__":
    main(sys.argv[1])
