import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { looksTruncated, sniffFormat } from '../../../electron/imaging/image-policy';
import { csvCell } from '../../../electron/dataset/export-labels';
import { isHiddenOrSystem } from '../../../electron/dataset/walk';
import { makeImage, writeClassFolders, writeImage } from '../../support/images';
import { importFolder, openServices } from './helpers';

let ctx: ReturnType<typeof openServices>;
let datasetId: number;
before(async () => {
  ctx = openServices();
  const root = join(ctx.dir, 'pets');
  await writeClassFolders(root, { cats: { count: 8, color: '#aa3311' }, dogs: { count: 8, color: '#1133aa' } });
  for (let i = 0; i < 4; i++) await writeImage(join(root, `loose-${i}.jpg`), { color: '#33aa33', variant: i });
  datasetId = (await importFolder(ctx.services, root)).datasetId;
});
after(async () => ctx.close());

test('classes: create, rename, recolour, delete (its images become unlabelled), with clear conflicts', async () => {
  const { request } = ctx.services;
  const birds = await request('classes.create', { datasetId, name: 'birds' });
  assert.match(birds.color, /^#[0-9a-f]{6}$/);
  await assert.rejects(request('classes.create', { datasetId, name: 'Birds' }), (error: unknown) => error instanceof AppError && error.code === 'conflict');
  await assert.rejects(request('classes.create', { datasetId, name: 'a/b' }), /slashes/);
  await assert.rejects(request('classes.rename', { classId: birds.id, name: 'cats' }), /already a class named "cats"/);
  assert.equal((await request('classes.rename', { classId: birds.id, name: 'parrots' })).name, 'parrots');
  assert.equal((await request('classes.recolour', { classId: birds.id, color: '#123456' })).color, '#123456');
  const loose = await request('images.ids', { datasetId, filter: { unlabelled: true } });
  assert.equal(loose.length, 4);
  const { changes } = await request('labels.assign', { datasetId, imageIds: loose, classId: birds.id });
  assert.equal(changes.length, 4);
  assert.deepEqual((await request('labels.assign', { datasetId, imageIds: loose, classId: birds.id })).changes, [], 'assigning again changes nothing');
  const detail = await request('images.detail', { imageId: loose[0]! });
  assert.equal(detail.className, 'parrots');
  assert.deepEqual(detail.history.map((entry) => [entry.className, entry.source]), [['parrots', 'manual']]);
  assert.deepEqual(await request('classes.delete', { classId: birds.id }), { unlabelled: 4 });
  assert.equal((await request('datasets.get', { datasetId })).counts.unlabelled, 4);
  assert.deepEqual((await request('images.detail', { imageId: loose[0]! })).history.map((entry) => entry.className), ['parrots', null]);
});

test('labels.set is idempotent and refuses images or classes of another dataset', async () => {
  const { request } = ctx.services;
  const [cats, dogs] = (await request('datasets.get', { datasetId })).classes;
  const ids = await request('images.ids', { datasetId, filter: { classId: cats!.id } });
  const first = await request('labels.set', { datasetId, labels: [{ imageId: ids[0]!, classId: dogs!.id }] });
  assert.equal(first.changes.length, 1);
  assert.deepEqual((await request('labels.set', { datasetId, labels: [{ imageId: ids[0]!, classId: dogs!.id }] })).changes, []);
  await request('labels.set', { datasetId, labels: [{ imageId: ids[0]!, classId: cats!.id }] });
  const other = await importFolder(ctx.services, join(ctx.dir, 'pets', 'cats'), { name: 'just cats' });
  await assert.rejects(request('labels.set', { datasetId: other.datasetId, labels: [{ imageId: ids[0]!, classId: null }] }), /not in dataset/);
  await assert.rejects(request('labels.assign', { datasetId, imageIds: [ids[0]!], classId: 99_999 }), /not in dataset/);
});

test('the random row per class is seeded and only shows that class', async () => {
  const { request } = ctx.services;
  const a = await request('images.sample', { datasetId, perClass: 3, seed: 5 });
  const b = await request('images.sample', { datasetId, perClass: 3, seed: 5 });
  assert.deepEqual(a, b);
  for (const row of a) {
    assert.equal(row.imageIds.length, 3);
    for (const id of row.imageIds) assert.equal((await request('images.detail', { imageId: id })).classId, row.classId);
  }
  const paged = await request('images.query', { datasetId, offset: 5, limit: 5 });
  assert.equal(paged.items.length, 5);
  assert.equal(paged.total, 20);
  await assert.rejects(request('images.query', { datasetId, limit: 5000 }), /limit/);
});

test('format sniffing, truncation check, CSV cells and system files', async () => {
  assert.equal(sniffFormat(Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic')])), 'HEIC');
  assert.equal(sniffFormat(Buffer.from('BMW notes, not a bitmap at all')), null);
  const jpeg = await makeImage();
  assert.equal(looksTruncated(jpeg), false);
  assert.equal(looksTruncated(jpeg.subarray(0, jpeg.length - 10)), true);
  const png = await makeImage({ format: 'png' });
  assert.equal(looksTruncated(png), false);
  assert.equal(looksTruncated(png.subarray(0, png.length - 20)), true);
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.ok(isHiddenOrSystem('.DS_Store') && isHiddenOrSystem('Thumbs.db') && isHiddenOrSystem('desktop.ini') && !isHiddenOrSystem('cat.jpg'));
});
