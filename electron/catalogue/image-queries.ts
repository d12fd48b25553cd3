// Read side of the images table: the grid's pages, id lists for selections, one image's detail, samples.
import { AppError } from '../../shared/errors';
import type { ImageDetail, ImageFilter, ImageItem, Subset } from '../../shared/contract/datasets';
import type { Database } from './database';
import type { ImageStatus } from './images';
import { labelHistory } from './labels';
import { latestSplitId } from './splits';
import { absoluteImagePath } from './image-paths';

function filterSql(db: Database, datasetId: number, filter: ImageFilter): { where: string; params: unknown[]; splitId: number | null } {
  const clauses = ['i.dataset_id = ?'];
  const params: unknown[] = [datasetId];
  const status = filter.status ?? 'ok';
  if (status !== 'all') {
    clauses.push('i.status = ?');
    params.push(status);
  }
  if (filter.unlabelled) clauses.push('l.image_id IS NULL');
  else if (filter.classId !== undefined) {
    clauses.push('l.class_id = ?');
    params.push(filter.classId);
  }
  const splitId = latestSplitId(db, datasetId);
  if (filter.subset !== undefined) {
    clauses.push('sa.subset = ?');
    params.push(filter.subset);
  }
  return { where: clauses.join(' AND '), params, splitId };
}

const FROM = `FROM images i LEFT JOIN labels l ON l.image_id = i.id
              LEFT JOIN split_assignments sa ON sa.image_id = i.id AND sa.split_id = ?`;

export function queryImages(db: Database, datasetId: number, filter: ImageFilter, offset: number, limit: number): { total: number; items: ImageItem[] } {
  const { where, params, splitId } = filterSql(db, datasetId, filter);
  const total = (db.prepare(`SELECT COUNT(*) AS n ${FROM} WHERE ${where}`).get(splitId ?? -1, ...params) as { n: number }).n;
  const rows = db
    .prepare(
      `SELECT i.id, i.rel_path AS relPath, i.status, i.reason, l.class_id AS classId, l.source AS labelSource, sa.subset,
              i.width, i.height
         ${FROM} WHERE ${where} ORDER BY i.rel_path LIMIT ? OFFSET ?`,
    )
    .all(splitId ?? -1, ...params, limit, offset) as ImageItem[];
  return { total, items: rows };
}

export function queryImageIds(db: Database, datasetId: number, filter: ImageFilter): number[] {
  const { where, params, splitId } = filterSql(db, datasetId, filter);
  return (db.prepare(`SELECT i.id ${FROM} WHERE ${where} ORDER BY i.rel_path`).all(splitId ?? -1, ...params) as Array<{ id: number }>).map(
    (row) => row.id,
  );
}

interface FullRow {
  id: number;
  dataset_id: number;
  rel_path: string;
  content_hash: string | null;
  byte_size: number;
  width: number | null;
  height: number | null;
  format: string | null;
  color_space: string | null;
  channels: number | null;
  has_alpha: number | null;
  orientation: number | null;
  status: ImageStatus;
  reason: string | null;
  duplicate_of: number | null;
  folder_label: string | null;
  imported_at: string;
  root_path: string;
  class_id: number | null;
  class_name: string | null;
  label_source: 'folder' | 'manual' | null;
}

export function imageDetail(db: Database, imageId: number): ImageDetail {
  const row = db
    .prepare(
      `SELECT i.*, d.root_path, l.class_id, l.source AS label_source, c.name AS class_name
         FROM images i JOIN datasets d ON d.id = i.dataset_id
         LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN classes c ON c.id = l.class_id
        WHERE i.id = ?`,
    )
    .get(imageId) as FullRow | undefined;
  if (!row) throw new AppError('not-found', `Image ${imageId} does not exist.`);
  const splitId = latestSplitId(db, row.dataset_id);
  const subset = splitId === null
    ? undefined
    : (db.prepare('SELECT subset FROM split_assignments WHERE split_id = ? AND image_id = ?').get(splitId, imageId) as { subset: Subset } | undefined);
  return {
    id: row.id,
    datasetId: row.dataset_id,
    relPath: row.rel_path,
    path: absoluteImagePath(row.root_path, row.rel_path),
    status: row.status,
    reason: row.reason,
    classId: row.class_id,
    className: row.class_name,
    labelSource: row.label_source,
    subset: subset?.subset ?? null,
    width: row.width,
    height: row.height,
    byteSize: row.byte_size,
    format: row.format,
    colorSpace: row.color_space,
    channels: row.channels,
    hasAlpha: row.has_alpha === null ? null : row.has_alpha === 1,
    orientation: row.orientation,
    contentHash: row.content_hash,
    duplicateOf: row.duplicate_of,
    folderLabel: row.folder_label,
    importedAt: row.imported_at,
    history: labelHistory(db, imageId),
  };
}

/** Image ids per class for the "random row per class" preview: decodable images, shuffled by a seeded hash of the id. */
export function sampleImages(db: Database, datasetId: number, perClass: number, seed: number): Array<{ classId: number; className: string; imageIds: number[] }> {
  const classes = db.prepare('SELECT id, name FROM classes WHERE dataset_id = ? ORDER BY position, id').all(datasetId) as Array<{ id: number; name: string }>;
  // A multiplicative hash of (id, seed) orders rows pseudo-randomly but repeatably, without loading every id.
  const pick = db.prepare(
    `SELECT i.id FROM images i JOIN labels l ON l.image_id = i.id
      WHERE l.class_id = ? AND i.status = 'ok'
      ORDER BY ((i.id * 2654435761 + ? * 40503) % 4294967291) LIMIT ?`,
  );
  return classes.map((cls) => ({
    classId: cls.id,
    className: cls.name,
    imageIds: (pick.all(cls.id, seed, perClass) as Array<{ id: number }>).map((row) => row.id),
  }));
}

export function imageFileInfo(db: Database, imageId: number): { path: string; contentHash: string | null; format: string | null; status: ImageStatus } | null {
  const row = db
    .prepare(`SELECT i.rel_path, i.content_hash, i.format, i.status, d.root_path FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE i.id = ?`)
    .get(imageId) as { rel_path: string; content_hash: string | null; format: string | null; status: ImageStatus; root_path: string } | undefined;
  if (!row) return null;
  return { path: absoluteImagePath(row.root_path, row.rel_path), contentHash: row.content_hash, format: row.format, status: row.status };
}
