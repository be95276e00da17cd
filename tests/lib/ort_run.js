// Run an ONNX model with ONNX Runtime (onnxruntime-node) on one thread:
//   node ort_run.js MODULE_DIR MODEL ROWS.f32 NFEATURES [double]
// ROWS.f32 holds the rows as little-endian float32, row-major.  Prints one
// JSON object: for each tensor output, {"dims", "type", "data"}; outputs
// that are not tensors (ZipMap's maps) are left out.
'use strict';
const fs = require('fs');
const path = require('path');
const [moddir, model, rowsfile, nfeat, kind] = process.argv.slice(2);
const ort = require(path.join(moddir, 'node_modules', 'onnxruntime-node'));

async function main() {
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const sess = await ort.InferenceSession.create(model, opts);
  const raw = fs.readFileSync(rowsfile);
  const f32 = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const nf = parseInt(nfeat, 10);
  const data = kind === 'double' ? Float64Array.from(f32) : Float32Array.from(f32);
  const t = new ort.Tensor(kind === 'double' ? 'float64' : 'float32', data,
    [f32.length / nf, nf]);
  const feeds = {};
  feeds[sess.inputNames[0]] = t;
  const out = {};
  for (const name of sess.outputNames) {
    let r;
    try {
      r = await sess.run(feeds, [name]);
    } catch (e) {
      continue;		// a sequence of maps: not a tensor
    }
    const v = r[name];
    if (!v || v.data === undefined || v.type === undefined)
      continue;
    out[name] = { dims: v.dims, type: v.type,
      data: Array.from(v.data, (x) => typeof x === 'bigint' ? Number(x) : x) };
  }
  process.stdout.write(JSON.stringify(out));
}
main().catch((e) => { process.stderr.write(String(e) + '\n'); process.exit(1); });
