import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataset, startImportRow } from '../../../electron/catalogue/datasets';
import { runImport } from '../../../electron/dataset/importer';
import { ensureThumbnail, thumbnailPath } from '../../../electron/dataset/thumbnails';
import { makeImage, writeImage } from '../../support/images';
import { importFolder, openServices } from './helpers';

const noLinks = process.platform === 'win32' && 'symbolic links need privileges on Windows';

let ctx: ReturnType<typeof openServices>;

before(() => {
  ctx = openServices();
});
after(async () => ctx.close());

function rows(datasetId: number): Map<string, { id: number; status: string; reason: string | null; content_hash: string | null }> {
  const all = ctx.services.app.db.prepare('SELECT id, rel_path, status, reason, content_hash FROM images WHERE dataset_id = ?').all(datasetId) as {
    id: number;
    rel_path: string;
    status: string;
    reason: string | null;
    content_hash: string | null;
  }[];
  return new Map(all.map((row) => [row.rel_path, row]));
}

test('links leading outside the imported folder are rejected with the reason and not followed; links inside still import', { skip: noLinks }, async () => {
  const outside = join(ctx.dir, 'outside');
  await writeImage(join(outside, 'secret.jpg'), { color: '#660000' });
  await writeImage(join(outside, 'folder/inner.jpg'), { color: '#006600' });
  const root = join(ctx.dir, 'linked');
  await writeImage(join(root, 'cats/a.jpg'), { color: '#000066' });
  await writeImage(join(root, '.store/kept.jpg'), { color: '#666600' });
  await writeImage(join(root, 'photos/p.jpg'), { color: '#006666' });
  symlinkSync(join(outside, 'secret.jpg'), join(root, 'cats/secret.jpg'));
  symlinkSync(join(outside, 'folder'), join(root, 'elsewhere'));
  symlinkSync('../.store/kept.jpg', join(root, 'cats/kept.jpg'));
  symlinkSync('photos', join(root, 'alias'));
  symlinkSync('..', join(root, 'cats/loop'));
  const datasetId = createDataset(ctx.services.app.db, 'linked', root, 'folders').id;
  // The reason names the real target (the temp folder may itself sit behind a link, as /tmp does on macOS).
  const realOutside = realpathSync(outside);

  const db = ctx.services.app.db;
  const outcome = await runImport({ db, datasetId, importId: startImportRow(db, datasetId), root });
  assert.equal(outcome.status, 'completed', outcome.error ?? '');
  const found = rows(datasetId);
  assert.deepEqual(
    { status: found.get('cats/secret.jpg')?.status, reason: found.get('cats/secret.jpg')?.reason },
    { status: 'rejected', reason: `symbolic link to outside the imported folder (${join(realOutside, 'secret.jpg')})` },
  );
  assert.deepEqual(
    { status: found.get('elsewhere')?.status, reason: found.get('elsewhere')?.reason },
    { status: 'rejected', reason: `symbolic link to outside the imported folder (${join(realOutside, 'folder')})` },
  );
  assert.ok(![...found.keys()].some((path) => path.includes('inner.jpg')), 'the outside folder is not walked');
  assert.equal(found.get('cats/kept.jpg')?.status, 'ok', 'a link to a file inside the folder imports');
  // The folder link sorts before photos/, so photos/ is walked through it and then not again.
  assert.equal(found.get('alias/p.jpg')?.status, 'ok', 'a link to a folder inside the folder imports');
  assert.equal(found.get('cats/a.jpg')?.status, 'ok');
  assert.match(found.get('cats/loop')?.reason ?? '', /^symbolic link loop/, 'loops are still reported');
});

test('media are served only while the file still holds the bytes the catalogue hashed', async () => {
  const root = join(ctx.dir, 'served');
  const original = await writeImage(join(root, 'dogs/d.jpg'), { color: '#113355', width: 80, height: 60 });
  const summary = await importFolder(ctx.services, root);
  assert.equal(summary.status, 'completed');
  const row = rows(summary.datasetId).get('dogs/d.jpg')!;
  assert.equal(row.status, 'ok');
  const id = String(row.id);
  const media = ctx.services.app.media;
  const thumbnails = ctx.services.app.paths.thumbnails;

  const served = await media.resolve('image', id);
  assert.ok(served, 'an unchanged file is served');
  assert.equal(served.contentType, 'image/jpeg');
  assert.deepEqual(served.bytes, original, 'the answer carries the bytes that were checked');

  // The import made the thumbnail from the bytes it hashed; drop it so the swap below must not make one.
  assert.ok(existsSync(thumbnailPath(thumbnails, row.content_hash!)), 'the import made the thumbnail');
  rmSync(thumbnailPath(thumbnails, row.content_hash!));

  // Another valid image of the same size class in its place: a different hash.
  writeFileSync(join(root, 'dogs/d.jpg'), await makeImage({ color: '#993311', width: 80, height: 60 }));
  assert.equal(await media.resolve('image', id), null, 'a swapped file is not served');
  assert.equal(await media.resolve('thumb', id), null, 'nor is a thumbnail made from it');
  assert.equal(existsSync(thumbnailPath(thumbnails, row.content_hash!)), false, 'the cache is not poisoned');

  // The original bytes back: served again, and the thumbnail is made from them.
  writeFileSync(join(root, 'dogs/d.jpg'), original);
  assert.ok(await media.resolve('image', id));
  const thumb = await media.resolve('thumb', id);
  assert.ok(thumb);
  assert.equal(thumb.path, thumbnailPath(thumbnails, row.content_hash!));
  assert.ok(readFileSync(thumb.path).length > 0);
});

test('ensureThumbnail refuses bytes whose hash is not the one the thumbnail is cached under', async () => {
  const source = join(ctx.dir, 'source.jpg');
  mkdirSync(ctx.dir, { recursive: true });
  writeFileSync(source, await makeImage({ color: '#445566' }));
  const wrongHash = 'cd'.repeat(32);
  assert.equal(await ensureThumbnail(ctx.services.app.paths.thumbnails, wrongHash, source), null);
  assert.equal(existsSync(thumbnailPath(ctx.services.app.paths.thumbnails, wrongHash)), false);
});
