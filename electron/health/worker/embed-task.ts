// The `embed-health` worker task: frozen-base embeddings of a dataset's images (from the feature cache where
// present, the rest computed on extraction threads and appended to it), then the health analysis on them, all in the
// job's worker process so neither TensorFlow.js nor seconds of arithmetic run in the host.
import { join } from 'node:path';
import type { TaskIo, WorkerTask } from '../../../shared/worker-task';
import { selectBackend } from '../../tfjs/backend/select-backend';
import { decodeImageFile, DecodeCache } from '../../training/data-pipeline';
import { resolveBaseWeights, BaseWeightsError, type WeightsSource } from '../../training/mobilenet/base-weights';
import { MobileNetFeatureExtractor, extractToCache } from '../../training/mobilenet/feature-extractor';
import { readPooledRows } from '../../training/mobilenet/feature-rows';
import { defaultFeatureThreads, startFeatureThreads } from '../../training/mobilenet/feature-threads';
import { FeatureCache, ORIGINAL_VIEW, type FeatureKey } from '../../training/mobilenet/feature-cache';
import { MOBILENET_FEATURE_CHANNELS } from '../../training/mobilenet/mobilenet-v2';
import { analyseHealth } from '../analysis';
import { tf } from '../../tfjs/tf';
import { tfMatrixEngine } from './tf-matrix';
import type { EmbedHealthInput, EmbedHealthResult } from './task-types';

function abortError(message: string): Error {
  return Object.assign(new Error(message), { name: 'AbortError' });
}

export function weightsSourceOf(basePath: string | null): WeightsSource {
  if (basePath === null) return { kind: 'imagenet', alpha: 0.35 };
  return /^https?:\/\//i.test(basePath) ? { kind: 'url', url: basePath } : { kind: 'local', path: basePath };
}

export const embedHealthTask: WorkerTask<EmbedHealthInput, EmbedHealthResult> = async (input, io: TaskIo) => {
  const { signal } = io;
  const report = (phase: string, done: number, of: number | null, etaSeconds: number | null, message: string | null = null) =>
    io.progress({ phase, done, total: of, etaSeconds, message, detail: null });
  report('weights', 0, null, null);
  const backend = await selectBackend('auto');
  let weights;
  try {
    weights = await resolveBaseWeights(weightsSourceOf(input.basePath), { cacheDir: join(io.settings.cacheDir, 'base-weights'), signal });
  } catch (error) {
    if (error instanceof BaseWeightsError && error.code === 'cancelled') throw abortError(error.message);
    throw new Error(`MobileNetV2 base weights: ${(error as Error).message}`);
  }
  io.log('info', `base weights ${weights.weightsId.slice(0, 12)} (alpha ${weights.alpha}) from ${weights.source} on ${backend.name}`);

  const size = input.imageSize;
  const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: size });
  const cache = await FeatureCache.open(join(io.settings.cacheDir, 'features'), extractor.cacheParams);
  const decodeCache = new DecodeCache(256 * 1024 ** 2);
  const byHash = new Map(input.images.map((image) => [image.contentHash, image]));
  const keys: FeatureKey[] = input.images.map((image) => ({ imageHash: image.contentHash, view: ORIGINAL_VIEW }));
  const threads = defaultFeatureThreads();
  const startThreads = (backend.name === 'wasm' || backend.name === 'cpu') && threads > 1
    ? () => startFeatureThreads({ weights, imageSize: size, backend: backend.name as 'wasm' | 'cpu', threads })
    : undefined;
  const started = performance.now();
  let extracted;
  let embeddings: Float32Array;
  try {
    // Computed features go to the cache only; then only the average-pooled half of each is read back: what the
    // default head reads, and a smoother similarity than the max-pooled half. Holding both halves of every image took
    // the worker past 2 GB a quarter of the way through 100,000 photos.
    extracted = await extractToCache(extractor, keys, {
      cache, batchSize: 32, signal, startThreads,
      loadPixels: async (batch) => {
        const per = size * size * 3;
        const out = new Uint8Array(batch.length * per);
        await Promise.all(batch.map(async (key, i) => {
          const image = byHash.get(key.imageHash)!;
          const decoded = await decodeImageFile(image.path, size, size, { memoryCache: decodeCache, cacheDir: join(io.settings.cacheDir, 'decoded') });
          out.set(decoded.pixels, i * per);
        }));
        return out;
      },
      onProgress: (p) => report('features', p.done, p.total, p.etaSeconds),
    });
    embeddings = await readPooledRows(cache, keys, 'average', signal);
  } catch (error) {
    if (signal.aborted) throw abortError('cancelled while computing embeddings; the finished ones are cached');
    throw error;
  } finally {
    extractor.dispose();
    await cache.close();
    decodeCache.clear();
  }
  const featureSeconds = (performance.now() - started) / 1000;
  // Lanes said out loud: one lane (threads failed to start) makes a cold run about twice as long on 2 cores.
  io.log(extracted.threadError ? 'warn' : 'info', `embeddings: ${extracted.fromCache} from the cache, ${extracted.computed} computed in ${featureSeconds.toFixed(1)} s on ${extracted.lanes} lane${extracted.lanes === 1 ? '' : 's'}${extracted.threadError ? ` (extraction threads failed: ${extracted.threadError})` : ''}`);

  const analysisStarted = performance.now();
  // Folds, comparison blocks and map epochs as one bar: each fold, the whole comparison and the map about alike.
  const units = input.options.folds + 2;
  const analysis = await analyseHealth(
    {
      embeddings, embeddingsReusable: true, dim: MOBILENET_FEATURE_CHANNELS,
      labels: Int32Array.from(input.images, (image) => image.label),
      classNames: input.classNames,
      subsets: input.images.map((image) => image.subset),
      map: input.map ?? null,
    },
    input.options,
    (p) => {
      const part = p.done / Math.max(1, p.total);
      const done = p.phase === 'fitting' ? p.done : p.phase === 'comparing' ? input.options.folds + part : input.options.folds + 1 + part;
      const elapsed = (performance.now() - analysisStarted) / 1000;
      const eta = done > 0 ? (elapsed / done) * (units - done) : null;
      const words = p.phase === 'fitting' ? `fold ${Math.min(p.done + 1, p.total)} of ${p.total}`
        : p.phase === 'comparing' ? 'comparing embeddings' : p.total > 1 ? `drawing the map (epoch ${p.done} of ${p.total})` : 'drawing the map';
      report('analysing', Math.min(units, Math.round(done * 100) / 100), units, eta, words);
    },
    signal,
    tfMatrixEngine(tf),
  );
  return {
    analysis,
    base: { weightsId: weights.weightsId, alpha: weights.alpha, source: weights.source },
    features: { fromCache: extracted.fromCache, computed: extracted.computed, seconds: featureSeconds },
  };
};
