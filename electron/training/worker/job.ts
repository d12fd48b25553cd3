// One training run inside the job worker process: backend, data, training, best model saved with its metadata, test
// evaluation. Transport-free (the train task, task.ts, wires `emit` and the cancel signal), so it can also run in-process.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend, type BackendRequest } from '../../tfjs/backend/select-backend';
import { DecodeCache, imageCount, imageExampleSource, prepareImageSets, STREAM_MEMORY_BYTES } from '../data-pipeline';
import { evaluateModel, imageTrainData, train } from '../trainer';
import { loadModelFromFolder } from '../../inference/model-folder';
import { NO_AUGMENTATION } from '../../../shared/training-config';
import type { TrainRunStart, TrainTaskResult } from './task-types';
import { bestValAccuracy, progressSender, toImageItems, trainerCallbacks, writeRunMetadata, type Emit } from './reporting';
import { runTransfer } from './transfer';
import { memoryReport } from './memory-report';

// Kept for importers of the helpers from their old home (transfer.ts imports reporting.ts, so no loop).
export { bestValAccuracy, progressSender, toImageItems, trainerCallbacks, writeRunMetadata, type Emit, type SavedRunFacts } from './reporting';

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.message.includes('aborted'));
}

/** Runs the job and always resolves with how it ended (never throws). */
export async function runTrainingJob(start: TrainRunStart, emit: Emit, signal: AbortSignal): Promise<TrainTaskResult> {
  const failed = (error: string): TrainTaskResult => ({
    status: 'failed', error, bestEpoch: null, bestValAccuracy: null, modelPath: null, testAccuracy: null, testLoss: null,
  });
  const { config } = start;
  let backendName: string;
  let versions: Record<string, string>;
  try {
    const backend = await selectBackend(config.backend as BackendRequest);
    backendName = backend.name;
    versions = { ...backend.versions, pawprint: start.appVersion };
    emit({
      type: 'backend',
      backend: { active: backend.name, requested: backend.requested, fallbackReasons: backend.fallbackReasons, versions, ...(backend.threads ? { threads: backend.threads } : {}) },
    });
    if (backend.name === 'cpu' && config.preset !== 'mobilenetv2') {
      emit({ type: 'log', level: 'warn', message: 'Training on the plain CPU backend: convolutions are very slow here (minutes per batch at 160x160).' });
    }
  } catch (error) {
    return failed(`no usable TensorFlow.js backend: ${(error as Error).message}`);
  }

  try {
    if (config.preset === 'mobilenetv2') {
      return await runTransfer(start, { emit, signal, backend: backendName, versions, sendProgress: progressSender(emit, start.progressIntervalMs ?? 250) });
    }
    return await runImageTraining(start, emit, signal, backendName, versions);
  } catch (error) {
    if (signal.aborted && isAbort(error)) {
      return { status: 'cancelled', error: null, bestEpoch: null, bestValAccuracy: null, modelPath: null, testAccuracy: null, testLoss: null };
    }
    return failed((error as Error).message);
  }
}

async function decodeAll(start: TrainRunStart, emit: Emit, signal: AbortSignal, sendProgress: ReturnType<typeof progressSender>) {
  const { height, width } = start.config.imageSize;
  const subsets = [start.data.train, start.data.val, start.data.test];
  const total = subsets.reduce((n, s) => n + s.length, 0);
  const started = performance.now();
  // Into the on-disk cache only: batches read their pixels back as training goes, so memory stays flat in N.
  const decoded = await prepareImageSets(subsets.map(toImageItems), {
    height, width, signal, cacheDir: join(start.paths.cacheDir, 'decoded'),
    onProgress(all) {
      const rate = all / Math.max(1e-3, (performance.now() - started) / 1000);
      sendProgress({
        stage: 'decoding', phase: 'train', epoch: 0, epochs: start.config.epochs, batch: all, batches: total,
        loss: null, accuracy: null, imagesPerSecond: rate, etaSeconds: (total - all) / Math.max(rate, 1e-6),
      }, all === total);
    },
  });
  emit({ type: 'log', level: 'info', message: `decoded ${total} images at ${width}x${height}` });
  return { train: decoded[0], val: decoded[1], test: decoded[2] };
}

async function runImageTraining(
  start: TrainRunStart, emit: Emit, signal: AbortSignal, backend: string, versions: Record<string, string>,
): Promise<TrainTaskResult> {
  const { config, data, paths } = start;
  const sendProgress = progressSender(emit, start.progressIntervalMs ?? 250);
  sendProgress({ stage: 'decoding', phase: 'train', epoch: 0, epochs: config.epochs, batch: 0, batches: data.train.length + data.val.length + data.test.length, loss: null, accuracy: null, imagesPerSecond: null, etaSeconds: null }, true);
  const images = await decodeAll(start, emit, signal, sendProgress);
  emit({ type: 'log', level: 'info', message: `after decoding, ${memoryReport()}` });
  // One bounded pixel cache for the training, validation and test batches of this run.
  const memoryCache = new DecodeCache(STREAM_MEMORY_BYTES);
  const trainData = imageTrainData(config, images.train, imageCount(images.val) ? images.val : null, data.classNames, data.splitId, memoryCache);
  if (data.dataHash) trainData.dataHash = data.dataHash;

  // The trainer writes the best epoch's model here (model.json + weights.bin + checkpoint.json) on each improvement.
  await mkdir(paths.modelDir, { recursive: true });
  const result = await train(config, trainData, trainerCallbacks(emit, sendProgress), {
    signal, checkpointDir: paths.modelDir, progressIntervalMs: start.progressIntervalMs ?? 250, versions, threads: start.threads,
  });
  result.model?.dispose();
  emit({ type: 'log', level: 'info', message: `after training, ${memoryReport()}` });
  const saved = result.checkpointDir !== null;

  let testAccuracy: number | null = null;
  let testLoss: number | null = null;
  if (saved && imageCount(images.test) > 0 && result.status !== 'failed') {
    sendProgress({ stage: 'evaluating', phase: 'train', epoch: result.epochs.length, epochs: config.epochs, batch: 0, batches: imageCount(images.test), loss: null, accuracy: null, imagesPerSecond: null, etaSeconds: null }, true);
    const best = await loadModelFromFolder(paths.modelDir);
    try {
      const source = imageExampleSource(images.test, { augmentation: NO_AUGMENTATION, seed: config.seed, memoryCache });
      const evaluation = await evaluateModel(best, source, data.classNames.length, config.batchSize);
      testAccuracy = evaluation.accuracy;
      testLoss = evaluation.loss;
      emit({ type: 'log', level: 'info', message: `test accuracy ${(evaluation.accuracy * 100).toFixed(1)}% on ${source.size} images (epoch ${result.bestEpoch} weights)` });
    } finally {
      best.dispose();
    }
  }
  if (saved) {
    await writeRunMetadata(start, { result, preprocessing: config.preprocessing, testAccuracy, testLoss, backend, versions });
  }
  return {
    status: result.status, error: result.error ?? null, bestEpoch: saved ? result.bestEpoch : null,
    bestValAccuracy: bestValAccuracy(result), modelPath: saved ? paths.modelDir : null, testAccuracy, testLoss,
  };
}
