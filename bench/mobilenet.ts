// MobileNetV2 base forward speed on the WebAssembly backend (no tfjs-node): the Keras-layer model's predict
// versus the BatchNorm-folded fused network, at alpha 1.00 160x160 batch 32 (random weights: speed does not
// depend on the values) and at alpha 0.35 with the shared ImageNet weights; plus feature extraction on real
// photos (sharp decode + folded base) when ../shared/data is present.
// Run: npx tsx bench/mobilenet.ts   -> prints a table, writes bench-results/mobilenet.json
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { tf, requireTfModule } from '../electron/tfjs/tf';
import { buildMobileNetV2, type MobileNetAlpha } from '../electron/training/mobilenet/mobilenet-v2';
import { resolveBaseWeights, type BaseWeights } from '../electron/training/mobilenet/base-weights';
import { baseWeightsFromModel } from '../electron/training/mobilenet/fold-batchnorm';
import { MobileNetFeatureExtractor, extractFeatures } from '../electron/training/mobilenet/feature-extractor';
import { ORIGINAL_VIEW } from '../electron/training/mobilenet/feature-cache';
import { mulberry32 } from '../shared/random';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const SHARED = path.resolve(ROOT, '../shared');
const TM_MODEL = path.join(SHARED, 'models', 'mobilenet-v2-0.35-224-teachable-machine');
const PHOTOS = path.join(SHARED, 'data', 'cats-vs-dogs');
const REPEATS = 3;
const BATCH = 32;

interface Row {
  case: string;
  alpha: MobileNetAlpha;
  imageSize: number;
  batch: number;
  weights: string;
  folded: boolean;
  medianSecondsPerBatch: number;
  runs: number[];
  /** Process CPU time per batch (user + system): the wasm backend is single-threaded here, so this is the
   * compute time without the waiting that other processes on a busy machine add to the wall time. */
  medianCpuSecondsPerBatch: number;
  imagesPerSecond: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function randomPixels(n: number, size: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n * size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

async function timeForward(label: string, weights: BaseWeights, weightsLabel: string, size: number, folded: boolean): Promise<Row> {
  const ex = MobileNetFeatureExtractor.create(weights, { imageSize: size, folded });
  const px = randomPixels(BATCH, size, 1);
  await ex.embed(px, BATCH); // warm-up: kernel set-up and memory growth
  const runs: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await ex.embed(px, BATCH);
    const c = process.cpuUsage(c0);
    runs.push((performance.now() - t0) / 1000);
    cpu.push((c.user + c.system) / 1e6);
  }
  ex.dispose();
  const m = median(runs);
  return { case: label, alpha: weights.alpha, imageSize: size, batch: BATCH, weights: weightsLabel, folded, medianSecondsPerBatch: m, runs, medianCpuSecondsPerBatch: median(cpu), imagesPerSecond: BATCH / m };
}

async function main(): Promise<void> {
  // The machine is shared: record how busy it was, since that moves these numbers.
  const loadAtStart = os.loadavg();
  requireTfModule('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend unavailable');
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) ? 'multi-threaded' : 'single-threaded';
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const rows: Row[] = [];

  // alpha 1.00: random weights (the ImageNet 1.00 weights are a download away; speed is value-independent).
  const m1 = buildMobileNetV2({ alpha: 1.0, imageSize: 160 });
  const w1 = baseWeightsFromModel(m1, 1.0);
  m1.dispose();
  for (const folded of [false, true]) rows.push(await timeForward('tutorial base', w1, 'random', 160, folded));

  let extraction: Record<string, number | string> | undefined;
  if (existsSync(path.join(TM_MODEL, 'model.json'))) {
    const w035 = await resolveBaseWeights({ kind: 'local', path: TM_MODEL }, { cacheDir: os.tmpdir() });
    for (const folded of [false, true]) rows.push(await timeForward('shared ImageNet', w035, 'teachable-machine 0.35', 160, folded));

    if (existsSync(PHOTOS)) {
      // End to end: decode + resize with sharp (prefetched a batch ahead), folded base, pooled features; no cache.
      const files = [
        ...(await readdir(path.join(PHOTOS, 'cats'))).slice(0, 64).map((f) => path.join(PHOTOS, 'cats', f)),
        ...(await readdir(path.join(PHOTOS, 'dogs'))).slice(0, 64).map((f) => path.join(PHOTOS, 'dogs', f)),
      ];
      const ex = MobileNetFeatureExtractor.create(w035, { imageSize: 160 });
      const keys = files.map((f) => ({ imageHash: f, view: ORIGINAL_VIEW }));
      const per = 160 * 160 * 3;
      const t0 = performance.now();
      const res = await extractFeatures(ex, keys, {
        batchSize: BATCH,
        loadPixels: async (ks) => {
          const out = new Uint8Array(ks.length * per);
          const decoded = await Promise.all(ks.map((k) => sharp(k.imageHash).rotate().resize(160, 160, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer()));
          decoded.forEach((d, i) => out.set(d, i * per));
          return out;
        },
      });
      const secs = (performance.now() - t0) / 1000;
      ex.dispose();
      extraction = { images: res.count, seconds: secs, imagesPerSecond: res.count / secs, alpha: 0.35, imageSize: 160, folded: 'yes' };
    }
  } else {
    console.log(`(skipping the shared-weights rows: ${TM_MODEL} not found)`);
  }

  console.log(`\nload average (1/5/15 min) at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`);
  console.log(`MobileNetV2 base forward, WebAssembly backend (${threads}, SIMD ${simd ? 'on' : 'off'}), batch ${BATCH}, median of ${REPEATS} after 1 warm-up`);
  console.log('case              alpha  size  weights                  folded  s/batch  cpu s/batch  images/s');
  for (const r of rows) {
    console.log(`${r.case.padEnd(17)} ${r.alpha.toFixed(2).padStart(5)}  ${String(r.imageSize).padStart(4)}  ${r.weights.padEnd(23)}  ${(r.folded ? 'yes' : 'no').padEnd(6)}  ${r.medianSecondsPerBatch.toFixed(3).padStart(7)}  ${r.medianCpuSecondsPerBatch.toFixed(3).padStart(11)}  ${r.imagesPerSecond.toFixed(1).padStart(8)}`);
  }
  const speedups: Record<string, number> = {};
  for (const c of new Set(rows.map((r) => r.case))) {
    const plain = rows.find((r) => r.case === c && !r.folded);
    const fold = rows.find((r) => r.case === c && r.folded);
    if (plain && fold) speedups[c] = plain.medianSecondsPerBatch / fold.medianSecondsPerBatch;
  }
  for (const [c, s] of Object.entries(speedups)) console.log(`folding speed-up (${c}): ${s.toFixed(2)}x`);
  if (extraction) {
    console.log(`feature extraction incl. JPEG decode (${extraction.images} photos, alpha 0.35, 160 px): ${(extraction.imagesPerSecond as number).toFixed(1)} images/s`);
  }
  const target = rows.find((r) => r.case === 'tutorial base' && r.folded);
  if (target) {
    console.log(`target (alpha 1.00, 160, batch 32 <= 1.0 s): wall ${target.medianSecondsPerBatch.toFixed(3)} s -> ${target.medianSecondsPerBatch <= 1.0 ? 'met' : 'NOT met'}; cpu ${target.medianCpuSecondsPerBatch.toFixed(3)} s`);
  }

  await mkdir(path.join(ROOT, 'bench-results'), { recursive: true });
  const out = {
    benchmark: 'mobilenet',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg() },
    backend: { name: tf.getBackend(), threads, simd },
    notes: 'alpha 1.00 rows use random weights (speed does not depend on weight values); shared rows use the Teachable Machine ImageNet backbone from ../shared/models',
    rows,
    foldingSpeedup: speedups,
    extraction,
  };
  await writeFile(path.join(ROOT, 'bench-results', 'mobilenet.json'), JSON.stringify(out, null, 2) + '\n');
  console.log('wrote bench-results/mobilenet.json');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
