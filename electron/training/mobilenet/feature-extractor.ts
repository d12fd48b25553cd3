// Frozen-base features for head-only training. The base runs in inference mode (never inside fit: tfjs
// BatchNormalization ignores `trainable` and would use batch statistics), by default as the BN-folded fused
// network. Each image view yields one pooled vector [globalMax(1280) | globalAvg(1280)] of the `out_relu`
// map: every head the preset offers (max or average pooling, optional dense layer) starts from one of the two
// halves, and the pair costs 10 KB per view instead of 128 KB for the 5x5x1280 map at 160 px.
import { tf, type LayersModel } from '../../tfjs/tf';
import type { Tensor4D } from '@tensorflow/tfjs'; // types only: the runtime comes from ../tf
import type { BaseWeights } from './base-weights';
import { createMobileNetV2Base } from './base-weights';
import { buildFoldedMobileNetV2, type FoldedMobileNetV2 } from './fold-batchnorm';
import { MOBILENET_FEATURE_CHANNELS, poolingOffset, type MobileNetAlpha, type PoolingType } from './mobilenet-v2';
import type { FeatureCache, FeatureKey } from './feature-cache';
import type { FeatureEmbedder } from './feature-threads';
import { applyViews, type ViewAugmentation } from './view-augment';
import { cachedFeatureRows, featureRowSource, memoryFeatureRows } from './feature-rows';
import type { ExampleSource } from '../data-pipeline';

/** Layout of a feature row: the max-pooled vector, then the average-pooled vector. */
export const POOLED_LAYOUT = 'max+avg';
export const POOLED_FEATURE_DIM = 2 * MOBILENET_FEATURE_CHANNELS;

export interface FeatureExtractorOptions {
  imageSize: number;
  /** Fold BatchNorm into fused conv + ReLU6 ops (default). `false` runs the Keras-layer model's predict. */
  folded?: boolean;
}

export class MobileNetFeatureExtractor implements FeatureEmbedder {
  readonly featureDim = POOLED_FEATURE_DIM;
  readonly layout = POOLED_LAYOUT;
  private disposed = false;

  private constructor(
    readonly weightsId: string,
    readonly alpha: MobileNetAlpha,
    readonly imageSize: number,
    readonly folded: boolean,
    private readonly net: FoldedMobileNetV2 | LayersModel,
  ) {}

  static create(weights: BaseWeights, opts: FeatureExtractorOptions): MobileNetFeatureExtractor {
    const folded = opts.folded ?? true;
    const net = folded ? buildFoldedMobileNetV2(weights, opts.imageSize) : createMobileNetV2Base(weights, opts.imageSize);
    return new MobileNetFeatureExtractor(weights.weightsId, weights.alpha, opts.imageSize, folded, net);
  }

  /** Cache parameters for features from this extractor. */
  get cacheParams() {
    return { weightsId: this.weightsId, imageSize: this.imageSize, featureDim: this.featureDim, layout: this.layout };
  }

  /**
   * `pixels`: `count` RGB images of imageSize x imageSize, uint8, row-major HWC, already resized and augmented, or
   * with `views` augmented here (on a copy).
   * Returns count x featureDim floats in the POOLED_LAYOUT. MobileNetV2 preprocessing ([-1, 1]) happens here.
   */
  async embed(pixels: Uint8Array | Uint8ClampedArray, count: number, views?: ViewAugmentation): Promise<Float32Array> {
    if (views) {
      const own = new Uint8Array(pixels);
      applyViews(own, views);
      pixels = own;
    }
    const input = this.toInput(pixels, count, 'embed');
    const s = this.imageSize;
    const pooled = tf.tidy(() => {
      const x = tf.tensor4d(input, [count, s, s, 3]);
      const map = (this.folded
        ? (this.net as FoldedMobileNetV2).predict(x)
        : (this.net as LayersModel).predict(x, { batchSize: count })) as Tensor4D;
      return tf.concat([tf.max(map, [1, 2]), tf.mean(map, [1, 2])], 1);
    });
    try {
      return (await pooled.data()) as Float32Array;
    } finally {
      pooled.dispose();
    }
  }

  /**
   * The map after the stem and the first `blocks` blocks (what fine-tuning keeps frozen) for `count` images given
   * as for embed: count x map values. Folded extractors only.
   */
  async bottom(pixels: Uint8Array | Uint8ClampedArray, count: number, blocks: number): Promise<Float32Array> {
    if (!this.folded) throw new Error('bottom maps are computed by the folded network');
    const input = this.toInput(pixels, count, 'bottom');
    const s = this.imageSize;
    const map = tf.tidy(() => (this.net as FoldedMobileNetV2).predictBottom(tf.tensor4d(input, [count, s, s, 3]), blocks));
    try {
      return (await map.data()) as Float32Array;
    } finally {
      map.dispose();
    }
  }

  /** uint8 HWC pixels -> MobileNetV2's [-1, 1] inputs, after checking the size. */
  private toInput(pixels: Uint8Array | Uint8ClampedArray, count: number, what: string): Float32Array {
    if (this.disposed) throw new Error('The feature extractor was disposed');
    const s = this.imageSize;
    if (pixels.length !== count * s * s * 3) {
      throw new Error(`${what}: expected ${count} x ${s} x ${s} x 3 = ${count * s * s * 3} bytes, got ${pixels.length}`);
    }
    const input = new Float32Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) input[i] = pixels[i] / 127.5 - 1;
    return input;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
  }
}

/** The half of a POOLED_LAYOUT feature matrix a head with this pooling uses (rows x 1280). */
export function selectPooling(features: Float32Array, count: number, pooling: PoolingType): Float32Array {
  const c = MOBILENET_FEATURE_CHANNELS;
  if (features.length !== count * 2 * c) throw new Error(`selectPooling: expected ${count} x ${2 * c} values, got ${features.length}`);
  const out = new Float32Array(count * c);
  const offset = poolingOffset(pooling);
  for (let r = 0; r < count; r++) out.set(features.subarray(r * 2 * c + offset, r * 2 * c + offset + c), r * c);
  return out;
}

export interface ExtractionProgress {
  total: number;
  /** Views done so far, from the cache or computed. */
  done: number;
  fromCache: number;
  computed: number;
  elapsedSeconds: number;
  /** Computed views per second (cache hits excluded); 0 until the first batch is done. */
  imagesPerSecond: number;
  /** Estimated seconds left, or null before the first computed batch. */
  etaSeconds: number | null;
}

/** A batch's plain pixels and how to make its views: the lane running the base augments them (view-augment.ts). */
export interface PlainPixels {
  pixels: Uint8Array;
  views: ViewAugmentation;
}

export interface ExtractOptions {
  /**
   * Returns the pixels of these views (uint8 RGB HWC at the extractor's size, concatenated in order), or their plain
   * pixels and the augmentations that make them (PlainPixels), which the lane embedding the batch then applies. Called
   * only for views not in the cache, so cached images are never decoded or augmented.
   */
  loadPixels: (keys: FeatureKey[], signal?: AbortSignal) => Promise<Uint8Array | Uint8ClampedArray | PlainPixels>;
  cache?: FeatureCache;
  batchSize?: number;
  onProgress?: (p: ExtractionProgress) => void;
  /** Cancels between batches; finished batches are already in the cache, so a later call resumes. */
  signal?: AbortSignal;
  /**
   * Starts extraction threads (feature-threads.ts) to run the base instead of `extractor`; called only when at
   * least two batches need computing. If it throws, extraction continues on `extractor`.
   */
  startThreads?: () => Promise<FeatureEmbedder[]>;
}

export interface ExtractedFeatures {
  count: number;
  featureDim: number;
  layout: string;
  /** count x featureDim, rows in the order of the keys given. */
  data: Float32Array;
  fromCache: number;
  computed: number;
  /** How many lanes ran the base: extraction threads, or 1 for this thread's extractor. */
  lanes: number;
  /** Why extraction threads were offered but not used (they failed to start), else null. */
  threadError: string | null;
}

export class FeatureExtractionCancelled extends Error {
  override name = 'AbortError';
  constructor(readonly done: number, readonly total: number) {
    super(`Feature extraction cancelled after ${done} of ${total} views; the finished ones are cached.`);
  }
}

/** Features for `keys`, from the cache where present, otherwise computed in batches and appended to it. */
export async function extractFeatures(extractor: MobileNetFeatureExtractor, keys: FeatureKey[], opts: ExtractOptions): Promise<ExtractedFeatures> {
  const result = await extract(extractor, keys, opts, true);
  return { ...result, data: result.data! };
}

/**
 * Computes the features of `keys` missing from the cache and appends them to it, holding none of them: for training
 * sets of any size, read back per batch by cachedFeatureSource (issue 17: memory flat in N).
 */
export async function extractToCache(
  extractor: MobileNetFeatureExtractor, keys: FeatureKey[], opts: ExtractOptions & { cache: FeatureCache },
): Promise<Omit<ExtractedFeatures, 'data'>> {
  const { data: _none, ...result } = await extract(extractor, keys, opts, false);
  return result;
}

async function extract(
  extractor: MobileNetFeatureExtractor, keys: FeatureKey[], opts: ExtractOptions, keep: boolean,
): Promise<Omit<ExtractedFeatures, 'data'> & { data: Float32Array | null }> {
  const dim = extractor.featureDim;
  const { cache, signal } = opts;
  if (cache) {
    const p = cache.params;
    if (p.weightsId !== extractor.weightsId || p.imageSize !== extractor.imageSize || p.featureDim !== dim || p.layout !== extractor.layout) {
      throw new Error('extractFeatures: the cache was opened for another base, input size or layout');
    }
  }
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const total = keys.length;
  const data = keep ? new Float32Array(total * dim) : null;
  const found = !cache ? keys.map(() => false) : data ? await cache.readInto(keys, data) : keys.map((k) => cache.has(k));
  const fromCache = found.filter(Boolean).length;
  const todo = keys.map((_, i) => i).filter((i) => !found[i]);
  const started = performance.now();
  let computed = 0;
  const report = () => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = computed > 0 && elapsed > 0 ? computed / elapsed : 0;
    opts.onProgress?.({
      total,
      done: fromCache + computed,
      fromCache,
      computed,
      elapsedSeconds: elapsed,
      imagesPerSecond: rate,
      etaSeconds: rate > 0 ? (todo.length - computed) / rate : todo.length === 0 ? 0 : null,
    });
  };
  report();

  const batches: number[][] = [];
  for (let i = 0; i < todo.length; i += batchSize) batches.push(todo.slice(i, i + batchSize));

  // Lanes that run the base: extraction threads when the caller offers them and there is enough to do, else this
  // thread's extractor. A thread that cannot start costs speed, not the run.
  let lanes: FeatureEmbedder[] = [extractor];
  let threads: FeatureEmbedder[] = [];
  let threadError: string | null = null;
  if (opts.startThreads && batches.length >= 2) {
    try {
      threads = await opts.startThreads();
      if (threads.length) lanes = threads;
    } catch (error) {
      threadError = (error as Error).message;
    }
  }

  try {
    await runBatchesOnLanes(lanes, batches.length, {
      signal,
      load: (bi) => opts.loadPixels(batches[bi].map((i) => keys[i]), signal),
      compute: async (lane, bi, loaded) => {
        const batch = batches[bi];
        const feats = 'views' in loaded ? await lane.embed(loaded.pixels, batch.length, loaded.views) : await lane.embed(loaded, batch.length);
        if (data) batch.forEach((ki, r) => data.set(feats.subarray(r * dim, (r + 1) * dim), ki * dim));
        if (cache) await cache.append(batch.map((i) => keys[i]), feats);
        computed += batch.length;
        report();
      },
    });
  } finally {
    for (const thread of threads) thread.dispose();
  }
  if (computed < todo.length) throw new FeatureExtractionCancelled(fromCache + computed, total);
  return { count: total, featureDim: dim, layout: extractor.layout, data, fromCache, computed, lanes: lanes.length, threadError };
}

/**
 * Runs batches 0..count-1 over lanes (threads, or one in-process extractor), each lane taking the next batch as it
 * frees up and loading its following batch while it computes. Stops taking batches when `signal` aborts or a lane
 * fails (then rethrows that failure); a batch already loaded but not started is dropped. Returns how many batches
 * were computed.
 */
export async function runBatchesOnLanes<Lane, Loaded>(lanes: Lane[], count: number, opts: {
  load: (batch: number) => Promise<Loaded>;
  compute: (lane: Lane, batch: number, loaded: Loaded) => Promise<void>;
  signal?: AbortSignal;
}): Promise<number> {
  const { signal } = opts;
  let nextBatch = 0;
  let failed = false;
  let done = 0;
  const take = () => (!failed && !signal?.aborted && nextBatch < count ? nextBatch++ : -1);
  const runLane = async (lane: Lane): Promise<void> => {
    let bi = take();
    let next = bi >= 0 ? opts.load(bi) : undefined;
    while (bi >= 0) {
      if (failed || signal?.aborted) {
        next?.catch(() => undefined);
        return;
      }
      try {
        const loaded = await next!;
        const current = bi;
        bi = take();
        next = bi >= 0 ? opts.load(bi) : undefined;
        await opts.compute(lane, current, loaded);
        done++;
      } catch (e) {
        failed = true;
        next?.catch(() => undefined);
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(lanes.map(runLane));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return done;
}

export interface FeatureSourceOptions {
  /** Class index per example. */
  labels: ArrayLike<number>;
  /** Identity per example (as the image pipeline's keys). */
  keys: readonly string[];
  /** Pooled features of the unaugmented images, size x channels (selectPooling output). */
  original: Float32Array;
  /**
   * Pooled features of the K cached augmented views, each size x channels; view k must be the augmentation the
   * image pipeline applies at epoch k (augmentVariants' variant k). Empty = no augmentation.
   */
  augmented?: Float32Array[];
  channels?: number;
  /** Shape of one example's input when it is not a flat vector (fine-tuning's bottom maps, [h, w, c]). */
  rowShape?: number[];
}

/**
 * The trainer's ExampleSource over base features in memory: training epoch e reads augmented view e mod K (so
 * epochs 0..K-1 see exactly what image training would), evaluation reads the original view. Inputs are
 * [b, channels] for a head from buildFeatureHead, or [b, ...rowShape]. (featureRowSource over memoryFeatureRows.)
 */
export function featureExampleSource(opts: FeatureSourceOptions): ExampleSource {
  const rowShape = opts.rowShape ?? [opts.channels ?? MOBILENET_FEATURE_CHANNELS];
  const c = rowShape.reduce((a, b) => a * b, 1);
  const rows = memoryFeatureRows(opts.original, opts.augmented ?? [], c, opts.keys.length);
  return featureRowSource({ labels: opts.labels, keys: opts.keys, rows, rowShape });
}

export interface CachedFeatureSourceOptions {
  cache: FeatureCache;
  /** Class index per example. */
  labels: ArrayLike<number>;
  /** Identity per example (as the image pipeline's keys). */
  keys: readonly string[];
  /** The cache key of each example's unaugmented view. */
  original: readonly FeatureKey[];
  /** The cache keys of the K augmented views, each one per example; view k is epoch k's augmentation. Empty = none. */
  augmented?: readonly (readonly FeatureKey[])[];
  pooling: PoolingType;
}

/**
 * featureExampleSource over the on-disk feature cache (featureRowSource over cachedFeatureRows): keys are resolved
 * to records once, each batch's rows (only the chosen pooling's half) are read ahead on libuv's threads while the
 * trainer computes, and nothing per example is held in memory but the record numbers. Same inputs as
 * featureExampleSource over the same features, value for value.
 */
export function cachedFeatureSource(opts: CachedFeatureSourceOptions): ExampleSource {
  if (opts.labels.length !== opts.keys.length) throw new Error('cachedFeatureSource: labels and keys differ in length');
  const rows = cachedFeatureRows({ cache: opts.cache, original: opts.original, augmented: opts.augmented, pooling: opts.pooling });
  if (opts.original.length !== opts.keys.length) throw new Error(`cachedFeatureSource: expected ${opts.keys.length} feature keys per view, got ${opts.original.length}`);
  return featureRowSource({ labels: opts.labels, keys: opts.keys, rows, rowShape: [MOBILENET_FEATURE_CHANNELS] });
}
