import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { AppError } from '../../shared/errors';
import type {
  ExportModelInfo, ExportPrediction, ImageSource, ModelSource, exportRequests,
} from '../../shared/contract/index';
import { getRun } from '../catalogue/runs';
import { loadTrainingData } from '../catalogue/training-data';
import { exportRun, VERIFY_TOLERANCE } from '../export/package';
import type { RunForExport } from '../export/task-types';
import { collectImageFiles } from '../inference/image-files';
import { ensureInferenceBackend } from '../inference/backend';
import { loadModel, type LoadedModel } from '../inference/loader';
import { predictFiles } from '../inference/predictor';
import { UploadStore, decodeBase64 } from '../export/uploads';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

const UPLOAD_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const MODEL_CACHE_SIZE = 2;

interface CachedModel {
  key: string;
  label: string;
  loaded: LoadedModel;
  users: number;
}

/** Keeps the last models used by "Try it" loaded; a model being used is never disposed under a request. */
class ModelCache {
  private entries: CachedModel[] = [];

  async use<T>(key: string, label: string, load: () => Promise<LoadedModel>, fn: (entry: CachedModel) => Promise<T>): Promise<T> {
    let entry = this.entries.find((e) => e.key === key);
    if (!entry) {
      entry = { key, label, loaded: await load(), users: 0 };
      this.entries.unshift(entry);
    } else {
      this.entries = [entry, ...this.entries.filter((e) => e !== entry)];
    }
    entry.users++;
    try {
      return await fn(entry);
    } finally {
      entry.users--;
      this.evict();
    }
  }

  private evict(): void {
    while (this.entries.length > MODEL_CACHE_SIZE) {
      const victim = [...this.entries].reverse().find((e) => e.users === 0);
      if (!victim) return;
      this.entries = this.entries.filter((e) => e !== victim);
      victim.loaded.dispose();
    }
  }

  clear(): void {
    for (const entry of this.entries) entry.loaded.dispose();
    this.entries = [];
  }
}

function slug(name: string): string {
  return name.normalize('NFKD').replace(/[^\w-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60).toLowerCase() || 'model';
}

function modelInfo(loaded: LoadedModel, label: string): ExportModelInfo {
  return {
    kind: loaded.kind,
    label,
    classNames: loaded.classNames,
    imageSize: loaded.imageSize,
    preprocessing: loaded.preprocessing,
    resize: loaded.resize,
    output: loaded.output,
  };
}

async function mtimeKey(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (!info) return 'missing';
  if (!info.isDirectory()) return `${info.size}:${info.mtimeMs}`;
  const model = await stat(join(path, 'model.json')).catch(() => null);
  const weights = await stat(join(path, 'weights.bin')).catch(() => null);
  return `${model?.mtimeMs ?? 0}:${weights?.mtimeMs ?? 0}:${weights?.size ?? 0}`;
}

// Handlers for the export domain of the contract.
export function exportHandlers(app: AppContext): DomainHandlers<typeof exportRequests> {
  const uploads = new UploadStore(join(app.paths.cache, 'uploads'));
  void uploads.prune(UPLOAD_MAX_AGE_MS);
  const models = new ModelCache();
  app.onClose(() => models.clear());

  /** A model source as a path to load (and a cache key), with what the UI shows for it. */
  async function locateModel(source: ModelSource): Promise<{ path: string; key: string; label: string; hints?: Parameters<typeof loadModel>[1] }> {
    if ('runId' in source) {
      const run = getRun(app.db, source.runId);
      if (!run.modelPath) throw new AppError('not-found', `Run ${run.id} ("${run.name}") has no saved model (status: ${run.status}).`);
      return {
        path: run.modelPath,
        key: `run:${run.id}:${await mtimeKey(run.modelPath)}`,
        label: run.name,
        hints: { kind: 'pawprint-run', hints: { classNames: run.classNames, imageSize: run.config.imageSize, preprocessing: run.config.preprocessing } },
      };
    }
    if ('uploadId' in source) {
      const files = await uploads.files(source.uploadId);
      const dir = uploads.dirOf(source.uploadId);
      // One archive, or the loose files of a model (model.json + weights + metadata.json).
      const archive = files.length === 1 && extname(files[0]).toLowerCase() !== '.json' ? join(dir, files[0]) : null;
      const path = archive ?? dir;
      return { path, key: `upload:${source.uploadId}:${files.join('|')}`, label: archive ? files[0] : files.join(', ') };
    }
    return { path: source.path, key: `path:${source.path}:${await mtimeKey(source.path)}`, label: basename(source.path) };
  }

  async function withModel<T>(source: ModelSource, fn: (loaded: LoadedModel, label: string) => Promise<T>): Promise<T> {
    const located = await locateModel(source);
    await ensureInferenceBackend();
    return models.use(located.key, located.label, () => loadModel(located.path, located.hints), (entry) => fn(entry.loaded, entry.label));
  }

  async function resolveImages(sources: readonly ImageSource[]): Promise<Array<{ path: string; name: string; uploadId: string | null }>> {
    const out: Array<{ path: string; name: string; uploadId: string | null }> = [];
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
  function runImages(run: RunForExport, max: number): { paths: string[]; source: 'test' | 'val' | 'train' } | null {
    if (run.datasetId === null) return null;
    let data;
    try {
      data = loadTrainingData(app.db, { datasetId: run.datasetId, splitId: run.splitId ?? undefined });
    } catch {
      return null;
    }
    for (const subset of ['test', 'val', 'train'] as const) {
      if (data[subset].length > 0) return { paths: data[subset].slice(0, max).map((e) => e.path), source: subset };
    }
    return null;
  }

  async function defaultOut(run: RunForExport, format: 'zip' | 'folder'): Promise<string> {
    const dir = join(app.paths.dataDirectory, 'exports');
    const base = `${slug(run.name)}-run${run.id}`;
    const taken = new Set(await readdir(dir).catch(() => [] as string[]));
    for (let n = 1; ; n++) {
      const name = `${base}${n > 1 ? `-${n}` : ''}${format === 'zip' ? '.zip' : ''}`;
      if (!taken.has(name)) return join(dir, name);
    }
  }

  return {
    'export.run': async ({ runId, out, format, overwrite, images, maxImages }) => {
      const run = getRun(app.db, runId);
      let verifyPaths: string[];
      let imagesSource: 'test' | 'val' | 'train' | 'given';
      if (images && images.length > 0) {
        verifyPaths = (await resolveImages(images)).slice(0, maxImages).map((i) => i.path);
        imagesSource = 'given';
      } else {
        const found = runImages(run, maxImages);
        if (!found) {
          throw new AppError('conflict', `Run ${run.id} has no dataset images left to verify the export on; give some images to check it with.`);
        }
        verifyPaths = found.paths;
        imagesSource = found.source;
      }
      let target = out ?? (await defaultOut(run, format));
      if (format === 'zip' && extname(target).toLowerCase() !== '.zip') target += '.zip';
      await ensureInferenceBackend();
      app.events.emit('export.progress', { job: 'export', runId, stage: 'loading', done: 0, total: verifyPaths.length });
      const result = await exportRun({
        run, out: target, format, overwrite, appVersion: app.appVersion, images: verifyPaths.map((path) => ({ path })),
        onProgress: (stage, done, total) => app.events.emit('export.progress', { job: 'export', runId, stage, done, total }),
      });
      return { ...result, tolerance: VERIFY_TOLERANCE, imagesSource };
    },

    'export.predict': async ({ model, images, batchSize }) => {
      const started = performance.now();
      const inputs = await resolveImages(images);
      if (inputs.length === 0) throw new AppError('not-found', 'No images found to predict (folders are searched for .jpg, .png, .webp, .gif, .tif, .avif, .bmp files).');
      const runId = 'runId' in model ? model.runId : null;
      return withModel(model, async (loaded, label) => {
        const predictions = await predictFiles(loaded, inputs, {
          batchSize,
          onProgress: (done, total) => app.events.emit('export.progress', { job: 'predict', runId, stage: 'predicting', done, total }),
        });
        const lowerNames = loaded.classNames.map((name) => name.toLowerCase());
        let labelled = 0;
        let correct = 0;
        const results: ExportPrediction[] = predictions.map((p, i) => {
          const input = inputs[i];
          if ('error' in p) return { ok: false, name: p.name, uploadId: input.uploadId, path: input.uploadId ? null : p.path, error: p.error };
          // A folder named like a class gives the true label (cats-vs-dogs/cats/...), as evaluation does.
          const folder = input.uploadId ? -1 : lowerNames.indexOf(basename(dirname(p.path)).toLowerCase());
          const trueIndex = folder >= 0 ? folder : null;
          if (trueIndex !== null) {
            labelled++;
            if (trueIndex === p.predictedIndex) correct++;
          }
          return {
            ok: true, name: p.name, uploadId: input.uploadId, path: input.uploadId ? null : p.path, className: p.className,
            predictedIndex: p.predictedIndex, probabilities: p.probabilities, trueIndex,
          };
        });
        return {
          model: modelInfo(loaded, label), results, accuracy: labelled > 0 ? correct / labelled : null, labelled,
          durationMs: performance.now() - started,
        };
      });
    },

    'export.inspect': async ({ model }) => withModel(model, async (loaded, label) => modelInfo(loaded, label)),

    'export.upload': async ({ name, data, uploadId }) => uploads.add(name, decodeBase64(data), uploadId),

    'export.discardUpload': async ({ uploadId }) => {
      await uploads.discard(uploadId);
      return null;
    },
  };
}
