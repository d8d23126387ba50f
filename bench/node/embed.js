// ONNX Runtime from Node.js contender: onnxruntime-node on the same ONNX files, sharp for decoding and
// preprocessing (resize shortest side to 224 bicubic, centre crop, EXIF rotate: CLIPImageProcessor semantics).
// Texts go in as token ids (no CLIP BPE tokenizer is used here; tokenizing costs microseconds next to the model).
// Same protocol as Omnivec.Bench embed: per batch size, ITEMS inputs in chunks of that size, one warm-up, REPEATS timed runs.
// --family siglip: a SigLIP pack's image tower only (SiglipImageProcessor: straight 224x224 bicubic resize, no crop,
// mean = std = 0.5; output pooler_output), recorded as siglip.* metrics.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const sharp = require('sharp');

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i + 1 < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  return a;
}

const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

function median(s) {
  const x = [...s].sort((p, q) => p - q);
  return x.length % 2 ? x[(x.length - 1) / 2] : (x[x.length / 2 - 1] + x[x.length / 2]) / 2;
}

async function timed(repeats, fn) {
  await fn();
  const out = [];
  for (let r = 0; r < repeats; r++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return out;
}

function chunks(list, b) {
  const out = [];
  for (let i = 0; i < list.length; i += b) out.push(list.slice(i, i + b));
  return out;
}

let SIGLIP = false;

async function preprocess(file, dst, offset) {
  const mean = SIGLIP ? [0.5, 0.5, 0.5] : MEAN;
  const std = SIGLIP ? [0.5, 0.5, 0.5] : STD;
  const { data } = await sharp(file, { failOn: 'none' })
    .rotate()
    .resize(224, 224, SIGLIP ? { fit: 'fill', kernel: 'cubic' } : { fit: 'cover', position: 'centre', kernel: 'cubic' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = 224 * 224;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) dst[offset + c * plane + i] = (data[i * 3 + c] / 255 - mean[c]) / std[c];
  }
}

function l2(vec) {
  let s = 0;
  for (const v of vec) s += v * v;
  s = Math.sqrt(s);
  return Array.from(vec, (v) => v / s);
}

async function main() {
  const a = args();
  const threads = Number(a.threads || 2);
  const items = Number(a.items || 32);
  const repeats = Number(a.repeats || 3);
  const batches = (a.batches || '1,8,32').split(',').map(Number);
  SIGLIP = a.family === 'siglip';
  const prefix = SIGLIP ? 'siglip' : 'embed';
  sharp.concurrency(threads);
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
  const t0 = Date.now();
  const vision = await ort.InferenceSession.create(path.join(a.model, 'onnx', 'vision_model.onnx'), opts);
  const text = SIGLIP ? null : await ort.InferenceSession.create(path.join(a.model, 'onnx', 'text_model.onnx'), opts);
  console.error(`node: sessions loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const ids = SIGLIP ? [] : JSON.parse(fs.readFileSync(a.ids, 'utf8')); // [[77 ids], ...] from the reference tokenizer
  const out = [];
  const rec = (metric, samples, unit, params) => {
    const s = [...samples].sort((p, q) => p - q);
    const p = { ...params, min: +s[0].toFixed(6), max: +s[s.length - 1].toFixed(6), runs: s.length };
    out.push({ metric, contender: 'node-ort', value: +median(s).toFixed(6), unit, params: p });
    console.error(`  node-ort   ${metric.padEnd(28)} ${median(s).toFixed(3).padStart(12)} ${unit} ${JSON.stringify(p)}`);
  };
  const runVision = async (px, n) => {
    const result = await vision.run({ pixel_values: new ort.Tensor('float32', px, [n, 3, 224, 224]) });
    return (SIGLIP ? result.pooler_output : result.image_embeds).data;
  };
  const runText = async (rows) => {
    const flat = BigInt64Array.from(rows.flat().map(BigInt));
    return (await text.run({ input_ids: new ort.Tensor('int64', flat, [rows.length, rows[0].length]) })).text_embeds.data;
  };
  // Exact trimming to the longest text in the batch (causal tower, pooled at the first end token 49407).
  const trimRows = (rows) => {
    const used = Math.max(...rows.map((r) => r.indexOf(49407) + 1));
    return rows.map((r) => r.slice(0, used));
  };
  const len = 3 * 224 * 224;
  const pxAll = new Float32Array(items * len);
  let seed = 1;
  for (let i = 0; i < pxAll.length; i++) { seed = (seed * 1103515245 + 12345) & 0x7fffffff; pxAll[i] = seed / 0x7fffffff * 4 - 2; }
  const idRows = Array.from({ length: items }, (_, i) => ids[i % ids.length]);
  for (const b of batches) {
    const p = { batch: b, items, threads };
    let s = await timed(repeats, async () => {
      for (let i = 0; i < items; i += b) { const n = Math.min(b, items - i); await runVision(pxAll.subarray(i * len, (i + n) * len), n); }
    });
    rec(`${prefix}.model.images_per_s`, s.map((x) => items / x), 'images/s', p);
    for (const trim of SIGLIP ? [] : [true, false]) {
      s = await timed(repeats, async () => { for (const c of chunks(idRows, b)) await runText(trim ? trimRows(c) : c); });
      rec('embed.model.texts_per_s', s.map((x) => items / x), 'texts/s', { ...p, text_len: trim ? 'longest' : '77' });
    }
  }
  const list = (dir, limit) => {
    const f = fs.readdirSync(dir).filter((n) => !/\.(tsv|json)$/.test(n)).sort().map((n) => path.join(dir, n));
    return limit > 0 ? f.slice(0, limit) : f;
  };
  const embedFiles = async (files) => {
    const px = new Float32Array(files.length * len);
    await Promise.all(files.map((f, i) => preprocess(f, px, i * len)));
    return runVision(px, files.length);
  };
  for (const [set, dir, limit] of [['photos', a.photos, Number(a['photos-items'] || 0)], ['large', a.large, Number(a['large-items'] || 0)]]) {
    const files = list(dir, limit);
    for (const b of batches) {
      const s = await timed(repeats, async () => { for (const c of chunks(files, b)) await embedFiles(c); });
      rec(`${prefix}.e2e.images_per_s`, s.map((x) => files.length / x), 'images/s', { set, batch: b, items: files.length, threads, failures: 0 });
    }
  }
  const first = list(a.photos, 1)[0];
  const check = {
    text_embedding: SIGLIP ? null : l2(await runText([ids[0]])),
    image: path.basename(first),
    image_embedding: l2(await embedFiles([first])),
  };
  fs.writeFileSync(a.check, JSON.stringify(check));
  fs.writeFileSync(a.out, JSON.stringify(out, null, 1));
  console.error(`versions: node ${process.version}, onnxruntime-node ${JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules/onnxruntime-node/package.json'))).version}, sharp ${JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules/sharp/package.json'))).version}, libvips ${sharp.versions.vips}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
