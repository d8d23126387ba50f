// Ceiling helper: float32 matmul rate of ONNX Runtime's CPU provider (MLAS) on an N x N MatMul graph.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, n, threads, repeats, out] = process.argv.slice(2);
  const N = Number(n);
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: Number(threads), interOpNumThreads: 1 });
  const a = new Float32Array(N * N).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const feeds = { a: new ort.Tensor('float32', a, [N, N]), b: new ort.Tensor('float32', a, [N, N]) };
  await s.run(feeds);
  const g = [];
  for (let r = 0; r < Number(repeats); r++) {
    const t = process.hrtime.bigint();
    await s.run(feeds);
    g.push((2 * N ** 3) / (Number(process.hrtime.bigint() - t) / 1e9) / 1e9);
  }
  g.sort((x, y) => x - y);
  const med = g.length % 2 ? g[(g.length - 1) / 2] : (g[g.length / 2 - 1] + g[g.length / 2]) / 2;
  const rec = [{ metric: 'ceiling.sgemm_gflops_ort', contender: 'machine', value: +med.toFixed(3), unit: 'GFLOP/s',
    params: { how: `onnxruntime-node MatMul ${N}x${N} float32`, threads: Number(threads), min: +g[0].toFixed(3), max: +g[g.length - 1].toFixed(3), runs: g.length } }];
  console.error(`  machine    ceiling.sgemm_gflops_ort     ${med.toFixed(3).padStart(12)} GFLOP/s`);
  fs.writeFileSync(out, JSON.stringify(rec, null, 1));
}

main().catch((e) => { console.error(e); process.exit(1); });
