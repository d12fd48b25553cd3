// The Jobs panel's time left: the runtime's ETA from jobs.progress, in words, through the jobs store the panel reads.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { FakeBridge, installBridge, jobInfo } from './fake-bridge';
import type { JobInfo, JobProgress } from '../../../shared/contract/index';

const bridge = new FakeBridge({
  datasets: [], images: new Map(), runs: [], splits: [], finished: new Map(),
  jobs: [jobInfo(4, 'import', 'running', { datasetId: 1, title: 'Import /photos/library' })],
});
installBridge(bridge);

let jobs: { ready(): Promise<void>; get(id: number): JobInfo | undefined; timeLeftText(job: JobInfo): string };

before(async () => {
  register('../../support/svelte-module-hooks.mjs', import.meta.url);
  const module = (await import(new URL('../../../renderer/src/stores/jobs.svelte.ts', import.meta.url).href)) as Record<string, typeof jobs>;
  jobs = module.jobsStore!;
  await jobs.ready();
});

const importProgress = (done: number, total: number | null, etaSeconds: number | null): JobProgress => ({
  id: 4, kind: 'import', phase: total === null ? 'scanning' : 'processing', done, total, etaSeconds, message: null, detail: null,
});

test('the panel says "about 3 min left" from the ETA jobs.progress carries, and says it is estimating before there is one', () => {
  bridge.emit('jobs.progress', importProgress(0, null, null));
  assert.equal(jobs.timeLeftText(jobs.get(4)!), '', 'scanning: no total, nothing to estimate');
  bridge.emit('jobs.progress', importProgress(120, 100_000, null));
  assert.equal(jobs.timeLeftText(jobs.get(4)!), 'estimating time left…');
  bridge.emit('jobs.progress', importProgress(9_000, 100_000, 170));
  assert.equal(jobs.timeLeftText(jobs.get(4)!), 'about 3 min left');
  bridge.emit('jobs.progress', importProgress(99_000, 100_000, 6));
  assert.equal(jobs.timeLeftText(jobs.get(4)!), 'a few seconds left');
});
