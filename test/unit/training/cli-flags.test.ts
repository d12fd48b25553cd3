// `pawprint train` flags -> training config: the mobilenetv2 head and augmentation flags override only what they
// name, on top of the --config file and then the preset's defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromFlags } from '../../../electron/cli/commands/training';
import { UsageError } from '../../../electron/cli/command';
import { DEFAULT_PRESET, parseTrainingConfig, presetDefaults } from '../../../shared/training-config';

test('head, views and augmentation flags reach the config; the preset fills the rest', async () => {
  const config = await configFromFlags({
    preset: 'mobilenetv2', alpha: '0.35', head: 'max', 'extra-dense': '64', views: '8', flip: 'both', rotation: '0.25',
  });
  assert.deepEqual(config.mobilenet, { alpha: 0.35, headPooling: 'max', extraDense: 64, augmentedViews: 8 });
  assert.deepEqual(config.augmentation, { flip: 'both', rotation: 0.25 });
  const full = parseTrainingConfig(config);
  const defaults = presetDefaults('mobilenetv2');
  assert.deepEqual(full.augmentation, { ...defaults.augmentation, flip: 'both', rotation: 0.25 });
  assert.equal(full.mobilenet.fineTuneBlocks, defaults.mobilenet.fineTuneBlocks);

  // No such flags: nothing added, the preset's own head and augmentation apply.
  const plain = await configFromFlags({ preset: 'mobilenetv2' });
  assert.equal(plain.augmentation, undefined);
  assert.equal(plain.mobilenet, undefined);
});

test('bad head, views or augmentation values are usage errors that name the flag', async () => {
  for (const [flag, value, message] of [
    ['head', 'median', /--head must be one of max, average/],
    ['views', '0', /--views must be a whole number from 1 to 64/],
    ['flip', 'diagonal', /--flip must be one of none, horizontal, vertical, both/],
    ['rotation', '2', /--rotation must be a fraction of a full turn/],
    ['extra-dense', '-1', /--extra-dense must be a whole number/],
  ] as const) {
    await assert.rejects(configFromFlags({ preset: 'mobilenetv2', [flag]: value }), (e: unknown) => e instanceof UsageError && message.test(e.message));
  }
});

test('no --preset and no --config: the config names no preset, so the default preset (mobilenetv2) fills it', async () => {
  const config = await configFromFlags({});
  assert.equal(config.preset, undefined);
  assert.equal(DEFAULT_PRESET, 'mobilenetv2');
  assert.equal(parseTrainingConfig(config).preset, DEFAULT_PRESET);
  assert.deepEqual(parseTrainingConfig(config).imageSize, { height: 224, width: 224 });
  assert.equal((await configFromFlags({ preset: 'cnn' })).preset, 'cnn');
});
