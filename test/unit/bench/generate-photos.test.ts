// The scale bench's photo generator (bench/generate-photos.ts): seeded, distinct, realistic in size, in class
// folders, and learnable from its pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { generatePhotos, parseGenerateArgs, photoPath } from '../../../bench/generate-photos';
import { tempDir } from '../../support/temp';

function listPhotos(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.jpg')).sort();
}

/** 64-bit difference hash: 9x8 greys, one bit per horizontal neighbour pair. Near-duplicates differ in few bits. */
async function differenceHash(input: string | Buffer): Promise<bigint> {
  const grey = await sharp(input).greyscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer();
  let hash = 0n;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) hash = (hash << 1n) | (grey[y * 9 + x]! > grey[y * 9 + x + 1]! ? 1n : 0n);
  return hash;
}

function hamming(a: bigint, b: bigint): number {
  let v = a ^ b;
  let count = 0;
  while (v) {
    count += Number(v & 1n);
    v >>= 1n;
  }
  return count;
}

/** Where the most strongly coloured pixels point on the hue circle (the subject is saturated; the rest is muted). */
async function subjectHue(file: string): Promise<number[]> {
  const { data } = await sharp(file).resize(100, 75, { fit: 'fill' }).blur(1).raw().toBuffer({ resolveWithObject: true });
  const pixels: Array<{ saturation: number; hue: number }> = [];
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i]! / 255;
    const g = data[i + 1]! / 255;
    const b = data[i + 2]! / 255;
    const max = Math.max(r, g, b);
    const d = max - Math.min(r, g, b);
    if (d === 0) continue;
    const sector = max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    pixels.push({ saturation: d, hue: (sector / 6) * 2 * Math.PI });
  }
  pixels.sort((p, q) => q.saturation - p.saturation);
  const top = pixels.slice(0, Math.ceil(pixels.length * 0.05));
  return [top.reduce((sum, p) => sum + Math.cos(p.hue), 0) / top.length, top.reduce((sum, p) => sum + Math.sin(p.hue), 0) / top.length];
}

test('no two photos are equal or near-duplicates (content hash and a difference hash), and the check does catch a near copy', async () => {
  const dir = tempDir('pawprint-generate-');
  try {
    await generatePhotos({ n: 40, out: dir.path, seed: 3, threads: 0 });
    const files = listPhotos(dir.path).map((file) => join(dir.path, file));
    const contentHashes = new Set(files.map((file) => createHash('sha256').update(readFileSync(file)).digest('hex')));
    assert.equal(contentHashes.size, files.length);
    const hashes = await Promise.all(files.map((file) => differenceHash(file)));
    let closest = 64;
    for (let i = 0; i < hashes.length; i++) for (let j = i + 1; j < hashes.length; j++) closest = Math.min(closest, hamming(hashes[i]!, hashes[j]!));
    assert.ok(closest >= 8, `two photos are within ${closest} bits of each other`);
    console.log(`closest pair: ${closest} bits`);
    // The perceptual check is not vacuous: a resized, brightened, recompressed copy lands well within the bound.
    const copy = await sharp(files[0]!).resize(320, 240, { fit: 'fill' }).modulate({ brightness: 1.1 }).jpeg({ quality: 70 }).toBuffer();
    assert.ok(hamming(hashes[0]!, await differenceHash(copy)) < 8);
  } finally {
    dir.cleanup();
  }
});

test('the same seed writes byte-identical files; another seed writes other photos', async () => {
  const dir = tempDir('pawprint-generate-');
  try {
    await generatePhotos({ n: 8, out: join(dir.path, 'a'), seed: 7, threads: 0 });
    await generatePhotos({ n: 8, out: join(dir.path, 'b'), seed: 7, threads: 0 });
    await generatePhotos({ n: 8, out: join(dir.path, 'c'), seed: 8, threads: 0 });
    const files = listPhotos(join(dir.path, 'a'));
    assert.equal(files.length, 8);
    for (const file of files) {
      const bytes = readFileSync(join(dir.path, 'a', file));
      assert.ok(bytes.equals(readFileSync(join(dir.path, 'b', file))), `${file} differs between runs with one seed`);
      assert.ok(!bytes.equals(readFileSync(join(dir.path, 'c', file))), `${file} is the same with another seed`);
    }
  } finally {
    dir.cleanup();
  }
});

test('photos are about 400x300 JPEGs of realistic size, taken in turn into one folder per class', async () => {
  const dir = tempDir('pawprint-generate-');
  try {
    const summary = await generatePhotos({ n: 16, out: dir.path, seed: 1, classes: ['cat', 'dog', 'fox'], threads: 0 });
    assert.deepEqual(summary.classes, { cat: 6, dog: 5, fox: 5 });
    assert.deepEqual(readdirSync(dir.path).sort(), ['cat', 'dog', 'fox']);
    assert.equal(readdirSync(join(dir.path, 'cat')).length, 6);
    assert.equal(photoPath(4, ['cat', 'dog', 'fox']), 'dog/dog-000004.jpg');
    const sizes: number[] = [];
    for (const file of listPhotos(dir.path)) {
      const meta = await sharp(join(dir.path, file)).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.ok(meta.width >= 360 && meta.width <= 440 && meta.height >= 270 && meta.height <= 330, `${file} is ${meta.width}x${meta.height}`);
      sizes.push(statSync(join(dir.path, file)).size);
    }
    sizes.sort((a, b) => a - b);
    assert.equal(summary.bytes, sizes.reduce((sum, v) => sum + v, 0));
    assert.ok(sizes[0]! >= 12_000 && sizes.at(-1)! <= 80_000, `sizes from ${sizes[0]} to ${sizes.at(-1)} bytes`);
    const median = sizes[Math.floor(sizes.length / 2)]!;
    assert.ok(median >= 20_000 && median <= 60_000, `median ${median} bytes`);
  } finally {
    dir.cleanup();
  }
});

test('the class can be told from the pixels: nearest class centre of subject colour, leave-one-out, well above chance', async () => {
  const dir = tempDir('pawprint-generate-');
  try {
    const classes = ['cat', 'dog', 'fox'];
    await generatePhotos({ n: 36, out: dir.path, seed: 11, classes, threads: 0 });
    const samples = await Promise.all(listPhotos(dir.path).map(async (file) => ({ label: file.split(/[/\\]/)[0]!, histogram: await subjectHue(join(dir.path, file)) })));
    let right = 0;
    for (const [i, sample] of samples.entries()) {
      let best = { label: '', distance: Infinity };
      for (const label of classes) {
        const others = samples.filter((other, j) => j !== i && other.label === label);
        const centre = sample.histogram.map((_, k) => others.reduce((sum, other) => sum + other.histogram[k]!, 0) / others.length);
        const distance = centre.reduce((sum, v, k) => sum + (v - sample.histogram[k]!) ** 2, 0);
        if (distance < best.distance) best = { label, distance };
      }
      if (best.label === sample.label) right++;
    }
    console.log(`nearest centre: ${right}/${samples.length}`);
    assert.ok(right / samples.length >= 0.7, `${right}/${samples.length} right (chance is 1/3)`);
  } finally {
    dir.cleanup();
  }
});

test('bad command lines get one line saying what to give', () => {
  assert.throws(() => parseGenerateArgs([]), /give --n N and --out DIR/);
  assert.throws(() => parseGenerateArgs(['--n', 'many', '--out', '/tmp/x']), /--n must be a whole number >= 1 \(got "many"\)/);
  assert.throws(() => parseGenerateArgs(['--n', '10', '--out']), /--out needs a value/);
  assert.throws(() => parseGenerateArgs(['--size', '10']), /unknown option --size/);
  assert.deepEqual(parseGenerateArgs(['--n', '10', '--out', '/tmp/x', '--classes', 'a, b,c']).classes, ['a', 'b', 'c']);
});

test('bad options are refused in words before anything is written', async () => {
  const dir = tempDir('pawprint-generate-');
  try {
    await assert.rejects(generatePhotos({ n: 5, out: dir.path, classes: ['cat'] }), /at least two classes/);
    await assert.rejects(generatePhotos({ n: 5, out: dir.path, classes: ['cat', '../up'] }), /class name "..\/up" must be letters/);
    await assert.rejects(generatePhotos({ n: 0, out: dir.path }), /--n must be a whole number of photos/);
    assert.deepEqual(readdirSync(dir.path), []);
  } finally {
    dir.cleanup();
  }
});
