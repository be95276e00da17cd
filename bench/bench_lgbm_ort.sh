#!/bin/sh
# bench_lgbm_ort.sh SRCDIR MODEL.txt ROWS.f32 SECONDS: ONNX Runtime on the
# bench model's trees (bench/lgbm_onnx.py converts them), on the rows and
# against the answers bench_lgbm wrote.  Skipped, saying how to install it,
# without node or onnxruntime-node (looked for in $ORT_NODE_MODULES, then
# ./ort/node_modules and ./node_modules of the build directory).
set -u
srcdir=$1 model=$2 rows=$3 secs=$4
nm=${ORT_NODE_MODULES:-}
for d in ort/node_modules node_modules; do
	[ -z "$nm" ] && [ -d "$d/onnxruntime-node" ] && nm=$(pwd)/$d
done
if [ -z "$nm" ] || ! command -v node >/dev/null; then
	echo "bench-lgbm: ONNX Runtime skipped: no node or onnxruntime-node" \
	    "(mkdir ort && cd ort && npm install --ignore-scripts" \
	    "onnxruntime-node, in the build directory)"
	exit 0
fi
python3 "$srcdir/bench/lgbm_onnx.py" "$model" "${model%.txt}.onnx" || exit 1
nf=$(sed -n 's/^max_feature_idx=//p' "$model")
node "$srcdir/bench/bench_lgbm_ort.js" "$nm" "${model%.txt}.onnx" "$rows" \
    $((nf + 1)) "$secs"
