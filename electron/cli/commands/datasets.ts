import type { Command, CommandContext, ParsedValues } from '../command';
import { UsageError } from '../command';
import type { DatasetSummary, ImportSummary, SplitInfo } from '../../../shared/contract/datasets';
import type { JobInput, JobProgress } from '../../../shared/contract/jobs';
import { count, etaText, runJob } from '../job-runner';
import type { Services } from '../../services/index';
import { AppError } from '../../../shared/errors';
import { terminalSafe } from '../terminal-text';

/** Class names with their counts, e.g. "cats 10, dogs 12": the names are folder names, so they are escaped. */
function classCounts(classes: Record<string, number>): string {
  return Object.entries(classes).map(([name, count]) => `${terminalSafe(name)} ${count}`).join(', ');
}

function stringFlag(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function fraction(values: ParsedValues, name: string, fallback: number): number {
  const text = stringFlag(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`--${name} must be a number from 0 to 1, not "${terminalSafe(text)}"`);
  return value;
}

function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one ${what}${positionals.length > 1 ? ` (got ${positionals.length})` : ''}`);
  return positionals[0]!;
}

/** An import's progress line: files looked at, rejected, speed and time left. */
function importLine(progress: JobProgress): string {
  const detail = progress.detail?.type === 'import' ? progress.detail : null;
  if (progress.phase === 'scanning') return `scanning: ${detail?.scanned ?? progress.done} files`;
  if (progress.phase === 'starting') return 'starting the import…';
  return `${count(progress)} files, ${detail?.rejected ?? 0} rejected, ${(detail?.imagesPerSecond ?? 0).toFixed(0)} images/s${etaText(progress)}`;
}

/** Runs an import job and waits for its end, printing throttled progress lines to stderr; answers its summary. */
async function importAndWait(services: Services, context: CommandContext, input: JobInput<'import'>): Promise<ImportSummary> {
  const { finished } = await runJob(services, context, async () => (await services.request('jobs.start', { kind: 'import', input })).job, { describe: importLine });
  const summary = finished.kind === 'import' ? finished.result : null;
  if (!summary) throw new AppError('failed', `Import failed: ${terminalSafe(finished.error ?? 'unknown error')}`);
  return summary;
}

function printImport(summary: ImportSummary, context: CommandContext): number {
  if (summary.status === 'failed') throw new AppError('failed', `Import failed: ${terminalSafe(summary.error ?? 'unknown error')}`);
  // datasetId lets a script chain `pawprint train <id>`; unchanged/missing say what a re-import found.
  const document = { datasetId: summary.datasetId, imported: summary.imported, unchanged: summary.unchanged, duplicates: summary.duplicates, missing: summary.missing, rejected: summary.rejected, classes: summary.classes };
  context.output(document, () => {
    const lines = [
      `${summary.status === 'cancelled' ? 'Cancelled after importing' : 'Imported'} ${summary.imported} new images (${summary.unchanged} unchanged, ${summary.duplicates} duplicates, ${summary.missing} missing) in ${summary.seconds.toFixed(1)} s into dataset ${summary.datasetId}.`,
      `Classes: ${classCounts(summary.classes) || 'none (no subfolders)'}`,
    ];
    if (summary.rejected.length > 0) {
      lines.push(`Rejected ${summary.rejected.length}:`);
      for (const file of summary.rejected) lines.push(`  ${terminalSafe(file.path)}: ${terminalSafe(file.reason)}`);
    }
    return lines.join('\n');
  });
  return summary.status === 'cancelled' ? 1 : 0;
}

const importCommand: Command = {
  name: 'import',
  summary: 'Import a folder of photos (one subfolder per class) into the catalogue',
  usage: 'pawprint import <folder> [--name N] [--json]',
  options: { name: { type: 'string', description: 'dataset name (default: the folder name; re-importing a folder updates its dataset)' } },
  async run({ positionals, values }, context) {
    const folder = onePositional(positionals, 'folder', 'import');
    const services = context.services();
    const summary = await importAndWait(services, context, { path: folder, name: stringFlag(values, 'name') });
    return printImport(summary, context);
  },
};

export function describeDataset(dataset: DatasetSummary): string {
  const c = dataset.counts;
  const classes = dataset.classes.map((cls) => `${terminalSafe(cls.name)} ${cls.count}`).join(', ') || 'no classes';
  const split = dataset.latestSplit ? `split ${dataset.latestSplit.id} (${dataset.latestSplit.counts.train}/${dataset.latestSplit.counts.val}/${dataset.latestSplit.counts.test})` : 'no split';
  return `${String(dataset.id).padStart(3)}  ${terminalSafe(dataset.name)}  ${c.ok} images (${c.unlabelled} unlabelled, ${c.rejected} rejected, ${c.duplicate} duplicates, ${c.missing} missing${c.excluded ? `, ${c.excluded} excluded` : ''})  ${classes}  ${split}\n     ${terminalSafe(dataset.rootPath)}`;
}

const datasetsCommand: Command = {
  name: 'datasets',
  summary: 'List the datasets in the catalogue',
  usage: 'pawprint datasets [--json]',
  options: {},
  async run({ positionals }, context) {
    if (positionals.length > 0) throw new UsageError('datasets takes no arguments');
    const list = await context.services().request('datasets.list', {});
    context.output(list, () => (list.length === 0 ? 'No datasets yet: run `pawprint import <folder>` or `pawprint download-tutorial`.' : list.map(describeDataset).join('\n')));
  },
};

function describeSplit(split: SplitInfo): string {
  const lines = [`Split ${split.id} (${split.method}, seed ${split.seed}): train ${split.counts.train}, val ${split.counts.val}, test ${split.counts.test}`];
  for (const [name, counts] of Object.entries(split.perClass)) lines.push(`  ${terminalSafe(name)}: ${counts.train}/${counts.val}/${counts.test}`);
  lines.push(`data hash ${split.dataHash}`);
  return lines.join('\n');
}

const splitCommand: Command = {
  name: 'split',
  summary: 'Make a seeded, stratified train/validation/test split of a dataset',
  usage: 'pawprint split <dataset> [--train 0.7 --val 0.2 --test 0.1] [--seed 1] [--preset tutorial] [--json]',
  options: {
    train: { type: 'string', description: 'training fraction (default 0.7)' },
    val: { type: 'string', description: 'validation fraction (default 0.2)' },
    test: { type: 'string', description: 'test fraction (default 0.1)' },
    seed: { type: 'string', description: 'random seed (default 1)' },
    preset: { type: 'string', description: '"tutorial": train/ stays train, 1/5 of validation/ becomes test' },
  },
  async run({ positionals, values }, context) {
    const ref = onePositional(positionals, 'dataset (id or name)', 'split');
    const preset = stringFlag(values, 'preset') ?? 'stratified';
    if (preset !== 'stratified' && preset !== 'tutorial') throw new UsageError(`--preset must be "tutorial" or "stratified", not "${terminalSafe(preset)}"`);
    const seedText = stringFlag(values, 'seed') ?? '1';
    if (!/^\d+$/.test(seedText)) throw new UsageError(`--seed must be a non-negative integer, not "${terminalSafe(seedText)}"`);
    const services = context.services();
    const dataset = await services.request('datasets.resolve', { ref });
    const split = await services.request('splits.create', {
      datasetId: dataset.id,
      preset,
      train: fraction(values, 'train', 0.7),
      val: fraction(values, 'val', 0.2),
      test: fraction(values, 'test', 0.1),
      seed: Number(seedText),
    });
    context.output(split, () => describeSplit(split));
  },
};

/** The download's line: megabytes received, then files extracted, then the import it starts. */
function downloadLine(progress: JobProgress): string {
  if (progress.phase === 'download') {
    const total = progress.total === null ? '' : ` of ${(progress.total / 1e6).toFixed(1)} MB`;
    return `download: ${(progress.done / 1e6).toFixed(1)} MB${total}`;
  }
  if (progress.phase === 'import') return 'importing the extracted images…';
  return `${progress.phase}: ${count(progress)}`;
}

const downloadCommand: Command = {
  name: 'download-tutorial',
  summary: 'Download the TensorFlow tutorial cats-vs-dogs data (68.6 MB) and import it',
  usage: 'pawprint download-tutorial [--json]',
  options: {},
  async run({ positionals }, context) {
    if (positionals.length > 0) throw new UsageError('download-tutorial takes no arguments');
    const services = context.services();
    const { finished } = await runJob(
      services, context, async () => (await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } })).job, { describe: downloadLine },
    );
    const result = finished.kind === 'download' ? finished.result : null;
    if (finished.status === 'failed') throw new AppError('unavailable', terminalSafe(finished.error ?? 'the download failed'));
    if (!result || result.importId === null) throw new AppError('cancelled', 'Cancelled.');
    return printImport(await services.request('datasets.importSummary', { importId: result.importId }), context);
  },
};

const labelsExportCommand: Command = {
  name: 'labels-export',
  summary: 'Export the labels of a dataset as a CSV file or as one folder per class',
  usage: 'pawprint labels-export <dataset> (--csv FILE | --folders DIR [--link]) [--json]',
  options: {
    csv: { type: 'string', description: 'write path,relative_path,label,subset,sha256 rows to FILE' },
    folders: { type: 'string', description: 'copy the images into DIR/<class>/ (DIR must be new or empty)' },
    link: { type: 'boolean', description: 'with --folders: symbolic links instead of copies' },
  },
  async run({ positionals, values }, context) {
    const ref = onePositional(positionals, 'dataset (id or name)', 'labels-export');
    const csv = stringFlag(values, 'csv');
    const folders = stringFlag(values, 'folders');
    if ((csv === undefined) === (folders === undefined)) throw new UsageError('give exactly one of --csv FILE or --folders DIR');
    if (values.link && folders === undefined) throw new UsageError('--link only applies to --folders');
    const services = context.services();
    const dataset = await services.request('datasets.resolve', { ref });
    if (csv !== undefined) {
      const result = await services.request('labels.exportCsv', { datasetId: dataset.id, file: csv });
      context.output(result, () => `Wrote ${result.rows} rows to ${terminalSafe(result.file)}`);
    } else {
      const result = await services.request('labels.exportFolders', { datasetId: dataset.id, directory: folders!, link: values.link === true });
      context.output(result, () => `${values.link ? 'Linked' : 'Copied'} ${result.files} images into ${terminalSafe(result.directory)} (${classCounts(result.classes)})`);
    }
  },
};

// CLI commands of the datasets domain.
export const datasetsCommands: Command[] = [importCommand, datasetsCommand, splitCommand, downloadCommand, labelsExportCommand];
