#!/usr/bin/env node
// Generates the USE-lite golden data from the reference runtime:
//   ../data/use_lite_golden.jsonl   token ids + embeddings per case
//   ../data/tokenizer_golden.jsonl  token ids for ~3,000 strings
// Usage: cd tests/golden/generator && npm ci && node generate.mjs
// See ../README.md for the format and what the cases mean.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadReference, runtimeInfo, DEFAULT_MAX_TOKENS } from './reference_model.mjs';
import { chapter, mobyChapters, paragraphs, cutToTokens, pickSentences, bookText } from './prose.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT_DIR = path.resolve(HERE, '..', 'data');
const EMBED_FILE = path.join(OUT_DIR, 'use_lite_golden.jsonl');
const TOK_FILE = path.join(OUT_DIR, 'tokenizer_golden.jsonl');
const TOKENIZER_STRINGS = 3000;
const PRNG_SEED = 0x5eed2024;

const t0 = performance.now();
const log = (...a) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1)}s]`, ...a);
function fail(msg) {
  console.error(`generate.mjs: FAILED: ${msg}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------
// Reference models (one per clip value; 128 is the packages' unpatched path).
// ---------------------------------------------------------------------------
const refs = new Map();
async function refFor(maxTokens) {
  if (!refs.has(maxTokens)) refs.set(maxTokens, await loadReference(maxTokens));
  return refs.get(maxTokens);
}
const ref = await refFor(DEFAULT_MAX_TOKENS);
const encode = ref.encode;
const info = await runtimeInfo();
log(`reference runtime: ${info.label}`);

// ---------------------------------------------------------------------------
// Sanity check against the facts sheet.
// ---------------------------------------------------------------------------
{
  const fox = 'The quick brown fox jumps over the lazy dog.';
  const want = [34, 2280, 3744, 1394, 152, 2009, 7, 132, 9, 6266, 959, 6];
  const ids = encode(fox);
  if (JSON.stringify(ids) !== JSON.stringify(want)) fail(`fox ids ${ids} != ${want}`);
  const [e] = await ref.embed([fox]);
  const wantE = [-0.0135338, -0.0425640, 0.0368427, -0.0059177, -0.0081578];
  wantE.forEach((v, i) => {
    if (Math.abs(e[i] - v) > 1e-6) fail(`fox embedding[${i}] = ${e[i]}, expected ${v}`);
  });
  const [h] = await ref.embed(['hello']);
  [0.041678, -0.022363, -0.047608].forEach((v, i) => {
    if (Math.abs(h[i] - v) > 1e-5) fail(`hello embedding[${i}] = ${h[i]}, expected ${v}`);
  });
  log(`sanity OK: fox ids ${ids.join(' ')}; embedding ${e.slice(0, 5).join(', ')}`);
}

// ---------------------------------------------------------------------------
// Prose inputs.
// ---------------------------------------------------------------------------
const book = bookText();
const ch1 = chapter(1);
const exact = (n, from) => cutToTokens(encode, book, n, { from });
// Spread the exact-length texts over the book so they are different prose.
const pos = (frac) => Math.floor(book.length * frac);
const tok = {};
for (const [n, frac] of [
  [8, 0.02], [16, 0.05], [31, 0.08], [64, 0.11], [100, 0.14], [127, 0.17], [128, 0.2],
  [129, 0.23], [130, 0.26], [200, 0.29], [300, 0.32], [512, 0.35], [600, 0.38],
  [1200, 0.42], [1500, 0.47], [2048, 0.53], [2300, 0.6],
]) {
  tok[n] = exact(n, pos(frac));
}
// A whole chapter of roughly 2,500-3,600 tokens for the largest lifted case.
let bigChapter = null;
for (const c of mobyChapters()) {
  const L = encode(c.text).length;
  if (L >= 2500 && L <= 3600) { bigChapter = { n: c.chapter, text: c.text, L }; break; }
}
if (!bigChapter) fail('no chapter with 2,500-3,600 tokens');
const firstParagraph = paragraphs()[0];
const openingSentence = ch1.slice(0, ch1.indexOf('.', 20) + 1); // "Call me Ishmael. Some years ago—..."
const sentences32 = pickSentences(encode, 32, 8, 25, { stride: 101, offset: 7 });

// ---------------------------------------------------------------------------
// Case list.
// ---------------------------------------------------------------------------
const specs = [];
function add(name, texts, note, maxTokens = DEFAULT_MAX_TOKENS, extra = {}) {
  if (specs.some((s) => s.name === name)) fail(`duplicate case ${name}`);
  specs.push({ name, texts, max_tokens: maxTokens, note, ...extra });
}
const lifted = (n) => `reference graph with ClipToMaxLength raised to ${n}`;

// Basics and sanity values.
add('quick_brown_fox', ['The quick brown fox jumps over the lazy dog.'], 'facts-sheet sanity sentence');
add('hello', ['hello'], 'facts-sheet sanity word');
add('hello_capitalized', ['Hello'], 'case is kept');
add('hello_world_caps', ['HELLO WORLD'], 'all caps');
add('mixed_case', ['hElLo WoRlD, ThIs Is MiXeD cAsE.'], 'mixed case');
add('single_char_letter', ['a'], 'single character');
add('single_char_digit', ['7'], 'single digit');
add('single_char_punct', ['?'], 'single punctuation mark');
add('single_char_cjk', ['猫'], 'single CJK character (unknown piece)');
add('single_emoji', ['😀'], 'single emoji (surrogate pair, unknown piece)');
add('single_space', [' '], 'one space: tokens of "▁▁"');
add('only_spaces', ['     '], 'five spaces');
add('only_newline', ['\n'], 'newline alone');
add('only_tab', ['\t'], 'tab alone');
add('empty_text', [''], 'the empty text has no tokens; the reference embed() throws', DEFAULT_MAX_TOKENS,
  { expect_error: 'InvalidArgument' });

// Whitespace.
add('repeated_spaces', ['The  sea   was    calm     today.'], 'runs of spaces become runs of ▁');
add('leading_trailing_spaces', ['   Call me Ishmael.   '], 'leading/trailing spaces are kept as ▁');
add('tabs_and_newlines', ['First line.\nSecond line.\n\nThird line after a blank line.\tTabbed\tcolumns\there.\r\nWindows line end.'],
  'tab, LF, CR are not spaces');
add('unicode_spaces', ['no\u00A0break thin\u2009space narrow\u202Fnbsp ideographic\u3000space em\u2003space'],
  'NFKC maps U+00A0, U+2009, U+202F, U+3000, U+2003 to U+0020');
add('zero_width_and_bom', ['zero\u200Bwidth\uFEFFbom and line\u2028separator'], 'U+200B, U+FEFF, U+2028 survive NFKC');
add('lower_one_eighth_block', ['▁already▁marked ▁ text▁'], 'a typed U+2581 is the same as a space');

// Unicode.
add('accents_precomposed', ['Café, crème brûlée, naïve façade, São Paulo, Zürich, Ångström, jalapeño.'], 'precomposed accents');
add('accents_combining', ['Cafe\u0301, cre\u0300me bru\u0302le\u0301e, nai\u0308ve fac\u0327ade, Sa\u0303o Paulo, Zu\u0308rich, A\u030Angstro\u0308m, jalapen\u0303o.'],
  'combining marks; NFKC composes them, so the ids equal accents_precomposed');
add('combining_no_precomposed', ['q\u0307\u0323 x\u0308 a\u0301\u0301\u0301 e\u0338 1\u20DD'], 'combining sequences without a precomposed form');
add('cjk_japanese', ['東京は日本の首都です。'], 'Japanese; unknown runs collapse to one 0');
add('cjk_chinese', ['我喜欢在海边读书。今天天气很好，我们去散步吧！'], 'Chinese with fullwidth punctuation');
add('cjk_korean', ['안녕하세요, 세계! 한국어 문장입니다.'], 'Korean');
add('hangul_jamo', ['\u1100\u1161\u11A8 \u1112\u1161\u11AB'], 'conjoining jamo compose to 각 한 under NFKC');
add('mixed_scripts', ['The word 猫 (neko) means cat; Москва is Moscow; القاهرة is Cairo; नमस्ते means hello.'], 'mixed scripts');
add('emoji_basic', ['I love pizza 🍕🍕🍕 and parties 🎉! Great job 👍🏽 😀😂'], 'emoji incl. skin-tone modifier');
add('emoji_zwj_flags', ['Family 👨‍👩‍👧‍👦, flags 🇺🇸 🇯🇵 🇩🇪, heart ❤️ and sparkles ✨.'], 'ZWJ sequence, regional indicators, VS16');
add('math_alphanumerics', ['𝐓𝐡𝐞 𝕢𝕦𝕚𝕔𝕜 𝒷𝓇𝑜𝓌𝓃 𝟙𝟚𝟛'], 'mathematical alphanumerics (astral) -> ASCII under NFKC');
add('ligatures_fullwidth', ['The ﬁnal ﬂight ﬀ ﬃ: ＡＢＣ ａｂｃ １２３！ ｶﾀｶﾅ ｶﾞ'], 'ligatures, fullwidth and halfwidth forms');
add('compat_symbols', ['½ cup, ¼ mile, ™ ® ©, 10 Ω, 300 K, 5 Å, x² + y³, ① ② ③, Ⅻ o\'clock, 5 ㎏, wait…'],
  'compatibility characters (½ -> 1⁄2, ™ -> TM, Ω/K/Å signs, superscripts, circled, roman, ㎏, …)');
add('greek_math', ['α + β = γ; ∑ᵢ xᵢ ≈ ∫ f(x) dx; √2 ≈ 1.414 ≤ π ≠ ∞'], 'Greek and math symbols');
add('quotes_dashes', ['“Smart quotes,” she said—‘single ones’ too – and „low ones“ «guillemets» ”5 stars'],
  'typographic quotes and dashes; ”5 is a duplicated piece (last id wins)');

// Digits and times.
add('digits', ['Call 555-0123 or 1-800-555-0199; pi is 3.14159265358979; population 1,234,567; year 1851.'], 'digits');
add('repeated_digits', ['5 55 555 5555 55555 555555 1111111111 0000000 12121212'], 'repeated digits: ties go to the later start');
add('times', ['The meeting is at 10:30, lunch at 12:00, and the train leaves at 7:45 or 23:59:59.'], 'times: :30 (+30) and :00 (0) pieces');
add('colon_heavy', ['a:b::c:::d :30 :00 10:00:30 :: ://: ratio 3:2 ):'], 'null-scored colon pieces');
add('money_percent', ['$1,000.50 €20 £3.5 ¥100 50% 3/4 #1 @home & co. 2^10 = 1024'], 'currency and symbols');

// Punctuation, URLs, emoticons, code.
add('punctuation_runs', ['What?!?! No way...!!! ---- *** ### ,,,;;; ((( ))) [[[]]] {{{}}} \'\'\' """ ~~~ ``` ___'], 'punctuation runs');
add('urls', ['Visit https://www.example.com/path/to/page?query=1&x=y#frag or http://foo.bar:8080/a_b-c, ftp://files.example.org/file.txt and www.test.co.uk.'],
  'URLs (:// is a null-scored piece)');
add('email_hashtags_code', ['Mail john.doe+tag@example.com, follow @whale_watcher #MobyDick; run `ls -la ~/logs` && echo $HOME'], 'email, handles, shell');
add('emoticons_mid', ['I was happy :) then sad :( and then :-) again :-( hmm :P ;) :D <3 xD'], 'emoticons mid-text (▁:) ▁:( ▁:-) pieces)');
add('emoticon_leading_smile', [':) hello'], 'leading null-scored piece: best total 0 counts as unset');
add('emoticon_leading_frown', [':( this starts sad'], 'leading :(');
add('emoticon_leading_colon', [': leading colon'], 'leading colon');
add('code_snippet', ['for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; } // dot product'], 'C-like code');
add('json_like', ['{"key": [1, 2.5, true, null], "nested": {"a": "b"}}'], 'JSON-like text');
add('control_and_private', ['bell\u0007 vt\u000B ff\u000C nel\u0085 private\uE000 replacement\uFFFD'], 'control characters, private use, U+FFFD');

// Real prose (Moby Dick).
add('moby_opening', ['Call me Ishmael.'], 'Moby Dick, first sentence');
add('moby_opening_long_sentence', [openingSentence], 'Moby Dick, chapter 1');
add('moby_first_paragraph', [firstParagraph], 'Moby Dick, first paragraph of chapter 1');
for (const n of [8, 16, 31, 64, 100, 127, 128, 129, 130, 200]) {
  const note = n > DEFAULT_MAX_TOKENS
    ? `Moby Dick prose, exactly ${n} tokens; the model keeps the first 128`
    : `Moby Dick prose, exactly ${n} tokens`;
  add(`moby_tok${n}`, [tok[n]], note);
}
add('moby_tok1500_clip128', [tok[1500]], 'Moby Dick prose, 1,500 tokens (> 1,000), default clip: first 128 tokens used');
add('moby_chapter_clip128', [bigChapter.text], `Moby Dick chapter ${bigChapter.n} (${bigChapter.L} tokens), default clip`);

// Clip lifted (same graph, ClipToMaxLength/Less/y raised).
add('moby_tok1500_lifted2048', [tok[1500]], `${lifted(2048)}; 1,500 tokens, all used`, 2048);
add('moby_tok2048_lifted2048', [tok[2048]], `${lifted(2048)}; exactly 2,048 tokens, all used`, 2048);
add('moby_tok2300_lifted2048', [tok[2300]], `${lifted(2048)}; 2,300 tokens, the first 2,048 used`, 2048);
add('moby_chapter_lifted4096', [bigChapter.text], `${lifted(4096)}; Moby Dick chapter ${bigChapter.n}, ${bigChapter.L} tokens, all used`, 4096);
add('moby_tok200_lifted2048', [tok[200]], `${lifted(2048)}; 200 tokens, all used`, 2048);
add('moby_tok129_lifted2048', [tok[129]], `${lifted(2048)}; 129 tokens, all used`, 2048);
add('moby_tok100_lifted2048', [tok[100]], `${lifted(2048)}; 100 tokens: identical to the default clip`, 2048);
add('moby_tok512_lifted512', [tok[512]], `${lifted(512)}; exactly 512 tokens, all used`, 512);
add('moby_tok600_lifted512', [tok[600]], `${lifted(512)}; 600 tokens, the first 512 used`, 512);
add('moby_tok300_lifted256', [tok[300]], `${lifted(256)}; 300 tokens, the first 256 used`, 256);

// Batches: one embed() call per case.
add('batch_mixed_lengths', ['a', 'The quick brown fox jumps over the lazy dog.', tok[64], tok[129], 'hello'],
  'batch, one embed() call; mixed lengths incl. one over the clip');
add('batch_long_first', [tok[300], 'hi'], 'batch, one embed() call; long text first, padding on the short one');
add('batch32_sentences', sentences32, 'batch, one embed() call; 32 Moby Dick sentences of 8-25 tokens');
add('batch_identical', ['same text', 'same text', 'same text'], 'batch, one embed() call; identical rows');
add('batch_unicode', ['東京は日本の首都です。', 'I love pizza 🍕🍕🍕', 'Café crème brûlée', 'at 10:30 :)'], 'batch, one embed() call; unicode mix');
add('batch_single_chars', ['a', 'b', '?', '猫', '😀', ' '], 'batch, one embed() call; single characters');
add('batch_two_words', ['hello', 'world'], 'batch, one embed() call');
add('batch_prose_clip128', [tok[16], tok[1500], tok[127], tok[31]], 'batch, one embed() call; default clip, one text of 1,500 tokens');
add('batch_lifted_mixed', ['hello', tok[300], tok[1200]], `${lifted(2048)}; batch, one embed() call; 2, 300, 1,200 tokens`, 2048);
add('batch_lifted_short', ['The quick brown fox jumps over the lazy dog.', 'hello'], `${lifted(2048)}; batch of short texts: identical to the default clip`, 2048);

// ---------------------------------------------------------------------------
// Run the reference.
// ---------------------------------------------------------------------------
const bitEq = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const stats = { patched128Identical: 0, clipChecks: 0, liftedShortIdentical: 0, batchMaxAbs: 0, batchMaxOneMinusCos: 0 };
function cosine(a, b) {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
}

const patched128 = await loadReference(DEFAULT_MAX_TOKENS, { patched: true });
const lines = [];
for (const s of specs) {
  const tc = performance.now();
  const token_ids = s.texts.map(encode);
  const r = await refFor(s.max_tokens);
  if (s.expect_error) {
    let threw = null;
    try { await r.embed(s.texts); } catch (e) { threw = e; }
    if (!threw) fail(`${s.name}: the reference did not throw`);
    lines.push({ name: s.name, texts: s.texts, max_tokens: s.max_tokens, token_ids,
      expect_error: s.expect_error, note: `${s.note} (${String(threw.message || threw).trim()})` });
    continue;
  }
  if (token_ids.some((ids) => ids.length === 0)) fail(`${s.name}: a text without tokens must be an expect_error case`);
  const embeddings = await r.embed(s.texts);
  if (embeddings.length !== s.texts.length) fail(`${s.name}: ${embeddings.length} rows for ${s.texts.length} texts`);
  for (const e of embeddings) {
    if (e.length !== 512 || !e.every(Number.isFinite)) fail(`${s.name}: bad embedding`);
    const n = Math.sqrt(e.reduce((a, v) => a + v * v, 0));
    if (Math.abs(n - 1) > 1e-5) fail(`${s.name}: norm ${n}`);
  }

  // Self-checks.
  if (s.max_tokens === DEFAULT_MAX_TOKENS) {
    // The patching path with the constant left at 128 is bit-identical.
    const p = await patched128.embed(s.texts);
    p.forEach((e, i) => { if (!bitEq(e, embeddings[i])) fail(`${s.name}: patched(128) differs from unpatched`); });
    stats.patched128Identical += s.texts.length;
  } else if (token_ids.every((ids) => ids.length <= DEFAULT_MAX_TOKENS)) {
    // Raising the clip changes nothing for texts that fit under 128.
    const d = await ref.embed(s.texts);
    d.forEach((e, i) => { if (!bitEq(e, embeddings[i])) fail(`${s.name}: lifted result differs for short texts`); });
    stats.liftedShortIdentical += s.texts.length;
  }
  if (s.texts.length === 1 && token_ids[0].length > s.max_tokens) {
    // Clip semantics: same as feeding the first max_tokens ids.
    const [c] = await r.embedIds([token_ids[0].slice(0, s.max_tokens)]);
    if (!bitEq(c, embeddings[0])) fail(`${s.name}: clipped text != its first ${s.max_tokens} ids`);
    stats.clipChecks++;
  }
  if (s.texts.length > 1) {
    // Each row matches the text embedded alone to float32 noise.
    for (let i = 0; i < s.texts.length; i++) {
      const [alone] = await r.embed([s.texts[i]]);
      const md = Math.max(...alone.map((v, j) => Math.abs(v - embeddings[i][j])));
      const oc = 1 - cosine(alone, embeddings[i]);
      stats.batchMaxAbs = Math.max(stats.batchMaxAbs, md);
      stats.batchMaxOneMinusCos = Math.max(stats.batchMaxOneMinusCos, oc);
      if (md > 1e-5) fail(`${s.name}[${i}]: batch row differs from alone by ${md}`);
    }
  }
  lines.push({ name: s.name, texts: s.texts, max_tokens: s.max_tokens, token_ids, embeddings, note: s.note });
  const L = token_ids.map((x) => x.length);
  log(`${s.name}: ${s.texts.length} text(s), tokens ${L.length > 6 ? `${Math.min(...L)}..${Math.max(...L)}` : L.join(',')}, ` +
    `max_tokens ${s.max_tokens}, ${((performance.now() - tc) / 1000).toFixed(2)}s`);
}
// Combining marks compose under NFKC: same ids as the precomposed text.
{
  const a = lines.find((l) => l.name === 'accents_precomposed').token_ids;
  const b = lines.find((l) => l.name === 'accents_combining').token_ids;
  if (JSON.stringify(a) !== JSON.stringify(b)) fail('accents_combining ids differ from accents_precomposed');
}

// ---------------------------------------------------------------------------
// Tokenizer strings.
// ---------------------------------------------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(PRNG_SEED);
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const chars = (s) => [...s];

// All characters below are assigned in Unicode <= 14.0 (the C++ side uses
// utf8proc with Unicode 15 NFKC; later characters could normalise differently).
const POOL = {
  colon: [':', ':', ':', ':30', ':00', ':)', ':-)', ':(', ':-(', '://', '):', '::', '10:30', ':3', ':0', ':5'],
  digits: chars('0123456789'),
  punct: chars('.,!?;-()[]{}"\'/\\#@&%$*_+=<>|~`^'),
  space: [' '],
  otherSpace: ['\t', '\n', '\r', '\r\n', '\u000B', '\u000C', '\u00A0', '\u2002', '\u2003', '\u2009', '\u200A', '\u202F',
    '\u205F', '\u3000', '\u200B', '\uFEFF', '\u2028', '\u2029', '\u0085', '\u1680'],
  cjk: chars('東京日本的一是人我中大个国海猫書読語学生先'),
  kana: chars('あいうえおかがきぎアイウエオカガキギンー') .concat(chars('ｶﾀﾅﾞﾟｱｲｳ')),
  hangul: chars('한국어안녕세계').concat(['\u1100', '\u1161', '\u11A8', '\u1112', '\u11AB']),
  emoji: ['😀', '😂', '👍', '🍕', '🎉', '🚀', '🐳', '🌊', '❤', '✨', '☺', '⚓', '👍🏽', '🏽', '\u200D', '\uFE0F', '🇺', '🇸', '🇯🇵', '👨‍👩‍👧'],
  accented: chars('éèêëáàâäãåçñöüßøÅÉÑÜœæłıİŒÆØĳĲǆǅ'),
  combining: ['\u0301', '\u0300', '\u0302', '\u0308', '\u0303', '\u0327', '\u030A', '\u0323', '\u0338', '\u20DD', '\u0307'],
  fullwidth: chars('ＡＺａｚ０９！？：（）［］＄％，．＠'),
  ligature: chars('ﬁﬂﬀﬃﬄﬅﬆ'),
  compat: chars('½¼¾⅓™©®°²³¹µΩKÅ…‥⁄€£¥—–‘’“”„«»①②⑩ⅫⅣ㎏㎞℃№℡﹕︰﹖ʰⁿ₂'),
  marker: ['\u2581', '\u2581\u2581', '”5', '”', '5”5'],
  scripts: chars('αβγΩπДжЯмирبيتשלוםनमतกขค'),
  misc: ['\uFFFD', '\uE000', '\u0007', '<s>', '</s>', '▁:)'],
};
const WEIGHTS = { word: 14, space: 16, colon: 11, digits: 11, punct: 8, otherSpace: 6, cjk: 4, cjkRandom: 2, kana: 2,
  hangul: 2, emoji: 5, accented: 5, combining: 4, fullwidth: 4, ligature: 2, compat: 4, marker: 4, scripts: 3, misc: 1 };
const WEIGHT_TOTAL = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
const words = [...new Set(paragraphs().slice(0, 400).join(' ').split(/\s+/).filter(Boolean))];

function atom() {
  let r = rand() * WEIGHT_TOTAL;
  let cat = 'word';
  for (const [k, w] of Object.entries(WEIGHTS)) { if ((r -= w) < 0) { cat = k; break; } }
  switch (cat) {
    case 'word': return pick(words);
    case 'digits': return Array.from({ length: randInt(1, 4) }, () => pick(POOL.digits)).join('');
    case 'cjkRandom': return String.fromCodePoint(randInt(0x4E00, 0x9FA5));
    case 'combining': return (rand() < 0.7 ? pick('aeiouAEIOUnxq') : '') + pick(POOL.combining);
    default: return pick(POOL[cat]);
  }
}
function randomString() {
  const u = rand();
  const n = u < 0.05 ? randInt(30, 120) : 1 + Math.floor(rand() * rand() * 30);
  let s = '';
  for (let i = 0; i < n; i++) s += atom();
  return s;
}

const tokTexts = [];
const seenTexts = new Set();
const addTok = (t) => { if (!seenTexts.has(t)) { seenTexts.add(t); tokTexts.push(t); } };
for (const s of specs) s.texts.forEach(addTok);
addTok('');
for (const [cat, list] of Object.entries(POOL)) {
  for (const a of list) { addTok(a); addTok(`a${a}b`); addTok(`word ${a} word`); }
}
while (tokTexts.length < TOKENIZER_STRINGS) addTok(randomString());
const tokLines = tokTexts.map((text) => JSON.stringify({ text, ids: encode(text) }));

// ---------------------------------------------------------------------------
// Write.
// ---------------------------------------------------------------------------
await mkdir(OUT_DIR, { recursive: true });
await writeFile(EMBED_FILE, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
await writeFile(TOK_FILE, tokLines.join('\n') + '\n');
for (const r of [...refs.values(), patched128]) r.dispose();

log(`wrote ${lines.length} cases to ${path.relative(process.cwd(), EMBED_FILE)}`);
log(`wrote ${tokLines.length} strings to ${path.relative(process.cwd(), TOK_FILE)}`);
log(`checks: patched(128) bit-identical for ${stats.patched128Identical} texts; ` +
  `lifted == default for ${stats.liftedShortIdentical} short texts; ${stats.clipChecks} clip checks; ` +
  `batch rows vs alone: max |diff| ${stats.batchMaxAbs.toExponential(2)}, max 1-cos ${stats.batchMaxOneMinusCos.toExponential(2)}`);
log(`done in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
