// The health job (issue 15): a dataset's usable images are embedded by the frozen base and analysed in a worker
// (embed-health task: feature cache, extraction threads, then label issues, near-duplicates, outliers, class figures);
// the report is stored here in one write with the fingerprint of the labels it was computed on. Lane cpu: it waits
// behind a training run, told its position. A cancelled job stores nothing (finished embeddings stay cached).
import { AppError } from '../../../shared/errors';
import type { HealthCounts } from '../../../shared/contract/health';
import { getDatasetRow } from '../../catalogue/datasets';
import { healthSource, mapKeyOf, reusableMap, saveHealthReport, type StoredHealthReport } from '../../catalogue/health';
import { DEFAULT_HEALTH_OPTIONS, type HealthOptions } from '../../health/analysis';
import { chooseHealthBase } from '../../health/base';
import type { JobKindSpec } from '../kind';

/** The bundled backbone's size; features at 224 px are what its cache holds. */
const IMAGE_SIZE = 224;
/** Fewer and nothing is worth comparing. */
const MIN_IMAGES = 3;

export interface HealthState { datasetId: number; basePath: string | null }

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

const cancelled = () => new AppError('cancelled', 'The health check was cancelled; nothing was stored (finished embeddings are cached).');

export const healthKind: JobKindSpec<'health', HealthState> = {
  kind: 'health',
  lane: () => 'cpu',
  async prepare({ db }, input) {
    const dataset = getDatasetRow(db, input.datasetId);
    const basePath = chooseHealthBase(input.base);
    const source = healthSource(db, dataset.id);
    if (source.images.length < MIN_IMAGES) {
      throw new AppError('conflict', `Dataset "${dataset.name}" has ${source.images.length} usable image${source.images.length === 1 ? '' : 's'}; a health check needs at least ${MIN_IMAGES}. Import images first.`);
    }
    return {
      title: `Health of "${dataset.name}"`,
      datasetId: dataset.id,
      exclusiveKey: `health:dataset:${dataset.id}`,
      state: { datasetId: dataset.id, basePath },
    };
  },
  async run(ctx, state, input) {
    const started = performance.now();
    // Read now that the job is admitted: labels may have changed while it waited.
    const source = healthSource(ctx.db, state.datasetId);
    const options: HealthOptions = { ...DEFAULT_HEALTH_OPTIONS, folds: input.folds, seed: input.seed };
    ctx.progress({ phase: 'starting', done: 0, total: source.images.length, etaSeconds: null, message: `${source.images.length} images`, detail: null });
    // The map depends on the embeddings only: a run on the same images, base and seed (a relabel since) takes the last one.
    const mapKey = mapKeyOf(source.images, state.basePath, options.seed);
    const map = reusableMap(ctx.db, state.datasetId, mapKey, source.images.map((image) => image.imageId));
    const answer = await ctx.worker('embed-health', {
      basePath: state.basePath,
      imageSize: IMAGE_SIZE,
      images: source.images.map((image) => ({ path: image.path, contentHash: image.contentHash, label: image.label, subset: image.subset })),
      classNames: source.classNames,
      options,
      map,
    });
    if (ctx.signal.aborted) throw cancelled();
    const { analysis } = answer;
    const idOf = (index: number) => source.images[index].imageId;
    const counts: HealthCounts = {
      labelIssues: analysis.labelIssues.filter((issue) => issue.flagged).length,
      nearDuplicateGroups: analysis.nearDuplicates.length,
      nearDuplicateImages: analysis.nearDuplicates.reduce((n, g) => n + g.indices.length, 0),
      leakingGroups: analysis.nearDuplicates.filter((g) => g.crossesSplits).length,
      outliers: analysis.outliers.length,
    };
    const seconds = (performance.now() - started) / 1000;
    const stored: StoredHealthReport = {
      base: answer.base,
      folds: options.folds,
      seed: options.seed,
      imageCount: source.images.length,
      labelledCount: source.images.filter((image) => image.label >= 0).length,
      counts,
      labelIssues: analysis.labelIssues.map((issue) => ({
        imageId: idOf(issue.index), given: source.classNames[issue.label], suggested: source.classNames[issue.suggested],
        score: issue.score, selfConfidence: issue.selfConfidence, flagged: issue.flagged,
      })),
      // Four decimals of a coordinate are finer than any screen; 20,000 points stay about 0.6 MB of JSON.
      map: analysis.map.map((point) => ({ imageId: idOf(point.index), x: round4(point.x), y: round4(point.y) })),
      mapMethod: analysis.mapMethod,
      mapKey,
      suggestions: analysis.suggestions.map((s) => ({
        imageId: idOf(s.index), suggested: source.classNames[s.suggested], confidence: round4(s.confidence), margin: round4(s.margin),
      })),
      nearDuplicates: analysis.nearDuplicates.map((g) => ({ imageIds: g.indices.map(idOf), similarity: g.similarity, crossesSplits: g.crossesSplits })),
      outliers: analysis.outliers.map((o) => ({ imageId: idOf(o.index), score: o.score })),
      classes: analysis.classes,
      imbalanceRatio: analysis.imbalanceRatio,
      outOfFoldAccuracy: analysis.outOfFoldAccuracy,
      duplicateThreshold: options.duplicateThreshold,
      outlierThreshold: Number.isFinite(analysis.outlierThreshold) ? analysis.outlierThreshold : 0,
      seconds: { features: answer.features.seconds, head: analysis.timings.headSeconds, similarity: analysis.timings.similaritySeconds, total: seconds },
      features: { fromCache: answer.features.fromCache, computed: answer.features.computed },
    };
    ctx.progress({ phase: 'saving', done: source.images.length, total: source.images.length, etaSeconds: 0, message: null, detail: null });
    const reportId = saveHealthReport(ctx.db, {
      datasetId: state.datasetId, jobId: ctx.id, labelsFingerprint: source.labelsFingerprint,
      options: { ...options, base: state.basePath, imageSize: IMAGE_SIZE }, stored,
    });
    ctx.log('info', `health: ${counts.labelIssues} label issues, ${counts.nearDuplicateGroups} near-duplicate groups (${counts.leakingGroups} across splits), ${counts.outliers} outliers`);
    return { datasetId: state.datasetId, reportId, counts, seconds };
  },
};
