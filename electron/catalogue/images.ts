// Write side of the images table: what the importer knows, inserts, moves and marks missing.
import type { Subset } from '../../shared/contract/datasets';
import { prepared, type Database } from './database';

export type ImageStatus = 'ok' | 'rejected' | 'duplicate' | 'missing';

/** What the importer knows about a file already in the catalogue (enough to skip it without reading it). */
export interface KnownImage {
  id: number;
  relPath: string;
  byteSize: number;
  mtimeMs: number;
  status: ImageStatus;
  contentHash: string | null;
  /** Why the file was rejected, or null. */
  reason: string | null;
}

export function knownImages(db: Database, datasetId: number): Map<string, KnownImage> {
  const rows = db
    .prepare(
      `SELECT id, rel_path AS relPath, byte_size AS byteSize, mtime_ms AS mtimeMs, status, content_hash AS contentHash, reason
         FROM images WHERE dataset_id = ?`,
    )
    .all(datasetId) as KnownImage[];
  return new Map(rows.map((row) => [row.relPath, row]));
}

/** Content hash → id of the decodable image that owns it (the "original" duplicates point to). */
export function hashOwners(db: Database, datasetId: number): Map<string, number> {
  const rows = db
    .prepare(`SELECT content_hash AS hash, MIN(id) AS id FROM images WHERE dataset_id = ? AND status = 'ok' AND content_hash IS NOT NULL GROUP BY content_hash`)
    .all(datasetId) as Array<{ hash: string; id: number }>;
  return new Map(rows.map((row) => [row.hash, row.id]));
}

export interface ImageRecord {
  relPath: string;
  contentHash: string | null;
  byteSize: number;
  mtimeMs: number;
  width: number | null;
  height: number | null;
  format: string | null;
  colorSpace: string | null;
  channels: number | null;
  hasAlpha: boolean | null;
  orientation: number | null;
  status: ImageStatus;
  reason: string | null;
  duplicateOf: number | null;
  folderLabel: string | null;
  folderSplit: Subset | null;
}

/** Inserts or refreshes the row for a path; returns its id (stable across re-imports, so labels stay attached). */
export function upsertImage(db: Database, datasetId: number, record: ImageRecord): number {
  const row = prepared(
    db,
    `INSERT INTO images (dataset_id, rel_path, content_hash, byte_size, mtime_ms, width, height, format, color_space, channels,
                           has_alpha, orientation, status, reason, duplicate_of, folder_label, folder_split)
       VALUES (@datasetId, @relPath, @contentHash, @byteSize, @mtimeMs, @width, @height, @format, @colorSpace, @channels,
               @hasAlpha, @orientation, @status, @reason, @duplicateOf, @folderLabel, @folderSplit)
       ON CONFLICT (dataset_id, rel_path) DO UPDATE SET
         content_hash = excluded.content_hash, byte_size = excluded.byte_size, mtime_ms = excluded.mtime_ms,
         width = excluded.width, height = excluded.height, format = excluded.format, color_space = excluded.color_space,
         channels = excluded.channels, has_alpha = excluded.has_alpha, orientation = excluded.orientation,
         status = excluded.status, reason = excluded.reason, duplicate_of = excluded.duplicate_of,
         folder_label = excluded.folder_label, folder_split = excluded.folder_split,
         imported_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       RETURNING id`,
  ).get({ ...record, datasetId, hasAlpha: record.hasAlpha === null ? null : Number(record.hasAlpha) }) as { id: number };
  return row.id;
}

/**
 * A file that vanished from one path and appeared at another with the same content was moved or renamed: keep its
 * row (id, labels, history, split membership) and only change where it lives.
 */
export function moveImage(db: Database, imageId: number, record: ImageRecord): void {
  prepared(
    db,
    `UPDATE images SET rel_path = @relPath, byte_size = @byteSize, mtime_ms = @mtimeMs, status = 'ok', reason = NULL,
       duplicate_of = NULL, folder_label = @folderLabel, folder_split = @folderSplit WHERE id = @id`,
  ).run({ id: imageId, relPath: record.relPath, byteSize: record.byteSize, mtimeMs: record.mtimeMs, folderLabel: record.folderLabel, folderSplit: record.folderSplit });
}

/** Files that were in the catalogue but are no longer on disk: kept (labels, history) but marked missing. */
export function markMissing(db: Database, ids: number[]): void {
  const update = prepared(db, `UPDATE images SET status = 'missing', reason = 'no longer on disk' WHERE id = ?`);
  for (const id of ids) update.run(id);
}

/**
 * Content hashes of the images any dataset can still train on (status ok): the decode cache keeps entries of these
 * only. One pass over the table; called after an import dropped content, not per file.
 */
export function liveContentHashes(db: Database): Set<string> {
  const rows = db.prepare(`SELECT DISTINCT content_hash AS hash FROM images WHERE status = 'ok' AND content_hash IS NOT NULL`).all() as Array<{ hash: string }>;
  return new Set(rows.map((row) => row.hash));
}
