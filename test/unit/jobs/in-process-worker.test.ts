// ctx.worker() runs a task through the runtime's TaskRunner: the task's progress becomes the job's progress, its
// events reach the kind, cancel reaches the task; without a runner the kind is refused in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobKindSpec } from '../../../electron/jobs/kind';
import type { JobProgress } from '../../../shared/contract/jobs';
import { createServices } from '../../../electron/services/index';
import { inProcessWorker } from '../../support/in-process-worker';
import { tempDir, tempPaths } from '../../support/temp';

/** A download-kind stand-in whose run asks the worker to describe presets (the result shape is the download's). */
const describing: JobKindSpec<'download', { numClasses: number }> = {
  kind: 'download',
  lane: () => 'interactive',
  prepare: async () => ({ title: 'describe', state: { numClasses: 3 } }),
  async run(ctx, state) {
    const seen: string[] = [];
    const { presets } = await ctx.worker('describe', { numClasses: state.numClasses });
    seen.push(...presets.map((preset) => preset.name));
    ctx.log('info', `described ${seen.join(', ')}`);
    return { datasetId: null, importId: null, importJobId: null };
  },
};

function open(t: { after(fn: () => Promise<void> | void): void }, workers?: ReturnType<typeof inProcessWorker>) {
  const dir = tempDir('pawprint-jobs-worker-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { progressIntervalMs: 0, workers } });
  t.after(async () => {
    await services.close();
    dir.cleanup();
  });
  services.app.jobs.register(describing);
  const events: Array<{ name: string; payload: unknown }> = [];
  services.app.events.onAny((name, payload) => events.push({ name, payload }));
  return { services, events };
}

test('a kind runs a worker task: its input arrives, its progress becomes the job\'s, its result comes back', async (t) => {
  const worker = inProcessWorker({
    describe: async ({ numClasses }, io) => {
      io.progress({ phase: 'loading', done: 1, total: 2, etaSeconds: null, message: null, detail: null });
      io.log('info', `settings for ${io.settings.threads} thread(s)`);
      return { presets: Array.from({ length: numClasses }, (_, i) => ({ name: `p${i}`, model: null })) };
    },
  });
  const { services, events } = open(t, worker);
  const { job } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'completed', finished.error ?? '');
  assert.deepEqual(worker.calls, [{ jobId: job.id, task: 'describe', input: { numClasses: 3 } }]);
  const progress = events.filter((e) => e.name === 'jobs.progress').map((e) => e.payload as JobProgress);
  assert.ok(progress.some((p) => p.id === job.id && p.phase === 'loading' && p.done === 1 && p.total === 2));
  const logs = events.filter((e) => e.name === 'jobs.log').map((e) => (e.payload as { message: string }).message);
  assert.deepEqual(logs, ['settings for 1 thread(s)', 'described p0, p1, p2']);
});

test('a task whose progress breaks the protocol fails the job with the reason', async (t) => {
  const worker = inProcessWorker({
    describe: async (_input, io) => {
      io.progress({ phase: 'loading', done: -1, total: null, etaSeconds: null, message: null, detail: null });
      return { presets: [] };
    },
  });
  const { services } = open(t, worker);
  const { job } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'failed');
  assert.match(finished.error ?? '', /done|greater than or equal to 0/i);
});

test('without a worker runner a kind that needs one is refused in words', async (t) => {
  const { services } = open(t);
  const { job } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  const finished = await services.app.jobs.wait(job.id);
  assert.equal(finished.status, 'failed');
  assert.equal(finished.error, 'This Pawprint cannot run the "describe" task: no worker processes are available.');
});

test('runtime.task runs a job-less task on the interactive lane, and without workers says so in words', async (t) => {
  const worker = inProcessWorker({
    describe: async ({ numClasses }) => ({ presets: Array.from({ length: numClasses }, (_, i) => ({ name: `p${i}`, model: null })) }),
  });
  const { services } = open(t, worker);
  const { presets } = await services.app.jobs.task('describe', { numClasses: 2 });
  const rows: number[] = [];
  const predicted = inProcessWorker({
    'predict-files': async (input, io) => {
      io.event({ type: 'rows', offset: 0, rows: input.files.map(() => ({ probabilities: [1], outputs: [1], predictedIndex: 0 })) });
      return { model: { kind: 'pawprint-run', label: 'm', classNames: ['a'], imageSize: { height: 8, width: 8 }, preprocessing: 'none', resize: 'stretch', output: 'softmax' }, count: input.files.length } as never;
    },
  });
  const { services: withRows } = open(t, predicted);
  await withRows.app.jobs.task('predict-files', { model: { path: '/m' }, files: [{ path: '/a.png', name: 'a.png' }, { path: '/b.png', name: 'b.png' }], batchSize: 2 }, {
    event: (e) => rows.push(e.rows.length),
  });
  assert.deepEqual(rows, [2], 'a task\'s events reach the caller');
  assert.deepEqual(presets.map((preset) => preset.name), ['p0', 'p1']);
  assert.deepEqual(worker.calls, [{ jobId: null, task: 'describe', input: { numClasses: 2 } }]);
  assert.equal(services.app.jobs.list().length, 0, 'no job is recorded for a task');

  const { services: bare } = open(t);
  await assert.rejects(bare.app.jobs.task('describe', { numClasses: 2 }), /cannot run the "describe" task: no worker processes/);
});

test('a kind can reshape or drop its task\'s progress', async (t) => {
  const worker = inProcessWorker({
    describe: async (_input, io) => {
      io.progress({ phase: 'loading', done: 0, total: 2, etaSeconds: null, message: null, detail: null });
      io.progress({ phase: 'predicting', done: 1, total: 2, etaSeconds: 3, message: null, detail: null });
      return { presets: [] };
    },
  });
  const { services, events } = open(t, worker);
  const renaming: JobKindSpec<'download', null> = {
    kind: 'download',
    lane: () => 'interactive',
    prepare: async () => ({ title: 'renaming', state: null }),
    async run(ctx) {
      await ctx.worker('describe', { numClasses: 2 }, { progress: (p) => (p.phase === 'loading' ? null : { ...p, phase: 'evaluating' }) });
      return { datasetId: null, importId: null, importJobId: null };
    },
  };
  services.app.jobs.register(renaming);
  const { job } = await services.request('jobs.start', { kind: 'download', input: { dataset: 'tutorial' } });
  assert.equal((await services.app.jobs.wait(job.id)).status, 'completed');
  const phases = events.filter((e) => e.name === 'jobs.progress').map((e) => e.payload as JobProgress).filter((p) => p.id === job.id).map((p) => `${p.phase} ${p.done}`);
  assert.ok(phases.includes('evaluating 1'), phases.join(', '));
  assert.ok(!phases.some((p) => p.startsWith('loading') || p.startsWith('predicting')), phases.join(', '));
});
