// The counts behind datasets.list / datasets.get and a split's counts (issue 17) at N image rows: each query as it
// was before and as it is now, timed in one run on one catalogue (a busy machine stretches both alike), with its
// EXPLAIN QUERY PLAN.
//
//   npx tsx bench/count-queries.ts [--n 100000]
import path from 'node:path';
import { loadavg } from 'node:os';
import { openDatabase } from '../electron/catalogue/database';
import { datasetSummary } from '../electron/catalogue/datasets';
import { excludeImages } from '../electron/catalogue/health';
import { listClasses } from '../electron/catalogue/labels';
import { latestSplit, latestSplitId } from '../electron/catalogue/splits';
import { createSplit } from '../electron/dataset/split';
import { buildBigCatalogue } from '../test/support/big-catalogue';
import { tempDir } from '../test/support/temp';
import { printTable } from './_table';

const argN = process.argv.indexOf('--n');
const N = argN > 0 ? Number(process.argv[argN + 1]) : 100_000;

// The exclusions' count before: SQLite drove it from the dataset's images, probing image_exclusions per image.
const EXCLUDED_BEFORE = `SELECT i.status, COUNT(*) AS n FROM image_exclusions x JOIN images i ON i.id = x.image_id WHERE i.dataset_id = ? GROUP BY i.status`;
const EXCLUDED_NOW = `SELECT i.status, COUNT(*) AS n FROM image_exclusions x CROSS JOIN images i ON i.id = x.image_id WHERE i.dataset_id = ? GROUP BY i.status`;

const dir = tempDir('pawprint-count-bench-');
try {
  const db = openDatabase(path.join(dir.path, 'catalogue.db'));
  const { datasetId, okIds } = buildBigCatalogue(db, { images: N, classes: 4, unlabelledEvery: 10, rejectedEvery: 97, duplicateEvery: 89 });
  createSplit(db, datasetId, { preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 });
  excludeImages(db, datasetId, okIds.filter((_, index) => index % 50 === 7), 'bench');
  const splitId = latestSplitId(db, datasetId)!;
  const plan = (sql: string, params: unknown[]) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail).join('; ');
  const cases: Array<{ name: string; plan: string; run: () => unknown }> = [
    { name: 'excluded count (before)', plan: plan(EXCLUDED_BEFORE, [datasetId]), run: () => db.prepare(EXCLUDED_BEFORE).all(datasetId) },
    { name: 'excluded count (now)', plan: plan(EXCLUDED_NOW, [datasetId]), run: () => db.prepare(EXCLUDED_NOW).all(datasetId) },
    // The summary's class and split counts before: two walks of the dataset's images (now one, inside the summary).
    { name: 'class + split counts (before: listClasses + latestSplit)', plan: '', run: () => [listClasses(db, datasetId), latestSplit(db, datasetId)] },
    { name: 'dataset summary (now: every count)', plan: '', run: () => datasetSummary(db, datasetId) },
    { name: `latest split counts (split ${splitId})`, plan: '', run: () => latestSplit(db, datasetId) },
  ];
  const best = new Map<string, number>();
  // Interleaved rounds, best of five: each case sees the same load.
  for (let round = 0; round < 5; round++) {
    for (const entry of cases) {
      const started = performance.now();
      entry.run();
      best.set(entry.name, Math.min(best.get(entry.name) ?? Infinity, performance.now() - started));
    }
  }
  console.log(`${N} image rows, load average ${loadavg()[0]!.toFixed(1)}`);
  printTable(['query', 'best ms', 'plan'], cases.map((entry) => [entry.name, best.get(entry.name)!.toFixed(1), entry.plan]));
  db.close();
} finally {
  dir.cleanup();
}
