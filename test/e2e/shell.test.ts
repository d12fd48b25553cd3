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
  dataset: null, label: 'dataset', augment: 'dataset', train: 'dataset', runs: 'train', evaluate: 'train', export: 'train',
} as const;
const viewTitle = { dataset: 'Dataset', train: 'Train' } as const;

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
    for (const [view, target] of Object.entries(nextStep)) {
      await open(view);
      const next = page.locator('main').getByTestId('empty-state').getByTestId('next-step');
      await next.waitFor({ timeout: 5000 });
      assert.equal(await next.count(), 1, `${view} shows one next step`);
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
      assert.match(await next.innerText(), new RegExp(viewTitle[target]), `${view}'s button says where it goes`);
      await next.click();
      await page.waitForURL(new RegExp(`#/${target}$`));
      await page.locator(`nav a[data-view="${target}"][aria-current="page"]`).waitFor({ timeout: 5000 });
    }
    await page.locator('nav a[data-view="dataset"]').click();
    await app.screenshot('app-shell');
  });
});
