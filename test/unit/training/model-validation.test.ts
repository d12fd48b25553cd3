import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { planModel, validateCustomLayers, validateTrainingConfig, convOutputSize } from '../../../shared/model-validation';
import { parseTrainingConfig, presetDefaults, presetLayers, trainingConfigSchema, type CustomLayer } from '../../../shared/training-config';

const size = (h: number, w = h) => ({ imageSize: { height: h, width: w }, numClasses: 2 });
const conv = (filters: number, kh: number, kw = kh, extra: Partial<CustomLayer> = {}): CustomLayer =>
  ({ type: 'conv2d', filters, kernelHeight: kh, kernelWidth: kw, strides: 1, padding: 'valid', activation: 'relu', ...extra }) as CustomLayer;
const pool: CustomLayer = { type: 'maxPool', poolSize: 2, padding: 'valid' };
const errors = (plan: { issues: Array<{ severity: string; message: string }> }) =>
  plan.issues.filter((i) => i.severity === 'error').map((i) => i.message);

describe('custom model validation', () => {
  test('kernel larger than the feature map names the size and the previous layer', () => {
    const layers = [conv(8, 3), pool, conv(8, 3), pool, pool, conv(8, 10, 5)];
    const plan = planModel(layers, size(36)); // 36 -> 34 -> 17 -> 15 -> 7 -> 3
    const plan2 = planModel(layers, size(40)); // 40 -> 38 -> 19 -> 17 -> 8 -> 4
    assert.equal(plan2.ok, false);
    assert.deepEqual(errors(plan2), [
      'Layer 6 (Conv2D): kernel 10x5 is larger than the 4x4 feature map after layer 5; use a smaller kernel, padding "same", or less pooling before it.',
    ]);
    assert.equal(plan2.issues[0].layer, 6);
    assert.match(errors(plan)[0], /kernel 10x5 is larger than the 3x3 feature map after layer 5/);
  });

  test('a kernel too large for the input image says so', () => {
    assert.match(errors(planModel([conv(4, 10, 5)], size(8)))[0], /Layer 1 \(Conv2D\): kernel 10x5 is larger than the 8x8 input image/);
    // Non-square maps: the kernel only fails along the too-small axis.
    assert.equal(planModel([conv(4, 10, 5)], size(10, 5)).ok, true);
    assert.equal(planModel([conv(4, 10, 5)], size(10, 4)).ok, false);
  });

  test('padding "same" keeps small maps valid', () => {
    const plan = planModel([conv(4, 10, 5, { padding: 'same' })], size(4));
    assert.equal(plan.ok, true);
    assert.deepEqual(plan.layers[0].outputShape, [4, 4, 4]);
  });

  test('pooling a 1x1 map is an error', () => {
    const plan = planModel([pool, pool, pool], size(4));
    assert.match(errors(plan)[0], /Layer 3 \(MaxPool\): pool 2x2 is larger than the 1x1 feature map after layer 2/);
  });

  test('spatial layers after flattening are explained', () => {
    const plan = planModel([conv(4, 3), { type: 'dense', units: 8, activation: 'relu' }, conv(4, 3)], size(16));
    assert.match(errors(plan)[0], /Layer 3 \(Conv2D\) needs a 2-D feature map, but layer 2 \(Dense\) already made it flat/);
    const plan2 = planModel([{ type: 'globalPool', mode: 'average' }, pool], size(16));
    assert.match(errors(plan2)[0], /Layer 2 \(MaxPool\) needs a 2-D feature map, but layer 1 \(GlobalPooling\)/);
  });

  test('huge models are refused, large ones warned about', () => {
    const huge = planModel([{ type: 'dense', units: 4096, activation: 'relu' }], size(160));
    assert.equal(huge.ok, false);
    assert.match(errors(huge)[0], /314,580,993 parameters, more than the 100,000,000 limit/);
    const large = planModel([{ type: 'dense', units: 512, activation: 'relu' }], size(160));
    assert.equal(large.ok, true);
    assert.ok(large.issues.some((i) => i.severity === 'warning' && /parameters; training will be slow/.test(i.message)));
  });

  test('fewer than two classes is an error', () => {
    assert.match(errors(planModel([], { ...size(8), numClasses: 1 }))[0], /at least 2 classes/);
  });

  test('auto layers: Flatten before Dense and the logits head', () => {
    const plan = planModel([conv(2, 3), { type: 'dense', units: 4, activation: 'relu' }], { ...size(8), numClasses: 3, preprocessing: 'unit' });
    assert.deepEqual(plan.layers.map((l) => [l.type, l.auto]), [
      ['rescaling', true], ['conv2d', false], ['flatten', true], ['dense', false], ['logits', true],
    ]);
    assert.equal(plan.totalParams, (3 * 3 * 3 * 2 + 2) + (6 * 6 * 2 * 4 + 4) + (4 * 3 + 3));
  });

  test('schema problems come back in words with layer numbers', () => {
    const v = validateCustomLayers([{ type: 'conv2d', filters: 0, kernelHeight: 3, kernelWidth: 3 }, { type: 'dropout', rate: 2 }], size(32));
    assert.equal(v.ok, false);
    assert.equal(v.parsed, null);
    assert.match(v.issues[0].message, /^Layer 1 \(conv2d\): filters: /);
    assert.match(v.issues[1].message, /^Layer 2 \(dropout\): rate: /);
    const ok = validateCustomLayers([{ type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }], size(32));
    assert.equal(ok.ok, true);
    assert.equal(ok.parsed?.[0].type === 'conv2d' && ok.parsed[0].padding, 'valid', 'defaults are filled in');
  });

  test('convOutputSize follows TensorFlow', () => {
    assert.equal(convOutputSize(160, 3, 1, 'valid'), 158);
    assert.equal(convOutputSize(79, 2, 2, 'valid'), 39);
    assert.equal(convOutputSize(79, 2, 2, 'same'), 40);
  });
});

describe('training config', () => {
  test('every preset default validates', () => {
    for (const p of ['cnn', 'cnn-augment', 'cnn-normalize', 'mobilenetv2', 'custom'] as const) {
      assert.doesNotThrow(() => trainingConfigSchema.parse(presetDefaults(p)), p);
    }
    assert.deepEqual(presetDefaults('cnn').customLayers, presetLayers('cnn'));
  });

  test('partial configs are completed from the preset, nested sections merged', () => {
    const c = parseTrainingConfig({ preset: 'cnn-augment', epochs: 3, augmentation: { zoom: 0.1 }, earlyStopping: { enabled: true } });
    assert.equal(c.epochs, 3);
    assert.equal(c.batchSize, 32);
    assert.deepEqual(c.augmentation, { flip: 'both', rotation: 0.25, zoom: 0.1, brightness: 0, contrast: 0 });
    assert.equal(c.earlyStopping.enabled, true);
    assert.equal(c.earlyStopping.monitor, 'val_loss');
  });

  test('bad values and unknown keys are rejected', () => {
    assert.throws(() => parseTrainingConfig({ preset: 'cnn', learningRate: -1 }));
    assert.throws(() => parseTrainingConfig({ preset: 'cnn', augmentation: { rotation: 2 } }));
    assert.throws(() => parseTrainingConfig({ preset: 'cnn', epochz: 3 }));
    assert.throws(() => parseTrainingConfig({ preset: 'resnet' }));
    assert.throws(() => parseTrainingConfig('cnn'));
  });
});

describe('validateTrainingConfig (the form and CLI entry point)', () => {
  test('fills defaults and plans the preset stack', async () => {
    const { validateTrainingConfig } = await import('../../../shared/model-validation');
    const v = validateTrainingConfig({ preset: 'cnn' }, 2);
    assert.equal(v.ok, true);
    assert.equal(v.totalParams, 1_346_753);
    assert.equal(v.config?.epochs, 20);
    const m = validateTrainingConfig({ preset: 'mobilenetv2' }, 2);
    assert.deepEqual([m.ok, m.layers.length], [true, 0]);
  });

  test('schema and shape problems in words', async () => {
    const { validateTrainingConfig } = await import('../../../shared/model-validation');
    const bad = validateTrainingConfig({ preset: 'custom', epochs: 0, customLayers: [{ type: 'dense', units: -3 }] }, 2);
    assert.equal(bad.ok, false);
    assert.equal(bad.config, null);
    const messages = bad.issues.map((i) => i.message);
    assert.ok(messages.some((m) => m.startsWith('epochs: ')), messages.join('\n'));
    assert.ok(messages.some((m) => m.startsWith('Layer 1 (dense): units: ')), messages.join('\n'));
    const shape = validateTrainingConfig({
      preset: 'custom', imageSize: { height: 40, width: 40 },
      customLayers: [
        { type: 'conv2d', filters: 8, kernelHeight: 3, kernelWidth: 3 }, { type: 'maxPool' },
        { type: 'conv2d', filters: 8, kernelHeight: 3, kernelWidth: 3 }, { type: 'maxPool' }, { type: 'maxPool' },
        { type: 'conv2d', filters: 8, kernelHeight: 10, kernelWidth: 5 },
      ],
    }, 2);
    assert.equal(shape.ok, false);
    assert.match(shape.issues[0].message, /kernel 10x5 is larger than the 4x4 feature map after layer 5/);
    assert.ok(shape.config, 'the config itself parsed');
    assert.equal(validateTrainingConfig('nope', 2).ok, false);
    assert.match(validateTrainingConfig({ preset: 'resnet' }, 2).issues[0].message, /^preset: /);
  });
});

test('a custom layer list that is not a list is refused in words, not with an empty issue list', () => {
  const result = validateTrainingConfig({ preset: 'custom', customLayers: 'nope' }, 2);
  assert.equal(result.ok, false);
  assert.deepEqual(result.issues.map((issue) => issue.message), ['The layer list must be an array.']);
});
