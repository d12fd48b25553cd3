// The on-disk decode cache is bounded (issue 17 item 2): a cap (setting, or a share of the disk), least recently used
// entries first, and entries of images that left the catalogue, of older pixel rules and crash leftovers removed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, statfsSync, utimesSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { decodeCachePath, prepareImageSets, prepareImages, type ImageItem } from '../../../electron/training/data-pipeline';
import {
  DECODE_CACHE_SETTING, DEFAULT_DECODE_CACHE_BYTES, decodeCacheLimit, decodeCacheLimitFor, pruneDecodeCache,
} from '../../../electron/training/decode-cache-files';
import { PIXEL_RULE_VERSION } from '../../../electron/imaging/image-policy';
import { writeImage } from '../../support/images';
import { tempDir } from '../../support/temp';
import { importFolder, openServices } from '../dataset/helpers';

const SIZE = 8;
const ENTRY_BYTES = SIZE * SIZE * 3 + 32;
let temp: ReturnType<typeof tempDir>;

before(async () => {
  await tf.setBackend('cpu');
  temp = tempDir();
});
after(() => temp.cleanup());

const hashOf = (n: number) => n.toString(16).padStart(64, 'c');
/** Writes a cache entry of `bytes` bytes last used `ageMinutes` ago. */
function entry(dir: string, name: string, ageMinutes: number, bytes = ENTRY_BYTES): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, Buffer.alloc(bytes, 7));
  const when = new Date(Date.now() - ageMinutes * 60_000);
  utimesSync(path, when, when);
  return path;
}
const names = (dir: string) => readdirSync(dir).sort();
const folderBytes = (dir: string) => readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);

test('a training pre-pass leaves the cache within its cap: least recently used entries of other images go, its own stay', async () => {
  const cacheDir = join(temp.path, 'prepass', 'decoded');
  const items: ImageItem[] = [];
  for (let i = 0; i < 4; i++) {
    const path = join(temp.path, 'prepass', 'photos', `${i}.png`);
    await writeImage(path, { width: 20, height: 16, color: '#2255aa', accent: '#ffffff', variant: i, format: 'png' });
    items.push({ key: `image-${i}`, path, label: i % 2 });
  }
  // Six entries of other images, used 6..1 hours ago; one of them (the oldest) was used again a minute ago.
  for (let k = 0; k < 6; k++) entry(cacheDir, `${hashOf(k)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`, (6 - k) * 60);
  entry(cacheDir, `${hashOf(0)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`, 1);
  const cap = 7 * ENTRY_BYTES; // this run's 4 entries and 3 others
  const images = await prepareImages(items, { height: SIZE, width: SIZE, cacheDir, cacheLimitBytes: cap });
  assert.ok(folderBytes(cacheDir) <= cap, `the cache holds ${folderBytes(cacheDir)} bytes, over its ${cap}-byte cap (it was never pruned)`);
  for (const hash of images.contentHashes) assert.ok(names(cacheDir).includes(`${hash}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`), 'the run keeps its own entries');
  const others = names(cacheDir).filter((name) => !images.contentHashes.some((hash) => name.startsWith(hash)));
  assert.deepEqual(others.map((name) => name.slice(0, 64)), [hashOf(0), hashOf(4), hashOf(5)], 'the least recently used went first; the one used a minute ago stayed');
});

test('a run\'s pre-pass over train, val and test keeps every subset\'s entries, even with a cap of 0', async () => {
  // Before: each subset's pre-pass pruned protecting only itself, so val's prune evicted train's entries (the run's
  // oldest), which every epoch then decoded again from the source files.
  const cacheDir = join(temp.path, 'subsets', 'decoded');
  const sets: ImageItem[][] = [[], [], []];
  for (let i = 0; i < 6; i++) {
    const path = join(temp.path, 'subsets', 'photos', `${i}.png`);
    await writeImage(path, { width: 20, height: 16, color: '#aa5522', accent: '#ffffff', variant: 10 + i, format: 'png' });
    sets[i % 3]!.push({ key: `image-${i}`, path, label: i % 2 });
  }
  entry(cacheDir, `${hashOf(99)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`, 60);
  const seen: number[] = [];
  const prepared = await prepareImageSets(sets, { height: SIZE, width: SIZE, cacheDir, cacheLimitBytes: 0, onProgress: (done, total) => seen.push(done, total) });
  const hashes = prepared.flatMap((images) => images.contentHashes);
  assert.equal(hashes.length, 6);
  assert.deepEqual(names(cacheDir), hashes.map((hash) => `${hash}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`).sort(), 'all six of the run\'s entries stay; only the other image\'s went');
  assert.deepEqual(seen.slice(-2), [6, 6], 'progress counts over all subsets');
});

test('entries of older pixel rules, of images no longer in the catalogue and stale temporary files go; protected entries stay past the cap', async () => {
  const dir = join(temp.path, 'rules', 'decoded');
  entry(dir, `${hashOf(1)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION - 1}.rgb`, 1);
  entry(dir, `${hashOf(2)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`, 5);
  entry(dir, `${hashOf(3)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`, 5);
  entry(dir, `${hashOf(4)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`, 900);
  entry(dir, `${hashOf(5)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb.123-abcd.tmp`, 120);
  entry(dir, `${hashOf(6)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb.124-abcd.tmp`, 0);
  const outcome = await pruneDecodeCache(dir, { maxBytes: 0, isLive: (hash) => hash !== hashOf(3), protect: new Set([hashOf(2), hashOf(4)]) });
  assert.deepEqual(names(dir), [
    `${hashOf(2)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`,
    `${hashOf(4)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb`,
    `${hashOf(6)}-${SIZE}x${SIZE}-p${PIXEL_RULE_VERSION}.rgb.124-abcd.tmp`,
  ]);
  assert.equal(outcome.removed, 3);
  assert.equal(outcome.freedBytes, 3 * ENTRY_BYTES);
  assert.deepEqual(await pruneDecodeCache(join(temp.path, 'never-made'), { maxBytes: 0 }), { entries: 0, bytes: 0, removed: 0, freedBytes: 0 });
});

test('the cap: the setting in gigabytes, refused in words when it is not a number, else 4 GB within a share of the disk', async () => {
  const dir = join(temp.path, 'limit');
  mkdirSync(dir, { recursive: true });
  assert.equal(await decodeCacheLimit(dir, { [DECODE_CACHE_SETTING]: '1.5' }), 1.5e9);
  assert.equal(await decodeCacheLimit(dir, { [DECODE_CACHE_SETTING]: '0' }), 0);
  await assert.rejects(decodeCacheLimit(dir, { [DECODE_CACHE_SETTING]: 'lots' }), /PAWPRINT_DECODE_CACHE_GB must be a number of gigabytes, 0 or more \(got "lots"\); fix or unset it/);
  // The rule, on fixed figures: 4 GB within a quarter to a half of the room (free space plus what the cache holds).
  assert.equal(decodeCacheLimitFor(100e9, 0), 25e9, 'a quarter of a big disk');
  assert.equal(decodeCacheLimitFor(12e9, 0), DEFAULT_DECODE_CACHE_BYTES, '4 GB when a quarter is less');
  assert.equal(decodeCacheLimitFor(5e9, 1e9), 3e9, 'never more than half the room');
  // On this disk: other processes write while the test runs, so the free space is read before and after the call.
  const freeBytes = () => { const disk = statfsSync(dir); return disk.bavail * disk.bsize; };
  const freeBefore = freeBytes();
  const limit = await decodeCacheLimit(dir, {}, 0);
  const freeAfter = freeBytes();
  const [low, high] = [Math.min(freeBefore, freeAfter), Math.max(freeBefore, freeAfter)];
  assert.ok(limit >= decodeCacheLimitFor(low, 0) && limit <= decodeCacheLimitFor(high, 0), `${limit} follows the rule for ${low}-${high} free bytes`);
});

test('an import that drops images removes their decoded pixels, and keeps those of the images still there', async () => {
  const ctx = openServices();
  try {
    const root = join(ctx.dir, 'pets');
    for (let i = 0; i < 4; i++) await writeImage(join(root, 'cats', `${i}.png`), { width: 20, height: 16, color: '#aa5522', variant: i, format: 'png' });
    const summary = await importFolder(ctx.services, root);
    const hashes = ctx.services.app.db.prepare(`SELECT rel_path AS path, content_hash AS hash FROM images ORDER BY rel_path`).all() as Array<{ path: string; hash: string }>;
    const cacheDir = join(ctx.services.app.paths.cache, 'decoded');
    for (const { hash } of hashes) entry(cacheDir, decodeCachePath(cacheDir, hash, SIZE, SIZE).slice(cacheDir.length + 1), 30);
    unlinkSync(join(root, 'cats', '0.png'));
    await importFolder(ctx.services, root, { datasetId: summary.datasetId });
    const left = names(cacheDir).map((name) => name.slice(0, 64));
    assert.deepEqual(left, hashes.slice(1).map((row) => row.hash).sort(), 'the missing image\'s entry went, the others stayed');
  } finally {
    await ctx.close();
  }
});

test('deleting a dataset removes its images\' decoded pixels, and keeps those of photos another dataset still has', async () => {
  const ctx = openServices();
  try {
    const root = join(ctx.dir, 'pets');
    for (let i = 0; i < 3; i++) await writeImage(join(root, 'cats', `${i}.png`), { width: 20, height: 16, color: '#22aa55', variant: i, format: 'png' });
    const whole = await importFolder(ctx.services, root);
    await importFolder(ctx.services, join(root, 'cats'), { name: 'first cats' }); // shares the three photos
    const only = join(ctx.dir, 'other');
    await writeImage(join(only, 'x.png'), { width: 20, height: 16, color: '#5522aa', variant: 9, format: 'png' });
    const other = await importFolder(ctx.services, only);
    const hashOfDataset = (datasetId: number) => (ctx.services.app.db.prepare(`SELECT content_hash AS hash FROM images WHERE dataset_id = ?`).all(datasetId) as Array<{ hash: string }>).map((row) => row.hash);
    const cacheDir = join(ctx.services.app.paths.cache, 'decoded');
    const shared = hashOfDataset(whole.datasetId);
    const [lone] = hashOfDataset(other.datasetId);
    for (const hash of [...shared, lone!]) entry(cacheDir, decodeCachePath(cacheDir, hash, SIZE, SIZE).slice(cacheDir.length + 1), 30);
    await ctx.services.request('datasets.delete', { datasetId: whole.datasetId });
    assert.deepEqual(names(cacheDir).map((name) => name.slice(0, 64)), [...shared, lone!].sort(), 'photos still in "first cats" and the other dataset keep their pixels');
    await ctx.services.request('datasets.delete', { datasetId: other.datasetId });
    assert.ok(!names(cacheDir).some((name) => name.startsWith(lone!)), 'the deleted dataset\'s own photo lost its decoded pixels');
  } finally {
    await ctx.close();
  }
});
