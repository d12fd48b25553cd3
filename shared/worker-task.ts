// What a worker task sees of the job that runs it: tasks (training, inference, export) live below electron/jobs/, so
// the types they share with the runtime live here, with no code. Issue 12 §2.2.
import type { JobProgress } from './contract/jobs';

export type TaskProgress = Omit<JobProgress, 'id' | 'kind'>;
export interface TaskSettings { threads: number; cacheDir: string; appVersion: string; progressIntervalMs: number }
/** What a worker task gets: the cancel signal and its three outputs. Implemented by jobs/worker/serve.ts (in a worker) and by the in-process test worker. */
export interface TaskIo<E = never> {
  signal: AbortSignal;
  settings: TaskSettings;
  progress(p: TaskProgress): void;
  event(e: E): void;
  log(level: 'info' | 'warn', message: string): void;
}
/**
 * One task implementation, as the task registries (training/worker/tasks.ts, inference/tasks.ts, export/tasks.ts)
 * hold it. Defined here rather than in jobs/worker/tasks.ts because those folders may not import jobs/.
 */
export type WorkerTask<I, R, E = never> = (input: I, io: TaskIo<E>) => Promise<R>;
