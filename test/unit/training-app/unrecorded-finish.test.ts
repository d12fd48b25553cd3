// The catalogue refuses the write that records how a run ended (a full disk, an I/O error). A trigger that raises
// SQLite's own error stands in for the disk: it fails the real UPDATE the same way, needs no root and no tmpfs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createServices, type Services } from '../../../electron/services/index';
import { runCli } from '../../../electron/cli/main';
import type { Database } from '../../../electron/catalogue/database';
import { tempDir, tempPaths } from '../../support/temp';
import { seedDataset, startTrain, tinyConfig } from './fixtures';


const TRIGGER = 'test_refuse_finish';

/** Makes the catalogue refuse to record the given end states, as a failing disk would. */
function refuseFinishing(db: Database, statuses: string[]): void {
  const list = statuses.map((status) => `'${status}'`).join(', ');
  db.exec(`CREATE TRIGGER ${TRIGGER} BEFORE UPDATE OF status ON runs WHEN NEW.status IN (${list})
    BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
}

function allowFinishing(db: Database): void {
  db.exec(`DROP TRIGGER IF EXISTS ${TRIGGER}`);
}

describe('a run whose end cannot be written to the catalogue', () => {
  let dir: ReturnType<typeof tempDir>;
  let services: Services;
  let datasetId: number;
  let splitId: number;

  before(async () => {
    dir = tempDir('pawprint-unrecorded-');
    services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0 } });
    ({ datasetId, splitId } = await seedDataset(services.app.db, join(dir.path, 'images'), { perClass: 8 }));
  });
  after(async () => {
    allowFinishing(services.app.db);
    await services.close();
    dir.cleanup();
  });

  test('ends failed with the write error as its reason when a second write succeeds, and can be deleted', { timeout: 90_000 }, async () => {
    refuseFinishing(services.app.db, ['completed']);
    try {
      const { jobId, runId, finished: end } = await startTrain(services, { datasetId, splitId, name: 'refused', config: tinyConfig });
      const finished = await end;
      assert.equal(finished.status, 'failed');
      assert.equal(finished.result?.status, 'failed');
      assert.match(finished.error ?? '', /could not record .*disk I\/O error/);
      assert.ok(!(finished.error ?? '').includes('\n'), 'the reason is one line');

      const run = await services.request('runs.get', { runId });
      assert.equal(run.status, 'failed');
      assert.equal(run.error, finished.error);
      assert.equal((await services.request('jobs.list', { active: true, kind: 'train' })).jobs.length, 0, 'its job is no longer active');
      const cancel = await services.request('jobs.cancel', { id: jobId });
      assert.deepEqual([cancel.cancelled, cancel.job.status], [false, 'failed']);
      await services.request('runs.delete', { runId });
      assert.equal((await services.request('runs.list', {})).runs.some((r) => r.id === runId), false);
    } finally {
      allowFinishing(services.app.db);
    }
  });

  test('when no write succeeds the run is still reported failed, and the next run records it once the catalogue accepts writes', { timeout: 120_000 }, async () => {
    refuseFinishing(services.app.db, ['completed', 'failed', 'cancelled']);
    let runId: number;
    try {
      let end;
      ({ runId, finished: end } = await startTrain(services, { datasetId, splitId, name: 'unwritable', config: tinyConfig }));
      const finished = await end;
      assert.equal(finished.status, 'failed');
      assert.match(finished.error ?? '', /could not record .*disk I\/O error/);
      assert.equal((await services.request('jobs.list', { active: true, kind: 'train' })).jobs.length, 0);
      // The catalogue still says running (nothing could be written); the run's job says how it ended.
      assert.equal((await services.request('runs.get', { runId })).status, 'running');
      const job = (await services.request('jobs.get', { id: finished.id })).job;
      assert.equal(job.status, 'failed');
      assert.match(job.error ?? '', /could not record .*disk I\/O error/);
    } finally {
      allowFinishing(services.app.db);
    }
    // Starting the next run writes the ends still pending first (so does a timer, every 30 s, and closing the app).
    const next = await startTrain(services, { datasetId, splitId, name: 'next', config: tinyConfig });
    const run = await services.request('runs.get', { runId });
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /could not record .*disk I\/O error/);
    assert.equal((await next.finished).status, 'completed');
    await services.request('runs.delete', { runId });
    await services.request('runs.delete', { runId: next.runId });
  });
});

describe('pawprint train when the catalogue refuses the final write', () => {
  test('prints the reason in one line and exits 1; the run is stored as failed', { timeout: 120_000 }, async () => {
    const dir = tempDir('pawprint-unrecorded-cli-');
    try {
      const paths = tempPaths(dir.path);
      const seeding = createServices({ paths, host: { kind: 'web' } });
      await seedDataset(seeding.app.db, join(dir.path, 'images'), { perClass: 8, name: 'pets' });
      // A permanent trigger: the CLI opens the catalogue file with its own connection.
      refuseFinishing(seeding.app.db, ['completed']);
      await seeding.close();
      const configFile = join(dir.path, 'config.json');
      writeFileSync(configFile, JSON.stringify(tinyConfig));

      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['train', 'pets', '--config', configFile, '--db', paths.databasePath], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
      assert.equal(code, 1, err.join('\n'));
      const last = err.at(-1) ?? '';
      assert.match(last, /^pawprint train: run \d+ failed: could not record .*disk I\/O error/);
      assert.ok(!last.includes('\n'), last);
      assert.match(out.join('\n'), /^run \d+ failed: could not record/);

      const reading = createServices({ paths, host: { kind: 'web' } });
      try {
        allowFinishing(reading.app.db);
        const { runs } = await reading.request('runs.list', {});
        assert.equal(runs.length, 1);
        assert.equal(runs[0]!.status, 'failed');
        assert.match(runs[0]!.error ?? '', /disk I\/O error/);
      } finally {
        await reading.close();
      }
    } finally {
      dir.cleanup();
    }
  });

  test('when nothing can be written it still exits 1 with the reason instead of waiting or claiming "running"', { timeout: 120_000 }, async () => {
    const dir = tempDir('pawprint-unrecorded-cli-');
    try {
      const paths = tempPaths(dir.path);
      const seeding = createServices({ paths, host: { kind: 'web' } });
      await seedDataset(seeding.app.db, join(dir.path, 'images'), { perClass: 8, name: 'pets' });
      refuseFinishing(seeding.app.db, ['completed', 'failed', 'cancelled']);
      await seeding.close();
      const configFile = join(dir.path, 'config.json');
      writeFileSync(configFile, JSON.stringify(tinyConfig));

      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['train', 'pets', '--config', configFile, '--db', paths.databasePath], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
      assert.equal(code, 1, err.join('\n'));
      assert.match(err.at(-1) ?? '', /^pawprint train: run \d+ failed: could not record .*disk I\/O error/);
      assert.doesNotMatch(out.join('\n'), /running/);
    } finally {
      dir.cleanup();
    }
  });
});
