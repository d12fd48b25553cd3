// The one model-file format (issue 12 §2.6): metadata.json beside model.json + weights.bin says everything needed to
// use the model without Pawprint (class order, input size and scaling, output kind) and to trace it back to its run.
// Training writes it into a run's model folder and export into a package, so a run folder is a loadable package;
// `package` tells the two apart, and an export only ever replaces an earlier export. Older files are read by typed
// legacy readers (a run's pawprint.json, an export's formatVersion 1, Teachable Machine's metadata.json) and
// converted in memory. tf-free: the main process may import it.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import { preprocessingSchema, trainingConfigSchema, type Preprocessing, type TrainingConfig } from '../../shared/training-config';
import { readJsonFile, type ModelFiles } from './model-files';
import { PIXEL_ROUNDING, PIXEL_RULE_VERSION, RESIZE_RECIPE } from '../imaging/resize-recipe';
import { rescalingFor } from './preprocess';

export const MODEL_METADATA_FILE = 'metadata.json';
/** What training wrote beside a run's model before formatVersion 2 (read only). */
export const LEGACY_RUN_METADATA_FILE = 'pawprint.json';
export const MODEL_FORMAT = 'pawprint-model';
export const MODEL_FORMAT_VERSION = 2;

const imageSizeSchema = z.object({ height: z.number().int().positive(), width: z.number().int().positive() });
const metric = z.number().nullable().default(null);

/** A run's numbers at the time the file was written (null: not measured). */
export const modelMetricsSchema = z.object({
  bestEpoch: z.number().int().nullable().default(null),
  epochs: z.number().int().nonnegative().nullable().default(null),
  bestValAccuracy: metric,
  bestValLoss: metric,
  trainAccuracyAtBest: metric,
  trainLossAtBest: metric,
  lastValAccuracy: metric,
  testAccuracy: metric,
  testLoss: metric,
  /** The epoch whose weights the file holds (the best by the run's monitor) and the validation accuracy there. */
  savedEpoch: z.number().int().nullable().default(null),
  valAccuracyAtSavedEpoch: metric,
  /** The highest validation accuracy of any epoch and that epoch: not the saved weights' when the monitor is the loss. */
  highestValAccuracy: metric,
  highestValAccuracyEpoch: z.number().int().nullable().default(null),
});
export type ModelMetrics = z.infer<typeof modelMetricsSchema>;

/**
 * How an image becomes the model's input, in numbers a consumer can follow with TF.js alone (issue 13): decode upright
 * (EXIF applied), transparency flattened on white, sRGB, RGB order; tf.image.resizeBilinear(image, [height, width],
 * alignCorners false, halfPixelCenters true), no antialias, stretched ('stretch': aspect ratio not kept) or the centred
 * region of the size's aspect ratio first ('center-crop'); rounded half to even (tf.round) as Pawprint does, or not
 * (within 0.5 of Pawprint's values); then x·scale + offset, which the model does itself when scaleInModel is true
 * (feed it the 0..255 values). Files written before the recipe was recorded have none: their runs were trained on
 * sharp's linear resize (pixel rule 2 or older).
 */
export const preprocessRecipeSchema = z.object({
  /** The pixel rule the model was trained with (image-policy.ts PIXEL_RULE_VERSION); 3 is this recipe. */
  pixelRule: z.number().int().positive(),
  decode: z.object({
    exifOrientation: z.literal('applied'),
    alpha: z.literal('flatten-on-white'),
    colourSpace: z.literal('sRGB'),
  }),
  size: imageSizeSchema,
  fit: z.enum(['stretch', 'center-crop']),
  resize: z.object({
    method: z.literal('bilinear'),
    halfPixelCenters: z.literal(true),
    alignCorners: z.literal(false),
    antialias: z.literal(false),
  }),
  /** 'half-to-even': resized values rounded to whole numbers as tf.round does, before scaling. */
  rounding: z.enum(['half-to-even', 'none']),
  channelOrder: z.literal('RGB'),
  layout: z.literal('NHWC'),
  scale: z.number(),
  offset: z.number(),
  /** True: the model's first layer applies scale and offset (feed 0..255); false: the consumer applies them. */
  scaleInModel: z.boolean(),
  /** The TF.js version the model was written with (tf.version.tfjs); a consumer needs at least this one. */
  tfjs: z.string(),
});
export type PreprocessRecipe = z.infer<typeof preprocessRecipeSchema>;

export const modelPackageSchema = z.enum(['run', 'export']);
/** 'run': a run's own model folder (never replaced by an export); 'export': a package written by export. */
export type ModelPackage = z.infer<typeof modelPackageSchema>;

export const modelMetadataSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  /** Absent in formatVersion 1, which only exports wrote as metadata.json. */
  package: modelPackageSchema.optional(),
  name: z.string(),
  /** Index i is output i (for one sigmoid logit: index 1 is the positive class, probability sigmoid(logit)). */
  classNames: z.array(z.string()).min(2),
  imageSize: imageSizeSchema,
  input: z.object({
    /** Always raw RGB pixels 0..255, NHWC float32: scaling, if any, is inside the model. */
    layout: z.literal('NHWC'),
    channels: z.literal(3),
    range: z.tuple([z.number(), z.number()]),
    /** 'fill': the whole image resized to exactly height x width (aspect ratio not kept), as in training. */
    resize: z.enum(['fill', 'center-crop']),
    exifOrientation: z.literal('applied'),
  }),
  /** The scaling the model applies to its input: none (0..255), unit ([0,1]), symmetric ([-1,1]). */
  preprocessing: preprocessingSchema,
  /** True when that scaling is a Rescaling layer inside model.json (always, for Pawprint's presets). */
  preprocessingInModel: z.boolean(),
  /** Absent in files written before the recipe was recorded; null in an export of a run trained before it. */
  recipe: preprocessRecipeSchema.nullable().optional(),
  output: z.object({
    kind: z.enum(['logits', 'probabilities']),
    /** How logits become probabilities. */
    activation: z.enum(['sigmoid', 'softmax']),
    units: z.number().int().positive(),
  }),
  run: z.object({
    id: z.number().int().nullable(),
    name: z.string().nullable(),
    preset: z.string().nullable(),
    datasetId: z.number().int().nullable(),
    splitId: z.union([z.number(), z.string()]).nullable(),
    dataHash: z.string().nullable(),
    config: trainingConfigSchema.nullable(),
    metrics: modelMetricsSchema,
    backend: z.string().nullable(),
    versions: z.record(z.string(), z.string()),
    createdAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  }),
  versions: z.object({ app: z.string(), tfjs: z.string() }).catchall(z.string()),
  createdAt: z.string(),
}).refine((value) => value.formatVersion === 1 || value.package !== undefined, {
  path: ['package'], message: "required from formatVersion 2 on ('run' or 'export')",
});
/**
 * A model's metadata as read (any version, converted) or written: `package` is always known, `recipe` is null when
 * the file predates it (the model was trained on pixels of an older rule).
 */
export type ModelMetadata = Omit<z.infer<typeof modelMetadataSchema>, 'package' | 'recipe'> & { package: ModelPackage; recipe: PreprocessRecipe | null };

/** pawprint.json as the training worker wrote it before formatVersion 2; the fields loading needs are required. */
export const legacyRunMetadataSchema = z.object({
  format: z.literal(MODEL_FORMAT).optional(),
  version: z.literal(1).optional(),
  runId: z.number().int().optional(),
  classNames: z.array(z.string()).min(2),
  imageSize: imageSizeSchema,
  preprocessing: preprocessingSchema.optional(),
  output: z.object({ activation: z.enum(['sigmoid', 'softmax']), units: z.number().int().positive() }).optional(),
  bestEpoch: z.number().int().nullable().optional(),
  metrics: z.object({
    valAccuracy: z.number().nullable(), valLoss: z.number().nullable(), testAccuracy: z.number().nullable(), testLoss: z.number().nullable(),
  }).partial().optional(),
  backend: z.string().optional(),
  versions: z.record(z.string(), z.string()).optional(),
  config: z.unknown().optional(),
  savedAt: z.string().optional(),
});
export type LegacyRunMetadata = z.infer<typeof legacyRunMetadataSchema>;

/** metadata.json as Teachable Machine's image library writes it (fields it fills in on load are optional). */
export const teachableMachineMetadataSchema = z.object({
  labels: z.array(z.string()).min(1),
  imageSize: z.number().int().positive().optional(),
  tfjsVersion: z.string().optional(),
  tmVersion: z.string().optional(),
  packageName: z.string().optional(),
  packageVersion: z.string().optional(),
  modelName: z.string().optional(),
  timeStamp: z.string().optional(),
});
export type TeachableMachineMetadata = z.infer<typeof teachableMachineMetadataSchema>;

/** What a caller knows about a model from elsewhere (a run's catalogue row), for folders without metadata. */
export interface ModelHints {
  classNames?: string[];
  imageSize?: { height: number; width: number };
  preprocessing?: Preprocessing;
}

/** The metadata found beside a model, typed by where it came from. */
export type FoundModelMetadata =
  | { format: 'pawprint'; file: string; metadata: ModelMetadata }
  | { format: 'teachable-machine'; file: string; metadata: TeachableMachineMetadata }
  | { format: 'none' };

/** Output units of a classifier with `classes` classes: one logit for two classes, else one per class. */
function unitsFor(classes: number): number {
  return classes === 2 ? 1 : classes;
}

/** A stored training config, or null when it no longer parses (a run from an older version): it is only a record. */
export function trainingConfigOrNull(value: unknown): TrainingConfig | null {
  const parsed = trainingConfigSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The first schema problem as one line: where in the file, and what is wrong there. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.length > 0 ? issue.path.join('.') : 'the file'}: ${issue.message}`;
}

function damaged(file: string, label: string, error: z.ZodError): AppError {
  return new AppError('invalid-payload', `${file} in ${label} is damaged (${firstIssue(error)}): export the model again from Pawprint, or restore the file.`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A legacy run's pawprint.json in today's shape (package 'run'); what it never recorded is null. */
export function fromLegacyRunMetadata(legacy: LegacyRunMetadata, name: string): ModelMetadata {
  const config = trainingConfigOrNull(legacy.config);
  const units = legacy.output?.units ?? unitsFor(legacy.classNames.length);
  const preprocessing = legacy.preprocessing ?? config?.preprocessing ?? 'none';
  const versions = legacy.versions ?? {};
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    package: 'run',
    name,
    classNames: [...legacy.classNames],
    imageSize: { ...legacy.imageSize },
    input: { layout: 'NHWC', channels: 3, range: [0, 255], resize: 'fill', exifOrientation: 'applied' },
    preprocessing,
    // Pawprint's trainer always put the scaling into the model as a Rescaling layer.
    preprocessingInModel: preprocessing !== 'none',
    // Trained on sharp's linear resize, before the recipe existed.
    recipe: null,
    output: { kind: 'logits', activation: legacy.output?.activation ?? (units === 1 ? 'sigmoid' : 'softmax'), units },
    run: {
      id: legacy.runId ?? null, name: null, preset: config?.preset ?? null, datasetId: null, splitId: null, dataHash: null, config,
      metrics: modelMetricsSchema.parse({
        bestEpoch: legacy.bestEpoch ?? null, bestValAccuracy: legacy.metrics?.valAccuracy ?? null, bestValLoss: legacy.metrics?.valLoss ?? null,
        testAccuracy: legacy.metrics?.testAccuracy ?? null, testLoss: legacy.metrics?.testLoss ?? null,
      }),
      backend: legacy.backend ?? null, versions, createdAt: null, finishedAt: legacy.savedAt ?? null,
    },
    versions: { ...versions, app: versions.pawprint ?? 'unknown', tfjs: versions['tfjs-core'] ?? 'unknown' },
    createdAt: legacy.savedAt ?? '',
  };
}

/**
 * Reads the metadata beside a model: Pawprint's metadata.json (formatVersion 1 or 2), else Teachable Machine's, else
 * a legacy run's pawprint.json. Throws a one-line AppError naming the field when a Pawprint file is damaged; any
 * other JSON file (another tool's metadata.json, run.json, checkpoint.json) is not read for hints.
 */
export async function readModelMetadata(files: Pick<ModelFiles, 'label' | 'names' | 'read'>): Promise<FoundModelMetadata> {
  const json = await readJsonFile(files, MODEL_METADATA_FILE);
  if (isRecord(json) && json.format === MODEL_FORMAT) {
    // formatVersion 1 kept the run's config untyped: an older config is kept only while it still parses.
    const run = json.formatVersion === 1 && isRecord(json.run) ? { ...json.run, config: trainingConfigOrNull(json.run.config) } : json.run;
    const parsed = modelMetadataSchema.safeParse({ ...json, run });
    if (!parsed.success) throw damaged(MODEL_METADATA_FILE, files.label, parsed.error);
    return { format: 'pawprint', file: MODEL_METADATA_FILE, metadata: { ...parsed.data, package: parsed.data.package ?? 'export', recipe: parsed.data.recipe ?? null } };
  }
  if (json !== undefined) {
    const teachable = teachableMachineMetadataSchema.safeParse(json);
    if (teachable.success) return { format: 'teachable-machine', file: MODEL_METADATA_FILE, metadata: teachable.data };
  }
  const legacy = await readJsonFile(files, LEGACY_RUN_METADATA_FILE);
  if (legacy !== undefined) {
    const parsed = legacyRunMetadataSchema.safeParse(legacy);
    if (!parsed.success) throw damaged(LEGACY_RUN_METADATA_FILE, files.label, parsed.error);
    const name = parsed.data.runId === undefined ? 'Pawprint run' : `run ${parsed.data.runId}`;
    return { format: 'pawprint', file: LEGACY_RUN_METADATA_FILE, metadata: fromLegacyRunMetadata(parsed.data, name) };
  }
  return { format: 'none' };
}

export interface ModelMetadataInput {
  package: ModelPackage;
  name: string;
  classNames: readonly string[];
  imageSize: { height: number; width: number };
  preprocessing: Preprocessing;
  preprocessingInModel: boolean;
  /** What the last layer gives (Pawprint's models: logits) and how many units. */
  output: { kind: 'logits' | 'probabilities'; units: number };
  run: Omit<ModelMetadata['run'], 'metrics'> & { metrics: Partial<ModelMetrics> };
  versions: ModelMetadata['versions'];
  createdAt?: Date;
  /**
   * The recipe the model was trained with. Default: today's (preprocessRecipeFor); an export of a run passes its run
   * folder's recipe, null for a run trained before the recipe was recorded, so the package does not claim pixels
   * the model never saw.
   */
  recipe?: PreprocessRecipe | null;
}

/** Today's recipe (image-policy.ts decodeRgb) for a model of this size and scaling. */
export function preprocessRecipeFor(input: {
  imageSize: { height: number; width: number }; preprocessing: Preprocessing; preprocessingInModel: boolean; tfjs: string;
  fit?: PreprocessRecipe['fit'];
}): PreprocessRecipe {
  const scaling = rescalingFor(input.preprocessing) ?? { scale: 1, offset: 0 };
  return {
    pixelRule: PIXEL_RULE_VERSION,
    decode: { exifOrientation: 'applied', alpha: 'flatten-on-white', colourSpace: 'sRGB' },
    size: { height: input.imageSize.height, width: input.imageSize.width },
    fit: input.fit ?? 'stretch',
    resize: { ...RESIZE_RECIPE },
    rounding: PIXEL_ROUNDING,
    channelOrder: 'RGB',
    layout: 'NHWC',
    scale: scaling.scale,
    offset: scaling.offset,
    scaleInModel: input.preprocessingInModel && input.preprocessing !== 'none',
    tfjs: input.tfjs,
  };
}

/** The one builder of model metadata, for a run's model folder and for an export package alike. */
export function buildModelMetadata(input: ModelMetadataInput): ModelMetadata {
  const candidate = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    package: input.package,
    name: input.name,
    classNames: [...input.classNames],
    imageSize: { height: input.imageSize.height, width: input.imageSize.width },
    input: { layout: 'NHWC', channels: 3, range: [0, 255], resize: 'fill', exifOrientation: 'applied' },
    preprocessing: input.preprocessing,
    preprocessingInModel: input.preprocessingInModel,
    recipe: input.recipe === undefined
      ? preprocessRecipeFor({ imageSize: input.imageSize, preprocessing: input.preprocessing, preprocessingInModel: input.preprocessingInModel, tfjs: input.versions.tfjs })
      : input.recipe,
    output: { kind: input.output.kind, activation: input.output.units === 1 ? 'sigmoid' : 'softmax', units: input.output.units },
    run: input.run,
    versions: input.versions,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
  };
  const parsed = modelMetadataSchema.safeParse(candidate);
  if (!parsed.success) throw new AppError('failed', `Cannot describe the model "${input.name}": ${firstIssue(parsed.error)}.`);
  return { ...parsed.data, package: input.package, recipe: parsed.data.recipe ?? null };
}

/** The bytes of metadata.json, the same in a run folder, an export folder and an export zip. */
export function serializeModelMetadata(metadata: ModelMetadata): string {
  return `${JSON.stringify(metadata, null, 2)}\n`;
}

/** Writes metadata.json into a model folder, by rename: a reader never sees half a file. */
export async function writeModelMetadata(dir: string, metadata: ModelMetadata): Promise<void> {
  const tmp = join(dir, `${MODEL_METADATA_FILE}.tmp`);
  await writeFile(tmp, serializeModelMetadata(metadata));
  await rename(tmp, join(dir, MODEL_METADATA_FILE));
}
