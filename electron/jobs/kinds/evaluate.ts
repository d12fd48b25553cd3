// The evaluate job: a run's saved model over its test split, another dataset or a folder, out of the main process.
// prepare() chooses the images and refuses in words (no model, dataset deleted, folder missing, unknown classes);
// run() asks a worker's 'predict-files' task for the predictions, which stream back batch by batch, then computes
// the metrics here (pure code, no TensorFlow.js) and stores the evaluation in one transaction at the very end, so a
// cancelled or failed evaluation stores nothing. Lane cpu: it waits behind a training run, told its position.
import { basename } from 'node:path';
import { AppError } from '../../../shared/errors';
import { EvaluationRows, planEvaluation, recordEvaluation } from '../../evaluation/evaluate';
import type { EvaluationPlan } from '../../evaluation/evaluate';
import type { JobKindSpec } from '../kind';

/** Images per worker batch: small enough that progress and cancel come often, large enough to keep inference busy. */
const BATCH_SIZE = 16;

export interface EvaluateState {
  runId: number;
  title: string;
}

const cancelled = () => new AppError('cancelled', 'The evaluation was cancelled; nothing was stored.');

export const evaluateKind: JobKindSpec<'evaluate', EvaluateState> = {
  kind: 'evaluate',
  lane: () => 'cpu',
  async prepare({ db }, input) {
    const plan = await planEvaluation(db, input.runId, { datasetId: input.datasetId, folder: input.folder });
    const title = `Evaluate "${plan.runName}" on ${plan.targetWords}`;
    return { title, runId: plan.runId, datasetId: plan.datasetId, state: { runId: plan.runId, title } };
  },
  async run(ctx, _state, input) {
    // Chosen again now that the job is admitted: labels may have changed (or the dataset gone) while it waited.
    const plan: EvaluationPlan = await planEvaluation(ctx.db, input.runId, { datasetId: input.datasetId, folder: input.folder });
    const rows = new EvaluationRows(plan);
    const total = rows.total;
    // 'evaluating' throughout: the predict task's own phases ('loading', 'predicting') are shown as this job's, with
    // their done/total per image and ETA; 'saving' closes the job.
    ctx.progress({ phase: 'evaluating', done: 0, total, etaSeconds: null, message: `${total} images`, detail: null });
    // A malformed batch is remembered, not thrown: the event arrives inside the worker's message handler.
    let streamError: unknown = null;
    const answer = await ctx.worker(
      'predict-files',
      {
        model: { path: plan.modelPath, hints: plan.hints, kind: 'pawprint-run', label: plan.runName },
        files: plan.items.map((item) => ({ path: item.path, name: basename(item.path) })),
        batchSize: BATCH_SIZE,
      },
      {
        progress: (p) => ({ ...p, phase: 'evaluating' }),
        event: (event) => {
          if (event.type !== 'rows' || ctx.signal.aborted || streamError !== null) return;
          try {
            rows.add(event.offset, event.rows);
          } catch (error) {
            streamError = error;
          }
        },
      },
    );
    // Checked right before the one write: a cancel that arrived during the last batch stores nothing.
    if (ctx.signal.aborted) throw cancelled();
    if (streamError !== null) throw streamError;
    if (answer.count !== total) throw new AppError('failed', `the model answered for ${answer.count} of ${total} images; nothing was stored`);
    ctx.progress({ phase: 'saving', done: total, total, etaSeconds: 0, message: null, detail: null });
    return recordEvaluation(ctx.db, plan, rows, answer.model.classNames);
  },
};
