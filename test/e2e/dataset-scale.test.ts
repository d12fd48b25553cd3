// Issue 17's grid at scale in Chromium at 1440x900: a catalogue of 20,000 image rows (no files: the grid's tiles and
// queries are what is measured, thumbnails of missing files just fail to load). The Dataset view's first paint of the
// grid, frame times while scrolling, scrolling to the very end shows the last images, a shift-click range over
// thousands of rows never loaded selects them all, and excluded images (issue 15) leave the grid and its counts but
// show under their own filter.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { buildBigCatalogue } from '../support/big-catalogue';
import { excludeImages } from '../../electron/catalogue/health';

const ROWS = Number(process.env.PAWPRINT_GRID_ROWS ?? 20_000);

let app: AppUnderTest;
before(async () => {
  app = await launchApp();
});
after(async () => {
  await app.close();
});

/** Frame-to-frame times (ms) while `act` runs, from a requestAnimationFrame loop in the page. */
async function frameTimes(page: Page, act: () => Promise<void>): Promise<{ frames: number; median: number; p95: number; max: number; over50: number }> {
  // A string, not a function: the node side has no DOM types, and tsx would wrap a function in helpers the page lacks.
  await page.evaluate(`(() => {
    const stamps = [];
    window.frameStamps = stamps;
    const loop = (t) => { stamps.push(t); if (window.frameStamps === stamps) requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  })()`);
  await act();
  const stamps = (await page.evaluate(`(() => { const s = window.frameStamps ?? []; delete window.frameStamps; return s; })()`)) as number[];
  const gaps = stamps.slice(1).map((t, i) => t - stamps[i]!).sort((a, b) => a - b);
  const at = (q: number) => Math.round((gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? NaN) * 10) / 10;
  return { frames: gaps.length, median: at(0.5), p95: at(0.95), max: at(1), over50: gaps.filter((gap) => gap > 50).length };
}

/** Drags the grid's scrollbar to the bottom, as far as the scroll height (every row) goes. */
async function scrollGridToEnd(page: Page): Promise<void> {
  await page.evaluate(`(() => { const grid = document.querySelector('[data-testid="image-grid"]'); grid.scrollTop = grid.scrollHeight; })()`);
}

test(`the grid over ${ROWS.toLocaleString('en-US')} images: first paint, scrolling to the end, a shift-click range over unloaded pages, exclusions`, { timeout: 300_000 }, async () => {
  await withScreenshotOnFailure(app, 'dataset-scale', async () => {
    const { page, services } = app;
    const db = services.app.db;
    await page.setViewportSize({ width: 1440, height: 900 });
    const built = Date.now();
    const big = buildBigCatalogue(db, { images: ROWS, classes: 4, unlabelledEvery: 10 });
    const excluded = big.okIds.filter((_, index) => index % 100 === 3);
    excludeImages(db, big.datasetId, excluded, 'test');
    const shown = big.okIds.filter((id) => !excluded.includes(id));
    const buildSeconds = (Date.now() - built) / 1000;

    // First paint: from navigation to the first tile that knows its image.
    await page.reload();
    const started = Date.now();
    await page.locator('nav a[data-view="dataset"]').click();
    await page.locator('[data-testid="grid-cell"][data-index="0"][data-image-id]').waitFor({ timeout: 30_000 });
    const firstPaintMs = Date.now() - started;
    await page.getByTestId('filter-count').getByText(`${shown.length} shown`).waitFor();
    await page.getByTestId('dataset-counts').getByText(`${excluded.length} excluded`).waitFor();
    const cellsInDom = await page.getByTestId('grid-cell').count();
    assert.ok(cellsInDom < 400, `only the rows in view are in the page: ${cellsInDom} tiles`);

    // Scrolling: the wheel, a screenful at a time, then straight to the end (the scrollbar stands for every row).
    const grid = page.getByTestId('image-grid');
    await grid.scrollIntoViewIfNeeded();
    const box = (await grid.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const wheel = await frameTimes(page, async () => {
      for (let step = 0; step < 60; step++) {
        await page.mouse.wheel(0, 400);
        await page.waitForTimeout(16);
      }
    });
    const endStarted = Date.now();
    await scrollGridToEnd(page);
    const last = shown.length - 1;
    try {
      await page.locator(`[data-testid="grid-cell"][data-index="${last}"][data-image-id="${shown[last]}"]`).waitFor({ timeout: 15_000 });
    } catch (error) {
      const state = await page.evaluate(`(() => {
        const element = document.querySelector('[data-testid="image-grid"]');
        const cells = [...element.querySelectorAll('[data-index]')].map((cell) => cell.dataset.index + ':' + (cell.dataset.imageId ?? '-'));
        return { top: element.scrollTop, height: element.scrollHeight, client: element.clientHeight, cells: cells.slice(-3) };
      })()`);
      throw new Error(`${(error as Error).message}; grid ${JSON.stringify(state)}`);
    }
    const endMs = Date.now() - endStarted;
    await app.screenshot('dataset-scale-end');

    // A range over pages never loaded: first image in the Label view, then shift-click the last one.
    await page.locator('nav a[data-view="label"]').click();
    await page.locator('[data-testid="grid-cell"][data-index="0"][data-image-id]').click();
    await page.getByTestId('selection-count').getByText('1 selected').waitFor();
    await scrollGridToEnd(page);
    const lastCell = page.locator(`[data-testid="grid-cell"][data-index="${last}"][data-image-id="${shown[last]}"]`);
    await lastCell.waitFor({ timeout: 15_000 });
    await lastCell.click({ modifiers: ['Shift'] });
    await page.getByTestId('selection-count').getByText(`${shown.length} selected`).waitFor({ timeout: 15_000 });

    // The excluded filter shows only those, with their count.
    await page.locator('nav a[data-view="dataset"]').click();
    await page.getByTestId('filter-status').selectOption('excluded');
    await page.getByTestId('filter-count').getByText(`${excluded.length} shown`).waitFor();
    await page.locator(`[data-testid="grid-cell"][data-index="0"][data-image-id="${excluded[0]}"]`).waitFor();

    const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
    console.log(
      `${ROWS} rows (built in ${buildSeconds.toFixed(1)} s, load ${load}): first paint ${firstPaintMs} ms, ${cellsInDom} tiles in the page; ` +
        `wheel frames ${JSON.stringify(wheel)}; jump to the end ${endMs} ms`,
    );
    // The target is 1 s on a quiet machine; this bound only catches a grid that no longer pages (a 2-core
    // machine at load 45 measured 5.1 s here), the logged figure is the measurement.
    assert.ok(firstPaintMs < 20_000, `first paint ${firstPaintMs} ms`);
  });
});
