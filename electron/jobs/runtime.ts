// The job runtime (issue 12 §2.4): every long task is a job of a registered kind, recorded in the catalogue's jobs
// table with the process that runs it, queued in a lane (at most one cpu-heavy job at a time on this machine by
// default, the next told its position), cancellable, with one progress shape. The in-memory job is authoritative
// while it lives here; the row is what other processes (and a reloaded renderer) see.
import { availableParallelism, hostname } from 'node:os';
import type { Database } from '../catalogue/database';
import {
  failInterruptedJobs,
  finishJob,
  getJob,
  insertJob,
  jobOwnerAlive,
  listJobs,
  markJobRunning,
  pruneFinishedJobs,
  queuedInLane,
  requestJobCancel,
  cancelRequested,
  runningInLane,
  saveJobProgress,
} from '../catalogue/jobs';
import type { JobFilter, JobRow } from '../catalogue/jobs';
import { parseOwner, processOwner } from '../catalogue/process-owner';
import type { AppPaths } from '../paths';
import { ZodError } from 'zod';
import { AppError, firstLine } from '../../shared/errors';
import { JobFinished as JobFinishedSchema, JobProgress as JobProgressSchema, JobResults } from '../../shared/contract/jobs';
import type { JobEndStatus, JobFinished, JobInfo, JobInput, JobKind, JobLane, JobProgress, JobStart } from '../../shared/contract/jobs';
import type { BackendStatus } from '../../shared/contract/system';
import type { TaskProgress, TaskSettings } from '../../shared/worker-task';
import type { EventSink, JobContext, JobKindSpec, PrepareContext } from './kind';
import { JobFailure } from './job-failure';
import { ProgressThrottle } from './progress';
import type { TaskRunner } from './worker/runner';
import type { TaskEvent, TaskInput, TaskResult, WorkerTaskName } from './worker/tasks';

export interface JobRuntimeOptions {
  db: Database;
  paths: AppPaths;
  appVersion: string;
  events: EventSink;
  /** Runs worker tasks (ctx.worker); absent: a kind that needs one is refused in words. */
  workers?: TaskRunner;
  /** How many jobs of a lane run at once. cpu counts machine-wide (PAWPRINT_CPU_JOBS, default 1). */
  lanes?: Partial<Record<JobLane, number>>;
  /** Least time between two jobs.progress events of one job (phase changes and the last step go out at once). */
  progressIntervalMs?: number;
  /** How often queued jobs re-check the machine-wide cpu slot and running ones look for another process's cancel. */
  pollMs?: number;
  /** How long close() waits for running jobs to stop before recording them cancelled. */
  shutdownGraceMs?: number;
  /** How often a durable() write that failed (a full disk) is tried again. */
  durableRetryMs?: number;
  setBackend?(status: BackendStatus): void;
}

const DEFAULT_CANCEL_GRACE_MS = 10_000;
const CLOSED_MESSAGE = 'stopped because the app was closed';
const NOT_IN_TIME_MESSAGE = 'did not stop in time and was ended';

/** Jobs held by a live runtime of this process, per catalogue file: module-level so that two services in one process never fail each other's jobs. */
const heldInThisProcess = new Set<string>();
const heldKey = (db: Database, id: number) => `${db.name}#${id}`;

function cpuCapacityFromEnv(): number {
  const value = Number(process.env.PAWPRINT_CPU_JOBS);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

type AnySpec = JobKindSpec<JobKind, unknown>;

/** Titles carry paths: a progress message (at most 500 characters in the contract) quotes a clipped one. */
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** One line for a failed job: a ZodError's message is a multi-line JSON dump whose first line is "[", so name its first issue. */
function reasonOf(error: unknown): string {
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    return issue ? `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}` : 'invalid data';
  }
  return firstLine(error);
}

interface LiveJob {
  id: number;
  kind: JobKind;
  lane: JobLane;
  title: string;
  spec: AnySpec;
  input: unknown;
  state: unknown;
  exclusiveKey: string | null;
  datasetId: number | null;
  runId: number | null;
  status: 'queued' | 'running';
  controller: AbortController;
  progress: ProgressThrottle;
  queueKey: string | null;
  queuePosition: number | null;
  done: Promise<JobFinished>;
  resolve(finished: JobFinished): void;
  graceTimer: NodeJS.Timeout | null;
}

export interface StartedJob {
  job: JobInfo;
}

export class JobRuntime {
  private readonly kinds = new Map<JobKind, AnySpec>();
  private readonly live = new Map<number, LiveJob>();
  /** Ends recorded here whose catalogue write failed (or that just happened): get() and wait() still answer. */
  private readonly ended = new Map<number, JobFinished>();
  private readonly interrupted: JobRow[];
  private readonly capacity: Record<JobLane, number>;
  private readonly owner = processOwner();
  /** Least time between two progress reports of one job (kinds with their own worker hand it on). */
  readonly progressIntervalMs: number;
  private readonly pollMs: number;
  private readonly shutdownGraceMs: number;
  private readonly durableRetryMs: number;
  private readonly durableTimers = new Set<NodeJS.Timeout>();
  private pollTimer: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(private readonly options: JobRuntimeOptions) {
    this.capacity = { cpu: cpuCapacityFromEnv(), io: 2, interactive: 1, ...options.lanes };
    this.progressIntervalMs = options.progressIntervalMs ?? 250;
    this.pollMs = options.pollMs ?? 1000;
    this.shutdownGraceMs = options.shutdownGraceMs ?? 5000;
    this.durableRetryMs = options.durableRetryMs ?? 30_000;
    this.interrupted = failInterruptedJobs(options.db, (id) => this.heldAnywhereHere(id));
    // Try-it makes many small jobs: keep a kind's newest 500 and anything younger than 30 days.
    try {
      pruneFinishedJobs(options.db, { keepPerKind: 500, olderThanDays: 30 });
    } catch {
      // a busy catalogue: the next start prunes
    }
  }

  private get db(): Database {
    return this.options.db;
  }

  private heldAnywhereHere(id: number): boolean {
    return heldInThisProcess.has(heldKey(this.db, id));
  }

  /** Adds a kind; jobs of it found interrupted at startup get its abandon() now. */
  register<K extends JobKind, S>(spec: JobKindSpec<K, S>): void {
    // Stored without its kind-specific types: the runtime hands each job back to the spec that prepared it.
    const anySpec = spec as unknown as AnySpec;
    this.kinds.set(spec.kind, anySpec);
    for (const row of this.interrupted.filter((r) => r.kind === spec.kind)) {
      this.safely(() =>
        anySpec.abandon?.(this.db, { id: row.id, status: 'failed', error: row.error ?? 'interrupted', state: null, datasetId: row.dataset_id, runId: row.run_id }),
      );
    }
  }

  private prepareContext(): PrepareContext {
    return { db: this.db, paths: this.options.paths, appVersion: this.options.appVersion, readonly: this.db.readonly };
  }

  /** Checks the input (the kind refuses with words), records the job and queues it; answers at once. */
  async start(start: JobStart, options: { parentJobId?: number } = {}): Promise<StartedJob> {
    if (this.closing) throw new AppError('unavailable', 'Pawprint is closing; start the job again after it restarts.');
    if (this.db.readonly) throw new AppError('unavailable', `the catalogue is read-only: ${this.options.paths.databasePath}`);
    const spec = this.kinds.get(start.kind);
    if (!spec) throw new AppError('unsupported', `${start.kind} jobs are not available in this version.`);
    const input: unknown = start.input;
    const lane = spec.lane(input as never);
    const prepared = await spec.prepare(this.prepareContext(), input as never);
    if (this.closing) {
      // close() ran while prepare() awaited: nothing would ever run or end this job, so undo what prepare() made.
      this.safely(() =>
        spec.abandon?.(this.db, { id: 0, status: 'cancelled', error: 'Pawprint closed before the job started', state: prepared.state, datasetId: prepared.datasetId ?? null, runId: prepared.runId ?? null }),
      );
      throw new AppError('unavailable', 'Pawprint is closing; start the job again after it restarts.');
    }
    const key = prepared.exclusiveKey ?? null;
    const clash = key === null ? undefined : [...this.live.values()].find((job) => job.exclusiveKey === key);
    if (clash) {
      const reason = `"${clash.title}" is already ${clash.status === 'queued' ? 'waiting' : 'running'} (job ${clash.id}); wait for it or cancel it first.`;
      this.safely(() =>
        spec.abandon?.(this.db, { id: 0, status: 'cancelled', error: reason, state: prepared.state, datasetId: prepared.datasetId ?? null, runId: prepared.runId ?? null }),
      );
      throw new AppError('conflict', reason);
    }
    let id: number;
    try {
      id = insertJob(this.db, {
        kind: start.kind,
        lane,
        title: prepared.title,
        input,
        owner: this.owner,
        datasetId: prepared.datasetId ?? null,
        runId: prepared.runId ?? null,
        parentJobId: options.parentJobId ?? null,
      });
    } catch (error) {
      // The job could not be recorded (a full disk): the rows prepare() made must not stay 'running' forever.
      this.safely(() =>
        spec.abandon?.(this.db, { id: 0, status: 'failed', error: firstLine(error), state: prepared.state, datasetId: prepared.datasetId ?? null, runId: prepared.runId ?? null }),
      );
      throw error;
    }
    heldInThisProcess.add(heldKey(this.db, id));
    let resolve: (finished: JobFinished) => void = () => undefined;
    const done = new Promise<JobFinished>((r) => (resolve = r));
    const job: LiveJob = {
      id,
      kind: start.kind,
      lane,
      title: prepared.title,
      spec,
      input,
      state: prepared.state,
      exclusiveKey: key,
      datasetId: prepared.datasetId ?? null,
      runId: prepared.runId ?? null,
      status: 'queued',
      controller: new AbortController(),
      progress: new ProgressThrottle({ id, kind: start.kind }, this.progressIntervalMs, {
        emit: (progress) => this.options.events.emit('jobs.progress', progress),
        save: (progress) => this.safely(() => saveJobProgress(this.db, id, progress)),
      }),
      queueKey: null,
      queuePosition: null,
      done,
      resolve,
      graceTimer: null,
    };
    this.live.set(id, job);
    this.pump();
    this.ensurePolling();
    return { job: this.info(id) };
  }

  /** Queued: cancelled at once. Running here: its signal aborts (ended after the kind's grace). Another live process's: requested. */
  cancel(id: number): { job: JobInfo; cancelled: boolean } {
    const job = this.live.get(id);
    if (job) {
      if (job.status === 'queued') {
        this.abandonQueued(job, 'cancelled', null);
        return { job: this.info(id), cancelled: true };
      }
      if (!job.controller.signal.aborted) {
        job.controller.abort();
        const grace = job.spec.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
        // Not unref'd: a job that ignores its signal must still be ended (and the CLI waiting for it answered).
        job.graceTimer = setTimeout(() => this.end(job, { status: 'cancelled', result: null, error: NOT_IN_TIME_MESSAGE }), grace);
      }
      return { job: this.info(id), cancelled: true };
    }
    const row = this.row(id);
    if (row.status !== 'queued' && row.status !== 'running') return { job: this.info(id), cancelled: false };
    if (!jobOwnerAlive(row, (other) => this.heldAnywhereHere(other))) {
      // Its process is gone: nobody will act on a request, so record the end now.
      finishJob(this.db, id, { status: 'cancelled', result: null, error: null });
      return { job: this.info(id), cancelled: true };
    }
    const requested = requestJobCancel(this.db, id);
    return { job: this.info(id), cancelled: requested };
  }

  list(filter: JobFilter = {}): JobInfo[] {
    return listJobs(this.db, filter).map((row) => this.toInfo(row));
  }

  get(id: number): { job: JobInfo; finished: JobFinished | null } {
    const row = this.row(id);
    return { job: this.toInfo(row), finished: this.finishedOf(row) };
  }

  /** Resolves when the job ends (another process's job: polled every pollMs). */
  async wait(id: number): Promise<JobFinished> {
    const job = this.live.get(id);
    if (job) return job.done;
    for (;;) {
      const ended = this.ended.get(id) ?? this.finishedOf(this.row(id));
      if (ended) return ended;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Active jobs (queued or running, any process) touching a dataset or run. */
  /**
   * Runs a small worker task with no job record (describe a preset, inspect a model) in the interactive worker, so
   * TensorFlow.js stays out of this process. Cancelled by `signal`; refused in words without worker processes.
   */
  async task<T extends WorkerTaskName>(
    task: T,
    input: TaskInput<T>,
    options: { signal?: AbortSignal; event?(e: TaskEvent<T>): void } = {},
  ): Promise<TaskResult<T>> {
    if (this.closing) throw new AppError('unavailable', 'Pawprint is closing; try again after it restarts.');
    const workers = this.options.workers;
    if (!workers) throw new AppError('unsupported', `This Pawprint cannot run the "${task}" task: no worker processes are available.`);
    return workers.run({ jobId: null, lane: 'interactive', task, input }, {
      signal: options.signal ?? new AbortController().signal,
      settings: { threads: 1, cacheDir: this.options.paths.cache, appVersion: this.options.appVersion, progressIntervalMs: this.progressIntervalMs },
      progress: () => undefined,
      event: (e) => options.event?.(e),
      log: () => undefined,
    });
  }

  activeFor(filter: { datasetId?: number; runId?: number; kind?: JobKind }): JobInfo[] {
    return this.list({ active: true, kind: filter.kind, limit: 1000 }).filter(
      (job) => (filter.datasetId === undefined || job.datasetId === filter.datasetId) && (filter.runId === undefined || job.runId === filter.runId),
    );
  }


  workerPid(jobId: number): number | null {
    return this.options.workers?.workerPid?.(jobId) ?? null;
  }

  /** Stops admitting, cancels everything, waits shutdownGraceMs, then records what is left as cancelled. */
  async close(): Promise<void> {
    this.closing = true;
    for (const job of [...this.live.values()]) {
      if (job.status === 'queued') this.abandonQueued(job, 'cancelled', CLOSED_MESSAGE);
      else job.controller.abort();
    }
    const running = [...this.live.values()];
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((job) => job.done)),
        new Promise((resolve) => (timer = setTimeout(resolve, this.shutdownGraceMs))),
      ]);
      clearTimeout(timer);
      for (const job of [...this.live.values()]) this.end(job, { status: 'cancelled', result: null, error: CLOSED_MESSAGE });
    }
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const timer of this.durableTimers) clearInterval(timer);
    this.durableTimers.clear();
    await this.options.workers?.close?.();
  }

  // ---- queue

  /** Admits queued jobs while their lane has room, FIFO, then tells the ones still waiting their position. */
  private pump(): void {
    if (this.closing) return;
    for (const lane of ['cpu', 'io', 'interactive'] as const) {
      const queued = [...this.live.values()].filter((job) => job.lane === lane && job.status === 'queued').sort((a, b) => a.id - b.id);
      for (const job of queued) {
        if (!this.admit(job)) break;
        this.launch(job);
      }
      this.reportPositions(lane);
    }
  }

  /** Live running rows of a lane: machine-wide for cpu (another app's training holds the slot), this runtime's otherwise. */
  private runningIds(lane: JobLane): number[] {
    if (lane !== 'cpu') return [...this.live.values()].filter((job) => job.lane === lane && job.status === 'running').map((job) => job.id);
    return runningInLane(this.db, 'cpu')
      .filter((row) => jobOwnerAlive(row, (id) => this.heldAnywhereHere(id)))
      .map((row) => row.id);
  }

  /** Queued jobs ahead in the lane's line (cpu: older queued jobs of any live process on this machine). */
  private waitingAhead(job: LiveJob): number[] {
    if (job.lane !== 'cpu') {
      return [...this.live.values()].filter((other) => other.lane === job.lane && other.status === 'queued' && other.id < job.id).map((o) => o.id);
    }
    return queuedInLane(this.db, 'cpu')
      .filter((row) => row.id < job.id && parseOwner(row.owner).host === parseOwner(this.owner).host)
      .filter((row) => jobOwnerAlive(row, (id) => this.heldAnywhereHere(id)))
      .map((row) => row.id);
  }

  private admit(job: LiveJob): boolean {
    const tryAdmit = () => {
      if (this.runningIds(job.lane).length >= this.capacity[job.lane]) return false;
      if (job.lane === 'cpu' && this.waitingAhead(job).length > 0) return false;
      return markJobRunning(this.db, job.id);
    };
    try {
      // cpu admission counts other processes' jobs: one write transaction, so two processes never both take the slot.
      return job.lane === 'cpu' ? this.db.transaction(tryAdmit).immediate() : tryAdmit();
    } catch {
      return false; // the catalogue is busy (another process holds the lock): the next poll tries again
    }
  }

  private reportPositions(lane: JobLane): void {
    const queued = [...this.live.values()].filter((job) => job.lane === lane && job.status === 'queued');
    if (queued.length === 0) return;
    let waitingFor: number[] = [];
    try {
      waitingFor = this.runningIds(lane);
    } catch {
      return;
    }
    for (const job of queued) {
      const position = this.waitingAhead(job).length + 1;
      const key = `${position}:${waitingFor.join(',')}`;
      if (key === job.queueKey) continue;
      job.queueKey = key;
      job.queuePosition = position;
      const first = waitingFor[0];
      const firstTitle = first === undefined ? null : (this.live.get(first)?.title ?? getJob(this.db, first)?.title ?? null);
      const message = first === undefined ? `waiting (position ${position})` : `waiting for #${first} ${clip(firstTitle ?? '', 120)} (position ${position})`.replace('  ', ' ');
      job.progress.push({ phase: 'queued', done: 0, total: null, etaSeconds: null, message, detail: { type: 'queue', position, waitingFor } });
    }
  }

  private ensurePolling(): void {
    if (this.pollTimer || this.closing) return;
    // Kept referenced while jobs live here: a CLI whose job waits for another process's cpu slot must not exit.
    this.pollTimer = setInterval(() => this.poll(), this.pollMs);
  }

  /** Another process's cancel requests, and the machine-wide cpu slot freed by another process. */
  private poll(): void {
    if (this.live.size === 0) {
      if (this.pollTimer) clearInterval(this.pollTimer);
      this.pollTimer = null;
      return;
    }
    try {
      for (const id of cancelRequested(this.db, [...this.live.keys()])) this.cancel(id);
    } catch {
      // the catalogue is busy: ask again at the next poll
    }
    this.pump();
  }

  // ---- running

  private launch(job: LiveJob): void {
    job.status = 'running';
    job.queuePosition = null;
    job.progress.push({ phase: 'starting', done: 0, total: null, etaSeconds: null, message: null, detail: null });
    const context = this.context(job);
    Promise.resolve()
      .then(() => job.spec.run(context, job.state, job.input as never))
      .then(
        (result) => this.end(job, job.controller.signal.aborted ? { status: 'cancelled', result, error: null } : { status: 'completed', result, error: null }),
        (error: unknown) => {
          const result = error instanceof JobFailure ? error.result : null;
          if (job.controller.signal.aborted) this.end(job, { status: 'cancelled', result, error: null });
          else this.end(job, { status: 'failed', result, error: reasonOf(error) });
        },
      );
  }

  private context(job: LiveJob): JobContext {
    const settings: TaskSettings = {
      threads: job.lane === 'cpu' ? Math.max(1, Math.floor(availableParallelism() / this.capacity.cpu)) : 1,
      cacheDir: this.options.paths.cache,
      appVersion: this.options.appVersion,
      progressIntervalMs: this.progressIntervalMs,
    };
    const log = (level: 'info' | 'warn', message: string) =>
      this.options.events.emit('jobs.log', { id: job.id, kind: job.kind, level, message: message.slice(0, 2000) });
    const progress = (p: TaskProgress) => {
      if (!this.live.has(job.id)) return;
      job.progress.push(JobProgressSchema.omit({ id: true, kind: true }).parse(p));
    };
    return {
      ...this.prepareContext(),
      id: job.id,
      signal: job.controller.signal,
      events: this.options.events,
      progress,
      log,
      setBackend: (status) => this.options.setBackend?.(status),
      worker: async (task, input, on) => {
        const workers = this.options.workers;
        if (!workers) throw new AppError('unsupported', `This Pawprint cannot run the "${task}" task: no worker processes are available.`);
        return workers.run({ jobId: job.id, lane: job.lane, task, input }, {
          signal: job.controller.signal,
          settings,
          progress: (p) => {
            const shaped = on?.progress ? on.progress(p) : p;
            if (shaped) progress(shaped);
          },
          log,
          event: (e) => on?.event?.(e),
        });
      },
      child: async <K extends JobKind>(kind: K, input: JobInput<K>) => {
        const { job: child } = await this.start({ kind, input } as JobStart, { parentJobId: job.id });
        const cancelChild = () => this.cancel(child.id);
        job.controller.signal.addEventListener('abort', cancelChild, { once: true });
        // The parent may have been cancelled while the child was being prepared: the listener would never fire.
        if (job.controller.signal.aborted) cancelChild();
        try {
          return (await this.wait(child.id)) as Extract<JobFinished, { kind: K }>;
        } finally {
          job.controller.signal.removeEventListener('abort', cancelChild);
        }
      },
      durable: (write) => this.durable(write),
    };
  }

  /** Tries a write now and, while it fails, every durableRetryMs (a full disk must not lose a run's end). */
  private durable(write: () => void): void {
    try {
      write();
      return;
    } catch {
      const timer = setInterval(() => {
        try {
          write();
          clearInterval(timer);
          this.durableTimers.delete(timer);
        } catch {
          // still failing: the next interval tries again
        }
      }, this.durableRetryMs);
      timer.unref?.();
      this.durableTimers.add(timer);
    }
  }

  private abandonQueued(job: LiveJob, status: 'cancelled' | 'failed', error: string | null): void {
    this.safely(() =>
      job.spec.abandon?.(this.db, { id: job.id, status, error: error ?? 'cancelled before it started', state: job.state, datasetId: job.datasetId, runId: job.runId }),
    );
    this.end(job, { status, result: null, error });
  }

  /** Records the end once: the row (retried while the write fails), the event, the waiters; then the next in line. */
  private end(job: LiveJob, outcome: { status: JobEndStatus; result: unknown; error: string | null }): void {
    if (this.live.get(job.id) !== job) return;
    this.live.delete(job.id);
    if (job.graceTimer) clearTimeout(job.graceTimer);
    job.progress.stop();
    let { status, result, error } = outcome;
    if (result !== null && result !== undefined) {
      const checked = JobResults[job.kind].safeParse(result);
      if (checked.success) result = checked.data;
      else if (status === 'completed') {
        status = 'failed';
        result = null;
        error = `${job.kind} job produced a result that does not match the contract: ${checked.error.issues[0]?.message ?? 'invalid'}`;
      } else result = null;
    } else result = null;
    const finished = JobFinishedSchema.parse({ id: job.id, kind: job.kind, status, result, error });
    this.ended.set(job.id, finished);
    this.durable(() => {
      finishJob(this.db, job.id, { status, result, error });
    });
    heldInThisProcess.delete(heldKey(this.db, job.id));
    this.options.workers?.jobEnded?.(job.id);
    this.options.events.emit('jobs.finished', finished);
    job.resolve(finished);
    this.pump();
  }

  // ---- reading

  private row(id: number): JobRow {
    const row = getJob(this.db, id);
    if (!row) throw new AppError('not-found', `No job ${id}; pawprint jobs lists the jobs.`);
    return row;
  }

  private info(id: number): JobInfo {
    return this.toInfo(this.row(id));
  }

  private toInfo(row: JobRow): JobInfo {
    const live = this.live.get(row.id);
    const ended = this.ended.get(row.id);
    const { host, pid } = parseOwner(row.owner);
    let progress: JobProgress | null = live?.progress.latest ?? null;
    if (!progress && row.progress_json) {
      const parsed = JobProgressSchema.safeParse(JSON.parse(row.progress_json));
      progress = parsed.success ? parsed.data : null;
    }
    return {
      id: row.id,
      kind: row.kind as JobKind,
      status: live?.status ?? ended?.status ?? row.status,
      lane: row.lane,
      title: row.title,
      datasetId: row.dataset_id,
      runId: row.run_id,
      owner: { host, pid, thisProcess: host === hostname() && pid === process.pid },
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      // Another runtime's queued job: the position it last reported (queue updates are always written through).
      queuePosition: live ? (live.status === 'queued' ? live.queuePosition : null) : row.status === 'queued' && progress?.detail?.type === 'queue' ? progress.detail.position : null,
      cancelRequested: row.cancel_requested === 1 || (live?.controller.signal.aborted ?? false),
      progress,
      error: ended?.error ?? row.error,
    };
  }

  private finishedOf(row: JobRow): JobFinished | null {
    const ended = this.ended.get(row.id);
    if (ended) return ended;
    if (row.status === 'queued' || row.status === 'running') return null;
    const parsed = JobFinishedSchema.safeParse({
      id: row.id,
      kind: row.kind,
      status: row.status,
      result: row.result_json === null ? null : JSON.parse(row.result_json),
      error: row.error,
    });
    return parsed.success ? parsed.data : null;
  }

  /** Bookkeeping that must not stop the runtime (a kind's abandon, a progress copy on a busy catalogue). */
  private safely(action: () => void): void {
    try {
      action();
    } catch {
      // the end of the job is still recorded and announced; the domain row is fixed by the next startup sweep
    }
  }
}
