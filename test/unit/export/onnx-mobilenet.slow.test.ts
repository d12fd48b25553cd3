// The mobilenetv2 preset exported to ONNX: ONNX Runtime must give TF.js's outputs within 1e-4.
// - Random weights (alpha 0.35, 96x96), frozen and fine-tuned, the latter through a saved run folder as the export
//   job reads it: always runs.
// - The real ImageNet MobileNetV2 (alpha 0.35, from ../shared/models) with a head, frozen and fine-tuned, and the
//   Teachable Machine model itself (a foreign nesting of Sequentials), on real photos from ../shared/data when
//   present. Skipped, with the reason, when ../shared is not beside the checkout.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { LayersModel } from '../../../electron/tfjs/tf';
import { saveModelToFolder } from '../../../electron/inference/model-folder';
import { baseWeightsFromModel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { decodeOnnxModel } from '../../../electron/export/targets/onnx/onnx-proto';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { decodeForModel } from '../../../electron/inference/preprocess';
import { resolveBaseWeights, createMobileNetV2Base, type BaseWeights } from '../../../electron/training/mobilenet/base-weights';
import { buildFeatureHead, buildMobileNetV2, buildTransferModel, type TransferHeadOptions } from '../../../electron/training/mobilenet/mobilenet-v2';
import { assembleFineTuned, buildTopModel, planFineTune } from '../../../electron/training/worker/fine-tune';
import { ONNX_VERIFY_TOLERANCE, verifyOnnxWithModel, writeOnnxModel, writeVerifiedOnnxModel } from '../../../electron/export/targets/onnx/index';
import { tempDir } from '../../support/temp';
import { needsShared, sharedBackbone, sharedPhotos } from '../../support/shared-data';
import { convertAndCompare, imageBatch, randomizeWeights } from './onnx-helpers';

const skip = needsShared(sharedBackbone);
const tmp = tempDir('pawprint-onnx-mobilenet-');
before(async () => {
  await ensureInferenceBackend();
});
after(() => tmp.cleanup());

/** Photos decoded as the app decodes them (8 of each class), or image-like inputs when ../shared/data is missing. */
async function photoBatch(size: number): Promise<{ data: Float32Array; shape: number[]; source: string }> {
  if (needsShared(sharedPhotos)) return { ...imageBatch(8, size, size, 1), source: 'generated images' };
  const files = ['cats', 'dogs'].flatMap((cls) => readdirSync(join(sharedPhotos, cls)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 8).map((f) => join(sharedPhotos, cls, f)));
  const data = new Float32Array(files.length * size * size * 3);
  for (const [i, file] of files.entries()) data.set(await decodeForModel({ imageSize: { height: size, width: size }, resize: 'fill' }, await readFile(file)), i * size * size * 3);
  return { data, shape: [files.length, size, size, 3], source: `${files.length} photos` };
}

describe('ONNX export of mobilenetv2 (alpha 0.35, 96x96, random weights)', () => {
  const imageSize = 96;
  const inputs = imageBatch(3, imageSize, imageSize, 77);
  let base: LayersModel;
  before(() => {
    base = buildMobileNetV2({ alpha: 0.35, imageSize });
    randomizeWeights(base, 3);
  });
  after(() => base.dispose());

  test('frozen base + global average pooling + Dropout + Dense, 3 classes', async (t) => {
    const model = buildTransferModel(base, { pooling: 'average', units: 3 }, true);
    randomizeWeights(model, 11);
    const check = await convertAndCompare(model, tmp.path, 'mobilenet-frozen', inputs);
    t.diagnostic(`max |ONNX - TF.js| = ${check.maxAbsDiff.toExponential(2)}`);
    assert.ok(check.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `max difference ${check.maxAbsDiff}`);
    // The base is really inside: every depthwise convolution is a grouped Conv.
    const graph = decodeOnnxModel(await readFile(check.written.path)).graph;
    assert.equal(graph.node.filter((n) => n.opType === 'Conv' && n.attribute.some((a) => a.name === 'group' && Number(a.i) > 1)).length, 17);
  });

  test('fine-tuned (top 3 blocks folded), global max pooling + extra Dense, two classes, through a saved run folder', async (t) => {
    const head: TransferHeadOptions = { pooling: 'max', units: 1, extraDense: 16 };
    const weights = baseWeightsFromModel(base, 0.35);
    const plan = planFineTune(weights, imageSize, 3);
    const featureHead = buildFeatureHead(head);
    randomizeWeights(featureHead, 12);
    const top = buildTopModel(weights, imageSize, plan, head, featureHead);
    featureHead.dispose();
    const assembled = assembleFineTuned(weights, imageSize, plan, top);
    try {
      const runFolder = join(tmp.path, 'fine-tuned-run');
      await saveModelToFolder(assembled.model, runFolder);
      const written = await writeOnnxModel(runFolder, join(tmp.path, 'fine-tuned.onnx'));
      assert.equal(written.outputName, 'logits');
      const check = await verifyOnnxWithModel(written.path, assembled.model, inputs.data, inputs.shape);
      t.diagnostic(`max |ONNX - TF.js| = ${check.maxAbsDiff.toExponential(2)}`);
      assert.ok(check.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `max difference ${check.maxAbsDiff}`);
      // The same answers as the model read back from the run folder, as predict and export load it.
      const loaded = await loadModel(runFolder);
      try {
        const again = await verifyOnnxWithModel(written.path, loaded.model, inputs.data, inputs.shape);
        assert.ok(again.maxAbsDiff < ONNX_VERIFY_TOLERANCE, `max difference against the reloaded model ${again.maxAbsDiff}`);
        const meta = Object.fromEntries(decodeOnnxModel(await readFile(written.path)).metadataProps.map((p) => [p.key, p.value]));
        assert.equal(meta['pawprint.preprocessing'], 'symmetric');
        assert.equal(meta['pawprint.preprocessingInModel'], 'true');
        assert.equal(meta['pawprint.outputActivation'], 'sigmoid');
        assert.deepEqual(JSON.parse(meta['pawprint.imageSize']), { height: imageSize, width: imageSize });
      } finally {
        loaded.dispose();
      }
    } finally {
      assembled.dispose();
    }
  });
});

describe('ONNX export of the real MobileNetV2 0.35 backbone', { skip }, () => {
  let weights: BaseWeights;
  before(async () => {
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
