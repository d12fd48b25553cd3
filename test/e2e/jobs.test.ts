import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { seedDataset } from '../unit/training-app/fixtures';

// The Jobs panel and the Train view follow training through jobs.*: a run that trains survives a reload at its real
// epoch; a second run waits queued with its position (one cpu-heavy job at a time), is cancelled from the Jobs panel,
// and the first finishes into Recent runs with its epochs.
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

async function fill(testId: string, value: string): Promise<void> {
  const input = app.page.getByTestId(testId);
  await input.fill(value);
  await input.dispatchEvent('input');
}

/** A tiny cnn run's settings in the Train form, then Start. */
async function startRun(name: string, epochs: number): Promise<void> {
  const { page } = app;
  await page.getByTestId('preset-cnn').click();
  await page.getByTestId('model-table').waitFor({ state: 'attached' });
  await fill('cfg-image-size', '64');
  await fill('cfg-epochs', String(epochs));
  await fill('cfg-batch-size', '4');
  await page.getByTestId('cfg-backend').selectOption('wasm');
  await fill('train-name', name);
  const start = page.getByTestId('train-start');
  await until('Start is enabled', () => start.isEnabled());
  await start.click();
}

const runIdNamed = async (name: string) => (await app.services.request('runs.list', {})).runs.find((run) => run.name === name)?.id ?? null;

test('a second run waits queued with its position in the Jobs panel, is cancelled there, and the first finishes into Recent runs', async () => {
  await withScreenshotOnFailure(app, 'jobs-queue', async () => {
    const { page } = app;
    await page.goto(app.web.launchUrl.replace(/#.*$/, '') + '#/train');
    await page.locator('nav a[data-view="train"][aria-current="page"]').waitFor();
    await startRun('e2e first', 10);
    await until('the first run has a row', async () => (await runIdNamed('e2e first')) !== null);
    const firstId = (await runIdNamed('e2e first'))!;
    const stage = page.getByTestId('train-stage');
    await until('the first run is training', async () => /epoch \d+\/10/.test((await stage.innerText().catch(() => '')) ?? ''), 90_000);

    // A reload mid-run (or a reopened tab) watches the run that trains, at its real epoch, not "Starting".
    await page.reload();
    await page.getByTestId('train-status').getByText(`Run ${firstId}`).waitFor({ timeout: 15_000 });
    await until('the reloaded page shows the epoch', async () => /epoch \d+\/10/.test((await stage.innerText().catch(() => '')) ?? ''), 15_000);
    // Recent runs shows the live epoch, not the stored 0/10.
    const firstRow = page.locator(`[data-testid="train-run-row"][data-run-id="${firstId}"]`);
    await until('Recent runs shows the live epoch', async () => /^([1-9]|10)\/10$/.test(await firstRow.getByTestId('train-run-epochs').innerText()), 15_000);

    await startRun('e2e second', 2);
    await until('the second run has a row', async () => (await runIdNamed('e2e second')) !== null);
    const secondId = (await runIdNamed('e2e second'))!;
    const queuedLine = page.getByTestId('train-queued');
    await queuedLine.waitFor({ timeout: 15_000 });
    assert.match(await queuedLine.innerText(), /^Queued — position 1, waiting for Train e2e first/);

    const indicator = page.getByTestId('jobs-indicator');
    await until('the indicator counts one running and one queued', async () =>
      (await indicator.getAttribute('data-running')) === '1' && (await indicator.getAttribute('data-queued')) === '1', 15_000);
    await indicator.click();
    const panel = page.getByTestId('jobs-panel');
    const queuedRow = panel.locator('[data-testid="job-row"][data-status="queued"]');
    await queuedRow.waitFor({ timeout: 5000 });
    assert.equal(await queuedRow.getAttribute('data-kind'), 'train');
    assert.match(await queuedRow.getByTestId('job-queue').innerText(), /position 1, waiting for Train e2e first/);
    const runningRow = panel.locator('[data-testid="job-row"][data-status="running"]');
    assert.match(await runningRow.innerText(), /Train e2e first/);
    await app.screenshot('jobs-panel-queued');

    await queuedRow.getByTestId('job-cancel').click();
    const cancelled = panel.locator('[data-testid="job-recent"][data-status="cancelled"]');
    await cancelled.waitFor({ timeout: 15_000 });
    assert.match(await cancelled.innerText(), /Train e2e second/);
    assert.equal(await panel.locator('[data-testid="job-row"][data-status="queued"]').count(), 0);

    // The first run goes on and finishes; Recent runs shows it completed with all its epochs.
    await until('the first run completed', async () => (await firstRow.getAttribute('data-status')) === 'completed', 180_000);
    await until('its epochs are listed', async () => (await firstRow.getByTestId('train-run-epochs').innerText()) === '10/10', 10_000);
    const secondRow = page.locator(`[data-testid="train-run-row"][data-run-id="${secondId}"]`);
    await until('the cancelled run is listed cancelled', async () => (await secondRow.getAttribute('data-status')) === 'cancelled', 10_000);
    await panel.locator('[data-testid="job-recent"][data-status="completed"]').filter({ hasText: 'Train e2e first' }).waitFor({ timeout: 10_000 });
    const runs = (await app.services.request('runs.list', {})).runs;
    assert.deepEqual(runs.map((run) => [run.name, run.status, run.epochsDone]).sort(), [['e2e first', 'completed', 10], ['e2e second', 'cancelled', 0]]);
    await app.screenshot('jobs-panel-finished');
  });
});
