import { join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { datasetRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';
import { downloadsOf } from './downloads';
import {
  datasetSummary,
  deleteDataset,
  failStaleImports,
  getDatasetRow,
  importSummary,
  listDatasets,
  renameDataset,
  resolveDataset,
} from '../catalogue/datasets';
import { countImages, imageDetail, imageFileInfo, nextUnlabelledImage, queryImageIds, queryImages, sampleImages } from '../catalogue/image-queries';
import { createClass, deleteClass, getClass, recolourClass, renameClass, restoreLabels, setLabels } from '../catalogue/labels';
import { listSplits } from '../catalogue/splits';
import { readVerifiedImage } from '../dataset/content';
import { createSplit } from '../dataset/split';
import { ensureThumbnail } from '../dataset/thumbnails';
import { exportLabelsCsv, exportLabelFolders } from '../dataset/export-labels';
import { importKind, pruneDecodedPixels } from '../jobs/kinds/import';
import { downloadKind } from '../jobs/kinds/download';
import { AddedCopies, addPhotos, removeAddedPhotos } from '../dataset/add-images';
import { imageIdAtPath } from '../catalogue/added-images';
import { UploadStore } from '../export/uploads';

const CONTENT_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

export function datasetHandlers(app: AppContext): DomainHandlers<typeof datasetRequests> {
  const { db } = app;
  // Import rows from before the jobs table (or whose job row was lost) are failed by their own owner column. That
  // sweep takes this process's own rows for dead, so it is skipped while another services of this process (tests,
  // `pawprint jobs` in-process) runs an import here: that one swept when it started. The runtime, built first, has
  // already failed every job of this process that no live runtime holds.
  if (!app.jobs.activeFor({ kind: 'import' }).some((job) => job.owner.thisProcess)) failStaleImports(db);
  app.jobs.register(importKind);
  app.jobs.register(downloadKind);

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
  // Try it's photos: uploads are read where export.upload stored them; copies made here are the only ones undo deletes.
  const uploads = new UploadStore(join(app.paths.cache, 'uploads'));
  const addedCopies = new AddedCopies();

  return {
    'datasets.list': async () => listDatasets(db),
    'datasets.get': async ({ datasetId }) => datasetSummary(db, datasetId),
    'datasets.resolve': async ({ ref }) => datasetSummary(db, resolveDataset(db, ref).id),
    'datasets.importSummary': async ({ importId }) => importSummary(db, importId),
    'datasets.rename': async ({ datasetId, name }) => {
      renameDataset(db, datasetId, name);
      changed(datasetId);
      return datasetSummary(db, datasetId);
    },
    'datasets.delete': async ({ datasetId }) => {
      const active = app.jobs.activeFor({ datasetId });
      if (active.some((job) => job.kind === 'import')) throw new AppError('conflict', 'Cancel the running import of this dataset before deleting it.');
      if (active[0]) throw new AppError('conflict', `Cancel job ${active[0].id} (${active[0].title}) before deleting this dataset.`);
      deleteDataset(db, datasetId);
      changed(datasetId);
      // Its images' decoded pixels are never read again (issue 17); a failure leaves them to the next prune.
      await pruneDecodedPixels(db, app.paths.cache).catch(() => undefined);
      return null;
    },

    'images.query': async ({ datasetId, filter, offset, limit }) => {
      getDatasetRow(db, datasetId);
      const { items } = queryImages(db, datasetId, filter, offset, limit, { withTotal: false });
      return { offset, total: countImages(db, datasetId, filter), items };
    },
    'images.page': async ({ datasetId, filter, offset, limit }) => {
      getDatasetRow(db, datasetId);
      return { offset, items: queryImages(db, datasetId, filter, offset, limit, { withTotal: false }).items };
    },
    'images.ids': async ({ datasetId, filter, offset, limit }) =>
      queryImageIds(db, datasetId, filter, offset === undefined && limit === undefined ? undefined : { offset: offset ?? 0, limit: limit ?? 200_000 }),
    'images.nextUnlabelled': async ({ datasetId, filter, afterImageId }) => {
      getDatasetRow(db, datasetId);
      return nextUnlabelledImage(db, datasetId, filter, afterImageId);
    },
    'images.detail': async ({ imageId }) => imageDetail(db, imageId),
    'images.byPath': async ({ datasetId, relPath }) => {
      getDatasetRow(db, datasetId);
      return { imageId: imageIdAtPath(db, datasetId, relPath) };
    },
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
    'labels.restore': async ({ datasetId, labels }) => {
      const changes = restoreLabels(db, datasetId, labels);
      // A restore can change only a label's source (no class change), which the counts and stale reports still see.
      changed(datasetId);
      return { changes };
    },
    // The download ids let the browser host hand the written files to a remote user (issue 13 item 3).
    'labels.exportCsv': async ({ datasetId, file }) => {
      const written = await exportLabelsCsv(db, datasetId, resolve(file));
      return { ...written, download: downloadsOf(app).issue(written.file) };
    },
    'labels.exportFolders': async ({ datasetId, directory, link }) => {
      const written = await exportLabelFolders(db, datasetId, resolve(directory), link);
      return link ? written : { ...written, download: downloadsOf(app).issue(written.directory, { folder: true }) };
    },

    'datasets.addImages': async ({ datasetId, classId, images }) => {
      const photos = await Promise.all(
        images.map(async (image) => {
          if ('path' in image) return { name: image.path.split(/[\\/]/).pop() || image.path, path: resolve(image.path) };
          if (!(await uploads.files(image.uploadId)).includes(image.name)) throw new AppError('not-found', `Upload ${image.uploadId} has no file named ${image.name}; upload the photo again.`);
          return { name: image.name, path: join(uploads.dirOf(image.uploadId), image.name) };
        }),
      );
      const result = await addPhotos(db, { datasetId, classId, photos }, addedCopies);
      changed(datasetId);
      return result;
    },
    'datasets.removeAddedImages': async ({ datasetId, imageIds }) => {
      const result = await removeAddedPhotos(db, addedCopies, { datasetId, imageIds });
      changed(datasetId);
      return result;
    },

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
  };
}
