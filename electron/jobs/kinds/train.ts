// The train job: one training run in its own job worker process (the `train` task, electron/training/worker/task.ts),
// lane cpu, so at most one run trains at a time on this machine and the next waits in the queue with its position
// (issue 12 §2.4). The run row is created queued when the job is; the worker starts only when the job is admitted.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, firstLine } from '../../../shared/errors';
import type { JobResult } from '../../../shared/contract/jobs';
import type { TaskProgress } from '../../../shared/worker-task';
import { validateTrainingConfig } from '../../../shared/model-validation';
import type { TrainingConfig } from '../../../shared/training-config';
import type { Database } from '../../catalogue/database';
import { loadTrainingData, type TrainingData } from '../../catalogue/training-data';
import { addEpoch, createRun, finishRun, markRunning, type RunOutcome } from '../../catalogue/runs';
import { updateRun } from '../../catalogue/run-admin';
import { getDatasetRow } from '../../catalogue/datasets';
import { DEFAULT_SPLIT, DEFAULT_SPLIT_NAME, latestSplitId } from '../../catalogue/splits';
import { createSplit } from '../../dataset/split';
import { bundledBaseVersions } from '../../training/mobilenet/bundled-base';
import { TaskCancelled } from '../worker/runner';
import type { TrainRunProgress, TrainTaskEvent, TrainTaskResult, WorkerImage } from '../../training/worker/task-types';
import type { EventSink, JobContext, JobKindSpec } from '../kind';
import { JobFailure } from '../job-failure';
import { RunLogWriter } from './run-log';

/** A cancelled run whose worker does not stop by itself (stuck in a long kernel) is killed after this. */
export const CANCEL_GRACE_MS = 60_000;
/** How often the end of a run the catalogue refused to record (full disk, I/O error) is written again. */
const UNRECORDED_RETRY_MS = 30_000;
const CLOSED_MESSAGE = 'stopped because the app was closed';
const NOT_IN_TIME_MESSAGE = 'the training process did not stop in time and was ended';

export interface TrainState {
  runId: number;
  name: string;
  preset: string;
  datasetId: number;
  splitId: number;
  config: TrainingConfig;
  classNames: string[];
  dataHash: string;
  /** Set when prepare() made the dataset's default split for this run: the job log says so when the run starts. */
  madeSplit?: string;
}

interface Active {
  runId: number;
  name: string;
  preset: string;
  datasetId: number;
  backend: string | null;
  /** Recorded with the worker's versions: the base a run trains on, by name (never a path), when the host knows it. */
  baseVersions: Record<string, string>;
  /** What was recorded and announced once the outcome is known (reported, forced or closed); later reports stay quiet. */
  announced: RunOutcome | null;
  /** Ends run() with what was announced, without waiting for the worker (ending the job stops it). */
  stop(): void;
  /** A line for the live log (jobs.log) and the run's stored log. */
  log(level: 'info' | 'warn', message: string): void;
}

function toWorkerImages(examples: TrainingData['train']): WorkerImage[] {
  // The content hash keys augmentation, so the Augment view (which knows the image's hash) shows what training sees.
  return examples.map((e) => ({ key: e.contentHash, path: e.path, label: e.classIndex, contentHash: e.contentHash }));
}

const finiteOrNull = (value: number | null | undefined) => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** The worker's batch report as the one job progress shape (detail.train carries what the live panel shows). */
function trainJobProgress(runId: number, progress: TrainRunProgress): TaskProgress {
  const eta = finiteOrNull(progress.etaSeconds);
  return {
    phase: progress.stage,
    done: Math.max(0, progress.batch),
    total: progress.batches > 0 ? progress.batches : null,
    etaSeconds: eta === null ? null : Math.max(0, eta),
    message: null,
    detail: {
      type: 'train', runId, stage: progress.stage, phase: progress.phase, epoch: progress.epoch, epochs: progress.epochs,
      batch: progress.batch, batches: progress.batches, loss: finiteOrNull(progress.loss), accuracy: finiteOrNull(progress.accuracy),
      imagesPerSecond: finiteOrNull(progress.imagesPerSecond),
    },
  };
}

function resultOf(runId: number, outcome: RunOutcome): JobResult<'train'> {
  return {
    runId, status: outcome.status, bestEpoch: outcome.bestEpoch ?? null, bestValAccuracy: finiteOrNull(outcome.bestValAccuracy),
    testAccuracy: finiteOrNull(outcome.testAccuracy), testLoss: finiteOrNull(outcome.testLoss), modelPath: outcome.modelPath ?? null,
  };
}

function outcomeOf(done: TrainTaskResult): RunOutcome {
  return {
    status: done.status, error: done.error, bestEpoch: done.bestEpoch, bestValAccuracy: done.bestValAccuracy,
    testAccuracy: done.testAccuracy, testLoss: done.testLoss, modelPath: done.modelPath,
  };
}

/**
 * How the run ended when its task did not answer normally: a cancel the worker answered (its saved epochs and model
 * kept), a cancel it did not answer in time (the runtime killed it after the grace), or a failure in words (a worker
 * that died says how, describeWorkerExit).
 */
function outcomeOfError(error: unknown, cancelRequested: boolean): RunOutcome {
  if (error instanceof TaskCancelled && isTrainResult(error.result)) return { ...outcomeOf(error.result), status: 'cancelled', error: null };
  if (error instanceof AppError && error.code === 'cancelled') return { status: 'cancelled', error: null };
  if (cancelRequested) return { status: 'cancelled', error: NOT_IN_TIME_MESSAGE };
  return { status: 'failed', error: firstLine(error) };
}

function isTrainResult(value: unknown): value is TrainTaskResult {
  return typeof value === 'object' && value !== null && typeof (value as { status?: unknown }).status === 'string';
}

/**
 * The train kind of one app: the spec the runtime runs, plus the ends the catalogue refused to record (written again
 * until a write succeeds) and what app close must record.
 */
export class TrainingJobs {
  private readonly active = new Map<number, Active>();
  /**
   * Runs that are over but whose end the catalogue refused to record: the outcome to write (failed, with the write
   * error as its reason), retried until a write succeeds, so the row does not stay "running" until a restart.
   */
  private readonly unrecorded = new Map<number, RunOutcome>();
  private retryTimer?: NodeJS.Timeout;
  private closing = false;
  readonly spec: JobKindSpec<'train', TrainState>;

  /** cancelGraceMs: how long a cancelled run's worker may take to stop before the runtime kills it (tests shorten it). */
  constructor(private readonly deps: { db: Database; events: EventSink; cancelGraceMs?: number }) {
    this.spec = {
      kind: 'train',
      lane: () => 'cpu',
      // The runtime ends the job after this and its worker pool kills the process (workers.jobEnded); run() then
      // records the run cancelled in words.
      cancelGraceMs: deps.cancelGraceMs ?? CANCEL_GRACE_MS,
      prepare: async ({ db }, input) => {
        if (this.closing) throw new AppError('unavailable', 'Pawprint is shutting down.');
        this.retryUnrecorded();
        // One transaction: a run refused below (a bad config, one class) leaves no default split behind.
        return db.transaction(() => {
          // A dataset never split gets the default split now, once; one that has splits trains on its latest.
          let splitId = input.splitId;
          let madeSplit: string | undefined;
          if (splitId === undefined && latestSplitId(db, getDatasetRow(db, input.datasetId).id) === null) {
            const split = createSplit(db, input.datasetId, DEFAULT_SPLIT);
            splitId = split.id;
            const { train, val, test } = split.counts;
            madeSplit = `The dataset had no split: made split ${split.id}, ${DEFAULT_SPLIT_NAME}: ${train} training, ${val} validation and ${test} test images. It stays this dataset's split until you make another.`;
          }
          const data = loadTrainingData(db, { datasetId: input.datasetId, splitId });
          const validation = validateTrainingConfig(input.config, data.classNames.length);
          if (!validation.ok || !validation.config) {
            const errors = validation.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.message);
            throw new AppError('invalid-payload', `The training config has problems: ${errors.join(' ')}`);
          }
          const config = validation.config;
          const name = input.name ?? `${config.preset} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`;
          const runId = createRun(db, {
            datasetId: data.datasetId, splitId: data.splitId, name, config, classNames: data.classNames, dataHash: data.dataHash,
            parentRunId: input.parentRunId ?? null,
          });
          if (madeSplit) updateRun(db, runId, { notes: `Split: ${DEFAULT_SPLIT_NAME}, made for this run because the dataset had none.` });
          return {
            title: `Train ${name}`, datasetId: data.datasetId, runId,
            state: {
              runId, name, preset: config.preset, datasetId: data.datasetId, splitId: data.splitId, config, classNames: data.classNames,
              dataHash: data.dataHash, ...(madeSplit ? { madeSplit } : {}),
            },
          };
        })();
      },
      run: (ctx, state) => this.run(ctx, state),
      abandon: (db, job) => {
        // Cancelled while queued (or found interrupted at startup): the run never trained, or its process is gone.
        if (job.runId === null) return;
        finishRun(db, job.runId, { status: job.status, error: job.status === 'cancelled' ? null : job.error });
      },
    };
  }

  private async run(ctx: JobContext, state: TrainState): Promise<JobResult<'train'>> {
    const { runId } = state;
    // Listed from the moment the job is admitted: the live panel shows it while its process starts.
    let stop: () => void = () => undefined;
    const stopped = new Promise<null>((resolve) => (stop = () => resolve(null)));
    // Every line also goes to the run's stored log, so its page shows it after a reload or from another process.
    const stored = new RunLogWriter(ctx.db, runId, { onFailure: (message) => ctx.log('warn', message) });
    const entry: Active = {
      runId, name: state.name, preset: state.preset, datasetId: state.datasetId, backend: null,
      baseVersions: bundledBaseVersions(state.config), announced: null, stop: () => stop(),
      log: (level, message) => {
        ctx.log(level, message);
        stored.add(level, message);
      },
    };
    this.active.set(runId, entry);
    let outcome: RunOutcome | null;
    try {
      const training = this.train(ctx, state, entry);
      // A report that could not be recorded, or the app closing, settles the run first; the worker's answer comes later.
      training.catch(() => undefined);
      outcome = await Promise.race([training, stopped]);
    } catch (error) {
      outcome = outcomeOfError(error, ctx.signal.aborted);
    }
    // Already settled when the app closed first, or a report could not be recorded: that is what was announced.
    const announced = entry.announced ?? this.settle(entry, outcome ?? { status: 'failed', error: 'the run ended without an outcome' });
    // Before the job's end is announced: a page that reloads the run on jobs.finished gets every line.
    stored.close();
    const result = resultOf(runId, announced);
    if (announced.status === 'failed') throw new JobFailure(announced.error ?? 'the run failed', result);
    return result;
  }

  /** Trains the run in the job's worker process; answers how it ended (throws when the task did not answer). */
  private async train(ctx: JobContext, state: TrainState, entry: Active): Promise<RunOutcome> {
    const { runId } = state;
    // Labels and splits may change while the run waits: it trains on what the catalogue holds now, which must still be
    // what its row records.
    let data: TrainingData;
    try {
      data = loadTrainingData(ctx.db, { datasetId: state.datasetId, splitId: state.splitId });
    } catch (error) {
      return { status: 'failed', error: `cannot read the training data: ${firstLine(error)}` };
    }
    if (data.dataHash !== state.dataHash || data.classNames.join('\n') !== state.classNames.join('\n')) {
      return { status: 'failed', error: 'the dataset\'s labels or split changed while this run waited in the queue; start it again' };
    }
    if (state.madeSplit) entry.log('info', state.madeSplit);
    // Run ids can be reused after the newest run is deleted; a leftover folder of that id is not this run's.
    const modelDir = join(ctx.paths.models, `run-${runId}`);
    await rm(modelDir, { recursive: true, force: true });
    if (ctx.signal.aborted) return { status: 'cancelled', error: null };
    ctx.events.emit('training.started', { runId, name: state.name, preset: state.preset, datasetId: state.datasetId, backend: null });
    const done = await ctx.worker('train', {
      runId, config: state.config,
      data: {
        classNames: data.classNames, splitId: data.splitId, dataHash: data.dataHash,
        train: toWorkerImages(data.train), val: toWorkerImages(data.val), test: toWorkerImages(data.test),
      },
      paths: { modelDir, cacheDir: ctx.paths.cache },
    }, { event: (event) => this.onTaskEvent(ctx, entry, event) });
    return outcomeOf(done);
  }

  private onTaskEvent(ctx: JobContext, entry: Active, event: TrainTaskEvent): void {
    if (entry.announced) return;
    // Whatever a worker sends must never take the host process down: a report we cannot record fails its run, and
    // ending the job stops its worker.
    try {
      this.handleTaskEvent(ctx, entry, event);
    } catch (error) {
      if (!entry.announced) {
        this.settle(entry, { status: 'failed', error: `could not record the training process's ${event.type} report: ${firstLine(error)}` });
      }
    }
  }

  private handleTaskEvent(ctx: JobContext, entry: Active, event: TrainTaskEvent): void {
    const { runId } = entry;
    switch (event.type) {
      case 'backend': {
        const { active, requested, fallbackReasons, versions } = event.backend;
        const backend = { active, requested, fallbackReasons, versions };
        entry.backend = active;
        markRunning(ctx.db, runId, backend.active ?? 'unknown', { ...backend.versions, ...entry.baseVersions });
        ctx.setBackend(backend);
        ctx.events.emit('training.started', { runId, name: entry.name, preset: entry.preset, datasetId: entry.datasetId, backend: entry.backend });
        return;
      }
      case 'progress':
        ctx.progress(trainJobProgress(runId, event.progress));
        return;
      case 'epoch':
        addEpoch(ctx.db, runId, event.metrics);
        ctx.events.emit('training.epoch', { runId, ...event.metrics });
        return;
      case 'log':
        entry.log(event.level, event.message);
        return;
    }
  }

  /** The run's outcome is known: it leaves the active list now and is recorded; answers what was recorded (the job's result). */
  private settle(entry: Active, outcome: RunOutcome): RunOutcome {
    this.active.delete(entry.runId);
    entry.announced = this.finish(entry.runId, outcome);
    entry.stop();
    return entry.announced;
  }

  /**
   * Records how a run ended; answers the outcome the job reports. This never throws: when the catalogue refuses the
   * write, the run ends failed with the write error as its reason (jobs.finished says so at once, so the CLI and the
   * UI stop waiting) and the row is brought in line by the first later write that succeeds.
   */
  private finish(runId: number, outcome: RunOutcome): RunOutcome {
    try {
      finishRun(this.deps.db, runId, outcome);
      return outcome;
    } catch (error) {
      const had = outcome.status === 'completed' ? '' : `; the run had ${outcome.status === 'cancelled' ? 'been cancelled' : 'failed'}${outcome.error ? `: ${outcome.error}` : ''}`;
      const failed: RunOutcome = { ...outcome, status: 'failed', error: `could not record the run's end in the catalogue: ${firstLine(error)}${had}` };
      try {
        finishRun(this.deps.db, runId, failed);
      } catch {
        this.unrecorded.set(runId, failed);
        this.scheduleRetry();
      }
      return failed;
    }
  }

  /** Writes one unrecorded end; true when the catalogue took it (or the row no longer needs it). */
  private recordUnrecorded(runId: number, outcome: RunOutcome): boolean {
    try {
      finishRun(this.deps.db, runId, outcome);
    } catch {
      return false;
    }
    this.unrecorded.delete(runId);
    if (this.unrecorded.size === 0) this.stopRetry();
    this.deps.events.emit('runs.changed', { runId, deleted: false });
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

  /**
   * App close, after the runtime has cancelled every job, waited its grace and had the pool kill what was left: a run
   * still unrecorded is recorded cancelled; then a last try at the ends still unrecorded (failInterruptedRuns catches the rest).
   */
  close(): void {
    this.closing = true;
    this.stopRetry();
    for (const entry of [...this.active.values()]) {
      if (!entry.announced) this.settle(entry, { status: 'cancelled', error: CLOSED_MESSAGE });
    }
    this.retryUnrecorded();
  }
}
