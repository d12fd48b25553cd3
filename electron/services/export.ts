// Handlers for the export domain of the contract: thin wrappers over the job runtime. Try it (export.predict) is a
// predict job and export.run an export job, each started and awaited here so the channels keep their answers;
// export.inspect is an unrecorded worker task. Their progress is the jobs' own (jobs.progress): no export events.
// TensorFlow.js runs only in the job workers, never in this process.
import { join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { exportRequests } from '../../shared/contract/index';
import type { JobFinished, JobResult, JobStart } from '../../shared/contract/jobs';
import type { ExportResult } from '../../shared/contract/export';
import { exportAnswer, exportKind, prepareExport } from '../jobs/kinds/export';
import { predictAnswer, predictKind, preparePredict } from '../jobs/kinds/predict';
import { locateModel } from '../export/sources';
import { UploadStore, decodeBase64 } from '../export/uploads';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';
import { downloadsOf } from './downloads';
import { getDatasetRow } from '../catalogue/datasets';
import { imageIdAtPath, imageWithContent } from '../catalogue/added-images';
import { imageDetail } from '../catalogue/image-queries';
import { contentHashOf } from '../dataset/content';
import { readRegularFile } from '../files/read-regular-file';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/image-policy';

const UPLOAD_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** A job's end as the channel's answer: its result, or its reason as the error. */
function answerOf<K extends 'predict' | 'export'>(finished: JobFinished, kind: K): JobResult<K> {
  if (finished.status === 'completed' && finished.kind === kind && finished.result) return finished.result as JobResult<K>;
  if (finished.status === 'cancelled') throw new AppError('cancelled', `The ${kind === 'predict' ? 'prediction' : 'export'} was cancelled (job ${finished.id}).`);
  throw new AppError('failed', finished.error ?? `the ${kind} job ended without an answer (job ${finished.id})`);
}

export function exportHandlers(app: AppContext): DomainHandlers<typeof exportRequests> {
  const uploads = new UploadStore(join(app.paths.cache, 'uploads'));
  const downloads = downloadsOf(app);
  void uploads.prune(UPLOAD_MAX_AGE_MS);
  app.jobs.register(predictKind(uploads));
  app.jobs.register(exportKind(uploads));

  async function startAndWait(start: JobStart): Promise<JobFinished> {
    const { job } = await app.jobs.start(start);
    return app.jobs.wait(job.id);
  }

  return {
    'export.run': async (payload) => {
      const input = payload;
      let answer: ExportResult;
      if (app.db.readonly) {
        // A read-only catalogue records no job: the export still runs in a worker, as an unrecorded task.
        const state = await prepareExport(app.db, app.paths.dataDirectory, uploads, input);
        answer = exportAnswer(state, await app.jobs.task('export-package', { ...state.task, appVersion: app.appVersion }));
      } else {
        answer = answerOf(await startAndWait({ kind: 'export', input }), 'export');
      }
      // The browser host serves the package by this id only (never by a path the client names).
      return { ...answer, download: downloads.issue(answer.path, { folder: answer.format === 'folder' }) };
    },

    'export.predict': async (input) => {
      if (app.db.readonly) {
        const state = await preparePredict(app.db, uploads, input);
        return predictAnswer(state, input.batchSize, (taskInput) => app.jobs.task('predict-files', taskInput), { rowsInResult: true });
      }
      return answerOf(await startAndWait({ kind: 'predict', input }), 'predict');
    },

    'export.inspect': async ({ model }) => app.jobs.task('inspect', { model: await locateModel(app.db, uploads, model) }),

    'export.upload': async ({ name, data, uploadId }) => uploads.add(name, decodeBase64(data), uploadId),

    'export.discardUpload': async ({ uploadId }) => {
      await uploads.discard(uploadId);
      return null;
    },

    'export.findInDataset': async ({ datasetId, image }) => {
      getDatasetRow(app.db, datasetId);
      let path: string;
      if ('path' in image) path = resolve(image.path);
      else {
        const files = await uploads.files(image.uploadId);
        const name = image.name ?? files[0];
        if (name === undefined || !files.includes(name)) throw new AppError('not-found', `Upload ${image.uploadId} has no file${image.name ? ` named ${image.name}` : ''}; add the photo again.`);
        path = join(uploads.dirOf(image.uploadId), name);
      }
      const bytes = await readRegularFile(path, { maxBytes: MAX_IMAGE_FILE_BYTES });
      const relPath = imageWithContent(app.db, datasetId, contentHashOf(bytes));
      const imageId = relPath === undefined ? null : imageIdAtPath(app.db, datasetId, relPath);
      if (relPath === undefined || imageId === null) return { image: null };
      const detail = imageDetail(app.db, imageId);
      return { image: { imageId, relPath, classId: detail.classId, className: detail.className } };
    },
  };
}
