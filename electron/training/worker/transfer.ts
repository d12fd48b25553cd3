// The mobilenetv2 preset's training path: frozen ImageNet base, features computed once with predict (never inside
// training: tfjs BatchNormalization would use batch statistics) and cached on disk, the head trained on the cached
// pooled features (K fixed augmented views per training image, the plain view for validation and test), then base
// and head assembled into one inference model (raw pixels in, logits out) and saved.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type LayersModel } from '../../tfjs/tf';
import { decodeImageFile, DecodeCache, type ExampleSource } from '../data-pipeline';
import { isIdentityConfig } from '../augment';
import { evaluateModel, train, type TrainData, type TrainResult } from '../trainer';
import { loadModelFromFolder, saveModelToFolder } from '../../inference/model-folder';
import { resolveBaseWeights, createMobileNetV2Base, baseVersions, type BaseWeights, type WeightsSource, BaseWeightsError } from '../mobilenet/base-weights';
import { usesBundledBase } from '../mobilenet/bundled-base';
import {
  MobileNetFeatureExtractor, cachedFeatureSource, extractToCache, runBatchesOnLanes, type ExtractedFeatures, type ExtractionProgress, type PlainPixels,
} from '../mobilenet/feature-extractor';
import { applyViews, type ViewAugmentation } from '../mobilenet/view-augment';
import { defaultFeatureThreads, startFeatureThreads, type FeatureEmbedder } from '../mobilenet/feature-threads';
import { FeatureCache, ORIGINAL_VIEW, augmentedViewKey, type FeatureKey } from '../mobilenet/feature-cache';
import { buildFeatureHead, buildTransferModel, copyHeadWeights, HEAD_DROPOUT, type TransferHeadOptions } from '../mobilenet/mobilenet-v2';
import { mixSeeds, mulberry32 } from '../../../shared/random';
import { logitUnits } from '../../../shared/model-validation';
import type { TrainingConfig } from '../../../shared/training-config';
import type { TrainRunStart, TrainTaskResult, WorkerImage } from './task-types';
import { bestValAccuracy, trainerCallbacks, writeRunMetadata, type Emit, type progressSender } from './reporting';
import { assembleFineTuned, buildTopModel, mapExampleSource, MAX_CACHED_BYTES, planFineTune, type FineTunePlan } from './fine-tune';

export interface TransferContext {
  emit: Emit;
  signal: AbortSignal;
  backend: string;
  versions: Record<string, string>;
  sendProgress: ReturnType<typeof progressSender>;
}

/**
 * Starts feature threads for the base (feature-threads.ts), or undefined where they would not help: native
 * TensorFlow already uses every core, and one core gains nothing.
 */
function featureThreadStarter(backend: string, weights: BaseWeights, imageSize: number): (() => Promise<FeatureEmbedder[]>) | undefined {
  const threads = defaultFeatureThreads();
  if ((backend !== 'wasm' && backend !== 'cpu') || threads <= 1) return undefined;
  return () => startFeatureThreads({ weights, imageSize, backend, threads });
}

/**
 * Where the base weights come from: the config's local path or URL; else the bundled base for its alpha (0.35: no
 * network), else the ImageNet weights for the alpha, downloaded once.
 */
export function weightsSourceFor(config: TrainingConfig): WeightsSource {
  const source = config.mobilenet.baseSource;
  if (!source) return usesBundledBase({ ...config, preset: 'mobilenetv2' }) ? { kind: 'bundled' } : { kind: 'imagenet', alpha: config.mobilenet.alpha };
  return /^https?:\/\//i.test(source) ? { kind: 'url', url: source } : { kind: 'local', path: source };
}

/** Identifies everything that changes the augmented pixels, so other settings never reuse stale features. */
export function augmentationSignature(config: TrainingConfig): string {
  const a = config.augmentation;
  return `v1;seed=${config.seed};flip=${a.flip};rot=${a.rotation};zoom=${a.zoom};bri=${a.brightness};con=${a.contrast}`;
}

/**
 * Dropout on the pooled features inside the data source, with each example's mask seeded by (run seed, epoch,
 * image key). tfjs's Dropout layer draws unseeded masks (and a fixed layer seed would repeat one mask on every
 * batch), so two runs with the same seed trained different heads: not reproducible, and a cached run could not
 * match an uncached one. Identical in effect to a Dropout layer right before the logits (inverted dropout:
 * kept values scaled by 1/(1-rate)); evaluation (training false) passes features through unchanged.
 */
export function seededFeatureDropout(source: ExampleSource, rate: number, seed: number): ExampleSource {
  if (rate <= 0) return source;
  const scale = 1 / (1 - rate);
  return {
    size: source.size,
    labels: source.labels,
    keys: source.keys,
    ...(source.prepare ? { prepare: source.prepare.bind(source) } : {}),
    inputs(indices, context) {
      const x = source.inputs(indices, context);
      if (!context.training) return x;
      const [rows, c] = x.shape as [number, number];
      const mask = new Float32Array(rows * c);
      for (let j = 0; j < rows; j++) {
        const rng = mulberry32(mixSeeds(seed, 'feature-dropout', context.epoch, source.keys[indices[j]]));
        for (let k = 0; k < c; k++) mask[j * c + k] = rng() < rate ? 0 : scale;
      }
      try {
        return tf.tidy(() => x.mul(tf.tensor2d(mask, [rows, c])));
      } finally {
        x.dispose();
      }
    },
  };
}

/** Seeded Glorot-uniform kernels and zero biases, so the same seed starts the head from the same weights. */
function seedHead(head: LayersModel, seed: number): void {
  head.layers.forEach((layer, i) => {
    if (layer.weights.length === 0) return;
    const values = layer.weights.map((w, j) => {
      const shape = w.shape as number[];
      return j === 0 && shape.length === 2
        ? tf.initializers.glorotUniform({ seed: mixSeeds(seed, 'head', i) }).apply(shape)
        : tf.zeros(shape);
    });
    layer.setWeights(values);
    tf.dispose(values);
  });
}

export async function runTransfer(start: TrainRunStart, ctx: TransferContext): Promise<TrainTaskResult> {
  const { config, data, paths } = start;
  const { emit, signal, sendProgress } = ctx;
  const size = config.imageSize.height;
  if (config.imageSize.width !== size) throw new Error(`MobileNetV2 needs a square input; got ${config.imageSize.width}x${size}`);
  const progress = (stage: 'weights' | 'features' | 'evaluating' | 'saving', done: number, total: number, rate: number | null, eta: number | null, force = false) =>
    sendProgress({ stage, phase: 'train', epoch: 0, epochs: config.epochs, batch: done, batches: total, loss: null, accuracy: null, imagesPerSecond: rate, etaSeconds: eta }, force);

  // 1. Base weights: downloaded once into the cache (offline afterwards), verified; never a random fallback.
  progress('weights', 0, 1, null, null, true);
  let weights;
  const weightsSource = weightsSourceFor(config);
  try {
    weights = await resolveBaseWeights(weightsSource, {
      cacheDir: join(paths.cacheDir, 'base-weights'),
      expectedAlpha: weightsSource.kind === 'imagenet' || weightsSource.kind === 'bundled' ? config.mobilenet.alpha : undefined,
      signal,
      onProgress: (p) => progress('weights', p.loadedBytes, Math.max(p.totalBytes, p.loadedBytes), null, null),
    });
  } catch (error) {
    if (error instanceof BaseWeightsError && error.code === 'cancelled') throw Object.assign(new Error(error.message), { name: 'AbortError' });
    throw new Error(`MobileNetV2 base weights: ${(error as Error).message}`);
  }
  if (weights.alpha !== config.mobilenet.alpha) {
    emit({ type: 'log', level: 'warn', message: `the base weights (${weights.source}) are MobileNetV2 alpha ${weights.alpha}; using that instead of ${config.mobilenet.alpha}` });
  }
  // Named, never by a local path: the run record must mean the same on another machine.
  const baseInfo = baseVersions(weightsSource, weights);
  emit({ type: 'log', level: 'info', message: `base ${baseInfo.mobilenetBase}: weights ${weights.weightsId.slice(0, 12)}, alpha ${baseInfo.mobilenetAlpha}, ${Number(baseInfo.mobilenetBaseParameters).toLocaleString('en-US')} parameters` });

  // 2. Features for every view, from the cache where present.
  const extractor = MobileNetFeatureExtractor.create(weights, { imageSize: size });
  const cache = await FeatureCache.open(join(paths.cacheDir, 'features'), extractor.cacheParams);
  // Extraction takes each photo's views together (below), so this needs to hold only the photos of the batches in
  // flight; a cache sized for a whole training set would only raise the worker's peak memory at scale.
  const decodeCache = new DecodeCache(64 * 1024 ** 2);
  const byHash = new Map<string, WorkerImage>();
  for (const image of [...data.train, ...data.val, ...data.test]) byHash.set(image.contentHash, image);
  const augment = !isIdentityConfig(config.augmentation);
  const signature = augmentationSignature(config);
  const viewIndex = new Map<string, number>();
  const views = augment ? config.mobilenet.augmentedViews : 0;
  for (let k = 0; k < views; k++) viewIndex.set(augmentedViewKey(signature, k), k);

  // One decode per image even when its plain and augmented views are in the same batch (concurrent decodes of one
  // file would race on the disk cache's temporary file).
  const decoding = new Map<string, Promise<Uint8Array>>();
  let photoReads = 0;
  const decode = (image: WorkerImage): Promise<Uint8Array> => {
    let pending = decoding.get(image.contentHash);
    if (!pending) {
      photoReads++;
      pending = decodeImageFile(image.path, size, size, { memoryCache: decodeCache, cacheDir: join(paths.cacheDir, 'decoded') })
        .then((r) => r.pixels)
        .finally(() => decoding.delete(image.contentHash));
      decoding.set(image.contentHash, pending);
    }
    return pending;
  };
  // A batch's plain pixels and, per row, which augmentation makes its view: the lane that embeds the batch applies
  // them (view-augment.ts), so the augmenting is spread over the feature threads.
  const loadPlain = async (keys: FeatureKey[]): Promise<PlainPixels> => {
    const per = size * size * 3;
    const out = new Uint8Array(keys.length * per);
    const rows: ViewAugmentation['rows'] = keys.map(() => null);
    await Promise.all(keys.map(async (key, i) => {
      const image = byHash.get(key.imageHash);
      if (!image) throw new Error(`no image with hash ${key.imageHash}`);
      out.set(await decode(image), i * per);
      if (key.view === ORIGINAL_VIEW) return;
      const k = viewIndex.get(key.view);
      if (k === undefined) throw new Error(`unknown feature view ${key.view}`);
      // View k is exactly what image training would see at epoch k (same seed, same image key).
      rows[i] = { epoch: k, imageKey: image.key };
    }));
    return { pixels: out, views: { config: config.augmentation, seed: config.seed, size, rows } };
  };
  /** The views' pixels themselves, for fine-tuning's frozen bottom. */
  const loadPixels = async (keys: FeatureKey[]): Promise<Uint8Array> => {
    const { pixels, views: rowViews } = await loadPlain(keys);
    applyViews(pixels, rowViews);
    return pixels;
  };

  const trainKeys: FeatureKey[] = [];
  for (const image of data.train) trainKeys.push({ imageHash: image.contentHash, view: ORIGINAL_VIEW });
  for (let k = 0; k < views; k++) for (const image of data.train) trainKeys.push({ imageHash: image.contentHash, view: augmentedViewKey(signature, k) });
  const plain = (images: WorkerImage[]) => images.map((image) => ({ imageHash: image.contentHash, view: ORIGINAL_VIEW }));
  // Extracted photo by photo, each training photo's plain view then its augmented views, so one decode serves all of
  // them. In trainKeys' order (every photo, then every photo again per view) a training set larger than the memory
  // cache was read back from the disk cache and hashed once per view. A batch's members change no feature.
  const extractionKeys: FeatureKey[] = data.train.flatMap((image) => [
    { imageHash: image.contentHash, view: ORIGINAL_VIEW },
    ...Array.from({ length: views }, (_, k) => ({ imageHash: image.contentHash, view: augmentedViewKey(signature, k) })),
  ]);
  const allKeys = [...extractionKeys, ...plain(data.val), ...plain(data.test)];

  const startThreads = featureThreadStarter(ctx.backend, weights, size);
  // Into the cache only: training and evaluation read their batches' rows back from it (cachedFeatureSource), so no
  // run holds every image's features (issue 17). The cache stays open until the run ends.
  let extracted;
  try {
    extracted = await extractToCache(extractor, allKeys, {
      loadPixels: loadPlain, cache, batchSize: 32, signal, startThreads,
      onProgress: (p: ExtractionProgress) => progress('features', p.done, p.total, p.imagesPerSecond || null, p.etaSeconds, p.done === p.total),
    });
  } catch (error) {
    await cache.close();
    throw error;
  } finally {
    extractor.dispose();
    decodeCache.clear();
  }
  try {
    return await trainOnFeatures({ start, ctx, weights, cache, extracted: { ...extracted, photoReads }, trainKeys, views, signature, loadPixels, baseInfo });
  } finally {
    await cache.close();
  }
}

interface FeatureTraining {
  start: TrainRunStart;
  ctx: TransferContext;
  weights: BaseWeights;
  cache: FeatureCache;
  /** photoReads: photos read (through the decode caches) to compute the missing features. */
  extracted: Omit<ExtractedFeatures, 'data'> & { photoReads: number };
  trainKeys: FeatureKey[];
  views: number;
  signature: string;
  loadPixels: (keys: FeatureKey[]) => Promise<Uint8Array>;
  baseInfo: Record<string, string>;
}

/** Steps 3-5 on the cached features: the head, optional fine-tuning, test evaluation, the assembled model. */
async function trainOnFeatures(input: FeatureTraining): Promise<TrainTaskResult> {
  const { start, ctx, weights, cache, extracted, trainKeys, views, signature, loadPixels, baseInfo } = input;
  const { config, data, paths } = start;
  const { emit, signal, sendProgress } = ctx;
  const size = config.imageSize.height;
  const numClasses = data.classNames.length;
  const progress = (stage: 'weights' | 'features' | 'evaluating' | 'saving', done: number, total: number, rate: number | null, eta: number | null, force = false) =>
    sendProgress({ stage, phase: 'train', epoch: 0, epochs: config.epochs, batch: done, batches: total, loss: null, accuracy: null, imagesPerSecond: rate, etaSeconds: eta }, force);
  if (extracted.threadError) {
    emit({ type: 'log', level: 'warn', message: `feature extraction threads could not start (${extracted.threadError}); extracted on one core instead` });
  }
  const on = extracted.computed > 0 ? ` on ${extracted.lanes} thread${extracted.lanes === 1 ? '' : 's'} from ${extracted.photoReads} photo reads` : '';
  emit({ type: 'log', level: 'info', message: `base features: ${extracted.fromCache} from the cache, ${extracted.computed} computed${on}` });

  const n = data.train.length;
  const trainOriginal = trainKeys.slice(0, n);
  const trainViews = Array.from({ length: views }, (_, k) => trainKeys.slice(n * (k + 1), n * (k + 2)));
  const plainKeys = (images: WorkerImage[]) => images.map((image) => ({ imageHash: image.contentHash, view: ORIGINAL_VIEW }));
  const valFeatures = plainKeys(data.val);
  const testFeatures = plainKeys(data.test);

  const source = (images: WorkerImage[], original: FeatureKey[], augmented?: FeatureKey[][]) => cachedFeatureSource({
    cache, labels: Int32Array.from(images, (image) => image.label), keys: images.map((image) => image.key), original, augmented,
    pooling: config.mobilenet.headPooling,
  });
  // Without an extra dense layer the head's Dropout sits right before the logits, so it moves into the source,
  // seeded per image (see seededFeatureDropout), which keeps cached and uncached runs identical; the trained head's
  // own Dropout layer is then the identity. With an extra dense layer the Dropout follows it and stays a layer,
  // seeded by the trainer like every Dropout layer (seeded-dropout.ts).
  const headOptions: TransferHeadOptions = {
    pooling: config.mobilenet.headPooling, units: logitUnits(numClasses), dropout: HEAD_DROPOUT, extraDense: config.mobilenet.extraDense,
  };
  const dropoutInSource = !headOptions.extraDense;
  const trainSource = source(data.train, trainOriginal, trainViews);
  const trainData: TrainData = {
    train: dropoutInSource ? seededFeatureDropout(trainSource, HEAD_DROPOUT, config.seed) : trainSource,
    val: data.val.length ? source(data.val, valFeatures) : null,
    classNames: data.classNames,
    splitId: data.splitId,
    dataHash: data.dataHash,
  };

  // 3. The head on cached features; its best epoch is checkpointed inside the run folder, then assembled.
  const head = buildFeatureHead(dropoutInSource ? { ...headOptions, dropout: 0 } : headOptions);
  seedHead(head, config.seed);
  const headDir = join(paths.modelDir, 'head-checkpoint');
  await mkdir(paths.modelDir, { recursive: true });
  const result = await train(config, trainData, trainerCallbacks(emit, sendProgress), {
    model: head, signal, checkpointDir: headDir, progressIntervalMs: start.progressIntervalMs ?? 250, versions: ctx.versions,
  });
  head.dispose();
  const saved = result.checkpointDir !== null;
  if (!saved) {
    return { status: result.status, error: result.error ?? null, bestEpoch: null, bestValAccuracy: null, modelPath: null, testAccuracy: null, testLoss: null };
  }

  const bestHead = await loadModelFromFolder(headDir);
  let outcome: Outcome | null = null;
  try {
    outcome = { status: result.status, error: result.error ?? null, phaseResult: result, top: null, evaluate: (m) => evaluateModel(m, source(data.test, testFeatures), numClasses, config.batchSize) };
    // 4. Optional fine-tuning of the top blocks, continuing from the best head.
    const { fineTuneBlocks, fineTuneEpochs } = config.mobilenet;
    if (fineTuneBlocks > 0 && fineTuneEpochs > 0 && result.status === 'completed' && !signal.aborted) {
      outcome = await fineTune({ start, ctx, weights, headOptions, bestHead, loadPixels, progress, first: result, decodeSignature: signature, views }) ?? outcome;
    }

    let testAccuracy: number | null = null;
    let testLoss: number | null = null;
    const chosen = outcome.phaseResult;
    if (data.test.length > 0 && outcome.status !== 'failed') {
      progress('evaluating', 0, data.test.length, null, null, true);
      const evaluation = await outcome.evaluate(outcome.top ?? bestHead);
      testAccuracy = evaluation.accuracy;
      testLoss = evaluation.loss;
      emit({ type: 'log', level: 'info', message: `test accuracy ${(evaluation.accuracy * 100).toFixed(1)}% on ${data.test.length} images (epoch ${chosen.bestEpoch} ${outcome.top ? 'fine-tuned model' : 'head'})` });
    }
    // 5. One inference model, raw pixels in: Rescaling -> base (Keras layers, inference) -> pooling -> head.
    progress('saving', 0, 1, null, null, true);
    if (outcome.top) {
      const plan = outcome.plan!;
      const assembled = assembleFineTuned(weights, size, plan, outcome.top);
      try {
        await saveModelToFolder(assembled.model, paths.modelDir);
      } finally {
        assembled.dispose(); // also disposes the nested top
        outcome.top = null;
      }
    } else {
      const base = createMobileNetV2Base(weights, size);
      let full: LayersModel;
      try {
        full = buildTransferModel(base, headOptions, true);
      } catch (error) {
        base.dispose();
        throw error;
      }
      try {
        copyHeadWeights(bestHead, full);
        await saveModelToFolder(full, paths.modelDir);
      } finally {
        full.dispose(); // the nested base goes with it
      }
    }
    await rm(headDir, { recursive: true, force: true });
    await rm(join(paths.modelDir, 'fine-tune-checkpoint'), { recursive: true, force: true });
    await writeRunMetadata(start, {
      result: chosen, preprocessing: 'symmetric', testAccuracy, testLoss, backend: ctx.backend,
      versions: { ...ctx.versions, ...baseInfo },
    });
    return {
      status: outcome.status, error: outcome.error, bestEpoch: chosen.bestEpoch,
      bestValAccuracy: bestValAccuracy(chosen), modelPath: paths.modelDir, testAccuracy, testLoss,
    };
  } finally {
    outcome?.top?.dispose();
    bestHead.dispose();
  }
}

interface Outcome {
  status: TrainTaskResult['status'];
  error: string | null;
  /** The phase whose best epoch is saved. */
  phaseResult: TrainResult;
  /** The fine-tuned top (bottom map in, logits out) when fine-tuning won; null = the frozen-base head. */
  top: LayersModel | null;
  plan?: FineTunePlan;
  evaluate(model: LayersModel): Promise<{ loss: number; accuracy: number }>;
}

interface FineTuneInput {
  start: TrainRunStart;
  ctx: TransferContext;
  weights: BaseWeights;
  headOptions: TransferHeadOptions;
  bestHead: LayersModel;
  loadPixels: (keys: FeatureKey[]) => Promise<Uint8Array>;
  progress: (stage: 'features', done: number, total: number, rate: number | null, eta: number | null, force?: boolean) => void;
  first: TrainResult;
  decodeSignature: string;
  views: number;
}

/** Phase 2; returns null (keep the frozen-base model) when it cannot run or does not beat phase 1. */
async function fineTune(input: FineTuneInput): Promise<Outcome | null> {
  const { start, ctx, weights, headOptions, bestHead, loadPixels, progress, first, decodeSignature, views } = input;
  const { config, data, paths } = start;
  const { emit, signal } = ctx;
  const size = config.imageSize.height;
  const plan = planFineTune(weights, size, config.mobilenet.fineTuneBlocks);
  const per = plan.mapShape[0] * plan.mapShape[1] * plan.mapShape[2];
  const n = data.train.length;
  const total = n * (views + 1) + data.val.length + data.test.length;
  if (total * per * 4 > MAX_CACHED_BYTES) {
    emit({ type: 'log', level: 'warn', message: `fine-tuning skipped: the frozen part's output for ${total} views needs ${(total * per * 4 / 1024 ** 3).toFixed(1)} GB; unfreeze fewer blocks or use a smaller image size` });
    return null;
  }
  emit({ type: 'log', level: 'info', message: `fine-tuning the top ${17 - plan.firstBlock} blocks and Conv_1 (from ${plan.splitLayer}, map ${plan.mapShape.join('x')}) at learning rate ${config.learningRate / 10}` });

  // The frozen bottom, once per view, in inference mode, BatchNorm folded and spread over threads like the
  // feature extraction.
  const keysOf = (images: WorkerImage[], view: string) => images.map((image) => ({ imageHash: image.contentHash, view }));
  const groups: FeatureKey[][] = [keysOf(data.train, ORIGINAL_VIEW)];
  for (let k = 0; k < views; k++) groups.push(keysOf(data.train, augmentedViewKey(decodeSignature, k)));
  groups.push(keysOf(data.val, ORIGINAL_VIEW), keysOf(data.test, ORIGINAL_VIEW));
  const allKeys = groups.flat();
  const all = new Float32Array(allKeys.length * per);
  const batchSize = 32;
  const batchCount = Math.ceil(allKeys.length / batchSize);
  const keysOfBatch = (bi: number) => allKeys.slice(bi * batchSize, (bi + 1) * batchSize);
  let threads: FeatureEmbedder[] = [];
  const startThreads = featureThreadStarter(ctx.backend, weights, size);
  if (startThreads && batchCount >= 2) {
    try {
      threads = await startThreads();
    } catch (error) {
      emit({ type: 'log', level: 'warn', message: `fine-tuning: extraction threads could not start (${(error as Error).message}); using one core` });
    }
  }
  // The in-process folded network only when no thread runs it.
  const lanes: FeatureEmbedder[] = threads.length ? threads : [MobileNetFeatureExtractor.create(weights, { imageSize: size })];
  let done = 0;
  const started = performance.now();
  try {
    const computed = await runBatchesOnLanes<FeatureEmbedder, Uint8Array>(lanes, batchCount, {
      signal,
      load: (bi) => loadPixels(keysOfBatch(bi)),
      compute: async (lane, bi, pixels) => {
        const count = keysOfBatch(bi).length;
        all.set(await lane.bottom(pixels, count, plan.firstBlock), bi * batchSize * per);
        done += count;
        const rate = done / Math.max(1e-3, (performance.now() - started) / 1000);
        progress('features', done, total, rate, (total - done) / rate, done === total);
      },
    });
    if (computed < batchCount) throw Object.assign(new Error('fine-tuning cancelled'), { name: 'AbortError' });
  } finally {
    for (const lane of lanes) lane.dispose();
  }
  const maps: Float32Array[] = [];
  let offset = 0;
  for (const group of groups) {
    maps.push(all.subarray(offset * per, (offset + group.length) * per));
    offset += group.length;
  }
  const [trainPlain, ...rest] = maps;
  const trainViews = rest.slice(0, views);
  const [valMaps, testMaps] = rest.slice(views);
  const labels = (images: WorkerImage[]) => Int32Array.from(images, (image) => image.label);
  const keys = (images: WorkerImage[]) => images.map((image) => image.key);
  const ftData: TrainData = {
    train: mapExampleSource(labels(data.train), keys(data.train), plan.mapShape, trainPlain, trainViews),
    val: data.val.length ? mapExampleSource(labels(data.val), keys(data.val), plan.mapShape, valMaps, []) : null,
    classNames: data.classNames,
    splitId: data.splitId,
    dataHash: data.dataHash,
  };

  const top = buildTopModel(weights, size, plan, headOptions, bestHead);
  const ftDir = join(paths.modelDir, 'fine-tune-checkpoint');
  const ftConfig: TrainingConfig = { ...config, epochs: config.mobilenet.fineTuneEpochs, learningRate: config.learningRate / 10 };
  const second = await train(ftConfig, ftData, trainerCallbacks(emit, ctx.sendProgress), {
    model: top, signal, phase: 'fine-tune', initialEpoch: config.epochs, checkpointDir: ftDir,
    progressIntervalMs: start.progressIntervalMs ?? 250, versions: ctx.versions,
  });
  top.dispose();
  const maximize = first.monitor.endsWith('accuracy');
  const better = second.bestValue !== null && (first.bestValue === null || (maximize ? second.bestValue > first.bestValue : second.bestValue < first.bestValue));
  if (second.checkpointDir === null || !better) {
    emit({ type: 'log', level: 'info', message: `fine-tuning did not improve ${first.monitor} (best ${first.bestValue?.toFixed(4)} at epoch ${first.bestEpoch}); keeping the frozen-base model` });
    return second.status === 'completed' ? null : { status: second.status, error: second.error ?? null, phaseResult: first, top: null, evaluate: () => Promise.reject(new Error('unreachable')) };
  }
  const bestTop = await loadModelFromFolder(ftDir);
  const testSource = mapExampleSource(labels(data.test), keys(data.test), plan.mapShape, testMaps, []);
  return {
    status: second.status, error: second.error ?? null, phaseResult: second, top: bestTop, plan,
    evaluate: (model) => evaluateModel(model, testSource, data.classNames.length, config.batchSize),
  };
}
