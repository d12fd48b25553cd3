import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, utimesSync, existsSync, readdirSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeClassFolders, writeImage } from '../../support/images';
import { importFolder, openServices } from './helpers';
import { assignStratified, subsetSizes } from '../../../electron/dataset/split';
import { detectLayout, folderLabel } from '../../../electron/dataset/layout';
import { runCli } from '../../../electron/cli/main';

let ctx: ReturnType<typeof openServices>;
let root: string;
let datasetId: number;

before(async () => {
  ctx = openServices();
  root = join(ctx.dir, 'pets');
  await writeClassFolders(root, { cats: { count: 30, color: '#aa3311' }, dogs: { count: 20, color: '#1133aa' }, birds: { count: 5, color: '#11aa33' } });
  const first = await importFolder(ctx.services, root);
  datasetId = first.datasetId;
  assert.deepEqual([first.imported, first.duplicates, first.rejected.length], [55, 0, 0]);
  assert.deepEqual(first.classes, { birds: 5, cats: 30, dogs: 20 });
});
after(async () => ctx.close());

function snapshot() {
  const db = ctx.services.app.db;
  return {
    images: db.prepare('SELECT id, rel_path, content_hash, status, imported_at FROM images ORDER BY id').all(),
    labels: db.prepare('SELECT image_id, class_id, source, updated_at FROM labels ORDER BY image_id').all(),
    history: db.prepare('SELECT COUNT(*) AS n FROM label_history').get(),
  };
}

test('re-importing an unchanged folder changes nothing and reads no file', async () => {
  const before = snapshot();
  const again = await importFolder(ctx.services, root);
  assert.equal(again.datasetId, datasetId, 'the same folder maps to the same dataset');
  assert.deepEqual([again.imported, again.unchanged, again.missing], [0, 55, 0]);
  assert.deepEqual(snapshot(), before);
});

test('re-import adds new files, marks vanished ones missing, keeps manual labels, follows edits', async () => {
  const db = ctx.services.app.db;
  const dataset = await ctx.services.request('datasets.get', { datasetId });
  const dogs = dataset.classes.find((c) => c.name === 'dogs')!;
  const catIds = await ctx.services.request('images.ids', { datasetId, filter: { classId: dataset.classes.find((c) => c.name === 'cats')!.id } });
  // A person says cats-000 is a dog.
  await ctx.services.request('labels.assign', { datasetId, imageIds: [catIds[0]!], classId: dogs.id });
  await writeImage(join(root, 'cats/cats-new.jpg'), { color: '#ff0000', variant: 99 });
  rmSync(join(root, 'dogs/dogs-000.jpg'));
  // Touching a file (same bytes, new mtime) re-reads it but it stays the same image.
  utimesSync(join(root, 'birds/birds-000.jpg'), new Date(), new Date(Date.now() + 5000));
  const summary = await importFolder(ctx.services, root);
  assert.deepEqual([summary.imported, summary.missing, summary.duplicates], [2, 1, 0]);
  const label = db.prepare('SELECT class_id, source FROM labels WHERE image_id = ?').get(catIds[0]!) as { class_id: number; source: string };
  assert.deepEqual(label, { class_id: dogs.id, source: 'manual' });
  const missing = await ctx.services.request('images.query', { datasetId, filter: { status: 'missing' } });
  assert.deepEqual(missing.items.map((item) => item.relPath), ['dogs/dogs-000.jpg']);
  // Unlabelled by hand stays unlabelled after a re-import of an edited file.
  const bird = (await ctx.services.request('images.query', { datasetId, filter: { status: 'ok' }, limit: 1 })).items[0]!;
  await ctx.services.request('labels.assign', { datasetId, imageIds: [bird.id], classId: null });
  utimesSync(join(root, bird.relPath), new Date(), new Date(Date.now() + 9000));
  await importFolder(ctx.services, root);
  assert.equal((await ctx.services.request('images.detail', { imageId: bird.id })).classId, null);
  // Putting the deleted file back restores it.
  await writeImage(join(root, 'dogs/dogs-000.jpg'), { color: '#1133aa', variant: 0 });
  const restored = await importFolder(ctx.services, root);
  assert.equal(restored.missing, 0);
  assert.equal((await ctx.services.request('images.query', { datasetId, filter: { status: 'missing' } })).total, 0);
});

test('splits are deterministic, stratified, recorded with their seed, and duplicates follow their original', async () => {
  // Add a duplicate: same bytes as cats-005 under another name.
  const copyPath = join(root, 'cats/zz-copy.jpg');
  await writeImage(copyPath, { color: '#aa3311', variant: 5 });
  const summary = await importFolder(ctx.services, root);
  assert.equal(summary.duplicates, 1);
  const a = await ctx.services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 7 });
  const b = await ctx.services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 7 });
  const c = await ctx.services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 8 });
  const assignments = (splitId: number) =>
    ctx.services.app.db.prepare('SELECT image_id, subset FROM split_assignments WHERE split_id = ? ORDER BY image_id').all(splitId) as Array<{ image_id: number; subset: string }>;
  assert.deepEqual(assignments(a.id), assignments(b.id), 'same seed, same split');
  assert.notDeepEqual(assignments(a.id), assignments(c.id), 'another seed, another split');
  assert.equal(a.dataHash, b.dataHash);
  assert.equal(a.seed, 7);
  for (const [name, counts] of Object.entries(a.perClass)) {
    const n = counts.train + counts.val + counts.test;
    assert.deepEqual(counts, subsetSizes(n, { train: 0.6, val: 0.2, test: 0.2 }), `${name} is stratified`);
  }
  const db = ctx.services.app.db;
  const duplicate = db.prepare(`SELECT id, duplicate_of FROM images WHERE status = 'duplicate'`).get() as { id: number; duplicate_of: number };
  const subsetOf = (id: number) => (db.prepare('SELECT subset FROM split_assignments WHERE split_id = ? AND image_id = ?').get(a.id, id) as { subset: string }).subset;
  assert.equal(subsetOf(duplicate.id), subsetOf(duplicate.duplicate_of), 'leakage guard');
  // Filter by subset matches the split counts.
  assert.equal((await ctx.services.request('images.query', { datasetId, filter: { subset: 'val' } })).total, c.counts.val);
  await assert.rejects(ctx.services.request('splits.create', { datasetId, train: 0.5, val: 0.2, test: 0.2 }), /add up to 1/);
  await assert.rejects(ctx.services.request('splits.create', { datasetId, preset: 'tutorial' }), /tutorial layout/);
});

test('the split does not depend on row ids or import order, only on content, labels and seed', () => {
  const images = Array.from({ length: 40 }, (_, i) => ({ imageId: i + 1, contentHash: `h${String(i).padStart(3, '0')}`, className: i % 2 ? 'a' : 'b', folderSplit: null }));
  const renumbered = images.map((image) => ({ ...image, imageId: 1000 - image.imageId })).reverse();
  const bySubset = (map: Map<number, string>, list: typeof images) => list.map((image) => `${image.contentHash}:${map.get(image.imageId)}`).sort();
  assert.deepEqual(bySubset(assignStratified(images, { train: 0.7, val: 0.2, test: 0.1, seed: 1 }), images), bySubset(assignStratified(renumbered, { train: 0.7, val: 0.2, test: 0.1, seed: 1 }), renumbered));
  assert.deepEqual(subsetSizes(2, { train: 0.7, val: 0.2, test: 0.1 }), { train: 1, val: 1, test: 0 });
  assert.deepEqual(subsetSizes(1, { train: 0.7, val: 0.2, test: 0.1 }), { train: 1, val: 0, test: 0 });
});

test('the tutorial layout gives labels and the tutorial split: test is 1/5 of validation', async () => {
  assert.equal(detectLayout(['train/cats/a.jpg', 'validation/dogs/b.jpg']), 'tutorial');
  assert.equal(detectLayout(['cats/a.jpg']), 'folders');
  assert.equal(detectLayout(['a.jpg']), 'flat');
  assert.deepEqual(folderLabel('validation/dogs/x/b.jpg', 'tutorial'), { label: 'dogs', split: 'val' });
  const tutorial = join(ctx.dir, 'tutorial');
  await writeClassFolders(join(tutorial, 'train'), { cats: { count: 8, color: '#aa0000' }, dogs: { count: 8, color: '#0000aa' } });
  await writeClassFolders(join(tutorial, 'validation'), { cats: { count: 10, color: '#aa5500' }, dogs: { count: 10, color: '#0055aa' } });
  const summary = await importFolder(ctx.services, tutorial);
  assert.deepEqual(summary.classes, { cats: 18, dogs: 18 });
  const dataset = await ctx.services.request('datasets.get', { datasetId: summary.datasetId });
  assert.equal(dataset.layout, 'tutorial');
  assert.ok(dataset.latestSplit, 'the import records the tutorial split');
  assert.equal(dataset.latestSplit.method, 'tutorial');
  assert.deepEqual(dataset.latestSplit.perClass, { cats: { train: 8, val: 8, test: 2 }, dogs: { train: 8, val: 8, test: 2 } });
});

test('CLI: import --json, datasets, split by name, labels-export as CSV and folders', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) };
  const db = join(ctx.dir, 'cli.db');
  const folder = join(ctx.dir, 'cli-pets');
  await writeClassFolders(folder, { cats: { count: 4, color: '#aa3311' }, dogs: { count: 3, color: '#1133aa' } });
  mkdirSync(join(folder, 'dogs'), { recursive: true });
  await writeImage(join(folder, 'dogs', 'same.jpg'), { color: '#aa3311', variant: 0 });
  assert.equal(await runCli(['import', folder, '--name', 'pets', '--json', '--db', db], io), 0, err.join('\n'));
  assert.deepEqual(JSON.parse(out.pop()!), { datasetId: 1, imported: 7, unchanged: 0, duplicates: 1, missing: 0, rejected: [], classes: { cats: 4, dogs: 3 } });
  assert.equal(await runCli(['split', 'pets', '--train', '0.5', '--val', '0.25', '--test', '0.25', '--seed', '2', '--json', '--db', db], io), 0, err.join('\n'));
  assert.equal(JSON.parse(out.pop()!).seed, 2);
  assert.equal(await runCli(['split', 'pets', '--train', 'lots', '--db', db], io), 2);
  assert.equal(await runCli(['split', 'nope', '--db', db], io), 1);
  assert.match(err.at(-1)!, /No dataset "nope"/);
  assert.equal(await runCli(['datasets', '--json', '--db', db], io), 0);
  assert.equal(JSON.parse(out.pop()!)[0].name, 'pets');
  const csv = join(ctx.dir, 'labels.csv');
  assert.equal(await runCli(['labels-export', '1', '--csv', csv, '--db', db], io), 0, err.join('\n'));
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'path,relative_path,label,subset,sha256');
  assert.equal(lines.length, 8);
  writeFileSync(join(ctx.dir, 'precious.csv'), 'my own data\n');
  assert.equal(await runCli(['labels-export', '1', '--csv', join(ctx.dir, 'precious.csv'), '--db', db], io), 1, 'refuses to overwrite');
  assert.match(err.at(-1)!, /already exists/);
  assert.equal(readFileSync(join(ctx.dir, 'precious.csv'), 'utf8'), 'my own data\n');
  const exported = join(ctx.dir, 'by-class');
  assert.equal(await runCli(['labels-export', 'pets', '--folders', exported, '--link', '--db', db], io), 0, err.join('\n'));
  assert.deepEqual(readdirSync(exported).sort(), ['cats', 'dogs']);
  assert.ok(lstatSync(join(exported, 'cats', 'cats-001.jpg')).isSymbolicLink());
  assert.equal(await runCli(['labels-export', 'pets', '--folders', exported, '--db', db], io), 1, 'refuses a non-empty folder');
  assert.equal(await runCli(['labels-export', 'pets', '--db', db], io), 2);
  renameSync(join(folder, 'cats'), join(folder, 'kittens'));
  assert.equal(await runCli(['import', folder, '--json', '--db', db], io), 0);
  const moved = JSON.parse(out.pop()!);
  assert.equal(moved.classes.kittens, 4);
  assert.ok(existsSync(db));
});

test('class names that would leave the export folder are refused, and nothing outside it is touched', async () => {
  const folder = join(ctx.dir, 'escape-pets');
  await writeClassFolders(folder, { cats: { count: 2, color: '#aa3311' }, dogs: { count: 2, color: '#1133aa' } });
  const summary = await importFolder(ctx.services, folder);
  const cats = (await ctx.services.request('datasets.get', { datasetId: summary.datasetId })).classes.find((c) => c.name === 'cats')!;
  for (const name of ['..', '.', 'cats.']) {
    await assert.rejects(ctx.services.request('classes.rename', { classId: cats.id, name }), /cannot be "\." or "\.\."/);
  }
  // A class name that reached the catalogue another way (e.g. an odd folder name) is refused at export time.
  ctx.services.app.db.prepare("UPDATE classes SET name = '..' WHERE id = ?").run(cats.id);
  const target = join(ctx.dir, 'exports', 'mine');
  writeFileSync(join(ctx.dir, 'exports-sentinel.txt'), 'keep me');
  await assert.rejects(ctx.services.request('labels.exportFolders', { datasetId: summary.datasetId, directory: target, link: false }), /cannot be used as a folder name/);
  assert.equal(readFileSync(join(ctx.dir, 'exports-sentinel.txt'), 'utf8'), 'keep me');
  assert.ok(!existsSync(join(ctx.dir, 'exports', 'cats-001.jpg')));
  ctx.services.app.db.prepare("UPDATE classes SET name = 'cats' WHERE id = ?").run(cats.id);
});

test('a file moved over another known file: re-import completes every time and keeps both rows', async () => {
  const folder = join(ctx.dir, 'move-over');
  await writeClassFolders(folder, { cats: { count: 3, color: '#aa3311' }, dogs: { count: 2, color: '#1133aa' } });
  const first = await importFolder(ctx.services, folder);
  assert.equal(first.imported, 5);
  // cats-000 replaces cats-001: the content of 000 now lives at a path the catalogue already has.
  renameSync(join(folder, 'cats', 'cats-000.jpg'), join(folder, 'cats', 'cats-001.jpg'));
  for (let attempt = 0; attempt < 2; attempt++) {
    const again = await importFolder(ctx.services, folder);
    assert.equal(again.rejected.length, 0);
    const rows = ctx.services.app.db.prepare("SELECT rel_path, status FROM images WHERE dataset_id = ? AND rel_path LIKE 'cats/%' ORDER BY rel_path").all(again.datasetId);
    assert.deepEqual(rows, [
      { rel_path: 'cats/cats-000.jpg', status: 'missing' },
      { rel_path: 'cats/cats-001.jpg', status: 'ok' },
      { rel_path: 'cats/cats-002.jpg', status: 'ok' },
    ]);
  }
});
