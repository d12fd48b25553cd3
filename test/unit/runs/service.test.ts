// The runs service on the job path (issue 12): runs.evaluate starts an evaluate job whose predictions come from the
// worker's 'predict-files' task (faked here by a table, run in this process through the protocol checks), waits for it
// and answers as before. Every test builds its own catalogue: nothing depends on what another test stored.
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { findRun, getRun } from '../../../electron/catalogue/runs';
import { evaluationPredictions, listEvaluations } from '../../../electron/catalogue/evaluations';
import type { TaskRegistry } from '../../../electron/jobs/worker/tasks';
import type { JobProgress } from '../../../shared/contract/jobs';
import { tempPaths } from '../../support/temp';
import { fakeModelInfo, insertDataset, insertRun, runsServices, tablePredictTask } from './fixtures';
import type { FixtureDataset, PredictFilesTask } from './fixtures';

const classNames = ['cats', 'dogs'];

interface Setup {
  services: Services;
  dir: string;
  dataset: FixtureDataset;
  runA: { runId: number; modelPath: string };
  runB: { runId: number; modelPath: string };
  predict: ReturnType<typeof tablePredictTask>;
  table: Map<string, Map<string, number[]>>;
  testImage(className: string, i: number): FixtureDataset['images'][number];
  calls(): Array<{ jobId: number | null; task: string; input: unknown }>;
}

/**
 * A catalogue of this test's own: a dataset (2 train, 1 val, 3 test images per class) and two finished runs whose
 * test predictions are given by a table. `predictTask` replaces the table task (to hold or fail it).
 */
function setup(
  t: TestContext,
  options: { predictTask?: (table: PredictFilesTask) => PredictFilesTask; train?: TaskRegistry['train']; lanes?: { cpu?: number } } = {},
): Setup {
  const table = new Map<string, Map<string, number[]>>();
  const predict = tablePredictTask(classNames, table);
  const tasks: Partial<TaskRegistry> = { 'predict-files': options.predictTask ? options.predictTask(predict) : predict };
  if (options.train) tasks.train = options.train;
  const { services, dir, worker } = runsServices(t, tasks, options.lanes ? { lanes: options.lanes } : {});
  const db = services.app.db;
  const dataset = insertDataset(db, join(dir, 'photos'), 'pets', classNames, { train: 2, val: 1, test: 3 });
  const runA = insertRun(db, dataset, { name: 'plain', classNames, modelsDir: services.app.paths.models, epochs: 3 });
  const runB = insertRun(db, dataset, { name: 'flipped', classNames, modelsDir: services.app.paths.models, epochs: 4, config: { augmentation: { flip: 'both' } } });
  const testImage = (className: string, i: number) =>
    dataset.images.find((img) => img.subset === 'test' && img.className === className && img.path.endsWith(`test-${i}.jpg`))!;
  const p = (className: string, i: number) => testImage(className, i).path;
  table.set(runA.modelPath, new Map([
    [p('cats', 0), [0.9, 0.1]], [p('cats', 1), [0.3, 0.7]], [p('cats', 2), [0.55, 0.45]],
    [p('dogs', 0), [0.2, 0.8]], [p('dogs', 1), [0.95, 0.05]], [p('dogs', 2), [0.6, 0.4]],
  ]));
  table.set(runB.modelPath, new Map([
    [p('cats', 0), [0.9, 0.1]], [p('cats', 1), [0.8, 0.2]], [p('cats', 2), [0.4, 0.6]],
    [p('dogs', 0), [0.2, 0.8]], [p('dogs', 1), [0.1, 0.9]], [p('dogs', 2), [0.7, 0.3]],
  ]));
  return { services, dir, dataset, runA, runB, predict, table, testImage, calls: () => worker.calls };
}

/** Resolves when `check` holds, polling the event loop (jobs run on timers and promises). */
async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function progressOf(services: Services): JobProgress[] {
  const seen: JobProgress[] = [];
  services.app.events.onAny((name, payload) => {
    if (name === 'jobs.progress') seen.push(payload as JobProgress);
  });
  return seen;
}

describe('evaluation', () => {
  test('on the test split: an evaluate job in the worker; metrics, per-image predictions stored, progress events', async (t) => {
    const { services, runA, testImage, calls } = setup(t);
    const progress = progressOf(services);
    const result = await services.request('runs.evaluate', { runId: runA.runId });
    assert.equal(result.source, 'test-split');
    assert.equal(result.count, 6);
    assert.equal(result.accuracy, 3 / 6);
    assert.deepEqual(result.metrics.confusionMatrix, [[2, 1], [2, 1]]);
    const expectedLoss = -(Math.log(0.9) + Math.log(0.3) + Math.log(0.55) + Math.log(0.8) + Math.log(0.05) + Math.log(0.4)) / 6;
    assert.ok(Math.abs(result.loss - expectedLoss) < 1e-9);
    assert.equal(result.predictions.length, 6);
    const stored = evaluationPredictions(services.app.db, result.id);
    assert.equal(stored.length, 6);
    assert.deepEqual(stored.find((s) => s.imageId === testImage('dogs', 1).id)?.probabilities, [0.95, 0.05]);

    // The predictions came from the worker's task, asked once for the run's model with its class names.
    const asked = calls().filter((call) => call.task === 'predict-files');
    assert.equal(asked.length, 1);
    const input = asked[0]!.input as { model: { path: string; hints: { classNames: string[] } }; files: unknown[] };
    assert.equal(input.model.path, runA.modelPath);
    assert.deepEqual(input.model.hints.classNames, classNames);
    assert.equal(input.files.length, 6);
    const [job] = services.app.jobs.list({ kind: 'evaluate' });
    assert.equal(job?.status, 'completed');
    assert.equal(job?.runId, runA.runId);
    assert.equal(asked[0]!.jobId, job?.id);
    assert.deepEqual(progress.filter((p) => p.id === job?.id).map((p) => p.phase).filter((phase, i, all) => all[i - 1] !== phase), ['starting', 'evaluating', 'saving']);
    // The predict task's batches show as the evaluation's own phase, with their counts.
    assert.ok(progress.some((p) => p.id === job?.id && p.phase === 'evaluating' && p.done === 6 && p.total === 6));
    const lastEvaluating = progress.filter((p) => p.id === job?.id && p.phase === 'evaluating').at(-1);
    assert.deepEqual([lastEvaluating?.kind, lastEvaluating?.done, lastEvaluating?.total], ['evaluate', 6, 6]);

    const listed = await services.request('runs.evaluations', { runId: runA.runId });
    assert.equal(listed.evaluations[0]!.id, result.id);
    const again = await services.request('runs.evaluation', { evaluationId: result.id });
    assert.deepEqual(again.metrics, result.metrics);
  });

  test('misclassified are sorted by loss; low-confidence correct filter; current labels follow relabels', async (t) => {
    const { services, dataset, runA, testImage } = setup(t);
    const { id: evaluationId } = await services.request('runs.evaluate', { runId: runA.runId });
    const wrong = await services.request('runs.misclassified', { evaluationId, filter: 'wrong', threshold: 0.7, limit: 100 });
    assert.equal(wrong.total, 3);
    assert.deepEqual(wrong.items.map((i) => i.imageId), [testImage('dogs', 1).id, testImage('cats', 1).id, testImage('dogs', 2).id]);
    assert.equal(wrong.items[0]!.predictedClass, 'cats');
    assert.equal(wrong.items[0]!.trueClass, 'dogs');
    assert.equal(wrong.items[0]!.currentLabel, 'dogs');
    for (let i = 1; i < wrong.items.length; i++) assert.ok(wrong.items[i - 1]!.loss >= wrong.items[i]!.loss);

    const unsure = await services.request('runs.misclassified', { evaluationId, filter: 'low-confidence-correct', threshold: 0.7, limit: 100 });
    assert.deepEqual(unsure.items.map((i) => i.imageId), [testImage('cats', 2).id]);
    assert.equal(unsure.items[0]!.correct, true);

    // A relabel in the catalogue shows up as the current label; the stored prediction keeps the label it was scored on.
    services.app.db.prepare('UPDATE labels SET class_id = ? WHERE image_id = ?').run(dataset.classIds.cats, testImage('dogs', 1).id);
    const after = await services.request('runs.misclassified', { evaluationId, filter: 'wrong', threshold: 0.7, limit: 1 });
    assert.equal(after.items.length, 1);
    assert.equal(after.total, 3);
    assert.equal(after.items[0]!.currentLabel, 'cats');
    assert.equal(after.items[0]!.trueClass, 'dogs');
  });

  test('on a folder of class subfolders, without importing it; unknown class names and a missing folder are refused in words', async (t) => {
    const { services, dir, runA, table } = setup(t);
    const folder = join(dir, 'holdout');
    for (const name of ['cats', 'dogs']) {
      mkdirSync(join(folder, name), { recursive: true });
      writeFileSync(join(folder, name, 'a.jpg'), 'x');
      writeFileSync(join(folder, name, 'notes.txt'), 'not an image');
    }
    table.set(runA.modelPath, new Map([[join(folder, 'cats', 'a.jpg'), [0.7, 0.3]], [join(folder, 'dogs', 'a.jpg'), [0.8, 0.2]]]));
    const imagesBefore = services.app.db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number };
    const result = await services.request('runs.evaluate', { runId: runA.runId, folder });
    assert.equal(result.source, 'folder');
    assert.equal(result.count, 2);
    assert.equal(result.accuracy, 0.5);
    assert.equal(result.predictions[1]!.path, join(folder, 'dogs', 'a.jpg'));
    assert.equal(result.predictions[1]!.imageId, null);
    assert.deepEqual(services.app.db.prepare('SELECT COUNT(*) AS n FROM images').get(), imagesBefore, 'nothing was imported');
    const stored = await services.request('runs.evaluation', { evaluationId: result.id });
    assert.equal(stored.folder, folder);
    assert.equal(services.app.jobs.list({ kind: 'evaluate' })[0]?.datasetId, null);

    mkdirSync(join(folder, 'birds'));
    await assert.rejects(services.request('runs.evaluate', { runId: runA.runId, folder }), /not trained on: "birds".*"cats", "dogs"/);
    await assert.rejects(services.request('runs.evaluate', { runId: runA.runId, folder: join(dir, 'nowhere') }), /^AppError: Cannot open folder .*nowhere/);
    assert.equal(services.app.jobs.list({ kind: 'evaluate' }).length, 1, 'refused evaluations queue nothing');
  });

  test('on another dataset: classes mapped by name onto the run’s order; unknown classes and a deleted dataset refused', async (t) => {
    const { services, dir, runA, table } = setup(t);
    const db = services.app.db;
    // The other dataset lists its classes in the opposite order: names, not positions, decide.
    const other = insertDataset(db, join(dir, 'other'), 'other', ['dogs', 'cats'], { train: 0, val: 0, test: 1 });
    table.set(runA.modelPath, new Map(other.images.map((img) => [img.path, img.className === 'cats' ? [0.9, 0.1] : [0.2, 0.8]])));
    const result = await services.request('runs.evaluate', { runId: runA.runId, datasetId: other.datasetId });
    assert.equal(result.source, 'dataset');
    assert.equal(result.accuracy, 1);
    const third = insertDataset(db, join(dir, 'third'), 'third', ['cats', 'foxes'], { train: 0, val: 0, test: 1 });
    await assert.rejects(services.request('runs.evaluate', { runId: runA.runId, datasetId: third.datasetId }), /not trained on: "foxes"/);
    db.prepare('DELETE FROM datasets WHERE id = ?').run(third.datasetId);
    await assert.rejects(services.request('runs.evaluate', { runId: runA.runId, datasetId: third.datasetId }), /Dataset \d+ does not exist/);
  });

  test('a run without a model, or whose dataset was deleted, is refused before anything is queued', async (t) => {
    const { services, runA, runB, dataset } = setup(t);
    const db = services.app.db;
    db.prepare('UPDATE runs SET model_path = NULL WHERE id = ?').run(runB.runId);
    await assert.rejects(services.request('runs.evaluate', { runId: runB.runId }), /"flipped" has no saved model/);
    await assert.rejects(services.request('jobs.start', { kind: 'evaluate', input: { runId: runB.runId } }), /has no saved model/);
    db.prepare('DELETE FROM datasets WHERE id = ?').run(dataset.datasetId);
    await assert.rejects(services.request('runs.evaluate', { runId: runA.runId }), /dataset or split was deleted; evaluate it on a folder/);
    assert.deepEqual(services.app.jobs.list({ kind: 'evaluate' }), []);
  });

  test('a read-only catalogue shows the stored evaluation and says why it cannot make a new one', async (t) => {
    const { services, dir, runA, runB } = setup(t);
    const stored = await services.request('runs.evaluate', { runId: runA.runId });
    services.app.db.pragma('wal_checkpoint(TRUNCATE)');
    const readonly = createServices({ paths: tempPaths(dir), host: { kind: 'web' }, readonly: true, jobs: { workers: undefined } });
    t.after(() => readonly.close());
    const shown = await readonly.request('runs.evaluate', { runId: runA.runId });
    assert.equal(shown.id, stored.id);
    assert.deepEqual(shown.predictions.map((p) => p.imageId).sort(), stored.predictions.map((p) => p.imageId).sort());
    await assert.rejects(readonly.request('runs.evaluate', { runId: runB.runId }), /^AppError: the catalogue is read-only: .*catalogue\.db; run "flipped" has no stored evaluation on its test split to show$/);
  });
});

describe('evaluation as a job', () => {
  test('an evaluation queued behind a running cpu job shows position 1 and runs after it', async (t) => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { services, runA, runB } = setup(t, {
      // The first evaluation holds the cpu lane until the test lets it go.
      predictTask: (table) => async (input, io) => {
        if (input.model.path === runA.modelPath) await held;
        return table(input, io);
      },
    });
    const progress = progressOf(services);
    const first = services.request('runs.evaluate', { runId: runA.runId });
    await until(() => services.app.jobs.list({ kind: 'evaluate', active: true }).some((job) => job.status === 'running'), 'the first evaluation runs');
    const second = services.request('runs.evaluate', { runId: runB.runId });
    await until(() => services.app.jobs.list({ kind: 'evaluate' }).length === 2, 'the second evaluation is queued');
    const [queued, running] = services.app.jobs.list({ kind: 'evaluate' });
    assert.equal(running!.status, 'running');
    assert.equal(queued!.status, 'queued');
    assert.equal(queued!.runId, runB.runId);
    assert.equal(queued!.queuePosition, 1);
    const waiting = progress.find((p) => p.id === queued!.id && p.phase === 'queued');
    assert.deepEqual(waiting?.detail, { type: 'queue', position: 1, waitingFor: [running!.id] });
    assert.match(waiting?.message ?? '', /waiting for #\d+ Evaluate "plain" on its test split \(position 1\)/);
    assert.equal(services.app.jobs.get(queued!.id).job.progress?.phase, 'queued');

    release();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.runId, runA.runId);
    assert.equal(b.runId, runB.runId);
    // The second started only after the first had ended.
    const ends = new Map(services.app.jobs.list({ kind: 'evaluate' }).map((job) => [job.id, job]));
    assert.ok(ends.get(queued!.id)!.startedAt! >= ends.get(running!.id)!.finishedAt!, 'ran after the first finished');
  });

  test('an evaluation waits behind a training run with its position, and runs when the training ends', async (t) => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { services, runA, runB, predict } = setup(t, {
      // The trainer holds the cpu lane until the test lets it go, then ends the run without a model.
      train: async () => {
        await held;
        return { status: 'failed', bestEpoch: null, bestValAccuracy: null, testAccuracy: null, testLoss: null, modelPath: null, error: 'the test trainer stops here' };
      },
    });
    const progress = progressOf(services);
    const { jobId: trainJobId } = await services.request('runs.again', { runId: runB.runId });
    await until(() => services.app.jobs.get(trainJobId).job.status === 'running', 'the training runs');
    const evaluating = services.request('runs.evaluate', { runId: runA.runId });
    await until(() => services.app.jobs.list({ kind: 'evaluate' }).length === 1, 'the evaluation is queued');
    const [queued] = services.app.jobs.list({ kind: 'evaluate' });
    assert.equal(queued!.status, 'queued');
    assert.equal(queued!.queuePosition, 1);
    const waiting = progress.find((p) => p.id === queued!.id && p.phase === 'queued');
    assert.deepEqual(waiting?.detail, { type: 'queue', position: 1, waitingFor: [trainJobId] });
    assert.match(waiting?.message ?? '', /waiting for #\d+ Train flipped \(again\) \(position 1\)/);
    assert.equal(predict.calls, 0, 'nothing was predicted while the training ran');

    release();
    const result = await evaluating;
    assert.equal(result.count, 6);
    const trainJob = services.app.jobs.get(trainJobId).job;
    assert.equal(trainJob.status, 'failed');
    assert.ok(services.app.jobs.get(queued!.id).job.startedAt! >= trainJob.finishedAt!, 'the evaluation started after the training ended');
  });

  test('cancelling an evaluation while it predicts stores nothing and ends the job cancelled', async (t) => {
    let rowsSent = 0;
    const { services, runA } = setup(t, {
      // The first image's row, then the task waits for the cancel (as a slow model would on its next batch).
      predictTask: (table) => async (input, io) => {
        await table({ ...input, files: input.files.slice(0, 1) }, {
          ...io,
          event: (event) => {
            io.event(event);
            rowsSent += event.rows.length;
          },
        });
        if (!io.signal.aborted) await new Promise((resolve) => io.signal.addEventListener('abort', resolve, { once: true }));
        return { model: fakeModelInfo(classNames), count: input.files.length };
      },
    });
    const db = services.app.db;
    const evaluating = services.request('runs.evaluate', { runId: runA.runId });
    await until(() => rowsSent === 1, 'the first row arrived');
    const [job] = services.app.jobs.list({ kind: 'evaluate', active: true });
    assert.ok(job, 'the evaluation job is active');
    assert.equal(services.app.jobs.cancel(job.id).cancelled, true);
    await assert.rejects(evaluating, /^AppError: The evaluation \(job \d+\) was cancelled; nothing was stored\.$/);
    assert.deepEqual(listEvaluations(db, runA.runId), []);
    assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM predictions').get(), { n: 0 });
    const { job: ended, finished } = services.app.jobs.get(job.id);
    assert.equal(ended.status, 'cancelled');
    assert.equal(finished?.status, 'cancelled');
    assert.equal(finished?.result, null);
  });

  test('a failing worker task fails the job with one line and stores nothing', async (t) => {
    const { services, runA } = setup(t, {
      predictTask: () => async () => {
        throw new Error('the model file is damaged: model.json is not JSON\n    at loadModel (loader.ts:12:3)\n    at predictFilesTask');
      },
    });
    await assert.rejects(
      services.request('runs.evaluate', { runId: runA.runId }),
      /^AppError: The evaluation \(job \d+\) failed: the model file is damaged: model\.json is not JSON$/,
    );
    const [job] = services.app.jobs.list({ kind: 'evaluate' });
    assert.equal(job?.status, 'failed');
    assert.equal(job?.error, 'the model file is damaged: model.json is not JSON');
    assert.deepEqual(listEvaluations(services.app.db, runA.runId), []);
  });

  test('rows the worker leaves out fail the evaluation instead of storing a partial one', async (t) => {
    const { services, runA } = setup(t, {
      predictTask: (table) => async (input, io) => table({ ...input, files: input.files.slice(0, 4) }, io),
    });
    await assert.rejects(services.request('runs.evaluate', { runId: runA.runId }), /failed: the model answered for 4 of 6 images; nothing was stored$/);
    assert.deepEqual(listEvaluations(services.app.db, runA.runId), []);
  });
});

describe('comparison', () => {
  test('curves, metrics table, config diff and per-image diff (evaluating the missing run through an evaluate job)', async (t) => {
    const { services, runA, runB, predict, testImage } = setup(t);
    await services.request('runs.evaluate', { runId: runA.runId });
    const callsBefore = predict.calls;
    const comparison = await services.request('runs.compare', { runIds: [runA.runId, runB.runId], evaluateMissing: true });
    assert.equal(predict.calls, callsBefore + 1, 'only run B needed an evaluation');
    assert.deepEqual(services.app.jobs.list({ kind: 'evaluate' }).map((job) => job.runId), [runB.runId, runA.runId]);
    assert.deepEqual(comparison.runs.map((r) => r.epochs.length), [3, 4]);
    assert.deepEqual(comparison.configDiff, [
      { path: 'augmentation.flip', values: ['none', 'both'] },
      { path: 'epochs', values: [3, 4] },
    ]);
    assert.equal(comparison.metrics[0]!.testAccuracy, 0.5);
    assert.equal(comparison.metrics[1]!.testAccuracy, 4 / 6);
    assert.equal(comparison.metrics[1]!.finalValAccuracy, 0.45 + 4 / 10);
    const diff = comparison.imageDiffs[0]!;
    assert.equal(diff.unavailable, null);
    assert.equal(diff.shared, 6);
    assert.deepEqual(diff.fixedByB.map((i) => i.imageId), [testImage('dogs', 1).id, testImage('cats', 1).id]);
    assert.deepEqual(diff.brokenByB.map((i) => i.imageId), [testImage('cats', 2).id]);
    assert.equal(diff.bothWrong, 1);
    assert.equal(diff.bothRight, 2);
    assert.equal(diff.fixedByB[0]!.predictedA, 'cats');
    assert.equal(diff.fixedByB[0]!.predictedB, 'dogs');
    assert.ok(Math.abs(diff.fixedByB[0]!.confidenceB - 0.9) < 1e-12);
  });

  test('the same run twice is refused; a run that cannot be evaluated makes the diff unavailable with its reason', async (t) => {
    const { services, runA, dataset } = setup(t);
    await assert.rejects(services.request('runs.compare', { runIds: [runA.runId, runA.runId], evaluateMissing: true }), /different runs/);
    const db = services.app.db;
    const noModel = insertRun(db, dataset, { name: 'broken', classNames, modelsDir: services.app.paths.models });
    db.prepare('UPDATE runs SET model_path = NULL WHERE id = ?').run(noModel.runId);
    const comparison = await services.request('runs.compare', { runIds: [runA.runId, noModel.runId], evaluateMissing: true });
    assert.match(comparison.imageDiffs[0]!.unavailable ?? '', /"broken".*no saved model/);
  });
});

describe('run administration', () => {
  test('rename, notes and tags (trimmed, de-duplicated)', async (t) => {
    const { services, runA } = setup(t);
    const run = await services.request('runs.update', { runId: runA.runId, name: ' baseline ', notes: 'tutorial settings', tags: ['cnn', ' CNN', 'first'] });
    assert.equal(run.name, 'baseline');
    assert.equal(run.notes, 'tutorial settings');
    assert.deepEqual(run.tags, ['cnn', 'first']);
    const unchanged = await services.request('runs.update', { runId: runA.runId });
    assert.equal(unchanged.name, 'baseline');
    await assert.rejects(services.request('runs.update', { runId: 9999, name: 'x' }), /does not exist/);
  });

  test('run again queues a train job with the same config and split; the answer names the run and its job; the new run records its parent', async (t) => {
    // No cpu slot: the new run stays queued, so nothing trains in this test.
    const { services, runB, dataset } = setup(t, { lanes: { cpu: 0 } });
    const result = await services.request('runs.again', { runId: runB.runId });
    const again = getRun(services.app.db, result.runId);
    assert.equal(again.parentRunId, runB.runId);
    assert.equal(again.status, 'queued');
    assert.equal(again.name, 'flipped (again)');
    assert.equal(again.splitId, dataset.splitId);
    assert.deepEqual(again.config, getRun(services.app.db, runB.runId).config);
    const { job } = services.app.jobs.get(result.jobId);
    assert.equal(job.kind, 'train');
    assert.equal(job.runId, result.runId);
    assert.equal(job.status, 'queued');
    // Its queued run cannot be deleted from under the job; once the job is cancelled it can.
    await assert.rejects(services.request('runs.delete', { runId: result.runId }), /^AppError: Run "flipped \(again\)" is still queued; cancel it before deleting it\.$/);
    assert.equal(services.app.jobs.cancel(result.jobId).cancelled, true);
    assert.equal(getRun(services.app.db, result.runId).status, 'cancelled');
    await services.request('runs.delete', { runId: result.runId });
    assert.equal(findRun(services.app.db, result.runId), null);
  });

  test('delete refuses a queued run, a training run and a run being evaluated, in words', async (t) => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { services, runA, runB } = setup(t, {
      predictTask: (table) => async (input, io) => {
        await held;
        return table(input, io);
      },
    });
    const db = services.app.db;
    const evaluating = services.request('runs.evaluate', { runId: runA.runId });
    await until(() => services.app.jobs.list({ kind: 'evaluate', active: true }).length === 1, 'the evaluation started');
    await assert.rejects(services.request('runs.delete', { runId: runA.runId }), /^AppError: Run \d+ is in use by job \d+ \(Evaluate "plain" on its test split\); cancel that job before deleting the run\.$/);
    release();
    await evaluating;

    db.prepare(`UPDATE runs SET status = 'queued' WHERE id = ?`).run(runB.runId);
    await assert.rejects(services.request('runs.delete', { runId: runB.runId }), /^AppError: Run "flipped" is still queued; cancel it before deleting it\.$/);
    db.prepare(`UPDATE runs SET status = 'running' WHERE id = ?`).run(runB.runId);
    await assert.rejects(services.request('runs.delete', { runId: runB.runId }), /^AppError: Run "flipped" is still running; cancel it before deleting it\.$/);
    assert.ok(findRun(db, runA.runId) && findRun(db, runB.runId), 'both runs are still there');
  });

  test('delete removes the row, its epochs, evaluations, predictions and model folder; a run started from it keeps going without its parent', async (t) => {
    const { services, runA, runB, dataset } = setup(t);
    const db = services.app.db;
    await services.request('runs.evaluate', { runId: runB.runId });
    const child = insertRun(db, dataset, { name: 'flipped (again)', classNames, modelsDir: services.app.paths.models });
    db.prepare('UPDATE runs SET parent_run_id = ? WHERE id = ?').run(runB.runId, child.runId);
    const evaluationIds = listEvaluations(db, runB.runId).map((e) => e.id);
    assert.equal(evaluationIds.length, 1);
    assert.ok(existsSync(runB.modelPath));
    const result = await services.request('runs.delete', { runId: runB.runId });
    assert.deepEqual(result.removedFiles, [runB.modelPath]);
    assert.equal(existsSync(runB.modelPath), false);
    assert.equal(findRun(db, runB.runId), null);
    assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM epochs WHERE run_id = ?').get(runB.runId), { n: 0 });
    for (const id of evaluationIds) assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE evaluation_id = ?').get(id), { n: 0 });
    assert.ok(existsSync(runA.modelPath), 'other runs keep their files');
    assert.equal(getRun(db, child.runId).parentRunId, null);
  });

  test('a model folder outside the app’s models folder is left alone', async (t) => {
    const { services, dir, dataset } = setup(t);
    const outside = join(dir, 'my-model');
    mkdirSync(outside);
    const db = services.app.db;
    const run = insertRun(db, dataset, { name: 'imported', classNames, modelsDir: services.app.paths.models });
    db.prepare('UPDATE runs SET model_path = ? WHERE id = ?').run(outside, run.runId);
    const result = await services.request('runs.delete', { runId: run.runId });
    // Its own folder in the models directory goes (it may hold a checkpoint); the folder outside stays.
    assert.deepEqual(result.removedFiles, [run.modelPath]);
    assert.ok(existsSync(outside));
  });
});
