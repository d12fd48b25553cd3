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

test('every view is reachable from the navigation and tells a new user the next step', async () => {
  await withScreenshotOnFailure(app, 'shell-views', async () => {
    const { page } = app;
    for (const view of ['dataset', 'label', 'augment', 'train', 'runs', 'evaluate', 'export']) {
      await page.locator(`nav a[data-view="${view}"]`).click();
      await page.waitForURL(new RegExp(`#/${view}$`));
      // The view switches on hashchange, a moment after the URL: wait for the re-render, then check it.
      await page.locator(`nav a[data-view="${view}"][aria-current="page"]`).waitFor({ timeout: 5000 });
      assert.equal(await page.locator('nav a[aria-current="page"]').count(), 1, `only ${view} is current`);
      const main = page.locator('main');
      await main.locator('h2, h1').first().waitFor();
      await page.waitForFunction("(document.querySelector('main')?.textContent ?? '').trim().length > 40");
      const text = await main.innerText();
      assert.ok(text.trim().length > 40, `${view} shows guidance, got: ${text}`);
    }
    await page.locator('nav a[data-view="dataset"]').click();
    await app.screenshot('app-shell');
  });
});
