// Training runs through the job runtime's cpu lane: one run trains at a time on this machine, the next waits in the
// queue with its position, and a queued run can be cancelled without a worker ever starting (issue 12 WP4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServices, type Services } from '../../../electron/services/index';
import { runCli } from '../../../electron/cli/main';
import type { JobInfo, JobProgress } from '../../../shared/contract/jobs';
import { tempDir, tempPaths } from '../../support/temp';
import { recordEvents, seedDataset, startTrain, tinyConfig } from './fixtures';


describe('two training runs on one machine', () => {
  let dir: ReturnType<typeof tempDir>;
  let services: Services;
  let datasetId: number;
  let splitId: number;

  before(async () => {
    dir = tempDir('pawprint-train-queue-');
    services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0, pollMs: 100 } });
    ({ datasetId, splitId } = await seedDataset(services.app.db, join(dir.path, 'images'), { perClass: 8 }));
  });
  after(async () => {
    await services.close();
    dir.cleanup();
  });

  test('the second waits in the queue with position 1 and starts after the first ends; a queued third is cancelled without a worker', { timeout: 180_000 }, async () => {
    const seen = recordEvents(services);
    const first = await startTrain(services, { datasetId, splitId, name: 'first', config: tinyConfig });
    const second = await startTrain(services, { datasetId, splitId, name: 'second', config: tinyConfig });
    const third = await startTrain(services, { datasetId, splitId, name: 'third', config: tinyConfig });

    const { jobs } = await services.request('jobs.list', { active: true, kind: 'train' });
    const jobOf = (runId: number) => jobs.find((job) => job.runId === runId);
    assert.equal(jobOf(first.runId)?.status, 'running', 'the first run holds the cpu slot');
    assert.equal(jobOf(second.runId)?.status, 'queued');
    assert.equal(jobOf(second.runId)?.queuePosition, 1);
    assert.equal(jobOf(third.runId)?.queuePosition, 2);
    assert.equal((await services.request('runs.get', { runId: second.runId })).status, 'queued');
    const queueEvent = seen.find((e) => e.name === 'jobs.progress' && (e.payload as JobProgress).id === jobOf(second.runId)?.id);
    assert.deepEqual((queueEvent?.payload as JobProgress | undefined)?.detail, { type: 'queue', position: 1, waitingFor: [jobOf(first.runId)!.id] });
    const running = jobs.filter((job) => job.status === 'running').map((job) => job.runId);
    assert.deepEqual(running, [first.runId], 'only the first trains');

    // pawprint jobs --json, from its own connection, sees the train jobs.
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await runCli(['jobs', '--json', '--db', services.app.paths.databasePath], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }), 0, err.join('\n'));
    const listed = (JSON.parse(out.join('')) as { jobs: JobInfo[] }).jobs.filter((job) => job.kind === 'train');
    assert.deepEqual(listed.map((job) => job.title).sort(), ['Train first', 'Train second', 'Train third']);

    // Cancelling the queued third ends it at once: its run is cancelled and no worker ever started for it.
    assert.equal((await services.request('jobs.cancel', { id: third.jobId })).cancelled, true);
    assert.equal((await third.finished).status, 'cancelled');
    assert.equal((await services.request('runs.get', { runId: third.runId })).status, 'cancelled');
    assert.equal((await services.app.jobs.wait(jobOf(third.runId)!.id)).status, 'cancelled');

    const firstEnd = await first.finished;
    assert.equal(firstEnd.status, 'completed', firstEnd.error ?? '');
    const secondEnd = await second.finished;
    assert.equal(secondEnd.status, 'completed', secondEnd.error ?? '');

    const started = (runId: number) => seen.findIndex((e) => e.name === 'training.started' && (e.payload as { runId: number }).runId === runId);
    const ended = (jobId: number) => seen.findIndex((e) => e.name === 'jobs.finished' && (e.payload as { id: number }).id === jobId);
    assert.ok(started(second.runId) > ended(first.jobId), 'the second started only after the first finished');
    assert.equal(started(third.runId), -1, 'the cancelled queued run never started');
    assert.equal((await services.app.jobs.wait(jobOf(second.runId)!.id)).status, 'completed');
  });
});
