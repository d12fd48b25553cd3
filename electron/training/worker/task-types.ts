// Inputs, events and results of the training worker tasks (issue 12 §2.4), without code: the job runtime and the
// train kind import these, and must not load TensorFlow.js to do so. Plain JSON values only (they cross IPC).
import type { AugmentationConfig, TrainingConfig } from '../../../shared/training-config';
import type { AugmentPreview, EpochMetrics, ModelSummary, TrainingProgress } from '../../../shared/contract/training';
import type { BackendStatus } from '../../../shared/contract/system';
import type { JobResult } from '../../../shared/contract/jobs';

/** One image the worker reads: `key` seeds its augmentation (the content hash, as the Augment view uses). */
export interface WorkerImage {
  key: string;
  path: string;
  label: number;
  contentHash: string;
}

export interface WorkerData {
  classNames: string[];
  splitId: number | null;
  dataHash: string | null;
  train: WorkerImage[];
  val: WorkerImage[];
  test: WorkerImage[];
}

export interface WorkerPaths {
  /** Final model folder (model.json, weights.bin, metadata.json): <models>/run-<id>. */
  modelDir: string;
  /** Shared caches (decoded pixels, base weights, base features) under the app-data folder. */
  cacheDir: string;
}

export interface TrainTaskInput {
  runId: number;
  config: TrainingConfig;
  data: WorkerData;
  paths: WorkerPaths;
}

/** What one run inside the worker works from: the task's input plus the settings the job runtime hands every task. */
export interface TrainRunStart extends TrainTaskInput {
  appVersion: string;
  /** Non-batch progress is sent at most this often (batches as they come). */
  progressIntervalMs?: number;
  /** Cores the job runtime gives this run (TaskSettings.threads); the CNN trainer splits batches across them. */
  threads?: number;
}

/** A batch (or decoding/feature/evaluation step) as the live panel shows it; the run id is the job's. */
export type TrainRunProgress = Omit<TrainingProgress, 'runId'>;

/**
 * The run's reports, in order. Progress and logs travel as events (not the generic task progress/log) because the
 * train kind records them per run (as jobs.progress detail, jobs.log and training.epoch) before handing them on.
 */
export type TrainTaskEvent =
  | { type: 'backend'; backend: BackendStatus & { threads?: number } }
  | { type: 'progress'; progress: TrainRunProgress }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'log'; level: 'info' | 'warn'; message: string };
/** The run id is the job's; `error` says why a failed run failed. A cancelled run still has its saved epochs. */
export type TrainTaskResult = Omit<JobResult<'train'>, 'runId'> & { error: string | null };

export interface DescribeTaskInput { numClasses: number }
export interface DescribeTaskResult { presets: Array<{ name: string; model: ModelSummary | null }> }

/** augment.preview in the worker (the data pipeline loads TensorFlow.js): one catalogue image, already resolved. */
export interface AugmentPreviewTaskInput {
  image: { key: string; path: string };
  size: number;
  options: AugmentationConfig;
  seed: number;
  count: number;
}
/** PNGs as data URLs (JSON carries strings well, Buffers badly). */
export interface AugmentPreviewTaskResult {
  original: string;
  variants: AugmentPreview['variants'];
}
