// Issue 13 item 3: in the browser host a label export is downloadable from the page. Chromium clicks Download and
// saves the very bytes the export wrote on the server, under the export's own name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { writeClassFolders } from '../support/images';

let app: AppUnderTest;
before(async () => {
  app = await launchApp();
});
after(async () => {
  await app.close();
});

test('Download after a label export saves the CSV the server wrote, named as written', async () => {
  await withScreenshotOnFailure(app, 'download-label-csv', async () => {
    const { page } = app;
    const root = join(app.dir, 'pets');
    await writeClassFolders(root, { cats: { count: 3, color: '#aa4411' }, dogs: { count: 3, color: '#1144aa' } });
    await page.locator('nav a[data-view="dataset"]').click();
    await page.getByTestId('import-path').fill(root);
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-summary').getByText('Imported 6 new images').waitFor();
    const csv = join(app.dir, 'pet-labels.csv');
    await page.getByTestId('label-export').locator('summary').click();
    await page.getByTestId('export-csv-path').fill(csv);
    await page.getByTestId('export-csv').click();
    await page.getByTestId('export-message').getByText('Wrote 6 rows').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('label-export-download').click()]);
    assert.equal(download.suggestedFilename(), 'pet-labels.csv');
    const saved = join(app.dir, 'saved.csv');
    await download.saveAs(saved);
    assert.deepEqual(readFileSync(saved), readFileSync(csv));
    // The desktop's "Show in folder" is not offered in the browser.
    assert.equal(await page.getByTestId('label-export-download-show').count(), 0);
  });
});
