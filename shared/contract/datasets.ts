import { z } from 'zod';
import { defineEvents, defineRequests } from './define';
import { UploadId } from './export';

// The datasets domain: folder import, classes and labels (with undo), splits, label export, the tutorial download.

const Id = z.number().int().positive();
const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #3b6fd8');
const ClassName = z
  .string()
  .trim()
  .min(1, 'a class needs a name')
  .max(64)
  // Class names become folder names on export: no path separators, no control characters.
  .refine((name) => !/[/\\]/.test(name) && ![...name].some((char) => char.charCodeAt(0) < 32), 'class names cannot contain slashes or control characters')
  // "." and ".." would name another folder on export, and Windows drops a trailing dot ("cats." is "cats").
  .refine((name) => name !== '.' && name !== '..' && !name.endsWith('.'), 'class names cannot be "." or ".." or end with a dot');

export const ImageStatus = z.enum(['ok', 'rejected', 'duplicate', 'missing']);
export type ImageStatus = z.infer<typeof ImageStatus>;
export const Subset = z.enum(['train', 'val', 'test']);
export type Subset = z.infer<typeof Subset>;
export const Layout = z.enum(['folders', 'tutorial', 'flat']);
export type Layout = z.infer<typeof Layout>;

export const ClassInfo = z.object({ id: Id, name: z.string(), color: z.string(), position: z.number().int(), count: z.number().int() });
export type ClassInfo = z.infer<typeof ClassInfo>;

export const SplitInfo = z.object({
  id: Id,
  method: z.enum(['stratified', 'tutorial']),
  seed: z.number().int(),
  trainFraction: z.number(),
  valFraction: z.number(),
  testFraction: z.number(),
  dataHash: z.string(),
  createdAt: z.string(),
  counts: z.object({ train: z.number().int(), val: z.number().int(), test: z.number().int() }),
  /** Per class and subset: { cats: { train: 700, val: 200, test: 100 } }. */
  perClass: z.record(z.string(), z.object({ train: z.number().int(), val: z.number().int(), test: z.number().int() })),
});
export type SplitInfo = z.infer<typeof SplitInfo>;

export const DatasetCounts = z.object({
  ok: z.number().int(),
  rejected: z.number().int(),
  duplicate: z.number().int(),
  missing: z.number().int(),
  /**
   * ok, rejected, duplicate, missing, labelled and unlabelled leave excluded images out (issue 15); this counts them.
   * The catalogue always sends it; optional so summaries written before it (test fixtures, a newer UI on an older
   * host) still parse, read as 0.
   */
  excluded: z.number().int().optional(),
  labelled: z.number().int(),
  unlabelled: z.number().int(),
});

export const DatasetSummary = z.object({
  id: Id,
  name: z.string(),
  rootPath: z.string(),
  layout: Layout,
  createdAt: z.string(),
  lastImportAt: z.string().nullable(),
  counts: DatasetCounts,
  classes: z.array(ClassInfo),
  latestSplit: SplitInfo.nullable(),
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

export const RejectedFile = z.object({ path: z.string(), reason: z.string() });
export type RejectedFile = z.infer<typeof RejectedFile>;

export const ImportSummary = z.object({
  importId: Id,
  datasetId: Id,
  status: z.enum(['running', 'completed', 'cancelled', 'failed']),
  /** Files that entered the catalogue in this import (new or changed). */
  imported: z.number().int(),
  unchanged: z.number().int(),
  duplicates: z.number().int(),
  missing: z.number().int(),
  /** Every file of the dataset currently rejected, with its reason. */
  rejected: z.array(RejectedFile),
  /** Images per class (decodable, not duplicates) after the import. */
  classes: z.record(z.string(), z.number().int()),
  error: z.string().nullable(),
  seconds: z.number(),
});
export type ImportSummary = z.infer<typeof ImportSummary>;

/** The importer's report; the import kind sends it on as jobs.progress (its import detail). */
export const ImportProgress = z.object({
  importId: Id,
  datasetId: Id,
  phase: z.enum(['scanning', 'processing', 'finishing']),
  scanned: z.number().int(),
  /** Files to look at (known once scanning ends). */
  total: z.number().int(),
  processed: z.number().int(),
  rejected: z.number().int(),
  duplicates: z.number().int(),
  imagesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
});
export type ImportProgress = z.infer<typeof ImportProgress>;

export const ImageFilter = z.object({
  classId: Id.optional(),
  subset: Subset.optional(),
  unlabelled: z.boolean().optional(),
  /**
   * Which rows: decodable ones by default; 'rejected', 'duplicate', 'missing' show the others. Each leaves excluded
   * images out; 'excluded' shows only those, 'all' shows every row.
   */
  status: z.enum(['ok', 'rejected', 'duplicate', 'missing', 'excluded', 'all']).default('ok'),
});
export type ImageFilter = z.input<typeof ImageFilter>;

export const ImageItem = z.object({
  id: Id,
  relPath: z.string(),
  status: ImageStatus,
  reason: z.string().nullable(),
  classId: z.number().int().nullable(),
  labelSource: z.enum(['folder', 'manual']).nullable(),
  subset: Subset.nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  /** Left out of the dataset (issue 15): shown only by the 'excluded' and 'all' filters. */
  excluded: z.boolean().optional(),
});
export type ImageItem = z.infer<typeof ImageItem>;

export const ImageDetail = ImageItem.extend({
  datasetId: Id,
  path: z.string(),
  byteSize: z.number().int(),
  format: z.string().nullable(),
  colorSpace: z.string().nullable(),
  channels: z.number().int().nullable(),
  hasAlpha: z.boolean().nullable(),
  orientation: z.number().int().nullable(),
  contentHash: z.string().nullable(),
  duplicateOf: z.number().int().nullable(),
  folderLabel: z.string().nullable(),
  className: z.string().nullable(),
  importedAt: z.string(),
  history: z.array(z.object({ className: z.string().nullable(), source: z.string(), at: z.string() })),
});
export type ImageDetail = z.infer<typeof ImageDetail>;

export const LabelSource = z.enum(['folder', 'manual']);
/** One image's label change; beforeSource is where the old label came from (null: none), so undo can restore it. */
export const LabelChange = z.object({
  imageId: Id, before: z.number().int().nullable(), after: z.number().int().nullable(), beforeSource: LabelSource.nullable().optional(),
});
export type LabelChange = z.infer<typeof LabelChange>;

const DatasetRef = z.object({ datasetId: Id });

export const datasetRequests = defineRequests({
  'datasets.list': { payload: z.object({}), result: z.array(DatasetSummary) },
  'datasets.get': { payload: DatasetRef, result: DatasetSummary },
  /** Finds a dataset by id or name (the CLI's <dataset> argument). */
  'datasets.resolve': { payload: z.object({ ref: z.string().min(1) }), result: DatasetSummary },
  /** The summary of an import (running or finished). */
  'datasets.importSummary': { payload: z.object({ importId: Id }), result: ImportSummary },
  'datasets.rename': { payload: z.object({ datasetId: Id, name: z.string().trim().min(1).max(100) }), result: DatasetSummary },
  /** Forgets the dataset (catalogue rows only; the photos on disk are never touched). */
  'datasets.delete': { payload: DatasetRef, result: z.null() },

  'images.query': {
    payload: z.object({
      datasetId: Id,
      filter: ImageFilter.default({ status: 'ok' }),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(200),
    }),
    result: z.object({ total: z.number().int(), offset: z.number().int(), items: z.array(ImageItem) }),
  },
  /**
   * One page of images.query without its total: counting walks every matching row, so the grid counts once per filter
   * change (its first page is an images.query) and fetches the pages it scrolls to with this.
   */
  'images.page': {
    payload: z.object({
      datasetId: Id,
      filter: ImageFilter.default({ status: 'ok' }),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(200),
    }),
    result: z.object({ offset: z.number().int(), items: z.array(ImageItem) }),
  },
  /**
   * Ids of every image matching a filter, in grid order ("select all filtered"), or of rows [offset, offset + limit)
   * (a shift-click range reaching pages the grid has not loaded).
   */
  'images.ids': {
    payload: z.object({
      datasetId: Id,
      filter: ImageFilter.default({ status: 'ok' }),
      offset: z.number().int().min(0).optional(),
      limit: z.number().int().min(1).max(200_000).optional(),
    }),
    result: z.array(Id),
  },
  /**
   * The next image needing a label (decodable, unlabelled) after `afterImageId` in the view's order, wrapping to its
   * start (null: from the start), with its row in the view; null when the view has none. One indexed lookup instead
   * of the Label view paging through the grid for it.
   */
  'images.nextUnlabelled': {
    payload: z.object({ datasetId: Id, filter: ImageFilter.default({ status: 'ok' }), afterImageId: Id.nullable() }),
    result: z.object({ imageId: Id, index: z.number().int().min(0) }).nullable(),
  },
  'images.detail': { payload: z.object({ imageId: Id }), result: ImageDetail },
  /** The id of the dataset's row (any status) at a path under its folder ('/' separated), or null: Try it finds a dataset photo by it. */
  'images.byPath': {
    payload: z.object({ datasetId: Id, relPath: z.string().min(1).max(4096) }),
    result: z.object({ imageId: Id.nullable() }),
  },
  /** Up to `perClass` random decodable images of each class (seeded), for the preview grid. */
  'images.sample': {
    payload: z.object({ datasetId: Id, perClass: z.number().int().min(1).max(20).default(6), seed: z.number().int().default(0) }),
    result: z.array(z.object({ classId: Id, className: z.string(), imageIds: z.array(Id) })),
  },

  'classes.create': { payload: z.object({ datasetId: Id, name: ClassName, color: Color.optional() }), result: ClassInfo },
  'classes.rename': { payload: z.object({ classId: Id, name: ClassName }), result: ClassInfo },
  'classes.recolour': { payload: z.object({ classId: Id, color: Color }), result: ClassInfo },
  /** Deletes the class; its images become unlabelled. */
  'classes.delete': { payload: z.object({ classId: Id }), result: z.object({ unlabelled: z.number().int() }) },

  /** Gives every listed image the class (null = unlabel); answers what changed so the UI can undo it. */
  'labels.assign': {
    payload: z.object({ datasetId: Id, imageIds: z.array(Id).min(1).max(100_000), classId: Id.nullable() }),
    result: z.object({ changes: z.array(LabelChange) }),
  },
  /** Sets labels to exactly these values (idempotent: undo and redo replay it). */
  'labels.set': {
    payload: z.object({ datasetId: Id, labels: z.array(z.object({ imageId: Id, classId: Id.nullable() })).min(1).max(100_000) }),
    result: z.object({ changes: z.array(LabelChange) }),
  },
  /**
   * Undo: puts labels back as they were, source included (a folder label is a folder label again, so a re-import
   * follows its folder as before; labels.set would make it a manual decision).
   */
  'labels.restore': {
    payload: z.object({
      datasetId: Id, labels: z.array(z.object({ imageId: Id, classId: Id.nullable(), source: LabelSource.nullable() })).min(1).max(100_000),
    }),
    result: z.object({ changes: z.array(LabelChange) }),
  },
  'labels.exportCsv': { payload: z.object({ datasetId: Id, file: z.string().min(1) }), result: z.object({ file: z.string(), rows: z.number().int(), download: z.string().optional() }) },
  'labels.exportFolders': {
    payload: z.object({ datasetId: Id, directory: z.string().min(1), link: z.boolean().default(false) }),
    /** `download`: an id for <page>/download/<id> in the browser host (copies only: linked folders are zipped as nothing). */
    result: z.object({ directory: z.string(), files: z.number().int(), classes: z.record(z.string(), z.number().int()), download: z.string().optional() }),
  },

  /**
   * Try it's "add with its right label" (issue 14): copies each photo (an upload, or a path on this machine) into the
   * dataset's folder under the class's folder (a new name, never overwriting), catalogues it with that class as a manual
   * label and puts it in the current split's training subset (the split is never redone). Non-images are refused.
   */
  'datasets.addImages': {
    payload: z.object({
      datasetId: Id,
      classId: Id,
      images: z.array(z.union([z.object({ uploadId: UploadId, name: z.string().min(1) }), z.object({ path: z.string().min(1) })])).min(1).max(100),
    }),
    result: z.object({
      added: z.array(z.object({ imageId: Id, relPath: z.string(), name: z.string() })),
      className: z.string(),
      splitId: Id.nullable(),
      message: z.string(),
    }),
  },
  /** Undoes datasets.addImages: forgets those images and deletes the copies it made (only if still unchanged). */
  'datasets.removeAddedImages': {
    payload: z.object({ datasetId: Id, imageIds: z.array(Id).min(1).max(100) }),
    result: z.object({ removed: z.number().int(), kept: z.array(z.string()) }),
  },

  'splits.create': {
    payload: z.object({
      datasetId: Id,
      preset: z.enum(['stratified', 'tutorial']).default('stratified'),
      train: z.number().min(0).max(1).default(0.7),
      val: z.number().min(0).max(1).default(0.2),
      test: z.number().min(0).max(1).default(0.1),
      seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    }),
    result: SplitInfo,
  },
  'splits.list': { payload: DatasetRef, result: z.array(SplitInfo) },
});

// Imports and the tutorial download are jobs (jobs.start {kind: 'import' | 'download'}): their progress and end arrive
// as jobs.progress / jobs.finished.
export const datasetEvents = defineEvents({
  'datasets.changed': z.object({ datasetId: Id }),
});
