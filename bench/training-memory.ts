// Where a training process's memory goes, and whether it stays flat in N (issue 17): for each N, N generated JPEGs
// (bench/generate-photos.ts: the scale bench's 400x300 photos, two classes, no two alike) are imported into a throwaway catalogue, split
// 80/20 (train/val), and 1 epoch of cnn at 160 px trains through the real job runtime (jobs.start -> job worker
// process, with the runtime's threads). A fresh catalogue and worker per N, so each peak is that N's alone.
//
//   npm run bench -- training-memory [--sizes 600,2000,6000] [--size 160] [--batches K] [--keep]
//
// --batches K cancels each run after K training batches (status "cancelled"): the peak is reached by then (all
// decoded, every WebAssembly heap at its largest step), for large N on a busy machine; epoch time is then not measured.
// Reported per N: the job worker process's peak RSS (Linux VmHWM of the process: the worker and all its threads,
// sampled from /proc by bench/_process-tree.ts while it runs and read last from the worker's own log line), its WebAssembly heap and JS
// memory after decoding and after training (the worker's "memory:" log lines), the epoch's wall time and images/s,
// and validation accuracy. Writes bench-results/training-memory.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices } from '../electron/services/index';
import { resolvePaths } from '../electron/paths';
import { importFolder, trainRun } from './_jobs';
import { generatePhotos } from './generate-photos';
import { PeakSampler } from './_process-tree';
import { printTable } from './_table';
import { presetDefaults } from '../shared/training-config';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const sizes = arg('sizes', '600,2000,6000').split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 10);
const imageSize = Number(arg('size', '160'));
const keep = process.argv.includes('--keep');
const stopAfterBatches = Number(arg('batches', '0'));
const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const MB = 1024 ** 2;

interface Row {
  n: number;
  train: number;
  status: string;
  workerPeakMB: number | null;
  threads: number | null;
  afterDecoding: string | null;
  afterTraining: string | null;
  decodeSeconds: number | null;
  epochSeconds: number | null;
  imagesPerSecond: number | null;
  valAccuracy: number | null;
  benchPeakMB: number;
  load: string;
}

async function measure(n: number): Promise<Row> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'pawprint-training-memory-'));
  const folder = path.join(work, 'photos');
  console.error(`N=${n}: generating ${n} JPEGs in ${folder}`);
  await generatePhotos({ n, out: folder, seed: 1 });
  const services = createServices({ paths: resolvePaths({ db: path.join(work, 'pawprint.db') }), host: { kind: 'web' } });
  const logs: string[] = [];
  // Every process under this one: the job worker (and its threads) is what this bench is about.
  const sampler = new PeakSampler(process.pid, 250);
  sampler.start();
  let stopped = false;
  const peaks = () => {
    const tree = sampler.stop();
    stopped = true;
    return tree;
  };
  try {
    const summary = await importFolder(services, { path: folder, name: `memory ${n}` });
    const split = await services.request('splits.create', { datasetId: summary.datasetId, preset: 'stratified', train: 0.8, val: 0.2, test: 0, seed: 1 });
    console.error(`N=${n}: imported ${summary.imported}; split ${JSON.stringify(split.counts)}; training 1 epoch of cnn at ${imageSize} px`);
    const config = { ...presetDefaults('cnn'), imageSize: { height: imageSize, width: imageSize }, epochs: 1, seed: 1 };
    let decodeStart: number | null = null;
    let trainStart: number | null = null;
    let decodeSeconds: number | null = null;
    let cancelling = false;
    const t0 = performance.now();
    const done = await trainRun(services, { datasetId: summary.datasetId, splitId: split.id, name: `memory ${n}`, config }, {
      progress(p) {
        const detail = p.detail as { type?: string; stage?: string; batch?: number } | undefined;
        if (detail?.type !== 'train') return;
        if (detail.stage === 'decoding' && decodeStart === null) decodeStart = performance.now();
        if (detail.stage === 'training' && trainStart === null) {
          trainStart = performance.now();
          decodeSeconds = decodeStart === null ? null : (trainStart - decodeStart) / 1000;
        }
        if (stopAfterBatches > 0 && detail.stage === 'training' && (detail.batch ?? 0) >= stopAfterBatches && !cancelling) {
          cancelling = true;
          void services.request('jobs.cancel', { id: p.id });
        }
      },
      log(message) {
        logs.push(message);
        if (/memory:|Training on|decoded/.test(message)) console.error(`N=${n}: ${message}`);
      },
    });
    const totalSeconds = (performance.now() - t0) / 1000;
    const run = await services.request('runs.get', { runId: done.runId });
    const epochMs = run.epochs[0]?.durationMs ?? null;
    const memoryLine = (prefix: string) => logs.find((l) => l.startsWith(prefix))?.replace(/^.*memory: /, '') ?? null;
    const ownPeak = /peak RSS (\d+) MB/.exec(memoryLine('after training') ?? '');
    const tree = peaks();
    const workers = tree.processes.filter((p) => p.role === 'job worker');
    const workerPeakMB = Math.max(tree.workerMb ?? 0, ownPeak ? Number(ownPeak[1]) : 0) || null;
    const threads = workers.length === 0 ? null : Math.max(...workers.map((p) => p.maxThreads));
    const train = split.counts.train ?? Math.round(n * 0.8);
    return {
      n, train, status: done.status, workerPeakMB: workerPeakMB === null ? null : Math.round(workerPeakMB), threads,
      afterDecoding: memoryLine('after decoding'), afterTraining: memoryLine('after training'),
      decodeSeconds, epochSeconds: epochMs === null ? (cancelling ? null : totalSeconds) : epochMs / 1000,
      imagesPerSecond: epochMs === null ? null : train / (epochMs / 1000),
      valAccuracy: run.bestValAccuracy,
      benchPeakMB: tree.mainMb,
      load: os.loadavg().map((l) => l.toFixed(1)).join(' '),
    };
  } finally {
    if (!stopped) sampler.stop();
    await services.close();
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const n of sizes) {
  const row = await measure(n);
  rows.push(row);
  console.error(JSON.stringify(row));
}
console.log(`\ntraining memory: 1 epoch of cnn at ${imageSize} px, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / MB / 1024)} GB`);
printTable(
  ['N', 'train', 'status', 'worker peak RSS', 'threads', 'decode s', 'epoch s', 'train img/s', 'val acc', 'load (1/5/15 min)'],
  rows.map((r) => [
    String(r.n), String(r.train), r.status, r.workerPeakMB === null ? '-' : `${r.workerPeakMB} MB`, String(r.threads ?? '-'),
    r.decodeSeconds === null ? '-' : r.decodeSeconds.toFixed(1), r.epochSeconds === null ? '-' : r.epochSeconds.toFixed(1),
    r.imagesPerSecond === null ? '-' : r.imagesPerSecond.toFixed(1), r.valAccuracy === null ? '-' : `${(r.valAccuracy * 100).toFixed(1)}%`, r.load,
  ]),
);
for (const r of rows) console.log(`N=${r.n}: after decoding: ${r.afterDecoding ?? '-'}; after training: ${r.afterTraining ?? '-'}`);
mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench-results', 'training-memory.json'), JSON.stringify({ bench: 'training-memory', date: new Date().toISOString(), imageSize, rows }, null, 2));
