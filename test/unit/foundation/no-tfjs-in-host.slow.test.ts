// Issue 12: TensorFlow.js is never loaded in the Electron main process, the browser host's process or the CLI's.
// Models run in job worker processes. This runs the host-side code in a fresh Node process (as `pawprint serve`
// does), uses the features that used to load tfjs there (preset descriptions, augmentation previews, Try it,
// inspect, evaluation, export), and then looks at Node's module cache, where the one tfjs loader
// (electron/tfjs/tf.ts, createRequire) would have put it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { writeClassFolders } from '../../support/images';
import { tempDir } from '../../support/temp';

const root = resolve(import.meta.dirname, '../../..');

function runChild(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd, env: { ...process.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

const loadedTfjs = `Object.keys((await import('node:module')).createRequire(import.meta.url).cache).filter((p) => p.includes('@tensorflow'))`;

test('importing services/index loads no TensorFlow.js', async (t) => {
  const dir = tempDir('pawprint-no-tfjs-');
  t.after(() => dir.cleanup());
  const script = `
    await import(${JSON.stringify(resolve(root, 'electron/services/index.ts'))});
    await import(${JSON.stringify(resolve(root, 'electron/host/web.ts'))});
    console.log(JSON.stringify(${loadedTfjs}));
  `;
  const child = await runChild(script, root);
  assert.equal(child.code, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout.trim().split('\n').at(-1)!), []);
});

test('presets, augmentation previews, training, Try it, inspect, evaluation and export leave tfjs out of the host process', { timeout: 300_000 }, async (t) => {
  const dir = tempDir('pawprint-no-tfjs-');
  t.after(() => dir.cleanup());
  const photos = join(dir.path, 'photos');
  await writeClassFolders(photos, { cats: { count: 10, color: '#c04020' }, dogs: { count: 10, color: '#2040c0' } }, { width: 40, height: 32 });
  const script = `
    const { createServices } = await import(${JSON.stringify(resolve(root, 'electron/services/index.ts'))});
    const { tempPaths } = await import(${JSON.stringify(resolve(root, 'test/support/temp.ts'))});
    const services = createServices({ paths: tempPaths(${JSON.stringify(join(dir.path, 'app'))}), host: { kind: 'web' } });
    const used = [];
    const finished = (id) => services.app.jobs.wait(id);
    try {
      const presets = await services.request('training.presets', { numClasses: 2 });
      used.push('training.presets (' + presets.presets.length + ')');
      const imported = await services.request('jobs.start', { kind: 'import', input: { path: ${JSON.stringify(photos)}, name: 'pets' } });
      const importEnd = await finished(imported.job.id);
      if (importEnd.status !== 'completed') throw new Error('import ' + importEnd.status + ': ' + importEnd.error);
      const datasetId = imported.job.datasetId;
      used.push('import');
      const images = await services.request('images.query', { datasetId, limit: 1 });
      const imageId = images.items[0].id;
      await services.request('augment.preview', { imageId, options: { flip: 'horizontal', rotation: 0.1, zoom: 0, brightness: 0, contrast: 0 }, size: 32, count: 2 });
      used.push('augment.preview');
      const split = await services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2 });
      const config = { preset: 'custom', imageSize: { height: 24, width: 24 }, batchSize: 8, backend: 'wasm', epochs: 1,
        customLayers: [{ type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }, { type: 'globalPool', mode: 'max' }] };
      const trained = await services.request('jobs.start', { kind: 'train', input: { datasetId, splitId: split.id, name: 'tiny', config } });
      const trainEnd = await finished(trained.job.id);
      if (trainEnd.status !== 'completed') throw new Error('train ' + trainEnd.status + ': ' + trainEnd.error);
      const runId = trained.job.runId;
      used.push('train');
      const tried = await services.request('export.predict', { model: { runId }, images: [{ path: ${JSON.stringify(join(photos, 'cats'))} }] });
      used.push('export.predict (' + tried.results.length + ' images)');
      await services.request('export.inspect', { model: { runId } });
      used.push('export.inspect');
      const evaluation = await services.request('runs.evaluate', { runId });
      used.push('runs.evaluate (' + evaluation.predictions.length + ' predictions)');
      const exported = await services.request('export.run', { runId, out: ${JSON.stringify(join(dir.path, 'out', 'tiny.zip'))} });
      used.push('export.run (' + exported.verified + ')');
    } finally {
      console.log(JSON.stringify({ used, loaded: ${loadedTfjs} }));
      await services.close();
    }
  `;
  const child = await runChild(script, root);
  const report = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { used?: string[]; loaded?: string[] };
  assert.equal(child.code, 0, `${child.stderr.slice(-2000)}\nused: ${report.used?.join(', ')}`);
  assert.equal(report.used?.length, 8, `every feature ran: ${report.used?.join(', ')}`);
  assert.deepEqual(report.loaded, [], `tfjs was loaded in the host process while using ${report.used?.join(', ')}`);
});
