// One progress stream per job: at most one event per interval (a phase change and the final step always go out at
// once, and the last throttled value follows when the interval ends, so the bar never stops short), an ETA computed
// (smoothed, see eta.ts) when the kind gives none, and a catalogue copy at most once a second for other processes.
import type { JobProgress } from '../../shared/contract/jobs';
import type { TaskProgress } from '../../shared/worker-task';
import { EtaEstimator } from './eta';

export const CATALOGUE_PROGRESS_INTERVAL_MS = 1000;

export interface ProgressSinks {
  emit(progress: JobProgress): void;
  save(progress: JobProgress): void;
}

export class ProgressThrottle {
  private lastEmitAt = -Infinity;
  private lastSaveAt = -Infinity;
  private lastPhase: string | null = null;
  private pending: JobProgress | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly estimator = new EtaEstimator();
  /** The newest value, emitted or not (jobs.list shows it). */
  latest: JobProgress | null = null;

  constructor(
    private readonly job: Pick<JobProgress, 'id' | 'kind'>,
    private readonly intervalMs: number,
    private readonly sinks: ProgressSinks,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(input: TaskProgress): void {
    const at = this.now();
    const phaseChanged = input.phase !== this.lastPhase;
    if (phaseChanged) {
      this.lastPhase = input.phase;
      this.estimator.restart(input.done, at);
    }
    // Fed with every report, also the ones a kind gives its own ETA for, so the rate is ready if it stops giving one.
    const derived = this.estimator.update(input.done, input.total, at);
    const progress: JobProgress = { ...input, id: this.job.id, kind: this.job.kind, etaSeconds: input.etaSeconds ?? derived };
    this.latest = progress;
    const final = input.total !== null && input.done >= input.total;
    if (phaseChanged || final || at - this.lastEmitAt >= this.intervalMs) {
      this.send(progress, at);
      return;
    }
    this.pending = progress;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const waiting = this.pending;
      if (waiting) this.send(waiting, this.now());
    }, Math.max(0, this.intervalMs - (at - this.lastEmitAt)));
    this.timer.unref?.();
  }

  /** Stops the trailing event (the job ended; jobs.finished follows). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  private send(progress: JobProgress, at: number): void {
    this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastEmitAt = at;
    this.sinks.emit(progress);
    // A phase change or a new queue position is written at once (rare, and what another process most wants to see).
    if (at - this.lastSaveAt >= CATALOGUE_PROGRESS_INTERVAL_MS || progress.phase !== this.savedPhase || progress.detail?.type === 'queue') {
      this.lastSaveAt = at;
      this.savedPhase = progress.phase;
      this.sinks.save(progress);
    }
  }

  private savedPhase: string | null = null;
}
