import { z } from 'zod';
import { defineEvents, defineRequests } from './define';
import { ExportFormat, ExportTarget } from './export';
import { EpochMetrics, RunLogLine, RunSummary } from './training';

// Runs after training: rename/notes/tags, delete, run again, side-by-side comparison, evaluation with per-image
// predictions. runs.list and runs.get live in the training contract (they describe what the trainer writes).

const id = z.number().int().positive();

export const ClassMetrics = z.object({
  className: z.string(),
  support: z.number().int(),
  predicted: z.number().int(),
  truePositives: z.number().int(),
  /** 0 with precisionUndefined when the class was never predicted. */
  precision: z.number(),
  precisionUndefined: z.boolean(),
  recall: z.number(),
  recallUndefined: z.boolean(),
  f1: z.number(),
});
export type ClassMetrics = z.infer<typeof ClassMetrics>;

export const ReliabilityBin = z.object({
  lower: z.number(),
  upper: z.number(),
  count: z.number().int(),
  meanConfidence: z.number(),
  accuracy: z.number(),
});
export type ReliabilityBin = z.infer<typeof ReliabilityBin>;

/** Unweighted means over the classes. */
export const MacroAverages = z.object({ precision: z.number(), recall: z.number(), f1: z.number() });
export type MacroAverages = z.infer<typeof MacroAverages>;

export const Calibration = z.object({ bins: z.array(ReliabilityBin), expectedCalibrationError: z.number() });
export type Calibration = z.infer<typeof Calibration>;

export const EvaluationMetrics = z.object({
  count: z.number().int(),
  accuracy: z.number(),
  loss: z.number(),
  classNames: z.array(z.string()),
  /** confusionMatrix[true][predicted]. */
  confusionMatrix: z.array(z.array(z.number().int())),
  perClass: z.array(ClassMetrics),
  macro: MacroAverages,
  calibration: Calibration,
});
export type EvaluationMetrics = z.infer<typeof EvaluationMetrics>;

export const EvaluationSource = z.enum(['test-split', 'dataset', 'folder']);
export type EvaluationSource = z.infer<typeof EvaluationSource>;

export const EvaluationSummary = z.object({
  id: z.number().int(),
  runId: z.number().int(),
  source: EvaluationSource,
  /** The dataset evaluated (null for a folder). */
  datasetId: z.number().int().nullable(),
  /** 'test' for a run's test split; null for a whole dataset or folder. */
  subset: z.string().nullable(),
  /** Folder path for folder evaluations. */
  folder: z.string().nullable(),
  accuracy: z.number(),
  loss: z.number(),
  count: z.number().int(),
  expectedCalibrationError: z.number(),
  createdAt: z.string(),
});
export type EvaluationSummary = z.infer<typeof EvaluationSummary>;

export const Prediction = z.object({
  /** Catalogue image id; null for files of a folder evaluated without importing. */
  imageId: z.number().int().nullable(),
  /** The file, for folder evaluations (catalogue images are shown by id). */
  path: z.string().nullable(),
  trueIndex: z.number().int(),
  predictedIndex: z.number().int(),
  probabilities: z.array(z.number()),
  confidence: z.number(),
  loss: z.number(),
  correct: z.boolean(),
});
export type Prediction = z.infer<typeof Prediction>;

export const FileError = z.object({ path: z.string(), message: z.string() });
export type FileError = z.infer<typeof FileError>;

export const Evaluation = EvaluationSummary.extend({
  metrics: EvaluationMetrics,
  /** Files that could not be predicted (unreadable, not an image); they count in no metric. */
  errors: z.array(FileError),
});
export type Evaluation = z.infer<typeof Evaluation>;

export const MisclassifiedItem = Prediction.extend({
  imageId: z.number().int(),
  trueClass: z.string(),
  predictedClass: z.string(),
  /** The image's label in the catalogue now (it may have been fixed since the evaluation); null if unlabelled. */
  currentLabel: z.string().nullable(),
});
export type MisclassifiedItem = z.infer<typeof MisclassifiedItem>;

export const CompareMetricsRow = z.object({
  runId: z.number().int(),
  name: z.string(),
  preset: z.string(),
  status: z.string(),
  backend: z.string().nullable(),
  epochs: z.number().int(),
  bestEpoch: z.number().int().nullable(),
  bestValAccuracy: z.number().nullable(),
  finalAccuracy: z.number().nullable(),
  finalValAccuracy: z.number().nullable(),
  finalLoss: z.number().nullable(),
  finalValLoss: z.number().nullable(),
  testAccuracy: z.number().nullable(),
  testLoss: z.number().nullable(),
  expectedCalibrationError: z.number().nullable(),
  durationMs: z.number().nullable(),
});
export type CompareMetricsRow = z.infer<typeof CompareMetricsRow>;

export const ConfigDifference = z.object({
  /** Dotted path: "augmentation.rotation", "customLayers.3.units". */
  path: z.string(),
  /** One value per compared run, in order; null where the field is absent. */
  values: z.array(z.unknown()),
});
export type ConfigDifference = z.infer<typeof ConfigDifference>;

export const ImageDiffItem = z.object({
  imageId: z.number().int(),
  trueIndex: z.number().int(),
  trueClass: z.string(),
  predictedA: z.string(),
  confidenceA: z.number(),
  predictedB: z.string(),
  confidenceB: z.number(),
});
export type ImageDiffItem = z.infer<typeof ImageDiffItem>;

/** Per-image diff of run B against run A (the first compared run) on the same test images. */
export const ImageDiff = z.object({
  runA: z.number().int(),
  runB: z.number().int(),
  evaluationA: z.number().int().nullable(),
  evaluationB: z.number().int().nullable(),
  /** Why there is no diff (a run without a model, different test splits); null when it was computed. */
  unavailable: z.string().nullable(),
  shared: z.number().int(),
  bothRight: z.number().int(),
  bothWrong: z.number().int(),
  /** B right, A wrong. */
  fixedByB: z.array(ImageDiffItem),
  /** A right, B wrong. */
  brokenByB: z.array(ImageDiffItem),
});
export type ImageDiff = z.infer<typeof ImageDiff>;

export const RunComparison = z.object({
  runs: z.array(RunSummary.extend({ epochs: z.array(EpochMetrics) })),
  metrics: z.array(CompareMetricsRow),
  configDiff: z.array(ConfigDifference),
  imageDiffs: z.array(ImageDiff),
});
export type RunComparison = z.infer<typeof RunComparison>;

/** A package a run's model was exported to (a completed export job of the run), for the run's page. */
export const RunExport = z.object({
  jobId: z.number().int(),
  target: ExportTarget,
  format: ExportFormat,
  path: z.string(),
  bytes: z.number().int(),
  /** When the export finished (ISO). */
  finishedAt: z.string().nullable(),
  /** Whether the package is still where it was written (the user may have moved or deleted it since). */
  present: z.boolean(),
});
export type RunExport = z.infer<typeof RunExport>;

export const MisclassifiedFilter = z.enum(['wrong', 'low-confidence-correct']);
export type MisclassifiedFilter = z.infer<typeof MisclassifiedFilter>;

export const runRequests = defineRequests({
  /** Rename, notes, tags; absent fields stay as they are. */
  'runs.update': {
    payload: z.object({
      runId: id,
      name: z.string().trim().min(1).max(200).optional(),
      notes: z.string().max(20000).optional(),
      tags: z.array(z.string().trim().min(1).max(50)).max(50).optional(),
    }),
    result: RunSummary,
  },
  /** Deletes a finished run with its epochs, evaluations and model files. */
  'runs.delete': {
    payload: z.object({ runId: id }),
    result: z.object({ runId: z.number().int(), removedFiles: z.array(z.string()) }),
  },
  /**
   * Queues a new run with the same config and seed on the same split (the new run's parent is this one); jobId is its
   * train job (follow it with jobs.progress / jobs.finished; it may wait behind another cpu job).
   */
  'runs.again': { payload: z.object({ runId: id }), result: z.object({ runId: z.number().int(), jobId: z.number().int() }) },
  /** Curves, metrics table, config diff and per-image diffs (each run against the first) for 2 to 4 runs. */
  'runs.compare': {
    payload: z.object({
      runIds: z.array(id).min(2).max(4),
      /** Evaluate runs on their test split when no stored evaluation exists (needed for the per-image diff). */
      evaluateMissing: z.boolean().default(true),
    }),
    result: RunComparison,
  },
  /**
   * Evaluates a run's model: on its test split by default, on every labelled image of another dataset with
   * datasetId, or on a folder of class subfolders (not imported) with folder.
   */
  'runs.evaluate': {
    payload: z
      .object({ runId: id, datasetId: id.optional(), folder: z.string().min(1).optional() })
      .refine((p) => !(p.datasetId !== undefined && p.folder !== undefined), 'give a dataset or a folder, not both'),
    result: Evaluation.extend({ predictions: z.array(Prediction) }),
  },
  /** The run's stored log lines after `afterSeq` (0: all kept): a page following a training run asks for the new ones. */
  'runs.log': {
    payload: z.object({ runId: id, afterSeq: z.number().int().min(0).default(0) }),
    result: z.object({ lines: z.array(RunLogLine) }),
  },
  /** The packages the run's model was exported to, newest first. */
  'runs.exports': { payload: z.object({ runId: id }), result: z.object({ exports: z.array(RunExport) }) },
  'runs.evaluations': {
    payload: z.object({ runId: id }),
    result: z.object({ evaluations: z.array(EvaluationSummary) }),
  },
  /** fileMistakes: a folder evaluation's wrong files, highest loss first (at most 200); catalogue images come from runs.misclassified. */
  'runs.evaluation': { payload: z.object({ evaluationId: id }), result: Evaluation.extend({ fileMistakes: z.array(Prediction) }) },
  /** Misclassified images sorted by loss, or correct ones below a confidence threshold, least confident first. */
  'runs.misclassified': {
    payload: z.object({
      evaluationId: id,
      filter: MisclassifiedFilter.default('wrong'),
      threshold: z.number().min(0).max(1).default(0.7),
      limit: z.number().int().min(1).max(5000).default(200),
    }),
    result: z.object({ total: z.number().int(), classNames: z.array(z.string()), items: z.array(MisclassifiedItem) }),
  },
});

export const runEvents = defineEvents({
  /** A run was renamed, deleted or otherwise changed outside training, so lists can refresh. */
  'runs.changed': z.object({ runId: z.number().int(), deleted: z.boolean() }),
});
