// One trainer ExampleSource over base features, whatever holds them (issue 17): a row provider gives the rows of a
// batch for one view, and featureRowSource picks the view (training epoch e reads augmented view e mod K, evaluation
// the original) and makes the tensor. Features in memory (fine-tuning's maps, small sets) and features read from
// the on-disk cache per batch are the same source over two providers, so they give the same inputs value for value.
import { tf } from '../../tfjs/tf';
// Types only: the data pipeline loads sharp, which must stay out of the feature threads that load this module.
import type { ExampleSource } from '../data-pipeline';
import type { FeatureCache, FeatureKey } from './feature-cache';
import { MOBILENET_FEATURE_CHANNELS, poolingOffset, type PoolingType } from './mobilenet-v2';

/** The view a batch reads: -1 for the original, k for augmented view k. */
export type FeatureView = number;

export interface FeatureRows {
  /** Floats per example. */
  readonly rowLength: number;
  /** Augmented views held (0: the original only). */
  readonly augmentedViews: number;
  /** Makes rows(view, indices) ready without blocking the thread; the trainer runs it ahead of each batch. */
  prepare?(view: FeatureView, indices: ArrayLike<number>): Promise<void>;
  /** The rows of these examples of one view, row j at j * rowLength. */
  rows(view: FeatureView, indices: ArrayLike<number>): Float32Array;
}

/** Which view a batch of this context reads. */
export function viewFor(rows: Pick<FeatureRows, 'augmentedViews'>, epoch: number, training: boolean): FeatureView {
  return training && rows.augmentedViews > 0 ? epoch % rows.augmentedViews : -1;
}

/** The ExampleSource over a row provider: inputs are [b, ...rowShape]. */
export function featureRowSource(opts: {
  labels: ArrayLike<number>;
  keys: readonly string[];
  rows: FeatureRows;
  rowShape: readonly number[];
}): ExampleSource {
  const { rows } = opts;
  const length = opts.rowShape.reduce((a, b) => a * b, 1);
  if (length !== rows.rowLength) throw new Error(`featureRowSource: rows of ${rows.rowLength} values do not have the shape [${opts.rowShape.join(', ')}]`);
  if (opts.labels.length !== opts.keys.length) throw new Error('featureRowSource: labels and keys differ in length');
  return {
    size: opts.keys.length,
    labels: opts.labels,
    keys: opts.keys,
    ...(rows.prepare ? { prepare: (indices, { epoch, training }) => rows.prepare!(viewFor(rows, epoch, training), indices) } : {}),
    inputs(indices, { epoch, training }) {
      return tf.tensor(rows.rows(viewFor(rows, epoch, training), indices), [indices.length, ...opts.rowShape]);
    },
  };
}

/** Rows held in memory: `original` and each augmented view are size x rowLength. */
export function memoryFeatureRows(original: Float32Array, augmented: readonly Float32Array[], rowLength: number, size: number): FeatureRows {
  for (const view of [original, ...augmented]) {
    if (view.length !== size * rowLength) throw new Error(`featureExampleSource: expected ${size} x ${rowLength} features, got ${view.length} values`);
  }
  return {
    rowLength,
    augmentedViews: augmented.length,
    rows(view, indices) {
      const source = view < 0 ? original : augmented[view];
      const out = new Float32Array(indices.length * rowLength);
      for (let j = 0; j < indices.length; j++) out.set(source.subarray(indices[j] * rowLength, (indices[j] + 1) * rowLength), j * rowLength);
      return out;
    },
  };
}

/** Where `pooling`'s half starts in the cache's records, which must hold both halves (max+avg). */
function pooledHalfOffset(cache: FeatureCache, pooling: PoolingType, who: string): number {
  const c = MOBILENET_FEATURE_CHANNELS;
  if (cache.params.featureDim !== 2 * c) throw new Error(`${who}: the cache holds ${cache.params.featureDim} floats per view, not max+avg's ${2 * c}`);
  return poolingOffset(pooling);
}

/** Rows kept in memory by default: a few batches and their read-ahead (1,280 floats each: 5 KB a row). */
const DEFAULT_HELD_ROWS = 4096;
/** Batches that must fit at once: the one being built, data-pipeline's READ_AHEAD_BATCHES (2) and one to spare. */
const BATCHES_HELD = 4;

/**
 * Rows read from the on-disk feature cache: the keys are resolved to record numbers once, prepare() reads only the
 * chosen pooling's half of each record on libuv's threads (the trainer runs it READ_AHEAD_BATCHES ahead, so the reads
 * overlap a step), and the rows wait in a bounded least-recently-used map until their batch is built. A batch nobody
 * prepared is read synchronously. A key that is not cached is an error in words when its batch is read.
 */
export function cachedFeatureRows(opts: {
  cache: FeatureCache;
  /** The cache key of each example's unaugmented view. */
  original: readonly FeatureKey[];
  /** The cache keys of the K augmented views, one per example each; view k is epoch k's augmentation. */
  augmented?: readonly (readonly FeatureKey[])[];
  pooling: PoolingType;
  /** Rows held between prepare and use (raised to fit a batch and its read-ahead). */
  heldRows?: number;
}): FeatureRows {
  const { cache } = opts;
  const c = MOBILENET_FEATURE_CHANNELS;
  const offset = pooledHalfOffset(cache, opts.pooling, 'cachedFeatureRows');
  const views = [opts.original, ...(opts.augmented ?? [])];
  const size = opts.original.length;
  for (const view of views) {
    if (view.length !== size) throw new Error(`cachedFeatureSource: expected ${size} feature keys per view, got ${view.length}`);
  }
  const records = views.map((keys) => cache.resolve(keys));
  let capacity = opts.heldRows ?? DEFAULT_HELD_ROWS;
  const held = new Map<number, Float32Array>(); // (view + 1) * size + index -> row; insertion order is recency
  const loading = new Map<number, Promise<void>>();
  const slot = (view: FeatureView, index: number) => (view + 1) * size + index;

  const recordsOf = (view: FeatureView, indices: ArrayLike<number>): Int32Array => {
    const numbers = records[view + 1];
    const out = new Int32Array(indices.length);
    for (let j = 0; j < indices.length; j++) {
      const record = numbers[indices[j]];
      if (record < 0) {
        const key = views[view + 1][indices[j]];
        throw new Error(`the feature cache has no ${key.view} view of image ${key.imageHash.slice(0, 12)}; run again to compute it`);
      }
      out[j] = record;
    }
    return out;
  };
  const keep = (key: number, row: Float32Array) => {
    held.delete(key);
    held.set(key, row);
    for (const oldest of held.keys()) {
      if (held.size <= capacity) break;
      held.delete(oldest);
    }
  };

  return {
    rowLength: c,
    augmentedViews: views.length - 1,
    async prepare(view, indices) {
      // This batch and the ones read ahead must fit together, or their rows would push each other out.
      capacity = Math.max(capacity, BATCHES_HELD * indices.length);
      const wanted: number[] = [];
      const pending: Array<Promise<void>> = [];
      for (let j = 0; j < indices.length; j++) {
        const key = slot(view, indices[j]);
        const row = held.get(key);
        if (row) keep(key, row);
        else if (loading.has(key)) pending.push(loading.get(key)!);
        else wanted.push(indices[j]);
      }
      if (wanted.length > 0) {
        const out = new Float32Array(wanted.length * c);
        const read = (async () => {
          await cache.readSlices(recordsOf(view, wanted), offset, c, out);
          // Copies, so a row kept longer than its batch does not keep the whole batch's buffer alive.
          wanted.forEach((index, j) => keep(slot(view, index), out.slice(j * c, (j + 1) * c)));
        })();
        const settled = read.finally(() => wanted.forEach((index) => loading.delete(slot(view, index))));
        for (const index of wanted) loading.set(slot(view, index), settled.catch(() => undefined));
        pending.push(settled);
      }
      await Promise.all(pending);
    },
    rows(view, indices) {
      const out = new Float32Array(indices.length * c);
      const missing: number[] = [];
      for (let j = 0; j < indices.length; j++) {
        const row = held.get(slot(view, indices[j]));
        if (row) out.set(row, j * c);
        else missing.push(j);
      }
      if (missing.length > 0) {
        const rows = new Float32Array(missing.length * c);
        cache.readSlicesSync(recordsOf(view, missing.map((j) => indices[j])), offset, c, rows);
        missing.forEach((j, m) => out.set(rows.subarray(m * c, (m + 1) * c), j * c));
      }
      return out;
    },
  };
}

/** Rows read per block by readPooledRows: 2,048 rows of 1,280 floats is 10 MB in flight. */
const POOLED_READ_BLOCK = 2048;

/**
 * One pooling's half of every key's cached record, key i at row i (keys x 1,280 floats): what the health analysis
 * reads, without holding both halves of every record first (100,000 images: 512 MB instead of 1 GB plus a copy).
 * A key missing from the cache is an error in words.
 */
export async function readPooledRows(cache: FeatureCache, keys: readonly FeatureKey[], pooling: PoolingType, signal?: AbortSignal): Promise<Float32Array> {
  const c = MOBILENET_FEATURE_CHANNELS;
  const offset = pooledHalfOffset(cache, pooling, 'readPooledRows');
  const records = cache.resolve(keys);
  const missing = records.indexOf(-1);
  if (missing >= 0) throw new Error(`the feature cache has no ${keys[missing].view} view of image ${keys[missing].imageHash.slice(0, 12)}`);
  const out = new Float32Array(keys.length * c);
  for (let start = 0; start < keys.length; start += POOLED_READ_BLOCK) {
    signal?.throwIfAborted();
    const end = Math.min(keys.length, start + POOLED_READ_BLOCK);
    await cache.readSlices(records.subarray(start, end), offset, c, out.subarray(start * c, end * c));
  }
  return out;
}
