// The training tasks a job worker process can run (issue 12 §2.4); the worker entry (jobs/worker/job-worker-entry.ts)
// serves them. Loads TensorFlow.js: only the worker entry imports this file (main-side code names tasks by their types
// in jobs/worker/tasks.ts).
import type { WorkerTask } from '../../../shared/worker-task';
import { augmentPreviewTask } from './augment-preview-task';
import { describeTask } from './describe';
import { runTrainTask } from './task';
import type {
  AugmentPreviewTaskInput,
  AugmentPreviewTaskResult,
  DescribeTaskInput,
  DescribeTaskResult,
  TrainTaskEvent,
  TrainTaskInput,
  TrainTaskResult,
} from './task-types';

export interface TrainingTasks {
  train: WorkerTask<TrainTaskInput, TrainTaskResult, TrainTaskEvent>;
  describe: WorkerTask<DescribeTaskInput, DescribeTaskResult>;
  'augment-preview': WorkerTask<AugmentPreviewTaskInput, AugmentPreviewTaskResult>;
}

export const trainingTasks: TrainingTasks = { train: runTrainTask, describe: describeTask, 'augment-preview': augmentPreviewTask };
