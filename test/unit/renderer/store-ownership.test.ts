// One store owns each kind of data (issue 12 §2.10): only the runs store fetches the run list, only the dataset
// store writes labels. The stores themselves run here against a fake preload bridge (fake-bridge.ts), compiled by
// the svelte-module loader hook as the Vite build compiles them.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeBridge, installBridge, jobInfo, runSummary, splitInfo } from './fake-bridge';
import type { ClassInfo, ImageItem, LabelChange, MisclassifiedItem, RunSummary, SplitInfo } from '../../../shared/contract/index';

const rendererSource = join(import.meta.dirname, '../../../renderer/src');

/** Each channel the renderer invokes (or each event it subscribes to), with the files that do. */
async function invokedChannels(call: 'invoke' | 'subscribe' = 'invoke'): Promise<Map<string, Set<string>>> {
  const users = new Map<string, Set<string>>();
  const entries = await readdir(rendererSource, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !/\.(ts|svelte)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, 'utf8');
    for (const match of text.matchAll(new RegExp(`transport\\s*\\.\\s*${call}\\(\\s*'([^']+)'`, 'g'))) {
      const files = users.get(match[1]!) ?? new Set<string>();
      files.add(relative(rendererSource, path));
      users.set(match[1]!, files);
    }
  }
  return users;
}

test('only the runs store fetches the run list; only the dataset store fetches datasets and splits and writes labels', async () => {
  const users = await invokedChannels();
  assert.ok(users.size > 20, `the scan found the renderer's channels (${users.size})`);
  assert.deepEqual([...users.get('runs.list') ?? []], ['stores/runs.svelte.ts']);
  assert.deepEqual([...users.get('datasets.list') ?? []], ['stores/datasets.svelte.ts']);
  assert.deepEqual([...users.get('splits.list') ?? []], ['stores/datasets.svelte.ts']);
  for (const [channel, files] of users) {
    if (channel.startsWith('labels.')) assert.deepEqual([...files], ['stores/datasets.svelte.ts'], channel);
  }
});

const classes: ClassInfo[] = [
  { id: 10, name: 'cat', color: '#f00', position: 0, count: 2 },
  { id: 11, name: 'dog', color: '#00f', position: 1, count: 1 },
];
const bridge = new FakeBridge({
  datasets: [{
    id: 1, name: 'pets', rootPath: '/photos/pets', layout: 'folders', createdAt: '2026-01-01T00:00:00Z', lastImportAt: null,
    counts: { ok: 3, rejected: 0, duplicate: 0, missing: 0, labelled: 3, unlabelled: 0 }, classes, latestSplit: null,
  }],
  images: new Map([101, 102, 103].map((id, i) => [id, {
    id, datasetId: 1, relPath: `${i < 2 ? 'cat' : 'dog'}/${id}.jpg`, status: 'ok' as const, reason: null,
    classId: i < 2 ? 10 : 11, labelSource: 'folder' as const, subset: null, width: 32, height: 32,
  }])),
  runs: [runSummary(1, 1, true), runSummary(2, 1, false)],
  splits: [{ ...splitInfo(3), datasetId: 1 }, { ...splitInfo(5), datasetId: 1 }],
  jobs: [jobInfo(4, 'train', 'running', { runId: 2, datasetId: 1 })],
});
installBridge(bridge);

// The members these tests use. The stores are loaded by a computed specifier so the Node type check (no DOM types)
// does not follow them; tsconfig.web.json checks them.
interface Stores {
  runs: {
    refresh(): Promise<void>;
    recent(count: number): RunSummary[];
    evalRunId: number | null;
    gallery: { total: number; classNames: string[]; items: MisclassifiedItem[] } | null;
    relabel(index: number, classIndex: number): Promise<void>;
  };
  training: { refreshRuns(): Promise<void> };
  choice: { load(): Promise<void>; readonly datasets: unknown[]; datasetId: number | null; splitId: number | null; splits: SplitInfo[] };
  datasetList: { readonly datasets: unknown[] };
  exports: { refreshRuns(): Promise<void>; readonly exportableRuns: RunSummary[] };
  datasets: {
    currentId: number | null;
    itemAt(index: number): ImageItem | undefined;
    undoStack: LabelChange[][];
    redoStack: LabelChange[][];
    undo(): Promise<void>;
  };
  app: { error: string | null };
}
let stores: Stores;

async function store<T>(file: string, name: string): Promise<T> {
  const module = (await import(new URL(`../../../renderer/src/stores/${file}.svelte.ts`, import.meta.url).href)) as Record<string, T>;
  return module[name]!;
}

before(async () => {
  register('../../support/svelte-module-hooks.mjs', import.meta.url);
  stores = {
    runs: await store<Stores['runs']>('runs', 'runsStore'),
    training: await store<Stores['training']>('training', 'trainingStore'),
    choice: await store<Stores['choice']>('training', 'datasetChoice'),
    datasetList: await store<Stores['datasetList']>('datasets', 'datasetStore'),
    exports: await store<Stores['exports']>('export', 'exportStore'),
    datasets: await store<Stores['datasets']>('datasets', 'datasetStore'),
    app: await store<Stores['app']>('app', 'appStore'),
  };
});

/** The per-domain events of long tasks that jobs.progress/jobs.finished replace (issue 12 Phase C deletes them). */
const OLD_TASK_EVENTS = [
  'datasets.importProgress', 'datasets.importFinished', 'datasets.downloadProgress', 'datasets.downloadFinished',
  'training.progress', 'training.finished', 'runs.evaluationProgress', 'export.progress',
];

test('only the jobs store talks to jobs.*, and no renderer code follows the old per-domain task events', async () => {
  const invoked = await invokedChannels('invoke');
  const subscribed = await invokedChannels('subscribe');
  assert.ok(subscribed.size >= 4, `the scan found the renderer's subscriptions (${subscribed.size})`);
  for (const channel of ['jobs.list', 'jobs.start', 'jobs.cancel', 'jobs.get']) {
    assert.deepEqual([...invoked.get(channel) ?? []], ['stores/jobs.svelte.ts'], channel);
  }
  for (const event of ['jobs.progress', 'jobs.finished', 'jobs.log']) {
    assert.deepEqual([...subscribed.get(event) ?? []], ['stores/jobs.svelte.ts'], event);
  }
  for (const event of OLD_TASK_EVENTS) assert.equal(subscribed.get(event), undefined, `${event} is still followed by ${[...subscribed.get(event) ?? []].join(', ')}`);
  // The long tasks start and stop as jobs, not through the old per-domain channels.
  for (const channel of ['training.start', 'training.cancel', 'training.active', 'datasets.import', 'datasets.cancelImport', 'datasets.downloadTutorial', 'datasets.cancelDownload']) {
    assert.equal(invoked.get(channel), undefined, `${channel} is still invoked by ${[...invoked.get(channel) ?? []].join(', ')}`);
  }
});

test('a finished run refreshes the run list once, in the runs store, and Train and Export show it', async () => {
  const { runs, training, exports } = stores;
  // The Train and Export views load as they open.
  await training.refreshRuns();
  await exports.refreshRuns();
  assert.deepEqual(exports.exportableRuns.map((run) => run.id), [1]);

  bridge.catalogue.runs[1] = runSummary(2, 1, true);
  bridge.catalogue.jobs![0]!.status = 'completed';
  const before = bridge.count('runs.list');
  bridge.emit('jobs.finished', { id: 4, kind: 'train', status: 'completed', result: null, error: null });
  await sleep(400);
  assert.equal(bridge.count('runs.list') - before, 1, 'one fetch of the run list for one finished run');
  assert.deepEqual(runs.recent(20).map((run) => [run.id, run.status]), [[2, 'completed'], [1, 'completed']]);
  assert.deepEqual(exports.exportableRuns.map((run) => run.id), [2, 1], 'Export offers the run that just finished');
  assert.equal(stores.app.error, null);
});

test('a relabel from the Evaluate gallery shows in the Label grid, and undo there restores the old label', async () => {
  const { runs, datasets } = stores;
  await runs.refresh();
  // The dataset store picks the (only) dataset at start; wait for its grid's first page.
  for (let i = 0; i < 50 && datasets.itemAt(0) === undefined; i++) await sleep(20);
  assert.equal(datasets.currentId, 1);
  const rowOf = (imageId: number) => [0, 1, 2].map((index) => datasets.itemAt(index)).find((item) => item?.id === imageId);
  const original = { ...rowOf(101)! };
  assert.deepEqual([original.classId, original.labelSource], [10, 'folder']);

  const item: MisclassifiedItem = {
    imageId: 101, path: null, trueIndex: 0, predictedIndex: 1, probabilities: [0.2, 0.8], confidence: 0.8, loss: 1.6,
    correct: false, trueClass: 'cat', predictedClass: 'dog', currentLabel: 'cat',
  };
  runs.evalRunId = 1;
  runs.gallery = { total: 1, classNames: ['cat', 'dog'], items: [item] };
  await runs.relabel(0, 1);

  assert.equal(bridge.catalogue.images.get(101)!.classId, 11, 'the catalogue has the new label');
  assert.equal(runs.gallery?.items[0]?.currentLabel, 'dog');
  assert.deepEqual([rowOf(101)!.classId, rowOf(101)!.labelSource], [11, 'manual'], 'the Label grid shows the new label');
  assert.equal(datasets.undoStack.length, 1, 'the relabel is the newest undo step');

  await datasets.undo();
  const stored = bridge.catalogue.images.get(101)!;
  assert.equal(stored.classId, original.classId, 'undo put the old label back in the catalogue');
  assert.deepEqual([rowOf(101)!.classId, rowOf(101)!.labelSource], [stored.classId, stored.labelSource], 'the grid shows what the catalogue holds');
  assert.equal(datasets.redoStack.length, 1);
  assert.equal(stores.app.error, null);
});

test("the Train and Augment dataset choice shows the dataset store's datasets and the newest split", async () => {
  const { choice, datasetList } = stores;
  const before = bridge.count('datasets.list');
  await choice.load();
  assert.equal(bridge.count('datasets.list') - before, 1, 'one fetch of the dataset list');
  assert.equal(choice.datasets, datasetList.datasets, "the dataset store's list, not a copy");
  assert.equal(choice.datasetId, 1);
  assert.deepEqual(choice.splits.map((split) => split.id), [3, 5]);
  assert.equal(choice.splitId, 5, 'the newest split, as training uses by default');
  assert.equal(stores.app.error, null);
});
