// Inputs, events and results of the inference worker tasks (issue 12 §2.4), without code: the job runtime and the
// evaluate/predict kinds import these, and must not load TensorFlow.js to do so.
import type { ExportModelInfo } from '../../shared/contract/export';
import type { ModelHints } from './model-format';

/** What the loader knows about a model: its file or folder, and what the caller knows (a run's class names). */
export interface ModelFileRef {
  path: string;
  hints?: ModelHints;
  kind?: ExportModelInfo['kind'];
  /** What the answer calls the model (a run's name, an upload's file names); the file or folder name without it. */
  label?: string;
}

export interface PredictFilesInput {
  model: ModelFileRef;
  files: Array<{ path: string; name: string }>;
  batchSize: number;
  /** Also return every row in the result: for callers that get no events (an unrecorded runtime.task() call). */
  rowsInResult?: boolean;
}
export type PredictedRow = { probabilities: number[]; outputs: number[]; predictedIndex: number } | { error: string };
/** One batch of rows, in file order from `offset`: evaluation streams them instead of holding every file's answer. */
export interface PredictFilesEvent { type: 'rows'; offset: number; rows: PredictedRow[] }
export interface PredictFilesResult {
  model: ExportModelInfo;
  count: number;
  /** 'hit': the worker already had this model loaded (Try it again with the same model). */
  cache?: 'hit' | 'miss';
  /** Every row in file order, when the input asked for them (rowsInResult). */
  rows?: PredictedRow[];
}

export interface InspectTaskInput { model: ModelFileRef }
export type InspectTaskResult = ExportModelInfo;
