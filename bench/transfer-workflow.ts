// The tutorial's model-4 workflow (MobileNetV2 frozen base + pooling/Dropout/Dense head, 20 epochs, validation and
// test evaluation) end to end through the real services and training worker, on ../shared/data/cats-vs-dogs
// imported into a throwaway catalogue (split 70/20/10 stratified, seed 1): with the feature cache cold (extraction
// threads as the app picks them, and again on one thread), then warm (the same run again).
// Next to it, the naive cost of recomputing base features every epoch, extrapolated from a few batches measured
// in this same process on real photos:
//   naive = epochs x (train x (forward + augment) + val x forward) + test x forward + head time (measured)
// once with the stock Keras-layer MobileNetV2 (BatchNormalization layers, what a port of the tutorial runs), and
// once with our folded base, which isolates what the cache alone saves.
// Accuracy uses the shared alpha 0.35 ImageNet backbone (../shared/models). The alpha 1.00 ImageNet weights are a
// download away (no internet here), so alpha 1.00 runs the same workflow with random weights saved as a local
// base: its times are measured (speed does not depend on the values), its accuracy means nothing and is not shown.
// Run: node --import tsx bench/transfer-workflow.ts   -> prints a table, writes bench-results/transfer-workflow.json
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices, type Services } from '../electron/services/index';
import { importFolder, trainRun } from './_jobs';
import { resolvePaths } from '../electron/paths';
import { printTable } from './_table';
import { tf } from '../electron/tfjs/tf';
import { selectBackend } from '../electron/tfjs/backend/select-backend';
import { decodeImageFile } from '../electron/training/data-pipeline';
import { augmentImage, toUint8 } from '../electron/training/augment';
import { saveModelToFolder } from '../electron/inference/model-folder';
import { presetDefaults } from '../shared/training-config';
import { resolveBaseWeights, type BaseWeights } from '../electron/training/mobilenet/base-weights';
import { buildMobileNetV2 } from '../electron/training/mobilenet/mobilenet-v2';
import { baseWeightsFromModel } from '../electron/training/mobilenet/fold-batchnorm';
import { MobileNetFeatureExtractor } from '../electron/training/mobilenet/feature-extractor';
import type { EventPayload, RunDetail } from '../shared/contract/index';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const SHARED = path.resolve(ROOT, '../shared');
const PHOTOS = path.join(SHARED, 'data', 'cats-vs-dogs');
const TM_MODEL = path.join(SHARED, 'models', 'mobilenet-v2-0.35-224-teachable-machine');
const SIZE = 160;
const BATCH = 32;
/** Batches timed for the per-image forward cost (after one warm-up batch). */
const TIMED_BATCHES = 5;
const TARGETS = { coldSeconds: 300, warmSeconds: 60, speedup: 10 };

const missing = [PHOTOS, path.join(TM_MODEL, 'model.json')].filter((p) => !existsSync(p));
if (missing.length) {
  console.log(`transfer-workflow: skipped: ${missing.join(', ')} not found (the shared data lives in ../shared relative to the repository)`);
  process.exit(0);
}

interface WorkflowRun {
  label: string;
  runId: number;
  status: string;
  error: string | null;
  seconds: number;
  /** Wall seconds per stage, from the first progress event of a stage to the first of the next. */
  stages: Record<string, number>;
  /** Sum of the head epochs' durations (training + validation). */
  headSeconds: number;
  /** Sum of the fine-tuning epochs' durations (0 without fine-tuning). */
  fineTuneSeconds: number;
  featuresFromCache: number | null;
  featuresComputed: number | null;
  /** Threads that ran the base during extraction (1 = in the training process). */
  extractionThreads: number | null;
  bestEpoch: number | null;
  valAccuracy: number | null;
  testAccuracy: number | null;
  backend: string | null;
}

async function runWorkflow(services: Services, datasetId: number, label: string, config: Record<string, unknown>): Promise<WorkflowRun> {
  const stageStarts: Array<[string, number]> = [];
  const logs: string[] = [];
  let runId = -1;
  const t0 = performance.now();
  // The epoch lines come from training.epoch; the stages and log from the run's job.
  const off = services.app.events.onAny((name, payload) => {
    if (name === 'training.epoch') {
      const p = payload as EventPayload<'training.epoch'>;
      if (p.runId === runId) process.stderr.write(`  ${label} epoch ${p.epoch}: val_acc ${((p.valAccuracy ?? 0) * 100).toFixed(1)}%\n`);
    }
  });
  const done = await trainRun(services, { datasetId, name: `transfer-workflow ${label}`, config }, {
    progress: (p) => {
      const stage = p.detail?.type === 'train' ? p.detail.stage : null;
      if (stage && stageStarts.at(-1)?.[0] !== stage) stageStarts.push([stage, performance.now()]);
    },
    log: (message) => logs.push(message),
  });
  runId = done.runId;
  const seconds = (performance.now() - t0) / 1000;
  off();
  const end = performance.now();
  const stages: Record<string, number> = {};
  stageStarts.forEach(([stage, at], i) => {
    const next = stageStarts[i + 1]?.[1] ?? end;
    stages[stage] = (stages[stage] ?? 0) + (next - at) / 1000;
  });
  const run: RunDetail = await services.request('runs.get', { runId });
  const counts = logs.map((l) => /base features: (\d+) from the cache, (\d+) computed(?: on (\d+) thread)?/.exec(l)).find((m) => m);
  return {
    label, runId, status: done.status, error: done.error, seconds, stages,
    headSeconds: run.epochs.filter((e) => e.phase !== 'fine-tune').reduce((s, e) => s + e.durationMs, 0) / 1000,
    fineTuneSeconds: run.epochs.filter((e) => e.phase === 'fine-tune').reduce((s, e) => s + e.durationMs, 0) / 1000,
    featuresFromCache: counts ? Number(counts[1]) : null,
    featuresComputed: counts ? Number(counts[2]) : null,
    extractionThreads: counts?.[3] ? Number(counts[3]) : null,
    bestEpoch: run.bestEpoch, valAccuracy: run.bestValAccuracy, testAccuracy: run.testAccuracy, backend: run.backend,
  };
}

interface ForwardTiming { perImage: number; batchSeconds: number[] }

/**
 * Median seconds per image of the base forward, folded and stock Keras-layer model, on real photos. The two are
 * timed batch by batch in turn, so a busy moment on this shared machine slows both rather than one.
 */
async function forwardSecondsPerImage(weights: BaseWeights, pixels: Uint8Array[]): Promise<{ folded: ForwardTiming; stock: ForwardTiming }> {
  const folded = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE, folded: true });
  const stock = MobileNetFeatureExtractor.create(weights, { imageSize: SIZE, folded: false });
  try {
    for (const ex of [folded, stock]) await ex.embed(pixels[0], BATCH); // warm-up: kernel set-up, memory growth
    const times = { folded: [] as number[], stock: [] as number[] };
    for (let b = 0; b < TIMED_BATCHES; b++) {
      for (const [name, ex] of [['folded', folded], ['stock', stock]] as const) {
        const t0 = performance.now();
        await ex.embed(pixels[(b % (pixels.length - 1)) + 1], BATCH);
        times[name].push((performance.now() - t0) / 1000);
      }
    }
    const timing = (batchSeconds: number[]): ForwardTiming => {
      const sorted = [...batchSeconds].sort((x, y) => x - y);
      return { perImage: sorted[Math.floor(sorted.length / 2)] / BATCH, batchSeconds };
    };
    return { folded: timing(times.folded), stock: timing(times.stock) };
  } finally {
    folded.dispose();
    stock.dispose();
  }
}

/** Seconds per image of the preset's augmentation at SIZE (what a naive loop redoes for every training image, every epoch). */
function augmentSecondsPerImage(decoded: Uint8Array[]): number {
  const augmentation = presetDefaults('mobilenetv2').augmentation;
  for (let i = 0; i < 16; i++) augmentImage(decoded[i % decoded.length], SIZE, SIZE, 3, augmentation, 7, i, `w${i}`); // JIT warm-up
  const t0 = performance.now();
  for (let i = 0; i < decoded.length; i++) toUint8(augmentImage(decoded[i], SIZE, SIZE, 3, augmentation, 42, i % 4, `k${i}`).pixels);
  return (performance.now() - t0) / 1000 / decoded.length;
}

interface Workspace { services: Services; datasetId: number; counts: { train: number; val: number; test: number }; importSeconds: number; imported: number }

/** A throwaway catalogue (and feature cache) with the photos imported and split 70/20/10 stratified, seed 1. */
async function workspace(dir: string): Promise<Workspace> {
  const paths = resolvePaths({ db: path.join(dir, 'catalogue.db'), env: {} });
  const services = createServices({ paths, host: { kind: 'web' } });
  const importStart = performance.now();
  const summary = await importFolder(services, { path: PHOTOS, name: 'cats-vs-dogs' });
  const datasetId = summary.datasetId;
  const split = await services.request('splits.create', { datasetId, preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 });
  return { services, datasetId, counts: split.counts, importSeconds: (performance.now() - importStart) / 1000, imported: summary.imported };
}

const loadAtStart = os.loadavg();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'pawprint-transfer-workflow-'));
const open: Services[] = [];
try {
  const main = await workspace(path.join(scratch, 'threads'));
  open.push(main.services);
  console.error(`imported ${main.imported} photos and split 70/20/10 in ${main.importSeconds.toFixed(1)} s`);

  // alpha 0.35, the shared ImageNet backbone: cold with the app's extraction threads, then warm.
  const config035 = { preset: 'mobilenetv2', mobilenet: { alpha: 0.35, baseSource: TM_MODEL } };
  const cold = await runWorkflow(main.services, main.datasetId, 'alpha 0.35 cold', config035);
  const warm = await runWorkflow(main.services, main.datasetId, 'alpha 0.35 warm', config035);

  // Accuracy of the cats-vs-dogs tutorial's own head and augmentation (the preset's default is TensorFlow's
  // transfer-learning tutorial's: see presetDefaults), on the same backbone and split.
  const tutorialVariant = await runWorkflow(main.services, main.datasetId, 'alpha 0.35 tutorial variant', {
    ...config035, augmentation: { flip: 'both', rotation: 0.25 }, mobilenet: { ...config035.mobilenet, headPooling: 'max' },
  });

  // The optional second phase: the top 2 blocks and Conv_1 unfrozen for 5 more epochs (features for the head are
  // warm; the frozen bottom's maps are computed for this run).
  const fineTuned = await runWorkflow(main.services, main.datasetId, 'alpha 0.35 fine-tune', {
    ...config035, mobilenet: { ...config035.mobilenet, fineTuneBlocks: 2, fineTuneEpochs: 5 },
  });

  // The same cold run on one thread (a fresh cache): what the threads add on this machine.
  const single = await workspace(path.join(scratch, 'one-thread'));
  open.push(single.services);
  process.env.PAWPRINT_FEATURE_THREADS = '1';
  const coldOneThread = await runWorkflow(single.services, single.datasetId, 'alpha 0.35 cold, one thread', config035);
  delete process.env.PAWPRINT_FEATURE_THREADS;

  // alpha 1.00 at full size with random weights, saved as a local base (timing only).
  const m100 = buildMobileNetV2({ alpha: 1.0, imageSize: SIZE });
  const base100Dir = path.join(scratch, 'mobilenet-v2-1.00-random');
  await saveModelToFolder(m100, base100Dir);
  const w100 = baseWeightsFromModel(m100, 1.0);
  m100.dispose();
  const config100 = { preset: 'mobilenetv2', mobilenet: { alpha: 1, baseSource: base100Dir } };
  const cold100 = await runWorkflow(main.services, main.datasetId, 'alpha 1.00 cold', config100);
  const warm100 = await runWorkflow(main.services, main.datasetId, 'alpha 1.00 warm', config100);

  for (const r of [cold, warm, tutorialVariant, fineTuned, coldOneThread, cold100, warm100]) if (r.status !== 'completed') throw new Error(`${r.label} run ${r.status}: ${r.error}`);
  const runDetail = await main.services.request('runs.get', { runId: cold.runId });
  const epochs = runDetail.config.epochs;
  const { train: trainCount, val: valCount, test: testCount } = main.counts;

  // Per-image costs in this process, on the backend the worker chose, on real photos.
  const backend = await selectBackend(runDetail.config.backend);
  const files = readdirSync(path.join(PHOTOS, 'cats')).sort().slice(0, ((TIMED_BATCHES + 1) * BATCH) / 2).map((f) => path.join(PHOTOS, 'cats', f))
    .concat(readdirSync(path.join(PHOTOS, 'dogs')).sort().slice(0, ((TIMED_BATCHES + 1) * BATCH) / 2).map((f) => path.join(PHOTOS, 'dogs', f)));
  const decoded = await Promise.all(files.map((f) => decodeImageFile(f, SIZE, SIZE).then((r) => r.pixels)));
  const pixels: Uint8Array[] = [];
  for (let b = 0; b <= TIMED_BATCHES; b++) {
    const batch = new Uint8Array(BATCH * SIZE * SIZE * 3);
    for (let i = 0; i < BATCH; i++) batch.set(decoded[(b * BATCH + i) % decoded.length], i * SIZE * SIZE * 3);
    pixels.push(batch);
  }
  const augmentPerImage = augmentSecondsPerImage(decoded);
  const w035 = await resolveBaseWeights({ kind: 'local', path: TM_MODEL }, { cacheDir: path.join(scratch, 'weights') });
  const forward = { alpha035: await forwardSecondsPerImage(w035, pixels), alpha100: await forwardSecondsPerImage(w100, pixels) };

  const naive = (perImage: number, headSeconds: number) =>
    epochs * (trainCount * (perImage + augmentPerImage) + valCount * perImage) + testCount * perImage + headSeconds;
  const naiveFormula = (perImage: number, headSeconds: number) =>
    `${epochs} x (${trainCount} x (${(perImage * 1000).toFixed(1)} + ${(augmentPerImage * 1000).toFixed(1)} ms) + ${valCount} x ${(perImage * 1000).toFixed(1)} ms) + ${testCount} x ${(perImage * 1000).toFixed(1)} ms + head ${headSeconds.toFixed(1)} s`;
  const views = (r: WorkflowRun) => `${r.featuresComputed} views computed${r.extractionThreads ? ` on ${r.extractionThreads} thread${r.extractionThreads === 1 ? '' : 's'}` : ''}, ${r.featuresFromCache} cached`;

  interface Row { case: string; kind: 'measured' | 'extrapolated'; seconds: number; note: string }
  const rows: Row[] = [
    { case: 'alpha 0.35 cold cache', kind: 'measured', seconds: cold.seconds, note: views(cold) },
    { case: 'alpha 0.35 cold cache, one thread', kind: 'measured', seconds: coldOneThread.seconds, note: views(coldOneThread) },
    { case: 'alpha 0.35 warm cache', kind: 'measured', seconds: warm.seconds, note: views(warm) },
    { case: 'alpha 0.35 warm + fine-tune 2 blocks, 5 epochs', kind: 'measured', seconds: fineTuned.seconds, note: `fine-tune epochs ${fineTuned.fineTuneSeconds.toFixed(1)} s` },
    { case: 'alpha 0.35 naive, stock base', kind: 'extrapolated', seconds: naive(forward.alpha035.stock.perImage, warm.headSeconds), note: naiveFormula(forward.alpha035.stock.perImage, warm.headSeconds) },
    { case: 'alpha 0.35 recompute, folded base', kind: 'extrapolated', seconds: naive(forward.alpha035.folded.perImage, warm.headSeconds), note: naiveFormula(forward.alpha035.folded.perImage, warm.headSeconds) },
    { case: 'alpha 1.00 cold cache', kind: 'measured', seconds: cold100.seconds, note: `${views(cold100)}; random weights` },
    { case: 'alpha 1.00 warm cache', kind: 'measured', seconds: warm100.seconds, note: `${views(warm100)}; random weights` },
    { case: 'alpha 1.00 naive, stock base', kind: 'extrapolated', seconds: naive(forward.alpha100.stock.perImage, warm100.headSeconds), note: naiveFormula(forward.alpha100.stock.perImage, warm100.headSeconds) },
    { case: 'alpha 1.00 recompute, folded base', kind: 'extrapolated', seconds: naive(forward.alpha100.folded.perImage, warm100.headSeconds), note: naiveFormula(forward.alpha100.folded.perImage, warm100.headSeconds) },
  ];
  const seconds = (name: string) => rows.find((r) => r.case === name)!.seconds;
  const ratios = {
    alpha035: {
      naiveOverCold: seconds('alpha 0.35 naive, stock base') / cold.seconds,
      naiveOverWarm: seconds('alpha 0.35 naive, stock base') / warm.seconds,
      foldedRecomputeOverCold: seconds('alpha 0.35 recompute, folded base') / cold.seconds,
      oneThreadOverThreads: coldOneThread.seconds / cold.seconds,
    },
    alpha100: {
      naiveOverCold: seconds('alpha 1.00 naive, stock base') / cold100.seconds,
      naiveOverWarm: seconds('alpha 1.00 naive, stock base') / warm100.seconds,
      foldedRecomputeOverCold: seconds('alpha 1.00 recompute, folded base') / cold100.seconds,
    },
    stockOverFolded: {
      alpha035: forward.alpha035.stock.perImage / forward.alpha035.folded.perImage,
      alpha100: forward.alpha100.stock.perImage / forward.alpha100.folded.perImage,
    },
  };
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);
  const ms = (v: number) => `${(v * 1000).toFixed(2)} ms`;

  console.log(`\nMobileNetV2 transfer workflow: ${trainCount} train / ${valCount} val / ${testCount} test photos, ${SIZE}x${SIZE}, ${epochs} epochs, backend ${cold.backend}${backend.threads ? ` (${backend.threads} WebAssembly thread${backend.threads === 1 ? '' : 's'} per engine)` : ''}`);
  console.log(`import + split of ${main.imported} photos (not in the times below): ${main.importSeconds.toFixed(1)} s`);
  printTable(['case', 'kind', 'seconds', 'note'], rows.map((r) => [r.case, r.kind, r.seconds.toFixed(1), r.note]));
  for (const r of [cold, coldOneThread, warm, cold100, warm100]) {
    console.log(`stages, ${r.label} (s): ${Object.entries(r.stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  }
  console.log(`base forward per image, batch ${BATCH}, median of ${TIMED_BATCHES}: alpha 0.35 folded ${ms(forward.alpha035.folded.perImage)}, stock ${ms(forward.alpha035.stock.perImage)} (${ratios.stockOverFolded.alpha035.toFixed(1)}x); ` +
    `alpha 1.00 folded ${ms(forward.alpha100.folded.perImage)} = ${(forward.alpha100.folded.perImage * BATCH).toFixed(2)} s per batch, stock ${ms(forward.alpha100.stock.perImage)} (${ratios.stockOverFolded.alpha100.toFixed(1)}x); augmentation ${ms(augmentPerImage)}`);
  console.log(`naive (stock base) / cold: alpha 0.35 ${ratios.alpha035.naiveOverCold.toFixed(1)}x, alpha 1.00 ${ratios.alpha100.naiveOverCold.toFixed(1)}x; recompute with the folded base / cold: ${ratios.alpha035.foldedRecomputeOverCold.toFixed(1)}x, ${ratios.alpha100.foldedRecomputeOverCold.toFixed(1)}x`);
  console.log(`naive (stock base) / warm: alpha 0.35 ${ratios.alpha035.naiveOverWarm.toFixed(1)}x, alpha 1.00 ${ratios.alpha100.naiveOverWarm.toFixed(1)}x; cold one thread / cold threads: ${ratios.alpha035.oneThreadOverThreads.toFixed(2)}x`);
  console.log(`targets: alpha 1.00 forward <= 1.0 s per batch of ${BATCH}: ${verdict(forward.alpha100.folded.perImage * BATCH <= 1)}; cold <= ${TARGETS.coldSeconds} s: 0.35 ${verdict(cold.seconds <= TARGETS.coldSeconds)}, 1.00 ${verdict(cold100.seconds <= TARGETS.coldSeconds)}; ` +
    `warm <= ${TARGETS.warmSeconds} s: 0.35 ${verdict(warm.seconds <= TARGETS.warmSeconds)}, 1.00 ${verdict(warm100.seconds <= TARGETS.warmSeconds)}; >= ${TARGETS.speedup}x faster than naive (cold): 0.35 ${verdict(ratios.alpha035.naiveOverCold >= TARGETS.speedup)}, 1.00 ${verdict(ratios.alpha100.naiveOverCold >= TARGETS.speedup)}`);
  console.log(`accuracy (alpha 0.35 ImageNet, default preset, best epoch by val_loss): cold run epoch ${cold.bestEpoch} val ${pct(cold.valAccuracy)} test ${pct(cold.testAccuracy)}; warm run epoch ${warm.bestEpoch} val ${pct(warm.valAccuracy)} test ${pct(warm.testAccuracy)}; one-thread run val ${pct(coldOneThread.valAccuracy)} test ${pct(coldOneThread.testAccuracy)}`);
  console.log(`accuracy with fine-tuning (top 2 blocks + Conv_1, 5 epochs at a tenth of the learning rate): epoch ${fineTuned.bestEpoch} val ${pct(fineTuned.valAccuracy)} test ${pct(fineTuned.testAccuracy)}`);
  console.log(`accuracy of the cats-vs-dogs tutorial's variant (flips on both axes, rotation 0.25, global max pooling): epoch ${tutorialVariant.bestEpoch} val ${pct(tutorialVariant.valAccuracy)} test ${pct(tutorialVariant.testAccuracy)}`);
  const loadAtEnd = os.loadavg();
  console.log(`load average (1/5/15 min) at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`);

  mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench-results', 'transfer-workflow.json'), JSON.stringify({
    benchmark: 'transfer-workflow',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.versions.node, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd },
    backend: { worker: cold.backend, bench: backend.name, wasmThreads: backend.threads ?? null, tfjs: tf.version.tfjs },
    notes: 'Times are wall seconds of queueing the train job -> its end, through the services and the worker process (weights, decode, features, 20 head epochs with validation, test evaluation, saving). ' +
      'naive = epochs x (train x (forward + augment) + val x forward) + test x forward + measured head time, with the per-image forward and augmentation measured here on real photos (decode excluded). ' +
      '"stock base" is the Keras-layer MobileNetV2 with BatchNormalization layers; "folded base" is ours. alpha 1.00 uses random weights (the ImageNet 1.00 weights cannot be downloaded here): times only.',
    dataset: { photos: main.imported, train: trainCount, val: valCount, test: testCount, split: '70/20/10 stratified seed 1', importSeconds: main.importSeconds },
    config: runDetail.config,
    runs: [cold, coldOneThread, warm, tutorialVariant, fineTuned, cold100, warm100],
    perImage: { batch: BATCH, timedBatches: TIMED_BATCHES, augmentSeconds: augmentPerImage, forward },
    rows,
    ratios,
    targets: TARGETS,
  }, null, 2));
  console.log('\nwrote bench-results/transfer-workflow.json');
} finally {
  for (const services of open) await services.close();
  rmSync(scratch, { recursive: true, force: true });
}
