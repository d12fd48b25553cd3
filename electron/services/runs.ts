import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { runRequests } from '../../shared/contract/index';
import type {
  CompareMetricsRow, EvaluationSummary, ImageDiff, ImageDiffItem, MisclassifiedItem, RunComparison, RunExport,
} from '../../shared/contract/runs';
import { ExportResult } from '../../shared/contract/export';
import type { RunDetail } from '../../shared/contract/training';
import { EvaluateJobResult, ExportJobInput } from '../../shared/contract/jobs';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';
import { getRun, runLog } from '../catalogue/runs';
import { completedJobsOfRun, type JobRow } from '../catalogue/jobs';
import { deleteRunRow, isModelPathReferenced, updateRun } from '../catalogue/run-admin';
import {
  correctPredictions, evaluationPredictions, getEvaluation, latestTestEvaluation, listEvaluations, misclassifiedPredictions,
} from '../catalogue/evaluations';
import type { PredictionWithLabel } from '../catalogue/evaluations';
import { evaluationWithPredictions, storedEvaluationFor } from '../evaluation/evaluate';
import type { EvaluationResult, EvaluationTarget } from '../evaluation/evaluate';
import { configDiff, perImageDiff } from '../evaluation/compare';
import { evaluateKind } from '../jobs/kinds/evaluate';

/** A folder evaluation's mistakes that runs.evaluation answers (the worst, by loss). */
const FILE_MISTAKES_SHOWN = 200;

function isInside(parent: string, child: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function lastDefined<T>(values: readonly T[], pick: (value: T) => number | null): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const value = pick(values[i]!);
    if (value !== null) return value;
  }
  return null;
}

function metricsRow(run: RunDetail, evaluation: EvaluationSummary | null): CompareMetricsRow {
  return {
    runId: run.id,
    name: run.name,
    preset: run.preset,
    status: run.status,
    backend: run.backend,
    epochs: run.epochs.length,
    bestEpoch: run.bestEpoch,
    bestValAccuracy: run.bestValAccuracy,
    finalAccuracy: lastDefined(run.epochs, (e) => e.accuracy),
    finalValAccuracy: lastDefined(run.epochs, (e) => e.valAccuracy),
    finalLoss: lastDefined(run.epochs, (e) => e.loss),
    finalValLoss: lastDefined(run.epochs, (e) => e.valLoss),
    // A stored evaluation reflects the labels as they are now; the trainer's own test figures are the fallback.
    testAccuracy: evaluation?.accuracy ?? run.testAccuracy,
    testLoss: evaluation?.loss ?? run.testLoss,
    expectedCalibrationError: evaluation?.expectedCalibrationError ?? null,
    durationMs: run.durationMs,
  };
}

function parsedJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** A completed export job as the run page lists it; null for a row this version cannot read. */
function runExportOf(job: JobRow): RunExport | null {
  const result = ExportResult.safeParse(parsedJson(job.result_json));
  const input = ExportJobInput.safeParse(parsedJson(job.input_json));
  if (!result.success) return null;
  return {
    jobId: job.id,
    target: input.success ? input.data.target : 'tfjs',
    format: result.data.format,
    path: result.data.path,
    bytes: result.data.bytes,
    finishedAt: job.finished_at,
    present: existsSync(result.data.path),
  };
}

function diffItem(a: PredictionWithLabel, b: PredictionWithLabel, classesA: string[], classesB: string[]): ImageDiffItem {
  return {
    imageId: a.imageId,
    trueIndex: a.trueIndex,
    trueClass: classesA[a.trueIndex] ?? String(a.trueIndex),
    predictedA: classesA[a.predictedIndex] ?? String(a.predictedIndex),
    confidenceA: a.probabilities[a.predictedIndex] ?? 0,
    predictedB: classesB[b.predictedIndex] ?? String(b.predictedIndex),
    confidenceB: b.probabilities[b.predictedIndex] ?? 0,
  };
}

export function runHandlers(app: AppContext): DomainHandlers<typeof runRequests> {
  const { db } = app;
  app.jobs.register(evaluateKind);

  /**
   * runs.evaluate as it answered before evaluations became jobs: starts an evaluate job (it may wait behind a training
   * run), waits for it and answers the stored evaluation with its predictions. Phase B wrapper over jobs.start.
   */
  async function evaluate(runId: number, target: EvaluationTarget): Promise<EvaluationResult> {
    // A read-only catalogue cannot store an evaluation (the runtime starts no job there): show the stored one.
    if (db.readonly) return storedEvaluationFor(db, runId, target, app.paths.databasePath);
    const { job } = await app.jobs.start({ kind: 'evaluate', input: { runId, ...target } });
    const finished = await app.jobs.wait(job.id);
    if (finished.status === 'cancelled') throw new AppError('cancelled', `The evaluation (job ${job.id}) was cancelled; nothing was stored.`);
    const result = EvaluateJobResult.safeParse(finished.result);
    if (finished.status === 'failed' || !result.success) {
      throw new AppError('failed', `The evaluation (job ${job.id}) failed: ${finished.error ?? 'it produced no result'}`);
    }
    return evaluationWithPredictions(db, result.data.id);
  }

  async function imageDiff(
    runA: RunDetail, runB: RunDetail, evalA: EvaluationSummary | null, evalB: EvaluationSummary | null, reasons: Map<number, string>,
  ): Promise<ImageDiff> {
    const empty = { runA: runA.id, runB: runB.id, evaluationA: evalA?.id ?? null, evaluationB: evalB?.id ?? null, shared: 0, bothRight: 0, bothWrong: 0, fixedByB: [], brokenByB: [] };
    if (!evalA || !evalB) {
      const missing = !evalA ? runA : runB;
      return { ...empty, unavailable: `"${missing.name}" has no evaluation on its test split: ${reasons.get(missing.id) ?? 'evaluate it first'}` };
    }
    const toOutcome = (p: PredictionWithLabel) => ({ ...p, correct: p.predictedIndex === p.trueIndex });
    const a = evaluationPredictions(db, evalA.id).map(toOutcome);
    const b = evaluationPredictions(db, evalB.id).map(toOutcome);
    const diff = perImageDiff(a, b);
    if (diff.shared === 0) {
      return { ...empty, unavailable: `"${runA.name}" and "${runB.name}" were evaluated on different test images (split ${runA.splitId ?? '?'} vs ${runB.splitId ?? '?'}), so there is nothing to compare image by image.` };
    }
    const byLoss = <T extends { b: PredictionWithLabel }>(pairs: T[]) => pairs.sort((x, y) => y.b.loss - x.b.loss);
    return {
      ...empty,
      unavailable: null,
      shared: diff.shared,
      bothRight: diff.bothRight,
      bothWrong: diff.bothWrong,
      // B's fixes sorted by how wrong A was; B's regressions by how wrong B is.
      fixedByB: diff.fixedByB.sort((x, y) => y.a.loss - x.a.loss).map(({ a: pa, b: pb }) => diffItem(pa, pb, runA.classNames, runB.classNames)),
      brokenByB: byLoss(diff.brokenByB).map(({ a: pa, b: pb }) => diffItem(pa, pb, runA.classNames, runB.classNames)),
    };
  }

  return {
    'runs.update': async ({ runId, name, notes, tags }) => {
      const run = updateRun(db, runId, { name, notes, tags });
      app.events.emit('runs.changed', { runId, deleted: false });
      return run;
    },

    'runs.delete': async ({ runId }) => {
      // A queued or training run is refused by deleteRunRow; an evaluation in flight would store onto a deleted run.
      const busy = app.jobs.activeFor({ runId }).find((job) => job.kind !== 'train');
      if (busy) throw new AppError('conflict', `Run ${runId} is in use by job ${busy.id} (${busy.title}); cancel that job before deleting the run.`);
      const { modelPath } = deleteRunRow(db, runId);
      // The run's folder as the training service names it (it may hold a checkpoint even when no model was recorded),
      // and the recorded model path. Only what lies inside Pawprint's models folder is removed: a path elsewhere is the
      // user's, and a folder another run still references stays.
      const candidates = [...new Set([join(app.paths.models, `run-${runId}`), ...(modelPath ? [resolve(modelPath)] : [])])];
      const removedFiles: string[] = [];
      for (const path of candidates) {
        if (!isInside(app.paths.models, path) || isModelPathReferenced(db, path) || !existsSync(path)) continue;
        try {
          await rm(path, { recursive: true, force: true });
          removedFiles.push(path);
        } catch (error) {
          throw new AppError('failed', `Run ${runId} was deleted from the catalogue, but its files at ${path} could not be removed: ${(error as Error).message}`);
        }
      }
      app.events.emit('runs.changed', { runId, deleted: true });
      return { runId, removedFiles };
    },

    'runs.again': async ({ runId }) => {
      const run = getRun(db, runId);
      if (run.datasetId === null || run.splitId === null) {
        throw new AppError('conflict', `Run "${run.name}"'s dataset or split was deleted, so it cannot be run again on the same split.`);
      }
      // The train job records the parent with the new run; it may wait in the queue behind another cpu job.
      const { job } = await app.jobs.start({
        kind: 'train',
        input: { datasetId: run.datasetId, splitId: run.splitId, name: `${run.name} (again)`, config: run.config, parentRunId: run.id },
      });
      if (job.runId === null) throw new AppError('internal', `Job ${job.id} started no run.`);
      return { runId: job.runId, jobId: job.id };
    },

    'runs.compare': async ({ runIds, evaluateMissing }) => {
      if (new Set(runIds).size !== runIds.length) throw new AppError('invalid-payload', 'Pick different runs to compare.');
      const runs = runIds.map((id) => getRun(db, id));
      const reasons = new Map<number, string>();
      const evaluations: Array<EvaluationSummary | null> = [];
      for (const run of runs) {
        let evaluation = latestTestEvaluation(db, run.id);
        if (!evaluation && evaluateMissing) {
          try {
            evaluation = await evaluate(run.id, {});
          } catch (error) {
            if (!(error instanceof AppError)) throw error;
            reasons.set(run.id, error.message);
          }
        }
        evaluations.push(evaluation);
      }
      const diffs: ImageDiff[] = [];
      for (let i = 1; i < runs.length; i++) diffs.push(await imageDiff(runs[0]!, runs[i]!, evaluations[0]!, evaluations[i]!, reasons));
      const comparison: RunComparison = {
        runs: runs.map((run) => {
          const { config: _config, classNames: _classNames, seed: _seed, dataHash: _dataHash, versions: _versions, parentRunId: _parent, ...summary } = run;
          return summary;
        }),
        metrics: runs.map((run, i) => metricsRow(run, evaluations[i]!)),
        configDiff: configDiff(runs.map((run) => run.config)),
        imageDiffs: diffs,
      };
      return comparison;
    },

    'runs.evaluate': async ({ runId, datasetId, folder }) => evaluate(runId, { datasetId, folder }),

    'runs.log': async ({ runId, afterSeq }) => {
      getRun(db, runId);
      return { lines: runLog(db, runId, afterSeq) };
    },

    'runs.exports': async ({ runId }) => {
      getRun(db, runId);
      return { exports: completedJobsOfRun(db, runId, 'export').map(runExportOf).filter((row): row is RunExport => row !== null) };
    },

    'runs.evaluations': async ({ runId }) => {
      getRun(db, runId);
      return { evaluations: listEvaluations(db, runId) };
    },

    'runs.evaluation': async ({ evaluationId }) => {
      const { filePredictions, ...evaluation } = getEvaluation(db, evaluationId);
      // A folder evaluation's files are not in the catalogue, so runs.misclassified cannot list them: answer them here.
      const fileMistakes = filePredictions
        .filter((prediction) => !prediction.correct)
        .sort((a, b) => b.loss - a.loss)
        .slice(0, FILE_MISTAKES_SHOWN);
      return { ...evaluation, fileMistakes };
    },

    'runs.misclassified': async ({ evaluationId, filter, threshold, limit }) => {
      const evaluation = getEvaluation(db, evaluationId);
      const classNames = evaluation.metrics.classNames;
      let rows: PredictionWithLabel[];
      if (filter === 'wrong') {
        rows = misclassifiedPredictions(db, evaluationId);
      } else {
        rows = correctPredictions(db, evaluationId).filter((p) => (p.probabilities[p.predictedIndex] ?? 0) < threshold);
      }
      const items: MisclassifiedItem[] = rows.slice(0, limit).map((p) => {
        const predictedIndex = p.predictedIndex;
        return {
          imageId: p.imageId,
          path: null,
          trueIndex: p.trueIndex,
          predictedIndex,
          probabilities: p.probabilities,
          confidence: p.probabilities[predictedIndex] ?? 0,
          loss: p.loss,
          correct: predictedIndex === p.trueIndex,
          trueClass: classNames[p.trueIndex] ?? String(p.trueIndex),
          predictedClass: classNames[predictedIndex] ?? String(predictedIndex),
          currentLabel: p.currentLabel,
        };
      });
      return { total: rows.length, classNames, items };
    },
  };
}
