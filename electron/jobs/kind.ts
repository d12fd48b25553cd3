// The contract between the job runtime (WP3) and the job kinds (import, download, train, evaluate, export, predict):
// what a kind implements and what the runtime hands it (issue 12 §2.4). Types only, no TensorFlow.js.
import type { Database } from '../catalogue/database';
import type { AppPaths } from '../paths';
import type { EventName, EventPayload } from '../../shared/contract/index';
import type { BackendStatus } from '../../shared/contract/system';
import type { JobFinished, JobInput, JobKind, JobLane, JobResult } from '../../shared/contract/jobs';
import type { TaskProgress } from '../../shared/worker-task';
import type { TaskEvent, TaskInput, TaskResult, WorkerTaskName } from './worker/tasks';

/** Where a kind pushes contract events (runs.changed, training.epoch, ...); the services' EventBus satisfies it. */
export interface EventSink { emit<E extends EventName>(name: E, payload: EventPayload<E>): void }

export interface PrepareContext { db: Database; paths: AppPaths; appVersion: string; readonly: boolean }

export interface Prepared<S> {
  title: string;
  datasetId?: number | null;
  runId?: number | null;
  /** At most one active job per key ('import:dataset:3', 'download:tutorial'); a second start is refused with words. */
  exclusiveKey?: string;
  /** Kind-private state handed to run() (ids of rows prepare() created). */
  state: S;
}

export interface JobContext extends PrepareContext {
  id: number;
  signal: AbortSignal;
  events: EventSink;
  progress(p: TaskProgress): void;
  log(level: 'info' | 'warn', message: string): void;
  /** Updates app.backend and emits system.backendChanged. */
  setBackend(status: BackendStatus): void;
  /** Runs a task in this job's worker process (cpu lane) or the inference worker (interactive lane); progress and logs are forwarded; cancel reaches it. */
  worker<T extends WorkerTaskName>(
    task: T,
    input: TaskInput<T>,
    on?: {
      event?(e: TaskEvent<T>): void;
      /** Reshapes the task's progress as the job's (an evaluation says 'evaluating' for its predict batches); null drops it. */
      progress?(p: TaskProgress): TaskProgress | null;
    },
  ): Promise<TaskResult<T>>;
  /** Starts a child job and waits for it (download -> import); cancelling the parent cancels the child. */
  child<K extends JobKind>(kind: K, input: JobInput<K>): Promise<Extract<JobFinished, { kind: K }>>;
  /** A catalogue write that must not be lost (finishRun on a full disk): retried every 30 s until it succeeds. */
  durable(write: () => void): void;
}

export interface JobKindSpec<K extends JobKind, S = unknown> {
  kind: K;
  lane(input: JobInput<K>): JobLane;
  /** Checks the input against the catalogue and creates the kind's rows; refuses with words before anything is queued. */
  prepare(ctx: PrepareContext, input: JobInput<K>): Promise<Prepared<S>>;
  run(ctx: JobContext, state: S, input: JobInput<K>): Promise<JobResult<K>>;
  /** Fix domain rows when the job ends without run() finishing: cancelled while queued, or found interrupted at startup. */
  abandon?(
    db: Database,
    job: { id: number; status: 'cancelled' | 'failed'; error: string; state: S | null; datasetId: number | null; runId: number | null },
  ): void;
  /** How long a cancelled job's worker may take to stop before it is killed: train 60 000, default 10 000. */
  cancelGraceMs?: number;
}
