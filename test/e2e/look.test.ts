// Issue 14's walkthrough findings that only a browser shows (roving focus in the thumbnail grid, no sideways scroll in
// Compare at 1440 px, the Runs actions inside a 1024 px window, undo of a relabel in the Evaluate gallery) and the
// screenshots of every view in the light and the dark theme, on photo-like pets the test draws itself.
// PAWPRINT_SCREENSHOTS=docs/screenshots writes the README's screenshots there; by default they go to test-output/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, outputDir } from './harness';
import { createServices } from '../../electron/services/index';
import type { Services } from '../../electron/services/index';
import { startWebHost } from '../../electron/host/web';
import type { WebHost } from '../../electron/host/web';
import { rendererRoot } from '../../electron/build-paths';
import { tempDir, tempPaths } from '../support/temp';
import type { JobFinished, JobStartIn } from '../../shared/contract/index';

// The few DOM shapes used inside page callbacks (the Node type-check has no DOM library).
interface ElementLike {
  scrollWidth: number;
  clientWidth: number;
  getAttribute(name: string): string | null;
}
interface DocumentLike {
  activeElement: ElementLike | null;
  documentElement: ElementLike;
  querySelector(selector: string): ElementLike | null;
}
declare const document: DocumentLike;
declare function getComputedStyle(element: ElementLike): { backgroundColor: string };

const screenshotDir = process.env.PAWPRINT_SCREENSHOTS ? resolve(process.env.PAWPRINT_SCREENSHOTS) : join(outputDir, 'look');

let dir: ReturnType<typeof tempDir>;
let services: Services;
let web: WebHost;
let browser: Browser;
const problems: string[] = [];
let datasetId = 0;
const runIds: number[] = [];

/** A seeded generator, so the pictures are the same on every run. */
function random(seed: number): () => number {
  let state = (seed * 2654435761 + 1) >>> 0;
  return () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

/**
 * A photo-like 160x160 picture of a cat or a dog: a lit backdrop (room, garden or sofa), a soft shadow, and the animal
 * in one of a few coat colours, with pointed (cat) or floppy (dog) ears, drawn as SVG and blurred a little.
 */
function petSvg(kind: 'cat' | 'dog', seed: number): string {
  const r = random(seed);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const backdrops = [['#e9dcc9', '#b89b7a'], ['#cfe3c2', '#6d8f4e'], ['#d6d9e4', '#7b7f94'], ['#f2e3d0', '#a0522d']] as const;
  const [wall, floor] = pick(backdrops);
  const coats = kind === 'cat' ? ['#d9893b', '#4a4a4a', '#9c9c9c', '#efe6d8', '#7a5a3a'] : ['#c8a165', '#3b2a1e', '#e8d6b5', '#8b5a2b', '#f4f1ea'];
  const coat = pick(coats);
  const x = 65 + r() * 30;
  const y = 92 + r() * 12;
  const s = 0.85 + r() * 0.3;
  const ears = kind === 'cat'
    ? `<path d="M${x - 22} ${y - 46} l6 -26 l14 18 z M${x + 22} ${y - 46} l-6 -26 l-14 18 z" fill="${coat}"/>`
    : `<ellipse cx="${x - 24}" cy="${y - 38}" rx="8" ry="17" fill="${coat}" transform="rotate(20 ${x - 24} ${y - 38})" filter="brightness(0.8)"/>
       <ellipse cx="${x + 24}" cy="${y - 38}" rx="8" ry="17" fill="${coat}" transform="rotate(-20 ${x + 24} ${y - 38})"/>`;
  const snout = kind === 'dog' ? `<ellipse cx="${x}" cy="${y - 30}" rx="11" ry="8" fill="#ffffff" opacity="0.35"/>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160">
  <defs>
    <linearGradient id="wall" x1="0" y1="0" x2="0.3" y2="1"><stop offset="0" stop-color="${wall}"/><stop offset="1" stop-color="${floor}"/></linearGradient>
    <radialGradient id="light" cx="${0.2 + r() * 0.6}" cy="0.15" r="0.9"><stop offset="0" stop-color="#ffffff" stop-opacity="0.55"/><stop offset="1" stop-color="#000000" stop-opacity="0.25"/></radialGradient>
    <filter id="soft"><feGaussianBlur stdDeviation="0.9"/></filter>
    <filter id="shadow"><feGaussianBlur stdDeviation="5"/></filter>
  </defs>
  <rect width="160" height="160" fill="url(#wall)"/>
  <rect y="${108 + r() * 10}" width="160" height="60" fill="${floor}" opacity="0.6"/>
  <g transform="translate(${x} ${y}) scale(${s}) translate(${-x} ${-y})" filter="url(#soft)">
    <ellipse cx="${x + 4}" cy="${y + 34}" rx="44" ry="8" fill="#000" opacity="0.35" filter="url(#shadow)"/>
    <ellipse cx="${x}" cy="${y + 8}" rx="${kind === 'cat' ? 30 : 36}" ry="28" fill="${coat}"/>
    ${ears}
    <circle cx="${x}" cy="${y - 30}" r="${kind === 'cat' ? 24 : 26}" fill="${coat}"/>
    ${snout}
    <circle cx="${x - 9}" cy="${y - 34}" r="3.2" fill="#1b1b1b"/><circle cx="${x + 9}" cy="${y - 34}" r="3.2" fill="#1b1b1b"/>
    <ellipse cx="${x}" cy="${y - 24}" rx="3.5" ry="2.5" fill="#3a2323"/>
  </g>
  <rect width="160" height="160" fill="url(#light)"/>
</svg>`;
}

async function writePets(root: string, perClass: number): Promise<void> {
  for (const kind of ['cat', 'dog'] as const) {
    mkdirSync(join(root, `${kind}s`), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const seed = (kind === 'cat' ? 1 : 5000) + i;
      const jpeg = await sharp(Buffer.from(petSvg(kind, seed))).jpeg({ quality: 85 }).toBuffer();
      writeFileSync(join(root, `${kind}s`, `${kind}-${String(i).padStart(3, '0')}.jpg`), jpeg);
    }
  }
}

/** Starts a job and waits for its end (listening first, so a fast job cannot finish unseen). */
async function runJob(start: JobStartIn, timeoutMs = 180_000): Promise<JobFinished> {
  const ended: JobFinished[] = [];
  const off = services.app.events.onAny((event, payload) => {
    if (event === 'jobs.finished') ended.push(payload as JobFinished);
  });
  try {
    const { job } = await services.request('jobs.start', start);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const done = ended.find((e) => e.id === job.id);
      if (done) return done;
      if (Date.now() > deadline) throw new Error(`job ${job.id} (${start.kind}) did not finish in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    off();
  }
}

async function openPage(options: { width: number; height: number; dark?: boolean; hash?: string }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: options.width, height: options.height }, colorScheme: options.dark ? 'dark' : 'light' });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(web.launchUrl);
  await page.locator('nav .brand').waitFor();
  if (options.hash) {
    await page.goto(`${web.url}#/${options.hash}`);
    await page.locator(`nav a[data-view="${options.hash}"][aria-current="page"]`).waitFor();
  }
  return { context, page };
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
}

before(async () => {
  dir = tempDir('pawprint-look-');
  services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  web = await startWebHost({ services, staticRoot: process.env.PAWPRINT_RENDERER_ROOT ?? rendererRoot() });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const photos = join(dir.path, 'pets');
  await writePets(photos, 24);
  const imported = await runJob({ kind: 'import', input: { path: photos, name: 'pets' } });
  assert.equal(imported.status, 'completed', imported.error ?? '');
  datasetId = (imported.result as { datasetId: number }).datasetId;
  await services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 3 });
  const base = { preset: 'custom', imageSize: { height: 32, width: 32 }, batchSize: 8, seed: 5, backend: 'wasm' } as const;
  for (const [name, config] of [
    ['quick look', { ...base, epochs: 2, learningRate: 0.0005 }],
    ['longer, faster learning rate', { ...base, epochs: 8, learningRate: 0.003, augmentation: { flip: 'horizontal', rotation: 0.1, zoom: 0, brightness: 0, contrast: 0 } }],
  ] as const) {
    const trained = await runJob({ kind: 'train', input: { datasetId, name, config } });
    assert.equal(trained.status, 'completed', trained.error ?? '');
    runIds.push((trained.result as { runId: number }).runId);
  }
});

after(async () => {
  await browser?.close();
  await web?.close();
  await services?.close();
  dir?.cleanup();
  if (problems.length > 0) throw new Error(`Uncaught errors in the page: ${problems.join(' | ')}`);
});

test('the thumbnail grid is one Tab stop and the arrow keys move the real focus (one ring, not two)', async () => {
  const { context, page } = await openPage({ width: 1280, height: 860, hash: 'label' });
  try {
    const cells = page.getByTestId('grid-cell');
    await cells.nth(5).waitFor();
    assert.equal(await page.locator('[data-testid="grid-cell"][tabindex="0"]').count(), 1, 'one tile is in the Tab order');
    await cells.nth(0).click();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-index') === '2', undefined, { timeout: 5000 });
    // The tile the keys moved to is the one selected, the one with the real focus and the only Tab stop.
    assert.deepEqual(await page.locator('[data-testid="grid-cell"][aria-selected="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-index'))), ['2']);
    assert.deepEqual(await page.locator('[data-testid="grid-cell"][tabindex="0"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-index'))), ['2']);
    // Tab leaves the grid in one step.
    await page.keyboard.press('Tab');
    assert.notEqual(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'grid-cell');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-index')), '2', 'Shift+Tab comes back to the same tile');
  } finally {
    await context.close();
  }
});

test('Compare at 1440 px fits the window (no sideways scroll) and names settings in words', async () => {
  const { context, page } = await openPage({ width: 1440, height: 900, hash: 'runs' });
  try {
    for (const runId of runIds) await page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`).getByTestId('run-select').check();
    await page.getByTestId('compare-button').click();
    await page.getByTestId('compare-panel').waitFor({ timeout: 120_000 });
    await page.getByTestId('config-diff-row').first().waitFor();
    const labels = await page.locator('[data-testid="config-diff-row"] th').allInnerTexts();
    assert.ok(labels.includes('Rotation') && labels.includes('Learning rate'), `settings in words: ${labels.join(', ')}`);
    assert.ok(labels.every((label) => !/[.]\w|^\w+\.\d/.test(label)), `no raw paths: ${labels.join(', ')}`);
    const widths = await page.evaluate(() => ({
      main: [document.querySelector('main')!.scrollWidth, document.querySelector('main')!.clientWidth],
      page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
    }));
    assert.ok(widths.main[0]! <= widths.main[1]!, `main scrolls sideways: ${widths.main.join(' > ')}`);
    assert.ok(widths.page[0]! <= widths.page[1]!, `the page scrolls sideways: ${widths.page.join(' > ')}`);
    await page.getByTestId('compare-panel').evaluate((element) => (element as unknown as { scrollIntoView(o: object): void }).scrollIntoView({ block: 'start' }));
    await shot(page, 'compare-light');
  } finally {
    await context.close();
  }
});

test('at 1024 px the Runs actions are inside the window', async () => {
  const { context, page } = await openPage({ width: 1024, height: 768, hash: 'runs' });
  try {
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runIds[1]}"]`);
    await row.waitFor();
    const box = await row.getByTestId('run-delete').boundingBox();
    assert.ok(box, 'the Delete action is drawn');
    assert.ok(box.x + box.width <= 1024, `Delete ends at ${Math.round(box.x + box.width)} px, past the 1024 px window`);
    const main = await page.evaluate(() => [document.querySelector('main')!.scrollWidth, document.querySelector('main')!.clientWidth]);
    assert.ok(main[0]! <= main[1]!, `the Runs view scrolls sideways at 1024 px: ${main.join(' > ')}`);
    await shot(page, 'runs-1024-light');
  } finally {
    await context.close();
  }
});

test('a relabel in the Evaluate gallery can be undone, and the catalogue gets the old label back', async () => {
  const { context, page } = await openPage({ width: 1280, height: 900, hash: 'evaluate' });
  try {
    await page.getByTestId('evaluate-run').selectOption(String(runIds[0]));
    await page.getByTestId('evaluate-button').click();
    await page.getByTestId('evaluation-summary').waitFor({ timeout: 120_000 });
    // Whichever images this tiny run gets wrong or right-but-unsure: the undo must work on either list.
    await page.getByTestId('filter-low-confidence').click();
    await page.getByTestId('confidence-threshold').fill('100');
    await page.getByTestId('confidence-threshold').dispatchEvent('change');
    const item = page.getByTestId('gallery-item').first();
    await item.waitFor({ timeout: 20_000 });
    const imageId = Number(await item.getAttribute('data-image-id'));
    const before = await services.request('images.detail', { imageId });
    const classes = (await services.request('datasets.get', { datasetId })).classes;
    const other = classes.findIndex((c) => c.id !== before.classId);
    await item.click();
    await page.keyboard.press(String(other + 1));
    await page.getByTestId('gallery-undo-bar').waitFor();
    assert.equal((await services.request('images.detail', { imageId })).classId, classes[other]!.id, 'relabelled in the catalogue');
    await shot(page, 'evaluate-light');
    await page.keyboard.press('Control+z');
    await page.getByTestId('gallery-undo-bar').waitFor({ state: 'detached' });
    assert.equal((await services.request('images.detail', { imageId })).classId, before.classId, 'undo put the old label back');
  } finally {
    await context.close();
  }
});

test('screenshots of every view, light and dark', async () => {
  for (const dark of [false, true]) {
    const { context, page } = await openPage({ width: 1280, height: 800, dark });
    try {
      for (const view of ['dataset', 'label', 'augment', 'train', 'runs', 'evaluate', 'export']) {
        await page.goto(`${web.url}#/${view}`);
        await page.locator(`nav a[data-view="${view}"][aria-current="page"]`).waitFor();
        if (view === 'label') await page.getByTestId('grid-cell').nth(5).waitFor();
        if (view === 'dataset') await page.locator('main img').first().waitFor({ timeout: 10_000 }).catch(() => undefined);
        if (view === 'evaluate') {
          await page.getByTestId('evaluate-run').selectOption(String(runIds[1]));
          await page.getByTestId('evaluate-button').click();
          await page.getByTestId('evaluation-summary').waitFor({ timeout: 120_000 });
          await page.waitForFunction(() => document.querySelector('[data-testid="evaluate-button"]')?.getAttribute('disabled') === null, undefined, { timeout: 120_000 });
          await page.locator('[data-testid="gallery-item"] img').first().waitFor({ timeout: 10_000 }).catch(() => undefined);
        }
        await page.waitForLoadState('networkidle').catch(() => undefined);
        await page.waitForTimeout(300);
        await shot(page, `${view}-${dark ? 'dark' : 'light'}`);
      }
      const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      assert.equal(background === 'rgb(255, 255, 255)', !dark, `the ${dark ? 'dark' : 'light'} theme follows the system (${background})`);
    } finally {
      await context.close();
    }
  }
});
