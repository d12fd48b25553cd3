// Evaluating a run's saved model, without TensorFlow.js: pick the images (the run's test split, every labelled image
// of a dataset, or a folder of class subfolders that is not imported) and map their classes onto the run's class
// order (planEvaluation); collect the worker's predicted rows (EvaluationRows); compute the metrics and store the
// evaluation with its per-image predictions (recordEvaluation). The predictions themselves come from the worker's
// 'predict-files' task, run by the evaluate job (electron/jobs/kinds/evaluate.ts).
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { Database } from '../catalogue/database';
import { AppError } from '../../shared/errors';
import { getRun } from '../catalogue/runs';
import { loadTrainingData } from '../catalogue/training-data';
import { datasetName, evaluationPredictions, getEvaluation, insertEvaluation, labelledImages, listEvaluations } from '../catalogue/evaluations';
import type { StoredPrediction } from '../catalogue/evaluations';
import type { Evaluation, EvaluationSource, EvaluationSummary, FileError, Prediction } from '../../shared/contract/runs';
import type { RunDetail } from '../../shared/contract/training';
import { evaluateExamples, scoreExample } from './metrics';
import { IMAGE_EXTENSIONS } from '../imaging/image-policy';
import type { ModelHints } from '../inference/model-format';
import type { PredictedRow } from '../inference/task-types';

export interface EvaluationTarget {
  datasetId?: number;
  folder?: string;
}

export interface EvaluationItem {
  imageId: number | null;
  path: string;
  trueIndex: number;
}

/** Everything an evaluation needs once its images are chosen: what to predict, with which model, and where to store it. */
export interface EvaluationPlan {
  runId: number;
  runName: string;
  modelPath: string;
  classNames: string[];
  hints: ModelHints;
  source: EvaluationSource;
  datasetId: number | null;
  subset: string | null;
  folder: string | null;
  /** Words for the job title: "its test split", "dataset \"pets\"", "folder /x". */
  targetWords: string;
  items: EvaluationItem[];
}

export type EvaluationResult = Evaluation & { predictions: Prediction[] };

function classIndexMap(runClassNames: readonly string[]): Map<string, number> {
  return new Map(runClassNames.map((name, index) => [name, index]));
}

function unknownClassError(unknown: Iterable<string>, runClassNames: readonly string[], where: string): AppError {
  const names = [...new Set(unknown)].sort().map((name) => `"${name}"`).join(', ');
  return new AppError(
    'invalid-payload',
    `${where} has classes this run was not trained on: ${names}. The run knows ${runClassNames.map((n) => `"${n}"`).join(', ')}.`,
  );
}

/** Files of a folder laid out as <folder>/<class>/<image>, with each subfolder name as the label. */
export async function folderItems(folder: string, runClassNames: readonly string[]): Promise<EvaluationItem[]> {
  const root = resolve(folder);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    throw new AppError('not-found', `Cannot open folder ${root}: ${(error as Error).message}`);
  }
  const classDirs = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  if (classDirs.length === 0) {
    throw new AppError('invalid-payload', `${root} has no class subfolders: put each class's images in a subfolder named after it.`);
  }
  const index = classIndexMap(runClassNames);
  const unknown = classDirs.filter((name) => !index.has(name));
  if (unknown.length > 0) throw unknownClassError(unknown, runClassNames, `Folder ${root}`);
  const items: EvaluationItem[] = [];
  for (const name of classDirs) {
    const files = await readdir(join(root, name), { withFileTypes: true, recursive: true });
    const paths = files
      .filter((file) => file.isFile() && !file.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(file.name).toLowerCase()))
      .map((file) => join(file.parentPath, file.name))
      .sort();
    for (const path of paths) items.push({ imageId: null, path, trueIndex: index.get(name)! });
  }
  if (items.length === 0) throw new AppError('invalid-payload', `No images found in the class subfolders of ${root}.`);
  return items;
}

function testSplitItems(db: Database, run: { id: number; datasetId: number | null; splitId: number | null; classNames: string[] }): EvaluationItem[] {
  if (run.datasetId === null || run.splitId === null) {
    throw new AppError('conflict', `Run ${run.id}'s dataset or split was deleted; evaluate it on a folder or another dataset instead.`);
  }
  const data = loadTrainingData(db, { datasetId: run.datasetId, splitId: run.splitId });
  if (data.test.length === 0) {
    throw new AppError('conflict', `Split ${run.splitId} has no labelled test images; evaluate on another dataset or a folder instead.`);
  }
  const index = classIndexMap(run.classNames);
  const unknown = data.test.map((item) => data.classNames[item.classIndex]!).filter((name) => !index.has(name));
  if (unknown.length > 0) throw unknownClassError(unknown, run.classNames, `The test split (relabelled since training)`);
  return data.test.map((item) => ({ imageId: item.imageId, path: item.path, trueIndex: index.get(data.classNames[item.classIndex]!)! }));
}

function datasetItems(db: Database, datasetId: number, runClassNames: readonly string[]): EvaluationItem[] {
  const name = datasetName(db, datasetId);
  if (name === null) throw new AppError('not-found', `Dataset ${datasetId} does not exist (it may have been deleted); pick another dataset or a folder.`);
  const images = labelledImages(db, datasetId);
  if (images.length === 0) throw new AppError('conflict', `Dataset "${name}" has no labelled images to evaluate on.`);
  const index = classIndexMap(runClassNames);
  const unknown = images.filter((image) => !index.has(image.className)).map((image) => image.className);
  if (unknown.length > 0) throw unknownClassError(unknown, runClassNames, `Dataset "${name}"`);
  return images.map((image) => ({ imageId: image.imageId, path: image.path, trueIndex: index.get(image.className)! }));
}

/** The run, refused in words when it has nothing to evaluate with. */
export function evaluableRun(db: Database, runId: number): RunDetail & { modelPath: string } {
  const run = getRun(db, runId);
  if (!run.modelPath) {
    throw new AppError('conflict', `Run "${run.name}" has no saved model (${run.status}${run.error ? `: ${run.error}` : ''}), so it cannot be evaluated.`);
  }
  if (run.classNames.length < 2) throw new AppError('conflict', `Run "${run.name}" records no class names.`);
  return { ...run, modelPath: run.modelPath };
}

/** Chooses the images of an evaluation and checks them against the run; refuses in words before any prediction. */
export async function planEvaluation(db: Database, runId: number, target: EvaluationTarget): Promise<EvaluationPlan> {
  const run = evaluableRun(db, runId);
  const base = {
    runId: run.id,
    runName: run.name,
    modelPath: run.modelPath,
    classNames: run.classNames,
    hints: { classNames: run.classNames, imageSize: run.config.imageSize, preprocessing: run.config.preprocessing },
  };
  if (target.folder !== undefined) {
    const folder = resolve(target.folder);
    const items = await folderItems(folder, run.classNames);
    return { ...base, source: 'folder', datasetId: null, subset: null, folder, targetWords: `folder ${folder}`, items };
  }
  if (target.datasetId !== undefined && target.datasetId !== run.datasetId) {
    const items = datasetItems(db, target.datasetId, run.classNames);
    const words = `dataset "${datasetName(db, target.datasetId) ?? target.datasetId}"`;
    return { ...base, source: 'dataset', datasetId: target.datasetId, subset: null, folder: null, targetWords: words, items };
  }
  const items = testSplitItems(db, run);
  return { ...base, source: 'test-split', datasetId: run.datasetId, subset: 'test', folder: null, targetWords: 'its test split', items };
}

/**
 * The worker's answers gathered by position: rows arrive batch by batch (`offset` is the first item of a batch), and
 * only the probabilities are kept, so a large evaluation holds no more than its scores.
 */
export class EvaluationRows {
  private readonly rows: Array<{ probabilities: number[] } | { error: string } | undefined>;
  private received = 0;

  constructor(private readonly plan: EvaluationPlan) {
    this.rows = new Array<{ probabilities: number[] } | { error: string } | undefined>(plan.items.length);
  }

  get done(): number {
    return this.received;
  }

  get total(): number {
    return this.rows.length;
  }

  add(offset: number, rows: readonly PredictedRow[]): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + rows.length > this.rows.length) {
      throw new AppError('failed', `the predictions came back out of range (rows ${offset}-${offset + rows.length - 1} of ${this.rows.length} images)`);
    }
    rows.forEach((row, i) => {
      if (this.rows[offset + i] === undefined) this.received++;
      this.rows[offset + i] = 'error' in row ? { error: row.error } : { probabilities: row.probabilities };
    });
  }

  /** Every image's prediction or error, in the plan's order; refused when the worker left images out. */
  outcomes(): { predictions: Prediction[]; errors: FileError[] } {
    const predictions: Prediction[] = [];
    const errors: FileError[] = [];
    this.plan.items.forEach((item, i) => {
      const row = this.rows[i];
      if (row === undefined) throw new AppError('failed', `the model answered for ${this.received} of ${this.rows.length} images; nothing was stored`);
      if ('error' in row) {
        errors.push({ path: item.path, message: row.error });
        return;
      }
      if (row.probabilities.length !== this.plan.classNames.length) {
        throw new AppError('failed', `the model gave ${row.probabilities.length} probabilities for ${item.path}, but the run has ${this.plan.classNames.length} classes`);
      }
      const outcome = scoreExample({ trueIndex: item.trueIndex, probabilities: row.probabilities });
      predictions.push({
        imageId: item.imageId,
        path: item.imageId === null ? item.path : null,
        trueIndex: item.trueIndex,
        predictedIndex: outcome.predictedIndex,
        probabilities: row.probabilities,
        confidence: outcome.confidence,
        loss: outcome.loss,
        correct: outcome.correct,
      });
    });
    return { predictions, errors };
  }
}

/** Computes the metrics of a finished prediction pass and stores the evaluation (one transaction); answers its summary. */
export function recordEvaluation(
  db: Database,
  plan: EvaluationPlan,
  rows: EvaluationRows,
  modelClassNames: readonly string[],
): EvaluationSummary & { errors: FileError[] } {
  if (modelClassNames.length !== plan.classNames.length || modelClassNames.some((name, i) => name !== plan.classNames[i])) {
    throw new AppError('failed', `The model at ${plan.modelPath} lists classes ${modelClassNames.join(', ')}, but the run recorded ${plan.classNames.join(', ')}.`);
  }
  const { predictions, errors } = rows.outcomes();
  if (predictions.length === 0) {
    throw new AppError('failed', `None of the ${plan.items.length} images could be predicted; first problem: ${errors[0]?.path}: ${errors[0]?.message}`);
  }
  const metrics = evaluateExamples(predictions, plan.classNames);
  const stored: StoredPrediction[] = predictions
    .filter((p): p is Prediction & { imageId: number } => p.imageId !== null)
    .map((p) => ({ imageId: p.imageId, trueIndex: p.trueIndex, predictedIndex: p.predictedIndex, probabilities: p.probabilities, loss: p.loss }));
  const { id, createdAt } = insertEvaluation(db, {
    runId: plan.runId,
    source: plan.source,
    datasetId: plan.datasetId,
    subset: plan.subset,
    folder: plan.folder,
    metrics,
    errors,
    predictions: stored,
    ...(plan.source === 'folder' ? { filePredictions: predictions } : {}),
  });
  return {
    id,
    runId: plan.runId,
    source: plan.source,
    datasetId: plan.datasetId,
    subset: plan.subset,
    folder: plan.folder,
    accuracy: metrics.accuracy,
    loss: metrics.loss,
    count: metrics.count,
    expectedCalibrationError: metrics.calibration.expectedCalibrationError,
    createdAt,
    errors,
  };
}

/** A stored evaluation with its per-image predictions, as runs.evaluate answers it. */
export function evaluationWithPredictions(db: Database, evaluationId: number): EvaluationResult {
  const { filePredictions, ...stored } = getEvaluation(db, evaluationId);
  const predictions: Prediction[] =
    stored.source === 'folder'
      ? filePredictions
      : evaluationPredictions(db, evaluationId).map((p) => {
          const outcome = scoreExample({ trueIndex: p.trueIndex, probabilities: p.probabilities });
          return { imageId: p.imageId, path: null, trueIndex: p.trueIndex, predictedIndex: p.predictedIndex, probabilities: p.probabilities, confidence: outcome.confidence, loss: p.loss, correct: outcome.correct };
        });
  return { ...stored, predictions };
}

/** A read-only catalogue cannot store a new evaluation: the newest stored one of `run` on `target`, or why there is none. */
export function storedEvaluationFor(db: Database, runId: number, target: EvaluationTarget, cataloguePath: string): EvaluationResult {
  const run = evaluableRun(db, runId);
  const folder = target.folder !== undefined ? resolve(target.folder) : null;
  const onOtherDataset = folder === null && target.datasetId !== undefined && target.datasetId !== run.datasetId;
  const source: EvaluationSource = folder !== null ? 'folder' : onOtherDataset ? 'dataset' : 'test-split';
  const summary = listEvaluations(db, run.id).find(
    (evaluation) =>
      evaluation.source === source && (source !== 'folder' || evaluation.folder === folder) && (source !== 'dataset' || evaluation.datasetId === target.datasetId),
  );
  if (!summary) {
    const where = source === 'folder' ? `folder ${folder}` : source === 'dataset' ? `dataset ${target.datasetId}` : 'its test split';
    throw new AppError('unavailable', `the catalogue is read-only: ${cataloguePath}; run "${run.name}" has no stored evaluation on ${where} to show`);
  }
  return evaluationWithPredictions(db, summary.id);
}
