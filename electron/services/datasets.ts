import { realpath, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { datasetRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';
import {
  createDataset,
  datasetSummary,
  deleteDataset,
  failStaleImports,
  findDatasetByRoot,
  getDatasetRow,
  importSummary,
  listDatasets,
  renameDataset,
  resolveDataset,
  startImportRow,
  uniqueDatasetName,
} from '../catalogue/datasets';
import { imageDetail, imageFileInfo, queryImageIds, queryImages, sampleImages } from '../catalogue/images';
import { createClass, deleteClass, getClass, recolourClass, renameClass, setLabels } from '../catalogue/labels';
import { listSplits } from '../catalogue/splits';
import { readVerifiedImage } from '../dataset/content';
import { runImport } from '../dataset/importer';
import { createSplit } from '../dataset/split';
import { ensureThumbnail } from '../dataset/thumbnails';
import { exportLabelsCsv, exportLabelFolders } from '../dataset/export-labels';
import { downloadTutorial, TUTORIAL_URL } from '../dataset/download';

const CONTENT_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

interface ImportJob {
  importId: number;
  datasetId: number;
  controller: AbortController;
  done: Promise<void>;
}

/** Import jobs by id: the handler answers at once, the work goes on here and reports through events. */
class ImportJobs {
  readonly running = new Map<number, ImportJob>();

  constructor(private readonly app: AppContext) {}

  async start(path: string, options: { name?: string; datasetId?: number }): Promise<{ importId: number; datasetId: number }> {
    const { db } = this.app;
    const absolute = resolve(path);
    let root: string;
    try {
      root = await realpath(absolute);
      if (!(await stat(root)).isDirectory()) throw new AppError('invalid-payload', `Not a folder: ${absolute}`);
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('not-found', `Cannot open folder ${absolute}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    let datasetId: number;
    if (options.datasetId !== undefined) {
      const row = getDatasetRow(db, options.datasetId);
      if (row.root_path !== root) {
        throw new AppError('conflict', `Dataset "${row.name}" was imported from ${row.root_path}, not ${root}; import ${root} as a new dataset instead.`);
      }
      datasetId = row.id;
    } else {
      const existing = findDatasetByRoot(db, root);
      if (existing) datasetId = existing.id;
      else datasetId = createDataset(db, options.name ?? uniqueDatasetName(db, basename(root) || 'dataset'), root, 'folders').id;
    }
    for (const job of this.running.values()) {
      if (job.datasetId === datasetId) throw new AppError('conflict', `Dataset ${datasetId} is already being imported (import ${job.importId}).`);
    }
    const importId = startImportRow(db, datasetId);
    const controller = new AbortController();
    const done = runImport({
      db,
      datasetId,
      importId,
      root,
      signal: controller.signal,
      onProgress: (progress) => this.app.events.emit('datasets.importProgress', progress),
    }).then(
      () => this.finish(importId, datasetId),
      () => this.finish(importId, datasetId),
    );
    this.running.set(importId, { importId, datasetId, controller, done });
    return { importId, datasetId };
  }

  private finish(importId: number, datasetId: number): void {
    this.running.delete(importId);
    this.app.events.emit('datasets.importFinished', importSummary(this.app.db, importId));
    this.app.events.emit('datasets.changed', { datasetId });
  }

  /** Resolves with the summary once the import ends (already ended: at once). */
  async wait(importId: number) {
    await this.running.get(importId)?.done;
    return importSummary(this.app.db, importId);
  }

  cancel(importId: number): boolean {
    const job = this.running.get(importId);
    if (!job) return false;
    job.controller.abort();
    return true;
  }

  async closeAll(): Promise<void> {
    for (const job of this.running.values()) job.controller.abort();
    await Promise.all([...this.running.values()].map((job) => job.done));
  }
}

interface DownloadJob {
  controller: AbortController;
  done: Promise<void>;
}

export function datasetHandlers(app: AppContext): DomainHandlers<typeof datasetRequests> {
  const { db } = app;
  failStaleImports(db);
  const imports = new ImportJobs(app);
  const downloads = new Map<number, DownloadJob>();
  let nextDownload = 1;
  app.onClose(async () => {
    for (const job of downloads.values()) job.controller.abort();
    await Promise.all([...downloads.values()].map((job) => job.done));
    await imports.closeAll();
  });

  // Media are found by catalogue id only; the UI never names a path. Both are served only from bytes whose hash is the
  // catalogue's (a thumbnail is checked when it is made, on a cache miss): a path now pointing at another file, a FIFO
  // or nothing gives "no such media".
  app.media.register('thumb', async (id) => {
    const info = /^\d+$/.test(id) ? imageFileInfo(db, Number(id)) : null;
    if (!info?.contentHash || info.status === 'rejected') return null;
    const path = await ensureThumbnail(app.paths.thumbnails, info.contentHash, info.path);
    return path ? { path, contentType: 'image/jpeg' } : null;
  });
  app.media.register('image', async (id) => {
    const info = /^\d+$/.test(id) ? imageFileInfo(db, Number(id)) : null;
    if (!info?.format || !info.contentHash) return null;
    const bytes = await readVerifiedImage(info.path, info.contentHash);
    if (!bytes) return null;
    return { path: info.path, bytes, contentType: CONTENT_TYPES[info.format] ?? 'application/octet-stream' };
  });

  const changed = (datasetId: number) => app.events.emit('datasets.changed', { datasetId });

  return {
    'datasets.list': async () => listDatasets(db),
    'datasets.get': async ({ datasetId }) => datasetSummary(db, datasetId),
    'datasets.resolve': async ({ ref }) => datasetSummary(db, resolveDataset(db, ref).id),
    'datasets.import': async ({ path, name, datasetId }) => imports.start(path, { name, datasetId }),
    'datasets.cancelImport': async ({ importId }) => ({ cancelled: imports.cancel(importId) }),
    'datasets.importSummary': async ({ importId }) => importSummary(db, importId),
    'datasets.rename': async ({ datasetId, name }) => {
      renameDataset(db, datasetId, name);
      changed(datasetId);
      return datasetSummary(db, datasetId);
    },
    'datasets.delete': async ({ datasetId }) => {
      for (const job of imports.running.values()) {
        if (job.datasetId === datasetId) throw new AppError('conflict', 'Cancel the running import of this dataset before deleting it.');
      }
      deleteDataset(db, datasetId);
      changed(datasetId);
      return null;
    },

    'images.query': async ({ datasetId, filter, offset, limit }) => {
      getDatasetRow(db, datasetId);
      return { offset, ...queryImages(db, datasetId, filter, offset, limit) };
    },
    'images.ids': async ({ datasetId, filter }) => queryImageIds(db, datasetId, filter),
    'images.detail': async ({ imageId }) => imageDetail(db, imageId),
    'images.sample': async ({ datasetId, perClass, seed }) => sampleImages(db, datasetId, perClass, seed),

    'classes.create': async ({ datasetId, name, color }) => {
      const created = createClass(db, datasetId, name, color);
      changed(datasetId);
      return created;
    },
    'classes.rename': async ({ classId, name }) => {
      const renamed = renameClass(db, classId, name);
      changed(getClass(db, classId).datasetId);
      return renamed;
    },
    'classes.recolour': async ({ classId, color }) => {
      const recoloured = recolourClass(db, classId, color);
      changed(getClass(db, classId).datasetId);
      return recoloured;
    },
    'classes.delete': async ({ classId }) => {
      const { datasetId } = getClass(db, classId);
      const unlabelled = deleteClass(db, classId);
      changed(datasetId);
      return { unlabelled };
    },

    'labels.assign': async ({ datasetId, imageIds, classId }) => {
      const changes = setLabels(db, datasetId, imageIds.map((imageId) => ({ imageId, classId })));
      if (changes.length > 0) changed(datasetId);
      return { changes };
    },
    'labels.set': async ({ datasetId, labels }) => {
      const changes = setLabels(db, datasetId, labels);
      if (changes.length > 0) changed(datasetId);
      return { changes };
    },
    'labels.exportCsv': async ({ datasetId, file }) => exportLabelsCsv(db, datasetId, resolve(file)),
    'labels.exportFolders': async ({ datasetId, directory, link }) => exportLabelFolders(db, datasetId, resolve(directory), link),

    'splits.create': async ({ datasetId, preset, train, val, test, seed }) => {
      getDatasetRow(db, datasetId);
      const split = createSplit(db, datasetId, { preset, train, val, test, seed });
      changed(datasetId);
      return split;
    },
    'splits.list': async ({ datasetId }) => {
      getDatasetRow(db, datasetId);
      return listSplits(db, datasetId);
    },

    'datasets.downloadTutorial': async () => {
      if (downloads.size > 0) throw new AppError('conflict', 'The tutorial dataset is already being downloaded.');
      const jobId = nextDownload++;
      const controller = new AbortController();
      const url = process.env.PAWPRINT_TUTORIAL_URL ?? TUTORIAL_URL;
      const done = (async () => {
        let datasetId: number | null = null;
        let importId: number | null = null;
        try {
          const root = await downloadTutorial({
            url,
            directory: app.paths.downloads,
            signal: controller.signal,
            onProgress: (phase, received, total) => app.events.emit('datasets.downloadProgress', { jobId, phase, received, total }),
          });
          app.events.emit('datasets.downloadProgress', { jobId, phase: 'import', received: 0, total: null });
          const started = await imports.start(root, {});
          ({ datasetId, importId } = started);
          const abort = () => imports.cancel(started.importId);
          controller.signal.addEventListener('abort', abort, { once: true });
          const summary = await imports.wait(started.importId);
          controller.signal.removeEventListener('abort', abort);
          const status = summary.status === 'completed' ? 'completed' : summary.status === 'cancelled' ? 'cancelled' : 'failed';
          app.events.emit('datasets.downloadFinished', { jobId, status, datasetId, importId, error: summary.error });
        } catch (error) {
          const cancelled = controller.signal.aborted;
          app.events.emit('datasets.downloadFinished', {
            jobId,
            status: cancelled ? 'cancelled' : 'failed',
            datasetId,
            importId,
            error: cancelled ? null : (error as Error).message,
          });
        } finally {
          downloads.delete(jobId);
        }
      })();
      downloads.set(jobId, { controller, done });
      return { jobId };
    },
    'datasets.cancelDownload': async ({ jobId }) => {
      const job = downloads.get(jobId);
      if (!job) return { cancelled: false };
      job.controller.abort();
      return { cancelled: true };
    },
  };
}
