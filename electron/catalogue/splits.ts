import { createHash } from 'node:crypto';
import { AppError } from '../../shared/errors';
import type { SplitInfo, Subset } from '../../shared/contract/datasets';
import type { Database } from './database';

export interface SplitRow {
  id: number;
  dataset_id: number;
  method: 'stratified' | 'tutorial';
  seed: number;
  train_fraction: number;
  val_fraction: number;
  test_fraction: number;
  data_hash: string;
  created_at: string;
}

/**
 * The split a dataset gets when it is first trained without one (train kind's prepare): stratified 70/20/10, seed 1.
 * Made once; every later run trains on the dataset's latest split, so nothing is ever re-split behind the user's back.
 */
export const DEFAULT_SPLIT = { preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 } as const;
/** How the job log and the run's notes name it. */
export const DEFAULT_SPLIT_NAME = 'default (stratified 70/20/10, seed 1)';

/** What a split is made from: decodable labelled images, and the duplicates that must follow their original. */
export interface SplitCandidate {
  imageId: number;
  contentHash: string;
  className: string;
  folderSplit: Subset | null;
}

export function splitCandidates(db: Database, datasetId: number): { images: SplitCandidate[]; duplicates: Array<{ imageId: number; duplicateOf: number }> } {
  const images = db
    .prepare(
      `SELECT i.id AS imageId, i.content_hash AS contentHash, c.name AS className, i.folder_split AS folderSplit
         FROM images i JOIN labels l ON l.image_id = i.id JOIN classes c ON c.id = l.class_id
         LEFT JOIN image_exclusions x ON x.image_id = i.id
        WHERE i.dataset_id = ? AND i.status = 'ok' AND i.content_hash IS NOT NULL AND x.image_id IS NULL`,
    )
    .all(datasetId) as SplitCandidate[];
  // Ordered here, not by ORDER BY content_hash: that walked images_by_hash and read the table's rows in hash order,
  // all over the file (12.8 s of a 22 s split of 100,000 images at load 22). The seeded shuffles need a fixed order.
  images.sort((a, b) => (a.contentHash < b.contentHash ? -1 : a.contentHash > b.contentHash ? 1 : a.imageId - b.imageId));
  const duplicates = db
    .prepare(`SELECT id AS imageId, duplicate_of AS duplicateOf FROM images WHERE dataset_id = ? AND status = 'duplicate' AND duplicate_of IS NOT NULL`)
    .all(datasetId) as Array<{ imageId: number; duplicateOf: number }>;
  return { images, duplicates };
}

/** sha256 over the sorted "hash\tlabel\tsubset" lines: names the exact data a run saw, independent of row ids. */
export function dataHashOf(lines: Array<{ contentHash: string; className: string; subset: Subset }>): string {
  const text = lines.map((line) => `${line.contentHash}\t${line.className}\t${line.subset}`).sort().join('\n');
  return createHash('sha256').update(text).digest('hex');
}

export function insertSplit(
  db: Database,
  datasetId: number,
  spec: { method: 'stratified' | 'tutorial'; seed: number; train: number; val: number; test: number; dataHash: string },
  assignments: Map<number, Subset>,
): number {
  return db.transaction(() => {
    const info = db
      .prepare(
        `INSERT INTO splits (dataset_id, method, seed, train_fraction, val_fraction, test_fraction, data_hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(datasetId, spec.method, spec.seed, spec.train, spec.val, spec.test, spec.dataHash);
    const splitId = Number(info.lastInsertRowid);
    // In image id order (the assignment comes shuffled): both the primary key and split_assignments_by_image then
    // grow at their right edge instead of splitting pages all over, and one statement per 10,000 rows (json_each)
    // instead of one per row keeps a split of 100,000 images to a fraction of a second.
    const ordered = [...assignments].sort((a, b) => a[0] - b[0]);
    const insert = db.prepare(
      `INSERT INTO split_assignments (split_id, image_id, subset)
       SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)`,
    );
    for (let start = 0; start < ordered.length; start += 10_000) insert.run(splitId, JSON.stringify(ordered.slice(start, start + 10_000)));
    return splitId;
  })();
}

function toInfo(db: Database, row: SplitRow): SplitInfo {
  const counted = db
    .prepare(
      `SELECT c.name AS className, sa.subset, COUNT(*) AS n
         FROM split_assignments sa JOIN images i ON i.id = sa.image_id
         JOIN labels l ON l.image_id = i.id JOIN classes c ON c.id = l.class_id
         LEFT JOIN image_exclusions x ON x.image_id = i.id
        WHERE sa.split_id = ? AND i.status = 'ok' AND x.image_id IS NULL
        GROUP BY c.id, sa.subset ORDER BY c.position, c.id`,
    )
    .all(row.id) as Array<{ className: string; subset: Subset; n: number }>;
  return splitInfoOf(row, counted);
}

/** A split's info from its row and its images counted per class (in class order) and subset. */
export function splitInfoOf(row: SplitRow, counted: Array<{ className: string; subset: Subset; n: number }>): SplitInfo {
  const counts = { train: 0, val: 0, test: 0 };
  const perClass: SplitInfo['perClass'] = {};
  for (const { className, subset, n } of counted) {
    counts[subset] += n;
    (perClass[className] ??= { train: 0, val: 0, test: 0 })[subset] += n;
  }
  return {
    id: row.id,
    method: row.method,
    seed: row.seed,
    trainFraction: row.train_fraction,
    valFraction: row.val_fraction,
    testFraction: row.test_fraction,
    dataHash: row.data_hash,
    createdAt: row.created_at,
    counts,
    perClass,
  };
}

export function getSplit(db: Database, splitId: number): SplitInfo {
  const row = db.prepare('SELECT * FROM splits WHERE id = ?').get(splitId) as SplitRow | undefined;
  if (!row) throw new AppError('not-found', `Split ${splitId} does not exist.`);
  return toInfo(db, row);
}

export function latestSplitRow(db: Database, datasetId: number): SplitRow | undefined {
  return db.prepare('SELECT * FROM splits WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId) as SplitRow | undefined;
}

export function latestSplit(db: Database, datasetId: number): SplitInfo | null {
  const row = latestSplitRow(db, datasetId);
  return row ? toInfo(db, row) : null;
}

export function latestSplitId(db: Database, datasetId: number): number | null {
  const row = db.prepare('SELECT id FROM splits WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId) as { id: number } | undefined;
  return row?.id ?? null;
}

export function listSplits(db: Database, datasetId: number): SplitInfo[] {
  const rows = db.prepare('SELECT * FROM splits WHERE dataset_id = ? ORDER BY id DESC').all(datasetId) as SplitRow[];
  return rows.map((row) => toInfo(db, row));
}
