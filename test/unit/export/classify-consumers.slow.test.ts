// The tfjs package as its consumers use it (issue 13): check.html runs classify.js in real Chromium (playwright-core,
// /usr/bin/chromium, headless) with plain TensorFlow.js served from node_modules, on the reference images as <img>,
// ImageBitmap, canvas and ImageData; the README's Node snippet (plain @tensorflow/tfjs + sharp) runs in a child
// process; the onnx package's classify.py preprocessing runs in Python when numpy and Pillow are there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { exportRun } from '../../../electron/export/package';
import type { ReferenceFile } from '../../../electron/export/consumer-files';
import { ensureInferenceBackend } from '../../../electron/inference/backend';
import { onnxRuntime } from '../../../electron/export/targets/onnx/index';
import { tempDir } from '../../support/temp';
import { runRecord, tinyConfig, trainTinyRun, writeClassImages } from './helpers';
import { writeRunFolderMetadata } from './run-folder';

const run = promisify(execFile);
const CHROMIUM = process.env.PAWPRINT_CHROMIUM ?? '/usr/bin/chromium';
const TFJS_DIST = resolve('node_modules/@tensorflow/tfjs/dist');
const NODE_MODULES = resolve('node_modules');
const tmp = tempDir('pawprint-classify-');
const runDir = join(tmp.path, 'run-model');
const tfjsPackage = join(tmp.path, 'tfjs-package');
const onnxPackage = join(tmp.path, 'onnx-package');
let expected: ReferenceFile;

before(async () => {
  await ensureInferenceBackend();
  const items = await writeClassImages(join(tmp.path, 'images'), 6);
  // Symmetric scaling inside the model, a size the images are not: the recipe's resize and scaling both matter.
  const { config } = await trainTinyRun(items, runDir, tinyConfig({ preprocessing: 'symmetric', imageSize: { height: 20, width: 28 } }));
  await writeRunFolderMetadata(runDir, config);
  const record = runRecord(runDir, config, { finishedAt: '2026-02-01T00:00:00.000Z' });
  const images = items.map((item) => ({ path: item.path }));
  await exportRun({ run: record, out: tfjsPackage, format: 'folder', appVersion: '1.0.0', images });
  await exportRun({ run: record, out: onnxPackage, format: 'folder', target: 'onnx', appVersion: '1.0.0', images });
  expected = JSON.parse(await readFile(join(tfjsPackage, 'reference', 'expected.json'), 'utf8')) as ReferenceFile;
});
after(() => tmp.cleanup());

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.png': 'image/png', '.bin': 'application/octet-stream' };

/** Serves the package at / and TensorFlow.js's dist at /tfjs/, on loopback only. */
async function serve(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [root, rest] = path.startsWith('/tfjs/') ? [TFJS_DIST, path.slice('/tfjs/'.length)] : [tfjsPackage, path.slice(1)];
    const file = normalize(join(root, rest));
    if (!file.startsWith(root + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    void readFile(file).then((data) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(data));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { server, url: `http://127.0.0.1:${address.port}` };
}

interface CheckResult {
  passed: boolean;
  maxDiff: number;
  backend: string;
  tfjs: string;
  error?: string;
  rows: Array<{ file: string; input: string; expected: string; got: string; maxDiff: number; pass: boolean }>;
}

test('check.html: classify.js in Chromium gives Pawprint\'s class and probabilities within 0.02 for <img>, ImageBitmap, canvas and ImageData', { timeout: 120_000 }, async (t) => {
  const { server, url } = await serve();
  t.after(() => server.close());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  for (const backend of ['cpu', null]) {
    await page.goto(`${url}/check.html?tf=/tfjs/tf.min.js${backend ? `&backend=${backend}` : ''}`);
    await page.waitForFunction(() => (globalThis as unknown as { checkResult?: unknown }).checkResult !== undefined, undefined, { timeout: 90_000 });
    const result = await page.evaluate(() => (globalThis as unknown as { checkResult: CheckResult }).checkResult);
    console.log(`# check.html on ${result.backend} (tfjs ${result.tfjs}): ${result.rows.filter((r) => r.pass).length}/${result.rows.length} pass, max |difference| ${result.maxDiff}`);
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.rows.length, expected.images.length * 4);
    assert.deepEqual([...new Set(result.rows.map((r) => r.input))], ['img', 'ImageBitmap', 'canvas', 'ImageData']);
    for (const row of result.rows) {
      assert.equal(row.got, row.expected, `${row.file} as ${row.input}`);
      assert.ok(row.maxDiff <= 0.02, `${row.file} as ${row.input}: ${row.maxDiff}`);
    }
    assert.equal(result.passed, true);
    assert.equal(await page.locator('#summary').getAttribute('class'), 'pass');
  }
});

test('the README\'s Node snippet (plain @tensorflow/tfjs + sharp, no tfjs-node) gives the reference probabilities', { timeout: 120_000 }, async () => {
  const readme = await readFile(join(tfjsPackage, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## In Node.js'));
  const snippet = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(snippet, 'the README has a Node snippet');
  assert.doesNotMatch(snippet, /tfjs-node/);
  await writeFile(join(tfjsPackage, 'snippet.mjs'), snippet);
  // As after `npm install @tensorflow/tfjs sharp` in the package folder.
  if (!existsSync(join(tfjsPackage, 'node_modules'))) await symlink(NODE_MODULES, join(tfjsPackage, 'node_modules'), 'dir');
  let max = 0;
  for (const entry of expected.images) {
    const { stdout } = await run(process.execPath, ['snippet.mjs', `reference/${entry.file}`], { cwd: tfjsPackage, timeout: 60_000 });
    const got = JSON.parse(stdout.trim().split('\n').at(-1)!) as Array<{ className: string; probability: number }>;
    assert.deepEqual(got.map((g) => g.className), expected.classNames);
    const top = got.reduce((a, b) => (b.probability > a.probability ? b : a)).className;
    assert.equal(top, entry.className, entry.file);
    got.forEach((g, i) => (max = Math.max(max, Math.abs(g.probability - entry.probabilities[i]))));
  }
  console.log(`# README Node snippet: max |difference| ${max} over ${expected.images.length} reference images`);
  assert.ok(max <= 0.02, `Node snippet differs by ${max}`);
});

/** A Python with numpy and Pillow (Debian's python3-numpy/python3-pil), or null. */
async function pythonWithNumpyAndPillow(): Promise<{ python: string; onnxruntime: boolean } | null> {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      await run(python, ['-c', 'import numpy, PIL'], { timeout: 30_000 });
      const ort = await run(python, ['-c', 'import onnxruntime'], { timeout: 30_000 }).then(() => true, () => false);
      return { python, onnxruntime: ort };
    } catch {
      // try the next one
    }
  }
  return null;
}

test('classify.py (onnx package): its numpy preprocessing fed to model.onnx gives the reference probabilities', { timeout: 120_000 }, async (t) => {
  const found = await pythonWithNumpyAndPillow();
  if (!found) {
    t.skip('no python3 with numpy and Pillow here');
    return;
  }
  const inputs = join(tmp.path, 'py-inputs.bin');
  const files = expected.images.map((e) => `reference/${e.file}`);
  const script = `import sys, numpy as np\nsys.path.insert(0, '.')\nfrom classify import to_input\nnp.concatenate([to_input(p) for p in ${JSON.stringify(files)}]).astype('<f4').tofile(${JSON.stringify(inputs)})\n`;
  await run(found.python, ['-c', script], { cwd: onnxPackage, timeout: 60_000 });
  const data = await readFile(inputs);
  const values = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(join(onnxPackage, 'model.onnx'));
  let max = 0;
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', values, [files.length, 20, 28, 3]) });
    const logits = out[session.outputNames[0]].data as Float32Array;
    expected.images.forEach((entry, i) => {
      const p1 = 1 / (1 + Math.exp(-logits[i]));
      max = Math.max(max, Math.abs(p1 - entry.probabilities[1]), Math.abs(1 - p1 - entry.probabilities[0]));
      assert.equal(p1 > 0.5 ? expected.classNames[1] : expected.classNames[0], entry.className, entry.file);
    });
  } finally {
    await session.release();
  }
  console.log(`# classify.py preprocessing (${found.python}) + model.onnx: max |difference| ${max}`);
  assert.ok(max <= 1e-4, `classify.py's pixels give probabilities ${max} away from Pawprint's`);
  if (found.onnxruntime) {
    const { stdout } = await run(found.python, ['classify.py', ...files], { cwd: onnxPackage, timeout: 60_000 });
    const rows = stdout.trim().split('\n').map((line) => JSON.parse(line) as Array<{ probability: number }>);
    rows.forEach((row, i) => row.forEach((g, k) => assert.ok(Math.abs(g.probability - expected.images[i].probabilities[k]) <= 1e-4)));
  } else {
    console.log(`# classify.py's session part not run: ${found.python} has no onnxruntime (its preprocessing was fed to onnxruntime-node instead)`);
  }
});
