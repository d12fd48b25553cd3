// Evaluating a run's saved model: pick the images (the run's test split, every labelled image of a dataset, or a
// folder of class subfolders that is not imported), map their classes onto the run's class order, predict, compute
// the metrics, store the evaluation with its per-image predictions.
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { Database } from '../catalogue/database';
import { AppError } from '../../shared/errors';
import { getRun } from '../catalogue/runs';
import { loadTrainingData } from '../catalogue/training-data';
import { datasetName, evaluationPredictions, getEvaluation, insertEvaluation, labelledImages, listEvaluations } from '../catalogue/evaluations';
import type { StoredPrediction } from '../catalogue/evaluations';
import type { Evaluation, EvaluationSource, Prediction } from '../../shared/contract/runs';
import type { RunDetail } from '../../shared/contract/training';
import { evaluateExamples, scoreExample } from './metrics';
import { ensureInferenceBackend } from '../inference/backend';
import { loadModel } from '../inference/loader';
import { predictFiles } from '../inference/predictor';
import { IMAGE_EXTENSIONS } from '../imaging/image-policy';
import type { ModelHints } from '../inference/model-format';

/** Probabilities per file (one per class, in the model's class order), or why that file could not be predicted. */
export type FilePrediction = { probabilities: number[]; error?: undefined } | { probabilities?: undefined; error: string };

/** Runs a saved model over image files (tests may pass their own). */
export type Predictor = (
  modelPath: string,
  files: readonly string[],
  options: { hints: ModelHints; onProgress?: (done: number, total: number) => void },
) => Promise<{ classNames: string[]; results: FilePrediction[] }>;

/** The app's predictor: the export module's loader and inference (WebAssembly backend when available). */
export const modelPredictor: Predictor = async (modelPath, files, { hints, onProgress }) => {
  await ensureInferenceBackend();
  const loaded = await loadModel(modelPath, { kind: 'pawprint-run', hints });
  try {
    const results = await predictFiles(loaded, files, { onProgress });
    return {
      classNames: loaded.classNames,
      results: results.map((r) => ('error' in r ? { error: r.error } : { probabilities: r.probabilities })),
    };
  } finally {
    loaded.dispose();
  }
};

export interface EvaluationTarget {
  datasetId?: number;
  folder?: string;
}

interface Item {
  imageId: number | null;
  path: string;
  trueIndex: number;
}

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
export async function folderItems(folder: string, runClassNames: readonly string[]): Promise<Item[]> {
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
  const items: Item[] = [];
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

function testSplitItems(db: Database, run: { id: number; datasetId: number | null; splitId: number | null; classNames: string[] }): Item[] {
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

function datasetItems(db: Database, datasetId: number, runClassNames: readonly string[]): Item[] {
  const images = labelledImages(db, datasetId);
  const name = datasetName(db, datasetId) ?? String(datasetId);
  if (images.length === 0) throw new AppError('conflict', `Dataset "${name}" has no labelled images to evaluate on.`);
  const index = classIndexMap(runClassNames);
  const unknown = images.filter((image) => !index.has(image.className)).map((image) => image.className);
  if (unknown.length > 0) throw unknownClassError(unknown, runClassNames, `Dataset "${name}"`);
  return images.map((image) => ({ imageId: image.imageId, path: image.path, trueIndex: index.get(image.className)! }));
}

export interface EvaluateOptions {
  predictor: Predictor;
  onProgress?: (done: number, total: number) => void;
  /** The catalogue's file, for messages (a read-only catalogue may be an in-memory copy whose name says nothing). */
  cataloguePath?: string;
}

export type EvaluationResult = Evaluation & { predictions: Prediction[] };

/** Evaluates a run and stores the result; the same code path serves the UI, `pawprint eval` and comparisons. */
export async function evaluateRun(db: Database, runId: number, target: EvaluationTarget, options: EvaluateOptions): Promise<EvaluationResult> {
  const run = getRun(db, runId);
  if (!run.modelPath) {
    throw new AppError('conflict', `Run "${run.name}" has no saved model (${run.status}${run.error ? `: ${run.error}` : ''}), so it cannot be evaluated.`);
  }
  if (run.classNames.length < 2) throw new AppError('conflict', `Run "${run.name}" records no class names.`);

  // A read-only catalogue cannot store a new evaluation; it can still show the one already stored for this target.
  if (db.readonly) return storedEvaluationFor(db, run, target, options.cataloguePath ?? db.name);

  let source: EvaluationSource;
  let items: Item[];
  let datasetId: number | null = null;
  let subset: string | null = null;
  let folder: string | null = null;
  if (target.folder !== undefined) {
    source = 'folder';
    folder = resolve(target.folder);
    items = await folderItems(folder, run.classNames);
  } else if (target.datasetId !== undefined && target.datasetId !== run.datasetId) {
    source = 'dataset';
    datasetId = target.datasetId;
    items = datasetItems(db, target.datasetId, run.classNames);
  } else {
    source = 'test-split';
    datasetId = run.datasetId;
    subset = 'test';
    items = testSplitItems(db, run);
  }

  const hints: ModelHints = { classNames: run.classNames, imageSize: run.config.imageSize, preprocessing: run.config.preprocessing };
  const { classNames: modelClasses, results } = await options.predictor(run.modelPath, items.map((item) => item.path), {
    hints,
    onProgress: options.onProgress,
  });
  if (modelClasses.length !== run.classNames.length || modelClasses.some((name, i) => name !== run.classNames[i])) {
    throw new AppError('internal', `The model at ${run.modelPath} lists classes ${modelClasses.join(', ')}, but the run recorded ${run.classNames.join(', ')}.`);
  }

  const predictions: Prediction[] = [];
  const errors: Array<{ path: string; message: string }> = [];
  results.forEach((result, i) => {
    const item = items[i]!;
    if (result.error !== undefined) {
      errors.push({ path: item.path, message: result.error });
      return;
    }
    const outcome = scoreExample({ trueIndex: item.trueIndex, probabilities: result.probabilities });
    predictions.push({
      imageId: item.imageId,
      path: item.imageId === null ? item.path : null,
      trueIndex: item.trueIndex,
      predictedIndex: outcome.predictedIndex,
      probabilities: result.probabilities,
      confidence: outcome.confidence,
      loss: outcome.loss,
      correct: outcome.correct,
    });
  });
  if (predictions.length === 0) {
    throw new AppError('failed', `None of the ${items.length} images could be predicted; first problem: ${errors[0]?.path}: ${errors[0]?.message}`);
  }
  const metrics = evaluateExamples(predictions, run.classNames);
  const stored: StoredPrediction[] = predictions
    .filter((p): p is Prediction & { imageId: number } => p.imageId !== null)
    .map((p) => ({ imageId: p.imageId, trueIndex: p.trueIndex, predictedIndex: p.predictedIndex, probabilities: p.probabilities, loss: p.loss }));
  const { id, createdAt } = insertEvaluation(db, {
    runId,
    source,
    datasetId,
    subset,
    folder,
    metrics,
    errors,
    predictions: stored,
    ...(source === 'folder' ? { filePredictions: predictions } : {}),
  });
  return {
    id,
    runId,
    source,
    datasetId,
    subset,
    folder,
    accuracy: metrics.accuracy,
    loss: metrics.loss,
    count: metrics.count,
    expectedCalibrationError: metrics.calibration.expectedCalibrationError,
    createdAt,
    metrics,
    errors,
    predictions,
  };
}

/** The newest stored evaluation of `run` on `target`, as evaluateRun would have returned it. */
function storedEvaluationFor(db: Database, run: RunDetail, target: EvaluationTarget, cataloguePath: string): EvaluationResult {
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
  const { filePredictions, ...stored } = getEvaluation(db, summary.id);
  const predictions: Prediction[] =
    source === 'folder'
      ? filePredictions
      : evaluationPredictions(db, summary.id).map((p) => {
          const outcome = scoreExample({ trueIndex: p.trueIndex, probabilities: p.probabilities });
          return { imageId: p.imageId, path: null, trueIndex: p.trueIndex, predictedIndex: p.predictedIndex, probabilities: p.probabilities, confidence: outcome.confidence, loss: p.loss, correct: outcome.correct };
        });
  return { ...stored, predictions };
}
