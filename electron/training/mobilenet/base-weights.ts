// ImageNet weights for the MobileNetV2 base: resolve a source (the Teachable Machine URL, any model.json or Keras
// .h5 URL, a local TF.js LayersModel folder / model.json such as a Teachable Machine export, or a local Keras .h5
// file such as the one the Keras tutorial downloads), download once into a
// cache folder chosen by the caller, verify, and load by layer name. Never falls back to random weights:
// every failure is a BaseWeightsError that names the problem and the way out.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { tf, type LayersModel } from '../../tfjs/tf';
import type { io } from '@tensorflow/tfjs'; // types only: the runtime comes from ../tf

type WeightsManifestEntry = io.WeightsManifestEntry;
import { KerasH5Error, readKerasH5Weights, type NamedWeight } from './keras-h5';
import {
  MOBILENET_ALPHAS,
  alphaLabel,
  buildMobileNetV2,
  mobileNetV2Spec,
  type MobileNetAlpha,
} from './mobilenet-v2';
import { BUNDLED_BASE, bundledBaseCandidates, bundledBaseFolder } from './bundled-base';

export const IMAGENET_URL_TEMPLATE =
  'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_224_no_top/model.json';

export function imagenetWeightsUrl(alpha: MobileNetAlpha, template = IMAGENET_URL_TEMPLATE): string {
  return template.replace('{alpha}', alphaLabel(alpha));
}

/**
 * weightsId of known ImageNet backbones. 0.35: the shared Teachable Machine export, whose backbone tensors are
 * byte-identical to the file served at imagenetWeightsUrl(0.35). The other alphas could not be fetched here.
 */
export const KNOWN_IMAGENET_WEIGHTS_IDS: Partial<Record<MobileNetAlpha, string>> = {
  0.35: '224a2d6db81083e9037cffa913c3dfd7cf59902451450c49d7d73f8df4fe5862',
};

export type WeightsSource =
  /** The ImageNet alpha 0.35 backbone shipped in the app's resources (bundled-base.ts): no network, no path to type. */
  | { kind: 'bundled'; resourcesPath?: string }
  /** The Keras ImageNet weights as Teachable Machine serves them; `urlTemplate` (with `{alpha}`) is for tests and mirrors. */
  | { kind: 'imagenet'; alpha: MobileNetAlpha; urlTemplate?: string }
  /** Any http(s) URL of a TF.js LayersModel model.json, or of a Keras .h5 file, holding MobileNetV2 weights. */
  | { kind: 'url'; url: string }
  /** A folder containing model.json, a model.json file (e.g. a Teachable Machine export), or a Keras .h5 file. */
  | { kind: 'local'; path: string };

export type BaseWeightsErrorCode =
  | 'download-failed' // network or HTTP error
  | 'not-found' // local path missing
  | 'corrupt' // unreadable JSON, short/missing shard, non-finite values
  | 'mismatch' // not MobileNetV2 weights, wrong shapes, or another alpha than requested
  | 'cancelled';

const WAY_OUT = 'Choose a local TF.js model folder or model.json, or a Keras .h5 file, with MobileNetV2 weights instead (a Teachable Machine image-model export works).';

export class BaseWeightsError extends Error {
  override name = 'BaseWeightsError';
  constructor(readonly code: BaseWeightsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code === 'cancelled' ? message : `${message} ${WAY_OUT}`, options);
  }
}

export interface WeightsProgress {
  phase: 'download' | 'verify';
  loadedBytes: number;
  totalBytes: number;
}

export interface ResolveOptions {
  /** Where downloads are cached (the caller passes a folder under the app-data directory). */
  cacheDir: string;
  /** Refuse weights of another alpha (for a `url` or `local` source the alpha is read from the shapes). */
  expectedAlpha?: MobileNetAlpha;
  onProgress?: (p: WeightsProgress) => void;
  signal?: AbortSignal;
  /** Injected for tests; defaults to global fetch. */
  fetchImpl?: typeof fetch;
}

export interface WeightTensorData {
  shape: number[];
  data: Float32Array;
}

export interface BaseWeights {
  /** sha256 (hex) of the backbone tensors in canonical order: the same weights give the same id from any source. */
  weightsId: string;
  alpha: MobileNetAlpha;
  /** Human-readable origin (URL or path; the bundled base's name). */
  source: string;
  /** The local model.json or .h5 file the weights were read from (inside cacheDir for downloads). */
  modelJsonPath: string;
  /** Backbone tensors only, keyed `layer/weight` (e.g. `block_3_expand_BN/moving_mean`); heads are dropped. */
  tensors: Map<string, WeightTensorData>;
  /** true/false when KNOWN_IMAGENET_WEIGHTS_IDS has an id for this alpha, undefined otherwise (informational). */
  isKnownImagenet?: boolean;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}
interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** The weights a MobileNetV2 of this alpha needs, keyed `layer/weight`, with their shapes (size-independent). */
export function expectedWeightShapes(alpha: MobileNetAlpha): Map<string, number[]> {
  const spec = mobileNetV2Spec({ alpha, imageSize: 96 });
  const out = new Map<string, number[]>();
  const conv = (name: string, k: number, cin: number, cout: number) => out.set(`${name}/kernel`, [k, k, cin, cout]);
  const bn = (name: string, c: number) => {
    for (const w of ['gamma', 'beta', 'moving_mean', 'moving_variance']) out.set(`${name}/${w}`, [c]);
  };
  conv('Conv1', 3, 3, spec.firstFilters);
  bn('bn_Conv1', spec.firstFilters);
  for (const b of spec.blocks) {
    if (b.expand) {
      conv(`${b.prefix}expand`, 1, b.inChannels, b.expandedChannels);
      bn(`${b.prefix}expand_BN`, b.expandedChannels);
    }
    out.set(`${b.prefix}depthwise/depthwise_kernel`, [3, 3, b.expandedChannels, 1]);
    bn(`${b.prefix}depthwise_BN`, b.expandedChannels);
    conv(`${b.prefix}project`, 1, b.expandedChannels, b.outChannels);
    bn(`${b.prefix}project_BN`, b.outChannels);
  }
  const last = spec.blocks[spec.blocks.length - 1].outChannels;
  conv('Conv_1', 1, last, spec.lastFilters);
  bn('Conv_1_bn', spec.lastFilters);
  return out;
}

/** `scope/.../layer/weight` -> `layer/weight` (TF.js exports may prefix a model scope). */
function shortName(name: string): string {
  const parts = name.split('/');
  return parts.slice(-2).join('/');
}

function bytesPerElement(spec: WeightSpec): number {
  const q = spec.quantization as { dtype?: string } | undefined;
  if (q?.dtype) return q.dtype === 'uint8' ? 1 : 2;
  return spec.dtype === 'bool' ? 1 : 4;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes a manifest group's weight files must hold. */
function groupBytes(group: ManifestGroup): number {
  return group.weights.reduce((t, w) => t + numel(w.shape) * bytesPerElement(w), 0);
}

function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new BaseWeightsError('cancelled', 'Loading the base weights was cancelled.');
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

function parseManifest(json: unknown, where: string): ManifestGroup[] {
  const m = json as { weightsManifest?: unknown };
  if (!m || typeof m !== 'object' || !Array.isArray(m.weightsManifest)) {
    throw new BaseWeightsError('mismatch', `${where} is not a TF.js LayersModel model.json (it has no weightsManifest).`);
  }
  for (const g of m.weightsManifest as ManifestGroup[]) {
    if (!Array.isArray(g?.paths) || !Array.isArray(g?.weights)) {
      throw new BaseWeightsError('corrupt', `${where} has a malformed weightsManifest entry.`);
    }
    for (const w of g.weights) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new BaseWeightsError('corrupt', `${where} has a malformed weight entry (${JSON.stringify(w)?.slice(0, 120)}).`);
      }
    }
    for (const p of g.paths) {
      // Shard paths come from a file we did not write: keep them inside the model's folder.
      if (typeof p !== 'string' || p.includes('..') || path.isAbsolute(p) || /^[a-z]+:/i.test(p)) {
        throw new BaseWeightsError('corrupt', `${where} names a weights file outside its folder: ${String(p)}`);
      }
    }
  }
  return m.weightsManifest as ManifestGroup[];
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BaseWeightsError('corrupt', `${where} is not valid JSON (${(e as Error).message}).`, { cause: e });
  }
}

/** Reads a local model.json and its shards, checks and decodes the MobileNetV2 backbone tensors. */
async function readLocalModel(modelJsonPath: string, source: string, opts: ResolveOptions): Promise<BaseWeights> {
  const where = modelJsonPath;
  const json = parseJson(await fsp.readFile(modelJsonPath, 'utf8'), where);
  const groups = parseManifest(json, where);
  const dir = path.dirname(modelJsonPath);
  const buffers: Uint8Array[] = [];
  const specs: WeightSpec[] = [];
  const total = groups.reduce((s, g) => s + groupBytes(g), 0);
  let loaded = 0;
  for (const g of groups) {
    const expected = groupBytes(g);
    const parts: Buffer[] = [];
    for (const p of g.paths) {
      throwIfAborted(opts.signal);
      const file = path.join(dir, p);
      try {
        parts.push(await fsp.readFile(file));
      } catch (e) {
        throw new BaseWeightsError('corrupt', `The weights file ${file} named in ${where} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, { cause: e });
      }
    }
    const bytes = Buffer.concat(parts);
    if (bytes.length !== expected) {
      throw new BaseWeightsError('corrupt', `The weights files of ${where} hold ${bytes.length} bytes but its manifest describes ${expected}: the download or copy is incomplete or damaged.`);
    }
    loaded += bytes.length;
    opts.onProgress?.({ phase: 'verify', loadedBytes: loaded, totalBytes: total });
    buffers.push(bytes);
    specs.push(...g.weights);
  }
  return decodeBackbone(buffers, specs, source, modelJsonPath, opts.expectedAlpha);
}

function inferAlpha(byName: Map<string, { shape: number[] }>, where: string): MobileNetAlpha {
  // Conv1 has 16 filters for both 0.35 and 0.50; the last block's projection (int(320*alpha) rounded) tells them apart.
  const last = byName.get('block_16_project/kernel');
  const conv1 = byName.get('Conv1/kernel');
  if (!last || !conv1) {
    throw new BaseWeightsError('mismatch', `${where} does not contain MobileNetV2 weights (no Conv1/kernel or block_16_project/kernel).`);
  }
  for (const a of MOBILENET_ALPHAS) {
    const spec = mobileNetV2Spec({ alpha: a, imageSize: 96 });
    if (last.shape[3] === spec.blocks[16].outChannels && conv1.shape[3] === spec.firstFilters) return a;
  }
  throw new BaseWeightsError('mismatch', `${where} holds MobileNetV2-like weights of a width no supported alpha has (Conv1 ${conv1.shape.join('x')}, block_16_project ${last.shape.join('x')}).`);
}

/** Indexes weights by `layer/weight`; a name seen twice (e.g. two MobileNets in one file) makes loading ambiguous. */
function byShortName<T extends { name: string }>(items: T[], where: string): Map<string, T> {
  const byName = new Map<string, T>();
  for (const item of items) {
    const short = shortName(item.name);
    if (byName.has(short)) throw new BaseWeightsError('mismatch', `${where} contains two weights named ${short}; cannot tell which belongs to the backbone.`);
    byName.set(short, item);
  }
  return byName;
}

/** Reads the alpha from the shapes and checks that every MobileNetV2 weight is present with its shape. */
function checkBackbone(byName: Map<string, { shape: number[] }>, where: string, expectedAlpha?: MobileNetAlpha): { alpha: MobileNetAlpha; expected: Map<string, number[]> } {
  const alpha = inferAlpha(byName, where);
  if (expectedAlpha !== undefined && alpha !== expectedAlpha) {
    throw new BaseWeightsError('mismatch', `${where} holds MobileNetV2 alpha ${alphaLabel(alpha)} weights, but alpha ${alphaLabel(expectedAlpha)} was asked for.`);
  }
  const expected = expectedWeightShapes(alpha);
  const missing = [...expected.keys()].filter((n) => !byName.has(n));
  if (missing.length) {
    throw new BaseWeightsError('mismatch', `${where} lacks ${missing.length} of the ${expected.size} MobileNetV2 weights (first: ${missing.slice(0, 3).join(', ')}).`);
  }
  for (const [n, shape] of expected) {
    const got = byName.get(n)!.shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new BaseWeightsError('mismatch', `${where}: weight ${n} has shape [${got.join(',')}], MobileNetV2 alpha ${alphaLabel(alpha)} needs [${shape.join(',')}].`);
    }
  }
  return { alpha, expected };
}

/** Refuses non-finite values and negative variances, then identifies the weights. */
function finishBackbone(tensors: Map<string, WeightTensorData>, alpha: MobileNetAlpha, source: string, filePath: string): BaseWeights {
  for (const [name, t] of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) throw new BaseWeightsError('corrupt', `${filePath}: weight ${name} contains non-finite values (NaN or infinity).`);
    }
    if (name.endsWith('/moving_variance') && t.data.some((v) => v < 0)) {
      throw new BaseWeightsError('corrupt', `${filePath}: weight ${name} has negative variances.`);
    }
  }
  const weightsId = computeWeightsId(tensors);
  const known = KNOWN_IMAGENET_WEIGHTS_IDS[alpha];
  return { weightsId, alpha, source, modelJsonPath: filePath, tensors, isKnownImagenet: known === undefined ? undefined : known === weightsId };
}

function decodeBackbone(buffers: Uint8Array[], specs: WeightSpec[], source: string, modelJsonPath: string, expectedAlpha?: MobileNetAlpha): BaseWeights {
  const { alpha, expected } = checkBackbone(byShortName(specs, modelJsonPath), modelJsonPath, expectedAlpha);
  // tf.io.decodeWeights handles float32 and the quantised encodings alike; we copy out Float32Arrays.
  const all = concatBytes(buffers);
  const decoded = tf.io.decodeWeights(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer, specs as WeightsManifestEntry[]);
  const tensors = new Map<string, WeightTensorData>();
  try {
    for (const [full, t] of Object.entries(decoded)) {
      const short = shortName(full);
      if (!expected.has(short)) continue;
      const data = t.dataSync() as Float32Array;
      tensors.set(short, { shape: expected.get(short)!, data: data instanceof Float32Array ? new Float32Array(data) : Float32Array.from(data) });
    }
  } finally {
    tf.dispose(Object.values(decoded));
  }
  return finishBackbone(tensors, alpha, source, modelJsonPath);
}

/** The MobileNetV2 backbone from a Keras .h5 file (keras-h5.ts); other layers (a head) are ignored. */
async function readKerasH5Backbone(file: string, source: string, opts: ResolveOptions): Promise<BaseWeights> {
  let weights: NamedWeight[];
  try {
    weights = await readKerasH5Weights(file);
  } catch (e) {
    if (e instanceof KerasH5Error) throw new BaseWeightsError(e.code === 'not-keras' ? 'mismatch' : 'corrupt', e.message, { cause: e });
    throw e;
  }
  const { alpha, expected } = checkBackbone(byShortName(weights, file), file, opts.expectedAlpha);
  const tensors = new Map<string, WeightTensorData>();
  for (const w of weights) if (expected.has(w.name)) tensors.set(w.name, { shape: expected.get(w.name)!, data: w.data });
  opts.onProgress?.({ phase: 'verify', loadedBytes: 1, totalBytes: 1 });
  return finishBackbone(tensors, alpha, source, file);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  return Buffer.concat(parts);
}

/** sha256 over (name, shape, little-endian float32 bytes) in sorted name order. */
export function computeWeightsId(tensors: Map<string, WeightTensorData>): string {
  const h = createHash('sha256');
  h.update('mobilenet_v2-weights-v1\n');
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    h.update(`${name}:${t.shape.join(',')}\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** The folder a given URL is cached in: readable label + hash of the URL (different mirrors never collide). */
export function cacheFolderFor(cacheDir: string, url: string): string {
  const label = (url.split('/').slice(-2, -1)[0] ?? 'model').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return path.join(cacheDir, 'mobilenet-v2-weights', `${label}-${hash}`);
}

async function fetchOrThrow(url: string, opts: ResolveOptions): Promise<Response> {
  const f = opts.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await f(url, { signal: opts.signal });
  } catch (e) {
    if (opts.signal?.aborted) throw new BaseWeightsError('cancelled', 'Downloading the base weights was cancelled.', { cause: e });
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new BaseWeightsError('download-failed', `Could not download the MobileNetV2 weights from ${url} (${why}). Check the internet connection and retry.`, { cause: e });
  }
  if (!res.ok) {
    throw new BaseWeightsError('download-failed', `Downloading ${url} failed with HTTP ${res.status} ${res.statusText}.`);
  }
  return res;
}

async function readBody(res: Response, url: string, onChunk: (n: number) => void, signal?: AbortSignal): Promise<Buffer> {
  if (!res.body) return Buffer.from(await res.arrayBuffer());
  const chunks: Buffer[] = [];
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      onChunk(value.byteLength);
    }
  } catch (e) {
    if (signal?.aborted) throw new BaseWeightsError('cancelled', 'Downloading the base weights was cancelled.', { cause: e });
    throw new BaseWeightsError('download-failed', `The download of ${url} was interrupted (${(e as Error).message}).`, { cause: e });
  }
  return Buffer.concat(chunks);
}

/**
 * Downloads model.json and its shards into a temporary folder next to `finalDir`, verifies them, then renames
 * the folder into place, so an interrupted download never leaves a half-written cache entry behind.
 */
async function downloadModel(url: string, finalDir: string, opts: ResolveOptions): Promise<BaseWeights> {
  const res = await fetchOrThrow(url, opts);
  const jsonText = await res.text();
  const json = parseJson(jsonText, url);
  const groups = parseManifest(json, url);
  const totalBytes = groups.reduce((s, g) => s + groupBytes(g), 0);
  await fsp.mkdir(path.dirname(finalDir), { recursive: true });
  const tmpDir = `${finalDir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fsp.mkdir(tmpDir, { recursive: true });
  try {
    await fsp.writeFile(path.join(tmpDir, 'model.json'), jsonText);
    let loaded = 0;
    opts.onProgress?.({ phase: 'download', loadedBytes: 0, totalBytes });
    for (const g of groups) {
      for (const p of g.paths) {
        throwIfAborted(opts.signal);
        const shardUrl = new URL(p, url).toString();
        const shard = await fetchOrThrow(shardUrl, opts);
        const body = await readBody(shard, shardUrl, (n) => {
          loaded += n;
          opts.onProgress?.({ phase: 'download', loadedBytes: loaded, totalBytes });
        }, opts.signal);
        await fsp.mkdir(path.dirname(path.join(tmpDir, p)), { recursive: true });
        await fsp.writeFile(path.join(tmpDir, p), body);
      }
    }
    const weights = await readLocalModel(path.join(tmpDir, 'model.json'), url, opts);
    await fsp.writeFile(path.join(tmpDir, 'source.json'), JSON.stringify({ url, downloadedAt: new Date().toISOString(), weightsId: weights.weightsId, alpha: weights.alpha }, null, 2));
    await fsp.rm(finalDir, { recursive: true, force: true });
    try {
      await fsp.rename(tmpDir, finalDir);
    } catch (e) {
      // Another process finished the same download first: use its copy if it is sound.
      await fsp.rm(tmpDir, { recursive: true, force: true });
      if (!(await pathExists(path.join(finalDir, 'model.json')))) throw e;
      return readLocalModel(path.join(finalDir, 'model.json'), url, opts);
    }
    return { ...weights, modelJsonPath: path.join(finalDir, 'model.json') };
  } catch (e) {
    await fsp.rm(tmpDir, { recursive: true, force: true });
    throw e;
  }
}

/** Downloads a Keras .h5 file into the cache (temporary name, then renamed: never half-written) and reads it. */
async function downloadH5(url: string, dir: string, cached: string, opts: ResolveOptions): Promise<BaseWeights> {
  const res = await fetchOrThrow(url, opts);
  const totalBytes = Number(res.headers.get('content-length')) || 0;
  let loaded = 0;
  opts.onProgress?.({ phase: 'download', loadedBytes: 0, totalBytes });
  const body = await readBody(res, url, (n) => {
    loaded += n;
    opts.onProgress?.({ phase: 'download', loadedBytes: loaded, totalBytes: Math.max(totalBytes, loaded) });
  }, opts.signal);
  if (totalBytes && body.length !== totalBytes) {
    throw new BaseWeightsError('download-failed', `The download of ${url} stopped after ${body.length} of ${totalBytes} bytes.`);
  }
  await fsp.mkdir(dir, { recursive: true });
  const partial = `${cached}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.writeFile(partial, body);
    const weights = await readKerasH5Backbone(partial, url, opts);
    await fsp.rename(partial, cached);
    await fsp.writeFile(path.join(dir, 'source.json'), JSON.stringify({ url, downloadedAt: new Date().toISOString(), weightsId: weights.weightsId, alpha: weights.alpha }, null, 2));
    return { ...weights, modelJsonPath: cached };
  } finally {
    await fsp.rm(partial, { force: true });
  }
}

const KERAS_H5 = /\.(h5|hdf5)$/i;

/** A URL's weights from the cache when they are there and sound, else downloaded once (TF.js model or Keras .h5). */
async function resolveUrl(url: string, opts: ResolveOptions): Promise<BaseWeights> {
  const h5 = KERAS_H5.test(new URL(url).pathname);
  const dir = cacheFolderFor(opts.cacheDir, url);
  const cached = path.join(dir, h5 ? 'weights.h5' : 'model.json');
  if (await pathExists(cached)) {
    try {
      return h5 ? await readKerasH5Backbone(cached, url, opts) : await readLocalModel(cached, url, opts);
    } catch (e) {
      // A damaged cache entry is re-downloaded; anything else (e.g. wrong alpha) is the caller's problem.
      if (!(e instanceof BaseWeightsError) || e.code !== 'corrupt') throw e;
    }
  }
  throwIfAborted(opts.signal);
  return h5 ? downloadH5(url, dir, cached, opts) : downloadModel(url, dir, opts);
}

/** Resolves, downloads if needed (once; offline afterwards), verifies and decodes MobileNetV2 base weights. */
export async function resolveBaseWeights(source: WeightsSource, opts: ResolveOptions): Promise<BaseWeights> {
  throwIfAborted(opts.signal);
  switch (source.kind) {
    case 'bundled': {
      const folder = source.resourcesPath === undefined ? bundledBaseFolder() : bundledBaseFolder(source.resourcesPath);
      if (!folder) {
        const looked = (source.resourcesPath === undefined ? bundledBaseCandidates() : bundledBaseCandidates(source.resourcesPath)).join(', ');
        throw new BaseWeightsError('not-found', `The bundled MobileNetV2 base is missing from this installation (looked in ${looked}); reinstall Pawprint.`);
      }
      const weights = await readLocalModel(path.join(folder, 'model.json'), BUNDLED_BASE.name, { ...opts, expectedAlpha: BUNDLED_BASE.alpha });
      if (weights.weightsId !== BUNDLED_BASE.weightsId) {
        throw new BaseWeightsError('corrupt', `The bundled MobileNetV2 base in ${folder} is not the one this version shipped (weights ${weights.weightsId.slice(0, 12)}, expected ${BUNDLED_BASE.weightsId.slice(0, 12)}); reinstall Pawprint.`);
      }
      return weights;
    }
    case 'imagenet': {
      const expectedAlpha = opts.expectedAlpha ?? source.alpha;
      return resolveUrl(imagenetWeightsUrl(source.alpha, source.urlTemplate), { ...opts, expectedAlpha });
    }
    case 'url':
      if (!isHttpUrl(source.url)) throw new BaseWeightsError('not-found', `${source.url} is not an http(s) URL.`);
      return resolveUrl(source.url, opts);
    case 'local': {
      let p = path.resolve(source.path);
      let st;
      try {
        st = await fsp.stat(p);
      } catch {
        throw new BaseWeightsError('not-found', `${p} does not exist.`);
      }
      if (!st.isDirectory() && KERAS_H5.test(p)) return readKerasH5Backbone(p, p, opts);
      if (st.isDirectory()) p = path.join(p, 'model.json');
      if (!(await pathExists(p))) throw new BaseWeightsError('not-found', `${path.dirname(p)} has no model.json (choose a TF.js model folder, its model.json, or a Keras .h5 file).`);
      return readLocalModel(p, p, opts);
    }
  }
}

/** Scalars in the backbone's tensors (BatchNorm statistics included, as Keras counts them). */
export function baseParameterCount(weights: Pick<BaseWeights, 'tensors'>): number {
  let total = 0;
  for (const t of weights.tensors.values()) total += t.data.length;
  return total;
}

/**
 * How a run and its model name the base: the bundled one and the ImageNet downloads by name, a URL as it is, a local
 * file by its file or folder name only (an absolute path would tie the record to one machine and user).
 */
export function baseName(source: WeightsSource): string {
  switch (source.kind) {
    case 'bundled':
      return BUNDLED_BASE.name;
    case 'imagenet':
      return `mobilenet_v2_${alphaLabel(source.alpha)}_224 imagenet (downloaded)`;
    case 'url':
      return source.url;
    case 'local': {
      const resolved = path.resolve(source.path);
      const file = path.basename(resolved);
      return `${file === 'model.json' ? path.basename(path.dirname(resolved)) : file} (local)`;
    }
  }
}

/** The versions entries a run and its model metadata carry for their base: name, weights id, alpha, parameters. */
export function baseVersions(source: WeightsSource, weights: Pick<BaseWeights, 'tensors' | 'weightsId' | 'alpha'>): Record<string, string> {
  return {
    mobilenetBase: baseName(source),
    mobilenetWeights: weights.weightsId,
    mobilenetAlpha: alphaLabel(weights.alpha),
    mobilenetBaseParameters: String(baseParameterCount(weights)),
  };
}

/**
 * Sets every weight of a Keras-named MobileNetV2 from `weights`, by layer name. Throws (and changes nothing)
 * if the model asks for a weight that is missing or shaped differently.
 */
export function loadBaseWeights(model: LayersModel, weights: BaseWeights): void {
  const plan: Array<{ layer: (typeof model.layers)[number]; values: WeightTensorData[] }> = [];
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const values = layer.weights.map((w) => {
      const key = `${layer.name}/${w.originalName.split('/').pop()}`;
      const t = weights.tensors.get(key);
      if (!t) throw new BaseWeightsError('mismatch', `The base weights (${weights.source}) have no ${key} for layer ${layer.name}.`);
      const shape = w.shape as number[];
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new BaseWeightsError('mismatch', `The base weights (${weights.source}): ${key} is [${t.shape.join(',')}], the model needs [${shape.join(',')}].`);
      }
      return t;
    });
    plan.push({ layer, values });
  }
  for (const { layer, values } of plan) {
    const ts = values.map((v) => tf.tensor(v.data, v.shape, 'float32'));
    layer.setWeights(ts);
    tf.dispose(ts);
  }
}

/** Builds MobileNetV2 at `imageSize` for the alpha of `weights` and loads them. */
export function createMobileNetV2Base(weights: BaseWeights, imageSize: number): LayersModel {
  const model = buildMobileNetV2({ alpha: weights.alpha, imageSize, includeTop: false });
  try {
    loadBaseWeights(model, weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
