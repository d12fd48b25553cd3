import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';

let app: AppUnderTest;
before(async () => {
  app = await launchApp();
});
after(async () => {
  await app.close();
});

test('the app loads over the browser host and shows the host and backend status', async () => {
  await withScreenshotOnFailure(app, 'shell-loads', async () => {
    const { page } = app;
    await page.locator('nav .brand').getByText('Pawprint').waitFor();
    await page.getByTestId('status').getByText('Host: web').waitFor();
    assert.equal(await page.title(), 'Pawprint');
  });
});

// On an empty catalogue each view's empty state ends in one next-step button: the view it leads to (a dataset first,
// then a trained run), or on the Dataset view the import control itself.
const nextStep = {
  dataset: { target: null, title: 'No dataset yet', label: 'Choose a folder to import' },
  label: { target: 'dataset', title: 'Nothing to label yet', label: 'Go to Dataset' },
  augment: { target: 'dataset', title: 'No images yet', label: 'Go to Dataset' },
  train: { target: 'dataset', title: 'No dataset yet', label: 'Go to Dataset' },
  runs: { target: 'train', title: 'Runs', label: 'Go to Train' },
  evaluate: { target: 'train', title: 'Evaluate', label: 'Go to Train' },
  export: { target: 'train', title: 'Nothing to export yet', label: 'Go to Train' },
} as const;

test('every view is reachable from the navigation and tells a new user the next step', async () => {
  await withScreenshotOnFailure(app, 'shell-views', async () => {
    const { page } = app;
    const open = async (view: string) => {
      await page.locator(`nav a[data-view="${view}"]`).click();
      await page.waitForURL(new RegExp(`#/${view}$`));
      // The view switches on hashchange, a moment after the URL: wait for the re-render, then check it.
      await page.locator(`nav a[data-view="${view}"][aria-current="page"]`).waitFor({ timeout: 5000 });
      assert.equal(await page.locator('nav a[aria-current="page"]').count(), 1, `only ${view} is current`);
    };
    for (const [view, { target, title, label }] of Object.entries(nextStep)) {
      await open(view);
      const empty = page.locator('main').getByTestId('empty-state');
      const next = empty.getByTestId('next-step');
      await next.waitFor({ timeout: 5000 });
      assert.equal(await next.count(), 1, `${view} shows one next step`);
      // The step a new user reads: the empty state's heading and its one primary action, word for word.
      assert.equal(await empty.locator('h2').innerText(), title, `${view}'s empty state`);
      assert.equal((await next.innerText()).trim(), label, `${view}'s next step`);
      assert.ok((await next.getAttribute('class'))?.split(/\s+/).includes('primary'), `${view}'s next step is its primary action`);
      if (target === null) {
        // Nowhere else to go: the step is the import on this page (or the tutorial download beside it).
        assert.equal(await next.getAttribute('data-next-view'), null);
        assert.equal(await next.getAttribute('data-next-control'), 'import-path');
        await next.click();
        await page.waitForFunction("document.activeElement?.getAttribute('data-testid') === 'import-path'", undefined, { timeout: 5000 });
        assert.ok(await page.getByTestId('download-tutorial').isEnabled(), 'the tutorial download is offered');
        continue;
      }
      assert.equal(await next.getAttribute('data-next-view'), target, `${view} leads to ${target}`);
      await next.click();
      await page.waitForURL(new RegExp(`#/${target}$`));
      await page.locator(`nav a[data-view="${target}"][aria-current="page"]`).waitFor({ timeout: 5000 });
    }
    await page.locator('nav a[data-view="dataset"]').click();
    await app.screenshot('app-shell');
  });
});
