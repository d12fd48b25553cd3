// The importer at scale: batched transactions, statements prepared once, thumbnails from the validating decode.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataset, startImportRow } from '../../../electron/catalogue/datasets';
import { runImport } from '../../../electron/dataset/importer';
import { thumbnailPath } from '../../../electron/dataset/thumbnails';
import { makeImage, writeClassFolders } from '../../support/images';
import { openServices } from './helpers';

let ctx: ReturnType<typeof openServices>;
let root: string;
const PER_CLASS = 90;

before(async () => {
  ctx = openServices();
  root = join(ctx.dir, 'photos');
  await writeClassFolders(root, { cats: { count: PER_CLASS, color: '#aa3311' }, dogs: { count: PER_CLASS, color: '#1133aa' } }, { width: 160, height: 16 }); // 160 px wide: 160 distinct stripe offsets, so no two files are duplicates
});
after(async () => ctx.close());

function newImport(name: string): { datasetId: number; importId: number } {
  const db = ctx.services.app.db;
  const datasetId = createDataset(db, name, root, 'folders').id;
  return { datasetId, importId: startImportRow(db, datasetId) };
}

test('an import commits its files in batches of batchSize, in path order, not a transaction per few files', async () => {
  const db = ctx.services.app.db;
  const commits: number[] = [];
  const outcome = await runImport({
    db, ...newImport('batched'), root, batchSize: 60, batchMilliseconds: 60_000, afterBatch: (committed) => commits.push(committed),
  });
  assert.equal(outcome.status, 'completed', outcome.error ?? '');
  assert.equal(outcome.counters.imported, 2 * PER_CLASS);
  assert.deepEqual(commits, [60, 120, 180], 'three transactions of 60 files');
});

test('the images statements are prepared once per catalogue, not once per file', async () => {
  const db = ctx.services.app.db;
  const prepare = db.prepare.bind(db);
  let imageWrites = 0;
  db.prepare = ((sql: string) => {
    if (/^\s*(INSERT INTO images|UPDATE images)/.test(sql)) imageWrites++;
    return prepare(sql);
  }) as typeof db.prepare;
  try {
    const first = await runImport({ db, ...newImport('prepared-once'), root });
    assert.equal(first.status, 'completed', first.error ?? '');
    // A second dataset on the same connection reuses them too.
    const second = await runImport({ db, ...newImport('prepared-twice'), root });
    assert.equal(second.status, 'completed', second.error ?? '');
  } finally {
    db.prepare = prepare;
  }
  assert.ok(imageWrites <= 1, `the images INSERT was prepared ${imageWrites} times for ${4 * PER_CLASS} files`);
});

test('with a thumbnail folder, every decodable file has its thumbnail when the import ends; a damaged one is still rejected', async () => {
  const db = ctx.services.app.db;
  const thumbnails = join(ctx.dir, 'thumbs-at-import');
  const damaged = join(root, 'cats', 'zz-damaged.jpg');
  const whole = await makeImage({ width: 64, height: 48, color: '#336699' });
  writeFileSync(damaged, whole.subarray(0, Math.floor(whole.length * 0.6)));
  try {
    const { datasetId, importId } = newImport('thumbnails');
    const outcome = await runImport({ db, datasetId, importId, root, thumbnails });
    assert.equal(outcome.status, 'completed', outcome.error ?? '');
    const rows = db.prepare('SELECT rel_path, status, reason, content_hash FROM images WHERE dataset_id = ?').all(datasetId) as Array<{
      rel_path: string; status: string; reason: string | null; content_hash: string;
    }>;
    const ok = rows.filter((row) => row.status === 'ok');
    assert.equal(ok.length, 2 * PER_CLASS);
    const without = ok.filter((row) => !existsSync(thumbnailPath(thumbnails, row.content_hash)));
    assert.deepEqual(without.map((row) => row.rel_path), [], 'no decodable image waits for its thumbnail');
    const rejected = rows.find((row) => row.rel_path === 'cats/zz-damaged.jpg');
    assert.equal(rejected?.status, 'rejected');
    assert.match(rejected?.reason ?? '', /truncated|corrupt|damaged/i);
    assert.equal(existsSync(thumbnailPath(thumbnails, rejected!.content_hash)), false, 'and no thumbnail for it');
  } finally {
    writeFileSync(damaged, whole); // leave the folder decodable for the other tests
  }
});

test('an unchanged re-scan reads no file and does not group every image by content hash', async () => {
  const db = ctx.services.app.db;
  const { datasetId } = newImport('rescan');
  const first = await runImport({ db, datasetId, importId: startImportRow(db, datasetId), root });
  assert.equal(first.status, 'completed', first.error ?? '');
  const prepare = db.prepare.bind(db);
  let ownerQueries = 0;
  db.prepare = ((sql: string) => {
    if (/GROUP BY content_hash/.test(sql)) ownerQueries++;
    return prepare(sql);
  }) as typeof db.prepare;
  let commits = 0;
  try {
    const rescan = await runImport({ db, datasetId, importId: startImportRow(db, datasetId), root, afterBatch: () => commits++ });
    assert.equal(rescan.counters.unchanged, first.counters.scanned);
  } finally {
    db.prepare = prepare;
  }
  assert.equal(commits, 0, 'nothing was read, so nothing was committed');
  assert.equal(ownerQueries, 0, 'the hash owners are looked up only when a file is read');
});
