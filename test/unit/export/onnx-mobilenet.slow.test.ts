// The real ImageNet MobileNetV2 (alpha 0.35, from ../shared/models) exported to ONNX, with a head, frozen and
// fine-tuned, and the Teachable Machine model itself (a foreign nesting of Sequentials), on real photos from
// ../shared/data when present: ONNX Runtime must give TF.js's outputs within 1e-4. Skipped, with the reason, when
// ../shared is not beside the checkout.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { LayersModel } from '../../../electron/tfjs/tf';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { decodeForModel } from '../../../electron/inference/preprocess';
import { resolveBaseWeights, createMobileNetV2Base, type BaseWeights } from '../../../electron/training/mobilenet/base-weights';
import { buildFeatureHead, buildTransferModel, type TransferHeadOptions } from '../../../electron/training/mobilenet/mobilenet-v2';
import { assembleFineTuned, buildTopModel, planFineTune } from '../../../electron/training/worker/fine-tune';
import { ONNX_VERIFY_TOLERANCE, writeVerifiedOnnxModel } from '../../../electron/export/targets/onnx/index';
import { tempDir } from '../../support/temp';
import { needsShared, sharedBackbone, sharedPhotos } from '../../support/shared-data';
import { convertAndCompare, imageBatch, randomizeWeights } from './onnx-helpers';

const skip = needsShared(sharedBackbone);
const tmp = tempDir('pawprint-onnx-mobilenet-');
after(() => tmp.cleanup());

/** Photos decoded as the app decodes them (8 of each class), or image-like inputs when ../shared/data is missing. */
async function photoBatch(size: number): Promise<{ data: Float32Array; shape: number[]; source: string }> {
  if (needsShared(sharedPhotos)) return { ...imageBatch(8, size, size, 1), source: 'generated images' };
  const files = ['cats', 'dogs'].flatMap((cls) => readdirSync(join(sharedPhotos, cls)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 8).map((f) => join(sharedPhotos, cls, f)));
  const data = new Float32Array(files.length * size * size * 3);
  for (const [i, file] of files.entries()) data.set(await decodeForModel({ imageSize: { height: size, width: size }, resize: 'fill' }, await readFile(file)), i * size * size * 3);
  return { data, shape: [files.length, size, size, 3], source: `${files.length} photos` };
}

describe('ONNX export of the real MobileNetV2 0.35 backbone', { skip }, () => {
  let weights: BaseWeights;
  before(async () => {
    await ensureInferenceBackend();
    weights = await resolveBaseWeights({ kind: 'local', path: sharedBackbone }, { cacheDir: tmpdir() });
  });

  for (const size of [224, 160]) {
    test(`frozen base at ${size}x${size} + global average pooling + Dense(3)`, async (t) => {
      const base = createMobileNetV2Base(weights, size);
      const model = buildTransferModel(base, { pooling: 'average', units: 3 }, true);
      try {
        randomizeWeights(headOnly(model), 21);
        const inputs = await photoBatch(size);
        const check = await convertAndCompare(model, tmp.path, `real-frozen-${size}`, inputs);
        t.diagnostic(`${inputs.source}: max |ONNX - TF.js| = ${check.maxAbsDiff.toExponential(2)}`);
        assert.ok(check.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `max difference ${check.maxAbsDiff}`);
      } finally {
        model.dispose();
      }
    });
  }

  test('fine-tuned (top 5 blocks) at 160x160 + global max pooling + Dense(relu) + one logit', async (t) => {
    const size = 160;
    const head: TransferHeadOptions = { pooling: 'max', units: 1, extraDense: 32 };
    const plan = planFineTune(weights, size, 5);
    const featureHead = buildFeatureHead(head);
    randomizeWeights(featureHead, 22);
    const top = buildTopModel(weights, size, plan, head, featureHead);
    featureHead.dispose();
    const assembled = assembleFineTuned(weights, size, plan, top);
    try {
      const inputs = await photoBatch(size);
      const check = await convertAndCompare(assembled.model, tmp.path, 'real-fine-tuned', inputs);
      t.diagnostic(`${inputs.source}: max |ONNX - TF.js| = ${check.maxAbsDiff.toExponential(2)}`);
      assert.ok(check.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `max difference ${check.maxAbsDiff}`);
    } finally {
      assembled.dispose();
    }
  });

  test('the Teachable Machine export itself (nested Sequentials, softmax output)', async (t) => {
    const loaded = await loadModel(sharedBackbone);
    try {
      const pixels = await photoBatch(224);
      const per = 224 * 224 * 3;
      const images = Array.from({ length: pixels.shape[0] }, (_, i) => Uint8Array.from(pixels.data.subarray(i * per, (i + 1) * per)));
      // Teachable Machine scales outside the model (x / 127 - 1): the check feeds both runtimes the scaled pixels.
      const { written, verification } = await writeVerifiedOnnxModel(loaded, join(tmp.path, 'teachable-machine.onnx'), images);
      assert.equal(written.outputName, 'probabilities');
      t.diagnostic(`${pixels.source}: max |ONNX - TF.js| = ${verification.maxAbsDiff.toExponential(2)}`);
      assert.ok(verification.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `max difference ${verification.maxAbsDiff}`);
    } finally {
      loaded.dispose();
    }
  });
});

/** A view of the transfer model's head layers, so only they get random weights (the base keeps ImageNet's). */
function headOnly(model: LayersModel): LayersModel {
  return { layers: model.layers.filter((layer) => layer.name.startsWith('head_')) } as unknown as LayersModel;
}
