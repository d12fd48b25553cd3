import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { createServices, type Services } from '../../../electron/services/index';
import { createRun, markRunning, addEpoch, failInterruptedRuns, listRuns, getRun, CRASHED_RUN_MESSAGE } from '../../../electron/catalogue/runs';
import { bootTimeSeconds, parseOwner } from '../../../electron/catalogue/process-owner';
import { getImagePath } from '../../../electron/catalogue/training-data';
import { decodeImageFile } from '../../../electron/training/data-pipeline';
import { augmentVariants } from '../../../electron/training/augment';
import { parseTrainingConfig } from '../../../shared/training-config';
import { runCli } from '../../../electron/cli/main';
import { tempDir, tempPaths } from '../../support/temp';
import { seedDataset } from './fixtures';

describe('training channels', () => {
  let dir: ReturnType<typeof tempDir>;
  let services: Services;
  let datasetId: number;
  let splitId: number;
  let imageIds: number[];

  before(async () => {
    dir = tempDir('pawprint-train-channels-');
    services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
    ({ datasetId, splitId, imageIds } = await seedDataset(services.app.db, join(dir.path, 'images'), { perClass: 8 }));
  });
  after(async () => {
    await services.close();
    dir.cleanup();
  });

  test('presets come with the tutorial defaults and the parameter counts the tutorial prints', async () => {
    const { presets } = await services.request('training.presets', {});
    const byName = new Map(presets.map((p) => [p.name, p]));
    assert.deepEqual([...byName.keys()].sort(), ['cnn', 'cnn-augment', 'cnn-normalize', 'custom', 'mobilenetv2']);
    assert.equal(byName.get('cnn')!.model!.totalParams, 1_346_753);
    assert.equal(byName.get('cnn-normalize')!.model!.totalParams, 2_674_113);
    for (const name of ['cnn', 'cnn-augment', 'cnn-normalize'] as const) {
      const d = byName.get(name)!.defaults;
      assert.deepEqual([d.imageSize.height, d.imageSize.width, d.batchSize, d.epochs, d.optimizer, d.learningRate], [160, 160, 32, 20, 'adam', 0.001]);
    }
    assert.deepEqual(byName.get('cnn-augment')!.defaults.augmentation, { flip: 'both', rotation: 0.25, zoom: 0, brightness: 0, contrast: 0 });
    const mobilenet = byName.get('mobilenetv2')!.model!;
    assert.ok(mobilenet.trainableParams < 10_000 && mobilenet.totalParams > 300_000, JSON.stringify([mobilenet.totalParams, mobilenet.trainableParams]));
    const three = await services.request('training.presets', { numClasses: 3 });
    assert.deepEqual(three.presets.find((p) => p.name === 'cnn')!.model!.outputShape, [3]);
  });

  test('validateConfig explains custom-layer problems in words and fills in defaults', async () => {
    const ok = await services.request('training.validateConfig', { config: { preset: 'cnn', epochs: 3 } });
    assert.equal(ok.ok, true);
    assert.equal(ok.config?.epochs, 3);
    assert.equal(ok.config?.batchSize, 32);
    assert.equal(ok.totalParams, 1_346_753);

    const bad = await services.request('training.validateConfig', {
      config: {
        preset: 'custom', imageSize: { height: 32, width: 32 },
        customLayers: [
          { type: 'conv2d', filters: 8, kernelHeight: 3, kernelWidth: 3 }, { type: 'maxPool', poolSize: 2 },
          { type: 'maxPool', poolSize: 2 }, { type: 'maxPool', poolSize: 2 }, { type: 'conv2d', filters: 8, kernelHeight: 10, kernelWidth: 5 },
        ],
      },
    });
    assert.equal(bad.ok, false);
    const issue = bad.issues.find((i) => i.layer === 5);
    assert.match(issue?.message ?? '', /kernel 10x5 is larger than the 3x3 feature map after layer 4/);

    const typo = await services.request('training.validateConfig', { config: { preset: 'custom', customLayers: [{ type: 'dense', units: 0 }] } });
    assert.equal(typo.ok, false);
    assert.ok(typo.issues.some((i) => i.layer === 1 && /Layer 1 \(dense\)/.test(i.message)), JSON.stringify(typo.issues));

    const wrong = await services.request('training.validateConfig', { config: { preset: 'cnn', epochs: 0, optimizer: 'adagrad' } });
    assert.equal(wrong.ok, false);
    assert.ok(wrong.issues.some((i) => i.message.startsWith('epochs')));
    assert.ok(wrong.issues.some((i) => i.message.startsWith('optimizer')));

    const mobile = await services.request('training.validateConfig', { config: { preset: 'mobilenetv2', imageSize: { height: 64, width: 64 } } });
    assert.ok(mobile.issues.some((i) => /square image size from 96 to 224/.test(i.message)));
  });

  test('jobs.start train refuses a bad config or dataset with the reason, before any run or job is created', async () => {
    await assert.rejects(services.request('jobs.start', { kind: 'train', input: { datasetId, splitId, config: { preset: 'cnn', epochs: -1 } } }), /epochs/);
    await assert.rejects(services.request('jobs.start', { kind: 'train', input: { datasetId: 999, config: { preset: 'cnn' } } }), /Dataset 999 does not exist/);
    assert.equal((await services.request('runs.list', {})).runs.length, 0);
    assert.equal((await services.request('jobs.list', { kind: 'train' })).jobs.length, 0);
  });

  test('augment.preview returns the original and the variants training would see, from the same code and seed', async () => {
    const options = { flip: 'both' as const, rotation: 0.25, zoom: 0.1, brightness: 0.2, contrast: 0.1 };
    const preview = await services.request('augment.preview', { imageId: imageIds[0], options, size: 24, seed: 7, count: 3 });
    assert.equal(preview.variants.length, 3);
    const image = getImagePath(services.app.db, imageIds[0])!;
    const { pixels } = await decodeImageFile(image.path, 24, 24);
    // The key training uses for this image is its content hash (see toWorkerImages in the service).
    const expected = augmentVariants(pixels, 24, 24, 3, options, 7, image.contentHash, 3);
    for (let k = 0; k < 3; k++) {
      const png = Buffer.from(preview.variants[k].dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
      const raw = await sharp(png).removeAlpha().raw().toBuffer();
      assert.deepEqual(new Uint8Array(raw), expected[k].pixels, `variant ${k}`);
      assert.deepEqual(preview.variants[k].params, expected[k].params);
    }
    const other = await services.request('augment.preview', { imageId: imageIds[0], options, size: 24, seed: 8, count: 1 });
    assert.notEqual(other.variants[0].dataUrl, preview.variants[0].dataUrl, 'another seed gives other variants');
    await assert.rejects(services.request('augment.preview', { imageId: 99999, options, count: 1 }), /does not exist/);
  });

  test('runs interrupted by a crashed app are marked failed at the next start; runs of a live process are left alone', () => {
    const db = services.app.db;
    const config = parseTrainingConfig({ preset: 'cnn', epochs: 4 });
    const base = { datasetId, splitId, config, classNames: ['cats', 'dogs'], dataHash: 'x' };
    const crashed = createRun(db, { ...base, name: 'crashed' });
    markRunning(db, crashed, 'wasm', { 'tfjs-core': '4.22.0' });
    addEpoch(db, crashed, { phase: 'train', epoch: 1, loss: 0.7, accuracy: 0.5, valLoss: 0.69, valAccuracy: 0.55, durationMs: 1000 });
    const foreign = createRun(db, { ...base, name: 'other process' });
    // The parent of this test process is alive: a run it owns must not be touched.
    db.prepare('UPDATE runs SET owner = ? WHERE id = ?').run(`${hostname()}:${process.ppid}:${bootTimeSeconds()}`, foreign);
    const gone = createRun(db, { ...base, name: 'dead process' });
    db.prepare('UPDATE runs SET owner = ? WHERE id = ?').run(`${hostname()}:2147483`, gone);
    // A live pid recorded before a restart is another process that reused the number: the run is not alive.
    const beforeReboot = createRun(db, { ...base, name: 'before a reboot' });
    db.prepare('UPDATE runs SET owner = ? WHERE id = ?').run(`${hostname()}:${process.ppid}:${bootTimeSeconds() - 86_400}`, beforeReboot);
    assert.deepEqual(parseOwner('my:host:12:345'), { host: 'my:host', pid: 12, boot: 345 });
    assert.deepEqual(parseOwner('box:12'), { host: 'box', pid: 12, boot: null });

    const failed = failInterruptedRuns(db);
    assert.deepEqual(failed.sort(), [crashed, gone, beforeReboot].sort());
    const run = getRun(db, crashed);
    assert.equal(run.status, 'failed');
    assert.equal(run.error, CRASHED_RUN_MESSAGE);
    assert.equal(run.epochs.length, 1, 'its epochs are kept');
    assert.equal(getRun(db, foreign).status, 'queued');
    assert.deepEqual(listRuns(db, { status: 'failed' }).map((r) => r.id).sort(), [crashed, gone, beforeReboot].sort());
  });
});

describe('pawprint train', () => {
  test('trains by dataset name, prints a line per epoch on stderr and one JSON document on stdout', async () => {
    const dir = tempDir('pawprint-train-cli-');
    try {
      const paths = tempPaths(dir.path);
      const seeding = createServices({ paths, host: { kind: 'web' } });
      await seedDataset(seeding.app.db, join(dir.path, 'images'), { perClass: 8, name: 'pets' });
      await seeding.close();
      const out: string[] = [];
      const err: string[] = [];
      const configFile = join(dir.path, 'config.json');
      writeFileSync(configFile, JSON.stringify({
        preset: 'custom', customLayers: [{ type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }, { type: 'globalPool', mode: 'max' }],
      }));
      const code = await runCli(
        ['train', 'pets', '--config', configFile, '--epochs', '2', '--image-size', '24', '--batch-size', '8', '--backend', 'wasm', '--lr', '0.01', '--json', '--db', paths.databasePath],
        { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
      );
      assert.equal(code, 0, err.join('\n'));
      const doc = JSON.parse(out.join('\n'));
      assert.equal(doc.status, 'completed');
      assert.equal(doc.backend, 'wasm');
      assert.equal(doc.epochs.length, 2);
      assert.ok(typeof doc.runId === 'number' && (doc.bestEpoch === 1 || doc.bestEpoch === 2));
      assert.ok(typeof doc.testAccuracy === 'number');
      assert.equal(err.filter((line) => /^epoch [12]\/2 /.test(line)).length, 2, err.join('\n'));

      const usage: string[] = [];
      assert.equal(await runCli(['train', 'pets', '--epochs', 'many', '--db', paths.databasePath], { stdout: () => undefined, stderr: (t) => usage.push(t) }), 2);
      assert.match(usage.join('\n'), /--epochs must be a whole number/);
      const missing: string[] = [];
      assert.equal(await runCli(['train', 'nope', '--db', paths.databasePath], { stdout: () => undefined, stderr: (t) => missing.push(t) }), 1);
    } finally {
      dir.cleanup();
    }
  });
});
