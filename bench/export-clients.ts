// Issue 13's "Measure (the note's table)": each export target run by the client its users have, against
// `pawprint predict` (export.predict on the run), on photos of ../shared/data/cats-vs-dogs never used for training.
// A mobilenetv2 run (default preset: the bundled alpha 0.35 base at 224x224, a short run) is trained on the first
// TRAIN_PER_CLASS photos of each class imported into a throwaway catalogue; the next HELD_PER_CLASS of each class
// (files beyond the imported ones) are predicted by:
//   - tfjs package, Chromium + plain @tensorflow/tfjs (node_modules dist) + the package's classify.js on <img>;
//   - tm package, Chromium + @teachablemachine/image 0.8.5 on tfjs 1.3.1 (TM centre-crops: the difference is the crop);
//   - tfjs package, Node + plain @tensorflow/tfjs + sharp, as the package README's Node snippet (child process);
//   - onnx package, onnxruntime-node fed the recipe's pixels (decodeRgb from electron/imaging, scaling per the recipe).
// Targets (issue 13): classify.js >= 199/200 same class and max |difference| <= 0.02; TM library accuracy within
// 3 points of Pawprint's; ONNX max |difference| <= 1e-4. Prints a table; writes bench-results/export-clients.json.
//   npm run bench -- export-clients   [--train N] [--held N] [--epochs N] [--backend cpu|webgl] (Chromium's tfjs backend)
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { copyFile, readFile, symlink, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, relative, resolve, sep } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { createServices } from '../electron/services/index';
import { resolvePaths } from '../electron/paths';
import { decodeRgb } from '../electron/imaging/image-policy';
import { onnxRuntime } from '../electron/export/targets/onnx/index';
import { sharedPhotos } from '../test/support/shared-data';
import { tempDir } from '../test/support/temp';
import { CHROMIUM, needsBrowserLibraries, openTmBrowser } from '../test/unit/export/tm-browser';
import { importFolder, trainRun } from './_jobs';
import { printTable } from './_table';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '150' },
    held: { type: 'string', default: '100' },
    epochs: { type: 'string', default: '5' },
    // cpu by default: headless Chromium here has only SwiftShader's software WebGL, much slower than tfjs's cpu backend.
    backend: { type: 'string', default: 'cpu' },
  },
});
const TRAIN_PER_CLASS = Number(values.train);
const HELD_PER_CLASS = Number(values.held);
const CLASSES = ['cats', 'dogs'];
const BROWSER_BACKEND = values.backend === 'webgl' ? 'webgl' : 'cpu';
const TFJS_DIST = resolve('node_modules/@tensorflow/tfjs/dist');
const NODE_MODULES = resolve('node_modules');
const run = promisify(execFile);

if (!existsSync(sharedPhotos)) {
  console.log(`export-clients: skipped: ${sharedPhotos} not found (the shared data lives in ../shared beside the repository)`);
  process.exit(0);
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>classify</title><script src="/tfjs/tf.min.js"></script>';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.bin': 'application/octet-stream', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png' };

/** Serves each folder under its URL prefix (and a page loading tf.min.js) on loopback. */
async function serve(roots: Record<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const prefix = Object.keys(roots).find((p) => path.startsWith(p));
    const root = prefix ? roots[prefix]! : null;
    const file = root ? normalize(join(root, path.slice(prefix!.length))) : null;
    if (!root || !file || !file.startsWith(root + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    void readFile(file).then((data) => res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' }).end(data));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

type Probabilities = number[];
interface Row {
  target: string;
  client: string;
  /** Images the client answered (of the held-out ones). */
  images: number;
  sameClass: number;
  maxDiff: number;
  accuracy: number;
  seconds: number;
  goal: string;
  pass: boolean | null;
  note: string;
  error?: string;
}

const argmax = (p: Probabilities) => p.reduce((best, v, i) => (v > p[best]! ? i : best), 0);

const work = tempDir('pawprint-bench-export-clients-');
const services = createServices({ paths: resolvePaths({ db: join(work.path, 'catalogue.db'), env: {} }), host: { kind: 'web' } });
try {
  // 1. Training photos (copied into a folder of their own) and held-out photos (the next files of each class).
  const files = CLASSES.map((cls) => readdirSync(join(sharedPhotos, cls)).filter((f) => /\.jpe?g$/i.test(f)).sort());
  const held: Array<{ path: string; url: string; label: number }> = [];
  for (const [label, cls] of CLASSES.entries()) {
    mkdirSync(join(work.path, 'train', cls), { recursive: true });
    mkdirSync(join(work.path, 'held', cls), { recursive: true });
    for (const f of files[label]!.slice(0, TRAIN_PER_CLASS)) await copyFile(join(sharedPhotos, cls, f), join(work.path, 'train', cls, f));
    for (const f of files[label]!.slice(TRAIN_PER_CLASS, TRAIN_PER_CLASS + HELD_PER_CLASS)) {
      const path = join(work.path, 'held', cls, f);
      await copyFile(join(sharedPhotos, cls, f), path);
      held.push({ path, url: `/held/${cls}/${encodeURIComponent(f)}`, label });
    }
  }

  // 2. A short mobilenetv2 run with the default preset (bundled alpha 0.35 base, 224x224).
  const started = performance.now();
  const summary = await importFolder(services, { path: join(work.path, 'train'), name: 'export-clients' });
  await services.request('splits.create', { datasetId: summary.datasetId, preset: 'stratified', train: 0.7, val: 0.2, test: 0.1, seed: 1 });
  const trained = await trainRun(services, { datasetId: summary.datasetId, name: 'export-clients', config: { preset: 'mobilenetv2', epochs: Number(values.epochs) } });
  if (trained.status !== 'completed') throw new Error(`training ${trained.status}: ${trained.error}`);
  const runDetail = await services.request('runs.get', { runId: trained.runId });
  const trainSeconds = (performance.now() - started) / 1000;
  console.error(`trained run ${trained.runId} on ${summary.imported} photos in ${trainSeconds.toFixed(0)} s (best val ${runDetail.bestValAccuracy})`);

  // 3. pawprint predict on the held-out photos: the reference.
  const predicted = await services.request('export.predict', { model: { runId: trained.runId }, images: held.map((h) => ({ path: h.path })) });
  const classNames = predicted.model.classNames;
  const byPath = new Map(predicted.results.map((r) => [r.path, r]));
  const reference: Probabilities[] = held.map((h) => {
    const r = byPath.get(h.path);
    if (!r || !r.ok) throw new Error(`pawprint predict failed on ${h.path}: ${r && !r.ok ? r.error : 'no result'}`);
    return r.probabilities;
  });
  // Labels from the folder names, in the model's class order.
  const truth = held.map((h) => classNames.indexOf(CLASSES[h.label]!));
  const accuracyOf = (rows: Probabilities[]) => rows.filter((p, i) => argmax(p) === truth[i]).length / rows.length;
  const pawprintAccuracy = accuracyOf(reference);
  console.error(`pawprint predict: ${reference.length} photos, accuracy ${(100 * pawprintAccuracy).toFixed(1)}%`);

  // 4. The three packages.
  const exported: Record<string, string> = {};
  for (const target of ['tfjs', 'tm', 'onnx'] as const) {
    const out = join(work.path, target);
    try {
      const result = await services.request('export.run', { runId: trained.runId, target, out, format: 'folder' });
      exported[target] = result.path;
    } catch (error) {
      console.error(`export ${target} failed: ${(error as Error).message}`);
    }
  }

  const rows: Row[] = [];
  function compare(target: string, client: string, got: Probabilities[], seconds: number, goal: string, check: (r: Row) => boolean, note = ''): void {
    let same = 0;
    let maxDiff = 0;
    got.forEach((p, i) => {
      if (argmax(p) === argmax(reference[i]!)) same++;
      p.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - reference[i]![k]!))));
    });
    const row: Row = { target, client, images: got.length, sameClass: same, maxDiff, accuracy: accuracyOf(got), seconds, goal, pass: null, note };
    row.pass = got.length === held.length && check(row);
    rows.push(row);
    console.error(`${target} / ${client}: ${same}/${got.length} same class, max diff ${maxDiff.toExponential(2)}, accuracy ${(100 * row.accuracy).toFixed(1)}%, ${seconds.toFixed(0)} s`);
  }
  function failed(target: string, client: string, goal: string, error: unknown): void {
    const message = (error as Error).message?.split('\n')[0] ?? String(error);
    console.error(`${target} / ${client}: ${message}`);
    rows.push({ target, client, images: 0, sameClass: 0, maxDiff: NaN, accuracy: NaN, seconds: 0, goal, pass: false, note: '', error: message });
  }
  const classifyGoal = '>= 199/200 same class, max diff <= 0.02';
  const classifyCheck = (r: Row) => r.sameClass >= r.images - Math.floor(r.images / 200) && r.maxDiff <= 0.02;

  // The Node client runs in its own process: started now, beside the browser clients.
  const nodeStarted = performance.now();
  const nodeAnswers = exported.tfjs ? classifyInNode(exported.tfjs).then((got) => ({ got, seconds: (performance.now() - nodeStarted) / 1000 }), (error: unknown) => ({ error })) : null;

  // 4a. Chromium + plain tfjs + classify.js, each photo as an <img>.
  const browserLabel = 'Chromium + @tensorflow/tfjs 4.22.0 + classify.js (<img>)';
  if (!exported.tfjs) failed('tfjs', browserLabel, classifyGoal, new Error('no tfjs package'));
  else if (!existsSync(CHROMIUM)) failed('tfjs', browserLabel, classifyGoal, new Error(`needs Chromium at ${CHROMIUM}`));
  else {
    try {
      const t0 = performance.now();
      const { got, backend } = await classifyInChromium(exported.tfjs);
      compare('tfjs', `${browserLabel}, ${backend}`, got, (performance.now() - t0) / 1000, classifyGoal, classifyCheck);
    } catch (error) {
      failed('tfjs', browserLabel, classifyGoal, error);
    }
  }

  // 4b. Chromium + Teachable Machine's library on tfjs 1.3.1 (it centre-crops to a square).
  const tmLabel = 'Chromium + @teachablemachine/image 0.8.5 + tfjs 1.3.1 (<img>)';
  const tmGoal = "accuracy within 3 points of Pawprint's";
  const missingTm = needsBrowserLibraries();
  if (!exported.tm) failed('tm', tmLabel, tmGoal, new Error('no tm package'));
  else if (missingTm) failed('tm', tmLabel, tmGoal, new Error(missingTm));
  else {
    try {
      const t0 = performance.now();
      const browser = await openTmBrowser(work.path, { backend: BROWSER_BACKEND });
      try {
        const answers = await browser.predict(`/${relative(work.path, exported.tm)}`, held.map((h) => h.url));
        // TM answers in its metadata's label order: map to the model's class order by name.
        const got = answers.map((a) => classNames.map((name) => a.probabilities[a.classNames.indexOf(name)] ?? NaN));
        compare('tm', `${tmLabel}, ${browser.backend}`, got, (performance.now() - t0) / 1000, tmGoal,
          (r) => Math.abs(r.accuracy - pawprintAccuracy) <= 0.03, 'TM centre-crops the photo: same class and difference reflect the crop, not a defect');
      } finally {
        await browser.close();
      }
    } catch (error) {
      failed('tm', tmLabel, tmGoal, error);
    }
  }

  // 4c. Node + plain tfjs + sharp, the README's snippet looped over the photos in one child process.
  const nodeLabel = 'Node + @tensorflow/tfjs 4.22.0 (cpu) + sharp, README snippet';
  if (!exported.tfjs) failed('tfjs', nodeLabel, classifyGoal, new Error('no tfjs package'));
  else {
    const answer = await nodeAnswers!;
    if ('error' in answer) failed('tfjs', nodeLabel, classifyGoal, answer.error);
    else compare('tfjs', nodeLabel, answer.got, answer.seconds, classifyGoal, classifyCheck, 'ran beside the Chromium clients (seconds include sharing the CPU)');
  }

  // 4d. onnxruntime-node on the recipe's pixels.
  const onnxLabel = 'onnxruntime-node + decodeRgb (the recipe\'s pixels)';
  const onnxGoal = 'max diff <= 1e-4';
  if (!exported.onnx) failed('onnx', onnxLabel, onnxGoal, new Error('no onnx package'));
  else {
    try {
      const t0 = performance.now();
      const got = await classifyWithOnnx(exported.onnx);
      compare('onnx', onnxLabel, got, (performance.now() - t0) / 1000, onnxGoal, (r) => r.maxDiff <= 1e-4);
    } catch (error) {
      failed('onnx', onnxLabel, onnxGoal, error);
    }
  }

  console.log(`Export clients vs pawprint predict: run ${trained.runId} (mobilenetv2 default preset, bundled alpha 0.35, ${runDetail.config.imageSize.height}x${runDetail.config.imageSize.width}, ${values.epochs} epochs, ${summary.imported} photos imported), `
    + `${held.length} held-out photos (${HELD_PER_CLASS} per class, files after the first ${TRAIN_PER_CLASS}); pawprint predict accuracy ${(100 * pawprintAccuracy).toFixed(1)}%`);
  printTable(['target', 'client', 'same class', 'max |p - predict|', 'accuracy', 'seconds', 'goal', 'result'], rows.map((r) => [
    r.target, r.client, `${r.sameClass}/${held.length}`, Number.isNaN(r.maxDiff) ? '-' : r.maxDiff.toExponential(2), Number.isNaN(r.accuracy) ? '-' : `${(100 * r.accuracy).toFixed(1)}%`,
    r.seconds.toFixed(0), r.goal, r.error ? `FAIL (${r.error})` : r.pass ? 'pass' : 'FAIL',
  ]));
  for (const r of rows) if (r.note) console.log(`${r.target}: ${r.note}`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/export-clients.json', `${JSON.stringify({
    date: new Date().toISOString(), runId: trained.runId, preset: 'mobilenetv2', imageSize: runDetail.config.imageSize, epochs: Number(values.epochs),
    trainPerClass: TRAIN_PER_CLASS, heldPerClass: HELD_PER_CLASS, trainSeconds, bestValAccuracy: runDetail.bestValAccuracy, pawprintAccuracy, rows,
  }, null, 2)}\n`);

  // --- clients -----------------------------------------------------------------------------------------------

  async function classifyInChromium(packageDir: string): Promise<{ got: Probabilities[]; backend: string }> {
    const { server, url } = await serve({ '/pkg/': packageDir, '/tfjs/': TFJS_DIST, '/held/': join(work.path, 'held') });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--headless'] });
    try {
      const page = await browser.newPage();
      page.on('console', (message) => console.error(`chromium: ${message.text()}`));
      await page.goto(`${url}/page.html`);
      return await page.evaluate(async ({ images, backend }) => {
        // The page's DOM types are not in the Node project's lib: described as far as used.
        type Picture = { src: string; decode(): Promise<void> };
        type Tf = { loadLayersModel(url: string): Promise<unknown>; setBackend(name: string): Promise<boolean>; ready(): Promise<void>; getBackend(): string };
        const tf = (globalThis as unknown as { tf: Tf }).tf;
        await tf.setBackend(backend);
        await tf.ready();
        const { classify } = (await import('/pkg/classify.js' as string)) as { classify(model: unknown, image: Picture): Promise<Array<{ probability: number }>> };
        const model = await tf.loadLayersModel('/pkg/model.json');
        const Picture = (globalThis as unknown as { Image: new () => Picture }).Image;
        const got: number[][] = [];
        for (const src of images) {
          const img = new Picture();
          img.src = src;
          await img.decode();
          got.push((await classify(model, img)).map((c) => c.probability));
          if (got.length % 50 === 0) console.log(`classify.js: ${got.length}/${images.length}`);
        }
        return { got, backend: tf.getBackend() };
      }, { images: held.map((h) => h.url), backend: BROWSER_BACKEND });
    } finally {
      await browser.close();
      server.close();
    }
  }

  async function classifyInNode(packageDir: string): Promise<Probabilities[]> {
    const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
    const snippet = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## In Node.js')))?.[1];
    if (!snippet) throw new Error('the README has no Node snippet');
    // The snippet as written, its last three lines (one photo, one printed answer) looped over a list of photos.
    const head = snippet.slice(0, snippet.indexOf('const photo'));
    const perPhoto = snippet.slice(snippet.indexOf('const { data, info }')).replace('console.log(JSON.stringify(await classify(model, image)));', 'console.log(JSON.stringify(await classify(model, image))); image.dispose();');
    if (!head.includes('loadLayersModel') || !perPhoto.includes('sharp(photo)')) throw new Error('the README\'s Node snippet changed shape: update bench/export-clients.ts');
    await writeFile(join(packageDir, 'bench-loop.mjs'), `${head}for (const photo of JSON.parse(readFileSync(process.argv[2], 'utf8'))) {\n${perPhoto}}\n`);
    if (!existsSync(join(packageDir, 'node_modules'))) await symlink(NODE_MODULES, join(packageDir, 'node_modules'), 'dir');
    const list = join(work.path, 'held.json');
    await writeFile(list, JSON.stringify(held.map((h) => h.path)));
    const { stdout } = await run(process.execPath, ['bench-loop.mjs', list], { cwd: packageDir, timeout: 1_800_000, maxBuffer: 64 * 1024 * 1024 });
    const lines = stdout.trim().split('\n').filter((line) => line.startsWith('['));
    return lines.map((line) => {
      const answer = JSON.parse(line) as Array<{ className: string; probability: number }>;
      return classNames.map((name) => answer.find((a) => a.className === name)?.probability ?? NaN);
    });
  }

  async function classifyWithOnnx(packageDir: string): Promise<Probabilities[]> {
    // The recipe's numbers, as classify.py carries them.
    const py = await readFile(join(packageDir, 'classify.py'), 'utf8');
    const literal = /SPEC = json\.loads\(("(?:[^"\\]|\\.)*")\)/.exec(py)?.[1];
    if (!literal) throw new Error('classify.py has no SPEC');
    const spec = JSON.parse(JSON.parse(literal) as string) as { height: number; width: number; fit: string; scale: number; offset: number; scaleInModel: boolean; output: { kind: string; units: number } };
    const ort = onnxRuntime();
    const session = await ort.InferenceSession.create(join(packageDir, 'model.onnx'));
    try {
      const got: Probabilities[] = [];
      for (const h of held) {
        const rgb = await decodeRgb(await readFile(h.path), spec.height, spec.width, spec.fit === 'center-crop' ? 'cover' : 'fill');
        const x = Float32Array.from(rgb, (v) => (spec.scaleInModel ? v : v * spec.scale + spec.offset));
        const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, spec.height, spec.width, 3]) });
        const row = Array.from(out[session.outputNames[0]!]!.data as Float32Array, Number);
        if (spec.output.kind === 'probabilities') got.push(row);
        else if (spec.output.units === 1) {
          const p1 = 1 / (1 + Math.exp(-row[0]!));
          got.push([1 - p1, p1]);
        } else {
          const top = Math.max(...row);
          const e = row.map((v) => Math.exp(v - top));
          const sum = e.reduce((a, b) => a + b, 0);
          got.push(e.map((v) => v / sum));
        }
      }
      return got;
    } finally {
      await session.release();
    }
  }
} finally {
  await services.close();
  work.cleanup();
}
