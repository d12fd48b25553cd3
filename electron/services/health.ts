// Data health (issue 15): health.run starts a health job; health.latest answers the dataset's newest report with its
// stale flag (labels or images changed since it was computed); health.exclude / include / excluded drop images from the
// dataset and bring them back without touching their files; health.suggestions answers suggested labels for unlabelled
// images from the embeddings (the report) or from the latest run, whose predictions health.predictUnlabelled starts.
import { AppError } from '../../shared/errors';
import { getDatasetRow } from '../catalogue/datasets';
import {
  excludedImages, excludeImages, healthSource, healthSuggestions, includeImages, latestHealthReport, runPredictionSuggestions, type RunPrediction,
} from '../catalogue/health';
import { listRuns } from '../catalogue/runs';
import { healthKind } from '../jobs/kinds/health';
import { MAX_PREDICTED_UNLABELLED, type HealthSuggestions, type SuggestionSource, type healthRequests } from '../../shared/contract/health';
import type { RunSummary } from '../../shared/contract/training';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

/** Images per batch of the prediction of unlabelled images (the predict job's own default is for a few Try-it files). */
const PREDICT_BATCH = 32;
/** How many recent predict jobs are looked through for the latest run's predictions. */
const PREDICT_JOBS_SEARCHED = 200;

/** The dataset's newest completed run that saved a model, or null. */
function latestModelRun(app: AppContext, datasetId: number): RunSummary | null {
  return listRuns(app.db, { datasetId, status: 'completed', limit: 50 }).find((run) => run.modelPath !== null) ?? null;
}

/**
 * The run's predictions of the dataset's unlabelled images: of the completed predict jobs of that run, the one that
 * covers the most images still unlabelled (the newest on a tie), so a Try-it of a photo or two with the same run does
 * not hide them.
 */
function runSuggestions(app: AppContext, datasetId: number, run: RunSummary): HealthSuggestions['suggestions'] | null {
  // Each candidate costs a walk of the dataset (runPredictionSuggestions): try the jobs with the most predictions first
  // (newest first on a tie) and stop once no job left could cover more images than the best so far.
  const candidates: Array<{ classNames: string[]; predictions: RunPrediction[] }> = [];
  for (const job of app.jobs.list({ kind: 'predict', limit: PREDICT_JOBS_SEARCHED })) {
    if (job.runId !== run.id || job.status !== 'completed') continue;
    const finished = app.jobs.get(job.id).finished;
    if (finished?.kind !== 'predict' || !finished.result) continue;
    const predictions = finished.result.results.flatMap((r) => (r.ok ? [{ path: r.path, probabilities: r.probabilities }] : []));
    candidates.push({ classNames: finished.result.model.classNames, predictions });
  }
  candidates.sort((a, b) => b.predictions.length - a.predictions.length);
  let best: HealthSuggestions['suggestions'] | null = null;
  for (const candidate of candidates) {
    if (best !== null && candidate.predictions.length <= best.length) break;
    const suggestions = runPredictionSuggestions(app.db, datasetId, candidate.classNames, candidate.predictions);
    if (best === null || suggestions.length > best.length) best = suggestions;
  }
  return best;
}

export function healthHandlers(app: AppContext): DomainHandlers<typeof healthRequests> {
  app.jobs.register(healthKind);
  return {
    'health.run': async (input) => {
      const { job } = await app.jobs.start({ kind: 'health', input });
      return { jobId: job.id };
    },
    'health.latest': async ({ datasetId }) => {
      getDatasetRow(app.db, datasetId);
      return { report: latestHealthReport(app.db, datasetId) };
    },
    // datasets.changed: the dataset's counts and grid change (excluded images leave them).
    'health.exclude': async ({ datasetId, imageIds, reason }) => {
      const excluded = excludeImages(app.db, datasetId, imageIds, reason);
      app.events.emit('datasets.changed', { datasetId });
      return { excluded };
    },
    'health.include': async ({ datasetId, imageIds }) => {
      const included = includeImages(app.db, datasetId, imageIds);
      app.events.emit('datasets.changed', { datasetId });
      return { included };
    },
    'health.excluded': async ({ datasetId }) => ({ images: excludedImages(app.db, datasetId) }),
    'health.suggestions': async ({ datasetId, source }) => {
      const fromEmbeddings = healthSuggestions(app.db, datasetId);
      const run = latestModelRun(app, datasetId);
      const fromRun = run ? runSuggestions(app, datasetId, run) : null;
      const runInfo = run ? { runId: run.id, name: run.name, predicted: fromRun?.length ?? null } : null;
      // By default the run's predictions while they still cover unlabelled images, else the embeddings'.
      const chosen: SuggestionSource | null = source ?? (fromRun?.length ? 'run' : fromEmbeddings.source ?? (fromRun ? 'run' : null));
      if (chosen === 'run') {
        return { source: fromRun === null ? null : 'run', reportId: fromEmbeddings.reportId, stale: false, suggestions: fromRun ?? [], embeddings: fromEmbeddings.embeddings, run: runInfo };
      }
      return { ...fromEmbeddings, run: runInfo };
    },
    'health.predictUnlabelled': async ({ datasetId }) => {
      const dataset = getDatasetRow(app.db, datasetId);
      const run = latestModelRun(app, datasetId);
      if (!run) throw new AppError('conflict', `Dataset "${dataset.name}" has no finished run with a saved model; train one in the Train view first.`);
      const unlabelled = healthSource(app.db, datasetId).images.filter((image) => image.label < 0);
      if (unlabelled.length === 0) throw new AppError('conflict', `Every usable image of "${dataset.name}" is labelled: there is nothing to suggest a label for.`);
      const chosen = unlabelled.slice(0, MAX_PREDICTED_UNLABELLED);
      const { job } = await app.jobs.start({
        kind: 'predict',
        input: { model: { runId: run.id }, images: chosen.map((image) => ({ path: image.path })), batchSize: PREDICT_BATCH },
      });
      return { jobId: job.id, runId: run.id, images: chosen.length, unlabelled: unlabelled.length };
    },
  };
}
