// Export verification on realistic models: each model is saved the way a run saves it, exported to a .zip,
// read back from disk and compared with the in-app model on real photos (../shared/data/cats-vs-dogs) or, when
// that folder is absent, on generated images. Prints a table; writes bench-results/export.json.
//   npx tsx bench/export.ts
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { tf, type LayersModel } from '../electron/tfjs/tf';
import { buildPresetModel } from '../electron/training/presets';
import { saveModelToFolder } from '../electron/inference/model-folder';
import { buildMobileNetV2, buildTransferModel } from '../electron/training/mobilenet/mobilenet-v2';
import { createMobileNetV2Base, resolveBaseWeights } from '../electron/training/mobilenet/base-weights';
import { presetDefaults, type TrainingConfig } from '../shared/training-config';
import { exportRun } from '../electron/export/package';
import type { RunForExport } from '../electron/export/task-types';
import { collectImageFiles } from '../electron/inference/image-files';
import { ensureInferenceBackend } from '../electron/inference/backend';
import { loadModel } from '../electron/inference/loader';
import { predictFiles } from '../electron/inference/predictor';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const PHOTOS = join(SHARED, 'data', 'cats-vs-dogs');
const TM_MODEL = join(SHARED, 'models', 'mobilenet-v2-0.35-224-teachable-machine');
const PER_CLASS = 32;

async function images(dir: string): Promise<{ paths: string[]; source: string }> {
  if (existsSync(PHOTOS)) {
    const cats = (await collectImageFiles([join(PHOTOS, 'cats')])).slice(0, PER_CLASS);
    const dogs = (await collectImageFiles([join(PHOTOS, 'dogs')])).slice(0, PER_CLASS);
    return { paths: [...cats, ...dogs], source: `${cats.length + dogs.length} cats-vs-dogs photos` };
  }
  const paths: string[] = [];
  for (let i = 0; i < 2 * PER_CLASS; i++) {
    const path = join(dir, `gen-${i}.png`);
    await sharp({ create: { width: 200 + i, height: 150 + (i % 7) * 10, channels: 3, background: { r: (i * 37) % 255, g: (i * 91) % 255, b: (i * 53) % 255 } } })
      .png().toFile(path);
    paths.push(path);
  }
  return { paths, source: `${paths.length} generated images (../shared absent)` };
}

async function saveAsRun(model: LayersModel, dir: string, config: TrainingConfig): Promise<void> {
  await saveModelToFolder(model, dir);
  await writeFile(join(dir, 'pawprint.json'), JSON.stringify({ format: 'pawprint-model', version: 1, classNames: ['cats', 'dogs'], imageSize: config.imageSize, preprocessing: config.preprocessing, config }));
}

function run(id: number, name: string, dir: string, config: TrainingConfig): RunForExport {
  return {
    id, name, preset: config.preset, status: 'completed', modelPath: dir, classNames: ['cats', 'dogs'],
    config: config as RunForExport['config'], datasetId: null, splitId: null, dataHash: null, backend: tf.getBackend(), versions: {},
    bestEpoch: null, bestValAccuracy: null, testAccuracy: null, testLoss: null, createdAt: new Date().toISOString(), finishedAt: null, epochs: [],
  };
}

const work = await mkdtemp(join(tmpdir(), 'pawprint-bench-export-'));
try {
  const backend = await ensureInferenceBackend();
  const { paths, source } = await images(work);
  const rows: Array<Record<string, string | number>> = [];
  const cases: Array<{ name: string; config: TrainingConfig; build: () => Promise<LayersModel>; note: string }> = [
    { name: 'cnn 160', config: presetDefaults('cnn'), build: async () => buildPresetModel(presetDefaults('cnn'), 2), note: 'seeded random init' },
    { name: 'cnn-normalize 160', config: presetDefaults('cnn-normalize'), build: async () => buildPresetModel(presetDefaults('cnn-normalize'), 2), note: 'seeded random init' },
    {
      name: 'mobilenetv2 0.35 160',
      config: { ...presetDefaults('mobilenetv2'), preset: 'mobilenetv2' },
      note: existsSync(TM_MODEL) ? 'ImageNet backbone (shared TM export), random head' : 'random backbone and head',
      build: async () => {
        const base = existsSync(TM_MODEL)
          ? createMobileNetV2Base(await resolveBaseWeights({ kind: 'local', path: TM_MODEL }, { cacheDir: join(work, 'cache'), expectedAlpha: 0.35 }), 160)
          : buildMobileNetV2({ alpha: 0.35, imageSize: 160 });
        return buildTransferModel(base, { pooling: 'max', units: 1 });
      },
    },
  ];
  for (const [i, c] of cases.entries()) {
    const dir = join(work, `run-${i}`);
    await mkdir(dir, { recursive: true });
    const model = await c.build();
    const params = model.countParams();
    await saveAsRun(model, dir, c.config);
    model.dispose();
    const started = performance.now();
    const result = await exportRun({ run: run(i + 1, c.name, dir, c.config), out: join(work, `export-${i}.zip`), format: 'zip', appVersion: 'bench', images: paths.map((path) => ({ path })) });
    const exportSeconds = (performance.now() - started) / 1000;
    const loaded = await loadModel(result.path);
    const t0 = performance.now();
    const predictions = await predictFiles(loaded, paths, { batchSize: 16 });
    const predictSeconds = (performance.now() - t0) / 1000;
    loaded.dispose();
    rows.push({
      model: c.name, params, note: c.note, images: result.images, maxAbsDiff: result.maxAbsDiff, sameClass: `${result.agreement}/${result.images}`,
      zipKB: Math.round(result.bytes / 1024), exportAndVerifySeconds: Number(exportSeconds.toFixed(2)),
      predictImagesPerSecond: Number((predictions.filter((p) => !('error' in p)).length / predictSeconds).toFixed(1)),
    });
  }
  console.log(`Export verification, backend ${backend}, on ${source}; tolerance 1e-5 on outputs and probabilities`);
  console.table(rows);
  await mkdir('bench-results', { recursive: true });
  await writeFile(join('bench-results', 'export.json'), JSON.stringify({ backend, images: source, tolerance: 1e-5, rows, date: new Date().toISOString() }, null, 2));
} finally {
  await rm(work, { recursive: true, force: true });
}
