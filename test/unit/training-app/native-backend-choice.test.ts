// Issue 14's walkthrough: the Backend list offered "native (tfjs-node)" on a machine without tfjs-node, and a run
// started with it failed. training.validateConfig now says in words that it is not installed (an error: the form
// cannot start such a run), and the Train store moves the choice back to auto, saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServices } from '../../../electron/services/index';
import { nativeBackendInstalled } from '../../../electron/services/training';
import { tempDir, tempPaths } from '../../support/temp';

test('whether tfjs-node is installed is found by resolving it, not loading it', () => {
  assert.equal(nativeBackendInstalled(() => '/somewhere/node_modules/@tensorflow/tfjs-node/dist/index.js'), true);
  assert.equal(nativeBackendInstalled(() => { throw Object.assign(new Error('Cannot find module'), { code: 'MODULE_NOT_FOUND' }); }), false);
});

test('choosing the native backend where tfjs-node is missing is an error in words; auto and WebAssembly are fine', async (t) => {
  const dir = tempDir('pawprint-backend-choice-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  // This machine has no tfjs-node (see the README's measurements); the test is about that machine.
  assert.equal(nativeBackendInstalled(), false, 'tfjs-node is not installed here');
  const native = await services.request('training.validateConfig', { config: { preset: 'mobilenetv2', backend: 'node' }, numClasses: 2 });
  assert.equal(native.ok, false);
  const issue = native.issues.find((i) => /tfjs-node/.test(i.message));
  assert.ok(issue, native.issues.map((i) => i.message).join(' | '));
  assert.equal(issue.severity, 'error');
  assert.match(issue.message, /^The native backend \(tfjs-node\) is not installed here: choose auto or WebAssembly/);
  for (const backend of ['auto', 'wasm'] as const) {
    const fine = await services.request('training.validateConfig', { config: { preset: 'mobilenetv2', backend }, numClasses: 2 });
    assert.equal(fine.ok, true, `${backend}: ${fine.issues.map((i) => i.message).join(' | ')}`);
  }
});
