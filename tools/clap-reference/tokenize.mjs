// The reference RoBERTa (byte-level BPE) tokenizer: transformers.js's AutoTokenizer loaded from a local model folder
// (tokenizer.json + tokenizer_config.json; no network). Usage: node tokenize.mjs job.json, where job.json is
//   { "model": "path/to/model-folder", "texts": ["a dog", …], "output": "ids.json" }
// The output is a JSON array of id arrays: special tokens added, truncated to the tokenizer's model_max_length, no padding.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(job.model)) + path.sep;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(path.resolve(job.model)));
const ids = job.texts.map((text) => Array.from(tokenizer(text, { truncation: true }).input_ids.data, Number));
writeFileSync(job.output, JSON.stringify(ids));
