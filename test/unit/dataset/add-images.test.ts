// Issue 14 item 3: a wrong Try it answer on a photo from outside the dataset is added to it with its right label.
// datasets.addImages copies the photo under the class's folder (a new name, never overwriting), catalogues it as a
// manual label in the current split's training subset; datasets.removeAddedImages (undo) takes the copy back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { labelOf } from '../../../electron/catalogue/labels';
import { importFolder, openServices } from './helpers';
import { makeImage, writeClassFolders, writeImage } from '../../support/images';

async function petsDataset(app: ReturnType<typeof openServices>, options: { split: boolean }) {
  const root = join(app.dir, 'pets');
  await writeClassFolders(root, { cats: { count: 2, color: '#c86432' }, dogs: { count: 2, color: '#3264c8' } });
  const { datasetId } = await importFolder(app.services, root);
  if (options.split) await app.services.request('splits.create', { datasetId });
  const classes = (await app.services.request('datasets.get', { datasetId })).classes;
  return { root, datasetId, cats: classes.find((c) => c.name === 'cats')!.id, dogs: classes.find((c) => c.name === 'dogs')!.id };
}

function subsetOf(app: ReturnType<typeof openServices>, imageId: number): string | undefined {
  const row = app.services.app.db
    .prepare('SELECT subset FROM split_assignments WHERE image_id = ? AND split_id = (SELECT MAX(id) FROM splits)')
    .get(imageId) as { subset: string } | undefined;
  return row?.subset;
}

test('an uploaded photo is copied under its class folder, labelled by hand and put in the training subset', async () => {
  const app = openServices();
  try {
    const { root, datasetId, dogs } = await petsDataset(app, { split: true });
    const before = (await app.services.request('datasets.get', { datasetId })).latestSplit!;
    const bytes = await makeImage({ color: '#3264c8', variant: 40 });
    const upload = await app.services.request('export.upload', { name: 'wrongly-a-cat.jpg', data: bytes.toString('base64') });

    const result = await app.services.request('datasets.addImages', { datasetId, classId: dogs, images: [{ uploadId: upload.uploadId, name: upload.name }] });

    assert.equal(result.added.length, 1);
    assert.equal(result.added[0]!.relPath, 'dogs/wrongly-a-cat.jpg');
    assert.deepEqual(readFileSync(join(root, 'dogs', 'wrongly-a-cat.jpg')), bytes);
    const imageId = result.added[0]!.imageId;
    assert.deepEqual({ ...labelOf(app.services.app.db, imageId) }, { image_id: imageId, class_id: dogs, source: 'manual' });
    assert.equal(subsetOf(app, imageId), 'train');
    assert.equal(result.splitId, before.id, 'the split is kept, not redone');
    assert.match(result.message, /training subset/);
    const after = (await app.services.request('datasets.get', { datasetId })).latestSplit!;
    assert.equal(after.id, before.id);
    assert.equal(after.counts.train, before.counts.train + 1);
    assert.deepEqual({ val: after.counts.val, test: after.counts.test }, { val: before.counts.val, test: before.counts.test });

    // A re-import finds the copy as it was catalogued: unchanged, not a new or duplicate file.
    const again = await importFolder(app.services, root, { datasetId });
    assert.deepEqual({ imported: again.imported, duplicates: again.duplicates, rejected: again.rejected.length }, { imported: 0, duplicates: 0, rejected: 0 });
    assert.equal(labelOf(app.services.app.db, imageId)?.source, 'manual');
  } finally {
    await app.close();
  }
});

test('a name already taken, on disk or in the catalogue, gets a new one: nothing is overwritten', async () => {
  const app = openServices();
  try {
    const { root, datasetId, cats } = await petsDataset(app, { split: false });
    // cats/cats-000.jpg is an imported photo; cats/stray.jpg is on disk but not imported.
    const stray = await writeImage(join(root, 'cats', 'stray.jpg'), { color: '#101010' });
    const original = readFileSync(join(root, 'cats', 'cats-000.jpg'));
    const dropped = join(app.dir, 'dropped');
    const first = await writeImage(join(dropped, 'cats-000.jpg'), { color: '#c86432', variant: 50 });
    const second = await writeImage(join(dropped, 'elsewhere', 'stray.jpg'), { color: '#c86432', variant: 51 });

    const result = await app.services.request('datasets.addImages', {
      datasetId, classId: cats, images: [{ path: join(dropped, 'cats-000.jpg') }, { path: join(dropped, 'elsewhere', 'stray.jpg') }],
    });

    assert.deepEqual(result.added.map((added) => added.relPath), ['cats/cats-000 (2).jpg', 'cats/stray (2).jpg']);
    assert.deepEqual(readFileSync(join(root, 'cats', 'cats-000.jpg')), original);
    assert.deepEqual(readFileSync(join(root, 'cats', 'stray.jpg')), stray);
    assert.deepEqual(readFileSync(join(root, 'cats', 'cats-000 (2).jpg')), first);
    assert.deepEqual(readFileSync(join(root, 'cats', 'stray (2).jpg')), second);
    assert.equal(result.splitId, null);
    assert.match(result.message, /default split/);
  } finally {
    await app.close();
  }
});

test('bad input is refused in one line and nothing is written', async () => {
  const app = openServices();
  try {
    const { root, datasetId, cats, dogs } = await petsDataset(app, { split: true });
    const listing = () => readdirSync(join(root, 'cats')).sort();
    const before = listing();
    const dropped = join(app.dir, 'dropped');
    mkdirSync(dropped, { recursive: true });
    writeFileSync(join(dropped, 'notes.jpg'), 'this is a text file, not a photo\n');
    writeFileSync(join(dropped, 'empty.png'), '');
    const good = await writeImage(join(dropped, 'good.jpg'), { color: '#c86432', variant: 60 });
    execFileSync('mkfifo', [join(dropped, 'pipe.jpg')]);
    const add = (path: string, classId = cats) => app.services.request('datasets.addImages', { datasetId, classId, images: [{ path }] });
    const refusedWith = (code: string, words: RegExp) => (error: unknown) => {
      assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
      assert.equal(error.code, code);
      assert.match(error.message, words);
      assert.doesNotMatch(error.message, /\n|\bat .*\(/, 'one line, no stack');
      return true;
    };

    await assert.rejects(add(join(dropped, 'notes.jpg')), refusedWith('unsupported', /notes\.jpg was not added: not an image/));
    await assert.rejects(add(join(dropped, 'empty.png')), refusedWith('unsupported', /empty file/));
    await assert.rejects(add(join(dropped, 'pipe.jpg')), refusedWith('unsupported', /pipe\.jpg: not a regular file \(a named pipe \(FIFO\)\)/));
    await assert.rejects(add(join(dropped, 'gone.jpg')), refusedWith('not-found', /gone\.jpg: the file no longer exists/));
    await assert.rejects(add(dropped), refusedWith('unsupported', /not a regular file \(a folder\)/));
    await assert.rejects(add(join(root, 'cats', 'cats-001.jpg'), dogs), refusedWith('conflict', /already in "pets" as cats\/cats-001\.jpg/));
    // One bad photo among good ones: none is copied.
    await assert.rejects(
      app.services.request('datasets.addImages', { datasetId, classId: cats, images: [{ path: join(dropped, 'good.jpg') }, { path: join(dropped, 'notes.jpg') }] }),
      refusedWith('unsupported', /notes\.jpg/),
    );
    await assert.rejects(
      app.services.request('datasets.addImages', { datasetId, classId: 9999, images: [{ path: join(dropped, 'good.jpg') }] }),
      refusedWith('not-found', /Class 9999/),
    );
    await assert.rejects(
      app.services.request('datasets.addImages', { datasetId, classId: cats, images: [{ uploadId: 'u0123456789abcdef', name: 'x.jpg' }] }),
      refusedWith('not-found', /upload/i),
    );
    assert.deepEqual(listing(), before);
    assert.ok(good.length > 0);
    const summary = await app.services.request('datasets.get', { datasetId });
    assert.equal(summary.counts.ok, 4);
  } finally {
    await app.close();
  }
});

test('unicode names and classes survive the copy; a file without an extension gets its format\'s', async () => {
  const app = openServices();
  try {
    const { root, datasetId } = await petsDataset(app, { split: true });
    const chats = await app.services.request('classes.create', { datasetId, name: 'Chats noirs 🐈‍⬛ é' });
    const dropped = join(app.dir, 'dropped');
    const bytes = await writeImage(join(dropped, 'minou été 🐾.jpg'), { color: '#202020', variant: 70 });
    const png = await makeImage({ color: '#202020', variant: 71, format: 'png' });
    writeFileSync(join(dropped, 'clipboard'), png);

    const result = await app.services.request('datasets.addImages', {
      datasetId, classId: chats.id, images: [{ path: join(dropped, 'minou été 🐾.jpg') }, { path: join(dropped, 'clipboard') }],
    });

    assert.deepEqual(result.added.map((added) => added.relPath), ['Chats noirs 🐈‍⬛ é/minou été 🐾.jpg', 'Chats noirs 🐈‍⬛ é/clipboard.png']);
    assert.deepEqual(readFileSync(join(root, 'Chats noirs 🐈‍⬛ é', 'minou été 🐾.jpg')), bytes);
    const detail = await app.services.request('images.detail', { imageId: result.added[0]!.imageId });
    assert.equal(detail.className, 'Chats noirs 🐈‍⬛ é');
    assert.equal(detail.status, 'ok');
  } finally {
    await app.close();
  }
});

test('undo removes the copy it made and its catalogue row, and nothing else', async () => {
  const app = openServices();
  try {
    const { root, datasetId, dogs } = await petsDataset(app, { split: true });
    const dropped = join(app.dir, 'dropped');
    await writeImage(join(dropped, 'a.jpg'), { color: '#3264c8', variant: 80 });
    await writeImage(join(dropped, 'b.jpg'), { color: '#3264c8', variant: 81 });
    const [a, b] = (await app.services.request('datasets.addImages', { datasetId, classId: dogs, images: [{ path: join(dropped, 'a.jpg') }, { path: join(dropped, 'b.jpg') }] })).added;
    // The user edited b.jpg's copy since: undo forgets it in the catalogue but leaves the file.
    writeFileSync(join(root, 'dogs', 'b.jpg'), await makeImage({ color: '#000000' }));

    const undone = await app.services.request('datasets.removeAddedImages', { datasetId, imageIds: [a!.imageId, b!.imageId] });

    assert.deepEqual(undone, { removed: 2, kept: ['dogs/b.jpg'] });
    assert.equal(existsSync(join(root, 'dogs', 'a.jpg')), false);
    assert.equal(existsSync(join(root, 'dogs', 'b.jpg')), true);
    assert.equal(existsSync(join(dropped, 'a.jpg')), true, 'the original is never touched');
    assert.equal((await app.services.request('datasets.get', { datasetId })).counts.ok, 4);
    // An image the user imported is not Try it's to delete, and an undone add cannot be undone twice.
    const imported = (await app.services.request('images.query', { datasetId })).items[0]!;
    await assert.rejects(app.services.request('datasets.removeAddedImages', { datasetId, imageIds: [imported.id] }), /not added .* by Try it/);
    await assert.rejects(app.services.request('datasets.removeAddedImages', { datasetId, imageIds: [a!.imageId] }), /not added/);
    assert.ok(existsSync(join(root, imported.relPath)));
  } finally {
    await app.close();
  }
});
