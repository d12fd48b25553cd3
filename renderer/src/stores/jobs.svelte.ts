import { transport } from '../lib/transport';
import { appStore } from './app.svelte';
import type { JobFinished, JobInfo, JobKind, JobProgress, JobStartIn } from '../../../shared/contract/index';
import { timeLeftWords } from '../../../shared/time-left';

/** What a store hears about a job: it became known (started here or elsewhere), it left the queue, or it ended. */
export type JobChange = 'added' | 'running' | 'finished';
export type JobListener = (job: JobInfo, change: JobChange, finished: JobFinished | null) => void;

/** Live train figures of a job (its latest progress detail), for the Train view's panel and run list. */
export type TrainFigures = Extract<NonNullable<JobProgress['detail']>, { type: 'train' }>;
export type ImportFigures = Extract<NonNullable<JobProgress['detail']>, { type: 'import' }>;

const RECENT_LIMIT = 20;
const isActive = (job: JobInfo) => job.status === 'queued' || job.status === 'running';

/**
 * Every long task (import, download, train, evaluate, export, predict) as the job runtime reports it: the only
 * renderer code that talks to jobs.*. It loads the active and recent jobs at start and after every reconnect (so a
 * reload shows what runs, with its last progress), follows jobs.progress/finished/log, starts and cancels jobs.
 * Other stores read job state here and hear about changes through `onChange`.
 */
class JobsStore {
  /** Known jobs, newest first: the active ones and the recently finished. */
  jobs = $state<JobInfo[]>([]);
  loaded = $state(false);
  /** The last lines of each job's log. */
  logs = $state<Record<number, string[]>>({});
  /** When each job's latest progress arrived (ms), so a running job's elapsed time follows its progress. */
  updatedAt = $state<Record<number, number>>({});
  /** The newest announced end of each job (results: an import's summary, a run's outcome...). */
  private finishedById = new Map<number, JobFinished>();
  private listeners = new Set<JobListener>();
  /** Jobs heard of by an event before jobs.get answered: their events wait here, in order. */
  private fetching = new Map<number, Array<{ progress?: JobProgress; finished?: JobFinished }>>();
  private firstLoad: Promise<void>;

  constructor() {
    transport.subscribe('jobs.progress', (progress) => this.onProgress(progress));
    transport.subscribe('jobs.finished', (finished) => this.onFinished(finished));
    transport.subscribe('jobs.log', (event) => {
      const lines = this.logs[event.id] ?? [];
      this.logs = { ...this.logs, [event.id]: [...lines.slice(-49), event.message] };
    });
    transport.onStateChange((state) => {
      if (state === 'open') void this.refresh();
    });
    this.firstLoad = this.refresh();
  }

  /** Resolves once the first list has loaded (the Train view waits for it before picking the run to watch). */
  ready(): Promise<void> {
    return this.firstLoad;
  }

  get active(): JobInfo[] {
    return this.jobs.filter(isActive).sort((a, b) => a.id - b.id);
  }

  get recentFinished(): JobInfo[] {
    return this.jobs.filter((job) => !isActive(job)).sort((a, b) => b.id - a.id).slice(0, RECENT_LIMIT);
  }

  get(id: number): JobInfo | undefined {
    return this.jobs.find((job) => job.id === id);
  }

  byKind(kind: JobKind): JobInfo[] {
    return this.jobs.filter((job) => job.kind === kind);
  }

  /** The newest job of this kind for a run (a train, evaluate or export job), active ones first. */
  forRun(runId: number, kind: JobKind): JobInfo | undefined {
    const jobs = this.jobs.filter((job) => job.runId === runId && job.kind === kind);
    return jobs.find(isActive) ?? jobs.sort((a, b) => b.id - a.id)[0];
  }

  activeOf(kind: JobKind): JobInfo | undefined {
    return this.active.find((job) => job.kind === kind);
  }

  finishedOf(id: number): JobFinished | undefined {
    return this.finishedById.get(id);
  }

  trainFigures(job: JobInfo | undefined): TrainFigures | null {
    const detail = job?.progress?.detail;
    return detail?.type === 'train' ? detail : null;
  }

  importFigures(job: JobInfo | undefined): ImportFigures | null {
    const detail = job?.progress?.detail;
    return detail?.type === 'import' ? detail : null;
  }

  /** "Queued — position 1, waiting for Train cnn on pets", from the queue detail the runtime reports. */
  queueText(job: JobInfo): string {
    const detail = job.progress?.detail;
    const position = job.queuePosition ?? (detail?.type === 'queue' ? detail.position : null);
    const firstId = detail?.type === 'queue' ? detail.waitingFor[0] : undefined;
    const waitedFor = firstId === undefined ? null : (this.get(firstId)?.title ?? `job ${firstId}`);
    return `Queued — ${position === null ? 'waiting' : `position ${position}`}${waitedFor ? `, waiting for ${waitedFor}` : ''}`;
  }

  /** "about 3 min left"; "estimating time left…" while a running job with a known total has no estimate yet. */
  timeLeftText(job: JobInfo): string {
    const progress = job.status === 'running' ? job.progress : null;
    if (!progress) return '';
    return timeLeftWords(progress.etaSeconds) ?? (progress.total !== null && progress.total > 0 ? 'estimating time left…' : '');
  }

  /** Seconds a running job has run, as of its latest progress. */
  elapsedSeconds(job: JobInfo): number | null {
    if (job.startedAt === null) return null;
    const until = job.finishedAt !== null ? Date.parse(job.finishedAt) : (this.updatedAt[job.id] ?? Date.now());
    return Math.max(0, (until - Date.parse(job.startedAt)) / 1000);
  }

  onChange(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The active jobs (whoever runs them) and the recent ones; a job's newer state already heard live is kept. */
  async refresh(): Promise<void> {
    try {
      const [active, recent] = await Promise.all([
        transport.invoke('jobs.list', { active: true, limit: 1000 }),
        transport.invoke('jobs.list', { limit: RECENT_LIMIT }),
      ]);
      // Plain records: this bookkeeping is local, only `this.jobs` is reactive.
      const byId: Record<number, JobInfo> = {};
      for (const job of [...recent.jobs, ...active.jobs]) byId[job.id] = job;
      const previous = this.jobs;
      // A job this page saw end stays ended even when the list was read a moment before the end.
      for (const job of previous) {
        const listed = byId[job.id];
        if (!isActive(job) && listed) byId[job.id] = { ...listed, status: job.status, error: job.error };
      }
      // Jobs that were active here and are no longer listed as active ended while the page was away.
      const gone = previous.filter((job) => isActive(job) && !active.jobs.some((a) => a.id === job.id));
      this.jobs = Object.values(byId).sort((a, b) => b.id - a.id);
      this.loaded = true;
      for (const job of active.jobs) if (!previous.some((known) => known.id === job.id)) this.announce(job, 'added', null);
      for (const job of gone) void this.recover(job.id);
    } catch (error) {
      appStore.report(error);
    }
  }

  /** Queues a job; answers its record (null when refused: the reason is shown). */
  async start(start: JobStartIn): Promise<JobInfo | null> {
    try {
      const { job } = await transport.invoke('jobs.start', start);
      if (!this.get(job.id)) {
        this.upsert(job);
        this.announce(job, 'added', null);
      }
      return this.get(job.id) ?? job;
    } catch (error) {
      appStore.report(error);
      return null;
    }
  }

  async cancel(id: number): Promise<void> {
    try {
      const { job } = await transport.invoke('jobs.cancel', { id });
      const known = this.get(id);
      // The end itself comes as jobs.finished; keep the cancel request visible meanwhile.
      if (known && isActive(known)) this.upsert({ ...known, cancelRequested: job.cancelRequested || isActive(job) });
      else if (!known) this.upsert(job);
    } catch (error) {
      appStore.report(error);
    }
  }

  // ---- events

  private onProgress(progress: JobProgress): void {
    const job = this.get(progress.id);
    if (!job) {
      this.fetchUnknown(progress.id, { progress });
      return;
    }
    if (!isActive(job)) return; // a late throttled value after the end
    const queued = progress.phase === 'queued';
    const next: JobInfo = {
      ...job,
      progress,
      status: queued ? 'queued' : 'running',
      queuePosition: queued && progress.detail?.type === 'queue' ? progress.detail.position : queued ? job.queuePosition : null,
      startedAt: queued ? job.startedAt : (job.startedAt ?? new Date().toISOString()),
    };
    this.updatedAt = { ...this.updatedAt, [job.id]: Date.now() };
    this.upsert(next);
    if (job.status === 'queued' && !queued) this.announce(next, 'running', null);
  }

  private onFinished(finished: JobFinished): void {
    const job = this.get(finished.id);
    if (!job) {
      this.fetchUnknown(finished.id, { finished });
      return;
    }
    this.finishedById.set(finished.id, finished);
    const next: JobInfo = {
      ...job, status: finished.status, error: finished.error, queuePosition: null, finishedAt: job.finishedAt ?? new Date().toISOString(),
    };
    this.upsert(next);
    this.announce(next, 'finished', finished);
  }

  /** A job started elsewhere (the CLI, another tab, a download's import): fetch its record, then replay its events. */
  private fetchUnknown(id: number, event: { progress?: JobProgress; finished?: JobFinished }): void {
    const waiting = this.fetching.get(id);
    if (waiting) {
      waiting.push(event);
      return;
    }
    const queue = [event];
    this.fetching.set(id, queue);
    void (async () => {
      try {
        const { job, finished } = await transport.invoke('jobs.get', { id });
        if (!this.get(id)) {
          this.upsert(finished ? { ...job, status: finished.status, error: finished.error } : job);
          if (finished) this.finishedById.set(id, finished);
          this.announce(this.get(id)!, 'added', null);
        }
      } catch {
        return; // a job deleted meanwhile: nothing to show
      } finally {
        this.fetching.delete(id);
      }
      for (const queued of queue) {
        if (queued.progress) this.onProgress(queued.progress);
        if (queued.finished) this.onFinished(queued.finished);
      }
    })();
  }

  /** A job that ended while the page was away (reload, dropped socket): its end as the catalogue recorded it. */
  private async recover(id: number): Promise<void> {
    try {
      const { job, finished } = await transport.invoke('jobs.get', { id });
      if (finished) this.onFinished(finished);
      else this.upsert(job);
    } catch {
      this.jobs = this.jobs.filter((job) => job.id !== id);
    }
  }

  private upsert(job: JobInfo): void {
    const index = this.jobs.findIndex((existing) => existing.id === job.id);
    if (index === -1) this.jobs = [job, ...this.jobs].sort((a, b) => b.id - a.id);
    else this.jobs = this.jobs.map((existing) => (existing.id === job.id ? job : existing));
  }

  private announce(job: JobInfo, change: JobChange, finished: JobFinished | null): void {
    for (const listener of this.listeners) {
      try {
        listener(job, change, finished);
      } catch (error) {
        appStore.report(error);
      }
    }
  }
}

export const jobsStore = new JobsStore();

/** "42 s", "3 min", "–": the ETA and elapsed time of jobs. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
