// Data-health reports in the catalogue (issue 15): what a health job works on (a dataset's usable images with their
// labels and split subsets), the fingerprint of those labels, and the stored reports, read back with a stale flag
// when the labels or images changed since; and the images the Health view excluded from the dataset (files untouched).
import { createHash } from 'node:crypto';
import { AppError } from '../../shared/errors';
import type { Database } from './database';
import { getDatasetRow } from './datasets';
import { absoluteImagePath } from './image-paths';
import { latestSplitId } from './splits';
import type { ExcludedImage, HealthClass, HealthCounts, HealthImage, HealthReport, HealthSuggestions } from '../../shared/contract/health';

type Subset = 'train' | 'val' | 'test';

export interface HealthSourceImage {
  imageId: number;
  relPath: string;
  path: string;
  contentHash: string;
  /** Index into classNames, -1 = unlabelled. */
  label: number;
  subset: Subset | null;
}

export interface HealthSource {
  datasetId: number;
  datasetName: string;
  classNames: string[];
  images: HealthSourceImage[];
  labelsFingerprint: string;
}

interface SourceRow { id: number; rel_path: string; content_hash: string; class_name: string | null; subset: Subset | null }

function sourceRows(db: Database, datasetId: number): SourceRow[] {
  const splitId = latestSplitId(db, datasetId);
  return db
    .prepare(
      `SELECT i.id, i.rel_path, i.content_hash, c.name AS class_name, sa.subset
         FROM images i
         LEFT JOIN labels l ON l.image_id = i.id
         LEFT JOIN classes c ON c.id = l.class_id
         LEFT JOIN split_assignments sa ON sa.image_id = i.id AND sa.split_id = ?
        WHERE i.dataset_id = ? AND i.status = 'ok' AND i.content_hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM image_exclusions x WHERE x.image_id = i.id)
        ORDER BY i.id`,
    )
    .all(splitId ?? -1, datasetId) as SourceRow[];
}

/** sha256 over "image id, content hash, class name" of every usable image: any relabel, import or removal changes it. */
function fingerprintOf(rows: SourceRow[]): string {
  const hash = createHash('sha256');
  for (const row of rows) hash.update(`${row.id}\t${row.content_hash}\t${row.class_name ?? ''}\n`);
  return hash.digest('hex');
}

export function labelsFingerprint(db: Database, datasetId: number): string {
  return fingerprintOf(sourceRows(db, datasetId));
}

/** The images a health job embeds: every usable image (decoded, not a duplicate), labelled or not, in id order. */
export function healthSource(db: Database, datasetId: number): HealthSource {
  const dataset = getDatasetRow(db, datasetId);
  const classNames = (db.prepare('SELECT name FROM classes WHERE dataset_id = ? ORDER BY position, id').all(datasetId) as Array<{ name: string }>).map((r) => r.name);
  const index = new Map(classNames.map((name, i) => [name, i]));
  const rows = sourceRows(db, datasetId);
  return {
    datasetId: dataset.id,
    datasetName: dataset.name,
    classNames,
    images: rows.map((row) => ({
      imageId: row.id,
      relPath: row.rel_path,
      path: absoluteImagePath(dataset.root_path, row.rel_path),
      contentHash: row.content_hash,
      label: row.class_name === null ? -1 : index.get(row.class_name)!,
      subset: row.subset,
    })),
    labelsFingerprint: fingerprintOf(rows),
  };
}

/** What is stored per report: the galleries by image id, with the class names they were computed with. */
export interface StoredHealthReport {
  base: HealthReport['base'];
  folds: number;
  seed: number;
  imageCount: number;
  labelledCount: number;
  counts: HealthCounts;
  labelIssues: Array<{ imageId: number; given: string; suggested: string; score: number; selfConfidence: number; flagged?: boolean }>;
  map?: Array<{ imageId: number; x: number; y: number }>;
  /** How the map was laid out; absent in reports made before UMAP (they were PCA). */
  mapMethod?: 'umap' | 'pca';
  /** mapKeyOf the embeddings the map was drawn from (a later run on the same ones reuses it). */
  mapKey?: string;
  /** Unlabelled images' suggested labels from the embeddings, least certain first; absent in reports made before them. */
  suggestions?: Array<{ imageId: number; suggested: string; confidence: number; margin: number }>;
  nearDuplicates: Array<{ imageIds: number[]; similarity: number; crossesSplits: boolean }>;
  outliers: Array<{ imageId: number; score: number }>;
  classes: HealthClass[];
  imbalanceRatio: number | null;
  outOfFoldAccuracy: number | null;
  duplicateThreshold: number;
  outlierThreshold: number;
  seconds: HealthReport['seconds'];
  features: HealthReport['features'];
}

export function saveHealthReport(
  db: Database,
  report: { datasetId: number; jobId: number | null; labelsFingerprint: string; options: unknown; stored: StoredHealthReport },
): number {
  const info = db
    .prepare('INSERT INTO health_reports (dataset_id, job_id, labels_fingerprint, options_json, report_json) VALUES (?, ?, ?, ?, ?)')
    .run(report.datasetId, report.jobId, report.labelsFingerprint, JSON.stringify(report.options), JSON.stringify(report.stored));
  return Number(info.lastInsertRowid);
}

interface ReportRow { id: number; dataset_id: number; job_id: number | null; labels_fingerprint: string; report_json: string; created_at: string }

/** The dataset's newest report with each image as it is now, or null before the first. */
export function latestHealthReport(db: Database, datasetId: number): HealthReport | null {
  const dataset = getDatasetRow(db, datasetId);
  const row = db.prepare('SELECT * FROM health_reports WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId) as ReportRow | undefined;
  if (!row) return null;
  const stored = JSON.parse(row.report_json) as StoredHealthReport;
  const rows = sourceRows(db, datasetId);
  const current = new Map(rows.map((r) => [r.id, r]));
  const image = (imageId: number): HealthImage | null => {
    const r = current.get(imageId);
    if (!r) return null; // deleted, missing or excluded since: the report is stale and the image is left out
    return { imageId, relPath: r.rel_path, path: absoluteImagePath(dataset.root_path, r.rel_path), label: r.class_name, subset: r.subset };
  };
  const fingerprint = fingerprintOf(rows);
  const relabelled = stored.labelIssues.filter((issue) => current.get(issue.imageId)?.class_name !== issue.given).length;
  const stale = fingerprint !== row.labels_fingerprint;
  return {
    id: row.id,
    datasetId: row.dataset_id,
    jobId: row.job_id,
    createdAt: row.created_at,
    stale,
    staleReason: stale
      ? `labels or images changed since this report${relabelled ? ` (${relabelled} of its suspected mislabels relabelled)` : ''}; run health again for current figures`
      : null,
    labelsFingerprint: row.labels_fingerprint,
    base: stored.base,
    folds: stored.folds,
    seed: stored.seed,
    imageCount: stored.imageCount,
    labelledCount: stored.labelledCount,
    counts: stored.counts,
    labelIssues: stored.labelIssues.flatMap((issue) => {
      const img = image(issue.imageId);
      return img ? [{ image: img, given: issue.given, suggested: issue.suggested, score: issue.score, selfConfidence: issue.selfConfidence, flagged: issue.flagged ?? true }] : [];
    }),
    map: stored.map
      ? stored.map.flatMap((point) => {
        const now = current.get(point.imageId);
        return now ? [{ ...point, label: now.class_name, subset: now.subset }] : [];
      })
      : null,
    mapMethod: stored.map ? stored.mapMethod ?? 'pca' : null,
    nearDuplicates: stored.nearDuplicates.flatMap((group) => {
      const images = group.imageIds.map(image).filter((img): img is HealthImage => img !== null);
      return images.length >= 2 ? [{ images, similarity: group.similarity, crossesSplits: group.crossesSplits }] : [];
    }),
    outliers: stored.outliers.flatMap((o) => {
      const img = image(o.imageId);
      return img ? [{ image: img, score: o.score }] : [];
    }),
    classes: stored.classes,
    imbalanceRatio: stored.imbalanceRatio,
    outOfFoldAccuracy: stored.outOfFoldAccuracy,
    duplicateThreshold: stored.duplicateThreshold,
    outlierThreshold: stored.outlierThreshold,
    seconds: stored.seconds,
    features: stored.features,
  };
}

/** The newest report's label suggestions for images still unlabelled (least certain first); the run fields are the caller's. */
export function healthSuggestions(db: Database, datasetId: number): HealthSuggestions {
  const dataset = getDatasetRow(db, datasetId);
  const row = db.prepare('SELECT * FROM health_reports WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId) as ReportRow | undefined;
  const stored = row ? (JSON.parse(row.report_json) as StoredHealthReport) : null;
  if (!row || !stored?.suggestions) return { source: null, reportId: row?.id ?? null, stale: false, suggestions: [], embeddings: false, run: null };
  const rows = sourceRows(db, datasetId);
  const current = new Map(rows.map((r) => [r.id, r]));
  const classNames = new Set(classNamesOf(db, datasetId));
  return {
    source: 'embeddings',
    reportId: row.id,
    stale: fingerprintOf(rows) !== row.labels_fingerprint,
    // Labelled since, excluded, or suggesting a class deleted since: nothing to suggest.
    suggestions: stored.suggestions.flatMap((s) => {
      const r = current.get(s.imageId);
      if (!r || r.class_name !== null || !classNames.has(s.suggested)) return [];
      return [{
        image: { imageId: s.imageId, relPath: r.rel_path, path: absoluteImagePath(dataset.root_path, r.rel_path), label: null, subset: r.subset },
        suggested: s.suggested, confidence: s.confidence, margin: s.margin,
      }];
    }),
    embeddings: true,
    run: null,
  };
}

function classNamesOf(db: Database, datasetId: number): string[] {
  return (db.prepare('SELECT name FROM classes WHERE dataset_id = ? ORDER BY position, id').all(datasetId) as Array<{ name: string }>).map((r) => r.name);
}

/** A run's prediction of one image, as a predict job answers it (probabilities in `classNames` order). */
export interface RunPrediction { path: string | null; probabilities: number[] }

/**
 * Suggestions from a run's predictions (model-assisted labelling from the latest run): each prediction of an image that
 * is still unlabelled (matched by its absolute path) suggests the most probable class, with that probability as
 * confidence and its lead over the runner-up as margin; classes the dataset no longer has are skipped. Least certain
 * first: smallest margin, then lowest confidence, then image id.
 */
export function runPredictionSuggestions(db: Database, datasetId: number, classNames: string[], predictions: RunPrediction[]): HealthSuggestions['suggestions'] {
  const dataset = getDatasetRow(db, datasetId);
  const unlabelled = new Map(sourceRows(db, datasetId).filter((r) => r.class_name === null).map((r) => [absoluteImagePath(dataset.root_path, r.rel_path), r]));
  const present = new Set(classNamesOf(db, datasetId));
  const seen = new Set<number>();
  const out: HealthSuggestions['suggestions'] = [];
  for (const prediction of predictions) {
    const r = prediction.path === null ? undefined : unlabelled.get(prediction.path);
    if (!r || seen.has(r.id)) continue;
    const p = prediction.probabilities;
    let best = 0;
    for (let j = 1; j < p.length; j++) if (p[j] > p[best]) best = j;
    let second = -1;
    for (let j = 0; j < p.length; j++) if (j !== best && (second < 0 || p[j] > p[second])) second = j;
    const suggested = classNames[best];
    if (suggested === undefined || !present.has(suggested)) continue;
    seen.add(r.id);
    out.push({
      image: { imageId: r.id, relPath: r.rel_path, path: absoluteImagePath(dataset.root_path, r.rel_path), label: null, subset: r.subset },
      suggested, confidence: p[best], margin: second < 0 ? p[best] : p[best] - p[second],
    });
  }
  out.sort((a, b) => a.margin - b.margin || a.confidence - b.confidence || a.image.imageId - b.image.imageId);
  return out;
}

/**
 * What a map depends on: the images and their contents in order, the base and the seed; not the labels. Two health runs
 * with the same key have the same embeddings, so the second can take the first one's map.
 */
export function mapKeyOf(images: ReadonlyArray<Pick<HealthSourceImage, 'imageId' | 'contentHash'>>, base: string | null, seed: number): string {
  const hash = createHash('sha256');
  hash.update(`${base ?? 'bundled'}\n${seed}\n`);
  for (const image of images) hash.update(`${image.imageId}\t${image.contentHash}\n`);
  return hash.digest('hex');
}

/** The newest report's map when it was drawn from embeddings with this key, in `imageIds` order; else null. */
export function reusableMap(
  db: Database, datasetId: number, key: string, imageIds: readonly number[],
): { points: Array<{ index: number; x: number; y: number }>; method: 'umap' | 'pca' } | null {
  const row = db.prepare('SELECT report_json FROM health_reports WHERE dataset_id = ? ORDER BY id DESC LIMIT 1').get(datasetId) as { report_json: string } | undefined;
  if (!row) return null;
  const stored = JSON.parse(row.report_json) as StoredHealthReport;
  if (stored.mapKey !== key || !stored.map || !stored.mapMethod || stored.map.length !== imageIds.length) return null;
  const byId = new Map(stored.map.map((point) => [point.imageId, point]));
  const points: Array<{ index: number; x: number; y: number }> = [];
  for (const [index, imageId] of imageIds.entries()) {
    const point = byId.get(imageId);
    if (!point) return null;
    points.push({ index, x: point.x, y: point.y });
  }
  return { points, method: stored.mapMethod };
}

/** The ids among imageIds that do not belong to the dataset, for a one-line refusal that names them. */
function foreignIds(db: Database, datasetId: number, imageIds: number[]): number[] {
  const check = db.prepare('SELECT dataset_id FROM images WHERE id = ?');
  return imageIds.filter((id) => (check.get(id) as { dataset_id: number } | undefined)?.dataset_id !== datasetId);
}

function refuseForeign(db: Database, datasetId: number, imageIds: number[]): void {
  const foreign = foreignIds(db, datasetId, imageIds);
  if (foreign.length > 0) {
    const dataset = getDatasetRow(db, datasetId);
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : '');
    throw new AppError('not-found', `Image${foreign.length === 1 ? '' : 's'} ${shown} ${foreign.length === 1 ? 'is' : 'are'} not in dataset "${dataset.name}"; reload the Health view and try again.`);
  }
}

/** Leaves images out of the dataset (files untouched, labels kept); all or nothing. Returns how many were newly excluded. */
export function excludeImages(db: Database, datasetId: number, imageIds: number[], reason: string): number {
  getDatasetRow(db, datasetId);
  const unique = [...new Set(imageIds)];
  refuseForeign(db, datasetId, unique);
  const insert = db.prepare('INSERT INTO image_exclusions (image_id, reason) VALUES (?, ?) ON CONFLICT (image_id) DO NOTHING');
  return db.transaction(() => unique.reduce((n, id) => n + insert.run(id, reason).changes, 0))();
}

/** Brings excluded images back. Returns how many were excluded before. */
export function includeImages(db: Database, datasetId: number, imageIds: number[]): number {
  getDatasetRow(db, datasetId);
  const unique = [...new Set(imageIds)];
  refuseForeign(db, datasetId, unique);
  const remove = db.prepare('DELETE FROM image_exclusions WHERE image_id = ?');
  return db.transaction(() => unique.reduce((n, id) => n + remove.run(id).changes, 0))();
}

export function excludedImages(db: Database, datasetId: number): ExcludedImage[] {
  const dataset = getDatasetRow(db, datasetId);
  const splitId = latestSplitId(db, datasetId);
  const rows = db
    .prepare(
      `SELECT i.id, i.rel_path, c.name AS class_name, sa.subset, x.reason, x.created_at
         FROM image_exclusions x
         JOIN images i ON i.id = x.image_id
         LEFT JOIN labels l ON l.image_id = i.id
         LEFT JOIN classes c ON c.id = l.class_id
         LEFT JOIN split_assignments sa ON sa.image_id = i.id AND sa.split_id = ?
        WHERE i.dataset_id = ?
        ORDER BY x.created_at DESC, i.id`,
    )
    .all(splitId ?? -1, datasetId) as Array<{ id: number; rel_path: string; class_name: string | null; subset: Subset | null; reason: string; created_at: string }>;
  return rows.map((r) => ({
    imageId: r.id, relPath: r.rel_path, path: absoluteImagePath(dataset.root_path, r.rel_path),
    label: r.class_name, subset: r.subset, reason: r.reason, excludedAt: r.created_at,
  }));
}
