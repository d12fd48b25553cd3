// A cancelled train job whose worker does not stop (stuck in a long kernel, ignoring cancel) is killed after the
// kind's cancel grace (spec.cancelGraceMs, ended by the runtime, killed by the pool's jobEnded) and its run is recorded
// cancelled in words, with the epochs it finished. A real worker process runs a stub `train` task that ignores cancel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../../electron/catalogue/database';
import { getRun } from '../../../electron/catalogue/runs';
import { JobRuntime } from '../../../electron/jobs/runtime';
import { TrainingJobs } from '../../../electron/jobs/kinds/train';
import { WorkerPool } from '../../../electron/jobs/worker/pool';
import { EventBus } from '../../../electron/services/event-bus';
import { tempDir, tempPaths } from '../../support/temp';
import { seedDataset, tinyConfig } from '../training-app/fixtures';

process.env.PAWPRINT_WORKER_ENTRY = fileURLToPath(new URL('../../support/stubborn-train-worker-entry.ts', import.meta.url));

const GRACE_MS = 800;

test('a cancelled train task whose worker ignores cancel is killed after the grace and its run recorded cancelled', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('pawprint-train-grace-');
  const paths = tempPaths(dir.path);
  const db = openDatabase(paths.databasePath);
  const events = new EventBus();
  const pool = new WorkerPool();
  const runtime = new JobRuntime({ db, paths, appVersion: 'test', events, workers: pool, progressIntervalMs: 0, pollMs: 100 });
  const kind = new TrainingJobs({ db, events, cancelGraceMs: GRACE_MS });
  runtime.register(kind.spec);
  t.after(async () => {
    await runtime.close();
    kind.close();
    await pool.close();
    db.close();
    dir.cleanup();
  });
  const { datasetId, splitId } = await seedDataset(db, join(dir.path, 'images'), { perClass: 4 });

  const { job } = await runtime.start({ kind: 'train', input: { datasetId, splitId, config: tinyConfig as never } });
  const runId = job.runId!;
  await events.next('training.epoch', (e) => e.runId === runId, 30_000);
  const pid = runtime.workerPid(job.id);
  assert.ok(pid, 'the job has its own worker process');
  assert.equal(getRun(db, runId).backend, 'stub', 'the backend is recorded per run');

  const cancelledAt = Date.now();
  runtime.cancel(job.id);
  await new Promise((resolve) => setTimeout(resolve, GRACE_MS / 2));
  assert.doesNotThrow(() => process.kill(pid, 0), 'the worker is left its grace');
  assert.equal(runtime.get(job.id).job.cancelRequested, true, 'the live panel shows it cancelling');
  assert.equal(runtime.get(job.id).job.status, 'running');

  const jobEnd = await runtime.wait(job.id);
  assert.ok(Date.now() - cancelledAt >= GRACE_MS, 'not ended before the grace');
  assert.equal(jobEnd.status, 'cancelled');
  assert.match(jobEnd.error ?? '', /did not stop in time and was ended/);

  // The job ends at the grace; its run is recorded once the killed worker's task answers (a moment later).
  const recordedBy = Date.now() + 5000;
  while (Date.now() < recordedBy && getRun(db, runId).status === 'running') await new Promise((resolve) => setTimeout(resolve, 20));
  const run = getRun(db, runId);
  assert.equal(run.status, 'cancelled');
  assert.match(run.error ?? '', /^the training process did not stop in time and was ended$/);
  assert.deepEqual(run.epochs.map((e) => e.epoch), [1], 'the finished epoch is kept');
  assert.equal(runtime.list({ kind: 'train', active: true }).length, 0);

  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(alive(pid), false, 'the worker process was killed');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
