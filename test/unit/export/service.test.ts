// The export domain through the services facade and the CLI, on a real catalogue: a folder imported by the
// dataset service, a split, and a run whose model was trained by the test and recorded like the worker does.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServices, type Services } from '../../../electron/services/index';
import { addEpoch, createRun, finishRun, markRunning } from '../../../electron/catalogue/runs';
import { runCli } from '../../../electron/cli/main';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import type { ImportSummary } from '../../../shared/contract/datasets';
import { MAX_UPLOAD_BASE64 } from '../../../shared/contract/export';
import { tempDir, tempPaths } from '../../support/temp';
import { CLASS_NAMES, trainTinyRun, writeClassImages, writeTeachableMachineExport } from './helpers';

const tmp = tempDir('pawprint-export-service-');
const paths = tempPaths(tmp.path);
const imagesDir = join(tmp.path, 'photos');
let services: Services;
let runId: number;
let imagePaths: string[] = [];

async function importFolder(path: string): Promise<ImportSummary> {
  const { job } = await services.request('jobs.start', { kind: 'import', input: { path } });
  const finished = await services.app.jobs.wait(job.id);
  if (finished.kind !== 'import' || !finished.result) throw new Error(`import ${finished.status}: ${finished.error ?? ''}`);
  return finished.result;
}

function cli() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) }, out, err };
}

before(async () => {
  await ensureInferenceBackend();
  const items = await writeClassImages(imagesDir, 8);
  imagePaths = items.map((i) => i.path);
  services = createServices({ paths, host: { kind: 'web' } });
  const summary = await importFolder(imagesDir);
  const datasetId = summary.datasetId;
  const split = await services.request('splits.create', { datasetId, train: 0.5, val: 0.25, test: 0.25, seed: 1 });
  const modelDir = join(paths.models, 'run-tiny');
  const { config, valAccuracy } = await trainTinyRun(items, modelDir);
  const db = services.app.db;
  runId = createRun(db, { datasetId, splitId: split.id, name: 'Tiny red/blue', config, classNames: CLASS_NAMES, dataHash: 'feed' });
  markRunning(db, runId, 'wasm', { 'tfjs-core': '4.22.0' });
  addEpoch(db, runId, { phase: 'train', epoch: 1, loss: 0.5, accuracy: 0.8, valLoss: 0.4, valAccuracy, durationMs: 10 });
  finishRun(db, runId, { status: 'completed', bestEpoch: 1, bestValAccuracy: valAccuracy, testAccuracy: 0.9, testLoss: 0.3, modelPath: modelDir });
});

after(async () => {
  await services?.close();
  tmp.cleanup();
});

describe('export service', () => {
  test('export.run verifies on the run\'s test split and writes into the data folder by default', async () => {
    const progress: string[] = [];
    const stop = services.app.events.onAny((name, payload) => {
      if (name === 'jobs.progress' && (payload as { kind: string }).kind === 'export') progress.push((payload as { phase: string }).phase);
    });
    const result = await services.request('export.run', { runId });
    stop();
    assert.equal(result.verified, true);
    assert.equal(result.imagesSource, 'test');
    assert.ok(result.images >= 2, `verified on ${result.images} images`);
    assert.ok(result.maxAbsDiff < result.tolerance);
    assert.equal(result.path, join(paths.dataDirectory, 'exports', 'tiny-red-blue-run' + runId + '.zip'));
    assert.ok(progress.includes('verifying'));
    // A second export does not clobber the first.
    const second = await services.request('export.run', { runId, format: 'folder' });
    assert.notEqual(second.path, result.path);
    assert.ok(existsSync(join(second.path, 'metadata.json')));
  });

  test('export.predict with the run, the exported file and an uploaded copy agree; accuracy from class folders', async () => {
    const exported = await services.request('export.run', { runId, out: join(tmp.path, 'out', 'model.zip') });
    const byRun = await services.request('export.predict', { model: { runId }, images: [{ path: imagesDir }] });
    const byFile = await services.request('export.predict', { model: { path: exported.path }, images: [{ path: imagesDir }] });
    assert.equal(byRun.results.length, imagePaths.length);
    assert.deepEqual(byFile.results.map((r) => (r.ok ? r.className : r.error)), byRun.results.map((r) => (r.ok ? r.className : r.error)));
    assert.equal(byRun.labelled, imagePaths.length, 'every image sits in a folder named like its class');
    assert.equal(byFile.accuracy, byRun.accuracy);
    assert.equal(byFile.model.kind, 'pawprint-export');
    assert.equal(byRun.model.label, 'Tiny red/blue');

    // The browser path: upload the .zip and an image as base64, then predict by upload id.
    const zip = await services.request('export.upload', { name: 'model.zip', data: (await readFile(exported.path)).toString('base64') });
    const image = await services.request('export.upload', { name: 'red photo.jpg', data: (await readFile(imagePaths.at(-1)!)).toString('base64') });
    const byUpload = await services.request('export.predict', { model: { uploadId: zip.uploadId }, images: [{ uploadId: image.uploadId }] });
    const [only] = byUpload.results;
    assert.ok(only?.ok);
    assert.equal(only.name, 'red photo.jpg');
    assert.equal(only.uploadId, image.uploadId);
    const sameByRun = byRun.results.find((r) => r.path === imagePaths.at(-1));
    assert.ok(sameByRun?.ok);
    assert.deepEqual(only.probabilities, sameByRun.probabilities);
    await services.request('export.discardUpload', { uploadId: image.uploadId });
    await assert.rejects(services.request('export.predict', { model: { uploadId: zip.uploadId }, images: [{ uploadId: image.uploadId }] }), { code: 'not-found' });
  });

  test('a Teachable Machine export uploaded as three files into one upload', async () => {
    const dir = join(tmp.path, 'tm');
    (await writeTeachableMachineExport(dir, ['x', 'y'], 32)).dispose();
    let uploadId: string | undefined;
    for (const name of ['model.json', 'weights.bin', 'metadata.json']) {
      const r = await services.request('export.upload', { name, data: (await readFile(join(dir, name))).toString('base64'), ...(uploadId ? { uploadId } : {}) });
      uploadId = r.uploadId;
    }
    const info = await services.request('export.inspect', { model: { uploadId: uploadId! } });
    assert.equal(info.kind, 'teachable-machine');
    assert.deepEqual(info.classNames, ['x', 'y']);
    const result = await services.request('export.predict', { model: { uploadId: uploadId! }, images: [{ path: imagePaths[0]! }] });
    assert.ok(result.results[0]?.ok);
  });

  test('uploads are validated: size limit in the contract, strict base64, unknown ids', async () => {
    await assert.rejects(services.request('export.upload', { name: 'big.bin', data: 'A'.repeat(MAX_UPLOAD_BASE64 + 4) }), { code: 'invalid-payload', message: /at most 20 MB/ });
    await assert.rejects(services.request('export.upload', { name: 'x.jpg', data: 'not base64!' }), { code: 'invalid-payload', message: /not valid base64/ });
    await assert.rejects(services.request('export.predict', { model: { uploadId: 'u0000000000000000' }, images: [{ path: imagePaths[0]! }] }), { code: 'not-found' });
    const weird = await services.request('export.upload', { name: '../../etc/passwd', data: Buffer.from('x').toString('base64') });
    assert.equal(weird.name, 'passwd');
  });
});

describe('CLI', () => {
  test('pawprint export --json, then pawprint predict on the export reproduces the run\'s predictions', async () => {
    const out = join(tmp.path, 'cli', 'tiny.zip');
    const exp = cli();
    assert.equal(await runCli(['export', String(runId), '--out', out, '--json', '--db', paths.databasePath], exp.io), 0, exp.err.join('\n'));
    const exported = JSON.parse(exp.out.join('\n'));
    assert.equal(exported.path, out);
    assert.equal(exported.verified, true);
    assert.ok(exp.err.some((line) => /verifying/.test(line)));

    const bad = join(tmp.path, 'cli', 'broken.jpg');
    await writeFile(bad, 'nope');
    const pred = cli();
    assert.equal(await runCli(['predict', out, imagesDir, bad, '--json', '--db', paths.databasePath], pred.io), 0, pred.err.join('\n'));
    const doc = JSON.parse(pred.out.join('\n'));
    assert.equal(doc.results.length, imagePaths.length + 1);
    const broken = doc.results.find((r: { name: string }) => r.name === 'broken.jpg');
    assert.equal(broken.ok, false);
    assert.match(broken.error, /cannot read broken\.jpg as an image/);
    assert.match(pred.err.join('\n'), new RegExp(`${imagePaths.length} predicted, 1 failed`));

    const byRun = cli();
    assert.equal(await runCli(['predict', `run:${runId}`, imagesDir, '--json', '--db', paths.databasePath], byRun.io), 0);
    const runDoc = JSON.parse(byRun.out.join('\n'));
    assert.equal(runDoc.accuracy, doc.accuracy);
    // A run may be named instead of numbered, as in `pawprint runs`, `compare` and `eval`.
    const byName = cli();
    assert.equal(await runCli(['predict', 'run:Tiny red/blue', imagesDir, '--json', '--db', paths.databasePath], byName.io), 0, byName.err.join('\n'));
    assert.equal(JSON.parse(byName.out.join('\n')).accuracy, doc.accuracy);
    const exportByName = cli();
    const outByName = join(tmp.path, 'cli', 'by-name.zip');
    assert.equal(await runCli(['export', 'Tiny red/blue', '--out', outByName, '--json', '--db', paths.databasePath], exportByName.io), 0, exportByName.err.join('\n'));
    assert.equal(JSON.parse(exportByName.out.join('\n')).path, outByName);

    // The check: predict on the export reproduces `pawprint eval` on the same images.
    const evaluation = cli();
    assert.equal(await runCli(['eval', String(runId), '--folder', imagesDir, '--json', '--db', paths.databasePath], evaluation.io), 0, evaluation.err.join('\n'));
    const evalDoc = JSON.parse(evaluation.out.join('\n'));
    const evalAccuracy = evalDoc.accuracy ?? evalDoc.metrics?.accuracy ?? evalDoc.summary?.accuracy;
    assert.equal(typeof evalAccuracy, 'number', `eval JSON: ${Object.keys(evalDoc).join(', ')}`);
    assert.ok(Math.abs(evalAccuracy - doc.accuracy) < 1e-12, `eval ${evalAccuracy} vs predict ${doc.accuracy}`);

    const human = cli();
    assert.equal(await runCli(['predict', out, imagePaths[0]!, '--db', paths.databasePath], human.io), 0);
    assert.match(human.out.join('\n'), /(red|blue)\s+\d+\.\d%\s+\(blue 0\.\d{3}, red 0\.\d{3}\)/);
  });

  test('predict: only bad images → exit 1; a model that cannot load → exit 1 with one line; bad usage → exit 2', async () => {
    const bad = join(tmp.path, 'cli2-bad.png');
    await writeFile(bad, 'nope');
    const onlyBad = cli();
    assert.equal(await runCli(['predict', join(paths.models, 'run-tiny'), bad, '--db', paths.databasePath], onlyBad.io), 1);

    const broken = join(tmp.path, 'broken.zip');
    await writeFile(broken, 'PK garbage');
    const noModel = cli();
    assert.equal(await runCli(['predict', broken, imagePaths[0]!, '--db', paths.databasePath], noModel.io), 1);
    assert.equal(noModel.err.length, 1);
    assert.match(noModel.err[0]!, /pawprint predict: broken\.zip is not a readable zip archive/);

    const usage = cli();
    assert.equal(await runCli(['predict', broken, '--db', paths.databasePath], usage.io), 2);
    const usage2 = cli();
    assert.equal(await runCli(['export', '--db', paths.databasePath], usage2.io), 2);
    const unknown = cli();
    assert.equal(await runCli(['export', 'abc', '--db', paths.databasePath], unknown.io), 1);
    assert.match(unknown.err.join('\n'), /No run is called "abc"/);
  });
});
