// A run's log in the catalogue (issue 14: the run page showed "The training log is shown while the app that trained
// it runs" after a reload, for any finished run and for CLI runs). The train kind stores what its job logs, in batches,
// bounded per run; runs.get answers it and runs.log the lines after one. A refused write never fails the run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appendRunLog, runLog } from '../../../electron/catalogue/runs';
import { deleteRunRow } from '../../../electron/catalogue/run-admin';
import { RunLogWriter } from '../../../electron/jobs/kinds/run-log';
import type { TaskRegistry } from '../../../electron/jobs/worker/tasks';
import type { Services } from '../../../electron/services/index';
import type { EventName, EventPayload } from '../../../shared/contract/index';
import { insertDataset, insertRun, runsServices } from './fixtures';

const classNames = ['cats', 'dogs'];
const at = '2026-01-01T00:00:00.000Z';

function setup(t: Parameters<typeof runsServices>[0], train?: TaskRegistry['train']) {
  const { services, dir } = runsServices(t, train ? { train } : {});
  const db = services.app.db;
  const dataset = insertDataset(db, join(dir, 'photos'), 'pets', classNames, { train: 2, val: 1, test: 1 });
  const run = insertRun(db, dataset, { name: 'first', classNames, modelsDir: services.app.paths.models, epochs: 2 });
  return { services, db, run };
}

function collect<E extends EventName>(services: Services, name: E): Array<EventPayload<E>> {
  const seen: Array<EventPayload<E>> = [];
  services.app.events.onAny((event, payload) => {
    if (event === name) seen.push(payload as EventPayload<E>);
  });
  return seen;
}

describe('run log in the catalogue', () => {
  test('lines are kept in order, the oldest beyond the bound go, and a page can ask for the lines after one', (t) => {
    const { db, run } = setup(t);
    appendRunLog(db, run.runId, [1, 2, 3, 4, 5].map((n) => ({ level: n === 4 ? 'warn' as const : 'info' as const, message: `line ${n}`, at })), 3);
    const lines = runLog(db, run.runId);
    assert.deepEqual(lines.map((line) => line.message), ['line 3', 'line 4', 'line 5']);
    assert.deepEqual(lines.map((line) => line.level), ['info', 'warn', 'info']);
    assert.equal(lines[0]!.at, at);
    assert.deepEqual(runLog(db, run.runId, lines[0]!.seq).map((line) => line.message), ['line 4', 'line 5']);
    appendRunLog(db, run.runId, [{ level: 'info', message: 'x'.repeat(5000), at }], 3);
    assert.equal(runLog(db, run.runId).at(-1)!.message.length, 2000, 'a line is cut at jobs.log\'s length');
  });

  test('deleting a run deletes its log; lines for a run that no longer exists are skipped, not an error', (t) => {
    const { db, run } = setup(t);
    appendRunLog(db, run.runId, [{ level: 'info', message: 'kept until the run goes', at }]);
    deleteRunRow(db, run.runId);
    assert.deepEqual(runLog(db, run.runId), []);
    appendRunLog(db, run.runId, [{ level: 'info', message: 'late line', at }]);
    assert.equal(db.prepare('SELECT COUNT(*) FROM run_log').pluck().get(), 0);
  });

  test('the writer batches lines, writes the rest when the run ends, and a refused write keeps the lines and says so once', (t) => {
    const { db, run } = setup(t);
    let writes = 0;
    let refuse = true;
    const told: string[] = [];
    const writer = new RunLogWriter(db, run.runId, {
      flushMs: 60_000,
      onFailure: (message) => told.push(message),
      append: (...args) => {
        writes++;
        if (refuse) throw new Error('SQLITE_FULL: database or disk is full');
        appendRunLog(...args);
      },
    });
    for (let i = 0; i < 3; i++) writer.add('info', `epoch ${i + 1}`);
    assert.equal(writes, 0, 'nothing is written line by line');
    writer.flush();
    assert.equal(writes, 1, 'one write for the batch');
    writer.flush();
    assert.equal(writes, 2, 'the refused lines are tried again');
    assert.equal(told.length, 1, 'said once');
    assert.match(told[0]!, /^the run's log could not be stored in the catalogue \(SQLITE_FULL: database or disk is full\); the run goes on$/);
    refuse = false;
    writer.add('warn', 'after the disk was freed');
    writer.close();
    assert.deepEqual(runLog(db, run.runId).map((line) => line.message), ['epoch 1', 'epoch 2', 'epoch 3', 'after the disk was freed']);
    writer.add('info', 'after the end');
    writer.flush();
    assert.equal(runLog(db, run.runId).length, 4, 'a closed writer takes no more lines');
    assert.equal(told.length, 1);
  });
});

describe('run log through the train kind and the runs service', () => {
  test('what a train job logs is stored with its run: runs.get answers it after the job, and runs.log the new lines', async (t) => {
    const { services, run } = setup(t, async (_input, io) => {
      io.event({ type: 'log', level: 'info', message: 'decoded 6 images at 32x32' });
      io.event({ type: 'epoch', metrics: { phase: 'train', epoch: 1, loss: 0.6, accuracy: 0.7, valLoss: 0.7, valAccuracy: 0.6, durationMs: 10 } });
      io.event({ type: 'log', level: 'warn', message: 'Training on the plain CPU backend: convolutions are very slow here.' });
      io.event({ type: 'log', level: 'info', message: 'test accuracy 50.0% on 2 images (epoch 1 weights)' });
      return { status: 'completed', bestEpoch: 1, bestValAccuracy: 0.6, testAccuracy: 0.5, testLoss: 0.7, modelPath: null, error: null };
    });
    const live = collect(services, 'jobs.log');
    const { runId, jobId } = await services.request('runs.again', { runId: run.runId });
    const finished = await services.app.jobs.wait(jobId);
    assert.equal(finished.status, 'completed', finished.error ?? '');

    const record = await services.request('runs.get', { runId });
    assert.deepEqual(record.log.map((line) => [line.level, line.message]), [
      ['info', 'decoded 6 images at 32x32'],
      ['warn', 'Training on the plain CPU backend: convolutions are very slow here.'],
      ['info', 'test accuracy 50.0% on 2 images (epoch 1 weights)'],
    ]);
    assert.deepEqual(live.filter((e) => e.id === jobId).map((e) => e.message), record.log.map((line) => line.message), 'the live log is the same lines');
    assert.ok(record.log.every((line) => !Number.isNaN(Date.parse(line.at))));
    const after = await services.request('runs.log', { runId, afterSeq: record.log[0]!.seq });
    assert.deepEqual(after.lines.map((line) => line.message), record.log.slice(1).map((line) => line.message));
    // The run trained before has no stored lines; its page says so instead of failing.
    assert.deepEqual((await services.request('runs.get', { runId: run.runId })).log, []);
    await assert.rejects(services.request('runs.log', { runId: 999 }), /Run 999 does not exist/);
  });
});
