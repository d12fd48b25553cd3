// The Teachable Machine export run by Teachable Machine's own library: @teachablemachine/image 0.8.5 on TensorFlow.js
// 1.3.1 in Chromium, tmImage.load(model.json, metadata.json) and model.predict(<img>), against Pawprint's
// probabilities for the same images. The images are PNGs whose centre square is exactly the model's size (square ones
// and taller ones), so TM's crop-and-draw and Pawprint's cover crop give the same pixels and any difference is the
// model's. Skipped, with the reason, without Chromium or the dev dependencies; the real backbone needs ../shared.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import type { LoadedModel } from '../../../electron/inference/loader';
import { predictPixels } from '../../../electron/inference/predictor';
import { argmax } from '../../../electron/inference/probabilities';
import { createMobileNetV2Base, resolveBaseWeights } from '../../../electron/training/mobilenet/base-weights';
import { buildTransferModel } from '../../../electron/training/mobilenet/mobilenet-v2';
import { decodeForTm, writeTmPackage } from '../../../electron/export/targets/tm/index';
import { tempDir } from '../../support/temp';
import { needsShared, sharedBackbone } from '../../support/shared-data';
import { asRun, cnnPreset, fineTunedMobileNet, frozenMobileNet, writeImages } from './tm-models';
import { needsBrowserLibraries, openTmBrowser, type TmBrowser } from './tm-browser';
import { tf } from '../../../electron/tfjs/tf';
import { mulberry32 } from '../../../shared/random';

const skip = needsBrowserLibraries();
/** TM's library (tfjs 1.3.1, CPU backend) against Pawprint (tfjs 4.22) on the same pixels. */
const CPU_TOLERANCE = 1e-4;

const tmp = tempDir('pawprint-tm-library-');
let browser: TmBrowser;
before(async () => {
  if (skip) return;
  await ensureInferenceBackend();
  // The CPU backend: float32 everywhere, as Pawprint computes (headless Chromium has no GPU here).
  browser = await openTmBrowser(tmp.path, { backend: 'cpu' });
});
after(async () => {
  await browser?.close();
  tmp.cleanup();
});

interface Compared {
  maxAbsDiff: number;
  sameClass: number;
  images: number;
}

/** Exports `loaded` as a TM package under the served root, runs TM's library on `images` and compares. */
async function exportAndCompare(loaded: LoadedModel, name: string, images: string[]): Promise<Compared> {
  const size = loaded.imageSize.height;
  const pixels = await Promise.all(images.map(async (path) => decodeForTm(await readFile(path), size)));
  const written = await writeTmPackage(loaded, join(tmp.path, name), {
    modelName: name, timeStamp: '2026-01-02T03:04:05.000Z', appVersion: '0.0.0-test', pixels,
  });
  assert.equal(written.metadata.imageSize, size);
  const expected = await predictPixels(loaded, pixels);
  const got = await browser.predict(`/${name}`, images.map((path) => `/images/${basename(path)}`));
  let maxAbsDiff = 0;
  let sameClass = 0;
  got.forEach((row, i) => {
    assert.deepEqual(row.classNames, loaded.classNames, 'TM names the classes from metadata.labels, in output order');
    assert.equal(row.probabilities.length, loaded.classNames.length);
    const want = expected[i].probabilities;
    for (let k = 0; k < want.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(row.probabilities[k] - want[k]));
    if (argmax(row.probabilities) === expected[i].predictedIndex) sameClass++;
  });
  return { maxAbsDiff, sameClass, images: images.length };
}

async function imagesAt(size: number, count: number, seed: number): Promise<string[]> {
  const folder = join(tmp.path, 'images');
  await mkdir(folder, { recursive: true });
  return writeImages(folder, size, count, seed);
}

describe("Teachable Machine's library (@teachablemachine/image 0.8.5, tfjs 1.3.1) on tm exports", { skip }, () => {
  test("a run's own model folder is what TM's library cannot load (the Rescaling layer tfjs 1.3.1 lacks)", async () => {
    const model = frozenMobileNet(96, { pooling: 'average', units: 1 }, 3);
    const loaded = await asRun(model, join(tmp.path, 'raw-run'), 2);
    model.dispose();
    try {
      const error = await browser.loadError('/raw-run');
      assert.match(error ?? 'loaded', /Rescaling/);
    } finally {
      loaded.dispose();
    }
  });

  test('mobilenetv2 frozen, 96x96, two classes (one sigmoid logit -> two softmax probabilities)', async (t) => {
    const model = frozenMobileNet(96, { pooling: 'average', units: 1 }, 3);
    const loaded = await asRun(model, join(tmp.path, 'run-frozen'), 2);
    model.dispose();
    try {
      const result = await exportAndCompare(loaded, 'tm-frozen', await imagesAt(96, 6, 10));
      t.diagnostic(`backend ${browser.backend}: same class ${result.sameClass}/${result.images}, max |TM - Pawprint| = ${result.maxAbsDiff.toExponential(2)}`);
      assert.ok(result.maxAbsDiff < CPU_TOLERANCE, `max difference ${result.maxAbsDiff}`);
      assert.equal(result.sameClass, result.images);
    } finally {
      loaded.dispose();
    }
  });

  test('mobilenetv2 fine-tuned (top 3 blocks folded), 96x96, max pooling + extra Dense, three classes', async (t) => {
    const assembled = fineTunedMobileNet(96, { pooling: 'max', units: 3, extraDense: 16 }, 3, 5);
    const loaded = await asRun(assembled.model, join(tmp.path, 'run-fine-tuned'), 3);
    assembled.dispose();
    try {
      const result = await exportAndCompare(loaded, 'tm-fine-tuned', await imagesAt(96, 6, 20));
      t.diagnostic(`same class ${result.sameClass}/${result.images}, max |TM - Pawprint| = ${result.maxAbsDiff.toExponential(2)}`);
      assert.ok(result.maxAbsDiff < CPU_TOLERANCE, `max difference ${result.maxAbsDiff}`);
      assert.equal(result.sameClass, result.images);
    } finally {
      loaded.dispose();
    }
  });

  for (const preset of ['cnn', 'cnn-normalize'] as const) {
    test(`the ${preset} preset at 48x48, three classes (a Sequential ${preset === 'cnn' ? 'without' : 'with'} a Rescaling layer)`, async (t) => {
      const model = cnnPreset(preset, 48, 3, 7);
      const loaded = await asRun(model, join(tmp.path, `run-${preset}`), 3, preset === 'cnn' ? 'none' : 'symmetric');
      model.dispose();
      try {
        const result = await exportAndCompare(loaded, `tm-${preset}`, await imagesAt(48, 6, 30));
        t.diagnostic(`same class ${result.sameClass}/${result.images}, max |TM - Pawprint| = ${result.maxAbsDiff.toExponential(2)}`);
        assert.ok(result.maxAbsDiff < CPU_TOLERANCE, `max difference ${result.maxAbsDiff}`);
        assert.equal(result.sameClass, result.images);
      } finally {
        loaded.dispose();
      }
    });
  }

  describe('the real MobileNetV2 0.35 backbone', { skip: needsShared(sharedBackbone) }, () => {
    for (const size of [224, 160]) {
      test(`frozen at ${size}x${size} + global average pooling + Dense(1)`, async (t) => {
        const weights = await resolveBaseWeights({ kind: 'local', path: sharedBackbone }, { cacheDir: tmpdir() });
        const model = buildTransferModel(createMobileNetV2Base(weights, size), { pooling: 'average', units: 1 }, true);
        const rng = mulberry32(40);
        const head = model.getLayer('head_logits');
        const values = [tf.tensor2d(Float32Array.from({ length: 1280 }, () => (rng() - 0.5) * 0.2), [1280, 1]), tf.tensor1d([0.1])];
        head.setWeights(values);
        tf.dispose(values);
        const loaded = await asRun(model, join(tmp.path, `run-real-${size}`), 2);
        model.dispose();
        try {
          const result = await exportAndCompare(loaded, `tm-real-${size}`, await imagesAt(size, 3, 50));
          t.diagnostic(`same class ${result.sameClass}/${result.images}, max |TM - Pawprint| = ${result.maxAbsDiff.toExponential(2)}`);
          assert.ok(result.maxAbsDiff < CPU_TOLERANCE, `max difference ${result.maxAbsDiff}`);
          assert.equal(result.sameClass, result.images);
        } finally {
          loaded.dispose();
        }
      });
    }
  });
});
