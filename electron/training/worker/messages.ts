// The typed message union between the services (parent) and the training worker process. Plain JSON values only:
// the same messages travel over Node's child-process IPC and Electron's utilityProcess MessagePort.
import type { TrainingConfig } from '../../../shared/training-config';
import type { EpochMetrics, TrainingProgress } from '../../../shared/contract/training';

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

export interface StartMessage {
  type: 'start';
  runId: number;
  config: TrainingConfig;
  data: WorkerData;
  paths: WorkerPaths;
  appVersion: string;
  /** Batch progress is sent at most this often (and on each epoch's last batch). */
  progressIntervalMs?: number;
}

export interface CancelMessage {
  type: 'cancel';
}

export type WorkerInbound = StartMessage | CancelMessage;

export interface WorkerBackendInfo {
  name: string;
  requested: string;
  fallbackReasons: string[];
  versions: Record<string, string>;
  threads?: number;
}

export type WorkerProgress = Omit<TrainingProgress, 'runId'>;

export type WorkerStatus = 'completed' | 'cancelled' | 'failed';

export interface DoneMessage {
  type: 'done';
  status: WorkerStatus;
  error: string | null;
  /** 1-based epoch whose weights were saved (the best by the monitored metric). */
  bestEpoch: number | null;
  bestValAccuracy: number | null;
  /** Folder with the saved model, or null when no epoch finished. */
  modelPath: string | null;
  testAccuracy: number | null;
  testLoss: number | null;
}

export type WorkerOutbound =
  | { type: 'backend'; backend: WorkerBackendInfo }
  | { type: 'progress'; progress: WorkerProgress }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | DoneMessage
  /** A failure outside training itself (bad start message, backend unavailable); a 'done' with status failed follows. */
  | { type: 'error'; message: string };

export function isWorkerOutbound(value: unknown): value is WorkerOutbound {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
