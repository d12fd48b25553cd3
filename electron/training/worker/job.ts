// One training run inside the worker process: backend, data, training, best model saved with its metadata, test
// evaluation. Transport-free (the entry wires `emit` and the cancel signal), so it can also run in-process.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend, type BackendRequest } from '../../tfjs/backend/select-backend';
import { decodeImages, imageExampleSource, type DecodedImages, type ImageItem } from '../data-pipeline';
import { evaluateModel, imageTrainData, train, type TrainCallbacks, type TrainResult } from '../trainer';
import { loadModelFromFolder } from '../../inference/model-folder';
import { buildModelMetadata, trainingConfigOrNull, writeModelMetadata } from '../../inference/model-format';
import { NO_AUGMENTATION, type Preprocessing } from '../../../shared/training-config';
import { logitUnits } from '../../../shared/model-validation';
import type { DoneMessage, StartMessage, WorkerImage, WorkerOutbound, WorkerProgress } from './messages';
import { runTransfer } from './transfer';

export type Emit = (message: WorkerOutbound) => void;

/** Sends batch progress as it comes, and other stages at most every `intervalMs` (plus their last value). */
export function progressSender(emit: Emit, intervalMs: number): (progress: WorkerProgress, force?: boolean) => void {
  let last = -Infinity;
  return (progress, force = false) => {
    const now = performance.now();
    if (!force && progress.stage !== 'training' && now - last < intervalMs) return;
    last = now;
    emit({ type: 'progress', progress });
  };
}

export function toImageItems(images: readonly WorkerImage[]): ImageItem[] {
  return images.map((image) => ({ key: image.key, path: image.path, label: image.label }));
}

export function trainerCallbacks(emit: Emit, sendProgress: ReturnType<typeof progressSender>): TrainCallbacks {
  return {
    onBatchEnd(p) {
      sendProgress({
        stage: 'training', phase: p.phase, epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches,
        loss: Number.isFinite(p.loss) ? p.loss : null, accuracy: p.accuracy, imagesPerSecond: p.imagesPerSecond, etaSeconds: p.runEtaSeconds,
      });
    },
    onEpochEnd(m) {
      // Non-finite values survive Electron's structured clone (not JSON): send null, which the contract expects.
      const finite = (value: number | null | undefined) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
      emit({ type: 'epoch', metrics: { ...m, loss: finite(m.loss), valLoss: finite(m.valLoss), valAccuracy: finite(m.valAccuracy), accuracy: finite(m.accuracy) } });
    },
    onLog(message) {
      emit({ type: 'log', level: 'info', message });
    },
  };
}

export function bestValAccuracy(result: TrainResult): number | null {
  if (result.bestEpoch === null) return null;
  return result.epochs.find((e) => e.epoch === result.bestEpoch)?.valAccuracy ?? null;
}

/** What a finished run knows about its saved model, beyond the start message. */
export interface SavedRunFacts {
  result: Pick<TrainResult, 'epochs' | 'bestEpoch'>;
  preprocessing: Preprocessing;
  testAccuracy: number | null;
  testLoss: number | null;
  backend: string;
  versions: Record<string, string>;
}

/**
 * Writes metadata.json into the run's model folder in the one model format (inference/model-format.ts), so the folder
 * loads like an export package. The scaling is a Rescaling layer inside every model Pawprint trains.
 */
export async function writeRunMetadata(start: StartMessage, facts: SavedRunFacts): Promise<void> {
  const { config, data } = start;
  const { result } = facts;
  const best = result.epochs.find((e) => e.epoch === result.bestEpoch) ?? null;
  const last = result.epochs.at(-1) ?? null;
  const metadata = buildModelMetadata({
    package: 'run',
    name: `run ${start.runId}`,
    classNames: data.classNames,
    imageSize: config.imageSize,
    preprocessing: facts.preprocessing,
    preprocessingInModel: facts.preprocessing !== 'none',
    output: { kind: 'logits', units: logitUnits(data.classNames.length) },
    run: {
      id: start.runId, name: null, preset: config.preset, datasetId: null, splitId: data.splitId, dataHash: data.dataHash,
      // A record only: a config the schema no longer knows must not fail a finished run.
      config: trainingConfigOrNull(config),
      metrics: {
        bestEpoch: result.bestEpoch, epochs: result.epochs.length, bestValAccuracy: best?.valAccuracy ?? null, bestValLoss: best?.valLoss ?? null,
        trainAccuracyAtBest: best?.accuracy ?? null, trainLossAtBest: finiteOrNull(best?.loss), lastValAccuracy: last?.valAccuracy ?? null,
        testAccuracy: facts.testAccuracy, testLoss: facts.testLoss,
      },
      backend: facts.backend, versions: facts.versions, createdAt: null, finishedAt: new Date().toISOString(),
    },
    versions: { ...facts.versions, app: start.appVersion, tfjs: facts.versions['tfjs-core'] ?? 'unknown' },
  });
  await writeModelMetadata(start.paths.modelDir, metadata);
}

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.message.includes('aborted'));
}

/** Runs the job and always resolves with the final message (never throws). */
export async function runTrainingJob(start: StartMessage, emit: Emit, signal: AbortSignal): Promise<DoneMessage> {
  const failed = (error: string): DoneMessage => ({
    type: 'done', status: 'failed', error, bestEpoch: null, bestValAccuracy: null, modelPath: null, testAccuracy: null, testLoss: null,
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
      backend: { name: backend.name, requested: backend.requested, fallbackReasons: backend.fallbackReasons, versions, threads: backend.threads },
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
      return { type: 'done', status: 'cancelled', error: null, bestEpoch: null, bestValAccuracy: null, modelPath: null, testAccuracy: null, testLoss: null };
    }
    return failed((error as Error).message);
  }
}

async function decodeAll(start: StartMessage, emit: Emit, signal: AbortSignal, sendProgress: ReturnType<typeof progressSender>) {
  const { height, width } = start.config.imageSize;
  const subsets = [start.data.train, start.data.val, start.data.test];
  const total = subsets.reduce((n, s) => n + s.length, 0);
  let before = 0;
  const started = performance.now();
  const decoded: DecodedImages[] = [];
  for (const subset of subsets) {
    const offset = before;
    decoded.push(await decodeImages(toImageItems(subset), {
      height, width, signal, cacheDir: join(start.paths.cacheDir, 'decoded'),
      onProgress(done) {
        const all = offset + done;
        const rate = all / Math.max(1e-3, (performance.now() - started) / 1000);
        sendProgress({
          stage: 'decoding', phase: 'train', epoch: 0, epochs: start.config.epochs, batch: all, batches: total,
          loss: null, accuracy: null, imagesPerSecond: rate, etaSeconds: (total - all) / Math.max(rate, 1e-6),
        }, all === total);
      },
    }));
    before += subset.length;
  }
  emit({ type: 'log', level: 'info', message: `decoded ${total} images at ${width}x${height}` });
  return { train: decoded[0], val: decoded[1], test: decoded[2] };
}

async function runImageTraining(
  start: StartMessage, emit: Emit, signal: AbortSignal, backend: string, versions: Record<string, string>,
): Promise<DoneMessage> {
  const { config, data, paths } = start;
  const sendProgress = progressSender(emit, start.progressIntervalMs ?? 250);
  sendProgress({ stage: 'decoding', phase: 'train', epoch: 0, epochs: config.epochs, batch: 0, batches: data.train.length + data.val.length + data.test.length, loss: null, accuracy: null, imagesPerSecond: null, etaSeconds: null }, true);
  const images = await decodeAll(start, emit, signal, sendProgress);
  const trainData = imageTrainData(config, images.train, images.val.pixels.length ? images.val : null, data.classNames, data.splitId);
  if (data.dataHash) trainData.dataHash = data.dataHash;

  // The trainer writes the best epoch's model here (model.json + weights.bin + checkpoint.json) on each improvement.
  await mkdir(paths.modelDir, { recursive: true });
  const result = await train(config, trainData, trainerCallbacks(emit, sendProgress), {
    signal, checkpointDir: paths.modelDir, progressIntervalMs: start.progressIntervalMs ?? 250, versions,
  });
  result.model?.dispose();
  const saved = result.checkpointDir !== null;

  let testAccuracy: number | null = null;
  let testLoss: number | null = null;
  if (saved && images.test.pixels.length > 0 && result.status !== 'failed') {
    sendProgress({ stage: 'evaluating', phase: 'train', epoch: result.epochs.length, epochs: config.epochs, batch: 0, batches: images.test.pixels.length, loss: null, accuracy: null, imagesPerSecond: null, etaSeconds: null }, true);
    const best = await loadModelFromFolder(paths.modelDir);
    try {
      const source = imageExampleSource(images.test, { augmentation: NO_AUGMENTATION, seed: config.seed });
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
    type: 'done', status: result.status, error: result.error ?? null, bestEpoch: saved ? result.bestEpoch : null,
    bestValAccuracy: bestValAccuracy(result), modelPath: saved ? paths.modelDir : null, testAccuracy, testLoss,
  };
}
