import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ZodError } from 'zod';
import { AppError, firstLine } from '../../shared/errors';
import type { trainingRequests, ActiveRun, ConfigValidation, EpochMetrics, PresetInfo, TrainingProgress } from '../../shared/contract/index';
import { parseTrainingConfig, presetDefaults, presetLayers, PRESET_NAMES, type PresetName, type TrainingConfig } from '../../shared/training-config';
import { planModel, validateCustomLayers, type ValidationIssue } from '../../shared/model-validation';
import { loadTrainingData, getImagePath } from '../catalogue/training-data';
import {
  addEpoch, createRun, failInterruptedRuns, finishRun, findRun, getRun, listRuns, markRunning, type RunOutcome,
} from '../catalogue/runs';
import { describeUnexpectedExit, launchTrainingWorker, type WorkerHandle } from '../jobs/worker/launcher';
import type { DoneMessage, WorkerImage, WorkerOutbound } from '../training/worker/messages';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

const PRESET_TEXT: Record<PresetName, { title: string; description: string }> = {
  cnn: { title: 'CNN', description: 'The tutorial\'s first model: three Conv2D(32) + MaxPool blocks, Dense(128), Dropout 0.2, on raw 0-255 pixels. ~60% validation accuracy on cats vs dogs.' },
  'cnn-augment': { title: 'CNN + augmentation', description: 'Random flips and rotations (±90°) during training, a 10x5 first kernel and Conv2D(64) last. 60-65% validation accuracy.' },
  'cnn-normalize': { title: 'CNN + normalisation', description: 'Pixels scaled to [-1,1] as MobileNetV2 expects, flips and ±72° rotations, Dense(256). ~70% validation accuracy.' },
  mobilenetv2: { title: 'MobileNetV2 transfer', description: 'A frozen ImageNet MobileNetV2 base with an average-pooling + Dropout 0.2 + Dense head, horizontal flips and ±72° rotations, trained on cached base features. ~97% validation accuracy in the tutorial (alpha 1.00), ~95% with the small alpha 0.35 base.' },
  custom: { title: 'Custom', description: 'Stack your own Conv2D / pooling / BatchNorm / Dropout / Dense layers; the classifier is added for you.' },
};

/** Bounded wait for workers on shutdown before they are killed. */
const SHUTDOWN_GRACE_MS = 5000;
/** A cancelled worker that does not stop by itself (stuck in a long kernel) is killed after this. */
const CANCEL_GRACE_MS = 60_000;
/** How often the end of a run the catalogue refused to record (full disk, I/O error) is written again. */
const UNRECORDED_RETRY_MS = 30_000;

interface Active {
  runId: number;
  name: string;
  preset: string;
  datasetId: number;
  worker: WorkerHandle;
  backend: string | null;
  progress: TrainingProgress | null;
  epochs: EpochMetrics[];
  cancelling: boolean;
  /** Set when the run was finished by the parent (shutdown, forced cancel) so the exit handler stays quiet. */
  settled: boolean;
  exited: Promise<void>;
  cancelTimer?: NodeJS.Timeout;
}

function zodMessages(error: ZodError): ValidationIssue[] {
  return error.issues.map((issue) => {
    const layer = issue.path[0] === 'customLayers' && typeof issue.path[1] === 'number' ? issue.path[1] + 1 : null;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return { severity: 'error' as const, layer, message: `${where}${issue.message}` };
  });
}

/** Schema and shape problems of a (partial) config, in words; the config with defaults filled in when it parsed. */
export function validateTrainingConfig(input: Record<string, unknown>, numClasses: number): ConfigValidation {
  let config: TrainingConfig | null = null;
  let issues: ValidationIssue[] = [];
  try {
    config = parseTrainingConfig(input);
  } catch (error) {
    if (error instanceof ZodError) issues = zodMessages(error);
    else issues = [{ severity: 'error', layer: null, message: (error as Error).message }];
  }
  const preset = (typeof input.preset === 'string' ? input.preset : config?.preset ?? 'cnn') as PresetName;
  const imageSize = config?.imageSize ?? presetDefaults(PRESET_NAMES.includes(preset) ? preset : 'cnn').imageSize;
  const preprocessing = config?.preprocessing ?? 'none';
  let layers: ConfigValidation['layers'] = [];
  let totalParams = 0;
  if (preset === 'custom') {
    // Per-layer messages ("Layer 3 (Conv2D): ...") replace zod's path-based ones for the layer list.
    const raw = Array.isArray(input.customLayers) ? input.customLayers : config?.customLayers ?? presetDefaults('custom').customLayers;
    const plan = validateCustomLayers(raw, { imageSize, numClasses, preprocessing });
    issues = [...issues.filter((issue) => !issue.message.startsWith('customLayers')), ...plan.issues];
    layers = plan.layers;
    totalParams = plan.totalParams;
  } else if (preset === 'cnn' || preset === 'cnn-augment' || preset === 'cnn-normalize') {
    const plan = planModel(presetLayers(preset), { imageSize, numClasses, preprocessing });
    issues = [...issues, ...plan.issues];
    layers = plan.layers;
    totalParams = plan.totalParams;
  } else if (preset === 'mobilenetv2' && config) {
    const { height, width } = config.imageSize;
    if (height !== width || height < 96 || height > 224) {
      issues.push({ severity: 'error', layer: null, message: `MobileNetV2 needs a square image size from 96 to 224 pixels; got ${width}x${height}.` });
    }
    if ((config.mobilenet.fineTuneBlocks > 0) !== (config.mobilenet.fineTuneEpochs > 0)) {
      issues.push({ severity: 'warning', layer: null, message: 'Fine-tuning needs both a number of blocks and a number of epochs; with one of them 0 the base stays frozen.' });
    }
  }
  if (numClasses < 2 && !issues.some((issue) => issue.message.includes('2 classes'))) {
    issues.push({ severity: 'error', layer: null, message: `A classifier needs at least 2 classes; this dataset has ${numClasses}.` });
  }
  return { ok: config !== null && !issues.some((issue) => issue.severity === 'error'), issues, layers, totalParams, config };
}

function toWorkerImages(examples: Array<{ imageId: number; path: string; contentHash: string; classIndex: number }>): WorkerImage[] {
  // The content hash keys augmentation, so the Augment view (which knows the image's hash) shows what training sees.
  return examples.map((e) => ({ key: e.contentHash, path: e.path, label: e.classIndex, contentHash: e.contentHash }));
}

/** Runs training workers for one AppContext and keeps the catalogue in step with them. */
export class TrainingManager {
  private readonly active = new Map<number, Active>();
  /** Every worker process still alive, including ones that reported `done` and are exiting. */
  private readonly live = new Set<Active>();
  /**
   * Runs that are over but whose end the catalogue refused to record: the outcome to write (failed, with the write
   * error as its reason), retried until a write succeeds, so the row does not stay "running" until a restart.
   */
  private readonly unrecorded = new Map<number, RunOutcome>();
  private retryTimer?: NodeJS.Timeout;
  private closing = false;
  /** Test hook: batch progress interval handed to workers. */
  progressIntervalMs = 250;

  constructor(private readonly app: AppContext) {
    const failed = failInterruptedRuns(app.db);
    if (failed.length > 0) console.warn(`Marked interrupted training runs as failed: ${failed.join(', ')}`);
    app.onClose(() => this.shutdown());
  }

  /** Process ids of running workers (tests kill them to prove crash handling). */
  workerPid(runId: number): number | undefined {
    return this.active.get(runId)?.worker.pid;
  }

  async start(payload: { datasetId: number; splitId?: number; name?: string; config: Record<string, unknown> }): Promise<number> {
    if (this.closing) throw new AppError('unavailable', 'Pawprint is shutting down.');
    this.retryUnrecorded();
    const data = loadTrainingData(this.app.db, { datasetId: payload.datasetId, splitId: payload.splitId });
    const validation = validateTrainingConfig(payload.config, data.classNames.length);
    if (!validation.ok || !validation.config) {
      const errors = validation.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.message);
      throw new AppError('invalid-payload', `The training config has problems: ${errors.join(' ')}`);
    }
    const config = validation.config;
    const name = payload.name ?? `${config.preset} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`;
    const runId = createRun(this.app.db, {
      datasetId: data.datasetId, splitId: data.splitId, name, config, classNames: data.classNames, dataHash: data.dataHash,
    });
    // Run ids can be reused after the newest run is deleted; a leftover folder of that id is not this run's.
    const modelDir = join(this.app.paths.models, `run-${runId}`);
    await rm(modelDir, { recursive: true, force: true });
    let worker: WorkerHandle;
    try {
      worker = await launchTrainingWorker();
    } catch (error) {
      this.finish(runId, { status: 'failed', error: `cannot start the training process: ${(error as Error).message}` });
      throw new AppError('failed', `Cannot start the training process: ${(error as Error).message}`);
    }
    let resolveExited!: () => void;
    const entry: Active = {
      runId, name, preset: config.preset, datasetId: data.datasetId, worker, backend: null, progress: null, epochs: [],
      cancelling: false, settled: false, exited: new Promise<void>((resolve) => (resolveExited = resolve)),
    };
    this.active.set(runId, entry);
    this.live.add(entry);
    worker.onMessage((message) => this.onWorkerMessage(entry, message));
    worker.onExit((exit) => {
      clearTimeout(entry.cancelTimer);
      this.active.delete(runId);
      this.live.delete(entry);
      if (!entry.settled) {
        entry.settled = true;
        this.finish(runId, { status: 'failed', error: describeUnexpectedExit(exit) });
      }
      resolveExited();
    });
    worker.send({
      type: 'start', runId, config, appVersion: this.app.appVersion, progressIntervalMs: this.progressIntervalMs,
      data: {
        classNames: data.classNames, splitId: data.splitId, dataHash: data.dataHash,
        train: toWorkerImages(data.train), val: toWorkerImages(data.val), test: toWorkerImages(data.test),
      },
      paths: { modelDir, cacheDir: this.app.paths.cache },
    });
    this.app.events.emit('training.started', { runId, name, preset: config.preset, datasetId: data.datasetId, backend: null });
    return runId;
  }

  cancel(runId: number): void {
    const entry = this.active.get(runId);
    if (!entry) {
      const pending = this.unrecorded.get(runId);
      if (pending) {
        // Its training is over; what is left is writing that down, so try now.
        if (this.recordUnrecorded(runId, pending)) return;
        throw new AppError('failed', `Run ${runId} has ended, but that could not be written to the catalogue (${pending.error ?? 'unknown error'}); free some disk space and try again.`);
      }
      const run = findRun(this.app.db, runId);
      if (!run) throw new AppError('not-found', `Run ${runId} does not exist.`);
      throw new AppError('conflict', `Run ${runId} is not training (it is ${run.status}).`);
    }
    if (entry.cancelling) return;
    entry.cancelling = true;
    entry.worker.send({ type: 'cancel' });
    // Cancellation is checked between batches; a worker that never gets there is stopped by force.
    entry.cancelTimer = setTimeout(() => {
      if (entry.settled) return;
      this.settle(entry, { status: 'cancelled', error: 'the training process did not stop in time and was ended' });
      entry.worker.kill();
    }, CANCEL_GRACE_MS);
    entry.cancelTimer.unref();
  }

  list(): ActiveRun[] {
    this.retryUnrecorded();
    return [...this.active.values()].map((entry) => ({
      runId: entry.runId, name: entry.name, preset: entry.preset, datasetId: entry.datasetId, backend: entry.backend,
      progress: entry.progress, epochs: entry.epochs, cancelling: entry.cancelling,
    }));
  }

  private onWorkerMessage(entry: Active, message: WorkerOutbound): void {
    if (entry.settled) return;
    // Whatever a worker sends must never take the host process down: a message we cannot record fails its run.
    try {
      this.handleWorkerMessage(entry, message);
    } catch (error) {
      if (!entry.settled) {
        this.settle(entry, { status: 'failed', error: `could not record the training process's ${message.type} report: ${(error as Error).message}` });
        entry.worker.kill();
      }
    }
  }

  private handleWorkerMessage(entry: Active, message: WorkerOutbound): void {
    const { runId } = entry;
    switch (message.type) {
      case 'backend': {
        entry.backend = message.backend.name;
        markRunning(this.app.db, runId, message.backend.name, message.backend.versions);
        this.app.backend = {
          active: message.backend.name, requested: message.backend.requested,
          fallbackReasons: message.backend.fallbackReasons, versions: message.backend.versions,
        };
        this.app.events.emit('system.backendChanged', this.app.backend);
        this.app.events.emit('training.started', { runId, name: entry.name, preset: entry.preset, datasetId: entry.datasetId, backend: entry.backend });
        return;
      }
      case 'progress':
        entry.progress = { runId, ...message.progress };
        this.app.events.emit('training.progress', entry.progress);
        return;
      case 'epoch':
        entry.epochs.push(message.metrics);
        addEpoch(this.app.db, runId, message.metrics);
        this.app.events.emit('training.epoch', { runId, ...message.metrics });
        return;
      case 'log':
        this.app.events.emit('training.log', { runId, level: message.level, message: message.message });
        return;
      case 'error':
        this.app.events.emit('training.log', { runId, level: 'warn', message: message.message });
        this.settle(entry, { status: 'failed', error: message.message });
        return;
      case 'done':
        this.settle(entry, this.outcomeOf(message));
        return;
    }
  }

  /** The run's outcome is known: it leaves the active list now (the process exits by itself shortly after). */
  private settle(entry: Active, outcome: RunOutcome): void {
    entry.settled = true;
    clearTimeout(entry.cancelTimer);
    this.active.delete(entry.runId);
    this.finish(entry.runId, outcome);
  }

  private outcomeOf(done: DoneMessage): RunOutcome {
    return {
      status: done.status, error: done.error, bestEpoch: done.bestEpoch, bestValAccuracy: done.bestValAccuracy,
      testAccuracy: done.testAccuracy, testLoss: done.testLoss, modelPath: done.modelPath,
    };
  }

  /**
   * Records how a run ended and announces it. This never throws: when the catalogue refuses the write, the run ends
   * failed with the write error as its reason (the event says so at once, so the CLI and the UI stop waiting) and the
   * row is brought in line by the first later write that succeeds.
   */
  private finish(runId: number, outcome: RunOutcome): void {
    let announced = outcome;
    try {
      if (!finishRun(this.app.db, runId, outcome)) return;
    } catch (error) {
      const had = outcome.status === 'completed' ? '' : `; the run had ${outcome.status === 'cancelled' ? 'been cancelled' : 'failed'}${outcome.error ? `: ${outcome.error}` : ''}`;
      announced = { ...outcome, status: 'failed', error: `could not record the run's end in the catalogue: ${firstLine(error)}${had}` };
      try {
        if (!finishRun(this.app.db, runId, announced)) return;
      } catch {
        this.unrecorded.set(runId, announced);
        this.scheduleRetry();
      }
    }
    this.app.events.emit('training.finished', {
      runId, status: announced.status, error: announced.error ?? null, bestEpoch: announced.bestEpoch ?? null,
      bestValAccuracy: announced.bestValAccuracy ?? null, testAccuracy: announced.testAccuracy ?? null, testLoss: announced.testLoss ?? null,
      modelPath: announced.modelPath ?? null,
    });
  }

  /** Writes one unrecorded end; true when the catalogue took it (or the row no longer needs it). */
  private recordUnrecorded(runId: number, outcome: RunOutcome): boolean {
    try {
      finishRun(this.app.db, runId, outcome);
    } catch {
      return false;
    }
    this.unrecorded.delete(runId);
    if (this.unrecorded.size === 0) this.stopRetry();
    this.app.events.emit('runs.changed', { runId, deleted: false });
    return true;
  }

  private retryUnrecorded(): void {
    for (const [runId, outcome] of [...this.unrecorded]) this.recordUnrecorded(runId, outcome);
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closing) return;
    this.retryTimer = setInterval(() => this.retryUnrecorded(), UNRECORDED_RETRY_MS);
    this.retryTimer.unref();
  }

  private stopRetry(): void {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** App close: ask every worker to stop, wait a bounded time, then kill what is left; runs end as cancelled. */
  async shutdown(): Promise<void> {
    this.closing = true;
    this.stopRetry();
    const entries = [...this.live];
    if (entries.length === 0) {
      this.retryUnrecorded();
      return;
    }
    for (const entry of entries) {
      if (entry.settled) continue;
      entry.cancelling = true;
      entry.worker.send({ type: 'cancel' });
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(entries.map((entry) => entry.exited)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
    ]);
    clearTimeout(timer);
    for (const entry of entries) {
      if (!entry.settled) this.settle(entry, { status: 'cancelled', error: 'stopped because the app was closed' });
      entry.worker.kill();
    }
    // A last try; what is still refused is marked failed by the next start (failInterruptedRuns).
    this.retryUnrecorded();
  }
}

const managers = new WeakMap<AppContext, TrainingManager>();

/** The training manager of an app context (tests use it to reach worker pids). */
export function trainingManager(app: AppContext): TrainingManager {
  let manager = managers.get(app);
  if (!manager) {
    manager = new TrainingManager(app);
    managers.set(app, manager);
  }
  return manager;
}

// Handlers for the training domain of the contract.
export function trainingHandlers(app: AppContext): DomainHandlers<typeof trainingRequests> {
  const manager = trainingManager(app);
  const presetCache = new Map<number, PresetInfo[]>();
  return {
    'training.presets': async ({ numClasses }) => {
      let presets = presetCache.get(numClasses);
      if (!presets) {
        const { describePreset } = await import('../training/worker/describe');
        presets = PRESET_NAMES.map((name) => {
          const defaults = presetDefaults(name);
          return { name, ...PRESET_TEXT[name], defaults, model: describePreset(defaults, numClasses) };
        });
        presetCache.set(numClasses, presets);
      }
      return { presets };
    },
    'training.validateConfig': async ({ config, numClasses }) => validateTrainingConfig(config, numClasses),
    'training.start': async (payload) => ({ runId: await manager.start(payload) }),
    'training.cancel': async ({ runId }) => {
      manager.cancel(runId);
      return null;
    },
    'training.active': async () => ({ runs: manager.list() }),
    'augment.preview': async ({ imageId, options, size, seed, count }) => {
      const image = getImagePath(app.db, imageId);
      if (!image) throw new AppError('not-found', `Image ${imageId} does not exist or could not be read.`);
      // Loaded on first use: the main process only needs sharp and the augmentation code for previews.
      const { augmentPreview } = await import('../training/data-pipeline');
      let preview;
      try {
        preview = await augmentPreview({ key: image.contentHash, path: image.path }, size, size, options, seed, count, {
          cacheDir: join(app.paths.cache, 'decoded'),
        });
      } catch (error) {
        throw new AppError('failed', `Cannot preview ${image.path}: ${(error as Error).message}`);
      }
      const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;
      return {
        imageId,
        original: { dataUrl: dataUrl(preview.original), params: null },
        variants: preview.variants.map((png, k) => ({ dataUrl: dataUrl(png), params: preview.params[k] ?? null })),
      };
    },
    'runs.list': async ({ datasetId, status, limit }) => ({ runs: listRuns(app.db, { datasetId, status, limit }) }),
    'runs.get': async ({ runId }) => getRun(app.db, runId),
  };
}
