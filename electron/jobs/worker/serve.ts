// The worker side of the job protocol (issue 12 §2.4): runs the tasks the runtime sends (several in a row in the
// persistent inference worker, one per cpu job process), reports progress/event/log/done by task id, stops a task on
// `cancel`, everything on `shutdown`. Under Electron's utilityProcess (process.parentPort) or as a Node child.
import { AppError, firstLine } from '../../../shared/errors';
import type { TaskIo, WorkerTask } from '../../../shared/worker-task';
import { workerInbound } from './protocol';
import type { WorkerOutbound } from './protocol';

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

/** Task implementations by name; the types of each are checked where the registries are declared (tasks.ts). */
export type ServedTasks = Record<string, WorkerTask<never, unknown, never> | undefined>;

export function serveTasks(tasks: ServedTasks): void {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  const send = (message: WorkerOutbound) => {
    if (parentPort) parentPort.postMessage(message);
    else if (process.send && process.connected) process.send(message);
  };
  const running = new Map<number, AbortController>();
  // Leaves a moment for the IPC channel to flush, so the last `done` is not lost.
  const exitSoon = (code: number) => setTimeout(() => process.exit(code), 50);

  const onMessage = (raw: unknown) => {
    const parsed = workerInbound.safeParse(raw);
    if (!parsed.success) {
      process.stderr.write(`job worker: ignored a message that is not part of the protocol: ${parsed.error.issues[0]?.message ?? ''}\n`);
      return;
    }
    const message = parsed.data;
    if (message.type === 'shutdown') {
      for (const controller of running.values()) controller.abort();
      if (running.size === 0) exitSoon(0);
      return;
    }
    if (message.type === 'cancel') {
      running.get(message.taskId)?.abort();
      return;
    }
    const { taskId } = message;
    const task = tasks[message.task] as WorkerTask<unknown, unknown, unknown> | undefined;
    if (!task) {
      send({ type: 'done', taskId, status: 'failed', result: null, error: `this worker has no "${message.task}" task` });
      return;
    }
    const controller = new AbortController();
    running.set(taskId, controller);
    const io: TaskIo<unknown> = {
      signal: controller.signal,
      settings: message.settings,
      progress: (progress) => send({ type: 'progress', taskId, progress }),
      event: (event) => send({ type: 'event', taskId, event }),
      log: (level, text) => send({ type: 'log', taskId, level, message: text }),
    };
    Promise.resolve()
      .then(() => task(message.input, io))
      .then(
        (result) => send({ type: 'done', taskId, status: controller.signal.aborted ? 'cancelled' : 'completed', result: result ?? null, error: null }),
        (error: unknown) =>
          send({
            type: 'done', taskId, status: controller.signal.aborted ? 'cancelled' : 'failed', result: null,
            error: controller.signal.aborted ? null : firstLine(error),
            ...(error instanceof AppError && !controller.signal.aborted ? { code: error.code } : {}),
          }),
      )
      .finally(() => running.delete(taskId));
  };

  if (parentPort) parentPort.on('message', (event) => onMessage(event.data));
  else process.on('message', onMessage);
  // A Node child whose parent went away (the app was killed) must not work on alone.
  if (!parentPort) process.on('disconnect', () => process.exit(0));
  process.on('uncaughtException', (error) => {
    send({ type: 'fatal', message: `uncaught error in the job worker: ${firstLine(error)}` });
    exitSoon(1);
  });
  // Ctrl+C reaches the whole process group: the parent turns it into a `cancel`, so the worker must not die of it.
  process.on('SIGINT', () => undefined);
  send({ type: 'ready' });
}
