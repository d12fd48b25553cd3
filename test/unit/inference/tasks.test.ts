// The inference worker tasks, called directly as the job worker calls them: predict-files streams each batch's rows
// with its offset, reports progress, stops between batches when cancelled and keeps at most two models loaded;
// inspect describes a model. A tiny real model (built, not trained) keeps it fast.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskIo, TaskProgress } from '../../../shared/worker-task';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel } from '../../../electron/inference/loader';
import { predictFiles } from '../../../electron/inference/predictor';
import { inspectTask, predictFilesTask } from '../../../electron/inference/tasks';
import type { PredictFilesEvent } from '../../../electron/inference/task-types';
import { writeImage } from '../../support/images';
import { tempDir } from '../../support/temp';
import { writeTinyModel } from './tiny-model';

const tmp = tempDir('pawprint-inference-tasks-');
const modelDir = join(tmp.path, 'model');
const files: Array<{ path: string; name: string }> = [];

before(async () => {
  await ensureInferenceBackend();
  await writeTinyModel(modelDir);
  for (let i = 0; i < 7; i++) {
    const path = join(tmp.path, 'images', `img-${i}.png`);
    await writeImage(path, { width: 12, height: 10, color: i % 2 ? '#dd2211' : '#1122dd', variant: i, format: 'png' });
    files.push({ path, name: `img-${i}.png` });
  }
  files.push({ path: join(tmp.path, 'images', 'missing.png'), name: 'missing.png' });
});
after(() => tmp.cleanup());

function recordingIo(onEvent?: (event: PredictFilesEvent, controller: AbortController) => void) {
  const controller = new AbortController();
  const events: PredictFilesEvent[] = [];
  const progress: TaskProgress[] = [];
  const io: TaskIo<PredictFilesEvent> = {
    signal: controller.signal,
    settings: { threads: 1, cacheDir: tmp.path, appVersion: 'test', progressIntervalMs: 0 },
    progress: (p) => progress.push(p),
    event: (e) => {
      events.push(e);
      onEvent?.(e, controller);
    },
    log: () => undefined,
  };
  return { io, events, progress, controller };
}

describe('predict-files task', () => {
  test('streams each batch as rows with its offset, the same numbers as predictFiles, progress per batch', async () => {
    const { io, events, progress } = recordingIo();
    const result = await predictFilesTask({ model: { path: modelDir, hints: { classNames: ['blue', 'red'] } }, files, batchSize: 3 }, io);
    assert.equal(result.count, 8);
    assert.deepEqual(result.model.classNames, ['blue', 'red']);
    assert.equal(result.model.label, 'model');
    assert.deepEqual(events.map((e) => [e.offset, e.rows.length]), [[0, 3], [3, 3], [6, 2]]);
    const rows = events.flatMap((e) => e.rows);
    assert.ok('error' in rows[7] && /missing\.png.*file not found/.test(rows[7].error), JSON.stringify(rows[7]));

    const loaded = await loadModel(modelDir);
    try {
      const reference = await predictFiles(loaded, files, { batchSize: 8 });
      reference.forEach((expected, i) => {
        const row = rows[i];
        if ('error' in expected) return assert.ok('error' in row);
        assert.ok(!('error' in row));
        assert.equal(row.predictedIndex, expected.predictedIndex);
        row.probabilities.forEach((p, k) => assert.ok(Math.abs(p - expected.probabilities[k]) < 1e-6));
      });
    } finally {
      loaded.dispose();
    }
    const predicting = progress.filter((p) => p.phase === 'predicting').map((p) => [p.done, p.total]);
    assert.deepEqual(predicting, [[3, 8], [6, 8], [8, 8]]);
  });

  test('cancelled after the first batch\'s rows arrive: rejects, and no later batch is predicted', async () => {
    const { io, events } = recordingIo((_event, controller) => controller.abort());
    await assert.rejects(predictFilesTask({ model: { path: modelDir }, files, batchSize: 2 }, io), { name: 'AbortError' });
    assert.deepEqual(events.map((e) => e.offset), [0], 'only the first batch was predicted');
  });

  test('the same model is loaded once (cache hit); a rewritten model loads again; at most two stay loaded', async () => {
    const dir = join(tmp.path, 'cached');
    await writeTinyModel(dir, 5);
    const run = async (path: string) => (await predictFilesTask({ model: { path }, files: files.slice(0, 1), batchSize: 1 }, recordingIo().io)).cache;
    assert.equal(await run(dir), 'miss');
    assert.equal(await run(dir), 'hit');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeTinyModel(dir, 6);
    assert.equal(await run(dir), 'miss', 'the files changed: the old model must not answer');
    // Two other models push it out (capacity two).
    for (const name of ['other-a', 'other-b']) {
      await writeTinyModel(join(tmp.path, name), 9);
      assert.equal(await run(join(tmp.path, name)), 'miss');
    }
    assert.equal(await run(dir), 'miss', 'evicted after two other models were used');
  });

  test('a damaged model folder fails with one line naming it', async () => {
    const dir = join(tmp.path, 'damaged');
    await writeTinyModel(dir);
    await writeFile(join(dir, 'model.json'), '{"modelTopology": ');
    const failure = await predictFilesTask({ model: { path: dir }, files, batchSize: 4 }, recordingIo().io).then(() => null, (error: Error) => error);
    assert.ok(failure instanceof Error);
    assert.equal(failure.message.split('\n').length, 1, failure.message);
    assert.match(failure.message, /damaged/);
  });
});

describe('inspect task', () => {
  test('describes the model with the caller\'s label and hints', async () => {
    const info = await inspectTask({ model: { path: modelDir, label: 'My run', hints: { classNames: ['cat', 'dog'] } } });
    assert.deepEqual(info, {
      kind: 'tfjs-layers', label: 'My run', classNames: ['cat', 'dog'], imageSize: { height: 8, width: 8 },
      preprocessing: 'none', resize: 'fill', output: 'probabilities',
    });
  });
});
