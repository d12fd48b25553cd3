// Issue 14 item 4: the renderer matched the words of the "tfjs-node is not installed" issue with a regex. The issue
// now carries what code acts on (code 'backend-unavailable' and the backend), so its words can change freely.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeBackendInstalled } from '../../../electron/services/training';
import { freshServices } from '../../support/catalogue';

test('choosing a backend this machine lacks answers an issue with code backend-unavailable and the backend\'s name', async (t) => {
  const { services } = freshServices(t);
  // This machine has no tfjs-node (see the README's measurements); the test is about that machine.
  assert.equal(nativeBackendInstalled(), false, 'tfjs-node is not installed here');
  const native = await services.request('training.validateConfig', { config: { preset: 'mobilenetv2', backend: 'node' }, numClasses: 2 });
  const issue = native.issues.find((i) => i.code === 'backend-unavailable');
  assert.ok(issue, JSON.stringify(native.issues));
  assert.equal(issue.backend, 'node');
  assert.equal(issue.severity, 'error');
  assert.ok(issue.message.length > 0, 'still said in words for the person');
  const fine = await services.request('training.validateConfig', { config: { preset: 'mobilenetv2', backend: 'wasm' }, numClasses: 2 });
  assert.equal(fine.issues.some((i) => i.code !== undefined), false);
});
