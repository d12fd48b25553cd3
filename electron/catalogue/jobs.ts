// All SQL of the jobs table (migration 005). The job runtime (electron/jobs/) keeps the live state in memory; these
// rows are what other processes see: `pawprint jobs`, a reloaded renderer, a second app waiting for the cpu slot.
import { hostname } from 'node:os';
import type { Database } from './database';
import { ownerAlive, parseOwner } from './process-owner';

export type JobRowStatus = 'queued' | 'running' | 'completed' | 'cancelled' | 'failed';
export type JobRowLane = 'cpu' | 'io' | 'interactive';
export type JobRowEndStatus = 'completed' | 'cancelled' | 'failed';

export interface JobRow {
  id: number;
  kind: string;
  lane: JobRowLane;
  status: JobRowStatus;
  title: string;
  input_json: string;
  result_json: string | null;
  error: string | null;
  dataset_id: number | null;
  run_id: number | null;
  parent_job_id: number | null;
  owner: string;
  cancel_requested: 0 | 1;
  progress_json: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

export interface NewJob {
  kind: string;
  lane: JobRowLane;
  title: string;
  input: unknown;
  owner: string;
  datasetId?: number | null;
  runId?: number | null;
  parentJobId?: number | null;
}

export function insertJob(db: Database, job: NewJob): number {
  const info = db
    .prepare(
      `INSERT INTO jobs (kind, lane, status, title, input_json, dataset_id, run_id, parent_job_id, owner)
       VALUES (@kind, @lane, 'queued', @title, @input, @datasetId, @runId, @parentJobId, @owner)`,
    )
    .run({
      kind: job.kind,
      lane: job.lane,
      title: job.title,
      input: JSON.stringify(job.input ?? null),
      datasetId: job.datasetId ?? null,
      runId: job.runId ?? null,
      parentJobId: job.parentJobId ?? null,
      owner: job.owner,
    });
  return Number(info.lastInsertRowid);
}

/** queued -> running; false when the job is no longer queued (cancelled meanwhile). */
export function markJobRunning(db: Database, id: number): boolean {
  return db.prepare(`UPDATE jobs SET status = 'running', started_at = ${NOW} WHERE id = ? AND status = 'queued'`).run(id).changes === 1;
}

/** Records the end, only from queued or running (like finishRun): a job is never ended twice. */
export function finishJob(db: Database, id: number, end: { status: JobRowEndStatus; result: unknown; error: string | null }): boolean {
  return (
    db
      .prepare(
        `UPDATE jobs SET status = @status, result_json = @result, error = @error, finished_at = ${NOW}
         WHERE id = @id AND status IN ('queued', 'running')`,
      )
      .run({ id, status: end.status, result: end.result === null || end.result === undefined ? null : JSON.stringify(end.result), error: end.error })
      .changes === 1
  );
}

export function saveJobProgress(db: Database, id: number, progress: unknown): void {
  db.prepare(`UPDATE jobs SET progress_json = ? WHERE id = ? AND status IN ('queued', 'running')`).run(JSON.stringify(progress), id);
}

/** Asks the owning process to cancel (it polls); false when the job has already ended. */
export function requestJobCancel(db: Database, id: number): boolean {
  return db.prepare(`UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status IN ('queued', 'running')`).run(id).changes === 1;
}

/** Of these job ids, the ones another process asked to cancel. */
export function cancelRequested(db: Database, ids: readonly number[]): number[] {
  if (ids.length === 0) return [];
  return db
    .prepare(`SELECT id FROM jobs WHERE cancel_requested = 1 AND status IN ('queued', 'running') AND id IN (${ids.map(() => '?').join(',')})`)
    .pluck()
    .all(...ids) as number[];
}

export interface JobFilter {
  active?: boolean;
  kind?: string;
  limit?: number;
}

/** Newest first. */
export function listJobs(db: Database, filter: JobFilter = {}): JobRow[] {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: filter.limit ?? 100 };
  if (filter.active) where.push(`status IN ('queued', 'running')`);
  if (filter.kind !== undefined) {
    where.push('kind = @kind');
    params.kind = filter.kind;
  }
  return db
    .prepare(`SELECT * FROM jobs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`)
    .all(params) as JobRow[];
}

export function getJob(db: Database, id: number): JobRow | undefined {
  return db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
}

/** Running jobs of a lane owned by processes on this machine (cross-process admission counts the live ones). */
export function runningInLane(db: Database, lane: JobRowLane): JobRow[] {
  const rows = db.prepare(`SELECT * FROM jobs WHERE lane = ? AND status = 'running' ORDER BY id`).all(lane) as JobRow[];
  const here = hostname();
  return rows.filter((row) => parseOwner(row.owner).host === here);
}

/** Queued jobs of a lane, oldest first (FIFO across processes). */
export function queuedInLane(db: Database, lane: JobRowLane): JobRow[] {
  return db.prepare(`SELECT * FROM jobs WHERE lane = ? AND status = 'queued' ORDER BY id`).all(lane) as JobRow[];
}

export function activeJobsFor(db: Database, filter: { datasetId?: number; runId?: number; kind?: string }): JobRow[] {
  const where = [`status IN ('queued', 'running')`];
  if (filter.datasetId !== undefined) where.push('dataset_id = @datasetId');
  if (filter.runId !== undefined) where.push('run_id = @runId');
  if (filter.kind !== undefined) where.push('kind = @kind');
  return db.prepare(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY id`).all(filter) as JobRow[];
}

/**
 * Whether the process recorded on a job row is still running it. Another process: ownerAlive. This process: only
 * when a live runtime here holds the job (two services in one process, as tests and `pawprint jobs` do, must not
 * fail each other's jobs, and a job this process recorded before a reopen is not running any more).
 */
export function jobOwnerAlive(row: Pick<JobRow, 'id' | 'owner'>, heldHere: (id: number) => boolean): boolean {
  const { host, pid } = parseOwner(row.owner);
  if (host === hostname() && pid === process.pid) return heldHere(row.id);
  return ownerAlive(row.owner);
}

export const INTERRUPTED_JOB_MESSAGE = 'interrupted (the Pawprint process running it stopped)';

/** Fails the queued and running jobs whose process is gone; returns the rows it failed. A read-only catalogue is left alone. */
export function failInterruptedJobs(db: Database, heldHere: (id: number) => boolean): JobRow[] {
  if (db.readonly) return [];
  return db.transaction(() => {
    const rows = db.prepare(`SELECT * FROM jobs WHERE status IN ('queued', 'running')`).all() as JobRow[];
    const dead = rows.filter((row) => !jobOwnerAlive(row, heldHere));
    for (const row of dead) finishJob(db, row.id, { status: 'failed', result: null, error: INTERRUPTED_JOB_MESSAGE });
    return dead;
  })();
}

/** Keeps the catalogue small (Try-it makes many jobs): finished jobs beyond the newest `keepPerKind` of a kind and older than `olderThanDays` go. */
export function pruneFinishedJobs(db: Database, options: { keepPerKind: number; olderThanDays: number }): number {
  if (db.readonly) return 0;
  return db
    .prepare(
      `DELETE FROM jobs WHERE status IN ('completed', 'cancelled', 'failed')
         AND finished_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', @age)
         AND id NOT IN (
           SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY kind ORDER BY id DESC) AS n FROM jobs) WHERE n <= @keep
         )
         AND id NOT IN (SELECT parent_job_id FROM jobs WHERE parent_job_id IS NOT NULL AND status IN ('queued', 'running'))`,
    )
    .run({ age: `-${options.olderThanDays} days`, keep: options.keepPerKind }).changes;
}

/** A run's completed jobs of one kind, newest first (the run page lists its exports); at most `limit`. */
export function completedJobsOfRun(db: Database, runId: number, kind: string, limit = 200): JobRow[] {
  return db
    .prepare(`SELECT * FROM jobs WHERE run_id = ? AND kind = ? AND status = 'completed' ORDER BY id DESC LIMIT ?`)
    .all(runId, kind, limit) as JobRow[];
}
