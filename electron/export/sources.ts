// Where Try it's model and images come from, resolved in the main process before a predict job is queued (uploads,
// paths, a run's model folder with the catalogue's facts about it) and the run's images an export is verified on.
// tf-free: the model itself is loaded in the job worker.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import type { ImageSource, ModelSource } from '../../shared/contract/export';
import type { Database } from '../catalogue/database';
import { getRun } from '../catalogue/runs';
import { loadTrainingData } from '../catalogue/training-data';
import { collectImageFiles } from '../inference/image-files';
import type { ModelFileRef } from '../inference/task-types';
import type { RunForExport } from './task-types';
import type { UploadStore } from './uploads';

export interface ResolvedImage {
  path: string;
  name: string;
  /** The upload it came from (the UI previews it from its own copy), else null for a path. */
  uploadId: string | null;
}

/** A model source as the files the worker loads, with what the answer calls it and what the catalogue knows. */
export async function locateModel(db: Database, uploads: UploadStore, source: ModelSource): Promise<ModelFileRef> {
  if ('runId' in source) {
    const run = getRun(db, source.runId);
    if (!run.modelPath) throw new AppError('not-found', `Run ${run.id} ("${run.name}") has no saved model (status: ${run.status}).`);
    return {
      path: run.modelPath,
      label: run.name,
      kind: 'pawprint-run',
      hints: { classNames: run.classNames, imageSize: run.config.imageSize, preprocessing: run.config.preprocessing },
    };
  }
  if ('uploadId' in source) {
    const files = await uploads.files(source.uploadId);
    if (files.length === 0) throw new AppError('not-found', `Upload ${source.uploadId} holds no files; upload the model again.`);
    const dir = uploads.dirOf(source.uploadId);
    // One archive, or the loose files of a model (model.json + weights + metadata.json).
    const archive = files.length === 1 && extname(files[0]).toLowerCase() !== '.json' ? join(dir, files[0]) : null;
    return { path: archive ?? dir, label: archive ? files[0] : files.join(', ') };
  }
  // Checked here too so a missing model is refused before a job is queued, with the loader's words and code.
  if (!existsSync(source.path)) throw new AppError('not-found', `No model at ${source.path}: the file or folder does not exist.`);
  return { path: source.path, label: basename(source.path) };
}

/** Image sources as files, in order: an upload's files (or one by name), a file, or a folder's images (class folders too). */
export async function resolveImages(uploads: UploadStore, sources: readonly ImageSource[]): Promise<ResolvedImage[]> {
  const out: ResolvedImage[] = [];
  for (const source of sources) {
    if ('uploadId' in source) {
      const files = await uploads.files(source.uploadId);
      const chosen = source.name === undefined ? files : files.filter((f) => f === source.name);
      if (chosen.length === 0) throw new AppError('not-found', `Upload ${source.uploadId} has no file named ${source.name}.`);
      for (const name of chosen) out.push({ path: join(uploads.dirOf(source.uploadId), name), name, uploadId: source.uploadId });
    } else {
      if (!existsSync(source.path)) throw new AppError('not-found', `No image or folder at ${source.path}.`);
      for (const path of await collectImageFiles([source.path])) out.push({ path, name: basename(path), uploadId: null });
    }
  }
  return out;
}

/** The run's test images (else validation, else training), for verifying an export. */
export function runImages(db: Database, run: RunForExport, max: number): { paths: string[]; source: 'test' | 'val' | 'train' } | null {
  if (run.datasetId === null) return null;
  let data;
  try {
    data = loadTrainingData(db, { datasetId: run.datasetId, splitId: run.splitId ?? undefined });
  } catch {
    return null;
  }
  for (const subset of ['test', 'val', 'train'] as const) {
    if (data[subset].length > 0) return { paths: data[subset].slice(0, max).map((e) => e.path), source: subset };
  }
  return null;
}

function slug(name: string): string {
  return name.normalize('NFKD').replace(/[^\w-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60).toLowerCase() || 'model';
}

/** <data folder>/exports/<run name>-run<id>[-n][.zip]: the first name not taken. */
export async function defaultExportPath(dataDirectory: string, run: Pick<RunForExport, 'id' | 'name'>, format: 'zip' | 'folder'): Promise<string> {
  const dir = join(dataDirectory, 'exports');
  const base = `${slug(run.name)}-run${run.id}`;
  const taken = new Set(await readdir(dir).catch(() => [] as string[]));
  for (let n = 1; ; n++) {
    const name = `${base}${n > 1 ? `-${n}` : ''}${format === 'zip' ? '.zip' : ''}`;
    if (!taken.has(name)) return join(dir, name);
  }
}
