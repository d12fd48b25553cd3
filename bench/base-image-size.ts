// Which image size the default preset (mobilenetv2 on the bundled ImageNet alpha 0.35 base) should train at: 160 or
// 224. 800 photos of ../shared/data/cats-vs-dogs (400 cats, 400 dogs: cat/dog 1-400, copied to a temporary folder) are imported into a throwaway
// catalogue and split stratified 50/25/25 with seed 1 (400 training, 200 validation, 200 test: 400 held out), then
// the default preset trains at each size through the real services and worker, feature cache cold (each size has its
// own features). Reports best validation accuracy, test accuracy and wall seconds training.start -> finished.
// Run: node --import tsx bench/base-image-size.ts [lastSeed=1] [firstSeed=1]
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices } from '../electron/services/index';
import { importFolder, trainRun } from './_jobs';
import { resolvePaths } from '../electron/paths';
import { printTable } from './_table';
import { presetDefaults } from '../shared/training-config';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const PHOTOS = path.resolve(ROOT, '../shared/data/cats-vs-dogs');
if (!existsSync(PHOTOS)) {
  console.log(`base-image-size: skipped: ${PHOTOS} not found (the shared data lives in ../shared beside the repository)`);
  process.exit(0);
}
const lastSeed = Number(process.argv[2] ?? 1);
const firstSeed = Number(process.argv[3] ?? 1);
const work = mkdtempSync(path.join(os.tmpdir(), 'pawprint-size-'));
const folder = path.join(work, 'photos');
for (const [cls, prefix] of [['cats', 'cat'], ['dogs', 'dog']] as const) {
  mkdirSync(path.join(folder, cls), { recursive: true });
  for (let i = 1; i <= 400; i++) copyFileSync(path.join(PHOTOS, cls, `${prefix}.${i}.jpg`), path.join(folder, cls, `${prefix}.${i}.jpg`));
}
const services = createServices({ paths: resolvePaths({ db: path.join(work, 'pawprint.db') }), host: { kind: 'web' } });
const rows: Array<Record<string, string>> = [];
try {
  const summary = await importFolder(services, { path: folder, name: 'size-bench' });
  const datasetId = summary.datasetId;
  const split = await services.request('splits.create', { datasetId, preset: 'stratified', train: 0.5, val: 0.25, test: 0.25, seed: 1 });
  console.error(`imported ${summary.imported}; split ${JSON.stringify(split.counts)}`);
  for (let seed = firstSeed; seed <= lastSeed; seed++) {
    for (const size of [160, 224]) {
      const config = { ...presetDefaults('mobilenetv2'), mobilenet: { ...presetDefaults('mobilenetv2').mobilenet, alpha: 0.35 as const }, imageSize: { height: size, width: size }, seed };
      const t0 = performance.now();
      const { runId } = await trainRun(services, { datasetId, name: `size ${size} seed ${seed}`, config });
      const seconds = (performance.now() - t0) / 1000;
      const run = await services.request('runs.get', { runId });
      const row = {
        size: String(size), seed: String(seed), status: run.status,
        bestVal: run.bestValAccuracy === null ? '-' : `${(run.bestValAccuracy * 100).toFixed(2)}%`,
        test: run.testAccuracy === null ? '-' : `${(run.testAccuracy * 100).toFixed(2)}%`,
        seconds: seconds.toFixed(1),
      };
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  }
} finally {
  await services.close();
  rmSync(work, { recursive: true, force: true });
}
const header = ['size', 'seed', 'status', 'bestVal', 'test', 'seconds'];
printTable(header, rows.map((row) => header.map((key) => row[key] ?? '')));
