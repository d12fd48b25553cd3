import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { writeClassFolders, writeImage } from '../support/images';
import { createDataset } from '../../electron/catalogue/datasets';
import { upsertImage } from '../../electron/catalogue/images';

let app: AppUnderTest;
before(async () => {
  app = await launchApp();
});
after(async () => {
  await app.close();
});

interface LabelRow {
  rel_path: string;
  class_name: string | null;
  source: string | null;
}

function labels(): Map<string, LabelRow> {
  const rows = app.services.app.db
    .prepare(
      `SELECT i.rel_path, c.name AS class_name, l.source FROM images i
         LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN classes c ON c.id = l.class_id
        WHERE i.status = 'ok' ORDER BY i.rel_path`,
    )
    .all() as LabelRow[];
  return new Map(rows.map((row) => [row.rel_path, row]));
}

test('import a folder through the path field, label with the keyboard, bulk-assign, undo, re-import: nothing lost', async () => {
  await withScreenshotOnFailure(app, 'dataset-label-flow', async () => {
    const { page } = app;
    const root = join(app.dir, 'pets');
    await writeClassFolders(root, { cats: { count: 6, color: '#aa4411' }, dogs: { count: 6, color: '#1144aa' } });
    // Loose photos in the root: imported unlabelled, for the Label view.
    for (let i = 0; i < 5; i++) await writeImage(join(root, `unsorted-${i}.jpg`), { color: '#33aa33', variant: i });
    // Not an image at all: listed with its reason, never a crash.
    writeFileSync(join(root, 'broken.jpg'), 'not a photo');

    await page.locator('nav a[data-view="dataset"]').click();
    await page.getByText('No dataset yet').waitFor();
    // The browser host offers a server-side folder browser next to the path field.
    await page.getByTestId('import-browse').click();
    await page.getByTestId('folder-browser').waitFor();
    await page.getByTestId('folder-browser').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('import-path').fill(root);
    await page.getByTestId('import-start').click();
    await page.getByTestId('import-summary').getByText('Imported 17 new images').waitFor();
    await page.getByTestId('rejected-list').getByText('broken.jpg').waitFor();
    await page.getByTestId('dataset-counts').getByText('17 images · 5 unlabelled').waitFor();
    assert.equal(await page.getByTestId('grid-cell').count() > 0, true);
    // Thumbnails are served by catalogue id (made on first request) and actually decode in the browser.
    const thumb = page.locator('[data-testid="grid-cell"] img').first();
    assert.match((await thumb.getAttribute('src')) ?? '', /\/media\/thumb\/\d+$/);
    await page.waitForFunction((img) => (img as { complete: boolean; naturalWidth: number }).complete && (img as { naturalWidth: number }).naturalWidth > 0, await thumb.elementHandle());
    await page.getByTestId('balance-chart').waitFor();
    await app.screenshot('dataset-view');

    // Label view: filter to unlabelled, label with number keys and arrows.
    await page.locator('nav a[data-view="label"]').click();
    await page.getByTestId('label-dataset').getByText('5 of 17 unlabelled').waitFor();
    await page.getByTestId('filter-class').selectOption('none');
    await page.getByTestId('filter-count').getByText('5 shown').waitFor();
    await page.getByTestId('next-unlabelled').click();
    await page.getByTestId('selection-count').getByText('1 selected').waitFor();
    // Focus starts at index 0; "next unlabelled" moved to index 1. Go back with the arrow key, label it cats (1).
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('1');
    await page.locator('[data-testid="grid-cell"][data-index="0"][data-class="cats"]').waitFor();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('2');
    await page.locator('[data-testid="grid-cell"][data-index="1"][data-class="dogs"]').waitFor();
    let stored = labels();
    assert.equal(stored.get('unsorted-0.jpg')?.class_name, 'cats');
    assert.equal(stored.get('unsorted-0.jpg')?.source, 'manual');
    assert.equal(stored.get('unsorted-1.jpg')?.class_name, 'dogs');

    // A new class, then shift-click a range and bulk-assign with its number key.
    await page.getByTestId('class-new-name').fill('birds');
    await page.getByTestId('class-create').click();
    await page.locator('[data-testid="class-item"][data-class="birds"]').waitFor();
    await page.locator('[data-testid="grid-cell"][data-index="2"]').click();
    await page.locator('[data-testid="grid-cell"][data-index="4"]').click({ modifiers: ['Shift'] });
    await page.getByTestId('selection-count').getByText('3 selected').waitFor();
    await page.keyboard.press('3');
    await page.locator('[data-testid="grid-cell"][data-index="4"][data-class="birds"]').waitFor();
    stored = labels();
    for (const name of ['unsorted-2.jpg', 'unsorted-3.jpg', 'unsorted-4.jpg']) assert.equal(stored.get(name)?.class_name, 'birds', name);

    // Undo the bulk assignment (keyboard), redo it (button), undo again (button).
    await page.keyboard.press('Control+z');
    await page.locator('[data-testid="grid-cell"][data-index="4"][data-class=""]').waitFor();
    assert.equal(labels().get('unsorted-3.jpg')?.class_name, null);
    await page.getByTestId('redo').click();
    await page.locator('[data-testid="grid-cell"][data-index="4"][data-class="birds"]').waitFor();
    assert.equal(labels().get('unsorted-3.jpg')?.class_name, 'birds');
    await page.getByTestId('undo').click();
    await page.locator('[data-testid="grid-cell"][data-index="4"][data-class=""]').waitFor();

    // Select all filtered (all 17 images) is offered; bulk-assign a folder-labelled dog to birds via the class button.
    await page.getByTestId('filter-class').selectOption('');
    await page.getByTestId('select-all').click();
    await page.getByTestId('selection-count').getByText('17 selected').waitFor();
    await page.keyboard.press('Escape');
    const firstDog = page.locator('[data-testid="grid-cell"][data-class="dogs"]').first();
    const dogId = await firstDog.getAttribute('data-image-id');
    await firstDog.click();
    await page.locator('[data-testid="class-item"][data-class="birds"] [data-testid="class-assign"]').click();
    await page.locator(`[data-testid="grid-cell"][data-image-id="${dogId}"][data-class="birds"]`).waitFor();
    const before = labels();
    const relabelled = [...before.values()].find((row) => row.class_name === 'birds')!;
    assert.equal(relabelled.source, 'manual');

    // Undo gives the dog back its folder label as a folder label (a manual one would make re-imports ignore its
    // folder); redo makes it the person's decision again.
    const dogName = [...before.entries()].find(([, row]) => row.class_name === 'birds')![0];
    await page.getByTestId('undo').click();
    await page.locator(`[data-testid="grid-cell"][data-image-id="${dogId}"][data-class="dogs"]`).waitFor();
    const undone = labels().get(dogName);
    assert.deepEqual([undone?.class_name, undone?.source], ['dogs', 'folder']);
    await page.getByTestId('redo').click();
    await page.locator(`[data-testid="grid-cell"][data-image-id="${dogId}"][data-class="birds"]`).waitFor();
    assert.deepEqual(labels(), before);

    // Re-import from the Dataset view: every label survives (folder names never override a person).
    await page.locator('nav a[data-view="dataset"]').click();
    await page.getByTestId('reimport').click();
    await page.getByTestId('import-summary').getByText('Imported 0 new images (18 unchanged').waitFor();
    assert.deepEqual(labels(), before);
    const csv = join(app.dir, 'labels.csv');
    await page.getByTestId('label-export').locator('summary').click();
    await page.getByTestId('export-csv-path').fill(csv);
    await page.getByTestId('export-csv').click();
    await page.getByTestId('export-message').getByText('Wrote 14 rows').waitFor();
    assert.match(readFileSync(csv, 'utf8'), /unsorted-0\.jpg,cats,/);
    await page.reload();
    await page.locator('nav a[data-view="label"]').click();
    await page.getByTestId('label-dataset').getByText('3 of 17 unlabelled').waitFor();
    await app.screenshot('label-view');
  });
});

test('the grid stays virtual with 10,000 images: only visible rows are in the page, and scrolling reaches the end', async () => {
  await withScreenshotOnFailure(app, 'dataset-grid-10k', async () => {
    const { page } = app;
    const db = app.services.app.db;
    const root = join(app.dir, 'big');
    const bytes = await writeImage(join(root, 'one.jpg'), { color: '#885522' });
    const hash = createHash('sha256').update(bytes).digest('hex');
    // Catalogue rows only (the grid's job is rendering, not decoding): 10,000 entries sharing one file's thumbnail.
    const dataset = createDataset(db, 'ten-thousand', root, 'flat');
    db.transaction(() => {
      for (let i = 0; i < 10_000; i++) {
        upsertImage(db, dataset.id, {
          relPath: i === 0 ? 'one.jpg' : `img-${String(i).padStart(5, '0')}.jpg`, contentHash: hash, byteSize: bytes.length, mtimeMs: 0,
          width: 64, height: 48, format: 'jpeg', colorSpace: 'srgb', channels: 3, hasAlpha: false, orientation: 1,
          status: 'ok', reason: null, duplicateOf: null, folderLabel: null, folderSplit: null,
        });
      }
    })();
    await page.locator('nav a[data-view="dataset"]').click();
    await page.reload();
    await page.getByTestId('dataset-select').selectOption({ label: 'ten-thousand' });
    await page.getByTestId('filter-count').getByText('10000 shown').waitFor();
    const rendered = await page.getByTestId('grid-cell').count();
    assert.ok(rendered > 0 && rendered < 300, `only visible cells are rendered (${rendered})`);
    const started = Date.now();
    await page.getByTestId('image-grid').evaluate((element) => (element.scrollTop = element.scrollHeight));
    await page.locator('[data-testid="grid-cell"][data-index="9999"][data-image-id]').waitFor();
    assert.ok(Date.now() - started < 5000, 'the last page arrives quickly');
    assert.ok((await page.getByTestId('grid-cell').count()) < 300);
  });
});
