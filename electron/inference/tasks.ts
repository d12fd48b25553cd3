// The inference tasks a job worker process can run (issue 12 §2.4): `predict-files` (Try it, evaluation) and
// `inspect` (describe a model). They load TensorFlow.js, so only the worker entry (jobs/worker/job-worker-entry.ts)
// imports this file; the main side names the tasks through the tf-free task-types.ts. Models stay loaded between
// tasks of the long-lived interactive worker (at most two, see model-cache.ts).
import { basename } from 'node:path';
import type { ExportModelInfo } from '../../shared/contract/export';
import type { TaskIo, WorkerTask } from '../../shared/worker-task';
import { ensureInferenceBackend } from './backend';
import { loadModel, type LoadedModel } from './loader';
import { ModelCache, modelFilesStamp } from './model-cache';
import { predictFiles } from './predictor';
import type {
  InspectTaskInput, InspectTaskResult, ModelFileRef, PredictFilesEvent, PredictFilesInput, PredictFilesResult, PredictedRow,
} from './task-types';

export interface InferenceTasks {
  'predict-files': WorkerTask<PredictFilesInput, PredictFilesResult, PredictFilesEvent>;
  inspect: WorkerTask<InspectTaskInput, InspectTaskResult>;
}

/** One per worker process: the interactive worker runs many tasks in a row. */
const models = new ModelCache(2);

export function modelInfo(loaded: LoadedModel, label: string): ExportModelInfo {
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

async function withModel<T>(ref: ModelFileRef, fn: (loaded: LoadedModel, cached: boolean) => Promise<T>): Promise<T> {
  await ensureInferenceBackend();
  const key = JSON.stringify([ref.path, ref.kind ?? null, ref.hints ?? null, await modelFilesStamp(ref.path)]);
  return models.use(key, () => loadModel(ref.path, { hints: ref.hints, kind: ref.kind }), fn);
}

const labelOf = (ref: ModelFileRef) => ref.label ?? basename(ref.path);

export async function predictFilesTask(input: PredictFilesInput, io: TaskIo<PredictFilesEvent>): Promise<PredictFilesResult> {
  io.signal.throwIfAborted();
  io.progress({ phase: 'loading', done: 0, total: input.files.length, etaSeconds: null, message: null, detail: null });
  return withModel(input.model, async (loaded, cached) => {
    io.log('info', `${cached ? 'using the loaded' : 'loaded the'} model ${labelOf(input.model)}`);
    const started = performance.now();
    const kept: PredictedRow[] = [];
    await predictFiles(loaded, input.files, {
      batchSize: input.batchSize,
      // Checked before every batch: a cancel stops the work after the batch in flight (serve.ts reports 'cancelled').
      signal: io.signal,
      onBatch: (offset, predictions) => {
        const rows: PredictedRow[] = predictions.map((p) =>
          'error' in p ? { error: p.error } : { probabilities: p.probabilities, outputs: p.outputs, predictedIndex: p.predictedIndex });
        if (input.rowsInResult) kept.push(...rows);
        io.event({ type: 'rows', offset, rows });
      },
      onProgress: (done, total) => {
        const seconds = (performance.now() - started) / 1000;
        const etaSeconds = done > 0 && done < total ? (seconds / done) * (total - done) : null;
        io.progress({ phase: 'predicting', done, total, etaSeconds, message: null, detail: null });
      },
    });
    const result: PredictFilesResult = { model: modelInfo(loaded, labelOf(input.model)), count: input.files.length, cache: cached ? 'hit' : 'miss' };
    return input.rowsInResult ? { ...result, rows: kept } : result;
  });
}

export async function inspectTask(input: InspectTaskInput): Promise<InspectTaskResult> {
  return withModel(input.model, async (loaded) => modelInfo(loaded, labelOf(input.model)));
}

export const inferenceTasks: InferenceTasks = {
  'predict-files': predictFilesTask,
  inspect: inspectTask,
};
