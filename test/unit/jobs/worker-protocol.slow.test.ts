// The worker pool against real processes running a fake entry (PAWPRINT_WORKER_ENTRY): the protocol round trip,
// cancel between steps, a crash and a protocol-breaking message failing the task in words, and the persistent
// interactive worker running tasks in a row and exiting when idle. The last test runs the real entry's train task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { TaskIo, TaskProgress } from '../../../shared/worker-task';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerPool } from '../../../electron/jobs/worker/pool';
import { launchJobWorker } from '../../../electron/jobs/worker/launcher';
import { TaskCancelled } from '../../../electron/jobs/worker/runner';
import type { TaskEvent, TaskInput, TaskResult, WorkerTaskName } from '../../../electron/jobs/worker/tasks';
import { parseTrainingConfig } from '../../../shared/training-config';
import { tempDir } from '../../support/temp';
import { tinyConfig, writeImages } from '../training-app/fixtures';

process.env.PAWPRINT_WORKER_ENTRY = fileURLToPath(new URL('../../support/fake-worker-entry.ts', import.meta.url));

/** The fake entry's tasks are not in the task map: the test names them through this cast. */
const fakeTask = (name: 'echo' | 'sleep' | 'crash' | 'garbage' | 'missing') => name as unknown as WorkerTaskName;

function io(controller = new AbortController()) {
  const seen = { progress: [] as TaskProgress[], events: [] as unknown[], logs: [] as string[] };
  const value: TaskIo<unknown> = {
    signal: controller.signal,
    settings: { threads: 1, cacheDir: '/tmp', appVersion: 'test', progressIntervalMs: 0 },
    progress: (p) => seen.progress.push(p),
    event: (e) => seen.events.push(e),
    log: (_level, message) => seen.logs.push(message),
  };
  return { io: value, seen, controller };
}

const run = (pool: WorkerPool, jobId: number | null, lane: 'cpu' | 'interactive', task: WorkerTaskName, input: unknown, taskIo: TaskIo<unknown>) =>
  pool.run({ jobId, lane, task, input: input as never }, taskIo as never) as Promise<unknown>;

test('a cpu job gets its own process: progress, event, log and result come back; it goes when the job ends', async (t) => {
  const pool = new WorkerPool();
  t.after(() => pool.close());
  const { io: taskIo, seen } = io();
  const result = (await run(pool, 7, 'cpu', fakeTask('echo'), { value: { a: [1, 2] } }, taskIo)) as { value: unknown; pid: number };
  assert.deepEqual(result.value, { a: [1, 2] });
  assert.equal(result.pid, pool.workerPid(7));
  assert.deepEqual(seen.progress.map((p) => p.phase), ['echoing']);
  assert.deepEqual(seen.events, [{ step: 1 }]);
  assert.deepEqual(seen.logs, ['echoed']);
  pool.jobEnded(7);
  assert.equal(pool.workerPid(7), null);
});

test('a task\'s AppError keeps its code across the process boundary', async (t) => {
  const pool = new WorkerPool();
  t.after(() => pool.close());
  await assert.rejects(run(pool, 3, 'cpu', fakeTask('missing'), { path: '/nowhere/model.json' }, io().io), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'not-found');
    assert.equal(error.message, 'No model at /nowhere/model.json.');
    return true;
  });
});

test('cancel reaches the task between its steps', async (t) => {
  const pool = new WorkerPool();
  t.after(() => pool.close());
  const { io: taskIo, seen, controller } = io();
  const running = run(pool, 1, 'cpu', fakeTask('sleep'), { steps: 1000 }, taskIo);
  while (seen.progress.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  controller.abort();
  await assert.rejects(running, (error: Error & { code?: string }) => error.code === 'cancelled');
  assert.ok(seen.progress.length < 1000);
});

test('a worker that crashes fails its task with the exit and its last stderr line; one that breaks the protocol is stopped', async (t) => {
  const pool = new WorkerPool();
  t.after(() => pool.close());
  await assert.rejects(run(pool, 1, 'cpu', fakeTask('crash'), {}, io().io), /the job worker exited unexpectedly \(exit code 3\): about to crash: the disk is on fire/);
  await assert.rejects(run(pool, 2, 'cpu', fakeTask('garbage'), {}, io().io), /not part of the protocol \(progress\.done: .*\); it was stopped/);
  const result = (await run(pool, 3, 'cpu', fakeTask('echo'), { value: 'still here' }, io().io)) as { value: unknown };
  assert.equal(result.value, 'still here', 'the host keeps answering');
});

test('the interactive worker runs tasks in a row in one process and exits when idle', async (t) => {
  const pool = new WorkerPool({ idleMs: 300 });
  t.after(() => pool.close());
  const first = (await run(pool, null, 'interactive', fakeTask('echo'), { value: 1 }, io().io)) as { pid: number };
  const second = (await run(pool, null, 'interactive', fakeTask('echo'), { value: 2 }, io().io)) as { pid: number };
  assert.equal(first.pid, second.pid);
  assert.equal(pool.interactivePid(), first.pid);
  const deadline = Date.now() + 5000;
  while (pool.interactivePid() !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(pool.interactivePid(), null);
});

test('the real job worker entry runs the train task: backend, progress, epochs and logs as events, the saved model as the result; a cancel keeps what was saved', { timeout: 120_000 }, async (t) => {
  // The real entry (job-worker-entry.ts), not the fake one this file names for the other tests.
  const pool = new WorkerPool({
    launch: (name) => {
      const fake = process.env.PAWPRINT_WORKER_ENTRY;
      delete process.env.PAWPRINT_WORKER_ENTRY;
      try {
        return launchJobWorker(name);
      } finally {
        process.env.PAWPRINT_WORKER_ENTRY = fake;
      }
    },
  });
  const dir = tempDir('pawprint-train-task-');
  t.after(async () => {
    await pool.close();
    dir.cleanup();
  });
  const files = await writeImages(join(dir.path, 'images'), 6, 32);
  const images = files.map((file, i) => ({ key: `k${i}`, path: file.path, label: file.cls === 'cats' ? 0 : 1, contentHash: `h${i}` }));
  const input = (runId: number, epochs: number): TaskInput<'train'> => ({
    runId,
    config: parseTrainingConfig({ ...tinyConfig, epochs }),
    data: { classNames: ['cats', 'dogs'], splitId: null, dataHash: null, train: images.filter((_, i) => i % 3 !== 0), val: images.filter((_, i) => i % 3 === 0), test: [] },
    paths: { modelDir: join(dir.path, `run-${runId}`), cacheDir: join(dir.path, 'cache') },
  });

  const { io: trainIo, seen } = io();
  const result = (await run(pool, 1, 'cpu', 'train', input(1, 2), trainIo)) as TaskResult<'train'>;
  assert.equal(result.status, 'completed', result.error ?? '');
  assert.equal(result.modelPath, join(dir.path, 'run-1'));
  assert.ok(existsSync(join(dir.path, 'run-1', 'model.json')));
  const events = seen.events as TaskEvent<'train'>[];
  const backend = events[0];
  assert.equal(backend?.type === 'backend' ? backend.backend.active : null, 'wasm', 'the backend comes first');
  assert.deepEqual(events.filter((e) => e.type === 'epoch').map((e) => e.type === 'epoch' && e.metrics.epoch), [1, 2]);
  assert.ok(events.some((e) => e.type === 'progress' && e.progress.stage === 'training'), 'batch progress arrives as events');
  assert.ok(events.some((e) => e.type === 'log'), 'logs arrive as events');
  pool.jobEnded(1);

  // Cancelled after its first epoch: the worker stops between batches and still answers with the saved epoch.
  const controller = new AbortController();
  const { io: cancelIo, seen: cancelSeen } = io(controller);
  const running = run(pool, 2, 'cpu', 'train', input(2, 500), cancelIo);
  while (!cancelSeen.events.some((e) => (e as TaskEvent<'train'>).type === 'epoch')) await new Promise((resolve) => setTimeout(resolve, 20));
  controller.abort();
  const error = await running.then(() => null, (caught: unknown) => caught);
  assert.ok(error instanceof TaskCancelled, `a cancel with an answer: ${String(error)}`);
  const answered = error.result as TaskResult<'train'>;
  assert.equal(answered.status, 'cancelled');
  assert.ok(answered.bestEpoch !== null && answered.bestEpoch >= 1);
  assert.equal(answered.modelPath, join(dir.path, 'run-2'));
});
