// How the CLI follows a long task: every kind reports through jobs.progress / jobs.log and ends with jobs.finished, so
// one follower prints progress lines (throttled; a phase change or a new queue position at once) and resolves on the
// end. Ctrl+C asks the runtime to cancel the job; the command decides the exit code from the end, as before.
import type { JobFinished, JobInfo, JobKind, JobProgress } from '../../shared/contract/jobs';
import type { Services } from '../services/index';
import type { CommandContext } from './command';
import { terminalSafe } from './terminal-text';
import { timeLeftWords } from '../../shared/time-left';

export const PROGRESS_LINE_INTERVAL_MS = 2000;

export interface FollowOptions {
  /** The line for a progress report, or null to print none (the command prints its own, e.g. epoch lines). */
  describe(progress: JobProgress): string | null;
  /** Prints the job's log lines (jobs.log). */
  logs?: boolean;
  /** Said once when Ctrl+C asks for the cancel. */
  cancelNotice?: string;
}

/** Queue and phase words shared by every kind: "waiting for #7 Train cnn (position 1)". */
export function queueLine(progress: JobProgress): string | null {
  return progress.phase === 'queued' ? (progress.message ?? 'waiting for a free slot') : null;
}

/**
 * Starts a job through `start` and waits for its jobs.finished. Listens before starting, so an end that comes before
 * `start` answers is not missed.
 */
export async function runJob(services: Services, context: CommandContext, start: () => Promise<JobInfo>, options: FollowOptions): Promise<{ job: JobInfo; finished: JobFinished }> {
  let id: number | null = null;
  const early: JobFinished[] = [];
  const pending: JobProgress[] = [];
  let resolveFinished!: (finished: JobFinished) => void;
  const finished = new Promise<JobFinished>((resolve) => (resolveFinished = resolve));
  let lastLineAt = -Infinity;
  let lastKey = '';
  const print = (progress: JobProgress) => {
    const line = queueLine(progress) ?? options.describe(progress);
    if (line === null) return;
    const key = `${progress.phase}:${progress.detail?.type === 'queue' ? progress.detail.position : ''}`;
    const now = Date.now();
    if (key === lastKey && now - lastLineAt < PROGRESS_LINE_INTERVAL_MS) return;
    lastKey = key;
    lastLineAt = now;
    context.log(terminalSafe(line));
  };
  const stop = services.app.events.onAny((name, payload) => {
    if (name === 'jobs.finished') {
      const event = payload as JobFinished;
      if (id === null) early.push(event);
      else if (event.id === id) resolveFinished(event);
    } else if (name === 'jobs.progress') {
      const progress = payload as JobProgress;
      if (id === null) pending.push(progress);
      else if (progress.id === id) print(progress);
    } else if (name === 'jobs.log' && options.logs) {
      const event = payload as { id: number; message: string };
      if (event.id === id) context.log(terminalSafe(event.message));
    }
  });
  const cancel = () => {
    if (id === null) return;
    if (options.cancelNotice) context.log(options.cancelNotice);
    services.request('jobs.cancel', { id }).catch(() => undefined);
  };
  try {
    const job = await start();
    id = job.id;
    for (const progress of pending.splice(0)) if (progress.id === id) print(progress);
    const ended = early.find((event) => event.id === id);
    if (ended) resolveFinished(ended);
    if (context.signal.aborted) cancel();
    else context.signal.addEventListener('abort', cancel, { once: true });
    return { job, finished: await finished };
  } finally {
    stop();
    context.signal.removeEventListener('abort', cancel);
  }
}

/**
 * Progress of the jobs a request starts and waits for itself (runs.evaluate, export.run, export.predict answer richer
 * documents than their job's result): this process's jobs of that kind, printed until `stop` is called.
 */
export function followOwnJobs(
  services: Services, context: CommandContext, kind: JobKind, describe: (progress: JobProgress) => string | null,
  /** Repeat a phase's line at most this often (Infinity: once per phase). */
  intervalMs = PROGRESS_LINE_INTERVAL_MS,
): () => void {
  const mine = new Map<number, boolean>();
  let lastLineAt = -Infinity;
  let lastKey = '';
  return services.app.events.onAny((name, payload) => {
    if (name !== 'jobs.progress') return;
    const progress = payload as JobProgress;
    if (progress.kind !== kind) return;
    let own = mine.get(progress.id);
    if (own === undefined) {
      try {
        own = services.app.jobs.get(progress.id).job.owner.thisProcess;
      } catch {
        own = false;
      }
      mine.set(progress.id, own);
    }
    if (!own) return;
    const line = queueLine(progress) ?? describe(progress);
    if (line === null) return;
    const key = `${progress.id}:${progress.phase}:${progress.detail?.type === 'queue' ? progress.detail.position : ''}`;
    const now = Date.now();
    if (key === lastKey && now - lastLineAt < intervalMs) return;
    lastKey = key;
    lastLineAt = now;
    context.log(terminalSafe(line));
  });
}

/** "12/40" or "12" while the total is unknown. */
export const count = (progress: JobProgress) => (progress.total === null ? `${Math.round(progress.done)}` : `${Math.round(progress.done)}/${Math.round(progress.total)}`);

/** ", about 3 min left" (the runtime's smoothed ETA, in the Jobs panel's words), or nothing while there is none. */
export const etaText = (progress: JobProgress) => {
  const words = timeLeftWords(progress.etaSeconds);
  return words === null ? '' : `, ${words}`;
};
