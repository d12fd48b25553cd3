import { AppError } from '../../shared/errors';
import type { Database } from './database';
import { dataHashOf, latestSplitId } from './splits';
import { getDatasetRow } from './datasets';
import { imageFileInfo } from './image-queries';
import { absoluteImagePath } from './image-paths';

// Re-exported for the importers that still name this file (catalogue/evaluations.ts, dataset/export-labels.ts).
export { absoluteImagePath };

export interface TrainingExample {
  imageId: number;
  /** Absolute path on disk. */
  path: string;
  contentHash: string;
  classIndex: number;
}

export interface TrainingData {
  datasetId: number;
  splitId: number;
  /** Class order = model output order (classes by their position in the dataset, only those with examples). */
  classNames: string[];
  /** sha256 over the sorted "hash\tlabel\tsubset" lines: the same data gives the same hash whatever the ids. */
  dataHash: string;
  train: TrainingExample[];
  val: TrainingExample[];
  test: TrainingExample[];
}

interface Row {
  image_id: number;
  rel_path: string;
  content_hash: string;
  subset: 'train' | 'val' | 'test';
  class_name: string;
  position: number;
  class_id: number;
}

/**
 * What a training run sees: the labelled, decodable, non-duplicate images of one split, with labels read now.
 * Images added after the split was made are not in it (make a new split to include them).
 */
export function loadTrainingData(db: Database, options: { datasetId: number; splitId?: number }): TrainingData {
  const dataset = getDatasetRow(db, options.datasetId);

  let splitId = options.splitId;
  if (splitId === undefined) {
    const latest = latestSplitId(db, dataset.id);
    if (latest === null) {
      throw new AppError(
        'conflict',
        `Dataset "${dataset.name}" has no split yet: create one (Dataset view → Split, or \`pawprint split ${dataset.id}\`) before training.`,
      );
    }
    splitId = latest;
  } else {
    const split = db.prepare('SELECT dataset_id FROM splits WHERE id = ?').get(splitId) as { dataset_id: number } | undefined;
    if (!split || split.dataset_id !== dataset.id) {
      throw new AppError('not-found', `Split ${splitId} does not exist for dataset "${dataset.name}".`);
    }
  }

  const rows = db
    .prepare(
      `SELECT i.id AS image_id, i.rel_path, i.content_hash, sa.subset, c.name AS class_name, c.position, c.id AS class_id
         FROM split_assignments sa
         JOIN images i ON i.id = sa.image_id
         JOIN labels l ON l.image_id = i.id
         JOIN classes c ON c.id = l.class_id
        WHERE sa.split_id = ? AND i.dataset_id = ? AND i.status = 'ok' AND i.content_hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM image_exclusions x WHERE x.image_id = i.id)
        ORDER BY i.id`,
    )
    .all(splitId, dataset.id) as Row[];

  const classOrder = new Map<number, { name: string; position: number }>();
  for (const row of rows) classOrder.set(row.class_id, { name: row.class_name, position: row.position });
  const ordered = [...classOrder.entries()].sort((a, b) => a[1].position - b[1].position || a[0] - b[0]);
  const classNames = ordered.map(([, value]) => value.name);
  if (classNames.length < 2) {
    throw new AppError(
      'conflict',
      `Dataset "${dataset.name}" has ${classNames.length === 0 ? 'no labelled images' : `only one class with labelled images (${classNames[0]})`} in split ${splitId}; training needs at least 2 classes.`,
    );
  }
  const indexOf = new Map(ordered.map(([id], index) => [id, index]));

  const data: TrainingData = { datasetId: dataset.id, splitId, classNames, dataHash: '', train: [], val: [], test: [] };
  const lines: Array<{ contentHash: string; className: string; subset: 'train' | 'val' | 'test' }> = [];
  for (const row of rows) {
    data[row.subset].push({
      imageId: row.image_id,
      path: absoluteImagePath(dataset.root_path, row.rel_path),
      contentHash: row.content_hash,
      classIndex: indexOf.get(row.class_id)!,
    });
    lines.push({ contentHash: row.content_hash, className: row.class_name, subset: row.subset });
  }
  for (const subset of ['train', 'val'] as const) {
    if (data[subset].length === 0) {
      throw new AppError(
        'conflict',
        `Split ${splitId} of "${dataset.name}" has no labelled images in its ${subset === 'train' ? 'training' : 'validation'} subset; label more images or make a new split.`,
      );
    }
  }
  data.dataHash = dataHashOf(lines);
  return data;
}

/** Where an image of the catalogue lives on disk (null when unknown). */
export function getImagePath(db: Database, imageId: number): { path: string; contentHash: string } | null {
  const info = imageFileInfo(db, imageId);
  return info && info.contentHash !== null ? { path: info.path, contentHash: info.contentHash } : null;
}
