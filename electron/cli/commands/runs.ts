import type { Command } from '../command';
import { UsageError } from '../command';
import { resolveRun } from './run-ref';
import type { Result } from '../../../shared/contract/index';
import type { RunSummary } from '../../../shared/contract/training';
import { terminalSafe } from '../terminal-text';
import { count, followOwnJobs } from '../job-runner';

// CLI commands of the runs domain: list runs, compare them, evaluate one. Everything goes through the services
// facade, so the numbers are the ones the UI shows.

const pct = (value: number | null | undefined) => (value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)}%`);
const num = (value: number | null | undefined, digits = 3) => (value === null || value === undefined ? '-' : value.toFixed(digits));
const seconds = (ms: number | null) => (ms === null ? '-' : ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);

/** Aligned columns; every cell is escaped first (names, tags, class names and paths come from users). */
function table(rawHeader: string[], rawRows: string[][]): string {
  const header = rawHeader.map(terminalSafe);
  const rows = rawRows.map((row) => row.map(terminalSafe));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function runsTable(runs: RunSummary[]): string {
  if (runs.length === 0) return 'No runs yet: train one with `pawprint train`.';
  return table(
    ['id', 'name', 'preset', 'status', 'epochs', 'best val acc', 'test acc', 'duration', 'backend', 'created', 'tags'],
    runs.map((run) => [
      String(run.id), run.name, run.preset, run.status, `${run.epochsDone}/${run.epochsPlanned}`, pct(run.bestValAccuracy),
      pct(run.testAccuracy), seconds(run.durationMs), run.backend ?? '-', run.createdAt.slice(0, 16).replace('T', ' '), run.tags.join(', '),
    ]),
  );
}

const runsCommand: Command = {
  name: 'runs',
  summary: 'List training runs with their status and accuracy',
  usage: 'pawprint runs [--dataset D] [--status S] [--json]',
  options: {
    dataset: { type: 'string', description: 'only runs of this dataset (id or name)' },
    status: { type: 'string', description: 'only runs with this status (queued, running, completed, cancelled, failed)' },
  },
  async run({ positionals, values }, context) {
    if (positionals.length > 0) throw new UsageError(`runs takes no arguments (got "${terminalSafe(positionals[0]!)}")`);
    const services = context.services();
    const datasetId = typeof values.dataset === 'string' ? (await services.request('datasets.resolve', { ref: values.dataset })).id : undefined;
    const { runs } = await services.request('runs.list', { datasetId, status: values.status, limit: 10000 });
    context.output({ runs }, () => runsTable(runs));
  },
};

function describeComparison(comparison: Result<'runs.compare'>): string {
  const lines: string[] = [];
  lines.push(
    table(
      ['run', 'name', 'preset', 'epochs', 'best val acc', 'final acc', 'final val acc', 'final val loss', 'test acc', 'test loss', 'ECE', 'duration', 'backend'],
      comparison.metrics.map((row) => [
        String(row.runId), row.name, row.preset, String(row.epochs), pct(row.bestValAccuracy), pct(row.finalAccuracy), pct(row.finalValAccuracy),
        num(row.finalValLoss), pct(row.testAccuracy), num(row.testLoss), num(row.expectedCalibrationError), seconds(row.durationMs), row.backend ?? '-',
      ]),
    ),
  );
  lines.push('', 'Config differences:');
  if (comparison.configDiff.length === 0) lines.push('  none: the runs share every setting');
  else {
    lines.push(
      table(
        ['field', ...comparison.metrics.map((row) => `run ${row.runId}`)],
        comparison.configDiff.map((d) => [d.path, ...d.values.map((v) => (v === null ? '(absent)' : JSON.stringify(v)))]),
      ).replace(/^/gm, '  '),
    );
  }
  for (const diff of comparison.imageDiffs) {
    lines.push('', `Test images, run ${diff.runB} against run ${diff.runA}:`);
    if (diff.unavailable) {
      lines.push(`  not available: ${terminalSafe(diff.unavailable)}`);
      continue;
    }
    lines.push(
      `  ${diff.shared} shared images: ${diff.fixedByB.length} right only in run ${diff.runB}, ${diff.brokenByB.length} right only in run ${diff.runA}, ${diff.bothRight} both right, ${diff.bothWrong} both wrong`,
    );
    const show = (label: string, items: typeof diff.fixedByB) => {
      if (items.length === 0) return;
      lines.push(`  ${label}:`);
      for (const item of items.slice(0, 10)) {
        lines.push(`    image ${item.imageId} (${terminalSafe(item.trueClass)}): run ${diff.runA} said ${terminalSafe(item.predictedA)} ${pct(item.confidenceA)}, run ${diff.runB} said ${terminalSafe(item.predictedB)} ${pct(item.confidenceB)}`);
      }
      if (items.length > 10) lines.push(`    … and ${items.length - 10} more (--json lists all)`);
    };
    show(`right in run ${diff.runB}, wrong in run ${diff.runA}`, diff.fixedByB);
    show(`right in run ${diff.runA}, wrong in run ${diff.runB}`, diff.brokenByB);
  }
  return lines.join('\n');
}

const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare 2 to 4 runs: metrics, config differences, per-image differences on the test split',
  usage: 'pawprint compare <run> <run> [<run> <run>] [--no-evaluate] [--json]',
  options: {
    'no-evaluate': { type: 'boolean', description: 'do not evaluate runs that have no stored test-split evaluation' },
  },
  async run({ positionals, values }, context) {
    if (positionals.length < 2 || positionals.length > 4) throw new UsageError('compare takes 2 to 4 runs (ids or names)');
    const runIds: number[] = [];
    for (const ref of positionals) runIds.push(await resolveRun(context, ref));
    const comparison = await context.services().request('runs.compare', { runIds, evaluateMissing: values['no-evaluate'] !== true });
    context.output(comparison, () => describeComparison(comparison));
  },
};

function describeEvaluation(evaluation: Result<'runs.evaluate'>): string {
  const { metrics } = evaluation;
  const where = evaluation.source === 'folder' ? `folder ${terminalSafe(evaluation.folder ?? '')}` : evaluation.source === 'dataset' ? `dataset ${evaluation.datasetId}` : 'its test split';
  const lines = [
    `Run ${evaluation.runId} on ${where}: ${metrics.count} images, accuracy ${pct(metrics.accuracy)}, loss ${num(metrics.loss, 4)}, ECE ${num(metrics.calibration.expectedCalibrationError)}`,
    '',
    'Confusion matrix (rows: true class, columns: predicted):',
    table(['', ...metrics.classNames], metrics.confusionMatrix.map((row, i) => [metrics.classNames[i]!, ...row.map(String)])).replace(/^/gm, '  '),
    '',
    table(
      ['class', 'precision', 'recall', 'F1', 'support'],
      metrics.perClass.map((c) => [c.className, c.precisionUndefined ? '- (never predicted)' : pct(c.precision), pct(c.recall), pct(c.f1), String(c.support)]),
    ),
  ];
  if (evaluation.errors.length > 0) {
    lines.push('', `${evaluation.errors.length} file(s) could not be read and are not counted:`);
    for (const error of evaluation.errors.slice(0, 10)) lines.push(`  ${terminalSafe(error.path)}: ${terminalSafe(error.message)}`);
  }
  lines.push('', `Stored as evaluation ${evaluation.id}; --json adds every per-image prediction.`);
  return lines.join('\n');
}

const evalCommand: Command = {
  name: 'eval',
  summary: "Evaluate a run's model on its test split, another dataset, or a folder of class subfolders",
  usage: 'pawprint eval <run> [--dataset D | --folder PATH] [--json]',
  options: {
    dataset: { type: 'string', description: "every labelled image of this dataset (id or name; the run's own dataset means its test split)" },
    folder: { type: 'string', description: 'evaluate on PATH/<class>/<images> without importing it' },
  },
  async run({ positionals, values }, context) {
    if (positionals.length !== 1) throw new UsageError('eval takes one run (id or name)');
    if (values.dataset !== undefined && values.folder !== undefined) throw new UsageError('give --dataset or --folder, not both');
    const services = context.services();
    const runId = await resolveRun(context, positionals[0]!);
    const datasetId = typeof values.dataset === 'string' ? (await services.request('datasets.resolve', { ref: values.dataset })).id : undefined;
    const folder = typeof values.folder === 'string' ? values.folder : undefined;
    // runs.evaluate starts an evaluate job and waits for it (its answer adds every prediction); the job reports progress.
    const off = followOwnJobs(services, context, 'evaluate', (progress) =>
      progress.phase === 'evaluating' ? `predicting: ${count(progress)} images` : progress.phase === 'starting' ? null : `${progress.phase}…`);
    try {
      const evaluation = await services.request('runs.evaluate', { runId, datasetId, folder });
      context.output(evaluation, () => describeEvaluation(evaluation));
    } finally {
      off();
    }
  },
};

export const runsCommands: Command[] = [runsCommand, compareCommand, evalCommand];
