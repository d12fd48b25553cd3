import { z } from 'zod';
import { defineEvents, defineRequests } from './define';

// Export: a run's model as a verified package (.zip or folder), "Try it" predictions with a run's model or a
// model file (Pawprint export, Teachable Machine export), and uploads so the browser host can hand files over.

/** Largest file accepted by export.upload (decoded bytes). */
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
/** Base64 length of MAX_UPLOAD_BYTES. */
export const MAX_UPLOAD_BASE64 = Math.ceil(MAX_UPLOAD_BYTES / 3) * 4;

const runId = z.number().int().positive();
export const UploadId = z.string().regex(/^u[0-9a-f]{16}$/, 'not an upload id');

export const ExportFormat = z.enum(['zip', 'folder']);
export type ExportFormat = z.infer<typeof ExportFormat>;
/** tfjs: model.json + weights + classify.js + reference/; tm: Teachable Machine's layout; onnx: model.onnx + classify.py. */
export const ExportTarget = z.enum(['tfjs', 'tm', 'onnx']);
export type ExportTarget = z.infer<typeof ExportTarget>;

export const ExportResult = z.object({
  path: z.string(),
  format: ExportFormat,
  /** Always true: an export that fails verification is deleted and reported as an error instead. */
  verified: z.literal(true),
  /** Largest absolute difference between the in-app model and the reloaded package (outputs and probabilities). */
  maxAbsDiff: z.number(),
  tolerance: z.number(),
  /** Images both models predicted. */
  images: z.number().int(),
  /** Verification images that could not be read. */
  skipped: z.number().int(),
  /** Where the verification images came from. */
  imagesSource: z.enum(['test', 'val', 'train', 'given']),
  /** Images on which both models predicted the same class. */
  agreement: z.number().int(),
  bytes: z.number().int(),
  files: z.array(z.string()),
  /** Opaque id for <page>/download/<id> in the browser host (a folder comes as a zip); set on export.run's answer. */
  download: z.string().optional(),
});
export type ExportResult = z.infer<typeof ExportResult>;

/** Where a model comes from: a run of the catalogue, an upload (a .zip, or Teachable Machine's three files), or a path. */
export const ModelSource = z.union([
  z.object({ runId }),
  z.object({ uploadId: UploadId }),
  z.object({ path: z.string().min(1) }),
]);
export type ModelSource = z.infer<typeof ModelSource>;

/** Images to predict: every file of an upload (or one by name), or a file or folder path. */
export const ImageSource = z.union([
  z.object({ uploadId: UploadId, name: z.string().optional() }),
  z.object({ path: z.string().min(1) }),
]);
export type ImageSource = z.infer<typeof ImageSource>;

export const ExportModelInfo = z.object({
  kind: z.enum(['pawprint-export', 'pawprint-run', 'teachable-machine', 'tfjs-layers']),
  /** What to show: the run name or the file name. */
  label: z.string(),
  classNames: z.array(z.string()),
  imageSize: z.object({ height: z.number().int(), width: z.number().int() }),
  preprocessing: z.enum(['none', 'unit', 'symmetric', 'teachable-machine']),
  resize: z.enum(['fill', 'center-crop']),
  output: z.enum(['logits', 'probabilities']),
});
export type ExportModelInfo = z.infer<typeof ExportModelInfo>;

export const ExportPrediction = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    name: z.string(),
    /** Upload id the image came from (the UI previews it from its own copy). */
    uploadId: z.string().nullable(),
    path: z.string().nullable(),
    className: z.string(),
    predictedIndex: z.number().int(),
    /** In ExportModelInfo.classNames order. */
    probabilities: z.array(z.number()),
    /** Class whose name matches the image's folder, when there is one (for an accuracy figure). */
    trueIndex: z.number().int().nullable(),
  }),
  z.object({ ok: z.literal(false), name: z.string(), uploadId: z.string().nullable(), path: z.string().nullable(), error: z.string() }),
]);
export type ExportPrediction = z.infer<typeof ExportPrediction>;

export const ExportPredictResult = z.object({
  model: ExportModelInfo,
  results: z.array(ExportPrediction),
  /** Over the images whose folder names a class; null when there are none. */
  accuracy: z.number().nullable(),
  labelled: z.number().int(),
  durationMs: z.number(),
});
export type ExportPredictResult = z.infer<typeof ExportPredictResult>;

export const UploadResult = z.object({
  uploadId: UploadId,
  /** The stored name (sanitised; suffixed when the upload already had a file of that name). */
  name: z.string(),
  bytes: z.number().int(),
  /** Every file of the upload so far. */
  files: z.array(z.string()),
});
export type UploadResult = z.infer<typeof UploadResult>;

export const exportRequests = defineRequests({
  /**
   * Exports a finished run's model and verifies the written package against the in-app model on the run's test
   * images (or `images`). Without `out`, the package goes to <data folder>/exports/.
   */
  'export.run': {
    payload: z.object({
      runId,
      target: ExportTarget.default('tfjs'),
      out: z.string().min(1).optional(),
      format: ExportFormat.default('zip'),
      overwrite: z.boolean().default(false),
      images: z.array(ImageSource).max(100).optional(),
      /** At most this many verification images (the first ones of the test split). */
      maxImages: z.number().int().min(1).max(10000).default(200),
    }),
    result: ExportResult,
  },
  /** "Try it": predicts images with a run's model or a model file. Unreadable images get a per-image error. */
  'export.predict': {
    payload: z.object({
      model: ModelSource,
      images: z.array(ImageSource).min(1).max(1000),
      batchSize: z.number().int().min(1).max(256).default(16),
    }),
    result: ExportPredictResult,
  },
  /** Describes a model without predicting (classes, input size, kind). */
  'export.inspect': { payload: z.object({ model: ModelSource }), result: ExportModelInfo },
  /**
   * Stores one file (base64, at most MAX_UPLOAD_BYTES) in the app's cache and returns an upload id usable as a
   * model or image source. Pass `uploadId` to add a file to an existing upload (Teachable Machine's model.json,
   * weights.bin and metadata.json together; or several images).
   */
  'export.upload': {
    payload: z.object({
      name: z.string().min(1).max(255),
      data: z.string().max(MAX_UPLOAD_BASE64, `a file may be at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`),
      uploadId: UploadId.optional(),
    }),
    result: UploadResult,
  },
  'export.discardUpload': { payload: z.object({ uploadId: UploadId }), result: z.null() },
  /**
   * Try it: the dataset's photo with exactly the bytes of this image (an upload or a file), with its label, or null. A
   * photo already in the dataset is relabelled there, not copied in again.
   */
  'export.findInDataset': {
    payload: z.object({ datasetId: z.number().int().positive(), image: ImageSource }),
    result: z.object({
      image: z.object({ imageId: z.number().int(), relPath: z.string(), classId: z.number().int().nullable(), className: z.string().nullable() }).nullable(),
    }),
  },
});

/** None: an export and a Try-it prediction are jobs, followed through jobs.progress / jobs.finished. */
export const exportEvents = defineEvents({});
