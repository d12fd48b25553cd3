import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { seedDataset } from '../unit/training-app/fixtures';
import { buildMobileNetV2 } from '../../electron/training/mobilenet/mobilenet-v2';
import { saveModelToFolder } from '../../electron/inference/model-folder';

// The Train view end to end: a tiny run (64x64, 2 epochs, generated images) whose curves reach the charts, a second
// run cancelled from the view, both found in the runs list; and the Augment view's previews.
let app: AppUnderTest;
before(async () => {
  app = await launchApp();
  await seedDataset(app.services.app.db, join(app.dir, 'photos'), { perClass: 12, size: 64, name: 'generated pets' });
});
after(async () => {
  await app.close();
});

/** Polls a condition through playwright locators (the app's CSP forbids evaluating strings in the page). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const points = (testId: string) => app.page.getByTestId(testId).getAttribute('data-points').then(Number);

async function fill(testId: string, value: string): Promise<void> {
  const input = app.page.getByTestId(testId);
  await input.fill(value);
  await input.dispatchEvent('input');
}

test('a tiny run started from the Train view fills the charts; another is cancelled; both are in the runs list', async () => {
  await withScreenshotOnFailure(app, 'training-run', async () => {
    const { page } = app;
    await page.goto(app.web.launchUrl.replace(/#.*$/, '') + '#/train');
    await page.locator('nav a[data-view="train"]').click();
    await page.getByTestId('preset-cnn').click();
    await page.getByTestId('model-table').waitFor({ state: 'attached' });
    await fill('cfg-image-size', '64');
    await fill('cfg-epochs', '2');
    await fill('cfg-batch-size', '8');
    await page.getByTestId('cfg-backend').selectOption('wasm');
    await fill('train-name', 'e2e complete');
    const start = page.getByTestId('train-start');
    await until('Start is enabled', () => start.isEnabled());
    await start.click();

    await page.getByTestId('train-progress').waitFor({ timeout: 30_000 });
    await until('the accuracy chart has 2 points', async () => (await points('chart-accuracy')) === 2);
    await page.getByTestId('train-final-status').getByText('completed').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('chart-loss').getAttribute('data-points'), '2');
    assert.equal(await page.getByTestId('train-backend').innerText(), 'wasm');
    await page.getByTestId('backend').getByText('wasm').waitFor();
    await app.screenshot('train-view-completed');

    await fill('cfg-epochs', '300');
    await fill('train-name', 'e2e cancelled');
    await until('Start is enabled', () => start.isEnabled());
    await start.click();
    await page.getByTestId('train-cancel').waitFor({ timeout: 30_000 });
    await until('the second run reached the chart', async () => (await points('chart-accuracy')) >= 1);
    await page.getByTestId('train-cancel').click();
    await page.getByTestId('train-final-status').getByText('cancelled').waitFor({ timeout: 60_000 });

    const rows = page.getByTestId('train-run-row');
    // The list follows the runs store, which refreshes once the run has ended (after training.finished), so wait for
    // the final statuses rather than reading the first two rows that appear.
    const statuses = async () => (await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-status')))).sort().join(',');
    await until('both runs are listed with their final status', async () => (await statuses()) === 'cancelled,completed');

    await page.locator('nav a[data-view="runs"]').click();
    const table = page.getByTestId('runs-table');
    await table.getByText('e2e complete').waitFor();
    await table.getByText('e2e cancelled').waitFor();
    const listed = await app.services.request('runs.list', {});
    assert.deepEqual(listed.runs.map((r) => r.status).sort(), ['cancelled', 'completed']);
  });
});

test('the Augment view shows an image beside augmented variants that follow the options and the seed', async () => {
  await withScreenshotOnFailure(app, 'augment-view', async () => {
    const { page } = app;
    await page.locator('nav a[data-view="augment"]').click();
    await page.getByTestId('augment-row').first().waitFor({ timeout: 30_000 });
    const variants = page.getByTestId('augment-row').first().getByTestId('augment-variant');
    assert.equal(await variants.count(), 6);
    const before = await variants.first().getAttribute('src');
    await fill('aug-seed', '43');
    await until('the variants change with the seed', async () => (await variants.first().getAttribute('src')) !== before);
    await fill('aug-count', '3');
    await until('3 variants are shown', async () => (await variants.count()) === 3);
    await app.screenshot('augment-view');
  });
});

test('the mobilenetv2 preset trains from the Train view on a tiny random-weight base chosen as a local model', async () => {
  await withScreenshotOnFailure(app, 'training-mobilenet', async () => {
    const { page } = app;
    const baseDir = join(app.dir, 'random-base');
    const base = buildMobileNetV2({ alpha: 0.35, imageSize: 96, includeTop: false });
    await saveModelToFolder(base, baseDir);
    base.dispose();
    await page.locator('nav a[data-view="train"]').click();
    await page.getByTestId('preset-mobilenetv2').click();
    await fill('cfg-image-size', '96');
    await fill('cfg-epochs', '2');
    await fill('cfg-batch-size', '8');
    await page.getByTestId('cfg-backend').selectOption('wasm');
    // The base is picked with Browse (the browser host's folder browser), not typed into the form.
    await page.getByTestId('cfg-base-browse').click();
    await page.getByTestId('base-browser-path').fill(baseDir);
    await page.getByTestId('base-browser-path').press('Enter');
    await page.getByTestId('base-browser-choose').getByText('has model.json').waitFor();
    await page.getByTestId('base-browser-choose').click();
    await page.getByTestId('cfg-base-name').getByText(baseDir).waitFor();
    await fill('train-name', 'e2e mobilenet');
    const start = page.getByTestId('train-start');
    await until('Start is enabled', () => start.isEnabled());
    await start.click();
    await until('the accuracy chart has 2 points', async () => (await points('chart-accuracy')) === 2, 90_000);
    await page.getByTestId('train-final-status').getByText('completed').waitFor({ timeout: 30_000 });
    // The form names the chosen base's real alpha and parameter count, as the worker loaded it.
    assert.equal(await page.getByTestId('cfg-base-alpha').innerText(), '0.35');
    assert.match(await page.getByTestId('cfg-base-params').innerText(), /^\d{3},\d{3} parameters$/);
    const runs = (await app.services.request('runs.list', {})).runs;
    const run = runs.find((r) => r.name === 'e2e mobilenet');
    assert.equal(run?.status, 'completed');
    assert.equal(run?.preset, 'mobilenetv2');
  });
});
