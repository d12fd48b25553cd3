// Run housekeeping after training: rename, notes, tags, delete, and the parent link of a "run again".
// Reads go through runs.ts (the training side owns the run rows' shape).
import type { Database } from './database';
import { AppError } from '../../shared/errors';
import { findRun } from './runs';
import type { RunSummary } from '../../shared/contract/training';

export interface RunEdit {
  name?: string;
  notes?: string;
  tags?: string[];
}

/** Tags are trimmed, de-duplicated case-insensitively (first spelling wins) and kept in the given order. */
export function normaliseTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    const key = tag.toLowerCase();
    if (!tag || seen.has(key)) continue;
    seen.add(key);
    out.push(tag);
  }
  return out;
}

export function updateRun(db: Database, runId: number, edit: RunEdit): RunSummary {
  const sets: string[] = [];
  const params: Array<string | number> = [];
  if (edit.name !== undefined) {
    const name = edit.name.trim();
    if (!name) throw new AppError('invalid-payload', 'A run name cannot be empty.');
    sets.push('name = ?');
    params.push(name);
  }
  if (edit.notes !== undefined) {
    sets.push('notes = ?');
    params.push(edit.notes);
  }
  if (edit.tags !== undefined) {
    sets.push('tags_json = ?');
    params.push(JSON.stringify(normaliseTags(edit.tags)));
  }
  if (sets.length > 0) {
    const info = db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`).run(...params, runId);
    if (info.changes === 0) throw new AppError('not-found', `Run ${runId} does not exist.`);
  }
  const run = findRun(db, runId);
  if (!run) throw new AppError('not-found', `Run ${runId} does not exist.`);
  return run;
}

/**
 * Deletes a run's row; its epochs, evaluations and predictions go with it (ON DELETE CASCADE) and runs that were
 * started from it lose their parent link (ON DELETE SET NULL). Returns the model path so the caller can remove
 * the files. A run still training cannot be deleted: cancel it first.
 */
export function deleteRunRow(db: Database, runId: number): { modelPath: string | null } {
  return db.transaction(() => {
    const row = db.prepare('SELECT status, model_path, name FROM runs WHERE id = ?').get(runId) as
      | { status: string; model_path: string | null; name: string }
      | undefined;
    if (!row) throw new AppError('not-found', `Run ${runId} does not exist.`);
    if (row.status === 'running' || row.status === 'queued') {
      throw new AppError('conflict', `Run "${row.name}" is still ${row.status}; cancel it before deleting it.`);
    }
    db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
    return { modelPath: row.model_path };
  })();
}

/** Records that `runId` was started by "run again" from `parentRunId`. */
export function setParentRun(db: Database, runId: number, parentRunId: number): void {
  db.prepare('UPDATE runs SET parent_run_id = ? WHERE id = ?').run(parentRunId, runId);
}

/** Model paths still referenced by some run (a folder shared by two rows must survive deleting one of them). */
export function isModelPathReferenced(db: Database, modelPath: string): boolean {
  return db.prepare('SELECT 1 FROM runs WHERE model_path = ? LIMIT 1').get(modelPath) !== undefined;
}
