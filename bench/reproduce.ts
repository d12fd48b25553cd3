// `npm run reproduce -- <dataset> [--epochs N] [--sample N] [--db FILE] [--backend auto|wasm|cpu|node] [--presets ...] [--base DIR]`
// Trains the tutorial's three CNN presets (cnn, cnn-augment, cnn-normalize) with the tutorial's settings (160x160,
// Adam 1e-3, batch 32, 20 epochs) through the same services and worker process as the app, and prints a table
// beside the tutorial's figures. `--presets ...,mobilenetv2` adds the transfer model (its preset's settings), on the
// base given by --base (a model folder, e.g. ../shared/models/mobilenet-v2-0.35-224-teachable-machine, alpha 0.35)
// or the app's default. <dataset> is a dataset of the catalogue (name or id) or a folder of class
// subfolders (imported into a throwaway catalogue, split 70/20/10 stratified, seed 1). --epochs shortens the runs
// (the table then says so); --sample N uses only the first N images of each class of a folder (a quick check).
// Writes bench-results/reproduce.json. Without arguments it prints this usage and exits (so `npm run bench` skips it).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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
  },
});

if (positionals.length !== 1) {
  console.log('usage: npm run reproduce -- <dataset name|id|folder> [--epochs N] [--sample N] [--db FILE] [--backend auto|wasm|cpu|node] [--presets cnn,cnn-augment,cnn-normalize,mobilenetv2] [--base MODEL_FOLDER]');
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

/** A folder of symlinks to the first `n` images of each class folder. */
function sampleFolder(source: string, n: number, into: string): string {
  for (const cls of readdirSync(source)) {
    const dir = join(source, cls);
    if (!statSync(dir).isDirectory()) continue;
    mkdirSync(join(into, cls), { recursive: true });
    for (const file of readdirSync(dir).filter((f) => /\.(jpe?g|png|webp|gif|bmp|tiff?)$/i.test(f)).sort().slice(0, n)) {
      symlinkSync(join(dir, file), join(into, cls, file));
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

  const results: Array<{ preset: string; run: RunDetail; seconds: number }> = [];
  for (const preset of presets) {
    const config: Record<string, unknown> = { preset, backend };
    if (epochs !== undefined) config.epochs = epochs;
    if (preset === 'mobilenetv2' && base) config.mobilenet = { baseSource: base, ...(baseAlpha ? { alpha: baseAlpha } : {}) };
    const t0 = Date.now();
    const off = services.app.events.onAny((name, payload) => {
      if (name === 'training.epoch') {
        const m = payload as EventPayload<'training.epoch'>;
        console.error(`${preset} epoch ${m.epoch}: loss ${m.loss?.toFixed(4)} acc ${((m.accuracy ?? 0) * 100).toFixed(1)}% val_acc ${((m.valAccuracy ?? 0) * 100).toFixed(1)}% (${(m.durationMs / 1000).toFixed(1)} s)`);
      }
    });
    const done = await trainRun(services, { datasetId, name: `reproduce ${preset}`, config });
    const runId = done.runId;
    off();
    const run = await services.request('runs.get', { runId });
    results.push({ preset, run, seconds: (Date.now() - t0) / 1000 });
    if (done.status !== 'completed') console.error(`${preset}: ${done.status} ${done.error ?? ''}`);
  }

  const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);
  const planned = results[0]?.run.config.epochs ?? 20;
  const shortened = epochs !== undefined && epochs !== 20;
  console.log(`\nReproducing the tutorial on ${datasetLabel}`);
  console.log(`Pixels: the resize recipe of pixel rule ${PIXEL_RULE_VERSION} (bilinear, half-pixel centres, no antialias)${base ? `; mobilenetv2 base ${base}` : ''}`);
  console.log(`Settings: 160x160, Adam 1e-3, batch 32, ${planned} epochs${shortened ? ` (SHORTENED from the tutorial's 20: figures are not comparable)` : ''}, backend ${results[0]?.run.backend ?? backend}`);
  const header = ['preset', 'epochs', 'final train acc', 'final val acc', 'val acc at best epoch*', 'test acc', 'tutorial val acc', 's/epoch', 'status'];
  const rows = results.map(({ preset, run, seconds }) => {
    const last = run.epochs.at(-1);
    return [
      preset, String(run.epochs.length), pct(last?.accuracy), pct(last?.valAccuracy), `${pct(run.bestValAccuracy)} (${run.bestEpoch ?? '-'})`,
      pct(run.testAccuracy), TUTORIAL[preset].valAccuracy, run.epochs.length ? (seconds / run.epochs.length).toFixed(1) : '-', run.status,
    ];
  });
  printTable(header, rows);
  console.log('* the best epoch is the one with the lowest val_loss; its weights are the saved model that "test acc" evaluates.');

  mkdirSync('bench-results', { recursive: true });
  writeFileSync(values.out ?? 'bench-results/reproduce.json', JSON.stringify({
    dataset: datasetLabel,
    pixelRuleVersion: PIXEL_RULE_VERSION,
    base: base ?? null,
    shortened,
    epochs: planned,
    tutorial: TUTORIAL,
    results: results.map(({ preset, run, seconds }) => ({
      preset, runId: run.id, status: run.status, error: run.error, backend: run.backend, versions: run.versions, seconds,
      bestEpoch: run.bestEpoch, bestValAccuracy: run.bestValAccuracy, testAccuracy: run.testAccuracy, testLoss: run.testLoss, epochs: run.epochs,
    })),
  }, null, 2));
  console.log(`\nwrote ${values.out ?? 'bench-results/reproduce.json'}`);
} finally {
  await services.close();
  if (scratch && !values.db) rmSync(scratch, { recursive: true, force: true });
}
