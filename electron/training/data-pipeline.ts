// Data pipeline: decode every image once into a uint8 HWC cache at the training size, then build batch tensors per
// epoch with a seeded shuffle, augmentation (training only) and labels.
//
// Training streams (issue 17): a pre-pass (prepareImages) decodes each image into the on-disk cache without keeping
// its pixels, and each batch reads its images back (prepare(), read ahead by the trainer while a step runs) through a
// bounded in-memory LRU cache, so memory does not grow with the number of images. decodeImages keeps every image in
// memory, for small sets (tests, previews, export checks).
//
// Decoding is Keras image_dataset_from_directory's: EXIF orientation applied, 3 channels (grey expanded, CMYK and
// other spaces converted to sRGB), then tf.image.resize 'bilinear' (half-pixel centres, no antialias) to exactly
// h x w (aspect ratio not kept, no crop): image-policy.ts decodeRgb, the recipe every model input goes through.
// Unlike Keras, transparency is flattened on white rather than dropped, so training sees what the thumbnail shows,
// and the resized values are rounded to bytes (half to even) so the caches hold a quarter of float32's size.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_FILE_BYTES, PIXEL_RULE_VERSION, decodeRgb } from '../imaging/image-policy';
import { readRegularFile } from '../files/read-regular-file';
import { pruneDecodeCache, touchDecodeCacheEntry } from './decode-cache-files';
import { tf, type Tensor } from '../tfjs/tf';
import {
  augmentInto, augmentRng, augmentVariants, IDENTITY_PARAMS, isIdentityConfig, sampleAugmentParams, type AugmentParams,
} from './augment';
import { rescalingFor } from '../inference/preprocess';
import { mixSeeds, mulberry32, shuffleInPlace } from '../../shared/random';
import type { AugmentationConfig, Preprocessing } from '../../shared/training-config';

export const CHANNELS = 3;

export interface ImageItem {
  /** Stable identity (catalogue image id or path); seeds this image's augmentation. */
  key: string;
  path: string;
  /** Class index 0..K-1. */
  label: number;
}

/** What an image set knows without its pixels. */
export interface ImageSetInfo {
  height: number;
  width: number;
  channels: typeof CHANNELS;
  keys: string[];
  labels: Int32Array;
  /** sha256 of each source file's bytes. */
  contentHashes: string[];
  /** sha256 over the sorted (content hash, label) pairs and the size: equal data gives an equal hash. */
  dataHash: string;
}

/** Decoded images held in memory: pixels[i] is height·width·3 bytes, HWC, RGB. */
export interface DecodedImages extends ImageSetInfo {
  pixels: Uint8Array[];
}

/** Images whose decoded pixels are in the on-disk cache (prepareImages), read per batch. */
export interface StreamedImages extends ImageSetInfo {
  /** Source file per image: decoded again when its cache file is missing or damaged. */
  paths: string[];
  cacheDir: string;
}

export type ImageSet = DecodedImages | StreamedImages;

export function imageCount(images: ImageSet): number {
  return images.keys.length;
}

/**
 * Bounded in-memory cache of decoded pixels, keyed by content hash and size; least recently used entries go first
 * when a new one would pass the byte budget. Shared by the training, validation and test sources of one run.
 */
export class DecodeCache {
  private readonly entries = new Map<string, Uint8Array>();
  private held = 0;
  constructor(private maxBytes = 2 * 1024 ** 3) {}
  static key(contentHash: string, height: number, width: number): string {
    return `${contentHash}:${width}x${height}:p${PIXEL_RULE_VERSION}`;
  }
  get(key: string): Uint8Array | undefined {
    const pixels = this.entries.get(key);
    if (pixels) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, pixels);
    }
    return pixels;
  }
  set(key: string, pixels: Uint8Array): void {
    if (this.entries.has(key) || pixels.length > this.maxBytes) return; // Too big to keep: the caller has its copy.
    for (const [oldest, old] of this.entries) {
      if (this.held + pixels.length <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= old.length;
    }
    this.entries.set(key, pixels);
    this.held += pixels.length;
  }
  /** Raises the budget to at least `bytes` (a batch and its read-ahead must fit, or reads would evict each other). */
  reserve(bytes: number): void {
    this.maxBytes = Math.max(this.maxBytes, bytes);
  }
  get size(): number {
    return this.entries.size;
  }
  /** Bytes of pixels held. */
  get bytes(): number {
    return this.held;
  }
  get capacity(): number {
    return this.maxBytes;
  }
  clear(): void {
    this.entries.clear();
    this.held = 0;
  }
}

export interface DecodeOptions {
  height: number;
  width: number;
  /** Optional on-disk cache of decoded pixels (<sha256>-<w>x<h>.rgb). */
  cacheDir?: string;
  memoryCache?: DecodeCache;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Cap of the on-disk cache, enforced after a pre-pass (default: decodeCacheLimit, the setting or a share of the disk). */
  cacheLimitBytes?: number;
}

/**
 * Decodes encoded image bytes to exactly height·width·3 uint8 values, by the pixel rule and resize recipe every part
 * of Pawprint shares (image-policy.ts decodeRgb: EXIF orientation, transparency flattened on white as the thumbnail
 * shows it, TF's bilinear resize). The caches' keys carry PIXEL_RULE_VERSION, so pixels of an older rule are not reused.
 */
export function decodeImageBuffer(data: Buffer, height: number, width: number): Promise<Uint8Array> {
  return decodeRgb(data, height, width, 'fill');
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

// A cache file is the pixels followed by their sha256, so a truncated or damaged file is noticed and decoded again
// (files of the old layout, pixels only, have the wrong length and are rewritten the same way).
const CHECKSUM_BYTES = 32;

/** Where the on-disk cache keeps one image's pixels at one size. */
export function decodeCachePath(cacheDir: string, contentHash: string, height: number, width: number): string {
  return join(cacheDir, `${contentHash}-${width}x${height}-p${PIXEL_RULE_VERSION}.rgb`);
}

/** The pixels of a cache file's bytes, or null when the file is not whole and intact. */
function cachedPixels(bytes: Buffer | null, height: number, width: number): Uint8Array | null {
  const length = height * width * CHANNELS;
  if (!bytes || bytes.length !== length + CHECKSUM_BYTES) return null;
  const pixels = new Uint8Array(bytes.buffer, bytes.byteOffset, length);
  const digest = createHash('sha256').update(pixels).digest();
  return digest.equals(bytes.subarray(length)) ? pixels : null;
}

async function writeCacheFile(cacheDir: string, diskPath: string, pixels: Uint8Array): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  // Write then rename, so a concurrent reader never sees a half-written file; the random part keeps two decodes of
  // the same image (same process or not) from sharing a temporary file.
  const tmp = `${diskPath}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, Buffer.concat([pixels, createHash('sha256').update(pixels).digest()]));
  await rename(tmp, diskPath);
}

/** Reads an image file by the rules for user-chosen paths (never blocks on a FIFO or device swapped in since import). */
async function readImageBytes(path: string): Promise<Buffer> {
  return readRegularFile(path, { maxBytes: MAX_IMAGE_FILE_BYTES }).catch((error: Error) => {
    throw new Error(`cannot read ${path}: ${error.message}`);
  });
}

async function decodeBytes(bytes: Buffer, path: string, height: number, width: number): Promise<Uint8Array> {
  try {
    return await decodeImageBuffer(bytes, height, width);
  } catch (err) {
    throw new Error(`cannot decode ${path}: ${(err as Error).message}`);
  }
}

/** Decodes one file (through the caches) and returns its pixels and content hash. */
export async function decodeImageFile(
  path: string, height: number, width: number,
  caches: { memoryCache?: DecodeCache; cacheDir?: string } = {},
): Promise<{ pixels: Uint8Array; contentHash: string }> {
  const bytes = await readImageBytes(path);
  const contentHash = sha256(bytes);
  const key = DecodeCache.key(contentHash, height, width);
  const fromMemory = caches.memoryCache?.get(key);
  if (fromMemory) return { pixels: fromMemory, contentHash };
  const diskPath = caches.cacheDir ? decodeCachePath(caches.cacheDir, contentHash, height, width) : null;
  if (diskPath) {
    const pixels = cachedPixels(await readFile(diskPath).catch(() => null), height, width);
    if (pixels) {
      caches.memoryCache?.set(key, pixels);
      await touchDecodeCacheEntry(diskPath);
      return { pixels, contentHash };
    }
  }
  const pixels = await decodeBytes(bytes, path, height, width);
  caches.memoryCache?.set(key, pixels);
  if (diskPath && caches.cacheDir) await writeCacheFile(caches.cacheDir, diskPath, pixels);
  return { pixels, contentHash };
}

/** Decodes a list of images once, in order, with bounded concurrency. */
export async function decodeImages(items: readonly ImageItem[], options: DecodeOptions): Promise<DecodedImages> {
  const { height, width } = options;
  const n = items.length;
  const pixels = new Array<Uint8Array>(n);
  const hashes = new Array<string>(n);
  await forEachImage(n, options, async (i) => {
    const r = await decodeImageFile(items[i].path, height, width, options);
    pixels[i] = r.pixels;
    hashes[i] = r.contentHash;
  });
  return { ...describeImages(items, hashes, height, width), pixels };
}

/** Runs `visit` for every index with bounded concurrency (images start in order), checking for cancel and reporting. */
async function forEachImage(n: number, options: DecodeOptions, visit: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < n) {
      options.signal?.throwIfAborted();
      await visit(next++);
      done++;
      options.onProgress?.(done, n);
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 4, n));
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** What in-memory and streamed images share: size, keys, labels, content hashes and the data hash. */
function describeImages(items: readonly ImageItem[], hashes: string[], height: number, width: number): ImageSetInfo {
  const labels = Int32Array.from(items, (it) => it.label);
  return {
    height, width, channels: CHANNELS,
    keys: items.map((it) => it.key),
    labels, contentHashes: hashes,
    dataHash: hashData(hashes, labels, height, width),
  };
}

/** An entry used more recently than this is not marked used again (one utimes per image per run is enough). */
const TOUCH_AFTER_MS = 10 * 60 * 1000;

/**
 * The streaming pre-pass: hashes every image and makes sure the on-disk cache holds its pixels at this size (decoding
 * the ones it lacks), without keeping any pixels; memory stays flat however many images there are. A whole cache file
 * is only checked by length here; its checksum is checked when a batch reads it. The entries it uses are marked used,
 * and afterwards the cache is brought within its cap, least recently used entries first (never this call's own).
 */
export async function prepareImages(items: readonly ImageItem[], options: DecodeOptions & { cacheDir: string; prune?: boolean }): Promise<StreamedImages> {
  const { height, width, cacheDir } = options;
  const n = items.length;
  const hashes = new Array<string>(n);
  const expected = height * width * CHANNELS + CHECKSUM_BYTES;
  await forEachImage(n, options, async (i) => {
    const { path } = items[i];
    const bytes = await readImageBytes(path);
    const contentHash = sha256(bytes);
    hashes[i] = contentHash;
    const diskPath = decodeCachePath(cacheDir, contentHash, height, width);
    const cached = await stat(diskPath).catch(() => null);
    if (cached?.size !== expected) {
      const pixels = await decodeBytes(bytes, path, height, width);
      options.memoryCache?.set(DecodeCache.key(contentHash, height, width), pixels);
      await writeCacheFile(cacheDir, diskPath, pixels);
    } else if (Date.now() - cached.mtimeMs > TOUCH_AFTER_MS) await touchDecodeCacheEntry(diskPath);
  });
  if (options.prune !== false) await pruneDecodeCache(cacheDir, { maxBytes: options.cacheLimitBytes, protect: new Set(hashes) });
  return { ...describeImages(items, hashes, height, width), paths: items.map((it) => it.path), cacheDir };
}

/**
 * The pre-pass of a run's subsets (train, val, test) one after another, then one prune that keeps every subset's
 * entries: pruning after each subset would protect only that one, so validation's prune could evict the training
 * entries (the oldest of the run), which every epoch would then decode again. onProgress counts over all subsets.
 */
export async function prepareImageSets(sets: ReadonlyArray<readonly ImageItem[]>, options: DecodeOptions & { cacheDir: string }): Promise<StreamedImages[]> {
  const total = sets.reduce((n, set) => n + set.length, 0);
  const prepared: StreamedImages[] = [];
  let before = 0;
  for (const set of sets) {
    const offset = before;
    prepared.push(await prepareImages(set, { ...options, prune: false, onProgress: (done) => options.onProgress?.(offset + done, total) }));
    before += set.length;
  }
  await pruneDecodeCache(options.cacheDir, { maxBytes: options.cacheLimitBytes, protect: new Set(prepared.flatMap((images) => images.contentHashes)) });
  return prepared;
}

/**
 * Reads streamed images' pixels per batch: from the memory cache, else the disk cache (checksum checked), else decoded
 * again from the source, which must still have the content the pre-pass hashed. One read per image at a time.
 */
class StreamedPixels {
  private readonly loading = new Map<number, Promise<Uint8Array>>();
  private readonly per: number;
  constructor(private readonly images: StreamedImages, private readonly cache: DecodeCache) {
    this.per = images.height * images.width * CHANNELS;
  }

  private key(i: number): string {
    return DecodeCache.key(this.images.contentHashes[i], this.images.height, this.images.width);
  }

  private diskPath(i: number): string {
    return decodeCachePath(this.images.cacheDir, this.images.contentHashes[i], this.images.height, this.images.width);
  }

  /** Loads these images into the memory cache (reads already under way are shared, not repeated). */
  async prepare(indices: ArrayLike<number>): Promise<void> {
    // This batch and the ones read ahead (READ_AHEAD_BATCHES) must fit together, or their reads would evict each other.
    this.cache.reserve((READ_AHEAD_BATCHES + 2) * indices.length * this.per);
    const pending: Array<Promise<Uint8Array>> = [];
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j];
      if (this.cache.get(this.key(i))) continue;
      let load = this.loading.get(i);
      if (!load) {
        load = this.load(i).finally(() => this.loading.delete(i));
        this.loading.set(i, load);
      }
      pending.push(load);
    }
    await Promise.all(pending);
  }

  private async load(i: number): Promise<Uint8Array> {
    const { height, width, contentHashes, paths, cacheDir } = this.images;
    const diskPath = this.diskPath(i);
    let pixels = cachedPixels(await readFile(diskPath).catch(() => null), height, width);
    if (!pixels) {
      const bytes = await readImageBytes(paths[i]);
      if (sha256(bytes) !== contentHashes[i]) {
        throw new Error(`${paths[i]} changed since training started (its decoded copy is gone too); start the run again`);
      }
      pixels = await decodeBytes(bytes, paths[i], height, width);
      await writeCacheFile(cacheDir, diskPath, pixels);
    }
    this.cache.set(this.key(i), pixels);
    return pixels;
  }

  /** One image's pixels; prepare() should have loaded them (otherwise an intact cache file is read here). */
  pixels(i: number): Uint8Array {
    const cached = this.cache.get(this.key(i));
    if (cached) return cached;
    let bytes: Buffer | null = null;
    try {
      bytes = readFileSync(this.diskPath(i));
    } catch {
      bytes = null;
    }
    const pixels = cachedPixels(bytes, this.images.height, this.images.width);
    if (!pixels) throw new Error(`the decoded pixels of ${this.images.paths[i]} are not loaded (prepare the batch first)`);
    this.cache.set(this.key(i), pixels);
    return pixels;
  }
}

/** Batches the trainer reads ahead of the one it computes. */
export const READ_AHEAD_BATCHES = 2;

/**
 * Awaits a batch's prepare() and starts the next batches' reads, which then run (on libuv's threads) while this
 * batch's step computes. A failed read-ahead is ignored here: the batch's own prepare() reads again and reports it.
 */
export async function prepareWithReadAhead(
  source: ExampleSource, plan: readonly ArrayLike<number>[], b: number, context: BatchContext,
): Promise<void> {
  if (!source.prepare) return;
  const current = source.prepare(plan[b], context);
  for (let k = 1; k <= READ_AHEAD_BATCHES && b + k < plan.length; k++) source.prepare(plan[b + k], context).catch(() => undefined);
  await current;
}

/** Default budget of a run's in-memory pixel cache when streaming: 2,000 images at 160x160, a few hundred at 224. */
export const STREAM_MEMORY_BYTES = 160 * 1024 ** 2;

/** Order-independent hash of (content, label) pairs plus the size. */
export function hashData(contentHashes: readonly string[], labels: ArrayLike<number>, height: number, width: number): string {
  const lines = contentHashes.map((h, i) => `${h}\t${labels[i]}`).sort();
  return sha256(`${width}x${height}\n${lines.join('\n')}`);
}

/** Wraps raw pixel arrays already in memory (tests, generated data) as DecodedImages. */
export function imagesFromPixels(
  pixels: Uint8Array[], labels: readonly number[], height: number, width: number, keys?: readonly string[],
): DecodedImages {
  const hashes = pixels.map((p) => sha256(p));
  return {
    height, width, channels: CHANNELS,
    keys: keys ? [...keys] : pixels.map((_, i) => `image-${i}`),
    labels: Int32Array.from(labels), pixels, contentHashes: hashes,
    dataHash: hashData(hashes, labels, height, width),
  };
}

/** The order in which an epoch visits the examples: a seeded Fisher-Yates shuffle per (seed, epoch). */
export function epochOrder(size: number, seed: number, epoch: number, shuffle = true): Uint32Array {
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  if (shuffle) shuffleInPlace(order, mulberry32(mixSeeds(seed, 'shuffle', epoch)));
  return order;
}

/** Splits an epoch into batches of example indices (the last batch may be smaller, as in Keras). */
export function batchPlan(size: number, batchSize: number, seed: number, epoch: number, shuffle = true): Uint32Array[] {
  const order = epochOrder(size, seed, epoch, shuffle);
  const batches: Uint32Array[] = [];
  for (let start = 0; start < size; start += batchSize) batches.push(order.subarray(start, Math.min(size, start + batchSize)));
  return batches;
}

/** Which pass a batch belongs to: the epoch (seeds augmentation, picks a feature view) and training or evaluation. */
export interface BatchContext {
  epoch: number;
  training: boolean;
}

/**
 * What the trainer consumes: anything that can turn example indices into an input tensor. Images implement it
 * here; the MobileNetV2 module can implement it over cached base features.
 */
export interface ExampleSource {
  readonly size: number;
  /** Class index per example. */
  readonly labels: ArrayLike<number>;
  /** Identity per example (augmentation seed, data hash). */
  readonly keys: readonly string[];
  /** Builds the input batch; the caller owns (and disposes) the tensor. */
  inputs(indices: ArrayLike<number>, context: BatchContext): Tensor;
  /**
   * Makes inputs() for these examples ready, reading them from disk (sources held in memory have none). The trainer
   * awaits it before a batch and starts it for the next batches while a step runs, so the reads overlap the step.
   */
  prepare?(indices: ArrayLike<number>, context: BatchContext): Promise<void>;
}

export interface ImageSourceOptions {
  augmentation: AugmentationConfig;
  seed: number;
  /**
   * Scaling applied here. Defaults to 'none' because the preset models rescale in their first layer; use it for
   * models without that layer.
   */
  preprocessing?: Preprocessing;
  /** Streamed images: the bounded memory cache their batches are read into (default: STREAM_MEMORY_BYTES of its own). */
  memoryCache?: DecodeCache;
}

/** Image batches: float32 [b, h, w, 3]; augmented only when training. Streamed images are read per batch. */
export function imageExampleSource(images: ImageSet, options: ImageSourceOptions): ExampleSource {
  const { height, width } = images;
  const per = height * width * CHANNELS;
  const augment = !isIdentityConfig(options.augmentation);
  const rescale = rescalingFor(options.preprocessing ?? 'none');
  const streamed = 'paths' in images ? new StreamedPixels(images, options.memoryCache ?? new DecodeCache(STREAM_MEMORY_BYTES)) : null;
  const pixelsOf = streamed ? (i: number) => streamed.pixels(i) : (i: number) => (images as DecodedImages).pixels[i];
  return {
    size: imageCount(images),
    labels: images.labels,
    keys: images.keys,
    ...(streamed ? { prepare: (indices: ArrayLike<number>) => streamed.prepare(indices) } : {}),
    inputs(indices, { epoch, training }) {
      const b = indices.length;
      const buffer = new Float32Array(b * per);
      for (let j = 0; j < b; j++) {
        const i = indices[j];
        const params = training && augment
          ? sampleAugmentParams(options.augmentation, augmentRng(options.seed, epoch, images.keys[i]))
          : IDENTITY_PARAMS;
        augmentInto(pixelsOf(i), height, width, CHANNELS, params, buffer, j * per);
      }
      if (rescale) {
        for (let k = 0; k < buffer.length; k++) buffer[k] = buffer[k] * rescale.scale + rescale.offset;
      }
      return tf.tensor4d(buffer, [b, height, width, CHANNELS]);
    },
  };
}

/** Labels as the loss wants them: [b, 1] 0/1 floats for two classes, one-hot [b, K] otherwise. */
export function labelTensor(labels: ArrayLike<number>, indices: ArrayLike<number>, numClasses: number): Tensor {
  const b = indices.length;
  if (numClasses <= 2) {
    const values = new Float32Array(b);
    for (let j = 0; j < b; j++) values[j] = labels[indices[j]];
    return tf.tensor2d(values, [b, 1]);
  }
  const values = new Float32Array(b * numClasses);
  for (let j = 0; j < b; j++) values[j * numClasses + labels[indices[j]]] = 1;
  return tf.tensor2d(values, [b, numClasses]);
}

/** Keras/sklearn "balanced" weights: n / (K · n_c); classes absent from the data get weight 0. */
export function balancedClassWeights(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts.map((c) => (c === 0 ? 0 : labels.length / (numClasses * c)));
}

export interface AugmentPreview {
  /** PNG of the decoded image at the training size. */
  original: Buffer;
  /** PNGs of variants 0..count-1 (variant k = what training sees at epoch k). */
  variants: Buffer[];
  /** The parameters that made each variant (same order). */
  params: AugmentParams[];
}

/** PNG-encodes uint8 HWC RGB pixels. */
export function encodePng(pixels: Uint8Array, height: number, width: number): Promise<Buffer> {
  return sharp(pixels, { raw: { width, height, channels: CHANNELS } }).png().toBuffer();
}

/** The Augment view: an image beside N augmented variants, from the same code and seed as training. */
export async function augmentPreview(
  item: Pick<ImageItem, 'key' | 'path'>, height: number, width: number,
  augmentation: AugmentationConfig, seed: number, count: number, caches: { memoryCache?: DecodeCache; cacheDir?: string } = {},
): Promise<AugmentPreview> {
  const { pixels } = await decodeImageFile(item.path, height, width, caches);
  const variants = augmentVariants(pixels, height, width, CHANNELS, augmentation, seed, item.key, count);
  return {
    original: await encodePng(pixels, height, width),
    variants: await Promise.all(variants.map((v) => encodePng(v.pixels, height, width))),
    params: variants.map((v) => v.params),
  };
}
