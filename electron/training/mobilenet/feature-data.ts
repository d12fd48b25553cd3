// Glue between the data pipeline and head-only training: decoded images -> cached base features -> the
// trainer's ExampleSource. Augmented view k of an image is exactly what image training would feed at epoch k
// (augment.ts seeds by (seed, epoch, image key)), rounded to uint8.
import { createHash } from 'node:crypto';
import { isIdentityConfig } from '../augment';
import type { DecodedImages, ExampleSource } from '../data-pipeline';
import type { AugmentationConfig } from '../../../shared/training-config';
import { ORIGINAL_VIEW, augmentedViewKey, type FeatureCache, type FeatureKey } from './feature-cache';
import {
  extractFeatures,
  featureExampleSource,
  selectPooling,
  type ExtractionProgress,
  type MobileNetFeatureExtractor,
} from './feature-extractor';
import type { PoolingType } from './mobilenet-v2';

export const DEFAULT_AUGMENTED_VIEWS = 4;

export interface FeatureDataOptions {
  extractor: MobileNetFeatureExtractor;
  cache?: FeatureCache;
  /** Training data gets augmented views; validation/test data only the original. */
  training: boolean;
  augmentation: AugmentationConfig;
  seed: number;
  /** Fixed augmented views per training image (default 4). Ignored when augmentation is the identity. */
  augmentedViews?: number;
  pooling: PoolingType;
  batchSize?: number;
  onProgress?: (p: ExtractionProgress) => void;
  signal?: AbortSignal;
}

/** Identifies the augmentation an image's view k gets: settings, run seed and the image key that seeds it. */
export function augmentationSignature(augmentation: AugmentationConfig, seed: number, imageKey: string): string {
  const canonical = JSON.stringify([augmentation.flip, augmentation.rotation, augmentation.zoom, augmentation.brightness, augmentation.contrast, seed, imageKey]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 20);
}

/**
 * Computes (or reads from the cache) the pooled base features of `images` and returns an ExampleSource of
 * [b, 1280] inputs for a head from buildFeatureHead. One extraction pass covers the original and all views,
 * so progress and ETA describe the whole job; cancelling keeps finished batches in the cache.
 */
export async function featureSourceFromImages(images: DecodedImages, opts: FeatureDataOptions): Promise<ExampleSource> {
  const { extractor } = opts;
  if (images.height !== extractor.imageSize || images.width !== extractor.imageSize) {
    throw new Error(`Images are ${images.width}x${images.height}; the MobileNetV2 base was built for ${extractor.imageSize}x${extractor.imageSize}`);
  }
  const n = images.pixels.length;
  const views = opts.training && !isIdentityConfig(opts.augmentation) ? (opts.augmentedViews ?? DEFAULT_AUGMENTED_VIEWS) : 0;
  const keys: FeatureKey[] = [];
  const where = new Map<string, { image: number; view: number }>(); // key -> image index and view (-1 = original)
  const signatures = images.keys.map((k) => augmentationSignature(opts.augmentation, opts.seed, k));
  for (let v = -1; v < views; v++) {
    for (let i = 0; i < n; i++) {
      const key = { imageHash: images.contentHashes[i], view: v < 0 ? ORIGINAL_VIEW : augmentedViewKey(signatures[i], v) };
      keys.push(key);
      where.set(`${key.imageHash}\0${key.view}`, { image: i, view: v });
    }
  }
  const per = images.height * images.width * 3;
  const result = await extractFeatures(extractor, keys, {
    cache: opts.cache,
    batchSize: opts.batchSize,
    onProgress: opts.onProgress,
    signal: opts.signal,
    // Plain pixels and each row's augmentation: the lane that embeds the batch makes the views (view-augment.ts).
    loadPixels: async (batch) => {
      const out = new Uint8Array(batch.length * per);
      const rows = batch.map((k, j) => {
        const w = where.get(`${k.imageHash}\0${k.view}`)!;
        out.set(images.pixels[w.image], j * per);
        return w.view < 0 ? null : { epoch: w.view, imageKey: images.keys[w.image] };
      });
      return { pixels: out, views: { config: opts.augmentation, seed: opts.seed, size: images.height, rows } };
    },
  });
  const rows = (v: number) => result.data.subarray((v + 1) * n * result.featureDim, (v + 2) * n * result.featureDim);
  const original = selectPooling(rows(-1), n, opts.pooling);
  const augmented = Array.from({ length: views }, (_, v) => selectPooling(rows(v), n, opts.pooling));
  return featureExampleSource({ labels: images.labels, keys: images.keys, original, augmented });
}
