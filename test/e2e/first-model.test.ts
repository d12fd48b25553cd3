import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { makeImage, writeClassFolders } from '../support/images';

// Issue 14's four actions to a first model, in the browser host: choose a folder → Import → Train (the Dataset view's
// "Train a model": the default preset, mobilenetv2 on the bundled base at 224, on a split the run makes) → see it
// working (live progress, curves, the run completes with a saved model), with Try it beside training: a photo dropped
// while the run trains is answered with class bars once the model is saved. Generated images, small counts.
let app: AppUnderTest;
let photos: string;
before(async () => {
  app = await launchApp();
  photos = join(app.dir, 'shapes');
  await writeClassFolders(photos, { red: { count: 8, color: '#cc3322' }, blue: { count: 8, color: '#2244cc' } }, { width: 64, height: 64, format: 'png' });
});
after(async () => {
  await app.close();
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('choose a folder, Import, Train a model, see it working; Try it beside training answers with class bars', async () => {
  await withScreenshotOnFailure(app, 'first-model', async () => {
    const { page } = app;
    await page.locator('nav a[data-view="dataset"]').click();

    // 1. Choose a folder.
    await page.getByTestId('import-path').fill(photos);
    // 2. Import.
    await page.getByTestId('import-start').click();
    await page.getByTestId('dataset-counts').getByText('16 images').waitFor({ timeout: 60_000 });
    // 3. Train: one click on the Dataset view, no split made by hand.
    const train = page.getByTestId('dataset-train');
    await train.waitFor();
    assert.match(await page.getByTestId('dataset-train-callout').innerText(), /a split made now \(stratified 70\/20\/10, seed 1/);
    await train.click();

    // 4. See it working: the Train view watches the run on the default preset and names the split it made.
    await page.getByTestId('train-status').waitFor({ timeout: 30_000 });
    // The preset cards wait for training.presets, which builds each preset's model (~13 s alone here, more under load).
    await page.getByTestId('preset-mobilenetv2').waitFor({ timeout: 180_000 });
    assert.equal(await page.getByTestId('preset-mobilenetv2').getAttribute('aria-checked'), 'true');
    assert.match(await page.getByTestId('cfg-base-name').innerText(), /bundled/);
    assert.equal(await page.getByTestId('cfg-base-alpha').innerText(), '0.35');
    assert.match(await page.getByTestId('cfg-base-params').innerText(), /^\d{3},\d{3} parameters$/);
    assert.match(await page.getByTestId('train-split-note').innerText(), /^No split yet: made the default split #\d+ stratified 70\/20\/10, seed 1/);

    // Try it beside training: a photo dropped while the run trains waits for the model, then shows its class bars.
    const photo = await makeImage({ width: 64, height: 64, color: '#cc3322', accent: '#ffffff', variant: 20, format: 'png' });
    await page.getByTestId('train-try-files').setInputFiles({ name: 'new-red.png', mimeType: 'image/png', buffer: photo });
    const card = page.getByTestId('train-try').getByTestId('try-result').first();
    await card.waitFor();

    // While it trains, the status line says the time left in the Jobs panel's words (it said "ETA 42 s").
    const statusLines: string[] = [];
    const etaTexts: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const status = await page.getByTestId('train-status').innerText({ timeout: 1000 }).catch(() => null);
        if (status !== null) statusLines.push(status);
        const eta = await page.getByTestId('train-eta').innerText({ timeout: 200 }).catch(() => null);
        if (eta !== null) etaTexts.push(eta);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    await page.getByTestId('train-final-status').getByText('completed').waitFor({ timeout: 240_000 });
    sampling = false;
    await sampler;
    assert.ok(statusLines.length > 0);
    assert.equal(statusLines.find((line) => /\bETA\b/.test(line)), undefined, 'no "ETA" in the status line');
    for (const text of etaTexts) assert.match(text, /^(about \d+ (s|min) left|about \d+ h \d+ min left|a few seconds left|estimating time left…)$/);
    const runs = (await app.services.request('runs.list', {})).runs;
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, 'completed');
    assert.equal(runs[0]!.preset, 'mobilenetv2');
    assert.notEqual(runs[0]!.modelPath, null, 'a trained model was saved');
    assert.notEqual(runs[0]!.splitId, null);
    assert.ok((await page.getByTestId('chart-accuracy').getAttribute('data-points').then(Number)) >= 1, 'the curves were drawn');

    await until('Try it answered the photo', async () => ((await card.getAttribute('data-class')) ?? '') !== '', 60_000);
    assert.ok(['red', 'blue'].includes((await card.getAttribute('data-class'))!));
    assert.equal(await card.getByTestId('probability-bar').count(), 2);
    await app.screenshot('first-model-train-view');

    // A wrong answer given its right label, one key on the card: the uploaded photo is copied into the dataset under
    // that class's folder, in the training subset of the run's split; Undo takes the copy back.
    const datasetId = runs[0]!.datasetId!;
    const classesByPosition = (await app.services.request('datasets.get', { datasetId })).classes;
    const redKey = String(classesByPosition.findIndex((c) => c.name === 'red') + 1);
    await card.focus();
    await card.press(redKey);
    await card.getByTestId('try-added').getByText('Added red/new-red.png as red, in the training subset of the current split: the next run trains on it.').waitFor();
    assert.deepEqual(readFileSync(join(photos, 'red', 'new-red.png')), photo);
    const split = (await app.services.request('datasets.get', { datasetId })).latestSplit!;
    assert.equal(split.id, runs[0]!.splitId, 'the run\'s split is kept');
    assert.equal(split.perClass.red!.train + split.perClass.red!.val + split.perClass.red!.test, 9);
    await app.screenshot('first-model-try-it-added');
    // The Dataset view's counts follow (the server's datasets.changed; Try it no longer refreshes every dataset itself).
    await page.locator('nav a[data-view="dataset"]').click();
    await page.getByTestId('dataset-counts').getByText('17 images').waitFor({ timeout: 10_000 });
    await page.locator('nav a[data-view="train"]').click();
    await card.getByTestId('try-undo').click();
    await until('the copy is taken back', async () => !existsSync(join(photos, 'red', 'new-red.png')), 10_000);
    await until('the card forgets the add', async () => (await card.getByTestId('try-added').count()) === 0, 10_000);
    assert.equal((await app.services.request('datasets.get', { datasetId })).counts.ok, 16);
    await page.locator('nav a[data-view="dataset"]').click();
    await page.getByTestId('dataset-counts').getByText('16 images').waitFor({ timeout: 10_000 });
    await page.locator('nav a[data-view="train"]').click();

    // A photo the dataset already holds (here a copy of red/red-003.png under another name) is relabelled in place by
    // the same one key, and Undo gives it its label back (it was refused: "give it its label there (Dataset view)");
    // with the label it has already, the card says so.
    const known = (await app.services.request('images.query', { datasetId, filter: { status: 'ok' }, offset: 0, limit: 100 })).items.find((i) => i.relPath === 'red/red-003.png')!;
    await page.getByTestId('train-try-files').setInputFiles({ name: 'seen-before.png', mimeType: 'image/png', buffer: readFileSync(join(photos, 'red', 'red-003.png')) });
    const seen = page.locator('[data-testid="try-result"][data-name="seen-before.png"]');
    await seen.getByTestId('try-class').waitFor({ timeout: 60_000 });
    const blueKey = String(classesByPosition.findIndex((c) => c.name === 'blue') + 1);
    await seen.focus();
    await seen.press(blueKey);
    await seen.getByTestId('try-added').getByText('Already in shapes as red/red-003.png: relabelled from red to blue (used by the next run).').waitFor();
    assert.equal((await app.services.request('images.detail', { imageId: known.id })).className, 'blue');
    assert.equal(existsSync(join(photos, 'blue', 'seen-before.png')), false, 'not copied in');
    await seen.getByTestId('try-undo').click();
    await until('the card forgets the relabel', async () => (await seen.getByTestId('try-added').count()) === 0, 10_000);
    assert.equal((await app.services.request('images.detail', { imageId: known.id })).className, 'red');
    await seen.focus();
    await seen.press(redKey);
    await seen.getByTestId('try-added').getByText('Already in shapes as red (red/red-003.png): nothing to change.').waitFor();

    // The run's page opens from Recent runs, with its base as the worker recorded it.
    await page.getByTestId('train-run-open').first().click();
    await page.getByTestId('run-page').waitFor();
    assert.match(await page.getByTestId('run-page-base').innerText(), /bundled.*alpha 0\.35/);
    // The base's weights id as the worker recorded it (issue 14 item 4: the run page shows the base's versions).
    const weights = (await app.services.request('runs.get', { runId: runs[0]!.id })).versions.mobilenetWeights;
    assert.ok(weights, 'the run recorded its base weights id');
    assert.equal(await page.getByTestId('run-page-weights').innerText(), weights.slice(0, 12));
    await app.screenshot('first-model-run-page');

    // After a reload the run page shows the run's real log (it said "The training log is shown while the app that
    // trained it runs"): the lines its job logged, stored with the run.
    await page.reload();
    await page.getByTestId('run-page').waitFor();
    const log = page.getByTestId('run-page-log');
    await log.waitFor({ timeout: 10_000 });
    const logText = await log.innerText();
    assert.match(logText, /The dataset had no split: made split \d+/);
    assert.match(logText, /base features: /);
    assert.match(logText, /test accuracy \d+\.\d% on \d+ images/);
    const stored = (await app.services.request('runs.get', { runId: runs[0]!.id })).log;
    assert.equal(await log.locator('span').count(), stored.length, 'every stored line is shown');

    // Its exports: none yet; one made while the page is open (here through the services, as the CLI would in this
    // process) appears without a reload, with its format, path and size.
    await page.getByTestId('run-page-no-exports').waitFor();
    const exported = await app.services.request('export.run', { runId: runs[0]!.id, out: join(app.dir, 'first-model.zip') });
    const exportRow = page.locator(`[data-testid="run-page-export-row"][data-path="${exported.path}"]`);
    await exportRow.waitFor({ timeout: 60_000 });
    assert.match(await exportRow.innerText(), /^TensorFlow\.js \.zip · \d+(\.\d)? (KB|MB) · /);
    await page.getByTestId('run-page-exports').scrollIntoViewIfNeeded();
    await app.screenshot('first-model-run-page-log-exports');

    // Try it in Export does the same for the run's model.
    await page.locator('nav a[data-view="export"]').click();
    await page.getByTestId('try-images').setInputFiles({ name: 'another red.png', mimeType: 'image/png', buffer: await makeImage({ width: 64, height: 64, color: '#cc3322', variant: 21, format: 'png' }) });
    const exportCard = page.locator('[data-testid="try-result"][data-name="another red.png"]');
    await exportCard.waitFor();
    await exportCard.getByTestId('try-class').waitFor({ timeout: 60_000 });
    await exportCard.focus();
    await exportCard.press(redKey);
    await exportCard.getByTestId('try-added').getByText(/^Added red\/another red\.png as red/).waitFor();
    assert.ok(existsSync(join(photos, 'red', 'another red.png')));
    await app.screenshot('first-model-export-try-it-added');
  });
});
