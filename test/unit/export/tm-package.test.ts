// The Teachable Machine package in memory (no browser; tm-library.slow.test.ts runs TM's own library on it): the
// metadata TM's library reads, only layers tfjs 1.3.1 has, K softmax outputs that equal Pawprint's probabilities on
// TM's input, byte-identical exports, and one-line refusals for what cannot be a TM model.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import {
  buildTmPackage, TFJS_1_3_1_LAYERS, TM_INPUT_LAYER, verifyTmPackage, writeTmPackage, type TmPackage,
} from '../../../electron/export/targets/tm/index';
import { tempDir } from '../../support/temp';
import { needsShared, sharedBackbone } from '../../support/shared-data';
import { buildPresetModel } from '../../../electron/training/presets';
import { presetDefaults } from '../../../shared/training-config';
import { asRun, cnnPreset } from './tm-models';
import { imageBatch } from './onnx-helpers';

const tmp = tempDir('pawprint-tm-package-');
before(async () => {
  await ensureInferenceBackend();
});
after(() => tmp.cleanup());

const OPTIONS = { modelName: 'pets', timeStamp: '2026-01-02T03:04:05.000Z', appVersion: '0.0.0-test' };

function pixelsAt(size: number, count: number, seed: number): Uint8Array[] {
  const batch = imageBatch(count, size, size, seed);
  const per = size * size * 3;
  return Array.from({ length: count }, (_, i) => Uint8Array.from(batch.data.subarray(i * per, (i + 1) * per)));
}

function modelJsonOf(pkg: TmPackage): { modelTopology: unknown; weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[] }> }> } {
  return JSON.parse(pkg.files.get('model.json')!.toString('utf8'));
}

describe('Teachable Machine package', () => {
  test('metadata.json has the fields @teachablemachine/image reads: labels, an integer imageSize, versions, the run\'s time', async () => {
    const loaded = await asRun(cnnPreset('cnn-normalize', 40, 3, 1), join(tmp.path, 'run-meta'), 3);
    try {
      const pkg = await buildTmPackage(loaded, OPTIONS);
      assert.deepEqual([...pkg.files.keys()], ['model.json', 'weights.bin', 'metadata.json', 'README.md']);
      assert.match(pkg.files.get('README.md')!.toString('utf8'), /0: class a, 1: class b, 2: class c[\s\S]*tmImage\.load\('\.\/model\.json', '\.\/metadata\.json'\)/);
      const meta = JSON.parse(pkg.files.get('metadata.json')!.toString('utf8'));
      assert.deepEqual(meta.labels, ['class a', 'class b', 'class c']);
      assert.equal(meta.imageSize, 40);
      assert.equal(meta.tfjsVersion, '1.3.1');
      assert.equal(meta.packageName, '@teachablemachine/image');
      assert.equal(meta.packageVersion, '0.8.5');
      assert.equal(meta.modelName, 'pets');
      assert.equal(meta.timeStamp, OPTIONS.timeStamp);
      assert.equal(typeof meta.userMetadata, 'object');
      const json = modelJsonOf(pkg);
      assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
      const bytes = json.weightsManifest[0].weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
      assert.equal(pkg.files.get('weights.bin')!.length, bytes);
      const text = JSON.stringify(json.modelTopology);
      assert.doesNotMatch(text, /Rescaling|Functional/);
      assert.match(text, new RegExp(TM_INPUT_LAYER));
    } finally {
      loaded.dispose();
    }
  });

  test('two exports of one run are byte-identical', async () => {
    const loaded = await asRun(cnnPreset('cnn', 40, 2, 2), join(tmp.path, 'run-twice'), 2, 'none');
    try {
      const [a, b] = [await buildTmPackage(loaded, OPTIONS), await buildTmPackage(loaded, OPTIONS)];
      for (const name of a.files.keys()) assert.ok(a.files.get(name)!.equals(b.files.get(name)!), `${name} differs`);
    } finally {
      loaded.dispose();
    }
  });

  for (const [preset, classes, preprocessing] of [['cnn', 2, 'none'], ['cnn-normalize', 3, 'symmetric']] as const) {
    test(`${preset}, ${classes} classes: ${classes} softmax probabilities on x / 127 - 1 equal Pawprint's on the pixels`, async () => {
      const loaded = await asRun(cnnPreset(preset, 40, classes, 3), join(tmp.path, `run-${preset}`), classes, preprocessing);
      try {
        const pkg = await buildTmPackage(loaded, OPTIONS);
        assert.equal(pkg.conversion.units, classes);
        const check = await verifyTmPackage(loaded, pkg, pixelsAt(40, 5, 9));
        assert.ok(check.ok && check.maxAbsDiff < 1e-5, `max difference ${check.maxAbsDiff}`);
        assert.equal(check.agreement, 5);
      } finally {
        loaded.dispose();
      }
    });
  }

  test('verification catches a package whose input scaling is wrong, and writeTmPackage then writes nothing', async () => {
    const loaded = await asRun(cnnPreset('cnn-normalize', 40, 3, 4), join(tmp.path, 'run-wrong'), 3);
    try {
      const pkg = await buildTmPackage(loaded, OPTIONS);
      // The scaling layer's bias is the last 3 floats of weights.bin: zeroed, the input is off by 1/255.
      const weights = Buffer.from(pkg.files.get('weights.bin')!);
      for (let i = 0; i < 3; i++) weights.writeFloatLE(0, weights.length - 4 * (i + 1));
      const broken: TmPackage = { ...pkg, files: new Map(pkg.files).set('weights.bin', weights) };
      const check = await verifyTmPackage(loaded, broken, pixelsAt(40, 4, 5));
      assert.equal(check.ok, false);
      assert.ok(check.maxAbsDiff >= check.tolerance, `max difference ${check.maxAbsDiff}`);

      const out = join(tmp.path, 'never-written');
      await assert.rejects(
        writeTmPackage(loaded, out, { ...OPTIONS, pixels: [new Uint8Array(10)] }),
        (error: unknown) => error instanceof AppError && /Verification image 1 has 10 values; the model takes 40x40x3/.test(error.message),
      );
      assert.equal(existsSync(out), false);
      const written = await writeTmPackage(loaded, out, { ...OPTIONS, pixels: pixelsAt(40, 2, 6) });
      assert.deepEqual(readdirSync(out).sort(), ['README.md', 'metadata.json', 'model.json', 'weights.bin']);
      assert.equal(written.verification.images, 2);
    } finally {
      loaded.dispose();
    }
  });

  test('a run trained at a non-square size is refused in one line: TM feeds square images only', async () => {
    const wide = buildPresetModel({ ...presetDefaults('cnn'), imageSize: { height: 40, width: 56 } }, 2);
    const loaded = await asRun(wide, join(tmp.path, 'run-wide'), 2, 'none');
    wide.dispose();
    try {
      await assert.rejects(buildTmPackage(loaded, OPTIONS), (error: unknown) => error instanceof AppError && error.code === 'unsupported'
        && /trained on 56x40 images and Teachable Machine's library only feeds square images/.test(error.message) && !error.message.includes('\n'));
    } finally {
      loaded.dispose();
    }
  });

  test('a Teachable Machine model is refused as already being one', { skip: needsShared(sharedBackbone) }, async () => {
    const loaded = await loadModel(sharedBackbone);
    try {
      await assert.rejects(buildTmPackage(loaded, OPTIONS), /already a Teachable Machine model/);
    } finally {
      loaded.dispose();
    }
  });

  test('every layer class the converter allows is one tfjs 1.3.1 registers (and Rescaling is not)', { skip: tfjs131Layers() ? false : 'needs the dev dependency tfjs-1.3.1' }, () => {
    const registered = tfjs131Layers()!;
    assert.ok(!registered.has('Rescaling'));
    const missing = [...TFJS_1_3_1_LAYERS].filter((name) => !registered.has(name));
    assert.deepEqual(missing, []);
  });
});

/** The `className`s tfjs-layers 1.3.1's dist declares (layers, containers), read from the installed package. */
function tfjs131Layers(): Set<string> | null {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve('tfjs-1.3.1/package.json'));
  } catch {
    return null;
  }
  const dist = join(root, 'node_modules', '@tensorflow', 'tfjs-layers', 'dist');
  if (!existsSync(dist)) return null;
  const files = [
    ...readdirSync(join(dist, 'layers')).filter((f) => f.endsWith('.js')).map((f) => join(dist, 'layers', f)),
    ...readdirSync(join(dist, 'engine')).filter((f) => f.endsWith('.js')).map((f) => join(dist, 'engine', f)),
    join(dist, 'models.js'),
  ];
  const names = new Set<string>();
  for (const file of files) for (const match of readFileSync(file, 'utf8').matchAll(/\.className = '([A-Za-z0-9]+)'/g)) names.add(match[1]);
  return names;
}
