// The jobs table (migration 005) and its SQL: a job ends once, and only jobs whose process is gone are failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openDatabase, schemaVersion } from '../../../electron/catalogue/database';
import type { Database } from '../../../electron/catalogue/database';
import {
  INTERRUPTED_JOB_MESSAGE,
  activeJobsFor,
  cancelRequested,
  failInterruptedJobs,
  finishJob,
  getJob,
  insertJob,
  listJobs,
  markJobRunning,
  pruneFinishedJobs,
  requestJobCancel,
} from '../../../electron/catalogue/jobs';
import { bootTimeSeconds, processOwner } from '../../../electron/catalogue/process-owner';
import { tempDir } from '../../support/temp';

function withCatalogue(body: (db: Database) => Promise<void> | void) {
  return async () => {
    const dir = tempDir('pawprint-jobs-');
    const db = openDatabase(join(dir.path, 'catalogue.db'));
    try {
      await body(db);
    } finally {
      db.close();
      dir.cleanup();
    }
  };
}

test('migration 005 adds a STRICT jobs table with its indexes', withCatalogue((db) => {
  assert.ok(schemaVersion(db) >= 5);
  const sql = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'jobs'`).pluck().get() as string;
  assert.match(sql, /\) STRICT$/);
  const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' ORDER BY name`).pluck().all();
  assert.deepEqual(indexes, ['jobs_active', 'jobs_by_kind', 'jobs_by_run']);
  assert.throws(() => insertJob(db, { kind: 'import', lane: 'gpu' as 'cpu', title: 't', input: {}, owner: processOwner() }), /CHECK/);
}));

test('a job runs once and ends once; cancel requests are seen by id', withCatalogue((db) => {
  const id = insertJob(db, { kind: 'import', lane: 'io', title: 'Import x', input: { path: '/x' }, owner: processOwner() });
  assert.equal(getJob(db, id)?.status, 'queued');
  assert.equal(markJobRunning(db, id), true);
  assert.equal(markJobRunning(db, id), false);
  assert.deepEqual(cancelRequested(db, [id]), []);
  assert.equal(requestJobCancel(db, id), true);
  assert.deepEqual(cancelRequested(db, [id]), [id]);
  assert.equal(finishJob(db, id, { status: 'completed', result: { n: 1 }, error: null }), true);
  assert.equal(finishJob(db, id, { status: 'failed', result: null, error: 'late' }), false);
  const row = getJob(db, id)!;
  assert.equal(row.status, 'completed');
  assert.equal(row.result_json, '{"n":1}');
  assert.equal(requestJobCancel(db, id), false);
  assert.deepEqual(activeJobsFor(db, { kind: 'import' }), []);
  assert.equal(listJobs(db, { kind: 'import' }).length, 1);
  assert.equal(listJobs(db, { active: true }).length, 0);
}));

test('only jobs whose process is gone are failed as interrupted', withCatalogue(async (db) => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => child.once('spawn', resolve));
    const liveOther = insertJob(db, { kind: 'train', lane: 'cpu', title: 'other', input: {}, owner: `${hostname()}:${child.pid}:${bootTimeSeconds()}` });
    markJobRunning(db, liveOther);
    const deadOther = insertJob(db, { kind: 'train', lane: 'cpu', title: 'dead', input: {}, owner: `${hostname()}:999999999:${bootTimeSeconds()}` });
    const heldHere = insertJob(db, { kind: 'import', lane: 'io', title: 'held', input: {}, owner: processOwner() });
    const leftHere = insertJob(db, { kind: 'import', lane: 'io', title: 'left', input: {}, owner: processOwner() });
    const failed = failInterruptedJobs(db, (id) => id === heldHere).map((row) => row.id);
    assert.deepEqual(failed.sort(), [deadOther, leftHere].sort());
    assert.equal(getJob(db, liveOther)?.status, 'running');
    assert.equal(getJob(db, heldHere)?.status, 'queued');
    assert.equal(getJob(db, deadOther)?.error, INTERRUPTED_JOB_MESSAGE);
    child.kill();
    await new Promise((resolve) => child.once('exit', resolve));
    assert.deepEqual(failInterruptedJobs(db, () => true).map((row) => row.id), [liveOther]);
  } finally {
    child.kill();
  }
}));

test('pruning keeps the newest jobs of each kind, young ones, active ones', withCatalogue((db) => {
  const owner = processOwner();
  const ids: number[] = [];
  for (let i = 0; i < 4; i++) {
    const id = insertJob(db, { kind: 'predict', lane: 'interactive', title: `p${i}`, input: {}, owner });
    finishJob(db, id, { status: 'completed', result: null, error: null });
    ids.push(id);
  }
  const active = insertJob(db, { kind: 'predict', lane: 'interactive', title: 'active', input: {}, owner });
  const young = insertJob(db, { kind: 'import', lane: 'io', title: 'young', input: {}, owner });
  finishJob(db, young, { status: 'completed', result: null, error: null });
  db.prepare(`UPDATE jobs SET finished_at = '2000-01-01T00:00:00.000Z' WHERE kind = 'predict' AND status = 'completed'`).run();
  assert.equal(pruneFinishedJobs(db, { keepPerKind: 2, olderThanDays: 30 }), 3);
  const left = listJobs(db, { limit: 100 }).map((row) => row.id).sort((a, b) => a - b);
  assert.deepEqual(left, [ids[3], active, young].sort((a, b) => a! - b!));
}));
