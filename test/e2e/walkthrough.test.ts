import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { writeClassFolders } from '../support/images';

// Issue 14's walkthrough findings in the real UI (browser host): Browse shows photo counts per folder and starts in
// the folder last used; "Imported N new" goes when its dataset is forgotten; the Train form's rotation reads in
// degrees; the chosen preset's card shows the image size chosen.
let app: AppUnderTest;
let photos: string;
before(async () => {
  app = await launchApp();
  photos = join(app.dir, 'pets');
  await writeClassFolders(photos, { cats: { count: 3, color: '#c86432' }, dogs: { count: 2, color: '#3264c8' } }, { width: 32, height: 32 });
});
after(async () => {
  await app.close();
});

test('Browse counts photos and remembers its folder; the import summary goes with its dataset; Train reads degrees and the chosen size', async () => {
  await withScreenshotOnFailure(app, 'walkthrough', async () => {
    const { page } = app;
    page.on('dialog', (dialog) => void dialog.accept());
    await page.locator('nav a[data-view="dataset"]').click();

    // Browse from the typed folder: each subfolder says how many photos it holds.
    await page.getByTestId('import-path').fill(photos);
    await page.getByTestId('import-browse').click();
    const browser = page.getByTestId('folder-browser');
    await browser.locator('[data-testid="folder-browser-entry"]', { hasText: 'cats' }).getByText('3 photos').waitFor();
    assert.equal(await browser.locator('[data-testid="folder-browser-entry"]', { hasText: 'dogs' }).getByTestId('folder-browser-count').innerText(), '2 photos');
    await app.screenshot('walkthrough-browse-counts');
    await browser.locator('[data-testid="folder-browser-entry"]', { hasText: 'cats' }).click();
    await browser.getByTestId('folder-browser-here').getByText('3 photos directly in this folder.').waitFor();
    await browser.getByRole('button', { name: 'Close' }).click();
    // With nothing typed, Browse starts where the last one was, not in the home folder.
    await page.getByTestId('import-path').fill('');
    await page.getByTestId('import-browse').click();
    await page.getByTestId('folder-browser').locator('code').getByText(join(photos, 'cats')).waitFor();
    await page.getByTestId('folder-browser').getByRole('button', { name: 'Close' }).click();

    // Import, then Forget: the summary of the forgotten dataset's import goes too.
    await page.getByTestId('import-path').fill(photos);
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-summary').getByText('Imported 5 new images').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Forget' }).click();
    await page.getByTestId('import-summary').waitFor({ state: 'detached' });

    // Train: rotation in degrees (the config keeps turns), and the chosen preset's card follows the image size.
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-summary').getByText('Imported 5 new images').waitFor({ timeout: 60_000 });
    await page.locator('nav a[data-view="train"]').click();
    await page.getByTestId('preset-mobilenetv2').waitFor({ timeout: 180_000 });
    const rotation = page.getByTestId('cfg-rotation');
    assert.equal(await rotation.inputValue(), '72');
    assert.match(await rotation.locator('xpath=..').innerText(), /Rotation ±\s*°?/);
    assert.doesNotMatch(await page.getByTestId('config-form').innerText(), /turns/);
    await page.getByTestId('cfg-image-size').fill('160');
    await page.getByTestId('preset-size-mobilenetv2').getByText(/at 160x160$/).waitFor();
    assert.match(await page.getByTestId('preset-mobilenetv2').innerText(), /^(?![\s\S]*224x224)/, 'no card text still says 224x224');
    await app.screenshot('walkthrough-train-form');
  });
});
