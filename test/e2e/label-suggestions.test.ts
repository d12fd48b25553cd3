// Issue 15 item 4 in a real browser: after a health check, the Label view lists the unlabelled images with the label
// their nearest labelled neighbours suggest, least certain first (or most certain first), says where the suggestions
// come from, accepts the highlighted one with Enter, and Ctrl+Z undoes it. Then a tiny run is trained, chosen as the
// source, predicts the unlabelled images, and its predictions are listed and accepted the same way.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { testBase, writeHealthDataset } from '../unit/health/fixtures';

const base = testBase();
const skip = base === null ? 'needs the bundled base in resources/models' : false;
let app: AppUnderTest;
before(async () => {
  if (!skip) app = await launchApp();
});
after(async () => {
  if (!skip) await app.close();
});

test('the Label view suggests labels least certain first, Enter accepts one and Ctrl+Z undoes it', { skip, timeout: 300_000 }, async () => {
  await withScreenshotOnFailure(app, 'label-suggestions', async () => {
    const { page, services } = app;
    const fixture = await writeHealthDataset(join(app.dir, 'shapes'));
    const imported = await services.app.jobs.wait((await services.request('jobs.start', { kind: 'import', input: { path: fixture.root } })).job.id);
    assert.equal(imported.status, 'completed', imported.error ?? '');
    const datasetId = imported.kind === 'import' ? imported.result!.datasetId : 0;
    // Three of each class lose their label.
    const details = await Promise.all((await services.request('images.ids', { datasetId })).map((imageId) => services.request('images.detail', { imageId })));
    const chosen = ['circles', 'squares'].flatMap((cls) => details.filter((d) => d.relPath.startsWith(`${cls}/${cls}-1`)).slice(0, 3));
    assert.equal(chosen.length, 6);
    await services.request('labels.set', { datasetId, labels: chosen.map((d) => ({ imageId: d.id, classId: null })) });

    await page.locator('nav a[data-view="label"]').click();
    await page.getByTestId('label-suggestions-source').getByText(/No suggestions yet/).waitFor();
    const health = await services.app.jobs.wait((await services.request('health.run', { datasetId, base: base! })).jobId);
    assert.equal(health.status, 'completed', health.error ?? '');
    const expected = (await services.request('health.suggestions', { datasetId })).suggestions;
    assert.equal(expected.length, 6);

    // The list reloads when the job finishes: least certain first, the first one highlighted.
    const items = page.getByTestId('label-suggestion');
    await page.getByTestId('label-suggestions-source').getByText(/6 unlabelled images with a suggestion from the embeddings/).waitFor({ timeout: 30_000 });
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-rel-path'))), expected.map((s) => s.image.relPath));
    assert.equal(await items.first().getAttribute('aria-current'), 'true');
    await page.getByTestId('label-suggestions-order').selectOption('most-certain');
    assert.equal(await items.first().getAttribute('data-rel-path'), expected.at(-1)!.image.relPath);
    await page.getByTestId('label-suggestions-order').selectOption('least-certain');

    // Enter accepts the highlighted (least certain) one: it is labelled and leaves the list.
    const first = expected[0]!;
    await page.locator('h1').click();
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="label-suggestion"][data-rel-path="${first.image.relPath}"]`).waitFor({ state: 'detached', timeout: 15_000 });
    const labelNow = async () => {
      const detail = await services.request('images.detail', { imageId: first.image.imageId });
      return (await services.request('datasets.get', { datasetId })).classes.find((c) => c.id === detail.classId)?.name ?? null;
    };
    assert.equal(await labelNow(), first.suggested);
    assert.equal(await items.first().getAttribute('data-rel-path'), expected[1]!.image.relPath);

    // Ctrl+Z: unlabelled again, back in the list.
    await page.keyboard.press('Control+z');
    await page.locator(`[data-testid="label-suggestion"][data-rel-path="${first.image.relPath}"]`).waitFor({ timeout: 15_000 });
    assert.equal(await labelNow(), null);
    await app.screenshot('label-suggestions');

    // A finished run is offered as a source: chosen in the view, asked to predict the unlabelled images, and its
    // predictions listed, saying so; Enter accepts from that list too.
    await services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 1 });
    const config = {
      preset: 'custom', imageSize: { height: 24, width: 24 }, batchSize: 8, backend: 'wasm', epochs: 2,
      customLayers: [{ type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 }, { type: 'globalPool', mode: 'max' }],
    };
    const started = await services.request('jobs.start', { kind: 'train', input: { datasetId, name: 'tiny', config: config as never } });
    const trained = await services.app.jobs.wait(started.job.id);
    assert.equal(trained.status, 'completed', trained.error ?? '');
    await page.getByTestId('label-suggestions-choice').locator('option[value="run"]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.getByTestId('label-suggestions-choice').selectOption('run');
    await page.getByTestId('label-suggestions-source').getByText(/let the latest run, tiny, predict the unlabelled images/).waitFor({ timeout: 15_000 });
    await page.getByTestId('label-suggestions-predict').click();
    await page.getByTestId('label-suggestions-source').getByText(/6 unlabelled images with a suggestion from the latest run, tiny/).waitFor({ timeout: 120_000 });
    const fromRun = (await services.request('health.suggestions', { datasetId })).suggestions;
    assert.equal(fromRun.length, 6);
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-rel-path'))), fromRun.map((s) => s.image.relPath));
    await page.locator('h1').click();
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="label-suggestion"][data-rel-path="${fromRun[0]!.image.relPath}"]`).waitFor({ state: 'detached', timeout: 15_000 });
    const detail = await services.request('images.detail', { imageId: fromRun[0]!.image.imageId });
    assert.equal((await services.request('datasets.get', { datasetId })).classes.find((c) => c.id === detail.classId)?.name, fromRun[0]!.suggested);
    await app.screenshot('label-suggestions-run');
  });
});
