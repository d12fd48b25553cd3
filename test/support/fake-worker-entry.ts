// A real job worker process for the protocol tests (PAWPRINT_WORKER_ENTRY): tasks that echo, wait for cancel, crash
// the process, or send a message that breaks the protocol.
import { serveTasks } from '../../electron/jobs/worker/serve';
import type { ServedTasks } from '../../electron/jobs/worker/serve';
import type { WorkerTask } from '../../shared/worker-task';
import { AppError } from '../../shared/errors';

const echo: WorkerTask<{ value: unknown }, { value: unknown; pid: number }, { step: number }> = async (input, io) => {
  io.progress({ phase: 'echoing', done: 1, total: 1, etaSeconds: null, message: null, detail: null });
  io.event({ step: 1 });
  io.log('info', 'echoed');
  return { value: input.value, pid: process.pid };
};

const sleep: WorkerTask<{ steps: number }, { steps: number }> = async (input, io) => {
  let done = 0;
  while (done < input.steps && !io.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    done++;
    io.progress({ phase: 'sleeping', done, total: input.steps, etaSeconds: null, message: null, detail: null });
  }
  return { steps: done };
};

const crash: WorkerTask<Record<string, never>, never> = async () => {
  process.stderr.write('about to crash: the disk is on fire\n');
  setTimeout(() => process.exit(3), 10);
  return new Promise<never>(() => undefined);
};

const garbage: WorkerTask<Record<string, never>, never> = async (_input, io) => {
  // A progress whose done is negative: the host must refuse it, fail the task and keep answering.
  io.progress({ phase: 'x', done: -5, total: null, etaSeconds: null, message: null, detail: null });
  return new Promise<never>(() => undefined);
};

const missing: WorkerTask<{ path: string }, never> = async (input) => {
  throw new AppError('not-found', `No model at ${input.path}.`);
};

serveTasks({ echo, sleep, crash, garbage, missing } as ServedTasks);
