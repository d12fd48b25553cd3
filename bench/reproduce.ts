// `npm run reproduce -- <dataset> [--epochs N] [--sample N] [--db FILE] [--backend auto|wasm|cpu|node] [--presets ...] [--base DIR]
//   [--seeds 1,2,3] [--concurrent]`
// Trains the tutorial's three CNN presets (cnn, cnn-augment, cnn-normalize) with the tutorial's settings (160x160,
// Adam 1e-3, batch 32, 20 epochs) through the same services and worker process as the app, and prints a table
// beside the tutorial's figures. `--presets ...,mobilenetv2` adds the transfer model (its preset's settings), on the
// base given by --base (a model folder, e.g. ../shared/models/mobilenet-v2-0.35-224-teachable-machine, alpha 0.35)
// or the app's default. <dataset> is a dataset of the catalogue (name or id) or a folder of class
// subfolders (imported into a throwaway catalogue, split 70/20/10 stratified, seed 1). --epochs shortens the runs
// (the table then says so); --sample N uses only the first N images of each class of a folder (a quick check).
// --seeds trains each preset once per training seed (the split stays at seed 1) and adds each preset's mean and
// spread: one seed's figure moves by a few of the 400/200 photos when only the order of a sum changes, so comparing two
// builds' accuracy needs several seeds. --concurrent queues every run at once; the job runtime then runs
// PAWPRINT_CPU_JOBS of them together, each on its share of the cores (times are then not those of a lone run).
// Writes bench-results/reproduce.json. Without arguments it prints this usage and exits (so `npm run bench` skips it).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServices } from '../electron/services/index';
import { importFolder, trainRun } from './_jobs';
import { resolvePaths } from '../electron/paths';
import { printTable } from './_table';
import { PIXEL_RULE_VERSION } from '../electron/imaging/image-policy';
import type { EventPayload, RunDetail } from '../shared/contract/index';

const TUTORIAL: Record<string, { valAccuracy: string; note: string }> = {
  cnn: { valAccuracy: '~60%', note: 'overfits: training accuracy climbs far above validation' },
  'cnn-augment': { valAccuracy: '60-65%', note: 'flips + rotations narrow the gap' },
  'cnn-normalize': { valAccuracy: '~70%', note: 'inputs scaled to [-1,1]' },
  mobilenetv2: { valAccuracy: '~95-97%', note: 'transfer learning (tutorial: alpha 1.00 base)' },
};
const PRESETS = ['cnn', 'cnn-augment', 'cnn-normalize', 'mobilenetv2'] as const;
const DEFAULT_PRESETS = ['cnn', 'cnn-augment', 'cnn-normalize'];

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    epochs: { type: 'string' },
    sample: { type: 'string' },
    db: { type: 'string' },
    backend: { type: 'string' },
    presets: { type: 'string' },
    base: { type: 'string' },
    out: { type: 'string' },
    seeds: { type: 'string' },
    concurrent: { type: 'boolean' },
  },
});

if (positionals.length !== 1) {
  console.log('usage: npm run reproduce -- <dataset name|id|folder> [--epochs N] [--sample N] [--db FILE] [--backend auto|wasm|cpu|node] [--presets cnn,cnn-augment,cnn-normalize,mobilenetv2] [--base MODEL_FOLDER] [--seeds 1,2,3] [--concurrent]');
  console.log('(skipped: no dataset given)');
  process.exit(0);
}

const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1)) throw new Error(`--epochs must be a whole number >= 1, not ${values.epochs}`);
const sample = values.sample === undefined ? undefined : Number(values.sample);
const backend = values.backend ?? 'auto';
const presets = values.presets ? values.presets.split(',').map((p) => p.trim()) : DEFAULT_PRESETS;
// The shared backbone is alpha 0.35; any other base is taken at the preset's alpha unless its folder name says 0.35.
const base = values.base === undefined ? undefined : resolve(values.base);
const baseAlpha = base && /0\.35/.test(basename(base)) ? 0.35 : undefined;
for (const preset of presets) if (!(PRESETS as readonly string[]).includes(preset)) throw new Error(`unknown preset ${preset}`);
// Training seeds; undefined: the preset's default seed, one run each.
const seeds = values.seeds === undefined ? [undefined] : values.seeds.split(',').map((text) => {
  const seed = Number(text.trim());
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`--seeds takes whole numbers 0-4294967295 separated by commas, not "${values.seeds}"`);
  return seed;
});

/** Mean and sample standard deviation of the known figures; null when none is known. */
function meanAndSd(figures: Array<number | null | undefined>): { mean: number; sd: number } | null {
  const known = figures.filter((v): v is number => typeof v === 'number');
  if (known.length === 0) return null;
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  const sd = known.length > 1 ? Math.sqrt(known.reduce((a, b) => a + (b - mean) ** 2, 0) / (known.length - 1)) : 0;
  return { mean, sd };
}

/** A folder of copies of the first `n` images of each class folder (the importer never follows a link out of the folder). */
function sampleFolder(source: string, n: number, into: string): string {
  for (const cls of readdirSync(source)) {
    const dir = join(source, cls);
    if (!statSync(dir).isDirectory()) continue;
    mkdirSync(join(into, cls), { recursive: true });
    for (const file of readdirSync(dir).filter((f) => /\.(jpe?g|png|webp|gif|bmp|tiff?)$/i.test(f)).sort().slice(0, n)) {
      copyFileSync(join(dir, file), join(into, cls, file));
    }
  }
  return into;
}

const target = positionals[0];
let isFolder = false;
try {
  isFolder = statSync(target).isDirectory();
} catch {
  isFolder = false;
}
const scratch = isFolder ? mkdtempSync(join(tmpdir(), 'pawprint-reproduce-')) : null;
const paths = values.db ? resolvePaths({ db: values.db }) : scratch ? resolvePaths({ db: join(scratch, 'catalogue.db'), env: {} }) : resolvePaths();
const services = createServices({ paths, host: { kind: 'web' } });

try {
  let datasetId: number;
  let datasetLabel: string;
  if (isFolder) {
    const folder = sample ? sampleFolder(resolve(target), sample, join(scratch!, 'sample')) : resolve(target);
    const started = Date.now();
    const summary = await importFolder(services, { path: folder, name: basename(resolve(target)) });
    const id = summary.datasetId;
    await services.request('splits.create', { datasetId: id, preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 });
    console.error(`imported ${summary.imported} images from ${folder} in ${((Date.now() - started) / 1000).toFixed(1)} s; split 70/20/10`);
    datasetId = id;
    datasetLabel = `${resolve(target)}${sample ? ` (first ${sample} per class)` : ''}`;
  } else {
    const dataset = await services.request('datasets.resolve', { ref: target });
    datasetId = dataset.id;
    datasetLabel = `${dataset.name} (catalogue ${paths.databasePath})`;
  }

  interface Result { preset: string; seed: number | undefined; run: RunDetail; seconds: number }
  const runsToTrain: Array<{ preset: string; seed: number | undefined }> = presets.flatMap((preset) => seeds.map((seed) => ({ preset, seed })));
  const labelOf = new Map<number, string>();
  const off = services.app.events.onAny((name, payload) => {
    if (name !== 'training.epoch') return;
    const m = payload as EventPayload<'training.epoch'>;
    console.error(`${labelOf.get(m.runId) ?? `run ${m.runId}`} epoch ${m.epoch}: loss ${m.loss?.toFixed(4)} acc ${((m.accuracy ?? 0) * 100).toFixed(1)}% val_acc ${((m.valAccuracy ?? 0) * 100).toFixed(1)}% (${(m.durationMs / 1000).toFixed(1)} s)`);
  });
  const trainOne = async ({ preset, seed }: { preset: string; seed: number | undefined }): Promise<Result> => {
    const config: Record<string, unknown> = { preset, backend };
    if (epochs !== undefined) config.epochs = epochs;
    if (seed !== undefined) config.seed = seed;
    if (preset === 'mobilenetv2' && base) config.mobilenet = { baseSource: base, ...(baseAlpha ? { alpha: baseAlpha } : {}) };
    const label = seed === undefined ? preset : `${preset} seed ${seed}`;
    // A queued run's time starts when it leaves the queue, not when it was queued.
    let t0: number | null = null;
    const done = await trainRun(services, { datasetId, name: `reproduce ${label}`, config }, {
      progress(progress) {
        if (progress.phase !== 'queued') t0 ??= Date.now();
        if (progress.detail?.type === 'train') labelOf.set(progress.detail.runId, label);
      },
    });
    const run = await services.request('runs.get', { runId: done.runId });
    if (done.status !== 'completed') console.error(`${label}: ${done.status} ${done.error ?? ''}`);
    return { preset, seed, run, seconds: (Date.now() - (t0 ?? Date.now())) / 1000 };
  };
  const wholeStarted = Date.now();
  const results: Result[] = [];
  try {
    if (values.concurrent) results.push(...await Promise.all(runsToTrain.map(trainOne)));
    else for (const item of runsToTrain) results.push(await trainOne(item));
  } finally {
    off();
  }
  const wholeMinutes = (Date.now() - wholeStarted) / 60_000;

  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);
  const planned = results[0]?.run.config.epochs ?? 20;
  const shortened = epochs !== undefined && epochs !== 20;
  console.log(`\nReproducing the tutorial on ${datasetLabel}`);
  console.log(`Pixels: the resize recipe of pixel rule ${PIXEL_RULE_VERSION} (bilinear, half-pixel centres, no antialias)${base ? `; mobilenetv2 base ${base}` : ''}`);
  console.log(`Settings: 160x160, Adam 1e-3, batch 32, ${planned} epochs${shortened ? ` (SHORTENED from the tutorial's 20: figures are not comparable)` : ''}, backend ${results[0]?.run.backend ?? backend}`);
  const header = ['preset', 'seed', 'epochs', 'final train acc', 'final val acc', 'val acc at best epoch*', 'test acc', 'tutorial val acc', 'minutes', 's/epoch', 'status'];
  const rows = results.map(({ preset, run, seconds }) => {
    const last = run.epochs.at(-1);
    return [
      preset, String(run.config.seed), String(run.epochs.length), pct(last?.accuracy), pct(last?.valAccuracy), `${pct(run.bestValAccuracy)} (${run.bestEpoch ?? '-'})`,
      pct(run.testAccuracy), TUTORIAL[preset].valAccuracy, (seconds / 60).toFixed(1), run.epochs.length ? (seconds / run.epochs.length).toFixed(1) : '-', run.status,
    ];
  });
  printTable(header, rows);
  console.log('* the best epoch is the one with the lowest val_loss; its weights are the saved model that "test acc" evaluates.');
  const spreads = seeds.length > 1 ? presets.map((preset) => {
    const mine = results.filter((r) => r.preset === preset && r.run.status === 'completed');
    return { preset, runs: mine.length, val: meanAndSd(mine.map((r) => r.run.bestValAccuracy)), test: meanAndSd(mine.map((r) => r.run.testAccuracy)) };
  }) : [];
  if (spreads.length > 0) {
    const both = (m: { mean: number; sd: number } | null) => (m === null ? '-' : `${(m.mean * 100).toFixed(1)}% ± ${(m.sd * 100).toFixed(1)}`);
    console.log('\nOver the seeds (mean ± sample standard deviation, completed runs):');
    printTable(['preset', 'runs', 'val acc at best epoch', 'test acc'], spreads.map((s) => [s.preset, String(s.runs), both(s.val), both(s.test)]));
  }
  console.log(`\nWhole reproduce: ${wholeMinutes.toFixed(1)} minutes${values.concurrent ? ` (runs queued together, ${process.env.PAWPRINT_CPU_JOBS ?? 1} at a time)` : ''}.`);

  mkdirSync('bench-results', { recursive: true });
  writeFileSync(values.out ?? 'bench-results/reproduce.json', JSON.stringify({
    dataset: datasetLabel,
    pixelRuleVersion: PIXEL_RULE_VERSION,
    base: base ?? null,
    shortened,
    epochs: planned,
    tutorial: TUTORIAL,
    concurrent: values.concurrent === true,
    cpuJobs: Number(process.env.PAWPRINT_CPU_JOBS ?? 1),
    wholeMinutes,
    spreads,
    results: results.map(({ preset, run, seconds }) => ({
      preset, seed: run.config.seed, runId: run.id, status: run.status, error: run.error, backend: run.backend, versions: run.versions, seconds,
      bestEpoch: run.bestEpoch, bestValAccuracy: run.bestValAccuracy, testAccuracy: run.testAccuracy, testLoss: run.testLoss, epochs: run.epochs,
    })),
  }, null, 2));
  console.log(`\nwrote ${values.out ?? 'bench-results/reproduce.json'}`);
} finally {
  await services.close();
  if (scratch && !values.db) rmSync(scratch, { recursive: true, force: true });
}
