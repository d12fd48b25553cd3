import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../electron/catalogue/database';
import type { Database } from '../../../electron/catalogue/database';
import { datasetSummary, classCounts } from '../../../electron/catalogue/datasets';
import { countImages, imageDetail, queryImageIds, queryImages } from '../../../electron/catalogue/image-queries';
import { listClasses, getClass } from '../../../electron/catalogue/labels';
import { excludeImages } from '../../../electron/catalogue/health';
import { latestSplit, splitCandidates } from '../../../electron/catalogue/splits';
import { loadTrainingData } from '../../../electron/catalogue/training-data';
import { assignStratified, createSplit } from '../../../electron/dataset/split';
import type { ImageFilter } from '../../../shared/contract/datasets';
import { buildBigCatalogue } from '../../support/big-catalogue';
import type { BigCatalogue } from '../../support/big-catalogue';
import { withPlans } from '../../support/query-plans';
import { freshServices } from '../../support/catalogue';

// The Dataset grid's queries (issue 17) and excluded images in every count (issue 15), on a catalogue of rows only.
// bench/grid-queries.ts times the same queries at 100,000 rows; here the plans and the answers are checked.

function catalogue(images: number): { db: Database; big: BigCatalogue } {
  const db = openDatabase(':memory:');
  after(() => db.close());
  const big = buildBigCatalogue(db, { images, classes: 3, unlabelledEvery: 10, rejectedEvery: 97, duplicateEvery: 89 });
  createSplit(db, big.datasetId, { preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 });
  return { db, big };
}

// Read-only for the first two tests; the exclusions test makes its own.
const shared = catalogue(2_000);

test('a grid page deep in the list finds its ids on images_by_status_path alone: no sort, no table rows, no count unless asked', () => {
  const { db, big } = shared;
  const filters: Array<[string, ImageFilter]> = [
    ['all', { status: 'ok' }],
    ['class', { status: 'ok', classId: big.classIds[1]! }],
    ['unlabelled', { status: 'ok', unlabelled: true }],
    ['subset', { status: 'ok', subset: 'val' }],
  ];
  for (const [name, filter] of filters) {
    const middle = Math.floor(countImages(db, big.datasetId, filter) / 2);
    const { value, queries } = withPlans(db, () => queryImages(db, big.datasetId, filter, middle, 200, { withTotal: false }));
    assert.equal(value.total, null, `${name}: a page without withTotal counts nothing`);
    assert.ok(value.items.length > 0, `${name}: the page has rows`);
    const page = queries.find((query) => /LIMIT \? OFFSET \?/.test(query.sql));
    assert.ok(page, `${name}: one page query`);
    assert.match(page.plan, /SEARCH i USING COVERING INDEX images_by_status_path \(dataset_id=\? AND status=\?\)/, `${name}: ${page.plan}`);
    // Only the 200 rows of the page are then read and put in order (the outer sort); finding them walks the index.
    const findingIds = page.plan.split('SCAN page')[0]!;
    assert.doesNotMatch(findingIds, /TEMP B-TREE|SCAN i\b|SCAN images/, `${name}: ${page.plan}`);
    assert.ok(!queries.some((query) => /COUNT\(\*\)/.test(query.sql)), `${name}: no COUNT(*) for a page that did not ask`);
    assert.ok(!queries.some((query) => /SCAN splits/.test(query.plan)), `${name}: the latest split is found by index`);
  }
});

test('pages put together are the filtered ids in rel_path order, the total is counted once, and a range of ids matches its rows', () => {
  const { db, big } = shared;
  const filter: ImageFilter = { status: 'ok' };
  const first = queryImages(db, big.datasetId, filter, 0, 200);
  assert.equal(first.total, big.okIds.length);
  const seen: number[] = [];
  for (let offset = 0; offset < big.okIds.length; offset += 200) seen.push(...queryImages(db, big.datasetId, filter, offset, 200, { withTotal: false }).items.map((item) => item.id));
  assert.deepEqual(seen, big.okIds);
  assert.deepEqual(queryImageIds(db, big.datasetId, filter), big.okIds);
  assert.deepEqual(queryImageIds(db, big.datasetId, filter, { offset: 1234, limit: 300 }), big.okIds.slice(1234, 1534));
  const dogs = big.classIds[1]!;
  const classItems = queryImages(db, big.datasetId, { status: 'ok', classId: dogs }, 0, 1000);
  assert.ok(classItems.items.every((item) => item.classId === dogs));
  assert.equal(classItems.total, listClasses(db, big.datasetId).find((cls) => cls.id === dogs)!.count);
});

test('excluded images leave the dataset, class, split and grid counts and training data; the excluded filter shows them with their count', () => {
  const { db, big } = catalogue(600);
  const { datasetId } = big;
  const before = datasetSummary(db, datasetId);
  const beforeSplit = latestSplit(db, datasetId)!;
  const beforeTraining = loadTrainingData(db, { datasetId });
  // Five labelled images of class-0 and one unlabelled one.
  const labelled = queryImageIds(db, datasetId, { status: 'ok', classId: big.classIds[0]! }).slice(0, 5);
  const unlabelled = queryImageIds(db, datasetId, { status: 'ok', unlabelled: true }).slice(0, 1);
  const dropped = [...labelled, ...unlabelled];
  excludeImages(db, datasetId, dropped, 'test');

  const after = datasetSummary(db, datasetId);
  assert.deepEqual(after.counts, {
    ...before.counts,
    ok: before.counts.ok - 6,
    labelled: before.counts.labelled - 5,
    unlabelled: before.counts.unlabelled - 1,
    excluded: 6,
  });
  const classZero = (summary: typeof after) => summary.classes.find((cls) => cls.id === big.classIds[0])!.count;
  assert.equal(classZero(after), classZero(before) - 5);
  assert.equal(getClass(db, big.classIds[0]!).count, classZero(before) - 5);
  assert.equal(classCounts(db, datasetId)['class-0'], classZero(before) - 5);
  const afterSplit = latestSplit(db, datasetId)!;
  const sum = (counts: { train: number; val: number; test: number }) => counts.train + counts.val + counts.test;
  assert.equal(sum(afterSplit.counts), sum(beforeSplit.counts) - 5, 'the split counts leave the excluded labelled images out');
  assert.equal(sum(afterSplit.perClass['class-0']!), sum(beforeSplit.perClass['class-0']!) - 5);

  const grid = queryImages(db, datasetId, { status: 'ok' }, 0, 1000);
  assert.equal(grid.total, before.counts.ok - 6);
  assert.deepEqual(queryImageIds(db, datasetId, { status: 'ok' }), big.okIds.filter((id) => !dropped.includes(id)));
  assert.equal(queryImages(db, datasetId, { status: 'ok', unlabelled: true }, 0, 10).total, before.counts.unlabelled - 1);
  const excluded = queryImages(db, datasetId, { status: 'excluded' }, 0, 100);
  assert.equal(excluded.total, 6);
  assert.deepEqual(excluded.items.map((item) => item.id).sort((a, b) => a - b), [...dropped].sort((a, b) => a - b));
  assert.ok(excluded.items.every((item) => item.excluded === true));
  assert.ok(grid.items.every((item) => item.excluded === false));
  assert.equal(imageDetail(db, dropped[0]!).excluded, true);
  const everything = queryImages(db, datasetId, { status: 'all' }, 0, 10);
  assert.equal(everything.total, 600, "'all' shows every row, excluded ones too");

  const training = loadTrainingData(db, { datasetId });
  const ids = (data: typeof training) => [...data.train, ...data.val, ...data.test].map((example) => example.imageId);
  assert.equal(ids(training).length, ids(beforeTraining).length - 5);
  assert.ok(!ids(training).some((id) => dropped.includes(id)));
});

test('images.page answers the rows of images.query without counting; images.ids takes a range; the excluded filter and count reach the services; an unknown status is refused', async (t) => {
  const { services } = freshServices(t);
  const big = buildBigCatalogue(services.app.db, { images: 450, classes: 2 });
  const { datasetId } = big;
  const query = await services.request('images.query', { datasetId, offset: 200, limit: 200 });
  assert.equal(query.total, 450);
  const page = await services.request('images.page', { datasetId, offset: 200, limit: 200 });
  assert.deepEqual(page, { offset: 200, items: query.items });
  assert.deepEqual(await services.request('images.ids', { datasetId, offset: 390, limit: 100 }), big.okIds.slice(390));
  excludeImages(services.app.db, datasetId, big.okIds.slice(0, 3), 'test');
  assert.equal((await services.request('images.query', { datasetId, filter: { status: 'excluded' } })).total, 3);
  assert.equal((await services.request('datasets.get', { datasetId })).counts.excluded, 3);
  await assert.rejects(services.request('images.page', { datasetId, filter: { status: 'hidden' as 'ok' } }), /status/);
});

test('a split stores exactly the seeded assignment (inserted in id order, in batches), and its counts match the rows', () => {
  const { db, big } = shared;
  const { images } = splitCandidates(db, big.datasetId);
  const expected = assignStratified(images, { train: 0.7, val: 0.2, test: 0.1, seed: 1 });
  const split = latestSplit(db, big.datasetId)!;
  const stored = db.prepare('SELECT image_id AS imageId, subset FROM split_assignments WHERE split_id = ?').all(split.id) as Array<{ imageId: number; subset: string }>;
  // Duplicates follow their original: they are stored too, beyond the candidates.
  const candidates = stored.filter((row) => expected.has(row.imageId));
  assert.equal(candidates.length, expected.size);
  for (const row of candidates) assert.equal(row.subset, expected.get(row.imageId), `image ${row.imageId}`);
  assert.equal(split.counts.train + split.counts.val + split.counts.test, expected.size);
});
