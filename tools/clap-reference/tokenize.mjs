// The reference tokenizers: transformers.js's AutoTokenizer loaded from a local model folder (tokenizer.json +
// tokenizer_config.json; no network). Usage: node tokenize.mjs job.json, where job.json is
//   { "model": "path/to/model-folder", "texts": ["a dog", …], "output": "ids.json",
//     "languages": ["deu_Latn", …] (optional, NLLB: each text's src_lang), "truncation": false (optional) }
// The output is a JSON array of id arrays: special tokens added, truncated to the tokenizer's model_max_length unless
// "truncation" is false, no padding. A language is set the way transformers.js's NllbTokenizer does for translation
// (and transformers' src_lang setter): the language token of the post-processor's template is replaced.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(job.model)) + path.sep;
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(path.resolve(job.model)));
const truncation = job.truncation !== false;

function setLanguage(code) {
  if (!tokenizer.language_codes?.includes(code)) {
    throw new Error(`language code "${code}" is not one of the tokenizer's`);
  }
  const single = tokenizer._tokenizer.post_processor?.config?.single ?? [];
  const item = single.find((i) => 'SpecialToken' in i && tokenizer.languageRegex.test(i.SpecialToken.id));
  if (!item) {
    throw new Error('the post-processor template has no language token');
  }
  item.SpecialToken.id = code;
}

const ids = job.texts.map((text, i) => {
  if (job.languages?.[i]) {
    setLanguage(job.languages[i]);
  }
  return Array.from(tokenizer(text, { truncation }).input_ids.data, Number);
});
writeFileSync(job.output, JSON.stringify(ids));
