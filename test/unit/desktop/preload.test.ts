// The preload as it ships: bundled the way scripts/build-node.mjs bundles it, then run in a fresh context where, as in
// Electron's sandbox, `require` offers only 'electron' (a stand-in here).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { StandInIpcRenderer } from '../../support/electron-stand-in';

const ipcRenderer = new StandInIpcRenderer();
const exposed = new Map<string, unknown>();
const required: string[] = [];
let bundle = '';

function sandboxRequire(name: string): unknown {
  required.push(name);
  if (name !== 'electron') throw new Error(`module not found: ${name} (a sandboxed preload can only require electron)`);
  return { ipcRenderer, contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) } };
}

interface Bridge {
  invoke(channel: unknown, payload: unknown): Promise<unknown>;
  subscribe(event: string, listener: (payload: unknown) => void): () => void;
  mediaBase: string;
}

before(async () => {
  const result = await build({
    entryPoints: ['electron/preload.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    format: 'cjs',
    external: ['electron'],
    write: false,
    logLevel: 'silent',
  });
  bundle = result.outputFiles[0]!.text;
  const module = { exports: {} };
  runInNewContext(bundle, { require: sandboxRequire, module, exports: module.exports });
});

test('requires only electron, so it runs sandboxed', () => {
  assert.deepEqual([...new Set(required)], ['electron']);
  assert.doesNotMatch(bundle, /require\("(?!electron")/, 'no other require in the bundle');
});

test('exposes one object with invoke, subscribe and mediaBase; never ipcRenderer', () => {
  assert.deepEqual([...exposed.keys()], ['pawprintBridge']);
  const bridge = exposed.get('pawprintBridge') as Record<string, unknown>;
  assert.deepEqual(Object.keys(bridge).sort(), ['invoke', 'mediaBase', 'subscribe']);
  for (const value of Object.values(bridge)) {
    assert.notEqual(value, ipcRenderer);
    assert.ok(typeof value === 'function' || typeof value === 'string');
  }
  assert.equal(bridge.mediaBase, 'pawprint-media://media/');
});

test('invoke sends only on the contract channel and returns the envelope', async () => {
  const bridge = exposed.get('pawprintBridge') as Bridge;
  ipcRenderer.answer = (_channel, name) => ({ ok: true, value: `answer to ${String(name)}` });
  assert.deepEqual(await bridge.invoke('system.info', {}), { ok: true, value: 'answer to system.info' });
  await bridge.invoke({ toString: () => 'system.probeBackend' }, {});
  assert.deepEqual(ipcRenderer.invoked, [
    ['pawprint:invoke', 'system.info', {}],
    ['pawprint:invoke', 'system.probeBackend', {}],
  ]);
});

test('listens only on the event channel; subscribe delivers by name and unsubscribes', () => {
  assert.deepEqual([...ipcRenderer.listeners.keys()], ['pawprint:event']);
  const bridge = exposed.get('pawprintBridge') as Bridge;
  const received: unknown[] = [];
  const unsubscribe = bridge.subscribe('training.epoch', (payload) => received.push(payload));
  ipcRenderer.deliver('pawprint:event', 'training.epoch', { epoch: 1 });
  ipcRenderer.deliver('pawprint:event', 'system.backendChanged', { active: 'cpu' });
  unsubscribe();
  ipcRenderer.deliver('pawprint:event', 'training.epoch', { epoch: 2 });
  assert.deepEqual(received, [{ epoch: 1 }]);
});
