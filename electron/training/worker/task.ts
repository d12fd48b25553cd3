// The `train` worker task (issue 12 §2.4): one run in this job worker process. Its reports go out as the task's
// events (the train kind records them per run), the job's cancel arrives as the task's signal;
// the cores the runtime gives the job (settings.threads) go to the trainer, which splits CNN batches across them.
import type { WorkerTask } from '../../../shared/worker-task';
import { runTrainingJob } from './job';
import type { TrainTaskEvent, TrainTaskInput, TrainTaskResult } from './task-types';

export const runTrainTask: WorkerTask<TrainTaskInput, TrainTaskResult, TrainTaskEvent> = (input, io) =>
  runTrainingJob({ ...input, appVersion: io.settings.appVersion, progressIntervalMs: io.settings.progressIntervalMs, threads: io.settings.threads }, (event) => io.event(event), io.signal);
