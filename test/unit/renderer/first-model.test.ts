// The stores behind "four actions to a first model" (issue 14), against a fake preload bridge: the Train form starts
// on the default preset with the bundled base's real alpha and parameters, "Train a model" on a dataset with no split
// starts the default preset and says which split the run made, Try it beside training answers once the run has a
// model and gives a wrong answer its right label, and a run's page loads from #/runs/<id>.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FakeBridge, installBridge, loadStore, runSummary, splitInfo, until } from './fake-bridge';
import type { Envelope } from '../../../shared/errors';
import type { ExportPrediction, PresetInfo, RunSummary, SplitInfo } from '../../../shared/contract/index';
import type { TrainingConfig } from '../../../shared/training-config';
import { presetDefaults } from '../../../shared/training-config';

const dataset = {
  id: 1, name: 'pets', rootPath: '/photos/pets', layout: 'folders' as const, createdAt: '2026-01-01T00:00:00Z', lastImportAt: null,
  counts: { ok: 4, rejected: 0, duplicate: 0, missing: 0, labelled: 4, unlabelled: 0 },
  classes: [{ id: 10, name: 'cat', color: '#f00', position: 0, count: 2 }, { id: 11, name: 'dog', color: '#00f', position: 1, count: 2 }],
  latestSplit: null,
};
const image = (id: number, relPath: string, classId: number) => ({
  id, datasetId: 1, relPath, status: 'ok' as const, reason: null, classId, labelSource: 'folder' as const, subset: null, width: 32, height: 32,
});

/** The mobilenetv2 preset as training.presets describes it: the nested base row carries the base's parameters. */
const mobilenetPreset: PresetInfo = {
  name: 'mobilenetv2', title: 'MobileNetV2', description: 'transfer', defaults: presetDefaults('mobilenetv2'),
  model: {
    layers: [
      { name: 'image', className: 'InputLayer', outputShape: [224, 224, 3], params: 0, trainableParams: 0 },
      { name: 'mobilenetv2_0.35_224', className: 'Functional', outputShape: [7, 7, 1280], params: 410_208, trainableParams: 0 },
      { name: 'logits', className: 'Dense', outputShape: [1], params: 1281, trainableParams: 1281 },
    ],
    totalParams: 411_489, trainableParams: 1281, inputShape: [224, 224, 3], outputShape: [1],
  },
};

/**
 * The fake catalogue plus the backend rules this feature relies on: a train job on a dataset with no split makes the
 * default split (stratified 70/20/10, seed 1); export.predict answers for a run's saved model only.
 */
class FirstModelBridge extends FakeBridge {
  predictions: Array<{ runId: number; sources: unknown[] }> = [];
  added: unknown[] = [];
  /** Photos whose bytes the dataset already holds (export.findInDataset): upload name or path, to the image's id. */
  twins = new Map<string, number>();

  override async invoke(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    const p = payload as Record<string, unknown>;
    if (channel === 'jobs.start') {
      const input = p.input as { datasetId: number; splitId?: number };
      if (p.kind === 'train' && input.splitId === undefined && !this.catalogue.splits.some((s) => s.datasetId === input.datasetId)) {
        const split: SplitInfo = { ...splitInfo(5), seed: 1, trainFraction: 0.7, valFraction: 0.2, testFraction: 0.1, counts: { train: 3, val: 1, test: 0 } };
        this.catalogue.splits.push({ ...split, datasetId: input.datasetId });
      }
    }
    if (channel === 'training.presets') return this.respond(channel, payload, { presets: [mobilenetPreset] });
    if (channel === 'runs.evaluations') return this.respond(channel, payload, { evaluations: [] });
    if (channel === 'datasets.addImages') {
      // The service's answer for one upload copied under the class's folder (test/unit/dataset/add-images.test.ts).
      this.added.push(p);
      const name = (p.images as Array<{ name: string }>)[0]!.name;
      const className = this.catalogue.datasets[0]!.classes.find((c) => c.id === p.classId)!.name;
      return this.respond(channel, payload, {
        added: [{ imageId: 50, relPath: `${className}/${name}`, name }], className, splitId: 5,
        message: `Added ${className}/${name} as ${className}, in the training subset of the current split: the next run trains on it.`,
      });
    }
    if (channel === 'datasets.removeAddedImages') {
      this.added.push(p);
      return this.respond(channel, payload, { removed: 1, kept: [] });
    }
    if (channel === 'export.findInDataset') {
      const source = p.image as { path?: string; name?: string };
      const twin = this.catalogue.images.get(this.twins.get(source.path ?? source.name ?? '') ?? 0);
      const className = this.catalogue.datasets[0]!.classes.find((c) => c.id === twin?.classId)?.name ?? null;
      return this.respond(channel, payload, { image: twin ? { imageId: twin.id, relPath: twin.relPath, classId: twin.classId, className } : null });
    }
    if (channel === 'export.upload') return this.respond(channel, payload, { uploadId: 'up-1', name: p.name, bytes: 3, files: [p.name] });
    if (channel === 'export.predict') {
      const runId = (p.model as { runId: number }).runId;
      const run = this.catalogue.runs.find((r) => r.id === runId);
      if (!run?.modelPath) return { ok: false, error: { code: 'not-found', message: `Run ${runId} has no saved model.` } };
      const sources = p.images as Array<{ path?: string; uploadId?: string; name?: string }>;
      this.predictions.push({ runId, sources });
      const results: ExportPrediction[] = sources.map((source) => ({
        ok: true, name: source.name ?? source.path!.split('/').pop()!, uploadId: source.uploadId ?? null, path: source.path ?? null,
        className: 'dog', predictedIndex: 1, probabilities: [0.2, 0.8], trueIndex: null,
      }));
      const model = { kind: 'pawprint-run', label: run.name, classNames: ['cat', 'dog'], imageSize: { height: 224, width: 224 } };
      return this.respond(channel, payload, { model, results, accuracy: null, labelled: 0, durationMs: 5 });
    }
    return super.invoke(channel, payload);
  }
}

const bridge = new FirstModelBridge({
  datasets: [dataset],
  images: new Map([[1, image(1, 'cat/a.png', 10)], [2, image(2, 'cat/b.png', 10)], [3, image(3, 'dog/c.png', 11)], [4, image(4, 'dog/d.png', 11)]]),
  runs: [],
  splits: [],
  jobs: [],
  finished: new Map(),
});
installBridge(bridge);

interface Base { kind: string; name: string; alpha: number | null; parameters: number | null }
interface TryItem { key: string; name: string; result: { className: string } | null }
interface Added { text: string; done: boolean; imageIds: number[] }
let training: {
  config: TrainingConfig; splitNote: string | null; watchedRunId: number | null; readonly base: Base | null;
  loadPresets(): Promise<void>; trainDefault(datasetId: number): Promise<number | null>; setBase(source: string | null): void;
  setAlpha(alpha: 1 | 0.35): void;
};
let runs: {
  runs: RunSummary[]; refresh(): Promise<void>; openPage(runId: number | null): Promise<void>;
  page: { run: { id: number; name: string } } | null; pageError: string | null;
};
let tryIt: {
  items: TryItem[]; readonly hasModel: boolean; follow(runId: number | null): void; addPaths(paths: string[]): Promise<void>;
  addFiles(files: File[]): Promise<void>; addWithLabel(key: string, className: string): Promise<void>; undoAdd(key: string): Promise<void>;
  addedOf(key: string): Added | null;
};
let runIdFromHash: (hash: string) => number | null;
let app: { error: string | null };

async function store<T>(file: string, name: string): Promise<T> {
  return (await loadStore(file))[name] as T;
}


before(async () => {
  training = await store('training', 'trainingStore');
  runs = await store('runs', 'runsStore');
  tryIt = await store('try-it', 'tryItStore');
  runIdFromHash = await store('runs', 'runIdFromHash');
  app = await store('app', 'appStore');
  const datasets = await store<{ refresh(): Promise<void> }>('datasets', 'datasetStore');
  await datasets.refresh();
});

test('the Train form starts on mobilenetv2 with the bundled base, its real alpha and parameters; alpha 1.00 and a chosen base are one step away', async () => {
  assert.equal(training.config.preset, 'mobilenetv2');
  assert.equal(training.config.mobilenet.alpha, 0.35);
  assert.equal(training.config.mobilenet.baseSource, undefined);
  await training.loadPresets();
  // Read through a function: assert's type narrowing would otherwise freeze the getter's type after the first check.
  const base = (): Base | null => training.base;
  assert.deepEqual(base(), { kind: 'bundled', name: 'ImageNet MobileNetV2, bundled with the app', alpha: 0.35, parameters: 410_208 });
  training.setAlpha(1);
  assert.equal(base()?.kind, 'download');
  assert.equal(base()?.parameters, null, 'no parameter count is made up for a base not described');
  training.setAlpha(0.35);
  training.setBase('/models/my-base/model.json');
  assert.deepEqual(base(), { kind: 'chosen', name: '/models/my-base/model.json', alpha: null, parameters: null });
  training.setBase(null);
  assert.equal(base()?.kind, 'bundled');
});

test('"Train a model" on a dataset with no split starts the default preset without a split and says which split the run made', async () => {
  const runId = await training.trainDefault(1);
  assert.equal(runId, 1);
  const start = bridge.calls.find((call) => call.channel === 'jobs.start')!.payload as { kind: string; input: { datasetId: number; splitId?: number; config: TrainingConfig } };
  assert.equal(start.kind, 'train');
  assert.equal(start.input.datasetId, 1);
  assert.equal(start.input.splitId, undefined, 'no split is asked for: the train kind makes the default one');
  assert.equal(start.input.config.preset, 'mobilenetv2');
  assert.equal(training.watchedRunId, 1);
  assert.equal(training.splitNote, 'No split yet: made the default split #5 stratified 70/20/10, seed 1 (3/1/0 images). Runs keep it; make another in the Dataset view for later runs.');
  assert.equal(app.error, null);
});

test('Try it beside training waits for the run\'s model, then answers; a wrong answer gets its right label in the dataset', async () => {
  await runs.refresh();
  tryIt.follow(1);
  assert.equal(tryIt.hasModel, false);
  await tryIt.addPaths(['/photos/pets/cat/a.png']);
  assert.equal(bridge.predictions.length, 0, 'nothing is asked of a run without a model');
  assert.equal(tryIt.items[0]?.result ?? null, null);

  // The run finishes and saves its model: the runs store refreshes and the waiting image is answered.
  bridge.catalogue.runs[0] = { ...runSummary(1, 1, true), name: 'first model' };
  await runs.refresh();
  await until('the image is answered', () => tryIt.items[0]?.result !== null);
  assert.equal(tryIt.items[0]?.result?.className, 'dog');
  assert.deepEqual(bridge.predictions[0], { runId: 1, sources: [{ path: '/photos/pets/cat/a.png' }] });

  const added = () => tryIt.addedOf(tryIt.items[0]!.key);
  const listsBefore = bridge.count('datasets.list');
  const queriesBefore = bridge.count('images.query');
  // The photo filed under cat is in fact a dog: one key gives it its right label in the run's dataset.
  await tryIt.addWithLabel(tryIt.items[0]!.key, 'dog');
  // Found by one lookup of its path, not by paging through the dataset.
  assert.deepEqual(bridge.calls.filter((c) => c.channel === 'images.byPath').map((c) => c.payload), [{ datasetId: 1, relPath: 'cat/a.png' }]);
  assert.equal(bridge.count('images.query'), queriesBefore, 'no page of the grid was read to find it');
  assert.equal(bridge.catalogue.images.get(1)?.classId, 11);
  assert.equal(added()?.done, true);
  assert.equal(added()?.text, 'Labelled dog in pets (used by the next run).');

  // An uploaded photo is copied into the dataset under its right class (datasets.addImages), and Undo takes it back.
  await tryIt.addFiles([new File([new Uint8Array([1, 2, 3])], 'new.png', { type: 'image/png' })]);
  await until('the upload is answered', () => tryIt.items[0]?.result !== null);
  await tryIt.addWithLabel(tryIt.items[0]!.key, 'cat');
  assert.deepEqual(bridge.added, [{ datasetId: 1, classId: 10, images: [{ uploadId: 'up-1', name: 'new.png' }] }]);
  assert.equal(added()?.done, true);
  assert.equal(added()?.text, 'Added cat/new.png as cat, in the training subset of the current split: the next run trains on it.');
  // A second key on the same card does not copy it again.
  await tryIt.addWithLabel(tryIt.items[0]!.key, 'dog');
  assert.equal(bridge.added.length, 1);
  assert.match(added()!.text, /^Already added as cat: Undo first/);
  await tryIt.undoAdd(tryIt.items[0]!.key);
  assert.deepEqual(bridge.added[1], { datasetId: 1, imageIds: [50] });
  assert.equal(added(), null);
  // The server's datasets.changed refreshes the one dataset that changed: Try it asked for no list of every dataset.
  assert.equal(bridge.count('datasets.list'), listsBefore);
  assert.equal(app.error, null);
});

test('a Try it photo already in the dataset is relabelled in place by the same one key, undoably; with its label already, the card says so', async () => {
  // Before: datasets.addImages refused it ("already in "pets" as dog/c.png: give it its label there (Dataset view)").
  bridge.twins.set('same-as-c.png', 3);
  await tryIt.addFiles([new File([new Uint8Array([7, 7, 7])], 'same-as-c.png', { type: 'image/png' })]);
  await until('the upload is answered', () => tryIt.items[0]?.result !== null);
  const key = tryIt.items[0]!.key;
  const copies = bridge.added.length;
  assert.equal(bridge.catalogue.images.get(3)?.classId, 11, 'dog/c.png is a dog in the dataset');

  await tryIt.addWithLabel(key, 'cat');
  assert.equal(bridge.added.length, copies, 'not copied in again');
  assert.equal(bridge.catalogue.images.get(3)?.classId, 10, 'the dataset\'s own photo now says cat');
  assert.equal(tryIt.addedOf(key)?.text, 'Already in pets as dog/c.png: relabelled from dog to cat (used by the next run).');
  assert.equal(tryIt.addedOf(key)?.done, true);

  await tryIt.undoAdd(key);
  assert.equal(bridge.catalogue.images.get(3)?.classId, 11, 'Undo gives it its label back');
  // Before: undo went through labels.assign, so the folder label came back as a 'manual' one.
  assert.deepEqual(bridge.calls.filter((c) => c.channel === 'labels.restore').at(-1)?.payload, { datasetId: 1, labels: [{ imageId: 3, classId: 11, source: 'folder' }] });
  assert.equal(bridge.catalogue.images.get(3)?.labelSource, 'folder', 'and its folder source');
  assert.equal(tryIt.addedOf(key), null);

  // Its label already: nothing changes, and the card says so.
  const writes = bridge.count('labels.assign');
  await tryIt.addWithLabel(key, 'dog');
  assert.equal(tryIt.addedOf(key)?.text, 'Already in pets as dog (dog/c.png): nothing to change.');
  assert.equal(bridge.count('labels.assign'), writes);
  assert.equal(bridge.added.length, copies);
  assert.equal(app.error, null);
});

test('Try it in Export uses the same add/undo logic as beside training', async () => {
  const exportModule = await loadStore('export');
  const tryItModule = await loadStore('try-it');
  const exportStore = exportModule.exportStore as { adder: { add(key: string, datasetId: number, className: string, source: unknown): Promise<void>; undo(key: string): Promise<void>; of(key: string): Added | null } };
  assert.ok(exportStore.adder instanceof (tryItModule.PhotoAdder as new () => unknown), 'the store\'s PhotoAdder, not a copy of it');
  const before = bridge.added.length;
  await exportStore.adder.add('card-1', 1, 'dog', { uploadId: 'u0000000000000009', name: 'export.png' });
  assert.deepEqual(bridge.added[before], { datasetId: 1, classId: 11, images: [{ uploadId: 'u0000000000000009', name: 'export.png' }] });
  await exportStore.adder.add('card-1', 1, 'cat', { uploadId: 'u0000000000000009', name: 'export.png' });
  assert.match(exportStore.adder.of('card-1')!.text, /^Already added as dog: Undo first/);
  assert.equal(bridge.added.length, before + 1);
  await exportStore.adder.undo('card-1');
  assert.equal(exportStore.adder.of('card-1'), null);
  assert.equal(app.error, null);
});

test('a Try it relabel\'s Undo leaves a label changed since alone, and says so', async () => {
  // Before: Undo restored the card's old label over whatever the photo had been given since.
  bridge.twins.set('same-as-c-again.png', 3);
  bridge.catalogue.images.get(3)!.classId = 11;
  await tryIt.addFiles([new File([new Uint8Array([7, 7, 8])], 'same-as-c-again.png', { type: 'image/png' })]);
  const item = () => tryIt.items.find((candidate) => candidate.name === 'same-as-c-again.png');
  await until('the upload is answered', () => (item()?.result ?? null) !== null);
  const key = item()!.key;
  await tryIt.addWithLabel(key, 'cat');
  assert.equal(bridge.catalogue.images.get(3)?.classId, 10);
  bridge.catalogue.images.get(3)!.classId = 11; // relabelled in the Label view meanwhile
  const restores = bridge.count('labels.restore');
  await tryIt.undoAdd(key);
  assert.equal(bridge.catalogue.images.get(3)?.classId, 11, 'the later label stays');
  assert.equal(bridge.count('labels.restore'), restores);
  assert.equal(tryIt.addedOf(key)?.text, 'Not undone: the photo was relabelled since; change it in the Label view.');
});

test('an add whose card was cleared meanwhile (another model chosen) does not show its answer on the card', async () => {
  // Before: the answer was written on the card after the await, whatever had happened to the card since.
  const tryItModule = await loadStore('try-it');
  const adder = new (tryItModule.PhotoAdder as new () => { add(key: string, datasetId: number, className: string, source: unknown): Promise<void>; clear(): void; of(key: string): Added | null })();
  const adding = adder.add('card-9', 1, 'dog', { uploadId: 'u0000000000000010', name: 'late.png' });
  assert.equal(adder.of('card-9')?.done, false, 'the card says the add is under way');
  adder.clear();
  await adding;
  assert.equal(adder.of('card-9'), null);
  assert.equal(app.error, null);
});

test('a run\'s page opens from #/runs/<id> and says in words when the run does not exist', async () => {
  assert.equal(runIdFromHash('#/runs/12'), 12);
  assert.equal(runIdFromHash('#/runs'), null);
  assert.equal(runIdFromHash('#/runs/abc'), null);
  await runs.openPage(1);
  assert.equal(runs.page?.run.name, 'first model');
  await runs.openPage(99);
  assert.equal(runs.page, null);
  assert.equal(runs.pageError, 'Run 99 cannot be shown: Run 99 does not exist.');
});
