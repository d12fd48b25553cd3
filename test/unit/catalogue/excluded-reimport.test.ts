import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeClassFolders } from '../../support/images';
import { freshServices } from '../../support/catalogue';
import { importFolder } from '../dataset/helpers';

// Excluded images leave the dataset's counts (issue 15), so a dataset whose every image is excluded counts 0 ok
// images. The import job removes a dataset that a completed import left empty: it must not take that one for empty.

test('re-importing a dataset whose every image is excluded keeps the dataset, its labels and its exclusions', async (t) => {
  const { services, dir } = freshServices(t);
  const root = join(dir, 'pets');
  await writeClassFolders(root, { cat: { count: 2, color: '#cc5533' }, dog: { count: 2, color: '#3355cc' } });
  const { datasetId } = await importFolder(services, root);
  const ids = await services.request('images.ids', { datasetId });
  assert.equal(ids.length, 4);
  await services.request('health.exclude', { datasetId, imageIds: ids, reason: 'test' });
  const excluded = await services.request('datasets.get', { datasetId });
  assert.equal(excluded.counts.ok, 0);
  assert.equal(excluded.counts.excluded, 4);

  await importFolder(services, root, { datasetId }).catch((error: Error) => assert.fail(`the re-import failed: ${error.message}`));
  const after = await services.request('datasets.get', { datasetId });
  assert.equal(after.counts.excluded, 4, 'the exclusions stay');
  assert.equal((await services.request('images.ids', { datasetId, filter: { status: 'excluded' } })).length, 4);
  const labelled = await services.request('images.query', { datasetId, filter: { status: 'excluded' } });
  assert.ok(labelled.items.every((item) => item.classId !== null), 'the labels stay');
});
