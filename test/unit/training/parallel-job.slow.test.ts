// A CNN train job through the real job worker gets the runtime's threads (TaskSettings.threads: one per core for a
// lone cpu job) and the trainer splits its batches across them, saying so in the job's log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createServices, type Services } from '../../../electron/services/index';
import { tempDir, tempPaths } from '../../support/temp';
import { MAX_TRAINING_THREADS } from '../../../electron/training/parallel/data-parallel';
import { recordEvents, seedDataset, startTrain, tinyConfig } from '../training-app/fixtures';

let dir: ReturnType<typeof tempDir>;
let services: Services;

before(() => {
  dir = tempDir('pawprint-parallel-job-');
  services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0, lanes: { cpu: 1 } } });
});
after(async () => {
  await services.close();
  dir.cleanup();
});

test('a train job on a multi-core machine trains on every core and completes', { skip: availableParallelism() < 2 ? 'needs 2 cores' : false }, async () => {
  const { datasetId, splitId } = await seedDataset(services.app.db, join(dir.path, 'images'));
  const events = recordEvents(services);
  const { jobId, finished } = await startTrain(services, { datasetId, splitId, name: 'threads', config: { ...tinyConfig, epochs: 2 } });
  const end = await finished;
  assert.equal(end.status, 'completed', end.error ?? '');
  const logs = events.filter((e) => e.name === 'jobs.log').map((e) => e.payload as { id: number; message: string }).filter((l) => l.id === jobId).map((l) => l.message);
  assert.ok(logs.includes(`Training on ${Math.min(availableParallelism(), MAX_TRAINING_THREADS)} threads: each batch is split across them and their gradients summed.`), `job log: ${logs.join(' | ')}`);
});
