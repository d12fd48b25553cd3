import { AppError } from '../../../shared/errors';
import type { HealthReport } from '../../../shared/contract/health';
import type { Command } from '../command';
import { UsageError } from '../command';
import { count, etaText, runJob } from '../job-runner';
import { terminalSafe } from '../terminal-text';

// `pawprint health DATASET`: runs a health job (issue 15) and prints its report: likely label errors (most likely
// first), near-duplicate groups (and those across splits), outliers and per-class figures. --json prints the shape the
// issue gives: { labelIssues: [{ path, label, suggested, score }], nearDuplicates: [{ paths, similarity }],
// outliers: [{ path, score }], classes: { name: {...} } }.

export function healthJson(report: HealthReport) {
  return {
    datasetId: report.datasetId,
    reportId: report.id,
    stale: report.stale,
    // flagged: confident learning's per-class thresholds call it wrong; the list goes on with unflagged suspects.
    labelIssues: report.labelIssues.map((issue) => ({ path: issue.image.path, label: issue.given, suggested: issue.suggested, score: issue.score, flagged: issue.flagged })),
    nearDuplicates: report.nearDuplicates.map((group) => ({ paths: group.images.map((image) => image.path), similarity: group.similarity, crossesSplits: group.crossesSplits })),
    outliers: report.outliers.map((outlier) => ({ path: outlier.image.path, score: outlier.score })),
    classes: Object.fromEntries(report.classes.map((c) => [c.name, {
      count: c.count, share: c.share, labelIssues: c.labelIssues, meanSelfConfidence: c.meanSelfConfidence, outOfFoldAccuracy: c.outOfFoldAccuracy,
    }])),
    imbalanceRatio: report.imbalanceRatio,
    outOfFoldAccuracy: report.outOfFoldAccuracy,
    seconds: report.seconds.total,
  };
}

function describe(report: HealthReport): string {
  const shown = 20;
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
  const lines = [
    `${report.imageCount} images (${report.labelledCount} labelled), ${report.folds} folds, out-of-fold accuracy ${pct(report.outOfFoldAccuracy)}, ${report.seconds.total.toFixed(1)} s`,
    `${report.counts.labelIssues} likely label errors, ${report.counts.nearDuplicateGroups} near-duplicate groups (${report.counts.leakingGroups} across splits), ${report.counts.outliers} outliers`,
    '',
    'Classes:',
    ...report.classes.map((c) => `  ${terminalSafe(c.name)}: ${c.count} (${pct(c.share)}), label quality ${c.meanSelfConfidence.toFixed(2)}, ${c.labelIssues} flagged`),
  ];
  // The header counts the flagged issues; the unflagged suspects that continue the ranking are only mentioned.
  const flagged = report.labelIssues.filter((issue) => issue.flagged);
  const suspects = report.labelIssues.length - flagged.length;
  if (flagged.length) {
    lines.push('', 'Likely label errors (most likely first):');
    for (const issue of flagged.slice(0, shown)) {
      lines.push(`  ${issue.score.toFixed(3)}  ${terminalSafe(issue.image.relPath)}: ${terminalSafe(issue.given)} -> ${terminalSafe(issue.suggested)}?`);
    }
    if (flagged.length > shown) lines.push(`  … and ${flagged.length - shown} more (--json lists all)`);
  }
  if (suspects > 0) lines.push(`  ${suspects} more images the model puts in another class, below the flagging threshold (--json, "flagged": false)`);
  if (report.nearDuplicates.length) {
    lines.push('', 'Near-duplicates:');
    for (const group of report.nearDuplicates.slice(0, shown)) {
      lines.push(`  ${group.similarity.toFixed(3)}${group.crossesSplits ? ' (across splits)' : ''}  ${group.images.map((image) => terminalSafe(image.relPath)).join(', ')}`);
    }
    if (report.nearDuplicates.length > shown) lines.push(`  … and ${report.nearDuplicates.length - shown} more groups`);
  }
  if (report.outliers.length) {
    lines.push('', 'Outliers:');
    for (const outlier of report.outliers.slice(0, shown)) lines.push(`  ${outlier.score.toFixed(3)}  ${terminalSafe(outlier.image.relPath)}`);
  }
  return lines.join('\n');
}

export const healthCommand: Command = {
  name: 'health',
  summary: 'Find likely label errors, near-duplicates and outliers in a dataset',
  usage: 'pawprint health <dataset> [--base PATH] [--folds K] [--json]',
  options: {
    base: { type: 'string', description: 'MobileNetV2 base: a TF.js model folder, model.json or Keras .h5 (default: the bundled alpha 0.35 backbone)' },
    folds: { type: 'string', description: 'folds of out-of-fold prediction, 2 to 20 (default 5)' },
  },
  async run({ positionals, values }, context) {
    if (positionals.length !== 1) throw new UsageError('health takes one dataset (id or name)');
    let folds: number | undefined;
    if (values.folds !== undefined) {
      folds = Number(values.folds);
      if (!Number.isInteger(folds) || folds < 2 || folds > 20) throw new UsageError(`--folds must be a whole number from 2 to 20 (got "${terminalSafe(String(values.folds))}")`);
    }
    const services = context.services();
    const dataset = await services.request('datasets.resolve', { ref: positionals[0]! });
    const base = typeof values.base === 'string' ? values.base : undefined;
    const { finished } = await runJob(services, context, async () => {
      const { jobId } = await services.request('health.run', { datasetId: dataset.id, base, folds });
      return services.app.jobs.get(jobId).job;
    }, {
      describe: (progress) => progress.phase === 'starting' ? null : `${progress.phase}: ${count(progress)}${progress.message ? ` (${progress.message})` : ''}${etaText(progress)}`,
      cancelNotice: 'cancelling the health check (finished embeddings stay cached)…',
    });
    if (finished.status === 'cancelled') {
      context.log('health check cancelled; nothing stored');
      return 130;
    }
    if (finished.status === 'failed') throw new AppError('failed', `health check failed: ${terminalSafe(finished.error ?? 'unknown error')}`);
    const { report } = await services.request('health.latest', { datasetId: dataset.id });
    if (!report) throw new AppError('failed', 'the health check finished but stored no report');
    context.output(healthJson(report), () => describe(report));
  },
};
