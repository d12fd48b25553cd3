// The jobs store and the stores that read it, against a fake preload bridge: this file's page "loads" while a run
// trains and another waits (the state a reload or a reopened tab finds), then follows jobs.progress/finished.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeBridge, installBridge, jobInfo, runSummary, splitInfo, trainProgress } from './fake-bridge';
import type { ImportSummary, JobInfo, JobProgress, RunSummary } from '../../../shared/contract/index';

const dataset = {
  id: 1, name: 'pets', rootPath: '/photos/pets', layout: 'folders' as const, createdAt: '2026-01-01T00:00:00Z', lastImportAt: null,
  counts: { ok: 3, rejected: 0, duplicate: 0, missing: 0, labelled: 3, unlabelled: 0 },
  classes: [{ id: 10, name: 'cat', color: '#f00', position: 0, count: 2 }, { id: 11, name: 'dog', color: '#00f', position: 1, count: 1 }],
  latestSplit: null,
};
// Run 2 trains (job 7, at epoch 3 of 5 when the page loads); run 3 waits behind it (job 8).
const bridge = new FakeBridge({
  datasets: [dataset],
  images: new Map(),
  runs: [runSummary(1, 1, true), runSummary(2, 1, false), { ...runSummary(3, 1, false), status: 'queued' }],
  splits: [{ ...splitInfo(3), datasetId: 1 }],
  jobs: [
    jobInfo(7, 'train', 'running', { runId: 2, datasetId: 1, title: 'Train run-2 on pets', progress: trainProgress(7, 2, 3, 5, 2, 4) }),
    jobInfo(8, 'train', 'queued', {
      runId: 3, datasetId: 1, title: 'Train run-3 on pets', queuePosition: 1,
      progress: {
        id: 8, kind: 'train', phase: 'queued', done: 0, total: null, etaSeconds: null, message: 'waiting for #7 Train run-2 on pets (position 1)',
        detail: { type: 'queue', position: 1, waitingFor: [7] },
      },
    }),
  ],
  finished: new Map(),
});
installBridge(bridge);

interface Stores {
  jobs: {
    jobs: JobInfo[];
    ready(): Promise<void>;
    get(id: number): JobInfo | undefined;
    queueText(job: JobInfo): string;
    recentFinished: JobInfo[];
    cancel(id: number): Promise<void>;
  };
  training: {
    init(): Promise<void>;
    watchedRunId: number | null;
    watchedStatus: string | null;
    readonly watchedJob: JobInfo | null;
    readonly progress: { stage: string; epoch: number; epochs: number; batch: number; batches: number } | null;
    readonly logs: string[];
    jobOf(runId: number): JobInfo | null;
    cancel(runId: number): Promise<void>;
  };
  runs: {
    runs: RunSummary[]; evalRunId: number | null; evaluating: boolean;
    readonly progress: { done: number; total: number } | null; readonly evaluationQueue: string | null;
  };
  datasets: {
    readonly importing: { jobId: number; progress: { phase: string; processed: number; total: number; rejected: number } | null } | null;
    lastImport: ImportSummary | null;
  };
  exports: { exporting: boolean; selectedRunId: number | null; readonly progress: { stage: string; done: number; total: number | null } | null };
  app: { error: string | null };
}
let stores: Stores;

async function store<T>(file: string, name: string): Promise<T> {
  const module = (await import(new URL(`../../../renderer/src/stores/${file}.svelte.ts`, import.meta.url).href)) as Record<string, T>;
  return module[name]!;
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

before(async () => {
  register('../../support/svelte-module-hooks.mjs', import.meta.url);
  stores = {
    jobs: await store<Stores['jobs']>('jobs', 'jobsStore'),
    training: await store<Stores['training']>('training', 'trainingStore'),
    runs: await store<Stores['runs']>('runs', 'runsStore'),
    datasets: await store<Stores['datasets']>('datasets', 'datasetStore'),
    exports: await store<Stores['exports']>('export', 'exportStore'),
    app: await store<Stores['app']>('app', 'appStore'),
  };
});

test('a page loaded while a run trains watches that run at its real epoch, not "Starting"', async () => {
  const { training } = stores;
  await training.init();
  assert.equal(training.watchedRunId, 2, 'the running run is watched');
  assert.equal(training.watchedJob?.id, 7);
  assert.deepEqual(
    training.progress && [training.progress.stage, training.progress.epoch, training.progress.epochs, training.progress.batch],
    ['training', 3, 5, 2],
    'the epoch and batch of its last report',
  );
  assert.deepEqual(bridge.calls.filter((call) => call.channel === 'jobs.list').map((call) => (call.payload as { active?: boolean }).active).sort(), [true, undefined]);
  assert.equal(stores.app.error, null);
});

test('a queued run shows its position and the job it waits for', () => {
  const { training, jobs } = stores;
  const queued = training.jobOf(3);
  assert.equal(queued?.status, 'queued');
  assert.equal(queued?.queuePosition, 1);
  assert.equal(jobs.queueText(queued!), 'Queued — position 1, waiting for Train run-2 on pets');
});

test('live progress moves the watched run on; its end updates the Train view, the run list and the recent jobs', async () => {
  const { training, jobs, runs } = stores;
  bridge.emit('jobs.progress', trainProgress(7, 2, 4, 5, 1, 4));
  assert.equal(training.progress?.epoch, 4);
  bridge.emit('jobs.log', { id: 7, kind: 'train', level: 'info', message: 'epoch 4 started' });
  assert.deepEqual(training.logs, ['epoch 4 started']);

  // Run 2 ends; the next run is admitted and starts.
  bridge.catalogue.runs[1] = runSummary(2, 1, true);
  bridge.catalogue.runs[2] = { ...runSummary(3, 1, false), status: 'running' };
  const listsBefore = bridge.count('runs.list');
  bridge.emit('jobs.finished', {
    id: 7, kind: 'train', status: 'completed', error: null,
    result: { runId: 2, status: 'completed', bestEpoch: 5, bestValAccuracy: 0.9, testAccuracy: 0.8, testLoss: 0.4, modelPath: '/models/2' },
  });
  assert.equal(training.watchedStatus, 'completed');
  assert.equal(training.watchedJob, null, 'no live panel for an ended run');
  assert.equal(training.progress, null);
  assert.deepEqual(jobs.recentFinished.map((job) => [job.id, job.status]), [[7, 'completed']]);

  const started: JobProgress = { id: 8, kind: 'train', phase: 'starting', done: 0, total: null, etaSeconds: null, message: null, detail: null };
  bridge.emit('jobs.progress', started);
  assert.equal(jobs.get(8)?.status, 'running');
  assert.equal(jobs.get(8)?.queuePosition, null);
  await until('the run list is fetched again', () => bridge.count('runs.list') > listsBefore && runs.runs.find((run) => run.id === 2)?.status === 'completed', 2000);
  assert.equal(stores.app.error, null);
});

test('an import started elsewhere (the CLI) shows its bar from jobs.progress and its summary from jobs.finished', async () => {
  const { datasets } = stores;
  bridge.catalogue.jobs!.push(jobInfo(9, 'import', 'running', { datasetId: 1, title: 'Import /photos/pets' }));
  bridge.emit('jobs.progress', {
    id: 9, kind: 'import', phase: 'processing', done: 40, total: 100, etaSeconds: 3, message: null,
    detail: { type: 'import', datasetId: 1, importId: 5, scanned: 100, rejected: 2, duplicates: 1, imagesPerSecond: 20 },
  } satisfies JobProgress);
  await until('the import is known', () => datasets.importing !== null);
  assert.deepEqual(datasets.importing?.progress && [datasets.importing.progress.phase, datasets.importing.progress.processed, datasets.importing.progress.total, datasets.importing.progress.rejected], ['processing', 40, 100, 2]);

  const summary: ImportSummary = {
    importId: 5, datasetId: 1, status: 'completed', imported: 97, unchanged: 0, duplicates: 1, missing: 0,
    rejected: [{ path: 'bad.jpg', reason: 'not an image' }, { path: 'b2.jpg', reason: 'not an image' }], classes: { cat: 50, dog: 47 }, error: null, seconds: 5,
  };
  bridge.emit('jobs.finished', { id: 9, kind: 'import', status: 'completed', result: summary, error: null });
  assert.equal(datasets.importing, null);
  assert.deepEqual(datasets.lastImport, summary);
});

test('evaluate and export bars follow their jobs by kind and run', async () => {
  const { runs, exports } = stores;
  bridge.catalogue.jobs!.push(jobInfo(10, 'evaluate', 'queued', { runId: 1, title: 'Evaluate run-1' }));
  bridge.catalogue.jobs!.push(jobInfo(11, 'export', 'running', { runId: 1, title: 'Export run-1' }));
  runs.evalRunId = 1;
  runs.evaluating = true;
  // The evaluation waits behind the run that trains (job 8 since job 7 ended).
  bridge.emit('jobs.progress', {
    id: 10, kind: 'evaluate', phase: 'queued', done: 0, total: null, etaSeconds: null, message: null, detail: { type: 'queue', position: 1, waitingFor: [8] },
  } satisfies JobProgress);
  await until('the evaluation is known', () => runs.evaluationQueue !== null);
  assert.equal(runs.evaluationQueue, 'Queued — position 1, waiting for Train run-3 on pets');
  assert.equal(runs.progress, null);
  bridge.emit('jobs.progress', { id: 10, kind: 'evaluate', phase: 'predicting', done: 16, total: 48, etaSeconds: 4, message: null, detail: null });
  await until('the evaluation bar moves', () => runs.progress !== null);
  assert.deepEqual(runs.progress, { done: 16, total: 48 });

  exports.selectedRunId = 1;
  // exportSelected sets these while its request runs; set them as it does, without a request the fake cannot answer.
  Object.assign(exports, { exporting: true, exportingRunId: 1 });
  bridge.emit('jobs.progress', { id: 11, kind: 'export', phase: 'verifying', done: 3, total: 10, etaSeconds: null, message: null, detail: null });
  await until('the export bar moves', () => exports.progress !== null);
  assert.deepEqual(exports.progress, { stage: 'verifying', done: 3, total: 10 });
});

test('cancel from the Train view cancels the run\'s job through jobs.cancel', async () => {
  const { training } = stores;
  const before = bridge.count('jobs.cancel');
  await training.cancel(3);
  assert.equal(bridge.count('jobs.cancel') - before, 1);
  assert.deepEqual(bridge.calls.filter((call) => call.channel === 'jobs.cancel').at(-1)?.payload, { id: 8 });
  assert.equal(stores.app.error, null);
});
