// The Export view's store asks export.run for the chosen target (tfjs, tm or onnx), against the renderer's fake bridge.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { FakeBridge, installBridge, runSummary } from '../renderer/fake-bridge';

const bridge = new FakeBridge({ datasets: [], images: new Map(), runs: [runSummary(1, 1, true)], splits: [], jobs: [], finished: new Map() });
installBridge(bridge);

interface ExportStoreShape {
  selectedRunId: number | null;
  target: string;
  format: string;
  exportError: string | null;
  exportSelected(): Promise<void>;
}
let exportStore: ExportStoreShape;

before(async () => {
  register('../../support/svelte-module-hooks.mjs', import.meta.url);
  const module = (await import(new URL('../../../renderer/src/stores/export.svelte.ts', import.meta.url).href)) as { exportStore: ExportStoreShape };
  exportStore = module.exportStore;
});

test('Export view: the chosen target goes to export.run (tfjs by default, then onnx and tm)', async () => {
  assert.equal(exportStore.target, 'tfjs');
  exportStore.selectedRunId = 1;
  for (const target of ['tfjs', 'onnx', 'tm']) {
    exportStore.target = target;
    // The fake answers export.run with an error; the request it was sent is what this test reads.
    await exportStore.exportSelected();
    const sent = bridge.calls.filter((call) => call.channel === 'export.run').at(-1)?.payload as { runId: number; target?: string; format: string };
    assert.deepEqual({ runId: sent.runId, target: sent.target, format: sent.format }, { runId: 1, target, format: 'zip' });
  }
});
