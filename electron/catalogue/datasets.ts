import { AppError } from '../../shared/errors';
import type { DatasetSummary, ImportSummary, RejectedFile, Subset } from '../../shared/contract/datasets';
import type { Database } from './database';
import { classesWithCounts, listClasses } from './labels';
import { latestSplitRow, splitInfoOf } from './splits';
import { ownerAlive, processOwner } from './process-owner';

export type Layout = 'folders' | 'tutorial' | 'flat';

export interface DatasetRow {
  id: number;
  name: string;
  root_path: string;
  layout: Layout;
  created_at: string;
  last_import_at: string | null;
}

export function getDatasetRow(db: Database, datasetId: number): DatasetRow {
  const row = db.prepare('SELECT * FROM datasets WHERE id = ?').get(datasetId) as DatasetRow | undefined;
  if (!row) throw new AppError('not-found', `Dataset ${datasetId} does not exist.`);
  return row;
}

export function findDatasetByRoot(db: Database, rootPath: string): DatasetRow | undefined {
  return db.prepare('SELECT * FROM datasets WHERE root_path = ? ORDER BY id LIMIT 1').get(rootPath) as DatasetRow | undefined;
}

/** By id ("3") or by exact name; the CLI's <dataset> argument. */
export function resolveDataset(db: Database, ref: string): DatasetRow {
  const byName = db.prepare('SELECT * FROM datasets WHERE name = ?').get(ref) as DatasetRow | undefined;
  if (byName) return byName;
  if (/^\d+$/.test(ref)) {
    const byId = db.prepare('SELECT * FROM datasets WHERE id = ?').get(Number(ref)) as DatasetRow | undefined;
    if (byId) return byId;
  }
  const names = (db.prepare('SELECT name FROM datasets ORDER BY id').all() as Array<{ name: string }>).map((row) => row.name);
  throw new AppError('not-found', `No dataset "${ref}"${names.length > 0 ? ` (have: ${names.join(', ')})` : ' (import a folder first)'}.`);
}

/** A free name based on `wanted` ("pets", "pets (2)", ...). */
export function uniqueDatasetName(db: Database, wanted: string): string {
  const taken = db.prepare('SELECT 1 FROM datasets WHERE name = ?');
  if (!taken.get(wanted)) return wanted;
  for (let n = 2; ; n++) if (!taken.get(`${wanted} (${n})`)) return `${wanted} (${n})`;
}

export function createDataset(db: Database, name: string, rootPath: string, layout: Layout): DatasetRow {
  if (db.prepare('SELECT 1 FROM datasets WHERE name = ?').get(name)) {
    throw new AppError('conflict', `A dataset named "${name}" already exists; choose another name.`);
  }
  const info = db.prepare('INSERT INTO datasets (name, root_path, layout) VALUES (?, ?, ?)').run(name, rootPath, layout);
  return getDatasetRow(db, Number(info.lastInsertRowid));
}

export function setDatasetLayout(db: Database, datasetId: number, layout: Layout): void {
  db.prepare('UPDATE datasets SET layout = ? WHERE id = ?').run(layout, datasetId);
}

export function renameDataset(db: Database, datasetId: number, name: string): void {
  getDatasetRow(db, datasetId);
  const clash = db.prepare('SELECT id FROM datasets WHERE name = ? AND id <> ?').get(name, datasetId);
  if (clash) throw new AppError('conflict', `A dataset named "${name}" already exists.`);
  db.prepare('UPDATE datasets SET name = ? WHERE id = ?').run(name, datasetId);
}

export function deleteDataset(db: Database, datasetId: number): void {
  getDatasetRow(db, datasetId);
  db.prepare('DELETE FROM datasets WHERE id = ?').run(datasetId);
}

export function datasetSummary(db: Database, datasetId: number): DatasetSummary {
  const row = getDatasetRow(db, datasetId);
  // Per status from images_by_status_path alone; the excluded ones (issue 15) are counted from their own table and
  // taken out of their status's count, so no count walks all rows twice. CROSS JOIN keeps SQLite from driving the
  // exclusions' count from the dataset's images (a probe of image_exclusions per image: 55 ms at 100,000 images for
  // a handful of exclusions, 14 ms this way; bench/count-queries.ts).
  const byStatus = db
    .prepare(`SELECT status, COUNT(*) AS n FROM images WHERE dataset_id = ? GROUP BY status`)
    .all(datasetId) as Array<{ status: 'ok' | 'rejected' | 'duplicate' | 'missing'; n: number }>;
  const excludedByStatus = db
    .prepare(`SELECT i.status, COUNT(*) AS n FROM image_exclusions x CROSS JOIN images i ON i.id = x.image_id WHERE i.dataset_id = ? GROUP BY i.status`)
    .all(datasetId) as Array<{ status: 'ok' | 'rejected' | 'duplicate' | 'missing'; n: number }>;
  const counts = { ok: 0, rejected: 0, duplicate: 0, missing: 0, excluded: 0, labelled: 0, unlabelled: 0 };
  for (const { status, n } of byStatus) counts[status] += n;
  for (const { status, n } of excludedByStatus) {
    counts[status] -= n;
    counts.excluded += n;
  }
  // One walk of the dataset's decodable images gives the class counts and the latest split's counts together: both
  // count the labelled, not excluded ones, the split those it assigned (subset NULL: not in it). Two walks (listClasses,
  // latestSplit) took about half as long again at 100,000 images (bench/count-queries.ts).
  const split = latestSplitRow(db, datasetId);
  const counted = db
    .prepare(
      `SELECT l.class_id AS classId, sa.subset, COUNT(*) AS n FROM images i JOIN labels l ON l.image_id = i.id
         LEFT JOIN split_assignments sa ON sa.split_id = ? AND sa.image_id = i.id
         LEFT JOIN image_exclusions x ON x.image_id = i.id
        WHERE i.dataset_id = ? AND i.status = 'ok' AND x.image_id IS NULL
        GROUP BY l.class_id, sa.subset`,
    )
    .all(split?.id ?? -1, datasetId) as Array<{ classId: number; subset: Subset | null; n: number }>;
  const perClass = new Map<number, number>();
  for (const { classId, n } of counted) perClass.set(classId, (perClass.get(classId) ?? 0) + n);
  const classes = classesWithCounts(db, datasetId, perClass);
  counts.labelled = classes.reduce((sum, cls) => sum + cls.count, 0);
  counts.unlabelled = counts.ok - counts.labelled;
  return {
    id: row.id,
    name: row.name,
    rootPath: row.root_path,
    layout: row.layout,
    createdAt: row.created_at,
    lastImportAt: row.last_import_at,
    counts,
    classes,
    latestSplit: split
      ? splitInfoOf(
          split,
          classes.flatMap((cls) =>
            counted.flatMap(({ classId, subset, n }) => (classId === cls.id && subset !== null ? [{ className: cls.name, subset, n }] : [])),
          ),
        )
      : null,
  };
}

export function listDatasets(db: Database): DatasetSummary[] {
  const ids = db.prepare('SELECT id FROM datasets ORDER BY id').all() as Array<{ id: number }>;
  return ids.map(({ id }) => datasetSummary(db, id));
}

// ---- import bookkeeping -------------------------------------------------------------------------------------------

export interface ImportCounters {
  scanned: number;
  imported: number;
  unchanged: number;
  duplicates: number;
  rejected: number;
  missing: number;
}

export function startImportRow(db: Database, datasetId: number): number {
  const info = db
    .prepare(`INSERT INTO imports (dataset_id, started_at, status, owner) VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'running', ?)`)
    .run(datasetId, processOwner());
  return Number(info.lastInsertRowid);
}

export function updateImportRow(db: Database, importId: number, counters: ImportCounters): void {
  db.prepare(
    `UPDATE imports SET scanned = @scanned, imported = @imported, unchanged = @unchanged, duplicates = @duplicates,
       rejected = @rejected, missing = @missing WHERE id = @id`,
  ).run({ ...counters, id: importId });
}

export function finishImportRow(
  db: Database,
  importId: number,
  status: 'completed' | 'cancelled' | 'failed',
  counters: ImportCounters,
  error: string | null,
): void {
  db.transaction(() => {
    updateImportRow(db, importId, counters);
    db.prepare(`UPDATE imports SET status = ?, error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`).run(
      status,
      error,
      importId,
    );
    if (status === 'completed') {
      db.prepare(
        `UPDATE datasets SET last_import_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = (SELECT dataset_id FROM imports WHERE id = ?)`,
      ).run(importId);
    }
  })();
}

export const INTERRUPTED_IMPORT_MESSAGE = 'interrupted (Pawprint stopped during the import)';

/**
 * Imports left 'running' by a crashed or killed process can never finish: say so instead of showing them as live.
 * An import whose process is still running (the desktop app beside the CLI) is left alone. A read-only catalogue is
 * only browsed, so it is not changed. Returns the ids it failed.
 */
export function failStaleImports(db: Database): number[] {
  if (db.readonly) return [];
  const rows = db.prepare(`SELECT id, owner FROM imports WHERE status = 'running'`).all() as Array<{ id: number; owner: string | null }>;
  const ids = rows.filter((row) => !ownerAlive(row.owner)).map((row) => row.id);
  const update = db.prepare(
    `UPDATE imports SET status = 'failed', error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND status = 'running'`,
  );
  db.transaction(() => {
    for (const id of ids) update.run(INTERRUPTED_IMPORT_MESSAGE, id);
  })();
  return ids;
}

export function rejectedFiles(db: Database, datasetId: number): RejectedFile[] {
  return db
    .prepare(`SELECT rel_path AS path, COALESCE(reason, 'rejected') AS reason FROM images WHERE dataset_id = ? AND status = 'rejected' ORDER BY rel_path`)
    .all(datasetId) as RejectedFile[];
}

/** Images per class (decodable, not excluded), as the import summary reports them. */
export function classCounts(db: Database, datasetId: number): Record<string, number> {
  return Object.fromEntries(listClasses(db, datasetId).map((cls) => [cls.name, cls.count]));
}

export function importSummary(db: Database, importId: number): ImportSummary {
  const row = db.prepare('SELECT * FROM imports WHERE id = ?').get(importId) as
    | (ImportCounters & { id: number; dataset_id: number; status: ImportSummary['status']; error: string | null; started_at: string; finished_at: string | null })
    | undefined;
  if (!row) throw new AppError('not-found', `Import ${importId} does not exist.`);
  const end = row.finished_at ? Date.parse(row.finished_at) : Date.now();
  return {
    importId: row.id,
    datasetId: row.dataset_id,
    status: row.status,
    imported: row.imported,
    unchanged: row.unchanged,
    duplicates: row.duplicates,
    missing: row.missing,
    rejected: rejectedFiles(db, row.dataset_id),
    classes: classCounts(db, row.dataset_id),
    error: row.error,
    seconds: Math.max(0, (end - Date.parse(row.started_at)) / 1000),
  };
}
