import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../electron/catalogue/database';
import { excludeImages } from '../../../electron/catalogue/health';
import { nextUnlabelledImage, queryImageIds } from '../../../electron/catalogue/image-queries';
import type { ImageFilter } from '../../../shared/contract/datasets';
import { buildBigCatalogue } from '../../support/big-catalogue';
import { freshServices } from '../../support/catalogue';
import { withPlans } from '../../support/query-plans';

// images.nextUnlabelled (issue 17): the next image needing a label after a given one in a view's order, wrapping,
// with its row in the view, found by index (the Label view used to page through the grid for it).

test('the next unlabelled image after a given one, in grid order, wrapping, with its row in the view; found on images_by_status_path', (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  // Every 10th row (index 0, 10, 20, ...) is unlabelled; every 97th rejected, every 89th a duplicate.
  const { datasetId, okIds } = buildBigCatalogue(db, { images: 3_000, classes: 3, unlabelledEvery: 10, rejectedEvery: 97, duplicateEvery: 89 });
  const view: ImageFilter = { status: 'ok' };
  const unlabelled = queryImageIds(db, datasetId, { status: 'ok', unlabelled: true });
  const rowOf = (id: number) => okIds.indexOf(id);

  // From a labelled image between the 5th and 6th unlabelled ones: the 6th.
  const between = okIds[rowOf(unlabelled[5]!) - 1]!;
  const { value, queries } = withPlans(db, () => nextUnlabelledImage(db, datasetId, view, between));
  assert.deepEqual(value, { imageId: unlabelled[5], index: rowOf(unlabelled[5]!) });
  for (const query of queries.filter((q) => /FROM images i/.test(q.sql))) {
    assert.match(query.plan, /SEARCH i USING COVERING INDEX images_by_status_path \(dataset_id=\? AND status=\? AND rel_path>\?\)|\(dataset_id=\? AND status=\? AND rel_path<\?\)/, query.plan);
    assert.doesNotMatch(query.plan, /SCAN i\b|TEMP B-TREE/, query.plan);
  }
  // From an unlabelled one: the one after it, not itself.
  assert.equal(nextUnlabelledImage(db, datasetId, view, unlabelled[5]!)?.imageId, unlabelled[6]);
  // From the last unlabelled image (or past it): back to the first. From nothing: the first.
  assert.deepEqual(nextUnlabelledImage(db, datasetId, view, unlabelled.at(-1)!), { imageId: unlabelled[0], index: rowOf(unlabelled[0]!) });
  assert.equal(nextUnlabelledImage(db, datasetId, view, okIds.at(-1)!)?.imageId, unlabelled[0]);
  assert.equal(nextUnlabelledImage(db, datasetId, view, null)?.imageId, unlabelled[0]);
  // An excluded image is not in the ok view: it is stepped over.
  excludeImages(db, datasetId, [unlabelled[6]!], 'test');
  assert.equal(nextUnlabelledImage(db, datasetId, view, unlabelled[5]!)?.imageId, unlabelled[7]);
  // The index counts the view's rows: within the unlabelled view, the 8th unlabelled image (7 before it, one excluded) is row 6.
  assert.deepEqual(nextUnlabelledImage(db, datasetId, { status: 'ok', unlabelled: true }, unlabelled[5]!), { imageId: unlabelled[7], index: 6 });
  // A class's view and the rejected view hold nothing to label.
  assert.equal(nextUnlabelledImage(db, datasetId, { status: 'ok', classId: 1 }, null), null);
  assert.equal(nextUnlabelledImage(db, datasetId, { status: 'rejected' }, null), null);
  // The 'all' view counts every row before the answer, rejected and duplicates too.
  const all = queryImageIds(db, datasetId, { status: 'all' });
  const fromAll = nextUnlabelledImage(db, datasetId, { status: 'all' }, all[1]!)!;
  assert.equal(all[fromAll.index], fromAll.imageId);
});

test('images.nextUnlabelled answers through the services; null when every image is labelled; an unknown dataset is refused', async (t) => {
  const { services } = freshServices(t);
  const big = buildBigCatalogue(services.app.db, { images: 40, classes: 2, unlabelledEvery: 10 });
  const first = await services.request('images.nextUnlabelled', { datasetId: big.datasetId, afterImageId: big.okIds[0]! });
  assert.deepEqual(first, { imageId: big.okIds[10], index: 10 });
  const labelled = buildBigCatalogue(services.app.db, { images: 20, classes: 2, name: 'all-labelled' });
  assert.equal(await services.request('images.nextUnlabelled', { datasetId: labelled.datasetId, afterImageId: null }), null);
  await assert.rejects(services.request('images.nextUnlabelled', { datasetId: 999, afterImageId: null }), /Dataset 999 does not exist/);
});
