// The export job: a finished run's model written as a package (.zip or folder) and verified against the in-app
// model, in its own worker process (lane cpu: it waits behind a training run instead of slowing it). The run, the
// verification images and the target are checked here in the main process, refused in words before anything is
// queued; the package is staged beside the target and renamed only once verified, so a cancelled or failed export
// leaves nothing at the target.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { ExportResult } from '../../../shared/contract/export';
import type { JobInput } from '../../../shared/contract/jobs';
import type { Database } from '../../catalogue/database';
import { getRun } from '../../catalogue/runs';
import { defaultExportPath, resolveImages, runImages } from '../../export/sources';
import { TARGET_TOLERANCE, type ExportPackageInput, type ExportPackageResult, type RunForExport } from '../../export/task-types';
import type { UploadStore } from '../../export/uploads';
import type { JobKindSpec } from '../kind';

export interface ExportState {
  task: Omit<ExportPackageInput, 'appVersion'>;
  imagesSource: ExportResult['imagesSource'];
}

/** Checks the run, finds the verification images and the target; refuses in words. */
export async function prepareExport(db: Database, dataDirectory: string, uploads: UploadStore, input: JobInput<'export'>): Promise<ExportState> {
  const run: RunForExport = getRun(db, input.runId);
  if (run.status !== 'completed' && run.status !== 'cancelled') {
    throw new AppError('conflict', `Run ${run.id} is ${run.status}; only finished runs with a saved model can be exported.`);
  }
  if (!run.modelPath) throw new AppError('not-found', `Run ${run.id} ("${run.name}") has no saved model to export.`);
  let images: string[];
  let imagesSource: ExportResult['imagesSource'];
  if (input.images && input.images.length > 0) {
    images = (await resolveImages(uploads, input.images)).slice(0, input.maxImages).map((i) => i.path);
    imagesSource = 'given';
  } else {
    const found = runImages(db, run, input.maxImages);
    if (!found) throw new AppError('conflict', `Run ${run.id} has no dataset images left to verify the export on; give some images to check it with.`);
    images = found.paths;
    imagesSource = found.source;
  }
  let out = input.out ?? (await defaultExportPath(dataDirectory, run, input.format));
  if (input.format === 'zip' && extname(out).toLowerCase() !== '.zip') out += '.zip';
  if (!input.overwrite && existsSync(out)) throw new AppError('conflict', `${out} already exists; choose another name or allow replacing it.`);
  return {
    task: { run, target: input.target, out, format: input.format, overwrite: input.overwrite, images: images.map((path) => ({ path })) },
    imagesSource,
  };
}

/** The worker's staging copies beside the target (.<name>.<hex>.partial): a worker killed mid-write leaves one. */
async function removeStaging(out: string): Promise<void> {
  const prefix = `.${basename(out)}.`;
  const names = await readdir(dirname(out)).catch(() => [] as string[]);
  await Promise.all(names
    .filter((name) => name.startsWith(prefix) && /^[0-9a-f]{8}\.partial$/.test(name.slice(prefix.length)))
    .map((name) => rm(join(dirname(out), name), { recursive: true, force: true })));
}

export function exportAnswer(state: ExportState, result: ExportPackageResult): ExportResult {
  return { ...result, tolerance: TARGET_TOLERANCE[state.task.target], imagesSource: state.imagesSource };
}

export function exportKind(uploads: UploadStore): JobKindSpec<'export', ExportState> {
  return {
    kind: 'export',
    lane: () => 'cpu',
    async prepare({ db, paths }, input) {
      const state = await prepareExport(db, paths.dataDirectory, uploads, input);
      return { title: `Export run ${state.task.run.id} (${state.task.run.name}) to ${state.task.out}`, runId: state.task.run.id, state };
    },
    async run(ctx, state) {
      try {
        const result = await ctx.worker('export-package', { ...state.task, appVersion: ctx.appVersion });
        if (ctx.signal.aborted) {
          // The cancel came after the worker's last check: the job is recorded cancelled, so it leaves no package.
          await rm(result.path, { recursive: true, force: true });
          throw new AppError('cancelled', 'the export was cancelled');
        }
        return exportAnswer(state, result);
      } catch (error) {
        // The worker deletes its staging copy itself, unless it was killed before it could.
        await removeStaging(state.task.out);
        throw error;
      }
    },
  };
}
