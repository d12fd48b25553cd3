// Issue 14's walkthrough: importing an empty folder says "No images found" and creates no dataset; a folder that is
// not there is named in words, not as ENOENT. Through jobs.start, as the Dataset view and the CLI start an import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openServices } from './helpers';
import type { Services } from '../../../electron/services/index';
import type { JobFinished } from '../../../shared/contract/jobs';

/** The import's end, or the refusal jobs.start gave: whichever way the user learns about it. */
async function importOutcome(services: Services, path: string): Promise<{ status: string; error: string }> {
  const finished = new Map<number, JobFinished>();
  const stop = services.app.events.onAny((name, payload) => {
    if (name === 'jobs.finished') finished.set((payload as JobFinished).id, payload as JobFinished);
  });
  try {
    const { job } = await services.request('jobs.start', { kind: 'import', input: { path } });
    const end = finished.get(job.id) ?? await services.app.events.next('jobs.finished', (event) => event.id === job.id, 60_000);
    return { status: end.status, error: end.error ?? '' };
  } catch (error) {
    return { status: 'refused', error: (error as Error).message };
  } finally {
    stop();
  }
}

test('an empty folder says "No images found" and creates no dataset', async () => {
  const app = openServices();
  try {
    const empty = join(app.dir, 'empty');
    mkdirSync(join(empty, 'cats'), { recursive: true });
    const outcome = await importOutcome(app.services, empty);
    assert.notEqual(outcome.status, 'completed', 'an import of nothing is not a success');
    assert.match(outcome.error, /no images found/i);
    assert.deepEqual(await app.services.request('datasets.list', {}), [], 'no dataset was created');
  } finally {
    await app.close();
  }
});

test('a missing folder is named in words, not ENOENT', async () => {
  const app = openServices();
  try {
    const missing = join(app.dir, 'not-here');
    const outcome = await importOutcome(app.services, missing);
    assert.notEqual(outcome.status, 'completed');
    assert.doesNotMatch(outcome.error, /ENOENT|errno|syscall/);
    assert.match(outcome.error, /not-here/);
    assert.match(outcome.error, /does not exist|no such folder|not found/i);
    assert.deepEqual(await app.services.request('datasets.list', {}), []);
  } finally {
    await app.close();
  }
});
