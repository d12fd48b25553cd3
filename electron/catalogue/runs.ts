// Every SQL statement about training runs and their per-epoch metrics. The runs helper's run-admin.ts adds
// rename/notes/tags/delete on the same tables.
import type { Database } from './database';
import { ownerAlive, processOwner } from './process-owner';
import { AppError } from '../../shared/errors';
import { trainingConfigSchema, type TrainingConfig } from '../../shared/training-config';
import { RUN_LOG_KEEP, type EpochMetrics, type RunDetail, type RunLogLine, type RunStatus, type RunSummary, type TrainPhase } from '../../shared/contract/training';

interface RunRow {
  id: number;
  dataset_id: number | null;
  split_id: number | null;
  name: string;
  preset: string;
  config_json: string;
  class_names_json: string;
  status: RunStatus;
  error: string | null;
  backend: string | null;
  versions_json: string;
  seed: number;
  data_hash: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  best_epoch: number | null;
  best_val_accuracy: number | null;
  test_accuracy: number | null;
  test_loss: number | null;
  notes: string;
  tags_json: string;
  model_path: string | null;
  parent_run_id: number | null;
  owner: string | null;
  epochs_done: number;
}

interface EpochRow {
  phase: TrainPhase;
  epoch: number;
  loss: number | null;
  accuracy: number | null;
  val_loss: number | null;
  val_accuracy: number | null;
  duration_ms: number;
}

export const CRASHED_RUN_MESSAGE = 'the app closed while this run was training';

const nowIso = () => new Date().toISOString();

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function plannedEpochs(config: Partial<TrainingConfig>): number {
  const main = typeof config.epochs === 'number' ? config.epochs : 0;
  const fine = config.preset === 'mobilenetv2' && config.mobilenet && config.mobilenet.fineTuneBlocks > 0 ? config.mobilenet.fineTuneEpochs : 0;
  return main + fine;
}

function toSummary(row: RunRow): RunSummary {
  const config = parseJson<Partial<TrainingConfig>>(row.config_json, {});
  const start = row.started_at ? Date.parse(row.started_at) : null;
  const end = row.finished_at ? Date.parse(row.finished_at) : row.status === 'running' ? Date.now() : null;
  return {
    id: row.id,
    name: row.name,
    preset: row.preset,
    status: row.status,
    backend: row.backend,
    datasetId: row.dataset_id,
    splitId: row.split_id,
    bestEpoch: row.best_epoch,
    bestValAccuracy: row.best_val_accuracy,
    testAccuracy: row.test_accuracy,
    testLoss: row.test_loss,
    epochsDone: row.epochs_done,
    epochsPlanned: plannedEpochs(config),
    durationMs: start !== null && end !== null ? Math.max(0, end - start) : null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
    modelPath: row.model_path,
    notes: row.notes,
    tags: parseJson<string[]>(row.tags_json, []),
  };
}

const SELECT_RUN = `SELECT r.*, (SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) AS epochs_done FROM runs r`;

export interface NewRun {
  datasetId: number;
  splitId: number;
  name: string;
  config: TrainingConfig;
  classNames: string[];
  dataHash: string;
  parentRunId?: number | null;
}

/** Inserts a queued run and returns its id. */
export function createRun(db: Database, run: NewRun): number {
  const info = db
    .prepare(
      `INSERT INTO runs (dataset_id, split_id, name, preset, config_json, class_names_json, status, seed, data_hash, created_at, parent_run_id, owner)
       VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
    )
    .run(run.datasetId, run.splitId, run.name, run.config.preset, JSON.stringify(run.config), JSON.stringify(run.classNames),
      run.config.seed, run.dataHash, nowIso(), run.parentRunId ?? null, processOwner());
  return Number(info.lastInsertRowid);
}

/** The worker reported its backend: the run is now training. */
export function markRunning(db: Database, runId: number, backend: string, versions: Record<string, string>): void {
  db.prepare(`UPDATE runs SET status = 'running', backend = ?, versions_json = ?, started_at = COALESCE(started_at, ?) WHERE id = ? AND status IN ('queued', 'running')`)
    .run(backend, JSON.stringify(versions), nowIso(), runId);
}

/** Records (or replaces, if the worker resent it) one epoch's metrics. */
export function addEpoch(db: Database, runId: number, metrics: EpochMetrics): void {
  const finite = (v: number | null) => (v === null || !Number.isFinite(v) ? null : v);
  db.prepare(
    `INSERT INTO epochs (run_id, phase, epoch, loss, accuracy, val_loss, val_accuracy, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, epoch) DO UPDATE SET phase = excluded.phase, loss = excluded.loss, accuracy = excluded.accuracy,
       val_loss = excluded.val_loss, val_accuracy = excluded.val_accuracy, duration_ms = excluded.duration_ms`,
  ).run(runId, metrics.phase, metrics.epoch, finite(metrics.loss), finite(metrics.accuracy), finite(metrics.valLoss),
    finite(metrics.valAccuracy), metrics.durationMs);
}

export interface RunOutcome {
  status: Extract<RunStatus, 'completed' | 'cancelled' | 'failed'>;
  error?: string | null;
  bestEpoch?: number | null;
  bestValAccuracy?: number | null;
  testAccuracy?: number | null;
  testLoss?: number | null;
  modelPath?: string | null;
}

/** Final state of a run; only a run still queued or running can finish (a late message cannot overwrite it). */
export function finishRun(db: Database, runId: number, outcome: RunOutcome): boolean {
  const finite = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? null : v);
  const info = db
    .prepare(
      `UPDATE runs SET status = ?, error = ?, best_epoch = ?, best_val_accuracy = ?, test_accuracy = ?, test_loss = ?,
         model_path = ?, finished_at = ?, started_at = COALESCE(started_at, ?)
       WHERE id = ? AND status IN ('queued', 'running')`,
    )
    .run(outcome.status, outcome.error ?? null, outcome.bestEpoch ?? null, finite(outcome.bestValAccuracy), finite(outcome.testAccuracy),
      finite(outcome.testLoss), outcome.modelPath ?? null, nowIso(), nowIso(), runId);
  return info.changes > 0;
}

export function runEpochs(db: Database, runId: number): EpochMetrics[] {
  const rows = db
    .prepare('SELECT phase, epoch, loss, accuracy, val_loss, val_accuracy, duration_ms FROM epochs WHERE run_id = ? ORDER BY epoch')
    .all(runId) as EpochRow[];
  return rows.map((row) => ({
    phase: row.phase,
    epoch: row.epoch,
    loss: row.loss,
    accuracy: row.accuracy,
    valLoss: row.val_loss,
    valAccuracy: row.val_accuracy,
    durationMs: row.duration_ms,
  }));
}

export function findRun(db: Database, runId: number): RunSummary | null {
  const row = db.prepare(`${SELECT_RUN} WHERE r.id = ?`).get(runId) as RunRow | undefined;
  return row ? toSummary(row) : null;
}

export function getRun(db: Database, runId: number): RunDetail {
  const row = db.prepare(`${SELECT_RUN} WHERE r.id = ?`).get(runId) as RunRow | undefined;
  if (!row) throw new AppError('not-found', `Run ${runId} does not exist.`);
  const parsed = trainingConfigSchema.safeParse(parseJson(row.config_json, {}));
  if (!parsed.success) throw new AppError('internal', `Run ${runId} has a config this version cannot read.`);
  return {
    ...toSummary(row),
    config: parsed.data,
    classNames: parseJson<string[]>(row.class_names_json, []),
    seed: row.seed,
    dataHash: row.data_hash,
    versions: parseJson<Record<string, string>>(row.versions_json, {}),
    parentRunId: row.parent_run_id,
    epochs: runEpochs(db, runId),
  };
}

export interface RunFilter {
  datasetId?: number;
  status?: RunStatus;
  limit?: number;
}

/** Newest first. */
export function listRuns(db: Database, filter: RunFilter = {}): RunSummary[] {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (filter.datasetId !== undefined) {
    where.push('r.dataset_id = ?');
    params.push(filter.datasetId);
  }
  if (filter.status !== undefined) {
    where.push('r.status = ?');
    params.push(filter.status);
  }
  const sql = `${SELECT_RUN}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.id DESC LIMIT ?`;
  const rows = db.prepare(sql).all(...params, filter.limit ?? 500) as RunRow[];
  return rows.map(toSummary);
}

/**
 * At startup, a run still queued or running whose owning process is gone was left by a crashed or killed app: mark
 * it failed (its epochs stay). Runs of another live process (the CLI beside the desktop app) are left alone.
 * Returns the ids it changed.
 */
export function failInterruptedRuns(db: Database, message = CRASHED_RUN_MESSAGE): number[] {
  if (db.readonly) return []; // a read-only catalogue is only browsed
  const rows = db.prepare(`SELECT id, owner FROM runs WHERE status IN ('queued', 'running')`).all() as Array<{ id: number; owner: string | null }>;
  const ids = rows.filter((row) => !ownerAlive(row.owner)).map((row) => row.id);
  const update = db.prepare(`UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`);
  db.transaction(() => {
    for (const id of ids) update.run(message, nowIso(), id);
  })();
  return ids;
}

/** Longest message kept (what jobs.log carries). */
const RUN_LOG_MESSAGE_MAX = 2000;

export interface RunLogEntry {
  level: 'info' | 'warn';
  message: string;
  /** ISO time the line was logged (it may be written a moment later, in a batch). */
  at: string;
}

/**
 * Appends lines to a run's log in one transaction and drops the oldest beyond `keep` (RUN_LOG_KEEP: a long or chatty
 * run cannot grow it without bound). A run deleted meanwhile takes nothing: the foreign key would refuse its lines, so
 * they are skipped instead.
 */
export function appendRunLog(db: Database, runId: number, lines: readonly RunLogEntry[], keep = RUN_LOG_KEEP): void {
  if (lines.length === 0) return;
  const insert = db.prepare('INSERT INTO run_log (run_id, at, level, message) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)');
  const trim = db.prepare(
    `DELETE FROM run_log WHERE run_id = ? AND seq <= (SELECT seq FROM run_log WHERE run_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
  );
  db.transaction(() => {
    for (const line of lines) insert.run(runId, line.at, line.level, line.message.slice(0, RUN_LOG_MESSAGE_MAX), runId);
    trim.run(runId, runId, keep);
  })();
}

/** A run's log lines in order; `afterSeq` answers only the lines written after that one (a page following a run). */
export function runLog(db: Database, runId: number, afterSeq = 0): RunLogLine[] {
  return db
    .prepare('SELECT seq, at, level, message FROM run_log WHERE run_id = ? AND seq > ? ORDER BY seq')
    .all(runId, afterSeq) as RunLogLine[];
}
