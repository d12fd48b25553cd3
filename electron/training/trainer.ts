// Training as a plain function of (config, data, callbacks, options): no UI, no IPC, no SQL. The worker process
// wires callbacks to progress messages and an AbortSignal to the "cancel" message.
//
// A custom loop (optimizer.minimize per batch) rather than model.fit: it gives per-batch loss for the NaN guard
// and progress, class weights on a logits loss without compile(), and the model stays uncompiled (exports carry
// no training config). Cancellation is checked before each batch, so a cancel stops after the current batch;
// setting model.stopTraining = true (tfjs's own flag) has the same effect.
import { tf, type LayersModel, type Tensor } from '../tfjs/tf';
import { seedDropout } from './seeded-dropout';
import { buildPresetModel, describeModel, type ModelDescription } from './presets';
import {
  balancedClassWeights, batchPlan, imageExampleSource, labelTensor, prepareWithReadAhead, sha256,
  type DecodeCache, type ExampleSource, type ImageSet,
} from './data-pipeline';
import { saveModelToFolder } from '../inference/model-folder';
import { DataParallelTrainer } from './parallel/data-parallel';
import { crossBatchLayer } from './parallel/shard-step';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  trainingConfigSchema, type MonitorName, type RunRecord, type TrainingConfig,
} from '../../shared/training-config';

export type TrainPhase = 'train' | 'fine-tune';
export type TrainStatus = 'completed' | 'cancelled' | 'failed';

export interface TrainData {
  train: ExampleSource;
  val?: ExampleSource | null;
  /** Index = label. Two names train a single-logit sigmoid model; more train softmax. */
  classNames: string[];
  splitId?: number | string | null;
  dataHash?: string | null;
}

/** Throttled: sent at most every progressIntervalMs and on each epoch's last batch. Values only, no history. */
export interface BatchProgress {
  phase: TrainPhase;
  /** 1-based, counting from options.initialEpoch. */
  epoch: number;
  epochs: number;
  /** 1-based batch within the epoch. */
  batch: number;
  batches: number;
  /** Running means over the epoch so far (as Keras's progress bar shows). */
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  /** Seconds left in this epoch's training batches. */
  epochEtaSeconds: number;
  /** Seconds left in the whole run, including validation, estimated from the speed so far. */
  runEtaSeconds: number;
}

export interface EpochMetrics {
  phase: TrainPhase;
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  durationMs: number;
}

export interface TrainBeginInfo {
  run: RunRecord;
  model: ModelDescription;
  epochs: number;
  batchesPerEpoch: number;
  monitor: MonitorName;
}

export interface TrainCallbacks {
  onTrainBegin?(info: TrainBeginInfo): void;
  onBatchEnd?(progress: BatchProgress): void;
  onEpochEnd?(metrics: EpochMetrics): void;
  /** After the best-epoch checkpoint was written. */
  onCheckpoint?(info: { epoch: number; dir: string }): void;
  onLog?(message: string): void;
}

export interface TrainOptions {
  signal?: AbortSignal;
  /** Folder for the best epoch's model (model.json, weights.bin, checkpoint.json); overwritten on improvement. */
  checkpointDir?: string;
  progressIntervalMs?: number;
  /** A prebuilt, uncompiled model producing logits (e.g. MobileNetV2). Without it the preset is built here. */
  model?: LayersModel;
  phase?: TrainPhase;
  /** Epochs already done (fine-tuning continues the numbering and the seeds). */
  initialEpoch?: number;
  /** Extra versions to record (app version, ...). */
  versions?: Record<string, string>;
  /**
   * A batch loss above this counts as divergence and fails the run like NaN does (default DIVERGED_LOSS).
   * Cross-entropy that large means logits in the millions: the weights have blown up without overflowing yet.
   */
  maxLoss?: number;
  /** Clock, for tests. */
  now?: () => number;
  /**
   * Cores the run may use (the job runtime's TaskSettings.threads). Above 1, on the WebAssembly backend, with a
   * preset model built here, each batch is split across that many threads (parallel/data-parallel.ts); otherwise,
   * or when a thread cannot start, training runs on this thread and the log says why.
   */
  threads?: number;
}

/** Default TrainOptions.maxLoss: orders of magnitude above the first-batch loss of any preset, even on raw pixels. */
export const DIVERGED_LOSS = 1e7;

export interface TrainResult {
  status: TrainStatus;
  epochs: EpochMetrics[];
  /** Epoch number (1-based) with the best monitored value, or null if no epoch finished. */
  bestEpoch: number | null;
  monitor: MonitorName;
  bestValue: number | null;
  stoppedEarly: boolean;
  /** The trained model (best weights restored when early stopping asks for it). Caller disposes it. */
  model?: LayersModel;
  checkpointDir: string | null;
  error?: string;
  run: RunRecord;
}

/**
 * Builds TrainData from images (in memory or streamed from the decode cache, then read per batch through
 * `memoryCache`): augmentation on the training split only, rescaling left to the model.
 */
export function imageTrainData(
  config: TrainingConfig, train: ImageSet, val: ImageSet | null, classNames: string[],
  splitId: number | string | null = null, memoryCache?: DecodeCache,
): TrainData {
  const source = (images: ImageSet) => imageExampleSource(images, { augmentation: config.augmentation, seed: config.seed, memoryCache });
  return {
    train: source(train),
    val: val ? source(val) : null,
    classNames,
    splitId,
    dataHash: sha256(`${train.dataHash}\n${val?.dataHash ?? ''}`),
  };
}

/** Per-example cross-entropy on logits: sigmoid for one logit, softmax for K. Shape [b]. */
export function perExampleLoss(logits: Tensor, labels: Tensor): Tensor {
  if (logits.shape[1] === 1) {
    return tf.losses.sigmoidCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE).reshape([-1]);
  }
  return tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0, tf.Reduction.NONE);
}

/** Number of correct predictions in a batch, as a scalar tensor. */
export function countCorrect(logits: Tensor, labels: Tensor): Tensor {
  return tf.tidy(() => {
    if (logits.shape[1] === 1) return tf.equal(tf.greater(logits, 0), tf.greater(labels, 0.5)).sum();
    return tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)).sum();
  });
}

/** Mean loss and accuracy over a source (no augmentation, dropout off). For validation and test sets. */
export async function evaluateModel(
  model: LayersModel, source: ExampleSource, numClasses: number, batchSize: number, epoch = 0, signal?: AbortSignal,
): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  const plan = batchPlan(source.size, batchSize, 0, 0, false);
  for (let b = 0; b < plan.length; b++) {
    const indices = plan[b];
    // A cancel during a long validation pass should not wait for its end.
    signal?.throwIfAborted();
    await prepareWithReadAhead(source, plan, b, { epoch, training: false });
    const [l, c] = tf.tidy(() => {
      const xs = source.inputs(indices, { epoch, training: false });
      const ys = labelTensor(source.labels, indices, numClasses);
      const logits = model.apply(xs, { training: false }) as Tensor;
      return [perExampleLoss(logits, ys).sum(), countCorrect(logits, ys)];
    });
    lossSum += (await l.data())[0];
    correct += (await c.data())[0];
    l.dispose();
    c.dispose();
  }
  return { loss: lossSum / Math.max(1, source.size), accuracy: correct / Math.max(1, source.size) };
}

function makeOptimizer(config: TrainingConfig): import('@tensorflow/tfjs').Optimizer {
  switch (config.optimizer) {
    case 'adam':
      return tf.train.adam(config.learningRate);
    case 'sgd':
      return tf.train.sgd(config.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(config.learningRate);
  }
}

/** Versions recorded with every run. */
export function runtimeVersions(extra: Record<string, string> = {}): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const [k, v] of Object.entries(tf.version)) if (typeof v === 'string') versions[k] = v;
  versions.node = process.versions.node;
  if (process.versions.electron) versions.electron = process.versions.electron;
  return { ...versions, ...extra };
}

/** Falls back from val_* to the training metric when there is no validation data. */
function resolveMonitor(monitor: MonitorName, hasVal: boolean): MonitorName {
  if (hasVal) return monitor;
  return monitor === 'val_loss' ? 'loss' : monitor === 'val_accuracy' ? 'accuracy' : monitor;
}

function monitoredValue(m: EpochMetrics, monitor: MonitorName): number | null {
  switch (monitor) {
    case 'loss': return m.loss;
    case 'accuracy': return m.accuracy;
    case 'val_loss': return m.valLoss;
    case 'val_accuracy': return m.valAccuracy;
  }
}

// An uncompiled Sequential throws on any access to stopTraining (it lives on its inner model), so both are guarded.
function stopTrainingRequested(model: LayersModel): boolean {
  try {
    return model.stopTraining === true;
  } catch {
    return false;
  }
}

function setStopTraining(model: LayersModel, value: boolean): void {
  try {
    model.stopTraining = value;
  } catch {
    // Uncompiled Sequential: there is no flag to reset.
  }
}

/** Why a batch loss ends the run (NaN, infinite, or diverged), or null when it is usable. */
function lossFailure(loss: number, maxLoss: number, epoch: number, batch: number, learningRate: number): string | null {
  if (Number.isFinite(loss) && loss <= maxLoss) return null;
  const what = Number.isFinite(loss) ? `loss exploded to ${loss.toExponential(2)} (training diverged)` : `loss became ${loss}`;
  return `${what} at epoch ${epoch} batch ${batch}; try a lower learning rate (now ${learningRate}), ` +
    `input scaling (preprocessing [0,1]), or check the images for unusual content`;
}

/**
 * The data-parallel trainer when options.threads asks for more than one thread and the run allows it; null (with
 * the reason in the log) otherwise. A thread that cannot start means one-thread training, not a failed run.
 */
async function startParallel(
  config: TrainingConfig, numClasses: number, model: LayersModel, options: TrainOptions, callbacks: TrainCallbacks,
): Promise<DataParallelTrainer | null> {
  const threads = Math.floor(options.threads ?? 1);
  if (!(threads > 1)) return null;
  const crossBatch = crossBatchLayer(model);
  const why = tf.getBackend() !== 'wasm' ? `the ${tf.getBackend()} backend computes a step itself (threads are for WebAssembly)`
    : options.model ? 'the model was built outside the trainer (the threads build preset models only)'
      : crossBatch ? `${crossBatch} normalises over the whole batch, which a split batch would change`
        : config.batchSize < 2 ? 'a batch of 1 cannot be split'
          : null;
  if (why) {
    callbacks.onLog?.(`Training on one thread: ${why}.`);
    return null;
  }
  try {
    const parallel = await DataParallelTrainer.start({ config, numClasses, model, threads });
    callbacks.onLog?.(`Training on ${parallel.shards} threads: each batch is split across them and their gradients summed.`);
    return parallel;
  } catch (err) {
    callbacks.onLog?.(`Training on one thread: a training thread could not start (${(err as Error).message}).`);
    return null;
  }
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains and returns how it ended; never throws for training problems (they become status 'failed' with a
 * message). The caller owns the returned model and any model passed in options.
 */
export async function train(
  configInput: TrainingConfig, data: TrainData, callbacks: TrainCallbacks = {}, options: TrainOptions = {},
): Promise<TrainResult> {
  const parsed = trainingConfigSchema.safeParse(configInput);
  const config = parsed.success ? parsed.data : configInput;
  const now = options.now ?? (() => performance.now());
  const phase = options.phase ?? 'train';
  const initialEpoch = options.initialEpoch ?? 0;
  const numClasses = data.classNames.length;
  const hasVal = !!data.val && data.val.size > 0;
  const monitor = resolveMonitor(config.earlyStopping.monitor, hasVal);
  const maximize = monitor.endsWith('accuracy');
  const run: RunRecord = {
    config,
    splitId: data.splitId ?? null,
    dataHash: data.dataHash ?? null,
    classNames: [...data.classNames],
    trainCount: data.train.size,
    valCount: data.val?.size ?? 0,
    backend: tf.getBackend(),
    versions: runtimeVersions(options.versions),
    startedAt: new Date().toISOString(),
  };
  const epochs: EpochMetrics[] = [];
  const result = (status: TrainStatus, extra: Partial<TrainResult> = {}): TrainResult => ({
    status, epochs, bestEpoch, monitor, bestValue, stoppedEarly, checkpointDir: checkpointWritten ? options.checkpointDir ?? null : null, run, ...extra,
  });
  let bestEpoch: number | null = null;
  let bestValue: number | null = null;
  let stoppedEarly = false;
  let checkpointWritten = false;
  let bestWeights: Tensor[] | null = null;
  const restoreBest = config.earlyStopping.enabled && config.earlyStopping.restoreBest;

  if (!parsed.success) return result('failed', { error: `invalid training config: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')}` });
  if (numClasses < 2) return result('failed', { error: `training needs at least 2 classes, got ${numClasses}` });
  if (data.train.size === 0) return result('failed', { error: 'the training split has no images' });

  let model: LayersModel;
  try {
    model = options.model ?? buildPresetModel(config, numClasses);
  } catch (err) {
    return result('failed', { error: (err as Error).message });
  }
  const ownsModel = !options.model;
  const parallel = await startParallel(config, numClasses, model, options, callbacks);
  // Dropout masks from the run seed too, so a seed reproduces the whole run (see seeded-dropout.ts); the parallel
  // trainer seeds them itself, with the same masks.
  const unseedDropout = parallel ? () => parallel.dispose() : seedDropout(model, config.seed);
  const optimizer = makeOptimizer(config);
  const variables = model.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable);
  const classWeights = config.classWeights === 'balanced' ? balancedClassWeights(data.train.labels, numClasses) : null;
  const batchSize = config.batchSize;
  const batchesPerEpoch = Math.ceil(data.train.size / batchSize);
  const intervalMs = options.progressIntervalMs ?? 250;
  const maxLoss = options.maxLoss ?? DIVERGED_LOSS;
  setStopTraining(model, false);

  callbacks.onTrainBegin?.({ run, model: describeModel(model), epochs: config.epochs, batchesPerEpoch, monitor });

  const finish = (status: TrainStatus, error?: string): TrainResult => {
    unseedDropout();
    if (bestWeights && restoreBest) model.setWeights(bestWeights);
    const usable = status !== 'failed' || (restoreBest && bestWeights !== null);
    bestWeights?.forEach((t) => t.dispose());
    optimizer.dispose();
    if (!usable && ownsModel) model.dispose();
    return result(status, { model: usable ? model : undefined, ...(error ? { error } : {}) });
  };

  // Time per training batch and per validation pass, for the run ETA.
  let trainMsTotal = 0;
  let trainBatchesTotal = 0;
  let valMsLast = 0;
  try {
    for (let e = 0; e < config.epochs; e++) {
      const epochIndex = initialEpoch + e; // 0-based, seeds shuffle and augmentation
      const epochNumber = epochIndex + 1;
      const epochStart = now();
      const plan = batchPlan(data.train.size, batchSize, config.seed, epochIndex, true);
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;
      let lastEmit = -Infinity;
      for (let b = 0; b < plan.length; b++) {
        await nextTick(); // lets a cancel message reach us between batches
        if (options.signal?.aborted || stopTrainingRequested(model)) return finish('cancelled');
        const indices = plan[b];
        const batchStart = now();
        // Streamed images: this batch's pixels from disk (read ahead while the last step ran), the next ones started.
        await prepareWithReadAhead(data.train, plan, b, { epoch: epochIndex, training: true });
        if (options.signal?.aborted) return finish('cancelled');
        if (parallel) {
          const step = await parallel.step({
            size: indices.length,
            inputs: (start, end) => data.train.inputs(indices.subarray(start, end), { epoch: epochIndex, training: true }),
            labels: (start, end) => labelTensor(data.train.labels, indices.subarray(start, end), numClasses),
            sampleWeights: classWeights
              ? (start, end) => tf.tensor1d(Array.from(indices.subarray(start, end), (i) => classWeights[data.train.labels[i]]))
              : null,
          }, optimizer);
          const failure = lossFailure(step.loss, maxLoss, epochNumber, b + 1, config.learningRate);
          if (failure) return finish('failed', failure);
          lossSum += step.loss * indices.length;
          correctSum += step.correct;
          seen += indices.length;
        } else {
          const xs = data.train.inputs(indices, { epoch: epochIndex, training: true });
          const ys = labelTensor(data.train.labels, indices, numClasses);
          const sw = classWeights ? tf.tensor1d(Array.from(indices, (i) => classWeights[data.train.labels[i]])) : null;
          let correctT: Tensor | null = null;
          let lossT: Tensor | null = null;
          try {
            lossT = optimizer.minimize(() => {
              const logits = model.apply(xs, { training: true }) as Tensor;
              correctT = tf.keep(countCorrect(logits, ys));
              const perExample = perExampleLoss(logits, ys);
              return (sw ? perExample.mul(sw) : perExample).mean() as import('@tensorflow/tfjs').Scalar;
            }, true, variables);
            const loss = (await lossT!.data())[0];
            const correct = (await (correctT as Tensor | null)!.data())[0];
            const failure = lossFailure(loss, maxLoss, epochNumber, b + 1, config.learningRate);
            if (failure) return finish('failed', failure);
            lossSum += loss * indices.length;
            correctSum += correct;
            seen += indices.length;
          } finally {
            xs.dispose();
            ys.dispose();
            sw?.dispose();
            lossT?.dispose();
            (correctT as Tensor | null)?.dispose();
          }
        }
        const t = now();
        trainMsTotal += t - batchStart;
        trainBatchesTotal++;
        const last = b === plan.length - 1;
        if (callbacks.onBatchEnd && (last || t - lastEmit >= intervalMs)) {
          lastEmit = t;
          const msPerBatch = trainMsTotal / trainBatchesTotal;
          const batchesLeftEpoch = plan.length - b - 1;
          const epochsLeft = config.epochs - e - 1;
          callbacks.onBatchEnd({
            phase, epoch: epochNumber, epochs: initialEpoch + config.epochs, batch: b + 1, batches: plan.length,
            loss: lossSum / seen, accuracy: correctSum / seen,
            imagesPerSecond: seen / Math.max(1e-3, (t - epochStart) / 1000),
            epochEtaSeconds: (batchesLeftEpoch * msPerBatch) / 1000,
            runEtaSeconds: ((batchesLeftEpoch + epochsLeft * plan.length) * msPerBatch + (epochsLeft + (hasVal ? 1 : 0)) * valMsLast) / 1000,
          });
        }
      }

      let valLoss: number | null = null;
      let valAccuracy: number | null = null;
      if (hasVal) {
        const valStart = now();
        const v = await evaluateModel(model, data.val!, numClasses, batchSize, epochIndex, options.signal);
        valMsLast = now() - valStart;
        valLoss = v.loss;
        valAccuracy = v.accuracy;
      }
      const metrics: EpochMetrics = {
        phase, epoch: epochNumber, loss: lossSum / seen, accuracy: correctSum / seen, valLoss, valAccuracy,
        durationMs: now() - epochStart,
      };
      epochs.push(metrics);
      callbacks.onEpochEnd?.(metrics);

      const value = monitoredValue(metrics, monitor);
      const minDelta = config.earlyStopping.minDelta;
      const improved = value !== null && Number.isFinite(value) &&
        (bestValue === null || (maximize ? value > bestValue + minDelta : value < bestValue - minDelta));
      if (improved) {
        bestValue = value;
        bestEpoch = epochNumber;
        if (restoreBest) {
          bestWeights?.forEach((t) => t.dispose());
          bestWeights = model.getWeights().map((w) => w.clone());
        }
        if (options.checkpointDir) {
          try {
            await saveModelToFolder(model, options.checkpointDir);
            await writeFile(join(options.checkpointDir, 'checkpoint.json'), JSON.stringify({ epoch: epochNumber, monitor, value, metrics, run }, null, 2));
          } catch (err) {
            return finish('failed', `cannot write the checkpoint to ${options.checkpointDir}: ${(err as Error).message}`);
          }
          checkpointWritten = true;
          callbacks.onCheckpoint?.({ epoch: epochNumber, dir: options.checkpointDir });
        }
      } else if (config.earlyStopping.enabled && bestEpoch !== null && epochNumber - bestEpoch >= config.earlyStopping.patience) {
        // Keras: stop once `patience` epochs in a row failed to improve (patience 0 behaves like 1).
        stoppedEarly = true;
        callbacks.onLog?.(`early stopping at epoch ${epochNumber}: ${monitor} has not improved since epoch ${bestEpoch}`);
        break;
      }
    }
  } catch (err) {
    if (options.signal?.aborted) return finish('cancelled');
    return finish('failed', (err as Error).message);
  }
  return finish('completed');
}
