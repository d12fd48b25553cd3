// The predict job ("Try it"): a model (a run's, an upload, a path) on a few images, in the interactive lane so it
// runs beside a training job. The model source and images are resolved here in the main process (refused in words
// before anything is queued); the model is loaded and run in the inference worker (predict-files), which keeps it
// loaded for the next try. TensorFlow.js never loads in this process.
import { basename, dirname } from 'node:path';
import { AppError } from '../../../shared/errors';
import type { ExportPrediction, ExportPredictResult } from '../../../shared/contract/export';
import type { JobInput } from '../../../shared/contract/jobs';
import { locateModel, resolveImages, type ResolvedImage } from '../../export/sources';
import type { UploadStore } from '../../export/uploads';
import type { ModelFileRef, PredictFilesEvent, PredictFilesInput, PredictFilesResult, PredictedRow } from '../../inference/task-types';
import type { JobKindSpec } from '../kind';

export interface PredictState {
  model: ModelFileRef;
  inputs: ResolvedImage[];
  runId: number | null;
  /** performance.now() when the request arrived: the answer's duration counts resolving and waiting too. */
  startedAt: number;
}

/** Resolves a Try-it request to files; refuses in words when there is nothing to predict. */
export async function preparePredict(db: Parameters<typeof locateModel>[0], uploads: UploadStore, input: JobInput<'predict'>): Promise<PredictState> {
  const startedAt = performance.now();
  const inputs = await resolveImages(uploads, input.images);
  if (inputs.length === 0) throw new AppError('not-found', 'No images found to predict (folders are searched for .jpg, .png, .webp, .gif, .tif, .avif, .bmp files).');
  const model = await locateModel(db, uploads, input.model);
  return { model, inputs, runId: 'runId' in input.model ? input.model.runId : null, startedAt };
}

type RunPredictTask = (input: PredictFilesInput, onEvent: (event: PredictFilesEvent) => void) => Promise<PredictFilesResult>;

/**
 * Runs predict-files and builds Try it's answer: one entry per image in order, and accuracy over the images whose
 * folder names a class (cats-vs-dogs/cats/...), as evaluation does. Shared by the job and the read-only fallback.
 */
export async function predictAnswer(
  state: PredictState, batchSize: number, runTask: RunPredictTask, options: { rowsInResult?: boolean } = {},
): Promise<ExportPredictResult> {
  const { inputs } = state;
  const rows: PredictedRow[] = new Array(inputs.length);
  const onEvent = (event: PredictFilesEvent) => {
    event.rows.forEach((row, i) => (rows[event.offset + i] = row));
  };
  const outcome = await runTask({ model: state.model, files: inputs.map(({ path, name }) => ({ path, name })), batchSize, rowsInResult: options.rowsInResult }, onEvent);
  // An unrecorded task delivers no events: its rows come with the result.
  outcome.rows?.forEach((row, i) => (rows[i] = row));
  const classNames = outcome.model.classNames;
  const lowerNames = classNames.map((name) => name.toLowerCase());
  let labelled = 0;
  let correct = 0;
  const results: ExportPrediction[] = inputs.map((input, i) => {
    const row = rows[i];
    const path = input.uploadId ? null : input.path;
    if (!row) return { ok: false, name: input.name, uploadId: input.uploadId, path, error: 'the worker returned no prediction for this image' };
    if ('error' in row) return { ok: false, name: input.name, uploadId: input.uploadId, path, error: row.error };
    const folder = input.uploadId ? -1 : lowerNames.indexOf(basename(dirname(input.path)).toLowerCase());
    const trueIndex = folder >= 0 ? folder : null;
    if (trueIndex !== null) {
      labelled++;
      if (trueIndex === row.predictedIndex) correct++;
    }
    return {
      ok: true, name: input.name, uploadId: input.uploadId, path, className: classNames[row.predictedIndex],
      predictedIndex: row.predictedIndex, probabilities: row.probabilities, trueIndex,
    };
  });
  return { model: outcome.model, results, accuracy: labelled > 0 ? correct / labelled : null, labelled, durationMs: performance.now() - state.startedAt };
}

export function predictKind(uploads: UploadStore): JobKindSpec<'predict', PredictState> {
  return {
    kind: 'predict',
    lane: () => 'interactive',
    async prepare({ db }, input) {
      const state = await preparePredict(db, uploads, input);
      const count = `${state.inputs.length} image${state.inputs.length === 1 ? '' : 's'}`;
      return { title: `Try ${state.model.label ?? basename(state.model.path)} on ${count}`, runId: state.runId, state };
    },
    async run(ctx, state, input) {
      return predictAnswer(state, input.batchSize, (taskInput, onEvent) => ctx.worker('predict-files', taskInput, { event: onEvent }));
    },
  };
}
