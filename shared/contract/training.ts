import { z } from 'zod';
import { defineEvents, defineRequests } from './define';
import {
  augmentationSchema, presetNameSchema, trainingConfigInputSchema, trainingConfigSchema,
} from '../training-config';

// Training: presets, config validation, starting/cancelling runs in the worker process, augmentation previews,
// and the run records (list/get) that the runs domain (shared/contract/runs.ts) builds on.

export const RunStatus = z.enum(['queued', 'running', 'completed', 'cancelled', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;

export const TrainPhase = z.enum(['train', 'fine-tune']);
export type TrainPhase = z.infer<typeof TrainPhase>;

/** One row of a model's layer table (tfjs's own counts). */
export const ModelLayerRow = z.object({
  name: z.string(),
  className: z.string(),
  outputShape: z.array(z.number()),
  params: z.number(),
  trainableParams: z.number(),
});
export const ModelSummary = z.object({
  layers: z.array(ModelLayerRow),
  totalParams: z.number(),
  trainableParams: z.number(),
  inputShape: z.array(z.number()),
  outputShape: z.array(z.number()),
});
export type ModelSummary = z.infer<typeof ModelSummary>;

export const PresetInfo = z.object({
  name: presetNameSchema,
  title: z.string(),
  description: z.string(),
  defaults: trainingConfigSchema,
  /** Null when the model cannot be described without downloads (never for the built-in presets). */
  model: ModelSummary.nullable(),
});
export type PresetInfo = z.infer<typeof PresetInfo>;

/** What an issue is about, for code that acts on it (the words in `message` are for people and may change). */
export const ValidationIssueCode = z.enum(['backend-unavailable']);
export type ValidationIssueCode = z.infer<typeof ValidationIssueCode>;

export const ValidationIssue = z.object({
  severity: z.enum(['error', 'warning']),
  /** 1-based custom layer the problem is about, or null for the whole config. */
  layer: z.number().nullable(),
  message: z.string(),
  /** Set for issues the UI acts on: 'backend-unavailable' (the chosen backend is not installed here; see `backend`). */
  code: ValidationIssueCode.optional(),
  /** With 'backend-unavailable': the config's backend value this machine cannot give ('node' for tfjs-node). */
  backend: z.string().optional(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

/** A user's layer type, or one the builder adds. */
export const PlannedLayerType = z.enum(['conv2d', 'maxPool', 'avgPool', 'batchNorm', 'dropout', 'flatten', 'dense', 'globalPool', 'rescaling', 'logits']);
export type PlannedLayerType = z.infer<typeof PlannedLayerType>;

export const PlannedLayer = z.object({
  /** 1-based position in the user's list; null for layers the builder adds (rescaling, flatten, logits). */
  index: z.number().nullable(),
  type: PlannedLayerType,
  /** Human-readable, e.g. "Conv2D 32 10x5 relu". */
  label: z.string(),
  outputShape: z.array(z.number()),
  params: z.number(),
  auto: z.boolean(),
});
export type PlannedLayer = z.infer<typeof PlannedLayer>;

export const ConfigValidation = z.object({
  ok: z.boolean(),
  issues: z.array(ValidationIssue),
  /** Shape plan of the CNN/custom stack (empty for mobilenetv2). */
  layers: z.array(PlannedLayer),
  totalParams: z.number(),
  /** The config with every default filled in, when it parsed. */
  config: trainingConfigSchema.nullable(),
});
export type ConfigValidation = z.infer<typeof ConfigValidation>;

/** A (possibly partial) training config: missing fields come from the preset's defaults. */
export const TrainingConfigInput = trainingConfigInputSchema;
/** Anything: training.validateConfig exists to explain in words what is wrong with a config. */
const ConfigToCheck = z.record(z.string(), z.unknown());

export const EpochMetrics = z.object({
  phase: TrainPhase,
  epoch: z.number().int(),
  loss: z.number().nullable(),
  accuracy: z.number().nullable(),
  valLoss: z.number().nullable(),
  valAccuracy: z.number().nullable(),
  durationMs: z.number(),
});
export type EpochMetrics = z.infer<typeof EpochMetrics>;

export const RunSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  preset: z.string(),
  status: RunStatus,
  backend: z.string().nullable(),
  datasetId: z.number().int().nullable(),
  splitId: z.number().int().nullable(),
  bestEpoch: z.number().int().nullable(),
  bestValAccuracy: z.number().nullable(),
  testAccuracy: z.number().nullable(),
  testLoss: z.number().nullable(),
  epochsDone: z.number().int(),
  epochsPlanned: z.number().int(),
  /** Wall time from start to finish (or to now while running); null before it started. */
  durationMs: z.number().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  modelPath: z.string().nullable(),
  notes: z.string(),
  tags: z.array(z.string()),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const RunDetail = RunSummary.extend({
  config: trainingConfigSchema,
  classNames: z.array(z.string()),
  seed: z.number().int(),
  dataHash: z.string().nullable(),
  versions: z.record(z.string(), z.string()),
  parentRunId: z.number().int().nullable(),
  epochs: z.array(EpochMetrics),
});
export type RunDetail = z.infer<typeof RunDetail>;

/** Lines of a run's log the catalogue keeps (the newest); older ones are dropped as a run logs more. */
export const RUN_LOG_KEEP = 2000;

/** One line its train job logged, as the catalogue keeps it; seq orders the lines (runs.log asks for those after one). */
export const RunLogLine = z.object({
  seq: z.number().int().positive(),
  at: z.string(),
  level: z.enum(['info', 'warn']),
  message: z.string(),
});
export type RunLogLine = z.infer<typeof RunLogLine>;

/** What runs.get answers: the run's record with its stored log (the last RUN_LOG_KEEP lines), for any run. */
export const RunRecord = RunDetail.extend({ log: z.array(RunLogLine) });
export type RunRecord = z.infer<typeof RunRecord>;

/** What the worker is doing right now, for the progress bar. */
export const TrainingStage = z.enum(['starting', 'decoding', 'weights', 'features', 'training', 'evaluating', 'saving']);
export type TrainingStage = z.infer<typeof TrainingStage>;

/** A run's batch report from its worker; the train kind sends it on as jobs.progress (its train detail). */
export const TrainingProgress = z.object({
  runId: z.number().int(),
  stage: TrainingStage,
  phase: TrainPhase,
  epoch: z.number().int(),
  epochs: z.number().int(),
  /** Batch within the epoch, or items done in a non-training stage (decoding, features). */
  batch: z.number().int(),
  batches: z.number().int(),
  loss: z.number().nullable(),
  accuracy: z.number().nullable(),
  imagesPerSecond: z.number().nullable(),
  /** Seconds left in the whole run (or the stage when not training); null when unknown. */
  etaSeconds: z.number().nullable(),
});
export type TrainingProgress = z.infer<typeof TrainingProgress>;

export const AugmentPreviewImage = z.object({
  /** data:image/png;base64,... at the training size. */
  dataUrl: z.string(),
  params: z.object({
    flipHorizontal: z.boolean(),
    flipVertical: z.boolean(),
    angle: z.number(),
    zoom: z.number(),
    brightnessDelta: z.number(),
    contrastFactor: z.number(),
  }).nullable(),
});

export const AugmentPreview = z.object({
  imageId: z.number().int(),
  original: AugmentPreviewImage,
  variants: z.array(AugmentPreviewImage),
});
export type AugmentPreview = z.infer<typeof AugmentPreview>;

const runId = z.number().int().positive();

export const trainingRequests = defineRequests({
  /** Built-in presets with the tutorial's defaults and their layer tables (for a dataset with numClasses classes). */
  'training.presets': {
    payload: z.object({ numClasses: z.number().int().min(2).max(1000).default(2) }),
    result: z.object({ presets: z.array(PresetInfo) }),
  },
  /** Checks a (partial) config: schema problems and custom-layer shape problems, in words. */
  'training.validateConfig': {
    payload: z.object({ config: ConfigToCheck, numClasses: z.number().int().min(1).max(1000).default(2) }),
    result: ConfigValidation,
  },
  /** The image beside `count` augmented variants, made by the training code (variant k = epoch k). */
  'augment.preview': {
    payload: z.object({
      imageId: z.number().int().positive(),
      options: augmentationSchema,
      size: z.number().int().min(16).max(512).default(160),
      seed: z.number().int().min(0).max(0xffffffff).default(42),
      count: z.number().int().min(1).max(16).default(6),
    }),
    result: AugmentPreview,
  },
  'runs.list': {
    payload: z.object({
      datasetId: z.number().int().positive().optional(),
      status: RunStatus.optional(),
      limit: z.number().int().min(1).max(10000).default(500),
    }),
    result: z.object({ runs: z.array(RunSummary) }),
  },
  'runs.get': { payload: z.object({ runId }), result: RunRecord },
});

// A run is a train job (jobs.start {kind: 'train'}): its progress, log and end arrive as jobs.progress / jobs.log /
// jobs.finished. These two carry what the live curves need beyond that: the backend the worker chose and each epoch's metrics.
export const trainingEvents = defineEvents({
  'training.started': z.object({ runId: z.number().int(), name: z.string(), preset: z.string(), datasetId: z.number().int(), backend: z.string().nullable() }),
  'training.epoch': EpochMetrics.extend({ runId: z.number().int() }),
});
