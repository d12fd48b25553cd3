import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchApp, withScreenshotOnFailure } from './harness';
import type { AppUnderTest } from './harness';
import { writeDistinctCopies } from '../support/images';

// The Jobs panel shows a running import's time left in words ("about 20 s left"), from the ETA the job runtime sends
// with jobs.progress once there is enough progress to judge by, and "estimating time left…" before that.
// 2,000 photos of 320x240: an import of several seconds even on a quiet machine. Each is a copy of its class's one
// picture with its own bytes (the import decodes, hashes and thumbnails every one), so the set-up does not encode 2,000
// pictures first (7.8 s of CPU).
const PER_CLASS = 1000;
let app: AppUnderTest;
let folder: string;
before(async () => {
  app = await launchApp();
  folder = join(app.dir, 'photos');
  await writeDistinctCopies(folder, { cats: { count: PER_CLASS, color: '#aa3311' }, dogs: { count: PER_CLASS, color: '#1133aa' } }, { width: 320, height: 240 });
});
after(async () => {
  await app.close();
});

test('a running import shows its time left in the Jobs panel', { timeout: 600_000 }, async () => {
  await withScreenshotOnFailure(app, 'jobs-eta', async () => {
    const { page } = app;
    await page.getByTestId('jobs-indicator').waitFor();
    const { job } = await app.services.request('jobs.start', { kind: 'import', input: { path: folder } });
    await page.getByTestId('jobs-indicator').click();
    const eta = page.locator(`[data-testid="job-row"][data-job-id="${job.id}"] [data-testid="job-eta"]`);
    const seen = new Set<string>();
    let finished = false;
    void app.services.app.jobs.wait(job.id).then(() => (finished = true));
    while (!finished && ![...seen].some((text) => /^(about .* left|a few seconds left)$/.test(text))) {
      const text = await eta.innerText({ timeout: 1000 }).catch(() => null);
      if (text !== null) seen.add(text.trim());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await app.services.app.jobs.wait(job.id);
    const texts = [...seen];
    assert.ok(texts.some((text) => /^(about \d+ (s|min) left|about \d+ h \d+ min left|a few seconds left)$/.test(text)), `the panel said: ${texts.join(' | ')}`);
    assert.ok(texts.every((text) => text === '' || text === 'estimating time left…' || / left$/.test(text)), `only time-left words: ${texts.join(' | ')}`);
  });
});
