// Issue 15's Health view in a real browser over the real browser host and job worker: generated pictures with a
// planted flip (a circle picture filed under squares) and a planted near-duplicate (a resized, cropped, brightened JPEG
// copy); the health check runs from the view, the flip is fixed with one key (and undone, and fixed again), the
// duplicate group keeps the original and drops the copy from the dataset without touching its file, the report reads
// stale and a re-run from the stale banner finds neither again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { bundledBasePath } from '../../electron/health/base';
import { loadTrainingData } from '../../electron/catalogue/training-data';
import { mulberry32 } from '../../shared/random';

const skip = bundledBasePath() === null ? 'needs the bundled base in resources/models' : false;
let app: AppUnderTest;

/**
 * A 160 px picture of a few circles or squares of any colour on a random two-colour gradient crossed by lines: the
 * shape is the class, everything else varies, so unrelated pictures stay below the near-duplicate threshold (the
 * one-hue-per-class pictures of test/unit/health/fixtures.ts chain into one group per class at 0.87 here).
 */
async function picture(kind: 'circles' | 'squares', seed: number): Promise<Buffer> {
  const rng = mulberry32(seed);
  const size = 160;
  const hsl = (saturation: number, lightness: number) => `hsl(${Math.floor(rng() * 360)},${saturation}%,${lightness}%)`;
  const background = `<linearGradient id="g" x1="0" y1="0" x2="${rng()}" y2="1"><stop offset="0" stop-color="${hsl(30 + Math.floor(rng() * 60), 30 + Math.floor(rng() * 50))}"/><stop offset="1" stop-color="${hsl(50, 20 + Math.floor(rng() * 60))}"/></linearGradient>`;
  const lines = Array.from({ length: 6 }, () => `<line x1="${rng() * size}" y1="${rng() * size}" x2="${rng() * size}" y2="${rng() * size}" stroke="${hsl(40, 50)}" stroke-width="${1 + rng() * 4}"/>`);
  const shapes = Array.from({ length: 2 + Math.floor(rng() * 4) }, () => {
    const x = Math.floor(rng() * size), y = Math.floor(rng() * size), r = 12 + Math.floor(rng() * 30);
    const fill = hsl(50 + Math.floor(rng() * 50), 20 + Math.floor(rng() * 60));
    return kind === 'circles'
      ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${fill}"/>`
      : `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" transform="rotate(${Math.floor(rng() * 40 - 20)} ${x} ${y})" fill="${fill}"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><defs>${background}</defs><rect width="${size}" height="${size}" fill="url(#g)"/>${lines.join('')}${shapes.join('')}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

/** 18 pictures per class; circles-0 filed under squares (the flip); a 90 %, 5 % brighter, JPEG 80 copy of circles-5. */
async function writeDataset(root: string) {
  for (const kind of ['circles', 'squares'] as const) mkdirSync(join(root, kind), { recursive: true });
  for (const kind of ['circles', 'squares'] as const) {
    for (let i = 0; i < 18; i++) {
      const folder = kind === 'circles' && i === 0 ? 'squares' : kind;
      writeFileSync(join(root, folder, `${kind}-${i}.jpg`), await picture(kind, (kind === 'circles' ? 1000 : 2000) + i));
    }
  }
  const original = 'circles/circles-5.jpg';
  const copy = 'circles/circles-5-copy.jpg';
  writeFileSync(join(root, copy), await sharp(join(root, original)).resize(144, 144).modulate({ brightness: 1.05 }).jpeg({ quality: 80 }).toBuffer());
  return { root, flipped: 'squares/circles-0.jpg', duplicate: { original, copy } };
}

before(async () => {
  if (!skip) app = await launchApp();
});
after(async () => {
  if (!skip) await app.close();
});

test('the Health view finds a planted flip and a planted duplicate and fixes one of each', { skip, timeout: 300_000 }, async () => {
  await withScreenshotOnFailure(app, 'health-fix-flip-and-duplicate', async () => {
    const { page, services } = app;
    const fixture = await writeDataset(join(app.dir, 'shapes'));
    const imported = await services.app.jobs.wait((await services.request('jobs.start', { kind: 'import', input: { path: fixture.root } })).job.id);
    assert.equal(imported.status, 'completed', imported.error ?? '');
    const datasetId = imported.kind === 'import' ? imported.result!.datasetId : 0;
    const split = await services.request('splits.create', { datasetId, train: 0.6, val: 0.2, test: 0.2, seed: 3 });
    const imageId = async (relPath: string) => {
      const ids = await services.request('images.ids', { datasetId });
      for (const id of ids) if ((await services.request('images.detail', { imageId: id })).relPath === relPath) return id;
      throw new Error(`no image ${relPath}`);
    };
    const flippedId = await imageId(fixture.flipped);
    const copyId = await imageId(fixture.duplicate.copy);
    const labelOf = async (id: number) => {
      const detail = await services.request('images.detail', { imageId: id });
      const { classes } = await services.request('datasets.get', { datasetId });
      return classes.find((c) => c.id === detail.classId)?.name ?? null;
    };

    await page.locator('nav a[data-view="health"]').click();
    await page.getByTestId('health-none').waitFor();
    await page.getByTestId('health-run').click();
    await page.getByTestId('health-counts').waitFor({ timeout: 240_000 });
    assert.equal(await page.getByTestId('health-stale').count(), 0);

    // The planted flip is the first suspected mislabel: given squares, suggested circles. Enter accepts it.
    const first = page.getByTestId('health-issue').first();
    assert.equal(await first.getAttribute('data-rel-path'), fixture.flipped);
    assert.match(await first.innerText(), /given squares, suggested circles/);
    await first.click();
    await page.keyboard.press('Enter');
    await first.getByTestId('health-issue-now').getByText('circles').waitFor();
    assert.equal(await labelOf(flippedId), 'circles');
    await page.getByTestId('health-stale').getByText('1 of its suspected mislabels relabelled').waitFor();

    // Ctrl+Z puts the given label back; Enter fixes it again.
    await page.keyboard.press('Control+z');
    await page.getByTestId('health-last-fix').getByText(/^undone:/).waitFor();
    assert.equal(await labelOf(flippedId), 'squares');
    // The catalogue answers before the page has redrawn the issue: wait for its "now" label to go, don't sample it.
    await first.getByTestId('health-issue-now').waitFor({ state: 'detached', timeout: 10_000 });
    await first.click();
    await page.keyboard.press('Enter');
    await first.getByTestId('health-issue-now').getByText('circles').waitFor();
    assert.equal(await labelOf(flippedId), 'circles');

    // The planted copy sits in a near-duplicate group with its original: keep the original, the copy leaves the dataset.
    const group = page.getByTestId('health-duplicate-group').filter({ has: page.locator(`[data-rel-path="${fixture.duplicate.copy}"]`) });
    assert.equal(await group.count(), 1, `groups: ${await page.getByTestId('health-duplicates').innerText()}`);
    await group.locator(`[data-rel-path="${fixture.duplicate.original}"]`).getByTestId('health-keep').click();
    await page.getByTestId('health-excluded').locator(`[data-rel-path="${fixture.duplicate.copy}"]`).waitFor();
    assert.equal(await page.locator(`[data-testid="health-duplicate"][data-rel-path="${fixture.duplicate.copy}"]`).count(), 0);
    assert.ok(existsSync(join(fixture.root, fixture.duplicate.copy)), 'the copy file is untouched');
    const excluded = (await services.request('health.excluded', { datasetId })).images.map((image) => image.imageId);
    assert.deepEqual(excluded, [copyId]);
    const data = loadTrainingData(services.app.db, { datasetId, splitId: split.id });
    assert.ok(![...data.train, ...data.val, ...data.test].some((example) => example.imageId === copyId), 'the copy left the training data');

    // The stale banner re-runs: the new report has neither the flip nor the copy.
    await page.getByTestId('health-rerun').click();
    await page.getByTestId('health-stale').waitFor({ state: 'detached', timeout: 240_000 });
    const report = (await services.request('health.latest', { datasetId })).report!;
    assert.equal(report.stale, false);
    assert.equal(report.imageCount, 36);
    assert.ok(!report.labelIssues.some((issue) => issue.image.imageId === flippedId && issue.given === 'squares'));
    assert.ok(!report.nearDuplicates.some((g) => g.images.some((image) => image.imageId === copyId)));
    // The embedding map is drawn with one point per image still in the dataset.
    await page.getByTestId('embedding-map').getByText('(36 points)').waitFor();
    assert.equal(await page.getByTestId('map-canvas').isVisible(), true);
    await app.screenshot('health-view');
  });
});
