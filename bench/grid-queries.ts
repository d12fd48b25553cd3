// The Dataset grid's catalogue queries at scale (issue 17): a catalogue of N image rows (no files), then each query
// the grid, the filters, labelling and splitting make, with its EXPLAIN QUERY PLAN and its time, and the process's
// peak RSS.
//
//   npx tsx bench/grid-queries.ts [--n 100000]
//
// Writes bench-results/grid-queries-<n>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../electron/catalogue/database';
import type { Database } from '../electron/catalogue/database';
import { datasetSummary } from '../electron/catalogue/datasets';
import { countImages, queryImageIds, queryImages } from '../electron/catalogue/image-queries';
import { listClasses, setLabels } from '../electron/catalogue/labels';
import { latestSplit } from '../electron/catalogue/splits';
import { excludeImages } from '../electron/catalogue/health';
import { createSplit } from '../electron/dataset/split';
import type { ImageFilter } from '../shared/contract/datasets';
import { buildBigCatalogue } from '../test/support/big-catalogue';
import { tempDir } from '../test/support/temp';
import { withPlans } from '../test/support/query-plans';
import { printTable } from './_table';

const argN = process.argv.indexOf('--n');
const N = argN > 0 ? Number(process.argv[argN + 1]) : 100_000;

interface Row {
  name: string;
  ms: number;
  plan: string;
}

function timed<T>(db: Database, rows: Row[], name: string, call: () => T, repeat = 3): T {
  const { value, queries } = withPlans(db, call);
  const plans = queries.map((query) => query.plan);
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    call();
    best = Math.min(best, performance.now() - started);
  }
  rows.push({ name, ms: best, plan: plans.join(' || ') });
  return value;
}

const dir = tempDir('pawprint-grid-bench-');
try {
  const db = openDatabase(path.join(dir.path, 'catalogue.db'));
  const built = performance.now();
  const big = buildBigCatalogue(db, { images: N, classes: 4, unlabelledEvery: 10, rejectedEvery: 97, duplicateEvery: 89 });
  console.log(`${N} rows built in ${((performance.now() - built) / 1000).toFixed(1)} s`);
  const rows: Row[] = [];
  const { datasetId, classIds, okIds } = big;
  excludeImages(db, datasetId, okIds.filter((_, index) => index % 50 === 7), 'bench');

  timed(db, rows, 'split (stratified, seed 1)', () => createSplit(db, datasetId, { preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 }), 1);
  const selection = okIds.slice(20_000, 21_000);
  timed(db, rows, 'label 1,000 selected', () => {
    setLabels(db, datasetId, selection.map((imageId) => ({ imageId, classId: classIds[1]! })));
    setLabels(db, datasetId, selection.map((imageId) => ({ imageId, classId: classIds[2]! })));
  }, 1);
  timed(db, rows, 'dataset summary', () => datasetSummary(db, datasetId));
  timed(db, rows, 'class counts', () => listClasses(db, datasetId));
  timed(db, rows, 'latest split counts', () => latestSplit(db, datasetId));
  const filters: Array<[string, ImageFilter]> = [
    ['all', { status: 'ok' }],
    ['class', { status: 'ok', classId: classIds[2]! }],
    ['unlabelled', { status: 'ok', unlabelled: true }],
    ['subset val', { status: 'ok', subset: 'val' }],
  ];
  for (const [label, filter] of filters) {
    // The grid counts once per filter change and then fetches pages without a count (images.page).
    const total = timed(db, rows, `count (${label})`, () => countImages(db, datasetId, filter));
    const lastOffset = Math.max(0, total - 200);
    timed(db, rows, `first page (${label})`, () => queryImages(db, datasetId, filter, 0, 200, { withTotal: false }));
    timed(db, rows, `middle page (${label})`, () => queryImages(db, datasetId, filter, Math.floor(total / 2), 200, { withTotal: false }));
    timed(db, rows, `last page (${label})`, () => queryImages(db, datasetId, filter, lastOffset, 200, { withTotal: false }));
    timed(db, rows, `ids (${label})`, () => queryImageIds(db, datasetId, filter));
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
  console.log(`load average ${load} (times are the best of 3 runs; a busy machine stretches them)`);
  printTable(['query', 'ms', 'plan'], rows.map((row) => [row.name, row.ms.toFixed(1), row.plan]));
  console.log(`peak RSS ${peakRssMb.toFixed(0)} MB`);
  const out = path.resolve(import.meta.dirname, '..', 'bench-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, `grid-queries-${N}.json`), JSON.stringify({ n: N, peakRssMb, rows }, null, 2));
  db.close();
} finally {
  dir.cleanup();
}
