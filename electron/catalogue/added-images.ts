// The catalogue side of "add this photo to the dataset" (Try it, issue 14): an added image joins the training subset
// of the current split, and undoing the add forgets the row the add created. The file copy is dataset/add-images.ts.
import type { Database } from './database';

/** The image's content hash and path if it is a row of this dataset, else undefined. */
export function addedImageRow(db: Database, datasetId: number, imageId: number): { relPath: string; contentHash: string | null } | undefined {
  return db
    .prepare('SELECT rel_path AS relPath, content_hash AS contentHash FROM images WHERE id = ? AND dataset_id = ?')
    .get(imageId, datasetId) as { relPath: string; contentHash: string | null } | undefined;
}

/** Puts one image into a split's training subset (a new member only: an existing assignment is never moved). */
export function assignToTraining(db: Database, splitId: number, imageId: number): void {
  db.prepare(`INSERT INTO split_assignments (split_id, image_id, subset) VALUES (?, ?, 'train') ON CONFLICT DO NOTHING`).run(splitId, imageId);
}

/** Forgets an added image's row; its label, history and split membership go with it (ON DELETE CASCADE). */
export function forgetAddedImage(db: Database, imageId: number): void {
  db.prepare('DELETE FROM images WHERE id = ?').run(imageId);
}

/** Whether a row (any status: a missing file's row keeps its labels) already holds this path in the dataset. */
export function relPathTaken(db: Database, datasetId: number, relPath: string): boolean {
  return db.prepare('SELECT 1 FROM images WHERE dataset_id = ? AND rel_path = ?').get(datasetId, relPath) !== undefined;
}

/** The path of a decodable image of the dataset with exactly these bytes, if there is one. */
export function imageWithContent(db: Database, datasetId: number, contentHash: string): string | undefined {
  const row = db
    .prepare(`SELECT rel_path AS relPath FROM images WHERE dataset_id = ? AND content_hash = ? AND status = 'ok' ORDER BY id LIMIT 1`)
    .get(datasetId, contentHash) as { relPath: string } | undefined;
  return row?.relPath;
}

/**
 * The id of the dataset's row at this path under its folder, or null (Try it relabels a dataset photo found by its
 * path). One lookup on the (dataset_id, rel_path) key; a path given with '/' also finds a row stored with '\\'.
 */
export function imageIdAtPath(db: Database, datasetId: number, relPath: string): number | null {
  const posix = relPath.replace(/\\/g, '/');
  const id = db
    .prepare('SELECT id FROM images WHERE dataset_id = ? AND rel_path IN (?, ?) ORDER BY id LIMIT 1')
    .pluck()
    .get(datasetId, posix, posix.replace(/\//g, '\\')) as number | undefined;
  return id ?? null;
}
