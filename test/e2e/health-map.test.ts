// Issue 15's embedding map in Chromium, driven with the real mouse: a stored health report whose map places each
// class in a known corner, so the test knows where every point is drawn. Hovering a point shows its thumbnail, a dragged
// box selects what it covers, a lasso (mode or Shift) selects inside a free-form outline, and the selection is labelled
// and excluded through the map's own controls. A second
// dataset of 20,000 catalogue rows measures what a frame costs while hovering and dragging over 20,000 points.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { writeImage } from '../support/images';
import { labelsFingerprint, saveHealthReport, type StoredHealthReport } from '../../electron/catalogue/health';
import { createDataset } from '../../electron/catalogue/datasets';
import { upsertImage } from '../../electron/catalogue/images';
import { createClass, setLabels } from '../../electron/catalogue/labels';
import { mulberry32 } from '../../shared/random';
import type { Database } from '../../electron/catalogue/database';

let app: AppUnderTest;
before(async () => {
  app = await launchApp();
});
after(async () => {
  await app.close();
});

/** A report with nothing flagged and the given map, stored as computed on the dataset's current labels. */
function storeMapReport(db: Database, datasetId: number, map: Array<{ imageId: number; x: number; y: number }>): void {
  const stored: StoredHealthReport = {
    base: { weightsId: 'synthetic', alpha: 0.35, source: 'test' },
    folds: 5, seed: 1, imageCount: map.length, labelledCount: map.length,
    counts: { labelIssues: 0, nearDuplicateGroups: 0, nearDuplicateImages: 0, leakingGroups: 0, outliers: 0 },
    labelIssues: [], map, nearDuplicates: [], outliers: [], classes: [], imbalanceRatio: null, outOfFoldAccuracy: null,
    duplicateThreshold: 0.95, outlierThreshold: 0,
    seconds: { features: 0, head: 0, similarity: 0, total: 0 }, features: { fromCache: 0, computed: 0 },
  };
  saveHealthReport(db, { datasetId, jobId: null, labelsFingerprint: labelsFingerprint(db, datasetId), options: {}, stored });
}

/**
 * Where a map coordinate is on the screen, given the data's range: the map fits the points into its drawing area
 * (data-pad CSS pixels inside the canvas's content box, y upwards).
 */
async function screenPoint(page: Page, range: { minX: number; maxX: number; minY: number; maxY: number }, x: number, y: number) {
  // A string, not a function: the node side has no DOM types, and tsx would wrap a function in helpers the page lacks.
  const box = await page.evaluate(`(() => {
    const element = document.querySelector('[data-testid="map-canvas"]');
    const rect = element.getBoundingClientRect();
    return { left: rect.left + element.clientLeft, top: rect.top + element.clientTop, width: element.clientWidth, height: element.clientHeight, pad: Number(element.dataset.pad), drawingWidth: Number(element.dataset.width), drawingHeight: Number(element.dataset.height) };
  })()`) as { left: number; top: number; width: number; height: number; pad: number; drawingWidth: number; drawingHeight: number };
  assert.ok(Number.isFinite(box.pad) && box.drawingWidth > 0, 'the canvas names its drawing size and padding');
  // The drawing (drawingWidth x drawingHeight, pad inside) is stretched over the canvas's content box.
  const sx = box.width / box.drawingWidth, sy = box.height / box.drawingHeight;
  return {
    x: box.left + sx * (box.pad + ((x - range.minX) / (range.maxX - range.minX)) * (box.drawingWidth - 2 * box.pad)),
    y: box.top + sy * (box.drawingHeight - box.pad - ((y - range.minY) / (range.maxY - range.minY)) * (box.drawingHeight - 2 * box.pad)),
  };
}

test('the embedding map: hover shows the thumbnail, a dragged box or a lasso selects, the selection is labelled and excluded', { timeout: 180_000 }, async () => {
  await withScreenshotOnFailure(app, 'health-map-mouse', async () => {
    const { page, services } = app;
    const root = join(app.dir, 'corners');
    for (const cls of ['left', 'right']) {
      mkdirSync(join(root, cls), { recursive: true });
      for (let i = 0; i < 8; i++) await writeImage(join(root, cls, `${cls}-${i}.png`), { format: 'png', color: cls === 'left' ? '#cc3322' : '#2233cc', variant: i });
    }
    const imported = await services.app.jobs.wait((await services.request('jobs.start', { kind: 'import', input: { path: root } })).job.id);
    assert.equal(imported.status, 'completed', imported.error ?? '');
    const datasetId = imported.kind === 'import' ? imported.result!.datasetId : 0;
    const ids: Record<string, number> = {};
    for (const id of await services.request('images.ids', { datasetId })) ids[(await services.request('images.detail', { imageId: id })).relPath] = id;
    // "left" images on a 4 x 2 grid in the bottom-left corner, "right" ones in the top-right: data range 0..100.
    const place = (cls: string, i: number) => cls === 'left' ? { x: (i % 4) * 2, y: Math.floor(i / 4) * 2 } : { x: 94 + (i % 4) * 2, y: 98 + Math.floor(i / 4) * 2 };
    const map = ['left', 'right'].flatMap((cls) => Array.from({ length: 8 }, (_, i) => ({ imageId: ids[`${cls}/${cls}-${i}.png`]!, ...place(cls, i) })));
    storeMapReport(services.app.db, datasetId, map);
    const range = { minX: 0, maxX: 100, minY: 0, maxY: 100 };

    await page.locator('nav a[data-view="health"]').click();
    await page.getByTestId('embedding-map').getByText('(16 points)').waitFor();
    const mapSection = page.getByTestId('embedding-map');
    await mapSection.scrollIntoViewIfNeeded();

    // Hover: the nearest point's thumbnail and label.
    const third = await screenPoint(page, range, 4, 2); // left-6
    await page.mouse.move(third.x + 1, third.y - 1);
    const tip = page.getByTestId('map-hover');
    await tip.waitFor({ timeout: 15_000 });
    assert.match(await tip.innerText(), /left/);
    assert.match((await tip.locator('img').getAttribute('src')) ?? '', new RegExp(`\\b${ids['left/left-6.png']}\\b`));
    await page.mouse.move(third.x + 80, third.y - 80); // over empty space: no tip
    await tip.waitFor({ state: 'detached', timeout: 15_000 });

    // Drag a box around the bottom-left corner: the eight "left" images.
    const from = await screenPoint(page, range, -1, 3.5), to = await screenPoint(page, range, 7, -0.5);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
    await page.mouse.move(to.x, to.y, { steps: 4 });
    await page.mouse.up();
    await page.getByTestId('map-selection').getByText('8 images selected').waitFor({ timeout: 15_000 });

    // Label the selection "right" from the map.
    const right = (await services.request('datasets.get', { datasetId })).classes.find((c) => c.name === 'right')!;
    await page.getByTestId('map-selection').getByLabel('Label for the selection').selectOption(String(right.id));
    await page.getByTestId('map-selection').getByRole('button', { name: 'Label' }).click();
    await page.getByTestId('health-last-fix').getByText('8 images from the map → right').waitFor();
    for (let i = 0; i < 8; i++) assert.equal((await services.request('images.detail', { imageId: ids[`left/left-${i}.png`]! })).classId, right.id);

    // A box around two columns of the top-right corner: four images, excluded from the dataset.
    const from2 = await screenPoint(page, range, 93, 101), to2 = await screenPoint(page, range, 97, 97);
    await page.mouse.move(from2.x, from2.y);
    await page.mouse.down();
    await page.mouse.move(to2.x, to2.y, { steps: 6 });
    await page.mouse.up();
    await page.getByTestId('map-selection').getByText('4 images selected').waitFor({ timeout: 15_000 });
    await page.getByTestId('map-selection').getByRole('button', { name: 'Exclude' }).click();
    await page.getByTestId('health-excluded').waitFor();
    const excluded = (await services.request('health.excluded', { datasetId })).images.map((image) => image.relPath).sort();
    assert.deepEqual(excluded, ['right/right-0.png', 'right/right-1.png', 'right/right-4.png', 'right/right-5.png']);
    await page.getByTestId('embedding-map').getByText('(12 points)').waitFor();

    // A click without a drag clears the selection.
    const from3 = await screenPoint(page, range, -1, 3.5), to3 = await screenPoint(page, range, 7, -0.5);
    await page.mouse.move(from3.x, from3.y);
    await page.mouse.down();
    await page.mouse.move(to3.x, to3.y, { steps: 4 });
    await page.mouse.up();
    await page.getByTestId('map-selection').getByText('8 images selected').waitFor({ timeout: 15_000 });
    await page.mouse.click(to3.x + 200, to3.y - 100);
    await page.getByTestId('map-selection').waitFor({ state: 'detached', timeout: 15_000 });
    await app.screenshot('health-map');

    // A high-density screen and a window narrower than the map: the canvas has 2 device pixels per CSS pixel and is
    // scaled down to fit, and hover and box select still land on the points under the mouse.
    const context = await page.context().browser()!.newContext({ viewport: { width: 560, height: 900 }, deviceScaleFactor: 2 });
    try {
      const dense = await context.newPage();
      await dense.goto(app.web.launchUrl);
      await dense.locator('nav a[data-view="health"]').click();
      await dense.getByTestId('health-dataset').selectOption(String(datasetId));
      await dense.getByTestId('embedding-map').getByText('(12 points)').waitFor();
      await dense.getByTestId('map-canvas').scrollIntoViewIfNeeded();
      const sizes = await dense.evaluate(`(() => { const c = document.querySelector('[data-testid="map-canvas"]'); return { width: c.width, css: c.clientWidth, ratio: window.devicePixelRatio }; })()`) as { width: number; css: number; ratio: number };
      assert.equal(sizes.ratio, 2);
      assert.equal(sizes.width, 1440, 'the backing store has two pixels per CSS pixel');
      assert.ok(sizes.css < 700, `the canvas is scaled down to the window (${sizes.css} px)`);
      const point = await screenPoint(dense, range, 4, 2); // left-6
      await dense.mouse.move(point.x + 1, point.y);
      await dense.getByTestId('map-hover').waitFor({ timeout: 15_000 });
      assert.match((await dense.getByTestId('map-hover').locator('img').getAttribute('src')) ?? '', new RegExp(`\\b${ids['left/left-6.png']}\\b`));
      const a = await screenPoint(dense, range, -1, 3.5), b = await screenPoint(dense, range, 7, -0.5);
      await dense.mouse.move(a.x, a.y);
      await dense.mouse.down();
      await dense.mouse.move(b.x, b.y, { steps: 5 });
      await dense.mouse.up();
      await dense.getByTestId('map-selection').getByText('8 images selected').waitFor({ timeout: 15_000 });
    } finally {
      await context.close();
    }

    // Lasso: a triangle around left-0, left-1 and left-4 (at (0,0), (2,0), (0,2)) that leaves out left-5 at (2,2),
    // which any box around the three would take too. Drawn in lasso mode, then again as a Shift-drag in box mode.
    const drawOutline = async (corners: Array<[number, number]>, shift: boolean) => {
      const screen = await Promise.all(corners.map(([x, y]) => screenPoint(page, range, x, y)));
      if (shift) await page.keyboard.down('Shift');
      await page.mouse.move(screen[0]!.x, screen[0]!.y);
      await page.mouse.down();
      for (const corner of [...screen.slice(1), screen[0]!]) await page.mouse.move(corner.x, corner.y, { steps: 8 });
      await page.mouse.up();
      if (shift) await page.keyboard.up('Shift');
    };
    const triangle: Array<[number, number]> = [[-1, -1], [5, -1], [-1, 3]];
    await page.getByTestId('map-mode-lasso').click();
    assert.equal(await page.getByTestId('map-mode-lasso').getAttribute('aria-pressed'), 'true');
    await drawOutline(triangle, false);
    await page.getByTestId('map-selection').getByText('3 images selected').waitFor({ timeout: 15_000 });
    await page.getByTestId('map-selection').getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('map-mode-box').click();
    await drawOutline(triangle, true);
    await page.getByTestId('map-selection').getByText('3 images selected').waitFor({ timeout: 15_000 });
    await app.screenshot('health-map-lasso');
    await page.getByTestId('map-selection').getByRole('button', { name: 'Exclude' }).click();
    await page.getByTestId('embedding-map').getByText('(9 points)').waitFor();
    const lassoed = (await services.request('health.excluded', { datasetId })).images.map((image) => image.relPath).filter((rel) => rel.startsWith('left/')).sort();
    assert.deepEqual(lassoed, ['left/left-0.png', 'left/left-1.png', 'left/left-4.png']);
  });
});

/** 20,000 catalogue rows (no files: only the map reads them) in five classes, on five seeded Gaussian blobs. */
function bigDataset(db: Database, root: string, count: number) {
  const dataset = createDataset(db, 'twenty-thousand', root, 'flat');
  const classes = ['a', 'b', 'c', 'd', 'e'].map((name) => createClass(db, dataset.id, name));
  const rng = mulberry32(7);
  const gauss = () => Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  const map: Array<{ imageId: number; x: number; y: number }> = [];
  db.transaction(() => {
    const wanted: Array<{ imageId: number; classId: number }> = [];
    for (let i = 0; i < count; i++) {
      const imageId = upsertImage(db, dataset.id, {
        relPath: `p/${i}.jpg`, contentHash: `hash-${i}`, byteSize: 1, mtimeMs: 0, width: 1, height: 1, format: 'jpeg', colorSpace: 'srgb',
        channels: 3, hasAlpha: false, orientation: null, status: 'ok', reason: null, duplicateOf: null, folderLabel: null, folderSplit: null,
      });
      const cls = i % 5;
      wanted.push({ imageId, classId: classes[cls]!.id });
      map.push({ imageId, x: Math.cos(cls * 1.3) * 6 + gauss(), y: Math.sin(cls * 1.3) * 6 + gauss() });
    }
    setLabels(db, dataset.id, wanted);
  })();
  return { datasetId: dataset.id, map };
}

/** Frame-to-frame times (ms) while `act` runs, from a requestAnimationFrame loop in the page. */
async function frameTimes(page: Page, act: () => Promise<void>): Promise<{ frames: number; median: number; p95: number; max: number }> {
  await page.evaluate(`(() => {
    const stamps = [];
    window.frameStamps = stamps;
    const loop = (t) => { stamps.push(t); if (window.frameStamps === stamps) requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  })()`);
  await act();
  const stamps = await page.evaluate(`(() => { const s = window.frameStamps ?? []; delete window.frameStamps; return s; })()`) as number[];
  const gaps = stamps.slice(1).map((t, i) => t - stamps[i]!).sort((a, b) => a - b);
  const at = (q: number) => Math.round((gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? NaN) * 10) / 10;
  return { frames: gaps.length, median: at(0.5), p95: at(0.95), max: at(1) };
}

test('the embedding map stays responsive with 20,000 points: hover, drag a box over thousands, exclude them', { timeout: 240_000 }, async () => {
  await withScreenshotOnFailure(app, 'health-map-20000', async () => {
    const { page, services } = app;
    const { datasetId, map } = bigDataset(services.app.db, join(app.dir, 'big'), 20_000);
    storeMapReport(services.app.db, datasetId, map);
    await page.reload();
    await page.locator('nav a[data-view="health"]').click();
    await page.getByTestId('health-dataset').selectOption(String(datasetId));
    await page.getByTestId('embedding-map').getByText('(20,000 points)').waitFor({ timeout: 30_000 });
    const canvas = page.getByTestId('map-canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    const sweep = async (steps: number) => {
      for (let i = 0; i <= steps; i++) await page.mouse.move(box.x + 20 + (i / steps) * (box.width - 40), box.y + box.height / 2 + Math.sin(i / 3) * 60);
    };
    const hover = await frameTimes(page, () => sweep(60));
    const range = { minX: Math.min(...map.map((p) => p.x)), maxX: Math.max(...map.map((p) => p.x)), minY: Math.min(...map.map((p) => p.y)), maxY: Math.max(...map.map((p) => p.y)) };
    const onPoint = await screenPoint(page, range, map[0]!.x, map[0]!.y);
    await page.mouse.move(onPoint.x, onPoint.y);
    await page.getByTestId('map-hover').waitFor({ timeout: 15_000 });
    const drag = await frameTimes(page, async () => {
      await page.mouse.move(box.x + 10, box.y + 10);
      await page.mouse.down();
      for (let i = 1; i <= 40; i++) await page.mouse.move(box.x + 10 + (i / 40) * (box.width / 2), box.y + 10 + (i / 40) * (box.height - 20));
      await page.mouse.up();
    });
    const selection = page.getByTestId('map-selection');
    await selection.waitFor({ timeout: 10_000 });
    const drawn = { layer: await canvas.getAttribute('data-layer-ms'), overlay: await canvas.getAttribute('data-overlay-ms') };
    const selectedText = await selection.innerText();
    const selected = Number(/([\d,]+) images? selected/.exec(selectedText)?.[1]?.replace(/,/g, ''));
    assert.ok(selected > 1000, `a box over the left half selects thousands: ${selectedText}`);
    const startedExclude = Date.now();
    await selection.getByRole('button', { name: 'Exclude' }).click();
    await page.getByTestId('embedding-map').getByText(`(${(20_000 - selected).toLocaleString('en-US')} points)`).waitFor({ timeout: 60_000 });
    const excludeSeconds = (Date.now() - startedExclude) / 1000;
    const load = loadavg()[0]!.toFixed(1);
    console.log(`20,000-point map (load ${load}): points layer ${drawn.layer} ms, overlay ${drawn.overlay} ms; hover frames ${JSON.stringify(hover)}, box-drag frames ${JSON.stringify(drag)}; excluding ${selected} took ${excludeSeconds.toFixed(1)} s`);
    assert.ok(hover.p95 < 200 && drag.p95 < 200, `frames under 200 ms (on a machine shared at load 20-30) at the 95th percentile: hover ${JSON.stringify(hover)}, drag ${JSON.stringify(drag)}`);
  });
});
