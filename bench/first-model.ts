// The first model as a new user gets it (issue 14): a fresh app folder, the built CLI, no flags.
//   pawprint import <folder>      (1,600 photos of ../shared/data/cats-vs-dogs: cats and dogs 201-1000)
//   pawprint train <dataset>      (defaults: mobilenetv2 on the bundled ImageNet base, a seeded default split)
//   pawprint eval <run> --folder  (the other 400 photos, cats and dogs 1-200, never imported)
// Reports the wall time of each command and Import -> trained model, and the accuracy on the 400 held-out photos
// next to the run's own validation and test accuracy. Needs the app built (`npm run build`).
// Run: npm run bench -- first-model   -> prints a table, writes bench-results/first-model.json
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable } from './_table';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const PHOTOS = path.resolve(ROOT, '../shared/data/cats-vs-dogs');
const CLI = path.join(ROOT, 'bin/pawprint.js');
if (!existsSync(PHOTOS)) {
  console.log(`first-model: skipped: ${PHOTOS} not found (the shared data lives in ../shared beside the repository)`);
  process.exit(0);
}
if (!existsSync(path.join(ROOT, 'dist/node/cli.js'))) {
  console.log('first-model: skipped: the app is not built (run `npm run build` first)');
  process.exit(0);
}

const HELD_OUT = 200; // per class: photos 1-200 are only ever evaluated
const work = mkdtempSync(path.join(os.tmpdir(), 'pawprint-first-model-'));
const trainFolder = path.join(work, 'my pets');
const heldOutFolder = path.join(work, 'held out');
for (const [cls, prefix] of [['cats', 'cat'], ['dogs', 'dog']] as const) {
  mkdirSync(path.join(trainFolder, cls), { recursive: true });
  mkdirSync(path.join(heldOutFolder, cls), { recursive: true });
  for (let i = 1; i <= 1000; i++) {
    const name = `${prefix}.${i}.jpg`;
    copyFileSync(path.join(PHOTOS, cls, name), path.join(i <= HELD_OUT ? heldOutFolder : trainFolder, cls, name));
  }
}

// A fresh app folder: no catalogue, no downloaded weights, no settings.
const env: NodeJS.ProcessEnv = { ...process.env, PAWPRINT_HOME: path.join(work, 'app-data') };
delete env.PAWPRINT_DB;

function pawprint(args: string[]): { seconds: number; json: unknown } {
  const t0 = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args, '--json'], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  if (result.status !== 0) throw new Error(`pawprint ${args.join(' ')} exited ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return { seconds, json: JSON.parse(result.stdout) };
}

const load = () => os.loadavg().map((v) => v.toFixed(1)).join(' ');
const loadAtStart = load();
try {
  const imported = pawprint(['import', trainFolder]) as { seconds: number; json: { imported: number } };
  console.error(`import: ${imported.json.imported} photos in ${imported.seconds.toFixed(1)} s`);
  // The dataset by its name (the folder's), as a user types it.
  const trained = pawprint(['train', path.basename(trainFolder)]) as { seconds: number; json: Record<string, unknown> };
  const run = trained.json as { runId: number; status: string; backend: string | null; preset: string; bestValAccuracy: number | null; testAccuracy: number | null };
  const runId = run.runId;
  console.error(`train: run ${runId} ${run.status} in ${trained.seconds.toFixed(1)} s`);
  const evaluated = pawprint(['eval', String(runId), '--folder', heldOutFolder]) as { seconds: number; json: { accuracy: number } };
  const row = {
    photos: `${imported.json.imported} imported, ${2 * HELD_OUT} held out`,
    preset: run.preset,
    backend: run.backend ?? '?',
    importSeconds: imported.seconds.toFixed(1),
    trainSeconds: trained.seconds.toFixed(1),
    importToModelSeconds: (imported.seconds + trained.seconds).toFixed(1),
    valAccuracy: run.bestValAccuracy === null ? '-' : `${(run.bestValAccuracy * 100).toFixed(1)}%`,
    testAccuracy: run.testAccuracy === null ? '-' : `${(run.testAccuracy * 100).toFixed(1)}%`,
    heldOutAccuracy: `${(evaluated.json.accuracy * 100).toFixed(1)}%`,
    evalSeconds: evaluated.seconds.toFixed(1),
    load: `${loadAtStart} -> ${load()}`,
  };
  const header = Object.keys(row);
  printTable(header, [header.map((key) => row[key as keyof typeof row])]);
  mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench-results/first-model.json'), JSON.stringify({ ...row, run: trained.json, evaluation: { accuracy: evaluated.json.accuracy } }, null, 2));
} finally {
  rmSync(work, { recursive: true, force: true });
}
