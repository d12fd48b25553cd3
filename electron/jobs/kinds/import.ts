// The import job: a folder of photos into a dataset (new, found by its folder, or named). Runs in the main process
// (sharp decodes on libuv threads); lane io, one import per dataset at a time, across processes too.
import { realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { AppError, firstLine } from '../../../shared/errors';
import type { ImportProgress } from '../../../shared/contract/datasets';
import type { TaskProgress } from '../../../shared/worker-task';
import {
  createDataset,
  datasetSummary,
  deleteDataset,
  findDatasetByRoot,
  finishImportRow,
  getDatasetRow,
  importSummary,
  startImportRow,
  uniqueDatasetName,
} from '../../catalogue/datasets';
import type { Database } from '../../catalogue/database';
import { activeJobsFor } from '../../catalogue/jobs';
import { liveContentHashes } from '../../catalogue/images';
import { runImport } from '../../dataset/importer';
import { pruneDecodeCache } from '../../training/decode-cache-files';
import { IMAGE_EXTENSIONS } from '../../imaging/image-policy';
import type { JobKindSpec } from '../kind';
import { JobFailure } from '../job-failure';

export interface ImportState {
  importId: number;
  datasetId: number;
  root: string;
}

const FOLDER_ERRORS: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'permission denied', ENOTDIR: 'a part of the path is a file, not a folder',
  ELOOP: 'the path goes round a loop of links', ENAMETOOLONG: 'the path is too long',
};

/** The folder a path names, resolved through links; refused in words when it is not one. */
async function folderOf(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    const root = await realpath(absolute);
    if (!(await stat(root)).isDirectory()) throw new AppError('invalid-payload', `Not a folder: ${absolute}`);
    return root;
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT') throw new AppError('not-found', `The folder ${absolute} does not exist; check the path or choose another folder.`);
    throw new AppError('not-found', `Cannot open folder ${absolute}: ${FOLDER_ERRORS[code] ?? firstLine(error)}.`);
  }
}

// Excluded images are counted apart from the others (issue 15): a dataset whose every image is excluded is not empty.
const isEmpty = (counts: { ok: number; rejected: number; duplicate: number; missing: number; excluded?: number }) =>
  counts.ok + counts.rejected + counts.duplicate + counts.missing + (counts.excluded ?? 0) === 0;

/** No image file anywhere in the folder: the dataset this import made would be empty, so it is removed again. */
function noImagesFound(root: string): string {
  return `No images found in ${root} or its subfolders (looked for ${[...IMAGE_EXTENSIONS].join(', ')} files); nothing was imported.`;
}

/** An import's own progress as the one job progress shape (the bar counts files looked at; scanning has no total yet). */
export function importJobProgress(progress: ImportProgress): TaskProgress {
  return {
    phase: progress.phase,
    done: progress.processed,
    total: progress.phase === 'scanning' ? null : progress.total,
    etaSeconds: progress.etaSeconds,
    message: null,
    detail: {
      type: 'import',
      datasetId: progress.datasetId,
      importId: progress.importId,
      scanned: progress.scanned,
      rejected: progress.rejected,
      duplicates: progress.duplicates,
      imagesPerSecond: progress.imagesPerSecond,
    },
  };
}

/**
 * Removes training's decoded pixels of images no longer in the catalogue (they are never read again; issue 17): after
 * an import dropped images, and after a dataset is deleted. The cap is left to training's pre-pass: an import or a
 * delete may run beside a training whose entries an LRU eviction here would take away mid-run.
 */
export async function pruneDecodedPixels(db: Database, cacheRoot: string): Promise<void> {
  const live = liveContentHashes(db);
  await pruneDecodeCache(join(cacheRoot, 'decoded'), { isLive: (hash) => live.has(hash), maxBytes: Number.POSITIVE_INFINITY });
}

const NO_COUNTERS = { scanned: 0, imported: 0, unchanged: 0, duplicates: 0, rejected: 0, missing: 0 };

export const importKind: JobKindSpec<'import', ImportState> = {
  kind: 'import',
  lane: () => 'io',
  async prepare({ db }, input) {
    const root = await folderOf(input.path);
    let datasetId: number;
    if (input.datasetId !== undefined) {
      const row = getDatasetRow(db, input.datasetId);
      if (row.root_path !== root) {
        throw new AppError('conflict', `Dataset "${row.name}" was imported from ${row.root_path}, not ${root}; import ${root} as a new dataset instead.`);
      }
      datasetId = row.id;
    } else {
      const existing = findDatasetByRoot(db, root);
      datasetId = existing ? existing.id : createDataset(db, input.name ?? uniqueDatasetName(db, basename(root) || 'dataset'), root, 'folders').id;
    }
    // The catalogue, not this process's memory: an import of the same dataset by the CLI beside the app counts too.
    const running = activeJobsFor(db, { datasetId, kind: 'import' })[0];
    if (running) throw new AppError('conflict', `Dataset ${datasetId} is already being imported (job ${running.id}); wait for it or cancel it first.`);
    const importId = startImportRow(db, datasetId);
    return { title: `Import ${root}`, datasetId, exclusiveKey: `import:dataset:${datasetId}`, state: { importId, datasetId, root } };
  },
  async run(ctx, state) {
    const { db } = ctx;
    const outcome = await runImport({
      db,
      datasetId: state.datasetId,
      importId: state.importId,
      root: state.root,
      signal: ctx.signal,
      // Thumbnails come from the validating decode: the grid of a fresh import shows without decoding anything again.
      thumbnails: ctx.paths.thumbnails,
      onProgress: (progress) => ctx.progress(importJobProgress(progress)),
    });
    if (outcome.droppedContent) {
      await pruneDecodedPixels(db, ctx.paths.cache).catch((error: Error) => {
        ctx.log('warn', `the decode cache could not be pruned (${error.message}); it is tried again after the next import`);
      });
    }
    const summary = importSummary(db, state.importId);
    if (outcome.status === 'completed' && isEmpty(datasetSummary(db, state.datasetId).counts)) {
      deleteDataset(db, state.datasetId);
      ctx.events.emit('datasets.changed', { datasetId: state.datasetId });
      throw new JobFailure(noImagesFound(state.root), summary);
    }
    ctx.events.emit('datasets.changed', { datasetId: state.datasetId });
    if (outcome.status === 'failed') throw new JobFailure(outcome.error ?? 'the import failed', summary);
    return summary;
  },
  abandon(db, job) {
    // Cancelled while queued, or refused after prepare: the import row would otherwise stay 'running' forever.
    if (!job.state) return; // found interrupted at startup: failStaleImports fails the row by its owner
    finishImportRow(db, job.state.importId, job.status, NO_COUNTERS, job.status === 'failed' ? job.error : null);
  },
};
