// Export and "Try it" in Chromium over the browser host. The run is prepared by the test: a folder of generated
// photos imported by the dataset service, a split, and a tiny model trained in this process by the real trainer
// and recorded in the catalogue as the training worker records it (training through the UI is the training
// e2e test's subject; here it would only add minutes).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { addEpoch, createRun, finishRun, markRunning } from '../../electron/catalogue/runs';
import { ensureInferenceBackend } from '../../electron/inference/backend';
import type { ImportSummary } from '../../shared/contract/datasets';
import { CLASS_NAMES, trainTinyRun, writeClassImages } from '../unit/export/helpers';

let app: AppUnderTest;
let runId: number;
let redImage: string;

before(async () => {
  app = await launchApp();
  await ensureInferenceBackend();
  const photos = join(app.dir, 'photos');
  const items = await writeClassImages(photos, 8);
  redImage = items.find((item) => item.path.includes('/red/'))!.path;
  const { services } = app;
  const { job } = await services.request('jobs.start', { kind: 'import', input: { path: photos, name: 'Red and blue' } });
  const imported = await services.app.jobs.wait(job.id);
  assert.ok(imported.kind === 'import' && imported.result, `the import ${imported.status}: ${imported.error ?? ''}`);
  const summary: ImportSummary = imported.result;
  const split = await services.request('splits.create', { datasetId: summary.datasetId, train: 0.5, val: 0.25, test: 0.25 });
  const modelDir = join(services.app.paths.models, 'e2e-run');
  const { config, valAccuracy } = await trainTinyRun(items, modelDir);
  const db = services.app.db;
  runId = createRun(db, { datasetId: summary.datasetId, splitId: split.id, name: 'E2E tiny', config, classNames: CLASS_NAMES, dataHash: 'e2e' });
  markRunning(db, runId, 'wasm', {});
  addEpoch(db, runId, { phase: 'train', epoch: 1, loss: 0.4, accuracy: 0.9, valLoss: 0.4, valAccuracy, durationMs: 5 });
  finishRun(db, runId, { status: 'completed', bestEpoch: 1, bestValAccuracy: valAccuracy, testAccuracy: 0.9, testLoss: 0.3, modelPath: modelDir });
});
after(async () => {
  await app.close();
});

test('export a run from the Export view: verified, with the difference shown, and the file on disk', async () => {
  await withScreenshotOnFailure(app, 'export-run', async () => {
    const { page } = app;
    await page.locator('nav a[data-view="export"]').click();
    await page.getByTestId('export-run').locator(`option[value="${runId}"]`).waitFor({ state: 'attached' });
    await page.getByTestId('export-button').click();
    const result = page.getByTestId('export-result');
    await result.waitFor({ timeout: 60_000 });
    assert.match(await result.innerText(), /Verified/);
    const diff = Number(await page.getByTestId('export-maxdiff').innerText());
    assert.ok(Number.isFinite(diff) && diff < 1e-5, `shown difference ${diff}`);
    const path = await page.getByTestId('export-path').innerText();
    assert.ok(path.endsWith(`e2e-tiny-run${runId}.zip`), path);
    assert.ok(existsSync(path), `${path} exists`);
    await app.screenshot('export-verified');
  });
});

test('"Try it" on an uploaded image with the run\'s model, then with the uploaded export', async () => {
  await withScreenshotOnFailure(app, 'export-try-it', async () => {
    const { page } = app;
    await page.getByTestId('try-model-info').getByText('E2E tiny').waitFor();
    await page.getByTestId('try-images').setInputFiles(redImage);
    const card = page.getByTestId('try-result').first();
    const cls = card.getByTestId('try-class');
    await cls.waitFor({ timeout: 30_000 });
    const byRun = await cls.innerText();
    assert.ok(CLASS_NAMES.includes(byRun), byRun);
    assert.equal(await card.getByTestId('probability-bar').count(), 2);
    const shownByRun = await card.getByTestId('probability-bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-probability')));

    // Re-import the exported file through the browser: it must predict the same class and probabilities.
    const exported = await page.getByTestId('export-path').innerText();
    await page.getByTestId('try-model-file').setInputFiles(exported);
    await page.getByTestId('try-model-info').getByText('Pawprint export').waitFor({ timeout: 30_000 });
    // Results are cleared when the model changes, so this class comes from the uploaded file.
    await card.getByTestId('try-class').waitFor({ timeout: 30_000 });
    assert.equal(await card.getByTestId('try-class').innerText(), byRun);
    const shownByFile = await card.getByTestId('probability-bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-probability')));
    assert.deepEqual(shownByFile, shownByRun);
    await app.screenshot('export-try-it');
  });
});

test('a file that is not an image gets its own error in "Try it"', async () => {
  await withScreenshotOnFailure(app, 'export-try-bad', async () => {
    const { page } = app;
    await page.getByTestId('try-images').setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not really a png') });
    const card = page.locator('[data-testid="try-result"][data-name="broken.png"]');
    await card.getByTestId('try-error').waitFor({ timeout: 30_000 });
    assert.match(await card.getByTestId('try-error').innerText(), /cannot read broken\.png as an image/);
  });
});
