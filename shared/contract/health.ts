import { z } from 'zod';
import { defineRequests } from './define';

// Data health (issue 15): a job embeds a dataset's images with the frozen base and finds likely label errors
// (confident learning on out-of-fold probabilities), near-duplicate groups (and those that cross splits), outliers and
// class balance. The report is stored with the labels it was computed on; after a relabel it reads as stale.

const Id = z.number().int().positive();

/** What jobs.start({ kind: 'health' }) and health.run take. */
export const HealthJobInput = z.object({
  datasetId: Id,
  /** A MobileNetV2 base: a TF.js model folder / model.json or a Keras .h5 file; default: the bundled alpha 0.35 backbone. */
  base: z.string().min(1).optional(),
  folds: z.number().int().min(2).max(20).default(5),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
});
export type HealthJobInput = z.output<typeof HealthJobInput>;

export const HealthCounts = z.object({
  labelIssues: z.number().int(),
  nearDuplicateGroups: z.number().int(),
  nearDuplicateImages: z.number().int(),
  /** Groups whose images sit in more than one subset of the latest split (leakage). */
  leakingGroups: z.number().int(),
  outliers: z.number().int(),
});
export type HealthCounts = z.infer<typeof HealthCounts>;

/** A job's result: the stored report's id and the counts (fetch the galleries with health.latest). */
export const HealthJobResult = z.object({ datasetId: Id, reportId: Id, counts: HealthCounts, seconds: z.number() });

/** One image as every gallery shows it: id for thumbnails and labelling, the path for people. */
export const HealthImage = z.object({
  imageId: Id,
  /** Relative to the dataset's folder. */
  relPath: z.string(),
  path: z.string(),
  /** Its label now (it may have changed since the report: then the report is stale). */
  label: z.string().nullable(),
  subset: z.enum(['train', 'val', 'test']).nullable(),
});
export type HealthImage = z.infer<typeof HealthImage>;

export const HealthLabelIssue = z.object({
  image: HealthImage,
  /** The label the report was computed with. */
  given: z.string(),
  suggested: z.string(),
  /** 0..1, higher = more likely wrong: (1 - normalised margin) / 2. The list is ordered by it, most likely first. */
  score: z.number(),
  /** Out-of-fold probability of the given label. */
  selfConfidence: z.number(),
  /** Confident learning's verdict (counted in counts.labelIssues); unflagged entries continue the ranking (the head predicts another class). */
  flagged: z.boolean(),
});
export type HealthLabelIssue = z.infer<typeof HealthLabelIssue>;

export const HealthDuplicateGroup = z.object({
  images: z.array(HealthImage).min(2),
  /** Cosine similarity of the group's weakest linking pair. */
  similarity: z.number(),
  crossesSplits: z.boolean(),
});
export type HealthDuplicateGroup = z.infer<typeof HealthDuplicateGroup>;

export const HealthOutlier = z.object({ image: HealthImage, score: z.number() });

export const HealthClass = z.object({
  name: z.string(),
  count: z.number().int(),
  share: z.number(),
  meanSelfConfidence: z.number(),
  threshold: z.number(),
  outOfFoldAccuracy: z.number(),
  labelIssues: z.number().int(),
});
export type HealthClass = z.infer<typeof HealthClass>;

export const HealthReport = z.object({
  id: Id,
  datasetId: Id,
  jobId: Id.nullable(),
  createdAt: z.string(),
  /** True when labels or images changed since the report was computed; its issues may then be fixed or wrong. */
  stale: z.boolean(),
  staleReason: z.string().nullable(),
  labelsFingerprint: z.string(),
  base: z.object({ weightsId: z.string(), alpha: z.number(), source: z.string() }),
  folds: z.number().int(),
  seed: z.number().int(),
  imageCount: z.number().int(),
  labelledCount: z.number().int(),
  counts: HealthCounts,
  labelIssues: z.array(HealthLabelIssue),
  /**
   * 2-D embedding map, one point per image; null in reports made before it. Each point carries the image's label and
   * subset now, so the map can colour by them without another request.
   */
  map: z.array(z.object({ imageId: Id, x: z.number(), y: z.number(), label: z.string().nullable(), subset: z.enum(['train', 'val', 'test']).nullable() })).nullable(),
  /** 'umap': UMAP on the embeddings' nearest neighbours (seeded); 'pca': their first two principal components (sets too small for UMAP). */
  mapMethod: z.enum(['umap', 'pca']).nullable(),
  nearDuplicates: z.array(HealthDuplicateGroup),
  outliers: z.array(HealthOutlier),
  classes: z.array(HealthClass),
  imbalanceRatio: z.number().nullable(),
  outOfFoldAccuracy: z.number().nullable(),
  duplicateThreshold: z.number(),
  outlierThreshold: z.number(),
  seconds: z.object({ features: z.number(), head: z.number(), similarity: z.number(), total: z.number() }),
  features: z.object({ fromCache: z.number().int(), computed: z.number().int() }),
});
export type HealthReport = z.infer<typeof HealthReport>;

/** A label suggested for an unlabelled image (model-assisted labelling). */
export const HealthSuggestion = z.object({
  image: HealthImage,
  suggested: z.string(),
  /** The suggested class's share (0..1). */
  confidence: z.number(),
  /** Its lead over the runner-up (0..1); the list is ordered by it, least certain (smallest) first. */
  margin: z.number(),
});
export type HealthSuggestion = z.infer<typeof HealthSuggestion>;

/** Where suggested labels come from: the embeddings' nearest labelled images (a health report) or a run's predictions. */
export const SuggestionSource = z.enum(['embeddings', 'run']);
export type SuggestionSource = z.infer<typeof SuggestionSource>;

export const HealthSuggestions = z.object({
  /**
   * Where these suggestions come from: 'embeddings' = the nearest labelled images (per class) in the latest health
   * report's embeddings; 'run' = the latest finished run's predictions; null = no suggestions from any source yet.
   */
  source: SuggestionSource.nullable(),
  reportId: Id.nullable(),
  /** The report's labels changed since: suggestions still stand for images that are unlabelled, but may be improved by a re-run. */
  stale: z.boolean(),
  /** Images that are still unlabelled, least certain first. */
  suggestions: z.array(HealthSuggestion),
  /** Whether the latest health report has suggestions (the 'embeddings' source can be chosen). */
  embeddings: z.boolean(),
  /**
   * The dataset's latest finished run with a model (the 'run' source), or null without one. `predicted`: how many
   * images still unlabelled its predictions cover (null before health.predictUnlabelled ran with this run).
   */
  run: z.object({ runId: Id, name: z.string(), predicted: z.number().int().nullable() }).nullable(),
});
export type HealthSuggestions = z.infer<typeof HealthSuggestions>;

/** An image left out of the dataset by the Health view (file untouched; include it again to bring it back). */
export const ExcludedImage = HealthImage.extend({ reason: z.string(), excludedAt: z.string() });
export type ExcludedImage = z.infer<typeof ExcludedImage>;

const ImageIds = z.array(Id).min(1).max(100_000);

/** At most this many unlabelled images per health.predictUnlabelled (a predict job's limit). */
export const MAX_PREDICTED_UNLABELLED = 1000;

export const healthRequests = defineRequests({
  /** Starts a health job (lane cpu: it waits behind a training run); follow it with jobs.progress / jobs.finished. */
  'health.run': { payload: HealthJobInput, result: z.object({ jobId: Id }) },
  /** The dataset's newest report, with its stale flag; null before the first run. */
  'health.latest': { payload: z.object({ datasetId: Id }), result: z.object({ report: HealthReport.nullable() }) },
  /**
   * Drops images from the dataset without touching their files: they leave new splits, training and evaluation data
   * and health checks (existing splits keep their rows; training skips them), labels are kept for health.include.
   */
  'health.exclude': {
    payload: z.object({ datasetId: Id, imageIds: ImageIds, reason: z.string().min(1).max(200).default('excluded from the Health view') }),
    result: z.object({ excluded: z.number().int() }),
  },
  /**
   * Suggested labels for the dataset's unlabelled images, least certain first (active learning), from `source`
   * (default: the latest run's predictions when it has made them, else the embeddings).
   */
  'health.suggestions': { payload: z.object({ datasetId: Id, source: SuggestionSource.optional() }), result: HealthSuggestions },
  /**
   * Starts a predict job (follow it with jobs.progress / jobs.finished): the dataset's latest finished run predicts its
   * unlabelled images (the first MAX_PREDICTED_UNLABELLED of them), for health.suggestions with source 'run'.
   */
  'health.predictUnlabelled': {
    payload: z.object({ datasetId: Id }),
    result: z.object({ jobId: Id, runId: Id, images: z.number().int(), unlabelled: z.number().int() }),
  },
  /** Brings excluded images back. */
  'health.include': { payload: z.object({ datasetId: Id, imageIds: ImageIds }), result: z.object({ included: z.number().int() }) },
  /** The dataset's excluded images, newest first (for a grid's show/hide and the Health view's "Excluded" list). */
  'health.excluded': { payload: z.object({ datasetId: Id }), result: z.object({ images: z.array(ExcludedImage) }) },
});
