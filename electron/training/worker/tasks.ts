// The training tasks a job worker process can run (issue 12 §2.4): WP4 registers `train` and `describe` here, and the
// worker entry (jobs/worker/job-worker-entry.ts) serves whatever is registered. Empty until then.
import type { WorkerTask } from '../../../shared/worker-task';
import type { DescribeTaskInput, DescribeTaskResult, TrainTaskEvent, TrainTaskInput, TrainTaskResult } from './task-types';

export interface TrainingTasks {
  train: WorkerTask<TrainTaskInput, TrainTaskResult, TrainTaskEvent>;
  describe: WorkerTask<DescribeTaskInput, DescribeTaskResult>;
}

export const trainingTasks: Partial<TrainingTasks> = {};
