import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { createDataset, startImportRow } from '../../../electron/catalogue/datasets';
import { runImport } from '../../../electron/dataset/importer';
import type { ImportOutcome } from '../../../electron/dataset/importer';
import { makeImage, pixels, pngHeaderOnly, writeImage } from '../../support/images';
import { openServices } from './helpers';

let ctx: ReturnType<typeof openServices>;
let root: string;
let datasetId: number;

async function importOnce(afterScan?: Parameters<typeof runImport>[0]['afterScan']): Promise<ImportOutcome> {
  const db = ctx.services.app.db;
  return runImport({ db, datasetId, importId: startImportRow(db, datasetId), root, afterScan });
}

interface Row {
  id: number;
  rel_path: string;
  status: string;
  reason: string | null;
  width: number | null;
  height: number | null;
  format: string | null;
  color_space: string | null;
  channels: number | null;
  has_alpha: number | null;
  orientation: number | null;
  duplicate_of: number | null;
}

function rows(): Map<string, Row> {
  const all = ctx.services.app.db.prepare('SELECT * FROM images WHERE dataset_id = ?').all(datasetId) as Row[];
  return new Map(all.map((row) => [row.rel_path, row]));
}

before(async () => {
  ctx = openServices();
  root = join(ctx.dir, 'corpus');
  mkdirSync(root);
  datasetId = createDataset(ctx.services.app.db, 'corpus', root, 'folders').id;
});
after(async () => ctx.close());

test('every file of the bad-input corpus gets a specific reason or imports correctly, and stored labels survive', async () => {
  const db = ctx.services.app.db;
  // A clean start, then a label set by hand that later imports must not touch.
  await writeImage(join(root, 'cats/a.jpg'), { color: '#aa2200' });
  await writeImage(join(root, 'dogs/b.jpg'), { color: '#0022aa' });
  assert.equal((await importOnce()).status, 'completed');
  const before = rows();
  const dogsId = (db.prepare(`SELECT id FROM classes WHERE name = 'dogs'`).get() as { id: number }).id;
  await ctx.services.request('labels.assign', { datasetId, imageIds: [before.get('cats/a.jpg')!.id], classId: dogsId });
  const historyBefore = db.prepare('SELECT COUNT(*) AS n FROM label_history').get() as { n: number };

  const good = await makeImage({ width: 320, height: 240, color: '#336699', variant: 3 });
  // Corrupt: the quantisation/huffman tables overwritten with junk.
  const corrupt = Buffer.from(good);
  for (let i = 20; i < 400; i++) corrupt[i] = (i * 37) & 0xff;
  writeFileSync(join(root, 'cats/corrupt.jpg'), corrupt);
  // Truncated: a noisy photo-sized image cut in half.
  const noisy = pixels({ width: 400, height: 300 });
  for (let i = 0; i < noisy.data.length; i++) noisy.data[i] = (i * 2654435761) >>> 24;
  const big = await sharp(noisy.data, { raw: { width: 400, height: 300, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  writeFileSync(join(root, 'cats/truncated.jpg'), big.subarray(0, Math.floor(big.length * 0.5)));
  writeFileSync(join(root, 'cats/empty.jpg'), Buffer.alloc(0));
  // 300 MB, sparse (no disk used): must be rejected without being read into memory.
  writeFileSync(join(root, 'cats/video.jpg'), Buffer.alloc(0));
  truncateSync(join(root, 'cats/video.jpg'), 300 * 1024 ** 2);
  writeFileSync(join(root, 'cats/notes.jpg'), 'these are not the pixels you are looking for\n');
  writeFileSync(join(root, 'cats/huge.png'), pngHeaderOnly(50_000, 50_000));
  // An HEIC header (ftyp box with the heic brand).
  writeFileSync(join(root, 'cats/phone.heic'), Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(64)]));
  await sharp(pixels({ width: 50, height: 30 }).data, { raw: { width: 50, height: 30, channels: 3 } }).toColourspace('cmyk').jpeg().toFile(join(root, 'cats/cmyk.jpg'));
  await sharp(pixels({ width: 50, height: 30 }).data, { raw: { width: 50, height: 30, channels: 3 } }).toColourspace('rgb16').png().toFile(join(root, 'cats/deep.png'));
  await sharp(pixels({ width: 50, height: 30 }).data, { raw: { width: 50, height: 30, channels: 3 } }).toColourspace('b-w').png().toFile(join(root, 'cats/grey.png'));
  await writeImage(join(root, 'cats/alpha.png'), { format: 'png', alpha: true, width: 40, height: 40 });
  await sharp(pixels({ width: 60, height: 40 }).data, { raw: { width: 60, height: 40, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toFile(join(root, 'cats/rotated.jpg'));
  await writeImage(join(root, 'dogs/chien été 🐕 (1).jpg'), { color: '#117711' });
  writeFileSync(join(root, 'dogs/copy of b.jpg'), await makeImage({ color: '#0022aa' }));
  symlinkSync('..', join(root, 'dogs/loop'));
  await writeImage(join(root, 'dogs/vanishing.jpg'), { color: '#aaaa00' });
  await writeImage(join(root, 'dogs/changing.jpg'), { color: '#00aaaa' });
  writeFileSync(join(root, 'dogs/.hidden.jpg'), good);
  writeFileSync(join(root, 'Thumbs.db'), 'system file');

  const outcome = await importOnce(async () => {
    rmSync(join(root, 'dogs/vanishing.jpg'));
    appendFileSync(join(root, 'dogs/changing.jpg'), Buffer.alloc(100));
  });
  assert.equal(outcome.status, 'completed', outcome.error ?? '');
  const after = rows();
  const reason = (path: string) => {
    const row = after.get(path);
    assert.ok(row, `${path} is in the catalogue`);
    return `${row.status}: ${row.reason}`;
  };
  assert.match(reason('cats/corrupt.jpg'), /^rejected: (corrupt image|truncated file)/);
  assert.match(reason('cats/truncated.jpg'), /^rejected: truncated file/);
  assert.match(reason('cats/empty.jpg'), /^rejected: empty file \(0 bytes\)/);
  assert.match(reason('cats/video.jpg'), /^rejected: too large for an image \(300 MB/);
  assert.match(reason('cats/notes.jpg'), /^rejected: not an image/);
  assert.match(reason('cats/huge.png'), /^rejected: image too large: 50000x50000 pixels/);
  assert.match(reason('cats/phone.heic'), /^rejected: unsupported format \(HEIC\)/);
  assert.match(reason('dogs/loop'), /^rejected: symbolic link loop/);
  assert.match(reason('dogs/vanishing.jpg'), /^rejected: deleted during import/);
  assert.match(reason('dogs/changing.jpg'), /^rejected: changed during import/);
  assert.match(reason('dogs/copy of b.jpg'), /^duplicate: exact duplicate/);
  assert.equal(after.get('dogs/copy of b.jpg')!.duplicate_of, before.get('dogs/b.jpg')!.id);
  assert.ok(!after.has('dogs/.hidden.jpg') && !after.has('Thumbs.db'), 'hidden and system files are skipped');

  const ok = (path: string) => {
    const row = after.get(path);
    assert.equal(row?.status, 'ok', `${path}: ${row?.reason}`);
    return row!;
  };
  assert.equal(ok('cats/cmyk.jpg').color_space, 'cmyk');
  assert.equal(ok('cats/deep.png').color_space, 'rgb16');
  assert.equal(ok('cats/grey.png').channels, 1);
  assert.equal(ok('cats/alpha.png').has_alpha, 1);
  const rotated = ok('cats/rotated.jpg');
  assert.deepEqual([rotated.orientation, rotated.width, rotated.height], [6, 40, 60], 'dimensions are after EXIF orientation');
  assert.equal(ok('dogs/chien été 🐕 (1).jpg').format, 'jpeg');

  // The hand-set label and the history are untouched.
  assert.equal((db.prepare('SELECT class_id, source FROM labels WHERE image_id = ?').get(before.get('cats/a.jpg')!.id) as { class_id: number }).class_id, dogsId);
  const newHistory = db.prepare(`SELECT COUNT(*) AS n FROM label_history WHERE image_id IN (?, ?)`).get(before.get('cats/a.jpg')!.id, before.get('dogs/b.jpg')!.id) as { n: number };
  assert.equal(newHistory.n, 3, 'two folder labels and one manual change, nothing more');
  assert.ok((db.prepare('SELECT COUNT(*) AS n FROM label_history').get() as { n: number }).n > historyBefore.n, 'new files got folder labels');

  // A thumbnail exists for each decodable image and is served by id.
  const thumb = await ctx.services.app.media.resolve('thumb', String(rotated.id));
  assert.ok(thumb);
  const meta = await sharp(thumb.path).metadata();
  assert.deepEqual([meta.width, meta.height], [40, 60], 'the thumbnail is upright');
  assert.equal(await ctx.services.app.media.resolve('thumb', String(after.get('cats/notes.jpg')!.id)), null);
  assert.equal((await ctx.services.app.media.resolve('image', String(rotated.id)))?.contentType, 'image/jpeg');
});

test('a second import retries the files that changed or vanished mid-import and marks deleted ones missing', async () => {
  const outcome = await importOnce();
  assert.equal(outcome.status, 'completed');
  const after = rows();
  assert.equal(after.get('dogs/changing.jpg')!.status, 'ok', 'read again now that it is stable');
  assert.equal(after.get('dogs/vanishing.jpg')!.status, 'missing');
  assert.equal(after.get('cats/notes.jpg')!.status, 'rejected', 'permanently bad files stay rejected');
  assert.equal(outcome.counters.imported, 1);
});
