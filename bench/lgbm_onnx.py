"""A LightGBM text model's trees as an ONNX TreeEnsembleRegressor, for the
ONNX Runtime comparison of make bench-lgbm.  Standard library only: the
protobuf of ONNX's ModelProto (onnx.proto, onnx-ml.proto) is written by
hand, as little of it as the operator needs.

    python3 bench/lgbm_onnx.py MODEL.txt OUT.onnx

Regression with one output (the bench model); ai.onnx.ml opset 3, input
"X" float [N, F], output "Y" float [N, 1], aggregate SUM, no transform.
ONNX thresholds are float32 and the operator has no "zero is missing":
NaN follows nodes_missing_value_tracks_true, set to where LightGBM sends
NaN (the default way for missing types Zero and NaN, where 0 goes for
None).  Close to, not exactly, LightGBM's answers (rows next to a
threshold may differ); the bench reports the largest difference.
"""

import struct
import sys


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_int(field, n):
    return key(field, 0) + varint(n)


def f_float(field, x):
    return key(field, 5) + struct.pack("<f", x)


# AttributeProto.AttributeType
FLOAT, INT, STRING, FLOATS, INTS, STRINGS = 1, 2, 3, 6, 7, 8


def attr(name, kind, value):
    a = f_bytes(1, name)
    if kind == FLOAT:
        a += f_float(2, value)
    elif kind == INT:
        a += f_int(3, value)
    elif kind == STRING:
        a += f_bytes(4, value)
    elif kind == FLOATS:  # packed
        a += f_bytes(7, b"".join(struct.pack("<f", x) for x in value))
    elif kind == INTS:
        a += f_bytes(8, b"".join(varint(x) for x in value))
    elif kind == STRINGS:
        a += b"".join(f_bytes(9, s) for s in value)
    a += f_int(20, kind)
    return a


def value_info(name, dims):
    shape = b"".join(f_bytes(1, f_int(1, d) if isinstance(d, int)
                             else f_bytes(2, d)) for d in dims)
    tensor = f_int(1, 1) + f_bytes(2, shape)  # elem_type FLOAT
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor))


def parse(path):
    """The header and the trees of a LightGBM text model, as lists."""
    head, trees, cur = {}, [], None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("Tree="):
                cur = {}
                trees.append(cur)
            elif line == "end of trees":
                break
            elif "=" in line:
                k, _, v = line.partition("=")
                (cur if cur is not None else head)[k] = v
    return head, trees


def convert(path):
    head, trees = parse(path)
    nf = int(head["max_feature_idx"]) + 1
    ids, nids, feats, vals, modes, tn, fn, miss = ([] for _ in range(8))
    t_tree, t_node, t_w = [], [], []
    for t, tr in enumerate(trees):
        nl = int(tr["num_leaves"])
        leaf = [float(x) for x in tr["leaf_value"].split()]
        if nl == 1:
            ids.append(t)
            nids.append(0)
            feats.append(0)
            vals.append(0.0)
            modes.append("LEAF")
            tn.append(0)
            fn.append(0)
            miss.append(0)
            t_tree.append(t)
            t_node.append(0)
            t_w.append(leaf[0])
            continue
        sf = [int(x) for x in tr["split_feature"].split()]
        th = [float(x) for x in tr["threshold"].split()]
        dt = [int(x) for x in tr["decision_type"].split()]
        lc = [int(x) for x in tr["left_child"].split()]
        rc = [int(x) for x in tr["right_child"].split()]
        ni = nl - 1
        nid = lambda c: c if c >= 0 else ni + ~c
        for i in range(ni):
            if dt[i] & 1:
                raise SystemExit("lgbm_onnx: categorical splits are not "
                                 "converted")
            mt = (dt[i] >> 2) & 3
            ids.append(t)
            nids.append(i)
            feats.append(sf[i])
            vals.append(th[i])
            modes.append("BRANCH_LEQ")
            tn.append(nid(lc[i]))
            fn.append(nid(rc[i]))
            miss.append((1 if dt[i] & 2 else 0) if mt != 0
                        else (1 if 0.0 <= th[i] else 0))
        for j in range(nl):
            ids.append(t)
            nids.append(ni + j)
            feats.append(0)
            vals.append(0.0)
            modes.append("LEAF")
            tn.append(0)
            fn.append(0)
            miss.append(0)
            t_tree.append(t)
            t_node.append(ni + j)
            t_w.append(leaf[j])
    node = (f_bytes(1, "X") + f_bytes(2, "Y") + f_bytes(3, "ensemble") +
            f_bytes(4, "TreeEnsembleRegressor") + f_bytes(7, "ai.onnx.ml"))
    for a in (attr("nodes_treeids", INTS, ids),
              attr("nodes_nodeids", INTS, nids),
              attr("nodes_featureids", INTS, feats),
              attr("nodes_values", FLOATS, vals),
              attr("nodes_modes", STRINGS, modes),
              attr("nodes_truenodeids", INTS, tn),
              attr("nodes_falsenodeids", INTS, fn),
              attr("nodes_missing_value_tracks_true", INTS, miss),
              attr("nodes_hitrates", FLOATS, [1.0] * len(ids)),
              attr("target_treeids", INTS, t_tree),
              attr("target_nodeids", INTS, t_node),
              attr("target_ids", INTS, [0] * len(t_tree)),
              attr("target_weights", FLOATS, t_w),
              attr("n_targets", INT, 1),
              attr("aggregate_function", STRING, "SUM"),
              attr("post_transform", STRING, "NONE")):
        node += f_bytes(5, a)
    graph = (f_bytes(1, node) + f_bytes(2, "lgbm") +
             f_bytes(11, value_info("X", ["N", nf])) +
             f_bytes(12, value_info("Y", ["N", 1])))
    model = (f_int(1, 8) + f_bytes(2, "inferd bench/lgbm_onnx.py") +
             f_bytes(7, graph) +
             f_bytes(8, f_bytes(1, "") + f_int(2, 17)) +
             f_bytes(8, f_bytes(1, "ai.onnx.ml") + f_int(2, 3)))
    return model


if __name__ == "__main__":
    with open(sys.argv[2], "wb") as f:
        f.write(convert(sys.argv[1]))
