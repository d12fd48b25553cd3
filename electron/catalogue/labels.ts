import { AppError } from '../../shared/errors';
import type { ClassInfo, LabelChange } from '../../shared/contract/datasets';
import { prepared, type Database } from './database';

// Distinct, colour-blind friendly defaults (Okabe-Ito first), cycled by class position.
const PALETTE = ['#e69f00', '#56b4e9', '#009e73', '#f0e442', '#0072b2', '#d55e00', '#cc79a7', '#7f7f7f', '#9467bd', '#8c564b'];

export function defaultColor(position: number): string {
  return PALETTE[position % PALETTE.length]!;
}

interface ClassRow {
  id: number;
  dataset_id: number;
  name: string;
  color: string;
  position: number;
}

/**
 * Labelled images per class: decodable and not excluded (issue 15). One walk of the dataset's ok images over
 * images_by_status_path (no table rows read), probing each one's label and exclusion by primary key (an anti-join:
 * a correlated NOT EXISTS per row cost several times more at 100,000 rows).
 */
function labelCounts(db: Database, datasetId: number, classId?: number): Map<number, number> {
  const rows = db
    .prepare(
      `SELECT l.class_id AS classId, COUNT(*) AS n FROM images i JOIN labels l ON l.image_id = i.id
         LEFT JOIN image_exclusions x ON x.image_id = i.id
        WHERE i.dataset_id = ? AND i.status = 'ok' ${classId === undefined ? '' : 'AND l.class_id = ?'} AND x.image_id IS NULL
        GROUP BY l.class_id`,
    )
    .all(...(classId === undefined ? [datasetId] : [datasetId, classId])) as Array<{ classId: number; n: number }>;
  return new Map(rows.map((row) => [row.classId, row.n]));
}

export function listClasses(db: Database, datasetId: number): ClassInfo[] {
  return classesWithCounts(db, datasetId, labelCounts(db, datasetId));
}

/** The dataset's classes in order, with their labelled images counted by the caller (the dataset summary's one walk). */
export function classesWithCounts(db: Database, datasetId: number, counts: Map<number, number>): ClassInfo[] {
  const classes = db
    .prepare('SELECT id, name, color, position FROM classes WHERE dataset_id = ? ORDER BY position, id')
    .all(datasetId) as Array<Omit<ClassInfo, 'count'>>;
  return classes.map((cls) => ({ ...cls, count: counts.get(cls.id) ?? 0 }));
}

export function getClass(db: Database, classId: number): ClassInfo & { datasetId: number } {
  const row = db.prepare('SELECT * FROM classes WHERE id = ?').get(classId) as ClassRow | undefined;
  if (!row) throw new AppError('not-found', `Class ${classId} does not exist.`);
  const count = labelCounts(db, row.dataset_id, classId).get(classId) ?? 0;
  return { id: row.id, name: row.name, color: row.color, position: row.position, count, datasetId: row.dataset_id };
}

/** Case-insensitive lookup: "Cats" and "cats" are one class to a person, so they must not become two. */
function findClassByName(db: Database, datasetId: number, name: string): ClassRow | undefined {
  return db.prepare('SELECT * FROM classes WHERE dataset_id = ? AND name = ? COLLATE NOCASE').get(datasetId, name) as ClassRow | undefined;
}

export function createClass(db: Database, datasetId: number, name: string, color?: string): ClassInfo {
  if (!db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(datasetId)) throw new AppError('not-found', `Dataset ${datasetId} does not exist.`);
  if (findClassByName(db, datasetId, name)) throw new AppError('conflict', `There is already a class named "${name}".`);
  const position = (db.prepare('SELECT COALESCE(MAX(position) + 1, 0) AS p FROM classes WHERE dataset_id = ?').get(datasetId) as { p: number }).p;
  const info = db
    .prepare('INSERT INTO classes (dataset_id, name, color, position) VALUES (?, ?, ?, ?)')
    .run(datasetId, name, color ?? defaultColor(position), position);
  return getClass(db, Number(info.lastInsertRowid));
}

/** The id of the class with this name, created when missing (folder labels on import). */
export function ensureClass(db: Database, datasetId: number, name: string): number {
  return findClassByName(db, datasetId, name)?.id ?? createClass(db, datasetId, name).id;
}

export function renameClass(db: Database, classId: number, name: string): ClassInfo {
  const current = getClass(db, classId);
  const clash = findClassByName(db, current.datasetId, name);
  if (clash && clash.id !== classId) throw new AppError('conflict', `There is already a class named "${clash.name}".`);
  db.prepare('UPDATE classes SET name = ? WHERE id = ?').run(name, classId);
  return getClass(db, classId);
}

export function recolourClass(db: Database, classId: number, color: string): ClassInfo {
  getClass(db, classId);
  db.prepare('UPDATE classes SET color = ? WHERE id = ?').run(color, classId);
  return getClass(db, classId);
}

/** Deletes a class; its images become unlabelled, and each loses its label in its history too. */
export function deleteClass(db: Database, classId: number): number {
  getClass(db, classId);
  return db.transaction(() => {
    const images = db.prepare('SELECT image_id FROM labels WHERE class_id = ?').all(classId) as Array<{ image_id: number }>;
    const history = db.prepare(`INSERT INTO label_history (image_id, class_name, source) VALUES (?, NULL, 'manual')`);
    for (const { image_id } of images) history.run(image_id);
    db.prepare('DELETE FROM classes WHERE id = ?').run(classId);
    return images.length;
  })();
}

export interface LabelRow {
  image_id: number;
  class_id: number;
  source: 'folder' | 'manual';
}

export function labelOf(db: Database, imageId: number): LabelRow | undefined {
  return db.prepare('SELECT image_id, class_id, source FROM labels WHERE image_id = ?').get(imageId) as LabelRow | undefined;
}

/**
 * Sets each image's label to exactly the given class (null = unlabelled) as a person's decision; rows already at that
 * value are left alone, so replaying the same call (undo, redo, a retry) changes nothing. One transaction.
 */
export type LabelSource = 'folder' | 'manual';

/** A change with the source the label had before it, so an undo can put the source back too (see restoreLabels). */
export type SourcedLabelChange = LabelChange & { beforeSource: LabelSource | null };

export function setLabels(db: Database, datasetId: number, wanted: Array<{ imageId: number; classId: number | null }>): SourcedLabelChange[] {
  const imageDataset = db.prepare('SELECT dataset_id FROM images WHERE id = ?');
  const classDataset = db.prepare('SELECT dataset_id, name FROM classes WHERE id = ?');
  const current = db.prepare('SELECT class_id, source FROM labels WHERE image_id = ?');
  const upsert = db.prepare(
    `INSERT INTO labels (image_id, class_id, source) VALUES (?, ?, 'manual')
       ON CONFLICT (image_id) DO UPDATE SET class_id = excluded.class_id, source = 'manual',
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  );
  const remove = db.prepare('DELETE FROM labels WHERE image_id = ?');
  const history = db.prepare(`INSERT INTO label_history (image_id, class_name, source) VALUES (?, ?, 'manual')`);
  return db.transaction(() => {
    const classNames = new Map<number, string>();
    const changes: SourcedLabelChange[] = [];
    const seen = new Set<number>();
    for (const { imageId, classId } of wanted) {
      if (seen.has(imageId)) continue;
      seen.add(imageId);
      const image = imageDataset.get(imageId) as { dataset_id: number } | undefined;
      if (!image || image.dataset_id !== datasetId) throw new AppError('not-found', `Image ${imageId} is not in dataset ${datasetId}.`);
      if (classId !== null && !classNames.has(classId)) {
        const cls = classDataset.get(classId) as { dataset_id: number; name: string } | undefined;
        if (!cls || cls.dataset_id !== datasetId) throw new AppError('not-found', `Class ${classId} is not in dataset ${datasetId}.`);
        classNames.set(classId, cls.name);
      }
      const before = current.get(imageId) as { class_id: number; source: string } | undefined;
      const beforeId = before?.class_id ?? null;
      if (beforeId === classId) {
        // Confirming a folder label by hand makes it a manual one: a later re-import must keep it.
        if (before && before.source !== 'manual') upsert.run(imageId, classId);
        continue;
      }
      if (classId === null) remove.run(imageId);
      else upsert.run(imageId, classId);
      history.run(imageId, classId === null ? null : classNames.get(classId)!);
      changes.push({ imageId, before: beforeId, after: classId, beforeSource: (before?.source as LabelSource | undefined) ?? null });
    }
    return changes;
  })();
}

/**
 * Undoes label changes: each image gets back its class and the source that label had. A label that came from its
 * folder is a folder label again, and the manual decision being undone leaves the history, so a re-import follows
 * the folder as before (setLabels would have made it 'manual', and re-imports then ignore the image). An image that
 * was unlabelled with no decision of its own is back to that too. Restoring a manual label is a manual decision.
 */
export function restoreLabels(db: Database, datasetId: number, entries: Array<{ imageId: number; classId: number | null; source: LabelSource | null }>): SourcedLabelChange[] {
  return db.transaction(() => {
    const changes = setLabels(db, datasetId, entries.map(({ imageId, classId }) => ({ imageId, classId })));
    // A set, not a search of `changes` per entry: an undo of 100,000 relabelled images stays linear.
    const changedIds = new Set(changes.map((change) => change.imageId));
    const setFolder = db.prepare(`UPDATE labels SET source = 'folder' WHERE image_id = ?`);
    const newestManual = db.prepare(`SELECT id FROM label_history WHERE image_id = ? AND source = 'manual' ORDER BY id DESC LIMIT 1`);
    const forget = db.prepare('DELETE FROM label_history WHERE id = ?');
    for (const { imageId, classId, source } of entries) {
      if (source === 'manual') continue;
      if (source === 'folder' && classId !== null) setFolder.run(imageId);
      // Two rows to forget when this restore wrote one itself: the undone decision and the restore's own row.
      for (let i = 0; i < (changedIds.has(imageId) ? 2 : 1); i++) {
        const row = newestManual.get(imageId) as { id: number } | undefined;
        if (row) forget.run(row.id);
      }
    }
    return changes;
  })();
}

/** Folder label from an import: never replaces a label a person set (source 'manual'). */
export function applyFolderLabel(db: Database, imageId: number, classId: number, className: string): boolean {
  // Called once per imported file: its statements are prepared once per connection.
  const before = prepared(db, 'SELECT image_id, class_id, source FROM labels WHERE image_id = ?').get(imageId) as LabelRow | undefined;
  if (before && (before.source === 'manual' || before.class_id === classId)) return false;
  // A person who removed or changed this image's label decided; the folder name must not undo that.
  if (prepared(db, `SELECT 1 FROM label_history WHERE image_id = ? AND source = 'manual' LIMIT 1`).get(imageId)) return false;
  prepared(
    db,
    `INSERT INTO labels (image_id, class_id, source) VALUES (?, ?, 'folder')
       ON CONFLICT (image_id) DO UPDATE SET class_id = excluded.class_id, source = 'folder', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(imageId, classId);
  prepared(db, `INSERT INTO label_history (image_id, class_name, source) VALUES (?, ?, 'folder')`).run(imageId, className);
  return true;
}

export function labelHistory(db: Database, imageId: number): Array<{ className: string | null; source: string; at: string }> {
  return db
    .prepare('SELECT class_name AS className, source, at FROM label_history WHERE image_id = ? ORDER BY id')
    .all(imageId) as Array<{ className: string | null; source: string; at: string }>;
}
