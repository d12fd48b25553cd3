// Export targets (issue 13): tfjs with classify.js and reference/, onnx with model.onnx verified in ONNX Runtime, tm
// through H13's writer; two exports of one run are byte-identical; metadata says what the model is (actual alpha,
// the base by name, never a local path, dated by the run).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exportRun } from '../../../electron/export/package';
import { REFERENCE_TOLERANCE, type ReferenceFile } from '../../../electron/export/consumer-files';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { predictFiles } from '../../../electron/inference/predictor';
import { readZipEntries } from '../../../electron/files/zip';
import { tf } from '../../../electron/tfjs/tf';
import { onnxRuntime } from '../../../electron/export/targets/onnx/index';
import { modelMetadataSchema } from '../../../electron/inference/model-format';
import { tempDir } from '../../support/temp';
import { runRecord, tinyConfig, trainTinyRun, writeClassImages } from './helpers';
import { writeRunFolderMetadata } from './run-folder';
import type { TrainingConfig } from '../../../shared/training-config';

const tmp = tempDir('pawprint-export-targets-');
const runDir = join(tmp.path, 'run-model');
let images: string[] = [];
let config: TrainingConfig;

before(async () => {
  await ensureInferenceBackend();
  const items = await writeClassImages(join(tmp.path, 'images'), 5);
  images = items.map((item) => item.path);
  ({ config } = await trainTinyRun(items, runDir));
  await writeRunFolderMetadata(runDir, config);
});
after(() => tmp.cleanup());

const verifyImages = () => images.map((path) => ({ path }));

describe('export targets', () => {
  test('tfjs zip: classify.js, check.html, package.json and reference/ with Pawprint\'s probabilities for those files', async () => {
    const out = join(tmp.path, 'tfjs.zip');
    const result = await exportRun({ run: runRecord(runDir, config), out, format: 'zip', appVersion: '9.9.9', images: verifyImages() });
    const entries = await readZipEntries(out);
    assert.deepEqual([...entries.keys()], [
      'model.json', 'weights.bin', 'metadata.json', 'README.md', 'classify.js', 'package.json', 'check.html',
      'reference/01.png', 'reference/02.png', 'reference/03.png', 'reference/04.png', 'reference/expected.json',
    ]);
    assert.deepEqual(result.files, [...entries.keys()]);
    const expected = JSON.parse(entries.get('reference/expected.json')!.toString()) as ReferenceFile;
    assert.equal(expected.tolerance, REFERENCE_TOLERANCE);
    assert.equal(expected.images.length, 4);
    // The figures are the in-app model's on exactly the shipped PNGs.
    const model = await loadModel(runDir);
    try {
      for (const entry of expected.images) {
        const path = join(tmp.path, `ref-${entry.file}`);
        await import('node:fs/promises').then((fs) => fs.writeFile(path, entries.get(`reference/${entry.file}`)!));
        const [row] = await predictFiles(model, [path]);
        assert.ok(!('error' in row));
        assert.equal(row.className, entry.className);
        row.probabilities.forEach((p, i) => assert.ok(Math.abs(p - entry.probabilities[i]) < 1e-6, `${entry.file}: ${p} vs ${entry.probabilities[i]}`));
      }
    } finally {
      model.dispose();
    }
    const readme = entries.get('README.md')!.toString();
    assert.match(readme, /resizeBilinear\(image, \[24, 24\], false, true\)/);
    assert.match(readme, /no tfjs-node/);
    assert.doesNotMatch(readme, /tfjs-node'/, 'the Node snippet does not import tfjs-node');
  });

  test('onnx zip: model.onnx verified in ONNX Runtime, classify.py, metadata and reference/; ONNX Runtime gives the reference figures', async () => {
    const out = join(tmp.path, 'model-onnx.zip');
    const result = await exportRun({ run: runRecord(runDir, config), out, format: 'zip', target: 'onnx', appVersion: '9.9.9', images: verifyImages() });
    assert.ok(result.maxAbsDiff < 1e-4, `ONNX max difference ${result.maxAbsDiff}`);
    assert.equal(result.images, images.length);
    assert.equal(result.agreement, images.length);
    console.log(`# onnx export: max |ONNX Runtime - TF.js| ${result.maxAbsDiff.toExponential(2)} over ${result.images} images`);
    const entries = await readZipEntries(out);
    assert.deepEqual([...entries.keys()], [
      'model.onnx', 'metadata.json', 'README.md', 'classify.py',
      'reference/01.png', 'reference/02.png', 'reference/03.png', 'reference/04.png', 'reference/expected.json',
    ]);
    const readme = entries.get('README.md')!.toString();
    assert.match(readme, /pip install onnxruntime numpy pillow/);
    // Run the shipped model.onnx on the reference pixels as a consumer would feed them (raw 0..255, scaling inside).
    const ort = onnxRuntime();
    const onnxPath = join(tmp.path, 'shipped.onnx');
    await import('node:fs/promises').then((fs) => fs.writeFile(onnxPath, entries.get('model.onnx')!));
    const session = await ort.InferenceSession.create(onnxPath);
    const expected = JSON.parse(entries.get('reference/expected.json')!.toString()) as ReferenceFile;
    const { decodeRgb } = await import('../../../electron/imaging/image-policy');
    try {
      for (const entry of expected.images) {
        const pixels = await decodeRgb(entries.get(`reference/${entry.file}`)!, 24, 24);
        const output = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(pixels), [1, 24, 24, 3]) });
        const logit = (output[session.outputNames[0]].data as Float32Array)[0];
        const p1 = 1 / (1 + Math.exp(-logit));
        assert.ok(Math.abs(p1 - entry.probabilities[1]) < 1e-4, `${entry.file}: ${p1} vs ${entry.probabilities[1]}`);
      }
    } finally {
      await session.release();
    }
  });

  test('two exports of one run are byte-identical (zip and folder; tfjs, onnx and tm)', async () => {
    const run = runRecord(runDir, config, { createdAt: '2026-02-01T10:00:00.000Z', finishedAt: '2026-02-01T10:05:00.000Z' });
    for (const target of ['tfjs', 'onnx', 'tm'] as const) {
      const a = join(tmp.path, `same-${target}-a.zip`);
      const b = join(tmp.path, `same-${target}-b.zip`);
      await exportRun({ run, out: a, format: 'zip', target, appVersion: '1.0.0', images: verifyImages() });
      // A second later: a clock-dated field would differ.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await exportRun({ run, out: b, format: 'zip', target, appVersion: '1.0.0', images: verifyImages() });
      assert.ok((await readFile(a)).equals(await readFile(b)), `${target}: the two zips differ`);
    }
    const fa = join(tmp.path, 'same-folder-a');
    const fb = join(tmp.path, 'same-folder-b');
    await exportRun({ run, out: fa, format: 'folder', appVersion: '1.0.0', images: verifyImages() });
    await exportRun({ run, out: fb, format: 'folder', appVersion: '1.0.0', images: verifyImages() });
    const names = (await readdir(fa, { recursive: true })).sort();
    assert.deepEqual((await readdir(fb, { recursive: true })).sort(), names);
    for (const name of names.filter((n) => n.includes('.'))) {
      assert.ok((await readFile(join(fa, name))).equals(await readFile(join(fb, name))), `${name} differs between two folder exports`);
    }
  });

  test('metadata: dated by the run, the actual alpha, the base by name and weights id, no local path', async () => {
    const localBase = join(tmp.path, 'my-bases', 'mobilenet_v2_0.35');
    const mobilenetConfig = { ...config, mobilenet: { ...config.mobilenet, alpha: 1 as const, baseSource: localBase } };
    const run = runRecord(runDir, mobilenetConfig, {
      finishedAt: '2026-03-04T05:06:07.000Z',
      versions: {
        'tfjs-core': tf.version['tfjs-core'], mobilenetBase: 'mobilenet_v2_0.35_224 imagenet', mobilenetWeights: 'abc123def456',
        mobilenetAlpha: '0.35', mobilenetBaseParameters: '410208', mobilenetSource: localBase,
      },
    });
    const out = join(tmp.path, 'truth.zip');
    await exportRun({ run, out, format: 'zip', appVersion: '1.0.0', images: verifyImages() });
    const entries = await readZipEntries(out);
    const text = entries.get('metadata.json')!.toString();
    const metadata = modelMetadataSchema.parse(JSON.parse(text));
    assert.equal(metadata.createdAt, '2026-03-04T05:06:07.000Z');
    assert.equal(metadata.run.config?.mobilenet.alpha, 0.35);
    assert.equal(metadata.run.config?.mobilenet.baseSource, undefined);
    assert.equal(metadata.run.versions.mobilenetBase, 'mobilenet_v2_0.35_224 imagenet');
    assert.equal(metadata.run.versions.mobilenetWeights, 'abc123def456');
    assert.ok(!text.includes(tmp.path), 'no local path in metadata.json');
    assert.ok(metadata.recipe, 'the run folder\'s recipe is carried into the package');
    const readme = entries.get('README.md')!.toString();
    assert.match(readme, /Weights saved from epoch 1 of 1 \(the best epoch by the run's monitor\); validation accuracy at that epoch 90\.0%/);
    assert.ok(!readme.includes(tmp.path));
  });

  test('metadata names the accuracy figures: the saved (best-by-monitor) epoch\'s validation accuracy vs the highest of any epoch', async () => {
    const run = runRecord(runDir, config, {
      bestEpoch: 2, bestValAccuracy: 0.9,
      epochs: [
        { epoch: 1, loss: 0.6, accuracy: 0.7, valLoss: 0.5, valAccuracy: 0.95 },
        { epoch: 2, loss: 0.4, accuracy: 0.8, valLoss: 0.3, valAccuracy: 0.9 },
        { epoch: 3, loss: 0.3, accuracy: 0.85, valLoss: 0.35, valAccuracy: 0.85 },
      ],
    });
    const out = join(tmp.path, 'figures.zip');
    await exportRun({ run, out, format: 'zip', appVersion: '1.0.0', images: verifyImages() });
    const entries = await readZipEntries(out);
    const metrics = modelMetadataSchema.parse(JSON.parse(entries.get('metadata.json')!.toString())).run.metrics;
    assert.equal(metrics.savedEpoch, 2);
    assert.equal(metrics.valAccuracyAtSavedEpoch, 0.9);
    assert.equal(metrics.highestValAccuracy, 0.95);
    assert.equal(metrics.highestValAccuracyEpoch, 1);
    assert.equal(metrics.lastValAccuracy, 0.85);
    assert.match(entries.get('README.md')!.toString(),
      /Weights saved from epoch 2 of 3 \(the best epoch by the run's monitor\); validation accuracy at that epoch 90\.0%; the highest validation accuracy of any epoch was 95\.0% \(epoch 1, not these weights\), at the last epoch 85\.0%/);
  });

  test('tm target: Teachable Machine\'s files and metadata dated by the run; a non-square run is refused in words, leaving nothing', async () => {
    const out = join(tmp.path, 'tm.zip');
    const run = runRecord(runDir, config, { finishedAt: '2026-03-04T05:06:07.000Z' });
    const result = await exportRun({ run, out, format: 'zip', target: 'tm', appVersion: '1.0.0', images: verifyImages() });
    assert.ok(result.maxAbsDiff < 1e-4, `TM max difference ${result.maxAbsDiff}`);
    console.log(`# tm export: max |TM package - Pawprint| ${result.maxAbsDiff.toExponential(2)} over ${result.images} images`);
    const entries = await readZipEntries(out);
    assert.deepEqual([...entries.keys()].sort(), ['README.md', 'metadata.json', 'model.json', 'weights.bin']);
    const tm = JSON.parse(entries.get('metadata.json')!.toString()) as { labels: string[]; imageSize: number; timeStamp: string; packageName: string };
    assert.deepEqual(tm.labels, ['blue', 'red']);
    assert.equal(tm.imageSize, 24);
    assert.equal(tm.timeStamp, '2026-03-04T05:06:07.000Z');
    assert.equal(tm.packageName, '@teachablemachine/image');

    const wideDir = join(tmp.path, 'wide-run');
    const items = images.map((path) => ({ key: path, path, label: path.includes('/red/') ? 1 : 0 }));
    const { config: wide } = await trainTinyRun(items, wideDir, tinyConfig({ imageSize: { height: 20, width: 28 }, epochs: 1 }));
    const wideOut = join(tmp.path, 'wide-tm.zip');
    await assert.rejects(
      exportRun({ run: runRecord(wideDir, wide), out: wideOut, format: 'zip', target: 'tm', appVersion: '1.0.0', images: verifyImages() }),
      (error: Error & { code?: string }) => error.code === 'unsupported' && !error.message.includes('\n') && /square|imageSize/i.test(error.message),
    );
    assert.deepEqual((await readdir(tmp.path)).filter((n) => n.includes('wide-tm')), []);
  });
});
