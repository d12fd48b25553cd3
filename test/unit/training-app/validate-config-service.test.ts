// training.validateConfig and jobs.start {kind: train} use the one shared validateTrainingConfig (issue 12 §2.8): the service's
// old copy matched on message text, so any issue that happened to mention "2 classes" hid the real 2-class error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServices } from '../../../electron/services/index';
import { tempDir, tempPaths } from '../../support/temp';

test('a one-class dataset gets the 2-class error whatever words the other issues use', async (t) => {
  const dir = tempDir('pawprint-validate-service-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  const config = { preset: 'custom', customLayers: [{ type: 'dense', units: 4, '2 classes': 1 }] };
  const validation = await services.request('training.validateConfig', { config, numClasses: 1 });
  const messages = validation.issues.map((issue) => issue.message);
  assert.equal(validation.ok, false);
  assert.ok(messages.includes('Layer 1 (dense): Unrecognized key: "2 classes"'), messages.join(' | '));
  assert.equal(messages.filter((m) => m === 'A classifier needs at least 2 classes; this dataset has 1.').length, 1, messages.join(' | '));
});
