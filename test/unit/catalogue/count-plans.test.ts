import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../electron/catalogue/database';
import { datasetSummary, listDatasets } from '../../../electron/catalogue/datasets';
import { excludeImages } from '../../../electron/catalogue/health';
import { latestSplit } from '../../../electron/catalogue/splits';
import { listClasses, setLabels } from '../../../electron/catalogue/labels';
import { createSplit } from '../../../electron/dataset/split';
import { buildBigCatalogue } from '../../support/big-catalogue';
import { withPlans } from '../../support/query-plans';

// The counts behind datasets.list / datasets.get and a split's counts (issue 17): each walks an index or a primary
// key, never a table, and the excluded images are counted from their own table rather than by probing every image of
// the dataset. bench/count-queries.ts times them at 100,000 rows.

const db = openDatabase(':memory:');
after(() => db.close());
const big = buildBigCatalogue(db, { images: 1_500, classes: 3, unlabelledEvery: 10, rejectedEvery: 97, duplicateEvery: 89 });
buildBigCatalogue(db, { images: 300, classes: 2, name: 'other' });
createSplit(db, big.datasetId, { preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 });
excludeImages(db, big.datasetId, big.okIds.slice(0, 4), 'test');

const tableScan = /\bSCAN (images|i|labels|l|split_assignments|sa)\b/;

test('dataset summaries and split counts find their rows by index: no table scan', () => {
  for (const [name, call] of [
    ['summary', () => datasetSummary(db, big.datasetId)],
    ['list', () => listDatasets(db)],
    ['split', () => latestSplit(db, big.datasetId)],
  ] as const) {
    const { queries } = withPlans(db, call as () => unknown);
    assert.ok(queries.length > 0, name);
    for (const query of queries) assert.doesNotMatch(query.plan, tableScan, `${name}: ${query.sql}\n${query.plan}`);
  }
  const split = withPlans(db, () => latestSplit(db, big.datasetId)).queries.find((query) => /split_assignments/.test(query.sql));
  assert.match(split!.plan, /SEARCH sa USING PRIMARY KEY \(split_id=\?/, split!.plan);
});

test('the excluded images are counted from the exclusions, not by probing each of the dataset\'s images', () => {
  const { value, queries } = withPlans(db, () => datasetSummary(db, big.datasetId));
  assert.equal(value.counts.excluded, 4);
  const excluded = queries.find((query) => /FROM image_exclusions/.test(query.sql));
  assert.ok(excluded, 'one query counts the exclusions');
  // Driven from image_exclusions (a few rows), each image then found by its primary key.
  assert.match(excluded.plan, /^SCAN x; SEARCH i USING INTEGER PRIMARY KEY \(rowid=\?\)/, excluded.plan);
  assert.doesNotMatch(excluded.plan, /images_by_status_path/, excluded.plan);
});

test('the summary counts classes and the latest split in one walk of the dataset, with the answers listClasses and latestSplit give', () => {
  // A relabel after the split: the split counts follow the current labels, as latestSplit's do.
  setLabels(db, big.datasetId, big.okIds.slice(100, 120).map((imageId) => ({ imageId, classId: big.classIds[2]! })));
  const { value, queries } = withPlans(db, () => datasetSummary(db, big.datasetId));
  assert.deepEqual(value.classes, listClasses(db, big.datasetId));
  assert.deepEqual(value.latestSplit, latestSplit(db, big.datasetId));
  const walks = queries.filter((query) => /SEARCH i USING COVERING INDEX images_by_status_path \(dataset_id=\? AND status=\?\)/.test(query.plan));
  assert.equal(walks.length, 1, walks.map((query) => query.sql).join('\n'));
  assert.ok(!queries.some((query) => /FROM split_assignments sa JOIN/.test(query.sql)), 'no second walk for the split');
});
