// predict, Try it and evaluation (the predict-files worker task calls predictFiles) on a folder accept exactly the images import
// accepts, refuse the others with import's reason, and never block on a path that is not a regular file.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tf } from '../../../electron/tfjs/tf';
import { folderSaveHandler } from '../../../electron/inference/model-folder';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { loadModel, type LoadedModel } from '../../../electron/inference/loader';
import { predictFiles } from '../../../electron/inference/predictor';
import { folderItems } from '../../../electron/evaluation/evaluate';
import { predictFilesTask } from '../../../electron/inference/tasks';
import type { PredictedRow } from '../../../electron/inference/task-types';
import { probeImage } from '../../../electron/dataset/validate';
import { makeImage, pngHeaderOnly } from '../../support/images';
import { tempDir } from '../../support/temp';

const tmp = tempDir('pawprint-predict-policy-');
const modelDir = join(tmp.path, 'model');
const CLASSES = ['a', 'b'];
const HINTS = { classNames: CLASSES };
let loaded: LoadedModel;

const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>');
const NOT_IMAGES: Array<[string, Buffer]> = [
  ['an SVG', SVG],
  ['a PDF', Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n')],
  ['a HEIC', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic'), Buffer.alloc(64)])],
  ['a text file', Buffer.from('shopping list: milk, eggs, bread\n')],
  ['a header bomb (20000x20000 PNG header)', pngHeaderOnly(20000, 20000)],
];

before(async () => {
  await ensureInferenceBackend();
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2 })] });
  await model.save(folderSaveHandler(modelDir));
  model.dispose();
  loaded = await loadModel(modelDir, { hints: HINTS });
});
after(() => {
  loaded?.dispose();
  tmp.cleanup();
});

async function importReason(bytes: Buffer): Promise<string> {
  const probe = await probeImage(bytes);
  assert.ok(!probe.ok, 'import accepts it');
  return probe.ok ? '' : probe.reason;
}

describe('predict refuses what import refuses, with import\'s reason', () => {
  for (const [what, bytes] of NOT_IMAGES) {
    test(`${what} named x.jpg`, async () => {
      const dir = join(tmp.path, `named-jpg-${what.replace(/\W+/g, '-')}`);
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'x.jpg');
      await writeFile(path, bytes);
      const good = join(dir, 'good.jpg');
      await writeFile(good, await makeImage({ width: 20, height: 16 }));
      const [refused, predicted] = await predictFiles(loaded, [path, good]);
      assert.ok('error' in refused, `predicted ${what} as ${'className' in refused ? refused.className : ''}`);
      assert.equal(refused.error, `cannot read x.jpg as an image: ${await importReason(bytes)}`);
      assert.ok(!('error' in predicted), 'the good image beside it failed');
    });
  }

  test('evaluation on a folder reports an SVG named x.jpg with import\'s reason', async () => {
    const folder = join(tmp.path, 'eval-folder');
    await mkdir(join(folder, 'a'), { recursive: true });
    await mkdir(join(folder, 'b'), { recursive: true });
    await writeFile(join(folder, 'a', 'x.jpg'), SVG);
    await writeFile(join(folder, 'a', 'ok.png'), await makeImage({ format: 'png', color: '#2040c0' }));
    await writeFile(join(folder, 'b', 'ok.jpg'), await makeImage({ color: '#c02040' }));
    const items = await folderItems(folder, CLASSES);
    // Evaluation's worker task, called as the job worker calls it.
    const results: PredictedRow[] = [];
    await predictFilesTask({ model: { path: modelDir, hints: HINTS }, files: items.map((item) => ({ path: item.path, name: basename(item.path) })), batchSize: 16 }, {
      signal: new AbortController().signal,
      settings: { threads: 1, cacheDir: tmp.path, appVersion: 'test', progressIntervalMs: 0 },
      progress: () => undefined,
      log: () => undefined,
      event: (event) => results.splice(event.offset, event.rows.length, ...event.rows),
    });
    const svgIndex = items.findIndex((item) => item.path.endsWith('x.jpg'));
    assert.ok(svgIndex >= 0, 'the folder scan skipped x.jpg');
    const svgRow = results[svgIndex];
    assert.ok('error' in svgRow);
    assert.equal(svgRow.error, `cannot read x.jpg as an image: ${await importReason(SVG)}`);
    assert.equal(results.filter((r) => !('error' in r)).length, 2);
  });
});

describe('predict never blocks on a path that is not a regular file', { timeout: 20_000 }, () => {
  test('a FIFO named x.jpg is refused as a named pipe, and the other images are predicted', { timeout: 10_000 }, async () => {
    const dir = join(tmp.path, 'fifo');
    await mkdir(dir, { recursive: true });
    const fifo = join(dir, 'x.jpg');
    execFileSync('mkfifo', [fifo]);
    const good = join(dir, 'good.jpg');
    await writeFile(good, await makeImage({ width: 20, height: 16 }));
    // Several at once: a blocking open parks one libuv thread each, and four of them freeze every file operation.
    const results = await predictFiles(loaded, [fifo, fifo, fifo, fifo, fifo, good]);
    for (const result of results.slice(0, 5)) {
      assert.ok('error' in result);
      assert.equal(result.error, 'cannot read x.jpg as an image: not a regular file (a named pipe (FIFO))');
    }
    assert.ok(!('error' in results[5]));
  });

  test('a character device is refused with its kind', { timeout: 10_000 }, async () => {
    const [result] = await predictFiles(loaded, [{ path: '/dev/zero', name: 'zero.jpg' }]);
    assert.ok('error' in result);
    assert.equal(result.error, 'cannot read zero.jpg as an image: not a regular file (a character device)');
  });

  test('a FIFO chosen as the model is refused with its kind', { timeout: 10_000 }, async () => {
    const fifo = join(tmp.path, 'model-fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(loadModel(fifo), (error: Error) => {
      assert.equal(error.name, 'AppError');
      assert.match(error.message, /named pipe \(FIFO\)/);
      return true;
    });
  });
});
