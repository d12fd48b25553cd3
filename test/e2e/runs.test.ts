// Runs, comparison and evaluation through the real UI: two tiny runs trained by the real training service on a
// generated dataset imported by the real dataset service, compared and evaluated in Chromium, and one label fixed
// from the misclassified gallery.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import type { JobFinished, JobStartIn } from '../../shared/contract/jobs';

// The few DOM shapes used inside page callbacks (the Node type-check has no DOM library).
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
interface ImageLike {
  complete: boolean;
  naturalWidth: number;
}

let app: AppUnderTest;
const runs: { slow: number; fast: number } = { slow: 0, fast: 0 };
let datasetId = 0;

const CAT: [number, number, number] = [190, 90, 70];
const DOG: [number, number, number] = [80, 100, 180];

/**
 * A 32x32 PNG: the class colour pulled part of the way towards the other class's colour (up to `blend`), plus
 * per-pixel noise, so a few images of each class are ambiguous and the two runs disagree on some of them.
 */
async function writeNoisyImage(path: string, own: [number, number, number], other: [number, number, number], seed: number): Promise<void> {
  const size = 32;
  const data = Buffer.alloc(size * size * 3);
  let state = (seed * 2654435761 + 1) >>> 0;
  const next = () => (state = (state * 1103515245 + 12345) >>> 0);
  const t = (next() % 1000) / 1000 * 0.65;
  const rgb = own.map((c, i) => c + (other[i]! - c) * t);
  for (let i = 0; i < size * size; i++) {
    const noise = (next() % 81) - 40;
    for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(rgb[c]! + noise)));
  }
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, await sharp(data, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer());
}

async function train(name: string, config: Record<string, unknown>): Promise<number> {
  // Listen before starting, so a fast run cannot finish unseen.
  const finished: JobFinished[] = [];
  const off = app.services.app.events.onAny((event, payload) => {
    if (event === 'jobs.finished') finished.push(payload as JobFinished);
  });
  try {
    const input = { datasetId, name, config: config as Extract<JobStartIn, { kind: 'train' }>['input']['config'] };
    const { job } = await app.services.request('jobs.start', { kind: 'train', input });
    const deadline = Date.now() + 120_000;
    let done = finished.find((p) => p.id === job.id);
    while (!done) {
      if (Date.now() > deadline) throw new Error(`run "${name}" did not finish in 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      done = finished.find((p) => p.id === job.id);
    }
    assert.equal(done.status, 'completed', `run "${name}" finished as ${done.status}: ${done.error}`);
    return job.runId!;
  } finally {
    off();
  }
}

before(async () => {
  app = await launchApp();
  const root = join(app.dir, 'photos');
  for (let i = 0; i < 30; i++) {
    await writeNoisyImage(join(root, 'cats', `cat-${i}.png`), CAT, DOG, i);
    await writeNoisyImage(join(root, 'dogs', `dog-${i}.png`), DOG, CAT, 1000 + i);
  }
  const { job } = await app.services.request('jobs.start', { kind: 'import', input: { path: root, name: 'tiny pets' } });
  const imported = await app.services.app.jobs.wait(job.id);
  assert.equal(imported.status, 'completed', imported.error ?? '');
  datasetId = job.datasetId!;
  await app.services.request('splits.create', { datasetId, train: 0.5, val: 0.2, test: 0.3, seed: 7 });
  // Two settings far apart, so the runs disagree on test images: one barely trained, one trained properly.
  const base = { preset: 'custom', imageSize: { height: 32, width: 32 }, batchSize: 8, seed: 5, backend: 'wasm' };
  runs.slow = await train('barely trained', { ...base, epochs: 2, learningRate: 0.0003 });
  runs.fast = await train('trained', { ...base, epochs: 4, learningRate: 0.01 });
});

after(async () => {
  await app?.close();
});

test('runs table: both runs listed, rename through the editor', async () => {
  await withScreenshotOnFailure(app, 'runs-table', async () => {
    const { page } = app;
    await page.goto(app.web.url + '#/runs');
    await page.getByTestId('run-row').nth(1).waitFor();
    assert.equal(await page.getByTestId('run-row').count(), 2);
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runs.slow}"]`);
    await row.getByTestId('run-edit').click();
    await page.getByTestId('run-name-input').fill('baseline: barely trained');
    await page.getByTestId('run-tags-input').fill('tiny, e2e');
    await page.getByTestId('run-save').click();
    await row.getByText('baseline: barely trained').waitFor();
    const stored = await app.services.request('runs.get', { runId: runs.slow });
    assert.equal(stored.name, 'baseline: barely trained');
    assert.deepEqual(stored.tags, ['tiny', 'e2e']);
  });
});

test('compare: curves drawn, config diff shows the changed fields, per-image diff galleries populated', async () => {
  await withScreenshotOnFailure(app, 'runs-compare', async () => {
    const { page } = app;
    await page.locator(`[data-testid="run-row"][data-run-id="${runs.slow}"]`).getByTestId('run-select').check();
    await page.locator(`[data-testid="run-row"][data-run-id="${runs.fast}"]`).getByTestId('run-select').check();
    await page.getByTestId('compare-button').click();
    const panel = page.getByTestId('compare-panel');
    await panel.waitFor({ timeout: 120_000 });

    const accuracy = page.getByTestId('compare-curves-accuracy');
    // 2 + 4 epochs, train and validation points each.
    assert.equal(await accuracy.getAttribute('data-points'), '12');
    const drawn = await accuracy.locator('canvas').evaluate((element) => {
      const canvas = element as unknown as CanvasLike;
      const context = canvas.getContext('2d');
      if (!context || canvas.width === 0) return 0;
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
      return painted;
    });
    assert.ok(drawn > 500, `the accuracy chart has drawn pixels (${drawn})`);

    // Each compared run's name opens its page (issue 14 walkthrough).
    const hrefs = await panel.getByTestId('compare-run-link').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    assert.deepEqual([...new Set(hrefs)].sort(), [`#/runs/${runs.fast}`, `#/runs/${runs.slow}`].sort());

    const paths = await page.getByTestId('config-diff-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-path')));
    assert.deepEqual(paths.sort(), ['epochs', 'learningRate']);

    const fixed = Number(await page.getByTestId('diff-fixed').getAttribute('data-count'));
    const broken = Number(await page.getByTestId('diff-broken').getAttribute('data-count'));
    assert.ok(fixed + broken > 0, `per-image diff has images (fixed ${fixed}, broken ${broken})`);
    const firstThumb = page.getByTestId('diff-image').first().locator('img');
    await firstThumb.waitFor();
    await page.waitForFunction((img) => (img as unknown as ImageLike).complete && (img as unknown as ImageLike).naturalWidth > 0, await firstThumb.elementHandle(), { timeout: 20_000 });

    await panel.evaluate((element) => element.scrollIntoView({ block: 'start' }));
    await app.screenshot('compare');
    await page.getByTestId('compare-image-diff').first().evaluate((element) => element.scrollIntoView({ block: 'start' }));
    await app.screenshot('compare-images');
  });
});

test('evaluate: metrics, reliability diagram, misclassified gallery, and a one-key relabel written to the catalogue', async () => {
  await withScreenshotOnFailure(app, 'runs-evaluate', async () => {
    const { page } = app;
    await page.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await page.locator(`[data-testid="run-row"][data-run-id="${runs.fast}"]`).getByTestId('run-evaluate').click();
    await page.waitForURL(/#\/evaluate$/);
    assert.equal(await page.getByTestId('evaluate-run').inputValue(), String(runs.fast));
    await page.getByTestId('evaluate-button').click();
    await page.getByTestId('evaluation-summary').waitFor({ timeout: 120_000 });
    await page.getByTestId('evaluate-button').getByText('Evaluate on test split').waitFor({ timeout: 120_000 });

    const evaluations = await app.services.request('runs.evaluations', { runId: runs.fast });
    assert.ok(evaluations.evaluations.length >= 2, 'a fresh evaluation was stored beside the one the comparison made');
    const latest = await app.services.request('runs.evaluation', { evaluationId: evaluations.evaluations[0]!.id });
    const shown = await page.getByTestId('evaluation-accuracy').innerText();
    assert.equal(shown, `${(latest.accuracy * 100).toFixed(1)}%`);
    const matrixTotal = latest.metrics.confusionMatrix.flat().reduce((a, b) => a + b, 0);
    assert.equal(matrixTotal, latest.count);
    assert.equal(await page.getByTestId('cell-0-0').innerText(), String(latest.metrics.confusionMatrix[0]![0]));
    await page.getByTestId('reliability-diagram').locator('canvas').waitFor();

    const items = page.getByTestId('gallery-item');
    await items.first().waitFor();
    const wrongCount = latest.metrics.confusionMatrix[0]![1]! + latest.metrics.confusionMatrix[1]![0]!;
    assert.equal(await items.count(), Math.min(200, wrongCount));

    // Fix the first image's label to what the model predicted: click it, press the class's number key.
    const first = items.first();
    const imageId = Number(await first.getAttribute('data-image-id'));
    const misclassified = await app.services.request('runs.misclassified', { evaluationId: latest.id, filter: 'wrong', threshold: 0.7, limit: 1 });
    const item = misclassified.items[0]!;
    assert.equal(item.imageId, imageId, 'the gallery starts with the highest-loss image');
    await first.click();
    await page.keyboard.press(String(item.predictedIndex + 1));
    await first.getByTestId('relabelled').waitFor();
    const detail = await app.services.request('images.detail', { imageId });
    assert.equal(detail.className, item.predictedClass, 'the new label is in the catalogue');

    await page.getByTestId('filter-low-confidence').click();
    await page.getByTestId('filter-wrong').click();
    await items.first().waitFor();
    await page.locator('main').evaluate((main) => main.scrollTo(0, 0));
    await app.screenshot('evaluate');
  });
});

test('run again repeats a run from the table; delete asks first and removes the run and its model files', async () => {
  await withScreenshotOnFailure(app, 'runs-again-delete', async () => {
    const { page } = app;
    await page.locator('nav a[data-view="runs"]').click();
    const finished: number[] = [];
    const off = app.services.app.events.onAny((event, payload) => {
      const end = payload as JobFinished;
      if (event === 'jobs.finished' && end.kind === 'train' && end.result) finished.push(end.result.runId);
    });
    try {
      await page.locator(`[data-testid="run-row"][data-run-id="${runs.fast}"]`).getByTestId('run-again').click();
      await page.getByTestId('run-row').nth(2).waitFor();
      const { runs: listed } = await app.services.request('runs.list', {});
      const again = listed.find((run) => run.id !== runs.fast && run.id !== runs.slow)!;
      const detail = await app.services.request('runs.get', { runId: again.id });
      const original = await app.services.request('runs.get', { runId: runs.fast });
      assert.equal(detail.parentRunId, runs.fast);
      assert.deepEqual(detail.config, original.config);
      assert.equal(detail.splitId, original.splitId);
      const deadline = Date.now() + 120_000;
      while (!finished.includes(again.id) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const done = await app.services.request('runs.get', { runId: again.id });
      assert.equal(done.status, 'completed', `the repeated run finished: ${done.error}`);
      assert.ok(done.modelPath && existsSync(done.modelPath));

      const row = page.locator(`[data-testid="run-row"][data-run-id="${again.id}"]`);
      await row.getByTestId('run-delete').click();
      await row.getByTestId('run-delete-confirm').click();
      await row.waitFor({ state: 'detached' });
      assert.equal(existsSync(done.modelPath), false, 'model files removed');
      await assert.rejects(app.services.request('runs.get', { runId: again.id }), /does not exist/);
    } finally {
      off();
    }
  });
});
