// A worker for kind tests that runs task implementations in this process (table predictors, fake trainers), through
// the same protocol checks as a real worker: the input and result travel as JSON, every progress/log/event/done
// message is validated with the protocol's schemas, and cancel reaches the task through its signal.
//   createServices({ ..., jobs: { workers: inProcessWorker({ 'predict-files': fakePredict }) } })
import type { TaskIo, WorkerTask } from '../../shared/worker-task';
import { AppError } from '../../shared/errors';
import { workerOutbound } from '../../electron/jobs/worker/protocol';
import type { TaskRegistry, TaskEvent, TaskInput, TaskResult, WorkerTaskName } from '../../electron/jobs/worker/tasks';
import type { TaskRequest, TaskRunner } from '../../electron/jobs/worker/runner';

export interface InProcessWorker extends TaskRunner {
  /** Every task started, in order, with the job that asked for it (assert on what the kind sent). */
  readonly calls: Array<{ jobId: number | null; task: WorkerTaskName; input: unknown }>;
}

/** JSON round trip, as over IPC: a Map, a class instance or undefined in a message is caught here as in a real worker. */
const overTheWire = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

export function inProcessWorker(tasks: Partial<TaskRegistry>): InProcessWorker {
  const calls: InProcessWorker['calls'] = [];
  let nextTaskId = 1;
  return {
    calls,
    async run<T extends WorkerTaskName>(request: TaskRequest<T>, io: TaskIo<TaskEvent<T>>): Promise<TaskResult<T>> {
      const task = tasks[request.task] as WorkerTask<TaskInput<T>, TaskResult<T>, TaskEvent<T>> | undefined;
      if (!task) throw new AppError('unsupported', `the in-process test worker has no "${request.task}" task`);
      const taskId = nextTaskId++;
      calls.push({ jobId: request.jobId, task: request.task, input: overTheWire(request.input) });
      const checked = (message: unknown) => workerOutbound.parse(overTheWire(message));
      const result = await task(overTheWire(request.input), {
        signal: io.signal,
        settings: io.settings,
        progress: (progress) => {
          const message = checked({ type: 'progress', taskId, progress });
          if (message.type === 'progress') io.progress(message.progress);
        },
        log: (level, text) => {
          const message = checked({ type: 'log', taskId, level, message: text });
          if (message.type === 'log') io.log(message.level, message.message);
        },
        event: (event) => {
          checked({ type: 'event', taskId, event });
          io.event(overTheWire(event));
        },
      });
      const done = checked({ type: 'done', taskId, status: io.signal.aborted ? 'cancelled' : 'completed', result: result ?? null, error: null });
      return (done.type === 'done' ? done.result : null) as TaskResult<T>;
    },
  };
}
