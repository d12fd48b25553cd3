// The inference tasks a job worker process can run (issue 12 §2.4): WP5 registers `predict-files` and `inspect` here,
// and the worker entry (jobs/worker/job-worker-entry.ts) serves whatever is registered. Empty until then.
import type { WorkerTask } from '../../shared/worker-task';
import type { InspectTaskInput, InspectTaskResult, PredictFilesEvent, PredictFilesInput, PredictFilesResult } from './task-types';

export interface InferenceTasks {
  'predict-files': WorkerTask<PredictFilesInput, PredictFilesResult, PredictFilesEvent>;
  inspect: WorkerTask<InspectTaskInput, InspectTaskResult>;
}

export const inferenceTasks: Partial<InferenceTasks> = {};
