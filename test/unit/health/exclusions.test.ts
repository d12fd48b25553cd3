import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrainingData } from '../../../electron/catalogue/training-data';
import { healthSource } from '../../../electron/catalogue/health';
import { writeClassFolders } from '../../support/images';
import { importFolder, openServices } from '../dataset/helpers';

// health.exclude drops images from a dataset without touching their files: they leave training data of the split they
// are in, new splits and the health job's source; health.include brings them back; foreign or unknown ids are refused
// in one line and nothing changes.

const opened = openServices();
after(() => opened.close());

test('excluded images leave training data, new splits and health checks, and come back when included', async () => {
  const { services, dir } = opened;
  const root = join(dir, 'pets');
  await writeClassFolders(root, { cat: { count: 6, color: '#cc5533' }, dog: { count: 6, color: '#3355cc' } });
  const summary = await importFolder(services, root);
  const datasetId = summary.datasetId;
  const split = await services.request('splits.create', { datasetId, train: 0.5, val: 0.5, test: 0, seed: 2 });
  const before = loadTrainingData(services.app.db, { datasetId, splitId: split.id });
  const trainIds = before.train.map((e) => e.imageId);
  assert.equal(trainIds.length + before.val.length, 12);
  const dropped = trainIds.slice(0, 2);

  const changed: number[] = [];
  const stop = services.app.events.onAny((name, payload) => {
    if (name === 'datasets.changed') changed.push((payload as { datasetId: number }).datasetId);
  });
  assert.deepEqual(await services.request('health.exclude', { datasetId, imageIds: [...dropped, dropped[0]], reason: 'near-duplicate' }), { excluded: 2 });
  assert.deepEqual(await services.request('health.exclude', { datasetId, imageIds: dropped }), { excluded: 0 }, 'excluding twice changes nothing');
  assert.deepEqual(changed, [datasetId, datasetId]);

  const during = loadTrainingData(services.app.db, { datasetId, splitId: split.id });
  assert.deepEqual(during.train.map((e) => e.imageId), trainIds.slice(2));
  assert.notEqual(during.dataHash, before.dataHash, 'the data hash names the smaller data');
  const source = healthSource(services.app.db, datasetId);
  assert.equal(source.images.length, 10);
  assert.ok(!source.images.some((image) => dropped.includes(image.imageId)));
  const resplit = await services.request('splits.create', { datasetId, train: 0.5, val: 0.5, test: 0, seed: 2 });
  const resplitData = loadTrainingData(services.app.db, { datasetId, splitId: resplit.id });
  assert.equal(resplitData.train.length + resplitData.val.length, 10);

  const { images } = await services.request('health.excluded', { datasetId });
  assert.deepEqual(images.map((image) => image.imageId).sort(), [...dropped].sort());
  for (const image of images) {
    assert.equal(image.reason, 'near-duplicate');
    assert.ok(existsSync(image.path), 'the file is untouched');
    assert.ok(image.label === 'cat' || image.label === 'dog', 'the label is kept');
  }

  assert.deepEqual(await services.request('health.include', { datasetId, imageIds: [dropped[0]] }), { included: 1 });
  assert.equal(healthSource(services.app.db, datasetId).images.length, 11);
  assert.deepEqual((await services.request('health.excluded', { datasetId })).images.map((i) => i.imageId), [dropped[1]]);
  stop();
});

test('exclusions refuse images of another dataset or unknown ids in one line and change nothing', async () => {
  const { services, dir } = opened;
  const a = await importFolder(services, await folder(join(dir, 'a'), '#aa2222'));
  const b = await importFolder(services, await folder(join(dir, 'b'), '#22aa22'));
  const bIds = await services.request('images.ids', { datasetId: b.datasetId });
  await assert.rejects(
    services.request('health.exclude', { datasetId: a.datasetId, imageIds: [bIds[0], 999_999] }),
    (error: Error) => /^Images \d+, 999999 are not in dataset "a"; reload the Health view and try again\.$/.test(error.message) || assert.fail(error.message),
  );
  assert.equal((await services.request('health.excluded', { datasetId: a.datasetId })).images.length, 0);
  assert.equal((await services.request('health.excluded', { datasetId: b.datasetId })).images.length, 0);
  await assert.rejects(services.request('health.include', { datasetId: 424_242, imageIds: [bIds[0]] }), /Dataset 424242/);
});

async function folder(root: string, color: string): Promise<string> {
  await writeClassFolders(root, { x: { count: 2, color }, y: { count: 2, color: '#222222' } });
  return root;
}
