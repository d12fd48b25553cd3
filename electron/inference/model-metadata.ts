// metadata.json of a Pawprint model package: everything needed to use the model without Pawprint (class order,
// input size and scaling, output kind) and to trace it back to its run (config, metrics, split, data hash).
import { z } from 'zod';

export const PAWPRINT_MODEL_FORMAT = 'pawprint-model';
export const PAWPRINT_MODEL_FORMAT_VERSION = 1;
export const METADATA_FILE = 'metadata.json';

const imageSizeSchema = z.object({ height: z.number().int().positive(), width: z.number().int().positive() });

export const pawprintModelMetadataSchema = z.object({
  format: z.literal(PAWPRINT_MODEL_FORMAT),
  formatVersion: z.number().int().positive(),
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
  preprocessing: z.enum(['none', 'unit', 'symmetric']),
  /** True when that scaling is a Rescaling layer inside model.json (always, for Pawprint's presets). */
  preprocessingInModel: z.boolean(),
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
    config: z.unknown(),
    metrics: z.record(z.string(), z.number().nullable()),
    backend: z.string().nullable(),
    versions: z.record(z.string(), z.string()),
    createdAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  }),
  versions: z.object({ app: z.string(), tfjs: z.string() }).catchall(z.string()),
  createdAt: z.string(),
});
export type PawprintModelMetadata = z.infer<typeof pawprintModelMetadataSchema>;

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

export function isPawprintMetadata(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { format?: unknown }).format === PAWPRINT_MODEL_FORMAT;
}

/**
 * What a (partial) description of a model found beside it says: a run folder's metadata, a trainer checkpoint
 * (`{ run: RunRecord }`) or a catalogue row. Fields may sit at the top level, under `config` or under `run`.
 */
export interface ModelHints {
  classNames?: string[];
  imageSize?: { height: number; width: number };
  preprocessing?: 'none' | 'unit' | 'symmetric';
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function readSize(value: unknown): { height: number; width: number } | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return { height: value, width: value };
  const record = asRecord(value);
  if (!record) return undefined;
  const { height, width } = record;
  if (typeof height === 'number' && typeof width === 'number' && height > 0 && width > 0) return { height, width };
  return undefined;
}

/** Pulls class names, size and preprocessing out of any of the JSON shapes Pawprint writes beside a model. */
export function hintsFromJson(value: unknown): ModelHints {
  const hints: ModelHints = {};
  const visit = (node: unknown, depth: number) => {
    const record = asRecord(node);
    if (!record || depth > 2) return;
    if (!hints.classNames && Array.isArray(record.classNames) && record.classNames.every((c) => typeof c === 'string')) {
      hints.classNames = record.classNames as string[];
    }
    if (!hints.imageSize) hints.imageSize = readSize(record.imageSize);
    if (!hints.preprocessing && (record.preprocessing === 'none' || record.preprocessing === 'unit' || record.preprocessing === 'symmetric')) {
      hints.preprocessing = record.preprocessing;
    }
    for (const key of ['run', 'config', 'record']) visit(record[key], depth + 1);
  };
  visit(value, 0);
  return hints;
}
