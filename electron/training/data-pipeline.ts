// Data pipeline: decode every image once into a uint8 HWC cache at the training size, then build batch tensors per
// epoch with a seeded shuffle, augmentation (training only) and labels.
//
// Decoding is Keras image_dataset_from_directory's: EXIF orientation applied, 3 channels (grey expanded, CMYK and
// other spaces converted to sRGB), then tf.image.resize 'bilinear' (half-pixel centres, no antialias) to exactly
// h x w (aspect ratio not kept, no crop): image-policy.ts decodeRgb, the recipe every model input goes through.
// Unlike Keras, transparency is flattened on white rather than dropped, so training sees what the thumbnail shows,
// and the resized values are rounded to bytes (half to even) so the caches hold a quarter of float32's size.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_FILE_BYTES, PIXEL_RULE_VERSION, decodeRgb } from '../imaging/image-policy';
import { readRegularFile } from '../files/read-regular-file';
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

/** Decoded images held in memory: pixels[i] is height·width·3 bytes, HWC, RGB. */
export interface DecodedImages {
  height: number;
  width: number;
  channels: typeof CHANNELS;
  keys: string[];
  labels: Int32Array;
  pixels: Uint8Array[];
  /** sha256 of each source file's bytes. */
  contentHashes: string[];
  /** sha256 over the sorted (content hash, label) pairs and the size: equal data gives an equal hash. */
  dataHash: string;
}

/** In-memory cache shared across runs in one process, keyed by content hash and size. */
export class DecodeCache {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;
  constructor(private readonly maxBytes = 2 * 1024 ** 3) {}
  static key(contentHash: string, height: number, width: number): string {
    return `${contentHash}:${width}x${height}:p${PIXEL_RULE_VERSION}`;
  }
  get(key: string): Uint8Array | undefined {
    return this.entries.get(key);
  }
  set(key: string, pixels: Uint8Array): void {
    if (this.entries.has(key)) return;
    if (this.bytes + pixels.length > this.maxBytes) return; // Full: the caller still has its copy.
    this.entries.set(key, pixels);
    this.bytes += pixels.length;
  }
  get size(): number {
    return this.entries.size;
  }
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
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

/** Decodes one file (through the caches) and returns its pixels and content hash. */
export async function decodeImageFile(
  path: string, height: number, width: number,
  caches: { memoryCache?: DecodeCache; cacheDir?: string } = {},
): Promise<{ pixels: Uint8Array; contentHash: string }> {
  // Catalogue paths can have been swapped for a FIFO or a device since import: never block on one.
  const bytes = await readRegularFile(path, { maxBytes: MAX_IMAGE_FILE_BYTES }).catch((error: Error) => {
    throw new Error(`cannot read ${path}: ${error.message}`);
  });
  const contentHash = sha256(bytes);
  const key = DecodeCache.key(contentHash, height, width);
  const fromMemory = caches.memoryCache?.get(key);
  if (fromMemory) return { pixels: fromMemory, contentHash };
  const diskPath = caches.cacheDir ? join(caches.cacheDir, `${contentHash}-${width}x${height}-p${PIXEL_RULE_VERSION}.rgb`) : null;
  if (diskPath) {
    const cached = await readFile(diskPath).catch(() => null);
    if (cached && cached.length === height * width * CHANNELS) {
      const pixels = new Uint8Array(cached.buffer, cached.byteOffset, cached.length);
      caches.memoryCache?.set(key, pixels);
      return { pixels, contentHash };
    }
  }
  let pixels: Uint8Array;
  try {
    pixels = await decodeImageBuffer(bytes, height, width);
  } catch (err) {
    throw new Error(`cannot decode ${path}: ${(err as Error).message}`);
  }
  caches.memoryCache?.set(key, pixels);
  if (diskPath && caches.cacheDir) {
    await mkdir(caches.cacheDir, { recursive: true });
    // Write then rename, so a concurrent reader never sees a half-written file; the random part keeps two decodes of
    // the same image (same process or not) from sharing a temporary file.
    const tmp = `${diskPath}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, pixels);
    await rename(tmp, diskPath);
  }
  return { pixels, contentHash };
}

/** Decodes a list of images once, in order, with bounded concurrency. */
export async function decodeImages(items: readonly ImageItem[], options: DecodeOptions): Promise<DecodedImages> {
  const { height, width } = options;
  const n = items.length;
  const pixels = new Array<Uint8Array>(n);
  const hashes = new Array<string>(n);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < n) {
      options.signal?.throwIfAborted();
      const i = next++;
      const r = await decodeImageFile(items[i].path, height, width, options);
      pixels[i] = r.pixels;
      hashes[i] = r.contentHash;
      done++;
      options.onProgress?.(done, n);
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 4, n));
  await Promise.all(Array.from({ length: concurrency }, worker));
  const labels = Int32Array.from(items, (it) => it.label);
  return {
    height, width, channels: CHANNELS,
    keys: items.map((it) => it.key),
    labels, pixels, contentHashes: hashes,
    dataHash: hashData(hashes, labels, height, width),
  };
}

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
  inputs(indices: ArrayLike<number>, context: { epoch: number; training: boolean }): Tensor;
}

export interface ImageSourceOptions {
  augmentation: AugmentationConfig;
  seed: number;
  /**
   * Scaling applied here. Defaults to 'none' because the preset models rescale in their first layer; use it for
   * models without that layer.
   */
  preprocessing?: Preprocessing;
}

/** Image batches: float32 [b, h, w, 3]; augmented only when training. */
export function imageExampleSource(images: DecodedImages, options: ImageSourceOptions): ExampleSource {
  const { height, width } = images;
  const per = height * width * CHANNELS;
  const augment = !isIdentityConfig(options.augmentation);
  const rescale = rescalingFor(options.preprocessing ?? 'none');
  return {
    size: images.pixels.length,
    labels: images.labels,
    keys: images.keys,
    inputs(indices, { epoch, training }) {
      const b = indices.length;
      const buffer = new Float32Array(b * per);
      for (let j = 0; j < b; j++) {
        const i = indices[j];
        const params = training && augment
          ? sampleAugmentParams(options.augmentation, augmentRng(options.seed, epoch, images.keys[i]))
          : IDENTITY_PARAMS;
        augmentInto(images.pixels[i], height, width, CHANNELS, params, buffer, j * per);
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
