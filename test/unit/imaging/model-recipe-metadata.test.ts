// metadata.json records the preprocessing recipe in numbers (issue 13: size, resize method and flags, fit, scale,
// offset, channel order, TF.js version), survives a write and read unchanged, and files written before the recipe
// existed still load (recipe null: the model was trained on an older pixel rule).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildModelMetadata, fromLegacyRunMetadata, readModelMetadata, serializeModelMetadata, type ModelMetadataInput,
} from '../../../electron/inference/model-format';
import { PIXEL_RULE_VERSION } from '../../../electron/imaging/resize-recipe';

function filesOf(entries: Record<string, string>) {
  return {
    label: 'test', names: Object.keys(entries),
    read: async (name: string) => (name in entries ? Buffer.from(entries[name]!) : null),
  };
}

function input(overrides: Partial<ModelMetadataInput> = {}): ModelMetadataInput {
  return {
    package: 'run', name: 'run 3', classNames: ['cats', 'dogs'], imageSize: { height: 160, width: 128 },
    preprocessing: 'symmetric', preprocessingInModel: true, output: { kind: 'logits', units: 1 },
    run: {
      id: 3, name: null, preset: 'cnn-normalize', datasetId: null, splitId: 1, dataHash: 'h', config: null, metrics: {},
      backend: 'wasm', versions: {}, createdAt: null, finishedAt: null,
    },
    versions: { app: '1.2.3', tfjs: '4.22.0' },
    createdAt: new Date('2026-01-02T03:04:05Z'),
    ...overrides,
  };
}

test('metadata.json states the recipe in numbers and reads back unchanged', async () => {
  const written = buildModelMetadata(input());
  assert.deepEqual(written.recipe, {
    pixelRule: PIXEL_RULE_VERSION,
    decode: { exifOrientation: 'applied', alpha: 'flatten-on-white', colourSpace: 'sRGB' },
    size: { height: 160, width: 128 },
    fit: 'stretch',
    resize: { method: 'bilinear', halfPixelCenters: true, alignCorners: false, antialias: false },
    rounding: 'half-to-even',
    channelOrder: 'RGB',
    layout: 'NHWC',
    scale: 1 / 127.5,
    offset: -1,
    scaleInModel: true,
    tfjs: '4.22.0',
  });
  const found = await readModelMetadata(filesOf({ 'metadata.json': serializeModelMetadata(written) }));
  assert.equal(found.format, 'pawprint');
  assert.deepEqual(found.format === 'pawprint' && found.metadata, written);

  // No scaling: scale 1, offset 0, nothing for the model to do.
  const raw = buildModelMetadata(input({ preprocessing: 'none', preprocessingInModel: false }));
  assert.deepEqual([raw.recipe?.scale, raw.recipe?.offset, raw.recipe?.scaleInModel], [1, 0, false]);
  const unit = buildModelMetadata(input({ preprocessing: 'unit' }));
  assert.deepEqual([unit.recipe?.scale, unit.recipe?.offset], [1 / 255, 0]);
});

test('an export of a run trained before the recipe says so (recipe null) and reads back as such', async () => {
  const written = buildModelMetadata(input({ package: 'export', recipe: null }));
  assert.equal(written.recipe, null);
  const found = await readModelMetadata(filesOf({ 'metadata.json': serializeModelMetadata(written) }));
  assert.equal(found.format === 'pawprint' && found.metadata.recipe, null);
});

test('metadata written before the recipe (formatVersion 2 and 1, a legacy pawprint.json) still loads, recipe null', async () => {
  const current = JSON.parse(serializeModelMetadata(buildModelMetadata(input()))) as Record<string, unknown>;
  const { recipe: _recipe, ...withoutRecipe } = current;
  void _recipe;
  const v2 = await readModelMetadata(filesOf({ 'metadata.json': JSON.stringify(withoutRecipe) }));
  assert.ok(v2.format === 'pawprint');
  assert.equal(v2.metadata.recipe, null);
  assert.deepEqual(v2.metadata.imageSize, { height: 160, width: 128 });

  const { package: _package, ...v1Fields } = withoutRecipe;
  void _package;
  const v1 = await readModelMetadata(filesOf({ 'metadata.json': JSON.stringify({ ...v1Fields, formatVersion: 1 }) }));
  assert.ok(v1.format === 'pawprint');
  assert.deepEqual([v1.metadata.package, v1.metadata.recipe, v1.metadata.classNames], ['export', null, ['cats', 'dogs']]);

  const legacy = await readModelMetadata(filesOf({
    'pawprint.json': JSON.stringify({ format: 'pawprint-model', version: 1, runId: 4, classNames: ['a', 'b'], imageSize: { height: 8, width: 8 } }),
  }));
  assert.ok(legacy.format === 'pawprint');
  assert.equal(legacy.metadata.recipe, null);
  assert.equal(fromLegacyRunMetadata({ classNames: ['a', 'b'], imageSize: { height: 8, width: 8 } }, 'x').recipe, null);
});

test('a damaged recipe is refused with one line naming the field', async () => {
  const current = JSON.parse(serializeModelMetadata(buildModelMetadata(input()))) as { recipe: Record<string, unknown> };
  const damaged = { ...current, recipe: { ...current.recipe, resize: { method: 'area' } } };
  await assert.rejects(readModelMetadata(filesOf({ 'metadata.json': JSON.stringify(damaged) })), {
    code: 'invalid-payload', message: /^metadata\.json in test is damaged \(recipe\.resize\.method: /,
  });
});
