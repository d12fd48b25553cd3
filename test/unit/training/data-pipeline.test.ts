import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { tf } from '../../../electron/tfjs/tf';
import {
  augmentPreview, balancedClassWeights, batchPlan, DecodeCache, decodeImageFile, decodeImages, epochOrder,
  imageExampleSource, imagesFromPixels, labelTensor,
} from '../../../electron/training/data-pipeline';
import { augmentImage } from '../../../electron/training/augment';
import { PIXEL_RULE_VERSION } from '../../../electron/imaging/image-policy';
import { NO_AUGMENTATION } from '../../../shared/training-config';

let dir: string;
/** Left half red, right half blue, 20 wide x 10 tall. */
const halves = () => {
  const w = 20, h = 10;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } });
};

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'pawprint-pipeline-'));
  await halves().png().toFile(join(dir, 'halves.png'));
  await halves().jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(join(dir, 'rotated.jpg'));
  await sharp(Buffer.alloc(16 * 16, 77), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, 'grey.png'));
  await sharp(Buffer.alloc(16 * 16 * 4, 200), { raw: { width: 16, height: 16, channels: 4 } }).png().toFile(join(dir, 'rgba.png'));
  await sharp(Buffer.from('not an image')).png().toFile(join(dir, 'bad.png')).catch(() => undefined);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const at = (p: Uint8Array, w: number, y: number, x: number) => Array.from(p.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));

describe('decoding', () => {
  test('resizes to exactly the training size without cropping (fill)', async () => {
    const { pixels } = await decodeImageFile(join(dir, 'halves.png'), 8, 8);
    assert.equal(pixels.length, 8 * 8 * 3);
    assert.deepEqual(at(pixels, 8, 4, 0), [255, 0, 0]);
    assert.deepEqual(at(pixels, 8, 4, 7), [0, 0, 255]);
  });

  test('applies EXIF orientation', async () => {
    const { pixels } = await decodeImageFile(join(dir, 'rotated.jpg'), 8, 8);
    // Orientation 6 turns the stored left (red) half to the top.
    const top = at(pixels, 8, 0, 4), bottom = at(pixels, 8, 7, 4);
    assert.ok(top[0] > 200 && top[2] < 60, `top ${top}`);
    assert.ok(bottom[2] > 200 && bottom[0] < 60, `bottom ${bottom}`);
  });

  test('grey and RGBA images become 3-channel RGB, transparency flattened on white', async () => {
    const grey = (await decodeImageFile(join(dir, 'grey.png'), 4, 4)).pixels;
    assert.equal(grey.length, 48);
    assert.ok(grey.every((v) => v === 77));
    const rgba = (await decodeImageFile(join(dir, 'rgba.png'), 4, 4)).pixels;
    assert.equal(rgba.length, 48);
    // Colour 200 at alpha 200/255 flattened on white (the thumbnail's rule), not the alpha dropped (200).
    const onWhite = 200 * (200 / 255) + 255 * (1 - 200 / 255);
    assert.ok(rgba.every((v) => Math.abs(v - onWhite) <= 1), `rgba ${Array.from(rgba.subarray(0, 3))}, expected ${onWhite.toFixed(1)}`);
  });

  test('undecodable files name the path', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'broken.jpg'), 'not an image');
    await assert.rejects(decodeImageFile(join(dir, 'broken.jpg'), 4, 4), /cannot decode .*broken\.jpg/);
  });

  test('caches: memory by content hash and size, disk files reused', async () => {
    const cacheDir = join(dir, 'cache');
    const memory = new DecodeCache();
    const a = await decodeImageFile(join(dir, 'halves.png'), 6, 6, { memoryCache: memory, cacheDir });
    assert.equal(memory.size, 1);
    // The pixel rule's version is in the name: pixels cached under an older rule are never reused.
    assert.deepEqual(await readdir(cacheDir), [`${a.contentHash}-6x6-p${PIXEL_RULE_VERSION}.rgb`]);
    const fromMemory = await decodeImageFile(join(dir, 'halves.png'), 6, 6, { memoryCache: memory });
    assert.equal(fromMemory.pixels, a.pixels, 'same array from the memory cache');
    const fromDisk = await decodeImageFile(join(dir, 'halves.png'), 6, 6, { cacheDir });
    assert.deepEqual(Array.from(fromDisk.pixels), Array.from(a.pixels));
  });

  test('decodeImages keeps order and labels; the data hash ignores order but not labels', async () => {
    const items = [
      { key: 'a', path: join(dir, 'halves.png'), label: 0 },
      { key: 'b', path: join(dir, 'grey.png'), label: 1 },
    ];
    let progress = 0;
    const d = await decodeImages(items, { height: 5, width: 5, onProgress: (done) => { progress = done; } });
    assert.deepEqual(d.keys, ['a', 'b']);
    assert.deepEqual(Array.from(d.labels), [0, 1]);
    assert.equal(progress, 2);
    assert.ok(d.pixels[1].every((v) => v === 77));
    const reversed = await decodeImages([...items].reverse(), { height: 5, width: 5 });
    assert.equal(reversed.dataHash, d.dataHash);
    const relabelled = await decodeImages(items.map((it) => ({ ...it, label: 1 - it.label })), { height: 5, width: 5 });
    assert.notEqual(relabelled.dataHash, d.dataHash);
  });
});

const realData = join(import.meta.dirname, '../../../../shared/data/cats-vs-dogs');
test('real JPEGs decode to 160x160x3 (cats-vs-dogs sample)', { skip: existsSync(realData) ? false : `${realData} is missing` }, async () => {
  const files = (await readdir(join(realData, 'cats'))).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 4);
  const d = await decodeImages(files.map((f, i) => ({ key: f, path: join(realData, 'cats', f), label: i % 2 })), { height: 160, width: 160 });
  for (const p of d.pixels) {
    assert.equal(p.length, 160 * 160 * 3);
    assert.ok(new Set(p).size > 50, 'a real photo has many distinct values');
  }
});

describe('batches', () => {
  test('per-epoch shuffle is seeded: same (seed, epoch) same order, new epoch new order', () => {
    const a = epochOrder(50, 42, 0);
    assert.deepEqual(epochOrder(50, 42, 0), a);
    assert.notDeepEqual(epochOrder(50, 42, 1), a);
    assert.notDeepEqual(epochOrder(50, 43, 0), a);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(Array.from(epochOrder(5, 42, 0, false)), [0, 1, 2, 3, 4]);
    assert.deepEqual(batchPlan(10, 4, 1, 0).map((b) => b.length), [4, 4, 2]);
  });

  const h = 6, w = 5;
  const pixels = Array.from({ length: 4 }, (_, i) => Uint8Array.from({ length: h * w * 3 }, (_, k) => (k * 7 + i * 31) % 256));
  const images = imagesFromPixels(pixels, [0, 1, 1, 0], h, w);

  test('evaluation batches are the exact pixels; training batches the seeded augmentation', async () => {
    const augmentation = { ...NO_AUGMENTATION, flip: 'both' as const, rotation: 0.2 };
    const source = imageExampleSource(images, { augmentation, seed: 9 });
    const start = tf.memory().numTensors;
    const evalBatch = source.inputs([2, 0], { epoch: 0, training: false });
    assert.deepEqual(evalBatch.shape, [2, h, w, 3]);
    const values = await evalBatch.data();
    assert.deepEqual(Array.from(values.subarray(0, h * w * 3)), Array.from(pixels[2]));
    const trainBatch = source.inputs([2, 0], { epoch: 3, training: true });
    const expected = augmentImage(pixels[0], h, w, 3, augmentation, 9, 3, images.keys[0]).pixels;
    assert.deepEqual(Array.from((await trainBatch.data()).subarray(h * w * 3)), Array.from(expected));
    tf.dispose([evalBatch, trainBatch]);
    assert.equal(tf.memory().numTensors, start);
  });

  test('pipeline preprocessing scales to [0,1] or [-1,1] when asked', async () => {
    const unit = imageExampleSource(images, { augmentation: NO_AUGMENTATION, seed: 1, preprocessing: 'unit' }).inputs([1], { epoch: 0, training: false });
    const sym = imageExampleSource(images, { augmentation: NO_AUGMENTATION, seed: 1, preprocessing: 'symmetric' }).inputs([1], { epoch: 0, training: false });
    assert.ok(Math.abs((await unit.data())[5] - pixels[1][5] / 255) < 1e-6);
    assert.ok(Math.abs((await sym.data())[5] - (pixels[1][5] / 127.5 - 1)) < 1e-6);
    tf.dispose([unit, sym]);
  });

  test('labels: [b,1] for two classes, one-hot for more', async () => {
    const two = labelTensor([0, 1, 1, 0], [1, 3], 2);
    assert.deepEqual(two.shape, [2, 1]);
    assert.deepEqual(Array.from(await two.data()), [1, 0]);
    const three = labelTensor([0, 2, 1], [1, 2], 3);
    assert.deepEqual(Array.from(await three.data()), [0, 0, 1, 0, 1, 0]);
    tf.dispose([two, three]);
  });

  test('balanced class weights are n / (K · n_c)', () => {
    assert.deepEqual(balancedClassWeights([0, 0, 0, 1], 2), [4 / 6, 2]);
    assert.deepEqual(balancedClassWeights([0, 0], 3), [1 / 3, 0, 0]);
  });

  test('augment preview: original plus N variants as PNGs at the training size', async () => {
    const preview = await augmentPreview({ key: 'halves', path: join(dir, 'halves.png') }, 8, 10, { ...NO_AUGMENTATION, flip: 'horizontal' }, 1, 4);
    assert.equal(preview.variants.length, 4);
    const meta = await sharp(preview.variants[0]).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [10, 8, 'png']);
    // With horizontal flips only, each variant is the original or its mirror.
    const orig = await sharp(preview.original).raw().toBuffer();
    assert.equal(preview.params.length, 4);
    for (const [k, png] of preview.variants.entries()) {
      const params = preview.params[k];
      assert.equal(params.flipVertical, false);
      const raw = await sharp(png).raw().toBuffer();
      const left = Array.from(raw.subarray(4 * 30, 4 * 30 + 3));
      const origLeft = Array.from(orig.subarray(4 * 30, 4 * 30 + 3));
      const origRight = Array.from(orig.subarray((4 * 10 + 9) * 3, (4 * 10 + 9) * 3 + 3));
      assert.deepEqual(left, params.flipHorizontal ? origRight : origLeft);
    }
  });
});
