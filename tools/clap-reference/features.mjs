// The reference CLAP audio features: transformers.js's ClapFeatureExtractor built from a local preprocessor_config.json
// (no weights, no network). Usage: node features.mjs job.json, where job.json is
//   { "config": "path/to/preprocessor_config.json", "items": [ { "input": "clip.f32", "output": "features.f32" }, … ] }
// Each input is raw little-endian float32 mono samples at the config's rate, at most nb_max_samples long (longer audio
// would be randomly cropped by the reference; Omnivec compares per 10 s window instead). Each output is the
// input_features tensor [1, 1, frames, mel] as raw little-endian float32.
import { readFileSync, writeFileSync } from 'node:fs';
import { ClapFeatureExtractor } from '@huggingface/transformers';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const config = JSON.parse(readFileSync(job.config, 'utf8'));
const extractor = new ClapFeatureExtractor(config);
for (const item of job.items) {
  const bytes = readFileSync(item.input);
  const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  if (samples.length > config.nb_max_samples) {
    throw new Error(`${item.input}: ${samples.length} samples, more than one input (${config.nb_max_samples})`);
  }
  const { input_features } = await extractor(samples);
  const data = input_features.data;
  writeFileSync(item.output, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}
