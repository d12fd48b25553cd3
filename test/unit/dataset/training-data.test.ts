import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadTrainingData, getImagePath } from '../../../electron/catalogue/training-data';
import { AppError } from '../../../shared/errors';
import { writeClassFolders } from '../../support/images';
import { importFolder, openServices } from './helpers';

let ctx: ReturnType<typeof openServices>;
let datasetId: number;
before(async () => {
  ctx = openServices();
  const root = join(ctx.dir, 'pets');
  await writeClassFolders(root, { cats: { count: 10, color: '#aa3311' }, dogs: { count: 10, color: '#1133aa' } });
  const summary = await importFolder(ctx.services, root);
  datasetId = summary.datasetId;
  assert.equal(summary.imported, 20);
});
after(async () => ctx.close());

test('without a split, loadTrainingData says how to make one', () => {
  assert.throws(() => loadTrainingData(ctx.services.app.db, { datasetId }), (error: unknown) => error instanceof AppError && /no split/.test(error.message));
});

test('loads the latest split: classes in order, absolute paths, a stable data hash', async () => {
  const split = await ctx.services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 3 });
  const data = loadTrainingData(ctx.services.app.db, { datasetId });
  assert.equal(data.splitId, split.id);
  assert.deepEqual(data.classNames, ['cats', 'dogs']);
  assert.equal(data.train.length + data.val.length + data.test.length, 20);
  assert.deepEqual([data.train.length, data.val.length, data.test.length], [12, 4, 4]);
  for (const example of [...data.train, ...data.val, ...data.test]) {
    assert.ok(existsSync(example.path), example.path);
    assert.match(example.contentHash, /^[0-9a-f]{64}$/);
    assert.equal(example.classIndex, example.path.includes('/cats/') ? 0 : 1);
    assert.deepEqual(getImagePath(ctx.services.app.db, example.imageId), { path: example.path, contentHash: example.contentHash });
  }
  assert.equal(data.dataHash, split.dataHash, 'the split records the hash of the data it was made from');
  // Relabelling one image changes the data hash; undoing it restores it.
  const image = data.train[0]!;
  const dogs = (await ctx.services.request('datasets.get', { datasetId })).classes.find((c) => c.name === 'dogs')!;
  const cats = (await ctx.services.request('datasets.get', { datasetId })).classes.find((c) => c.name === 'cats')!;
  const original = image.classIndex === 0 ? cats.id : dogs.id;
  await ctx.services.request('labels.assign', { datasetId, imageIds: [image.imageId], classId: image.classIndex === 0 ? dogs.id : cats.id });
  assert.notEqual(loadTrainingData(ctx.services.app.db, { datasetId }).dataHash, data.dataHash);
  await ctx.services.request('labels.set', { datasetId, labels: [{ imageId: image.imageId, classId: original }] });
  assert.equal(loadTrainingData(ctx.services.app.db, { datasetId }).dataHash, data.dataHash);
  assert.equal(getImagePath(ctx.services.app.db, 999_999), null);
});

test('refuses fewer than two classes and an unknown split', async () => {
  const get = await ctx.services.request('datasets.get', { datasetId });
  const dogs = get.classes.find((c) => c.name === 'dogs')!;
  assert.throws(() => loadTrainingData(ctx.services.app.db, { datasetId, splitId: 9999 }), /does not exist/);
  const ids = await ctx.services.request('images.ids', { datasetId, filter: { classId: dogs.id } });
  const { changes } = await ctx.services.request('labels.assign', { datasetId, imageIds: ids, classId: null });
  assert.throws(() => loadTrainingData(ctx.services.app.db, { datasetId }), /at least 2 classes/);
  await ctx.services.request('labels.set', { datasetId, labels: changes.map((c) => ({ imageId: c.imageId, classId: c.before })) });
  assert.equal(loadTrainingData(ctx.services.app.db, { datasetId }).classNames.length, 2);
});
