// What the runtime needs from whatever runs worker tasks: the process pool in the app, an in-process registry in
// tests. A job's ctx.worker() goes through it; without one, a kind that needs a worker is refused in words.
import { AppError } from '../../../shared/errors';
import type { JobLane } from '../../../shared/contract/jobs';
import type { TaskIo } from '../../../shared/worker-task';
import type { TaskEvent, TaskInput, TaskResult, WorkerTaskName } from './tasks';

export interface TaskRequest<T extends WorkerTaskName> {
  jobId: number | null;
  lane: JobLane;
  task: T;
  input: TaskInput<T>;
}

export interface TaskRunner {
  run<T extends WorkerTaskName>(request: TaskRequest<T>, io: TaskIo<TaskEvent<T>>): Promise<TaskResult<T>>;
  /** The job ended (completed, failed, cancelled or killed after its grace): its worker process may go. */
  jobEnded?(jobId: number): void;
  /** The process running this job's task, if any (tests and diagnostics). */
  workerPid?(jobId: number): number | null;
  close?(): Promise<void>;
}

/**
 * A task that stopped on cancel but still answered (a cancelled run keeps its saved epochs and model): the rejection
 * carries what it answered. An AppError 'cancelled' like any other cancel.
 */
export class TaskCancelled extends AppError {
  constructor(readonly result: unknown) {
    super('cancelled', 'cancelled');
    this.name = 'TaskCancelled';
  }
}
