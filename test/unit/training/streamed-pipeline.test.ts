// The streamed data pipeline (issue 17): decoded pixels live in an on-disk cache and a bounded in-memory cache, read
// per batch, so training memory does not grow with the number of images. Same batches as the in-memory pipeline,
// byte for byte; damaged cache files are decoded again rather than trusted.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type Tensor } from '../../../electron/tfjs/tf';
import {
  batchPlan, DecodeCache, READ_AHEAD_BATCHES, decodeImageFile, decodeImages, imageExampleSource, prepareImages, type ImageItem,
} from '../../../electron/training/data-pipeline';
import { train } from '../../../electron/training/trainer';
import { parseTrainingConfig, type AugmentationConfig } from '../../../shared/training-config';
import { writeImage } from '../../support/images';
import { tempDir } from '../../support/temp';

const SIZE = 12;
const per = SIZE * SIZE * 3;
const augmentation: AugmentationConfig = { flip: 'both', rotation: 0.2, zoom: 0.2, brightness: 0.2, contrast: 0.2 };
let temp: ReturnType<typeof tempDir>;
let items: ImageItem[];

before(async () => {
  await tf.setBackend('cpu');
  temp = tempDir();
  items = [];
  for (let i = 0; i < 10; i++) {
    const path = join(temp.path, 'photos', `${i}.png`);
    await writeImage(path, { width: 30 + i, height: 20, color: i % 2 ? '#3366cc' : '#cc6633', accent: '#ffffff', variant: i, format: 'png' });
    items.push({ key: `image-${i}`, path, label: i % 2 });
  }
});
after(() => temp.cleanup());

const values = (t: Tensor) => {
  try {
    return Buffer.from((t.dataSync() as Float32Array).buffer.slice(0));
  } finally {
    t.dispose();
  }
};

describe('bounded in-memory decode cache', () => {
  test('evicts the least recently used entries beyond its byte budget instead of refusing new ones', () => {
    const cache = new DecodeCache(3 * 100);
    for (let i = 0; i < 3; i++) cache.set(`k${i}`, new Uint8Array(100).fill(i));
    assert.ok(cache.get('k0'), 'k0 is cached');
    cache.set('k3', new Uint8Array(100).fill(3)); // evicts k1, the least recently used (k0 was just read)
    assert.equal(cache.size, 3);
    assert.equal(cache.bytes, 300);
    assert.equal(cache.get('k1'), undefined, 'the least recently used entry was evicted');
    assert.ok(cache.get('k0') && cache.get('k2') && cache.get('k3'), 'the recent entries stay');
    for (let i = 4; i < 40; i++) cache.set(`k${i}`, new Uint8Array(100));
    assert.equal(cache.size, 3, 'never more than the budget');
    cache.set('huge', new Uint8Array(1000));
    assert.equal(cache.get('huge'), undefined, 'an entry larger than the whole budget is not kept');
    assert.ok(cache.bytes <= 300);
  });
});

describe('on-disk decode cache', () => {
  test('a cache file with the right length but damaged bytes is decoded again, not trusted', async () => {
    const cacheDir = join(temp.path, 'corrupt-cache');
    const first = await decodeImageFile(items[0].path, SIZE, SIZE, { cacheDir });
    const [name] = await readdir(cacheDir);
    const file = join(cacheDir, name);
    const bytes = await readFile(file);
    for (let k = 0; k < per; k += 7) bytes[k] ^= 0x5a; // same length, other pixels
    await writeFile(file, bytes);
    const again = await decodeImageFile(items[0].path, SIZE, SIZE, { cacheDir });
    assert.deepEqual(Buffer.from(again.pixels), Buffer.from(first.pixels), 'the damaged cached pixels were used');
    const third = await decodeImageFile(items[0].path, SIZE, SIZE, { cacheDir });
    assert.deepEqual(Buffer.from(third.pixels), Buffer.from(first.pixels), 'the cache file was rewritten');
  });
});

describe('streamed image source', () => {
  test('gives the same batches as the in-memory pipeline, byte for byte (seeded order and augmentation)', async () => {
    const memory = await decodeImages(items, { height: SIZE, width: SIZE });
    const streamed = await prepareImages(items, { height: SIZE, width: SIZE, cacheDir: join(temp.path, 'same-batches') });
    assert.equal(streamed.dataHash, memory.dataHash);
    assert.deepEqual(streamed.contentHashes, memory.contentHashes);
    const inMemory = imageExampleSource(memory, { augmentation, seed: 5 });
    // A cache smaller than the data set (a batch and its read-ahead: 4 batches of 2 = 8 of 10 images): batches come
    // from disk, evicting as they go.
    const cache = new DecodeCache(3 * per);
    const fromDisk = imageExampleSource(streamed, { augmentation, seed: 5, memoryCache: cache });
    assert.equal(fromDisk.size, items.length);
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const indices of batchPlan(items.length, 2, 5, epoch)) {
        for (const training of [true, false]) {
          await fromDisk.prepare!(indices, { epoch, training });
          assert.deepEqual(values(fromDisk.inputs(indices, { epoch, training })), values(inMemory.inputs(indices, { epoch, training })),
            `epoch ${epoch} batch ${Array.from(indices)} training ${training}`);
        }
      }
    }
    assert.ok(cache.bytes <= (READ_AHEAD_BATCHES + 2) * 2 * per, `the memory cache holds ${cache.bytes} bytes`);
    assert.ok(cache.size < items.length, 'the cache held every image: eviction was not exercised');
  });

  test('a truncated or damaged cache file is decoded again from the image, and rewritten', async () => {
    const cacheDir = join(temp.path, 'damaged');
    const memory = await decodeImages(items, { height: SIZE, width: SIZE });
    const streamed = await prepareImages(items, { height: SIZE, width: SIZE, cacheDir });
    const files = (await readdir(cacheDir)).sort();
    assert.equal(files.length, items.length);
    const fileOf = (i: number) => join(cacheDir, files.find((f) => f.startsWith(streamed.contentHashes[i]))!);
    const fullLength = (await stat(fileOf(0))).size;
    await truncate(fileOf(0), 100);
    const damaged = await readFile(fileOf(1));
    damaged[5] ^= 0xff;
    await writeFile(fileOf(1), damaged);
    const source = imageExampleSource(streamed, { augmentation, seed: 2, memoryCache: new DecodeCache(per) });
    const reference = imageExampleSource(memory, { augmentation, seed: 2 });
    await source.prepare!([0, 1], { epoch: 1, training: true });
    assert.deepEqual(values(source.inputs([0, 1], { epoch: 1, training: true })), values(reference.inputs([0, 1], { epoch: 1, training: true })));
    assert.equal((await stat(fileOf(0))).size, fullLength, 'the truncated file was rewritten');
    assert.notDeepEqual(await readFile(fileOf(1)), damaged, 'the damaged file was rewritten');
  });

  test('an image changed on disk after the pre-pass is an error in words, not other pixels', async () => {
    const cacheDir = join(temp.path, 'changed');
    const path = join(temp.path, 'changing.png');
    await writeImage(path, { width: 20, height: 20, color: '#00ff00', format: 'png' });
    const streamed = await prepareImages([{ key: 'c', path, label: 0 }], { height: SIZE, width: SIZE, cacheDir });
    for (const f of await readdir(cacheDir)) await truncate(join(cacheDir, f), 3);
    await writeImage(path, { width: 20, height: 20, color: '#ff0000', format: 'png' });
    const source = imageExampleSource(streamed, { augmentation, seed: 1, memoryCache: new DecodeCache(per) });
    await assert.rejects(source.prepare!([0], { epoch: 0, training: true }), /changing\.png changed since training started/);
  });

  test('a corrupt image fails the pre-pass with its path, as the in-memory decode does', async () => {
    const path = join(temp.path, 'broken.jpg');
    await writeFile(path, 'not an image');
    await assert.rejects(prepareImages([...items, { key: 'b', path, label: 0 }], { height: SIZE, width: SIZE, cacheDir: join(temp.path, 'broken') }),
      /cannot decode .*broken\.jpg/);
  });

  test('training on a streamed source: a seed reproduces the in-memory run, and a cancel mid-epoch stops it', async () => {
    const config = parseTrainingConfig({
      preset: 'custom', imageSize: { height: SIZE, width: SIZE }, epochs: 2, batchSize: 4, learningRate: 0.01, seed: 3, augmentation,
      preprocessing: 'unit', customLayers: [
        { type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }, { type: 'maxPool', poolSize: 2 }, { type: 'flatten' },
        { type: 'dropout', rate: 0.3 }, { type: 'dense', units: 8 },
      ],
    });
    const memory = await decodeImages(items, { height: SIZE, width: SIZE });
    const streamed = await prepareImages(items, { height: SIZE, width: SIZE, cacheDir: join(temp.path, 'train') });
    const run = async (source: ReturnType<typeof imageExampleSource>, signal?: AbortSignal, onBatch?: () => void) => {
      const result = await train(config, { train: source, classNames: ['a', 'b'] }, { onBatchEnd: onBatch }, { signal, progressIntervalMs: 0 });
      const weights = result.model ? result.model.getWeights().map((w) => Array.from(w.dataSync())) : null;
      result.model?.dispose();
      return { result, weights };
    };
    const a = await run(imageExampleSource(memory, { augmentation, seed: config.seed }));
    const b = await run(imageExampleSource(streamed, { augmentation, seed: config.seed, memoryCache: new DecodeCache(2 * per) }));
    assert.equal(a.result.status, 'completed', a.result.error);
    assert.equal(b.result.status, 'completed', b.result.error);
    assert.deepEqual(b.result.epochs.map((e) => e.loss), a.result.epochs.map((e) => e.loss));
    assert.deepEqual(b.weights, a.weights, 'the streamed run trained other weights');

    const controller = new AbortController();
    let batches = 0;
    const cancelled = await run(imageExampleSource(streamed, { augmentation, seed: config.seed, memoryCache: new DecodeCache(2 * per) }), controller.signal, () => {
      if (++batches === 2) controller.abort();
    });
    assert.equal(cancelled.result.status, 'cancelled');
    assert.equal(batches, 2, 'no batch ran after the cancel');
    assert.equal(cancelled.result.epochs.length, 0);
  });
});
