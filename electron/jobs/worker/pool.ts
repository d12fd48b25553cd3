// The main side of the job workers (issue 12 §2.4): one process per cpu/io job (memory returns to the OS when it ends,
// a crash costs one job) and one persistent worker for the interactive lane that exits when idle. Every message is
// validated; a worker that breaks the protocol or dies fails its tasks in words and the host carries on.
import { AppError } from '../../../shared/errors';
import type { TaskIo } from '../../../shared/worker-task';
import { workerOutbound } from './protocol';
import type { WorkerInbound } from './protocol';
import { launchJobWorker } from './launcher';
import type { RawWorkerHandle, WorkerExit } from './launcher';
import { TaskCancelled } from './runner';
import type { TaskRequest, TaskRunner } from './runner';
import type { TaskEvent, TaskResult, WorkerTaskName } from './tasks';

export interface WorkerPoolOptions {
  launch?: (name: string) => Promise<RawWorkerHandle>;
  /** How long the interactive worker may sit idle before it exits (5 minutes). */
  idleMs?: number;
}

/** Words for a task's error when its worker ended without answering. */
export function describeWorkerExit(exit: WorkerExit): string {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
  const lastLine = exit.stderrTail.split('\n').filter((line) => line.trim()).at(-1) ?? '';
  const hint = exit.signal === 'SIGKILL' || exit.code === 137 ? ' (killed, possibly by the system running out of memory)' : '';
  return `the job worker exited unexpectedly (${how})${hint}${lastLine ? `: ${lastLine.slice(0, 500)}` : ''}`;
}

interface PendingTask {
  io: TaskIo<unknown>;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

class WorkerProcess {
  private readonly pending = new Map<number, PendingTask>();
  private exited = false;
  private nextTaskId = 1;

  constructor(
    readonly handle: RawWorkerHandle,
    private readonly onSettled: () => void,
  ) {
    handle.onMessage((raw) => this.receive(raw));
    handle.onExit((exit) => {
      this.exited = true;
      this.failAll(describeWorkerExit(exit));
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  run(task: string, input: unknown, io: TaskIo<unknown>): Promise<unknown> {
    if (this.exited) return Promise.reject(new AppError('failed', 'the job worker has already exited'));
    const taskId = this.nextTaskId++;
    return new Promise((resolve, reject) => {
      this.pending.set(taskId, { io, resolve, reject });
      const cancel = () => this.send({ type: 'cancel', taskId });
      if (io.signal.aborted) cancel();
      else io.signal.addEventListener('abort', cancel, { once: true });
      this.send({ type: 'run', taskId, task, input, settings: io.settings });
    });
  }

  kill(): void {
    this.handle.kill();
  }

  private send(message: WorkerInbound): void {
    this.handle.send(message);
  }

  private receive(raw: unknown): void {
    const parsed = workerOutbound.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const reason = `the job worker sent a message that is not part of the protocol (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unreadable'}); it was stopped`;
      const taskId = typeof raw === 'object' && raw !== null ? (raw as { taskId?: unknown }).taskId : undefined;
      // A worker that breaks the protocol cannot be trusted with its other tasks either.
      if (typeof taskId === 'number' && this.pending.has(taskId)) this.settle(taskId, (task) => task.reject(new AppError('failed', reason)));
      this.failAll(reason);
      this.kill();
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'ready':
        return;
      case 'fatal':
        this.failAll(message.message);
        return;
      case 'progress':
        this.pending.get(message.taskId)?.io.progress(message.progress);
        return;
      case 'event':
        this.pending.get(message.taskId)?.io.event(message.event);
        return;
      case 'log':
        this.pending.get(message.taskId)?.io.log(message.level, message.message);
        return;
      case 'done':
        this.settle(message.taskId, (task) => {
          if (message.status === 'completed') task.resolve(message.result);
          else if (message.status === 'cancelled') task.reject(message.result === null ? new AppError('cancelled', 'cancelled') : new TaskCancelled(message.result));
          else task.reject(new AppError(message.code ?? 'failed', message.error ?? 'the task failed'));
        });
        return;
    }
  }

  private settle(taskId: number, action: (task: PendingTask) => void): void {
    const task = this.pending.get(taskId);
    if (!task) return;
    this.pending.delete(taskId);
    action(task);
    this.onSettled();
  }

  private failAll(reason: string): void {
    for (const taskId of [...this.pending.keys()]) this.settle(taskId, (task) => task.reject(new AppError('failed', reason)));
  }
}

export class WorkerPool implements TaskRunner {
  private readonly byJob = new Map<number, WorkerProcess>();
  private interactive: WorkerProcess | null = null;
  /** The interactive process being started, shared by every request that arrives meanwhile. */
  private interactiveLaunch: Promise<WorkerProcess> | null = null;
  /** Job processes being started, by job id, likewise. */
  private readonly jobLaunches = new Map<number, Promise<WorkerProcess>>();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly launch: (name: string) => Promise<RawWorkerHandle>;
  private readonly idleMs: number;
  private closed = false;
  /** Jobs that ended, so a worker whose launch finishes after its job ended is killed, not kept. */
  private readonly endedJobs = new Set<number>();

  constructor(options: WorkerPoolOptions = {}) {
    this.launch = options.launch ?? launchJobWorker;
    this.idleMs = options.idleMs ?? 5 * 60_000;
  }

  async run<T extends WorkerTaskName>(request: TaskRequest<T>, io: TaskIo<TaskEvent<T>>): Promise<TaskResult<T>> {
    if (this.closed) throw new AppError('unavailable', 'Pawprint is closing; no new worker tasks start.');
    const worker = await this.workerFor(request);
    const result = await worker.run(request.task, request.input, io as TaskIo<unknown>);
    return result as TaskResult<T>;
  }

  /** The job's own process goes when the job ends (also the kill after a cancel grace). */
  jobEnded(jobId: number): void {
    this.endedJobs.add(jobId);
    const worker = this.byJob.get(jobId);
    this.byJob.delete(jobId);
    worker?.kill();
  }

  workerPid(jobId: number): number | null {
    return this.byJob.get(jobId)?.handle.pid ?? null;
  }

  /** The interactive worker's pid while it runs (tests: it stays for several tasks, then exits when idle). */
  interactivePid(): number | null {
    return this.interactive?.alive ? (this.interactive.handle.pid ?? null) : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const worker of this.byJob.values()) worker.kill();
    this.byJob.clear();
    this.interactive?.kill();
    this.interactive = null;
  }

  private async workerFor(request: TaskRequest<WorkerTaskName>): Promise<WorkerProcess> {
    if (request.lane === 'interactive' || request.jobId === null) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = null;
      if (this.interactive?.alive) return this.interactive;
      // Requests that arrive while the process starts wait for that one launch: a second launch would replace the
      // first in `interactive`, and nothing would ever kill the one replaced.
      this.interactiveLaunch ??= this.launch('Pawprint inference')
        .then((handle) => (this.interactive = new WorkerProcess(this.keepUnlessClosed(handle), () => this.scheduleIdleExit())))
        .finally(() => (this.interactiveLaunch = null));
      return this.interactiveLaunch;
    }
    const jobId = request.jobId;
    const existing = this.byJob.get(jobId);
    if (existing?.alive) return existing;
    let launching = this.jobLaunches.get(jobId);
    if (!launching) {
      launching = this.launch(`Pawprint job ${jobId}`)
        .then((raw) => {
          const handle = this.keepUnlessClosed(raw);
          if (this.endedJobs.has(jobId)) {
            handle.kill();
            throw new AppError('cancelled', `Job ${jobId} ended while its worker was starting.`);
          }
          const worker = new WorkerProcess(handle, () => undefined);
          this.byJob.set(jobId, worker);
          return worker;
        })
        .finally(() => this.jobLaunches.delete(jobId));
      this.jobLaunches.set(jobId, launching);
    }
    return launching;
  }


  /** A launch can finish after close(): nothing would ever kill that process, and it would keep the parent alive. */
  private keepUnlessClosed(handle: RawWorkerHandle): RawWorkerHandle {
    if (!this.closed) return handle;
    handle.kill();
    throw new AppError('unavailable', 'Pawprint is closing; no new worker tasks start.');
  }

  private scheduleIdleExit(): void {
    const worker = this.interactive;
    if (!worker || worker.busy) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.interactive === worker && !worker.busy) {
        worker.kill();
        this.interactive = null;
      }
    }, this.idleMs);
    this.idleTimer.unref?.();
  }
}
