// Inputs, events and results of the training worker tasks (issue 12 §2.4), without code: the job runtime and the
// train kind import these, and must not load TensorFlow.js to do so.
import type { TrainingConfig } from '../../../shared/training-config';
import type { EpochMetrics, ModelSummary } from '../../../shared/contract/training';
import type { BackendStatus } from '../../../shared/contract/system';
import type { JobResult } from '../../../shared/contract/jobs';
import type { WorkerData, WorkerPaths } from './messages';

export interface TrainTaskInput {
  runId: number;
  config: TrainingConfig;
  /** The images inline, or an NDJSON manifest file for very large datasets. */
  data: WorkerData | { manifest: string };
  paths: WorkerPaths;
}
export type TrainTaskEvent =
  | { type: 'backend'; backend: BackendStatus & { threads?: number } }
  | { type: 'epoch'; metrics: EpochMetrics };
/** The run id is the job's; `error` says why a failed run failed. */
export type TrainTaskResult = Omit<JobResult<'train'>, 'runId'> & { error: string | null };

export interface DescribeTaskInput { numClasses: number }
export interface DescribeTaskResult { presets: Array<{ name: string; model: ModelSummary | null }> }
