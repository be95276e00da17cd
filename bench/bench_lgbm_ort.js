// bench_lgbm_ort.js: ONNX Runtime's TreeEnsembleRegressor (onnxruntime-node,
// CPU, one intra-op and one inter-op thread) on the rows bench_lgbm wrote,
// batches of 100 and 10,000 rows, rows per CPU-second of the process (as
// bench_lgbm counts), and the largest difference from inferd's answers.
//
//   node bench/bench_lgbm_ort.js NODE_MODULES MODEL.onnx ROWS.f32 FEATURES SECONDS
'use strict';
const fs = require('fs');
const path = require('path');
const [nm, modelPath, rowsPath, nfArg, secArg] = process.argv.slice(2);
const ort = require(path.join(nm, 'onnxruntime-node'));
const nf = parseInt(nfArg, 10);
const secs = parseFloat(secArg);

function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

(async () => {
  const buf = fs.readFileSync(rowsPath);
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const rows = x.length / nf;
  const pb = fs.readFileSync(rowsPath + '.pred');
  const want = new Float64Array(pb.buffer, pb.byteOffset, pb.length / 8);
  const s = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all' });
  const all = await s.run({ X: new ort.Tensor('float32', x, [rows, nf]) });
  const y = all[s.outputNames[0]].data;
  let maxd = 0, far = 0;
  for (let i = 0; i < rows; i++) {
    const d = Math.abs(y[i] - want[i]);
    if (d > maxd) maxd = d;
    if (d > 1e-3) far++;
  }
  console.log(`  ONNX Runtime ${require(path.join(nm, 'onnxruntime-node', 'package.json')).version}: ` +
    `largest difference from inferd ${maxd.toExponential(2)} ` +
    `(${far} of ${rows} rows beyond 1e-3: float32 thresholds and sums)`);
  for (const batch of [100, rows]) {
    const feeds = [];
    for (let r = 0; r + batch <= rows; r += batch)
      feeds.push({ X: new ort.Tensor('float32', x.subarray(r * nf, (r + batch) * nf), [batch, nf]) });
    let done = 0, i = 0;
    const t0 = cpu();
    let t;
    do {
      await s.run(feeds[i]);
      i = (i + 1) % feeds.length;
      done += batch;
      t = cpu() - t0;
    } while (t < secs);
    console.log(`  batch ${String(batch).padStart(5)} rows: ${String(Math.round(done / t)).padStart(10)} rows/s ONNX Runtime (float32)`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
