// Evaluations of a run's model and their per-image predictions, and the image lists an evaluation runs over.
import type { Database } from './database';
import { AppError } from '../../shared/errors';
import { absoluteImagePath } from './training-data';
import type { EvaluationMetrics, EvaluationSource, EvaluationSummary, FileError, Prediction } from '../../shared/contract/runs';

export interface StoredPrediction {
  imageId: number;
  trueIndex: number;
  predictedIndex: number;
  probabilities: number[];
  loss: number;
}

/** Extra fields kept in metrics_json beside the metrics (folder evaluations keep their per-file results there). */
interface StoredMetrics {
  metrics: EvaluationMetrics;
  folder?: string | null;
  errors?: FileError[];
  filePredictions?: Prediction[];
}

export interface NewEvaluation {
  runId: number;
  source: EvaluationSource;
  datasetId: number | null;
  subset: string | null;
  folder?: string | null;
  metrics: EvaluationMetrics;
  errors?: FileError[];
  /** Catalogue images: one predictions row each. */
  predictions: StoredPrediction[];
  /** Folder files (no catalogue id): kept inside metrics_json. */
  filePredictions?: Prediction[];
}

interface EvaluationRow {
  id: number;
  run_id: number;
  dataset_id: number | null;
  subset: string | null;
  source: string;
  accuracy: number;
  loss: number;
  metrics_json: string;
  created_at: string;
}

function readStored(row: EvaluationRow): StoredMetrics {
  return JSON.parse(row.metrics_json) as StoredMetrics;
}

function toSummary(row: EvaluationRow, stored = readStored(row)): EvaluationSummary {
  const source: EvaluationSource = row.source === 'folder' || row.source === 'dataset' ? row.source : 'test-split';
  return {
    id: row.id,
    runId: row.run_id,
    source,
    datasetId: row.dataset_id,
    subset: row.subset,
    folder: stored.folder ?? null,
    accuracy: row.accuracy,
    loss: row.loss,
    count: stored.metrics.count,
    expectedCalibrationError: stored.metrics.calibration.expectedCalibrationError,
    createdAt: row.created_at,
  };
}

export function insertEvaluation(db: Database, evaluation: NewEvaluation): { id: number; createdAt: string } {
  const stored: StoredMetrics = {
    metrics: evaluation.metrics,
    folder: evaluation.folder ?? null,
    errors: evaluation.errors ?? [],
    ...(evaluation.filePredictions ? { filePredictions: evaluation.filePredictions } : {}),
  };
  const createdAt = new Date().toISOString();
  return db.transaction(() => {
    const info = db
      .prepare(
        `INSERT INTO evaluations (run_id, dataset_id, subset, source, accuracy, loss, metrics_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(evaluation.runId, evaluation.datasetId, evaluation.subset, evaluation.source, evaluation.metrics.accuracy,
        evaluation.metrics.loss, JSON.stringify(stored), createdAt);
    const id = Number(info.lastInsertRowid);
    const insert = db.prepare(
      `INSERT INTO predictions (evaluation_id, image_id, true_index, predicted_index, probabilities_json, loss) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (const p of evaluation.predictions) insert.run(id, p.imageId, p.trueIndex, p.predictedIndex, JSON.stringify(p.probabilities), p.loss);
    return { id, createdAt };
  })();
}

/** Newest first. */
export function listEvaluations(db: Database, runId: number): EvaluationSummary[] {
  const rows = db.prepare('SELECT * FROM evaluations WHERE run_id = ? ORDER BY id DESC').all(runId) as EvaluationRow[];
  return rows.map((row) => toSummary(row));
}

export interface StoredEvaluation extends EvaluationSummary {
  metrics: EvaluationMetrics;
  errors: Array<{ path: string; message: string }>;
  filePredictions: Prediction[];
}

export function getEvaluation(db: Database, evaluationId: number): StoredEvaluation {
  const row = db.prepare('SELECT * FROM evaluations WHERE id = ?').get(evaluationId) as EvaluationRow | undefined;
  if (!row) throw new AppError('not-found', `Evaluation ${evaluationId} does not exist.`);
  const stored = readStored(row);
  return { ...toSummary(row, stored), metrics: stored.metrics, errors: stored.errors ?? [], filePredictions: stored.filePredictions ?? [] };
}

/** The newest evaluation of a run on its own test split, if any. */
export function latestTestEvaluation(db: Database, runId: number): EvaluationSummary | null {
  const row = db
    .prepare(`SELECT * FROM evaluations WHERE run_id = ? AND source = 'test-split' ORDER BY id DESC LIMIT 1`)
    .get(runId) as EvaluationRow | undefined;
  return row ? toSummary(row) : null;
}

interface PredictionRow {
  image_id: number;
  true_index: number;
  predicted_index: number;
  probabilities_json: string;
  loss: number;
  current_label: string | null;
}

export interface PredictionWithLabel extends StoredPrediction {
  /** The image's label in the catalogue now (null when unlabelled). */
  currentLabel: string | null;
}

function toPrediction(row: PredictionRow): PredictionWithLabel {
  return {
    imageId: row.image_id,
    trueIndex: row.true_index,
    predictedIndex: row.predicted_index,
    probabilities: JSON.parse(row.probabilities_json) as number[],
    loss: row.loss,
    currentLabel: row.current_label,
  };
}

const SELECT_PREDICTIONS = `
  SELECT p.image_id, p.true_index, p.predicted_index, p.probabilities_json, p.loss, c.name AS current_label
    FROM predictions p
    LEFT JOIN labels l ON l.image_id = p.image_id
    LEFT JOIN classes c ON c.id = l.class_id
   WHERE p.evaluation_id = ?`;

/** Every stored prediction of an evaluation, by image id. */
export function evaluationPredictions(db: Database, evaluationId: number): PredictionWithLabel[] {
  const rows = db.prepare(`${SELECT_PREDICTIONS} ORDER BY p.image_id`).all(evaluationId) as PredictionRow[];
  return rows.map(toPrediction);
}

/** Misclassified predictions, highest loss first ("top losses"). */
export function misclassifiedPredictions(db: Database, evaluationId: number): PredictionWithLabel[] {
  const rows = db
    .prepare(`${SELECT_PREDICTIONS} AND p.true_index <> p.predicted_index ORDER BY p.loss DESC, p.image_id`)
    .all(evaluationId) as PredictionRow[];
  return rows.map(toPrediction);
}

/**
 * Correct predictions, highest loss first: for a correct prediction the loss is −log(confidence), so this is the
 * least confident first; the confidence threshold is applied by the caller.
 */
export function correctPredictions(db: Database, evaluationId: number): PredictionWithLabel[] {
  const rows = db
    .prepare(`${SELECT_PREDICTIONS} AND p.true_index = p.predicted_index ORDER BY p.loss DESC, p.image_id`)
    .all(evaluationId) as PredictionRow[];
  return rows.map(toPrediction);
}

export interface LabelledImage {
  imageId: number;
  path: string;
  className: string;
}

/** Every decodable, non-duplicate, labelled image of a dataset with its label's class name (for --dataset). */
export function labelledImages(db: Database, datasetId: number): LabelledImage[] {
  const dataset = db.prepare('SELECT root_path FROM datasets WHERE id = ?').get(datasetId) as { root_path: string } | undefined;
  if (!dataset) throw new AppError('not-found', `Dataset ${datasetId} does not exist.`);
  const rows = db
    .prepare(
      `SELECT i.id AS image_id, i.rel_path, c.name AS class_name
         FROM images i JOIN labels l ON l.image_id = i.id JOIN classes c ON c.id = l.class_id
        WHERE i.dataset_id = ? AND i.status = 'ok' AND NOT EXISTS (SELECT 1 FROM image_exclusions x WHERE x.image_id = i.id)
        ORDER BY i.id`,
    )
    .all(datasetId) as Array<{ image_id: number; rel_path: string; class_name: string }>;
  return rows.map((row) => ({ imageId: row.image_id, path: absoluteImagePath(dataset.root_path, row.rel_path), className: row.class_name }));
}

/** Dataset name for messages (null if gone). */
export function datasetName(db: Database, datasetId: number): string | null {
  const row = db.prepare('SELECT name FROM datasets WHERE id = ?').get(datasetId) as { name: string } | undefined;
  return row?.name ?? null;
}
