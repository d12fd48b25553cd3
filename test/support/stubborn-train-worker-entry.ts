// A real job worker process whose `train` task reports its backend and one epoch, then ignores cancel for good (a
// worker stuck in a long kernel): the cancel-grace test (test/unit/jobs/train-cancel-grace.slow.test.ts) proves that
// the runtime kills it after the kind's grace and that the run is recorded cancelled.
import { serveTasks } from '../../electron/jobs/worker/serve';
import type { ServedTasks } from '../../electron/jobs/worker/serve';
import type { WorkerTask } from '../../shared/worker-task';
import type { TrainTaskEvent, TrainTaskInput, TrainTaskResult } from '../../electron/training/worker/task-types';

const train: WorkerTask<TrainTaskInput, TrainTaskResult, TrainTaskEvent> = async (input, io) => {
  io.event({ type: 'backend', backend: { active: 'stub', requested: input.config.backend, fallbackReasons: [], versions: { stub: '1' } } });
  io.event({ type: 'epoch', metrics: { phase: 'train', epoch: 1, loss: 0.5, accuracy: 0.5, valLoss: 0.5, valAccuracy: 0.5, durationMs: 1 } });
  // Never looks at io.signal and never answers.
  return new Promise<never>(() => undefined);
};

serveTasks({ train } as ServedTasks);
