// Issue 14's walkthrough findings that live in the renderer's words and stores: the Runs table's durations come from
// the one formatter (no "1 min 60 s"), the live stage reads "Training · epoch", preset cards show the size chosen,
// and adding the same photo to Try it again does not add a second card.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBridge, installBridge, loadStore } from './fake-bridge';
import type { Envelope } from '../../../shared/errors';
import { formatDuration as sharedFormatDuration, presetSizeLine, trainingStageLine } from '../../../renderer/src/lib/words';

class UploadBridge extends FakeBridge {
  uploads = 0;
  override async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    if (channel === 'export.upload') {
      this.uploads++;
      const name = (payload as { name: string }).name;
      return { ok: true, value: { uploadId: `u${String(this.uploads).padStart(16, '0')}`, name, bytes: 3, files: [name] } };
    }
    if (channel === 'training.validateConfig') {
      // As electron/services/training.ts answers on a machine without tfjs-node.
      const config = (payload as { config: { backend?: string } }).config;
      const issues = config.backend === 'node'
        ? [{ severity: 'error', layer: null, code: 'backend-unavailable', backend: 'node', message: 'The native backend (tfjs-node) is not installed here: choose auto or WebAssembly.' }]
        : [];
      return { ok: true, value: { ok: issues.length === 0, issues, layers: [], totalParams: 0, config: null } };
    }
    return super.invoke(channel, payload);
  }
}
const bridge = new UploadBridge({ datasets: [], images: new Map(), runs: [], splits: [], jobs: [], finished: new Map() });
installBridge(bridge);

let training: {
  config: { backend: string }; backendNote: string | null; unavailableBackends: string[];
  update(change: (config: { backend: string }) => void): void; validate(): Promise<void>;
};
let runsFormatDuration: (ms: number | null) => string;
let tryIt: { items: Array<{ name: string }>; addFiles(files: File[]): Promise<void>; clear(): void };

before(async () => {
  const store = loadStore;
  runsFormatDuration = (await store('runs')).formatDuration as typeof runsFormatDuration;
  tryIt = (await store('try-it')).tryItStore as typeof tryIt;
  training = (await store('training')).trainingStore as typeof training;
});

test('the Runs table and the run page format durations with the shared formatter', () => {
  // The runs store's own formatter read 119.6 s as "1 min 60 s".
  for (const ms of [119_600, 59_700, 65_200, 3_599_700, 400]) assert.equal(runsFormatDuration(ms), sharedFormatDuration(ms), `${ms} ms`);
  assert.equal(runsFormatDuration(119_600), '2 min');
});

test('the live stage keeps its spaces around the epoch', () => {
  assert.equal(trainingStageLine('Training', { epoch: 3, epochs: 20, batch: 1, batches: 4 }), 'Training · epoch 3/20 · batch 1/4');
  assert.equal(trainingStageLine('Computing base features', null), 'Computing base features');
});

test('a preset card shows the image size chosen in the form, and parameters only where they are known', () => {
  const cnn = { model: { totalParams: 3_000_000, trainableParams: 3_000_000 }, defaults: { imageSize: { height: 160, width: 160 } } };
  const mobilenet = { model: { totalParams: 411_489, trainableParams: 1281 }, defaults: { imageSize: { height: 224, width: 224 } } };
  assert.equal(presetSizeLine(cnn, null), '3,000,000 parameters (3,000,000 trainable) at 160x160');
  assert.equal(presetSizeLine(cnn, { imageSize: { height: 96, width: 96 }, totalParams: 1_100_000 }), '1,100,000 parameters at 96x96');
  assert.equal(presetSizeLine(cnn, { imageSize: { height: 96, width: 96 }, totalParams: null }), 'at 96x96');
  assert.equal(
    presetSizeLine(mobilenet, { imageSize: { height: 160, width: 160 }, totalParams: null, sizeFreeParams: true }),
    '411,489 parameters (1,281 trainable) at 160x160',
  );
  assert.equal(presetSizeLine({ model: null, defaults: cnn.defaults }, null), null);
});

test('adding the same photo to Try it again does not add a second card', async () => {
  const photo = () => new File([new Uint8Array([1, 2, 3])], 'cat.png', { type: 'image/png', lastModified: 1_700_000_000_000 });
  await tryIt.addFiles([photo()]);
  await tryIt.addFiles([photo(), new File([new Uint8Array([4, 5])], 'dog.png', { type: 'image/png', lastModified: 1 })]);
  assert.deepEqual(tryIt.items.map((item) => item.name).sort(), ['cat.png', 'dog.png']);
  assert.equal(bridge.uploads, 2, 'the repeated photo is not uploaded again');
  tryIt.clear();
});

test('choosing tfjs-node where it is not installed does not stick: the choice goes back to auto, saying why', async () => {
  training.update((config) => (config.backend = 'node'));
  await training.validate();
  assert.equal(training.config.backend, 'auto');
  assert.match(training.backendNote ?? '', /tfjs-node\) is not installed here/);
  assert.deepEqual(training.unavailableBackends, ['node']);
});
