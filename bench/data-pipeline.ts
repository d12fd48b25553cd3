// Cost of the data pipeline next to a training step, in one run:
// decoding real JPEGs to 160x160 uint8 (sharp), augmenting one image per mode, building a batch tensor of 32 (from
// memory, and streamed: read back from the on-disk decode cache with the memory cache cold, as a batch of an epoch
// larger than the memory cache is), and one cnn training step on the WebAssembly backend (when it loads) for the ratio.
//
//   npx tsx bench/data-pipeline.ts [--images 200] [--size 160] [--batch 32] [--steps 2] [--no-step]
//
// Real images come from ../shared/data/cats-vs-dogs (skipped with a message when absent; augmentation and
// batches then use seeded random pixels). Writes bench-results/data-pipeline.json.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf, type Tensor } from '../electron/tfjs/tf';
import {
  DecodeCache, decodeImages, imageExampleSource, imagesFromPixels, labelTensor, prepareImages, type DecodedImages, type StreamedImages,
} from '../electron/training/data-pipeline';
import { augmentInto, augmentRng, sampleAugmentParams } from '../electron/training/augment';
import { buildPresetModel } from '../electron/training/presets';
import { perExampleLoss } from '../electron/training/trainer';
import { mulberry32 } from '../shared/random';
import { NO_AUGMENTATION, presetDefaults, type AugmentationConfig } from '../shared/training-config';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const count = Number(arg('images', '200'));
const size = Number(arg('size', '160'));
const batch = Number(arg('batch', '32'));
const steps = Number(arg('steps', '2'));

const repoRoot = path.resolve(import.meta.dirname, '..');
const dataDir = path.resolve(repoRoot, '../shared/data/cats-vs-dogs');

async function main(): Promise<void> {
  const result: Record<string, unknown> = { bench: 'data-pipeline', date: new Date().toISOString(), size, batch };
  let images: DecodedImages;
  let streamed: StreamedImages | null = null;
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'pawprint-pipeline-bench-'));
  if (existsSync(dataDir)) {
    const items = ['cats', 'dogs'].flatMap((cls, label) =>
      readdirSync(path.join(dataDir, cls)).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, Math.ceil(count / 2))
        .map((f) => ({ key: `${cls}/${f}`, path: path.join(dataDir, cls, f), label })));
    const t0 = performance.now();
    images = await decodeImages(items, { height: size, width: size, concurrency: 2 });
    const ms = performance.now() - t0;
    result.decode = { images: items.length, seconds: ms / 1000, imagesPerSecond: items.length / (ms / 1000) };
    streamed = await prepareImages(items, { height: size, width: size, concurrency: 2, cacheDir });
  } else {
    console.log(`(skipping decode: ${dataDir} is missing; using random pixels)`);
    const rng = mulberry32(1);
    const pixels = Array.from({ length: Math.max(batch, 64) }, () => Uint8Array.from({ length: size * size * 3 }, () => Math.floor(rng() * 256)));
    images = imagesFromPixels(pixels, pixels.map((_, i) => i % 2), size, size);
    result.decode = { skipped: `${dataDir} is missing` };
  }

  const modes: Record<string, AugmentationConfig> = {
    identity: NO_AUGMENTATION,
    flip: { ...NO_AUGMENTATION, flip: 'both' },
    'flip+rotation': { ...NO_AUGMENTATION, flip: 'both', rotation: 0.25 },
    all: { flip: 'both', rotation: 0.25, zoom: 0.2, brightness: 0.2, contrast: 0.2 },
  };
  const out = new Float32Array(size * size * 3);
  const augmentRows: Array<{ mode: string; msPerImage: number }> = [];
  for (const [mode, aug] of Object.entries(modes)) {
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const src = images.pixels[i % images.pixels.length];
      augmentInto(src, size, size, 3, sampleAugmentParams(aug, augmentRng(1, i, 'k')), out);
    }
    augmentRows.push({ mode, msPerImage: (performance.now() - t0) / n });
  }
  result.augment = augmentRows;

  const source = imageExampleSource(images, { augmentation: modes.all, seed: 1 });
  const indices = Uint32Array.from({ length: batch }, (_, i) => i % images.pixels.length);
  const reps = 10;
  let t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    const xs = source.inputs(indices, { epoch: r, training: true });
    const ys = labelTensor(images.labels, indices, 2);
    tf.dispose([xs, ys]);
  }
  const batchMs = (performance.now() - t0) / reps;
  result.batchBuildMs = batchMs;

  // Streamed: each batch's pixels read back from the disk cache (checksums checked) into a cold memory cache.
  let streamedMs: number | null = null;
  if (streamed) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) {
      const cold = imageExampleSource(streamed, { augmentation: modes.all, seed: 1, memoryCache: new DecodeCache(64 * 1024 ** 2) });
      const rows = Uint32Array.from({ length: batch }, (_, i) => (r * batch + i) % streamed!.keys.length);
      await cold.prepare!(rows, { epoch: r, training: true });
      tf.dispose(cold.inputs(rows, { epoch: r, training: true }));
    }
    streamedMs = (performance.now() - t0) / reps;
    result.streamedBatchBuildMs = streamedMs;
  }
  rmSync(cacheDir, { recursive: true, force: true });

  let stepSeconds: number | null = null;
  if (!process.argv.includes('--no-step')) {
    try {
      const { selectBackend } = await import('../electron/tfjs/backend/select-backend');
      const info = await selectBackend('wasm');
      const model = buildPresetModel({ ...presetDefaults('cnn'), imageSize: { height: size, width: size } }, 2);
      const optimizer = tf.train.adam(0.001);
      const vars = model.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable);
      const times: number[] = [];
      for (let s = 0; s < steps + 1; s++) {
        const xs = source.inputs(indices, { epoch: s, training: true });
        const ys = labelTensor(images.labels, indices, 2);
        t0 = performance.now();
        const cost = optimizer.minimize(() => perExampleLoss(model.apply(xs, { training: true }) as Tensor, ys).mean() as import('@tensorflow/tfjs').Scalar, true, vars);
        await cost!.data();
        if (s > 0) times.push((performance.now() - t0) / 1000); // first step is warm-up
        tf.dispose([xs, ys, cost!]);
      }
      stepSeconds = times.reduce((a, b) => a + b, 0) / times.length;
      result.step = { backend: info.name, preset: 'cnn', seconds: stepSeconds, steps: times.length };
      model.dispose();
      optimizer.dispose();
    } catch (err) {
      result.step = { skipped: (err as Error).message };
    }
  }
  if (stepSeconds) result.batchBuildShareOfStep = batchMs / 1000 / stepSeconds;

  console.log('\n| measurement | value |\n| --- | --- |');
  const d = result.decode as { imagesPerSecond?: number; images?: number; skipped?: string };
  console.log(`| decode ${d.images ?? 0} JPEGs to ${size}x${size} (2 workers) | ${d.imagesPerSecond ? `${d.imagesPerSecond.toFixed(0)} images/s` : d.skipped} |`);
  for (const r of augmentRows) console.log(`| augment one image: ${r.mode} | ${r.msPerImage.toFixed(2)} ms |`);
  console.log(`| build a batch of ${batch} (all augmentations) | ${batchMs.toFixed(1)} ms |`);
  if (streamedMs !== null) console.log(`| the same, read from the disk cache (cold memory cache) | ${streamedMs.toFixed(1)} ms |`);
  if (stepSeconds) {
    console.log(`| cnn training step, batch ${batch} (wasm) | ${(stepSeconds * 1000).toFixed(0)} ms |`);
    console.log(`| batch build / training step | ${((batchMs / 1000 / stepSeconds) * 100).toFixed(1)} % |`);
  }
  mkdirSync(path.join(repoRoot, 'bench-results'), { recursive: true });
  writeFileSync(path.join(repoRoot, 'bench-results', 'data-pipeline.json'), JSON.stringify(result, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
