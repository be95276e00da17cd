// bench_ort: ONNX Runtime (onnxruntime-node, one intra-op thread) on an
// ONNX model, rows per second, for bench/bench_onnx.py.
//   node bench_ort.js MODULE_DIR MODEL ROWS.f32 NFEATURES BATCH SECONDS [OUT.f32]
'use strict';
const fs = require('fs');
const path = require('path');
const [moddir, model, rowsfile, nfeat, batchs, secs, outfile] =
  process.argv.slice(2);
const ort = require(path.join(moddir, 'node_modules', 'onnxruntime-node'));

async function main() {
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all' });
  const raw = fs.readFileSync(rowsfile);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const nf = parseInt(nfeat, 10), batch = parseInt(batchs, 10);
  const nrows = Math.floor(all.length / nf);
  const name = sess.inputNames[0], out = sess.outputNames[0];
  // the tensors of every batch made beforehand: only run() is timed
  const feeds = [];
  for (let r = 0; r + batch <= nrows && feeds.length < 64; r += batch) {
    const f = {};
    f[name] = new ort.Tensor('float32', all.slice(r * nf, (r + batch) * nf),
      [batch, nf]);
    feeds.push(f);
  }
  let res = await sess.run(feeds[0], [out]);
  if (outfile)
    fs.writeFileSync(outfile, Buffer.from(Float32Array.from(res[out].data).buffer));
  let done = 0, k = 0;
  const t0 = process.hrtime.bigint();
  let t;
  do {
    res = await sess.run(feeds[k], [out]);
    k = (k + 1) % feeds.length;
    done += batch;
    t = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (t < parseFloat(secs));
  console.log('rows_per_s ' + Math.round(done / t));
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
