#!/usr/bin/env node
// Times the reference runtime (the packages' own embed(): tokenizer +
// TensorFlow.js 4.5.0 graph on the WebAssembly backend, one thread) on a file
// of benchmark inputs.
//
// Usage:
//   (cd tests/golden/generator && npm ci)        # once; this script reuses
//                                                # that node_modules
//   node bench/reference/tfjs_bench.mjs bench/data/inputs.json \
//        [--budget-ms 3000] [--min-reps 5] [--max-reps 1000] [--warmup 3]
//
// Input:  {"cases": [{"name": str, "texts": [str, ...], "max_tokens": int}]}
// Output (stdout, one JSON object):
//   {"cases": [{"name", "median_ms", "p90_ms", "reps"}], "runtime": "tfjs-wasm ..."}
// Progress and per-case details go to stderr.
//
// Each case: `warmup` untimed embed() calls (fewer if they exceed the time
// budget; at least one), then timed calls until the time
// budget is spent (at least min-reps, at most max-reps). One embed() call per
// repetition with all of the case's texts (a batch is one call). Timings
// include the reference tokenizer, as embed() does. max_tokens other than 128
// runs the same graph with the ClipToMaxLength constant set to max_tokens
// (see tests/golden/generator/reference_model.mjs); 128 (the default) is the
// packages' unmodified model.

import { readFile } from 'node:fs/promises';

import { loadReference, runtimeInfo, DEFAULT_MAX_TOKENS } from '../../tests/golden/generator/reference_model.mjs';

function usage(msg) {
  if (msg) console.error(`tfjs_bench: ${msg}`);
  console.error('usage: node bench/reference/tfjs_bench.mjs INPUTS.json [--budget-ms N] [--min-reps N] [--max-reps N] [--warmup N]');
  process.exit(2);
}

const args = process.argv.slice(2);
const opts = { budgetMs: 3000, minReps: 5, maxReps: 1000, warmup: 3 };
let inputPath = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const num = () => {
    const v = Number(args[++i]);
    if (!Number.isFinite(v) || v < 0) usage(`bad value for ${a}`);
    return v;
  };
  if (a === '--budget-ms') opts.budgetMs = num();
  else if (a === '--min-reps') opts.minReps = Math.max(1, Math.floor(num()));
  else if (a === '--max-reps') opts.maxReps = Math.max(1, Math.floor(num()));
  else if (a === '--warmup') opts.warmup = Math.floor(num());
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else if (inputPath === null) inputPath = a;
  else usage('more than one input file');
}
if (!inputPath) usage('missing INPUTS.json');

let input;
try {
  input = JSON.parse(await readFile(inputPath, 'utf-8'));
} catch (e) {
  usage(`cannot read ${inputPath}: ${e.message}`);
}
if (!input || !Array.isArray(input.cases)) usage(`${inputPath}: expected {"cases": [...]}`);
for (const c of input.cases) {
  if (typeof c.name !== 'string' || !Array.isArray(c.texts) || c.texts.length === 0 ||
      !c.texts.every((t) => typeof t === 'string' && t.length > 0)) {
    usage(`${inputPath}: case ${JSON.stringify(c.name)} needs a name and non-empty texts`);
  }
  c.max_tokens ??= DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(c.max_tokens) || c.max_tokens < 1 || c.max_tokens > 0x7fffffff) {
    usage(`${c.name}: max_tokens must be a positive int32`);
  }
}

const refs = new Map();
async function refFor(n) {
  if (!refs.has(n)) refs.set(n, await loadReference(n));
  return refs.get(n);
}

function quantile(sorted, q) {
  // Nearest-rank.
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[k];
}
function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}
const round3 = (x) => Math.round(x * 1000) / 1000;

const results = [];
for (const c of input.cases) {
  const ref = await refFor(c.max_tokens);
  const tokens = c.texts.map((t) => ref.encode(t).length);
  const t0 = performance.now();
  ref.encode(c.texts[0]);
  for (let i = 1; i < c.texts.length; i++) ref.encode(c.texts[i]);
  const tokenizeMs = performance.now() - t0;

  // Warm-up: `warmup` calls, but at least one and stop early once the warm-up
  // alone has used the case's time budget (slow cases are warm after one).
  const w0 = performance.now();
  for (let i = 0; i < Math.max(1, opts.warmup); i++) {
    await ref.embed(c.texts);
    if (performance.now() - w0 > opts.budgetMs) break;
  }
  const times = [];
  const start = performance.now();
  while (times.length < opts.maxReps &&
         (times.length < opts.minReps || performance.now() - start < opts.budgetMs)) {
    const t = performance.now();
    await ref.embed(c.texts);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const r = { name: c.name, median_ms: round3(median(times)), p90_ms: round3(quantile(times, 0.9)), reps: times.length };
  results.push(r);
  const used = tokens.map((n) => Math.min(n, c.max_tokens));
  console.error(`${c.name}: ${c.texts.length} text(s), ${used.reduce((a, b) => a + b, 0)} tokens used ` +
    `(max_tokens ${c.max_tokens}), median ${r.median_ms} ms, p90 ${r.p90_ms} ms, min ${round3(times[0])} ms, ` +
    `${r.reps} reps; tokenizing alone ~${round3(tokenizeMs)} ms`);
}

const info = await runtimeInfo();
if (info.threads !== 1) console.error(`tfjs_bench: warning: wasm backend runs ${info.threads} threads`);
process.stdout.write(JSON.stringify({ cases: results, runtime: info.label }) + '\n');
for (const r of refs.values()) r.dispose();
