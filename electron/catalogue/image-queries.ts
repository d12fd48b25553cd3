// Read side of the images table: the grid's pages, id lists for selections, one image's detail, samples.
import { AppError } from '../../shared/errors';
import type { ImageDetail, ImageFilter, ImageItem, Subset } from '../../shared/contract/datasets';
import type { Database } from './database';
import type { ImageStatus } from './images';
import { labelHistory } from './labels';
import { latestSplitId } from './splits';
import { absoluteImagePath } from './image-paths';

/**
 * A grid filter as joins on `images i`. Anti-joins (LEFT JOIN ... IS NULL) and plain joins rather than correlated
 * EXISTS subqueries: at 100,000 rows a correlated subquery per row cost 5 times the walk itself and led SQLite to
 * probe labels in a worse order (bench/grid-queries.ts). SQLite still walks images_by_status_path (migration 008) in
 * rel_path order for a page, so finding a page's ids needs neither a sort nor the table rows. Excluded images (issue 15)
 * are left out of every filter but 'excluded', which shows only them; 'all' shows everything, excluded ones included.
 */
function filterSql(db: Database, datasetId: number, filter: ImageFilter): { from: string; params: unknown[] } {
  const joins: string[] = [];
  const joinParams: unknown[] = [];
  const clauses = ['i.dataset_id = ?'];
  const params: unknown[] = [datasetId];
  if (filter.unlabelled) {
    joins.push('LEFT JOIN labels l ON l.image_id = i.id');
    clauses.push('l.image_id IS NULL');
  } else if (filter.classId !== undefined) {
    joins.push('JOIN labels l ON l.image_id = i.id AND l.class_id = ?');
    joinParams.push(filter.classId);
  }
  if (filter.subset !== undefined) {
    // No split yet: nothing is in any subset.
    joins.push('JOIN split_assignments sa ON sa.split_id = ? AND sa.image_id = i.id AND sa.subset = ?');
    joinParams.push(latestSplitId(db, datasetId) ?? -1, filter.subset);
  }
  // Last: a LEFT JOIN is never reordered, and the exclusion probe is the one most rows pass.
  const status = filter.status ?? 'ok';
  if (status === 'excluded') joins.push('JOIN image_exclusions x ON x.image_id = i.id');
  else if (status !== 'all') {
    joins.push('LEFT JOIN image_exclusions x ON x.image_id = i.id');
    clauses.push('i.status = ?', 'x.image_id IS NULL');
    params.push(status);
  }
  return { from: `FROM images i ${joins.join(' ')} WHERE ${clauses.join(' AND ')}`, params: [...joinParams, ...params] };
}

/** How many images match a filter: asked once per filter change (not per page). */
export function countImages(db: Database, datasetId: number, filter: ImageFilter): number {
  const { from, params } = filterSql(db, datasetId, filter);
  return (db.prepare(`SELECT COUNT(*) AS n ${from}`).get(...params) as { n: number }).n;
}

/**
 * One page of the grid. The page's ids come from the index alone (OFFSET steps over index entries: measured at
 * 100,000 rows in bench/grid-queries.ts); only those 200 rows are then read with their label and subset.
 * `total` is counted only when asked: the grid asks with its first page after a filter change.
 */
export function queryImages(
  db: Database,
  datasetId: number,
  filter: ImageFilter,
  offset: number,
  limit: number,
  options: { withTotal?: boolean } = {},
): { total: number | null; items: ImageItem[] } {
  const { from, params } = filterSql(db, datasetId, filter);
  const splitId = latestSplitId(db, datasetId);
  const rows = db
    .prepare(
      `SELECT i.id, i.rel_path AS relPath, i.status, i.reason, l.class_id AS classId, l.source AS labelSource, sa.subset,
              i.width, i.height, EXISTS (SELECT 1 FROM image_exclusions x WHERE x.image_id = i.id) AS excluded
         FROM (SELECT i.id ${from} ORDER BY i.rel_path LIMIT ? OFFSET ?) AS page
         JOIN images i ON i.id = page.id
         LEFT JOIN labels l ON l.image_id = i.id
         LEFT JOIN split_assignments sa ON sa.split_id = ? AND sa.image_id = i.id
        ORDER BY i.rel_path`,
    )
    .all(...params, limit, offset, splitId ?? -1) as Array<Omit<ImageItem, 'excluded'> & { excluded: number }>;
  const items = rows.map((row) => ({ ...row, excluded: row.excluded === 1 }));
  return { total: options.withTotal === false ? null : countImages(db, datasetId, filter), items };
}

/** Ids of the images matching a filter in grid order: all of them ("select all filtered"), or rows [offset, offset + limit) (a shift-click range over pages not loaded). */
export function queryImageIds(db: Database, datasetId: number, filter: ImageFilter, range?: { offset: number; limit: number }): number[] {
  const { from, params } = filterSql(db, datasetId, filter);
  const page = range ? ' LIMIT ? OFFSET ?' : '';
  const pageParams = range ? [range.limit, range.offset] : [];
  return (db.prepare(`SELECT i.id ${from} ORDER BY i.rel_path${page}`).all(...params, ...pageParams) as Array<{ id: number }>).map(
    (row) => row.id,
  );
}

/**
 * The next image needing a label (status ok, no label) after `afterImageId` in a view's order (rel_path), wrapping to
 * the view's start, and its row in the view (what the grid focuses); null when the view has none. Both lookups walk
 * images_by_status_path from a rel_path bound: the first hit, then a count of the view's rows before it (index
 * entries only), never the pages in between (the Label view used to fetch the grid page by page to find it).
 */
export function nextUnlabelledImage(db: Database, datasetId: number, filter: ImageFilter, afterImageId: number | null): { imageId: number; index: number } | null {
  const status = filter.status ?? 'ok';
  // A class's view holds only labelled images; the rejected, duplicate and missing views hold no decodable ones.
  if (filter.classId !== undefined && !filter.unlabelled) return null;
  if (status !== 'ok' && status !== 'all' && status !== 'excluded') return null;
  const after =
    afterImageId === null
      ? undefined
      : (db.prepare('SELECT rel_path FROM images WHERE id = ? AND dataset_id = ?').get(afterImageId, datasetId) as { rel_path: string } | undefined)?.rel_path;
  const wanted = filterSql(db, datasetId, { ...filter, unlabelled: true });
  const okOnly = status === 'ok' ? '' : ` AND i.status = 'ok'`;
  const firstAfter = (bound: string | undefined) =>
    db
      .prepare(`SELECT i.id, i.rel_path AS relPath ${wanted.from}${okOnly}${bound === undefined ? '' : ' AND i.rel_path > ?'} ORDER BY i.rel_path LIMIT 1`)
      .get(...wanted.params, ...(bound === undefined ? [] : [bound])) as { id: number; relPath: string } | undefined;
  const found = (after === undefined ? undefined : firstAfter(after)) ?? firstAfter(undefined);
  if (!found) return null;
  const view = filterSql(db, datasetId, filter);
  const index = (db.prepare(`SELECT COUNT(*) AS n ${view.from} AND i.rel_path < ?`).get(...view.params, found.relPath) as { n: number }).n;
  return { imageId: found.id, index };
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
    excluded: db.prepare('SELECT 1 FROM image_exclusions WHERE image_id = ?').get(imageId) !== undefined,
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
