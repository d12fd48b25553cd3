// Scale (issue 17): N generated photos (bench/generate-photos.ts, 20,000 by default) through the real services and
// job runtime, stage by stage: import, unchanged re-scan, thumbnails, split, labelling a 1,000-image selection, the
// Dataset grid in Chromium through the browser host (first paint, frame times while scrolling), one epoch of cnn at
// 160 px, one epoch of mobilenetv2 with a cold feature cache, health, export. For each stage: wall time, images/s and
// the peak RSS of every process (this one, each job worker, Chromium), sampled from /proc (bench/_process-tree.ts).
// A stage that fails is reported in the table and the next ones still run (those needing it say so).
//
//   npm run bench -- scale [--n 20000] [--seed 1] [--keep DIR] [--stages import,rescan,grid,...]
//
// Photos are generated once per (n, seed) into $PAWPRINT_SCALE_CACHE (default <tmp>/pawprint-scale) and reused.
// --keep DIR keeps the catalogue, thumbnails, runs and exports in DIR instead of a temporary folder.
// A plain `npm run bench` (every bench) runs this one at 20,000 too. The grid stage needs the
// built renderer (npm run build, or PAWPRINT_RENDERER_DIR). Writes bench-results/scale.json (one entry per n).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createServices, type Services } from '../electron/services/index';
import { startWebHost } from '../electron/host/web';
import { rendererRoot } from '../electron/build-paths';
import { resolvePaths } from '../electron/paths';
import type { JobFinished, JobStartIn } from '../shared/contract/jobs';
import { mixSeeds, mulberry32, shuffleInPlace } from '../shared/random';
import { GENERATOR_VERSION, generatePhotos, type GenerateSummary } from './generate-photos';
import { PeakSampler, type TreePeaks } from './_process-tree';
import { printTable } from './_table';
import { parseScaleArgs, type ScaleArgs, type StageName } from './_scale-args';

const LABEL_SELECTION = 1000;
const CHROMIUM = process.env.PAWPRINT_CHROMIUM ?? '/usr/bin/chromium';
const VIEWPORT = { width: 1440, height: 900 };
const SLOW_FRAME_MS = 25;

export interface StageResult {
  stage: string;
  ok: boolean;
  seconds: number | null;
  imagesPerSecond: number | null;
  peaks: TreePeaks | null;
  notes: Record<string, unknown>;
  error: string | null;
  /** When the stage ended (ISO 8601). */
  date?: string;
}

/** Runs one stage under the memory sampler; a throw becomes the stage's error, never the bench's. */
async function runStage(name: string, images: number | null, body: (notes: Record<string, unknown>) => Promise<number | void>): Promise<StageResult> {
  const sampler = new PeakSampler(process.pid, 200);
  const notes: Record<string, unknown> = {};
  console.log(`-- ${name} ...`);
  sampler.start();
  const started = performance.now();
  try {
    const counted = await body(notes);
    const seconds = (performance.now() - started) / 1000;
    const count = typeof counted === 'number' ? counted : images;
    const peaks = sampler.stop();
    console.log(`   ${seconds.toFixed(1)} s${count ? `, ${(count / seconds).toFixed(1)} images/s` : ''}, peak main ${peaks.mainMb} MB` +
      `${peaks.workerMb !== null ? `, worker ${peaks.workerMb} MB` : ''}${peaks.chromiumMb !== null ? `, chromium ${peaks.chromiumMb} MB` : ''} ${JSON.stringify(notes)}`);
    return { stage: name, ok: true, seconds, imagesPerSecond: count ? count / seconds : null, peaks, notes, error: null };
  } catch (error) {
    const seconds = (performance.now() - started) / 1000;
    const message = error instanceof Error ? error.message : String(error);
    console.log(`   FAILED after ${seconds.toFixed(1)} s: ${message}`);
    return { stage: name, ok: false, seconds, imagesPerSecond: null, peaks: sampler.stop(), notes, error: message.split('\n')[0]!.slice(0, 300) };
  }
}

/** Starts a job through the contract and waits for its end; progress goes to the console every 30 s. */
async function runJob(services: Services, start: JobStartIn): Promise<JobFinished> {
  let lastLine = 0;
  const off = services.app.events.onAny((name, payload) => {
    if (name !== 'jobs.progress' || performance.now() - lastLine < 30_000) return;
    lastLine = performance.now();
    const progress = payload as { phase: string; done: number; total: number | null; etaSeconds: number | null };
    console.log(`   ${progress.phase} ${progress.done}${progress.total !== null ? `/${progress.total}` : ''}${progress.etaSeconds !== null ? ` (eta ${Math.round(progress.etaSeconds)} s)` : ''}`);
  });
  try {
    const { job } = await services.request('jobs.start', start);
    const finished = await services.app.jobs.wait(job.id);
    if (finished.status !== 'completed') throw new Error(`${start.kind} job ${finished.status}: ${finished.error ?? 'no reason given'}`);
    return finished;
  } finally {
    off();
  }
}

/** The photos for (n, seed), generated once into the cache folder and reused while its marker file matches. */
async function cachedPhotos(n: number, seed: number, notes: Record<string, unknown>): Promise<{ folder: string; generated: GenerateSummary | null }> {
  const root = process.env.PAWPRINT_SCALE_CACHE ?? path.join(tmpdir(), 'pawprint-scale');
  const folder = path.join(root, `photos-n${n}-seed${seed}-v${GENERATOR_VERSION}`);
  const marker = `${folder}.json`;
  notes.folder = folder;
  if (existsSync(marker) && existsSync(folder)) {
    notes.reused = true;
    return { folder, generated: null };
  }
  rmSync(folder, { recursive: true, force: true });
  let lastLine = performance.now();
  const generated = await generatePhotos({
    n, seed, out: folder,
    onProgress(done, total) {
      if (performance.now() - lastLine < 30_000) return;
      lastLine = performance.now();
      console.log(`   ${done}/${total}`);
    },
  });
  writeFileSync(marker, JSON.stringify({ n, seed, generatorVersion: GENERATOR_VERSION, ...generated }, null, 2));
  notes.megabytes = Math.round(generated.bytes / 1e6);
  notes.kilobytesEach = Math.round(generated.bytes / n / 1000);
  return { folder, generated };
}

interface GridMeasures {
  firstThumbnailMs: number;
  visibleThumbnailsMs: number;
  visibleCells: number;
  frames: number;
  slowFrames: number;
  frameP50Ms: number;
  frameP95Ms: number;
  frameMaxMs: number;
  jumpToMiddleMs: number;
  scrolledPx: number;
}

// Code run in the page, as source text: tsx would wrap functions written here in helpers the page does not have.
const CELLS_IN_VIEW = `(() => {
  const viewport = document.querySelector('[data-testid="image-grid"]');
  if (!viewport) return [];
  const box = viewport.getBoundingClientRect();
  return [...viewport.querySelectorAll('[data-testid="grid-cell"]')].filter((cell) => {
    const r = cell.getBoundingClientRect();
    return r.bottom > box.top && r.top < box.bottom;
  });
})()`;
const FIRST_THUMBNAIL_LOADED = `[...document.querySelectorAll('[data-testid="grid-cell"] img')].some((img) => img.complete && img.naturalWidth > 0)`;
/** Every thumbnail whose cell is inside the grid's viewport has decoded. */
const VISIBLE_THUMBNAILS_LOADED = `(() => {
  const cells = ${CELLS_IN_VIEW};
  return cells.length > 0 && cells.every((cell) => {
    const img = cell.querySelector('img');
    return img !== null && img.complete && img.naturalWidth > 0;
  });
})()`;
const VISIBLE_CELLS = `${CELLS_IN_VIEW}.length`;
/** Scrolls like a brisk wheel (40 px a frame, 2,400 px/s at 60 Hz) for 4 s, recording requestAnimationFrame gaps. */
const SCROLL_AND_TIME_FRAMES = `new Promise((resolve) => {
  const viewport = document.querySelector('[data-testid="image-grid"]');
  const gaps = [];
  const from = viewport.scrollTop;
  let last = performance.now();
  const begin = last;
  const step = (now) => {
    gaps.push(now - last);
    last = now;
    viewport.scrollTop += 40;
    if (now - begin < 4000) requestAnimationFrame(step);
    else resolve({ gaps: gaps.slice(1), scrolled: viewport.scrollTop - from });
  };
  requestAnimationFrame(step);
})`;
const JUMP_TO_MIDDLE = `(() => {
  const viewport = document.querySelector('[data-testid="image-grid"]');
  viewport.scrollTop = viewport.scrollHeight / 2;
})()`;

/** Opens the Dataset view at 1440x900 in Chromium through the browser host, then scrolls the grid. */
async function measureGrid(services: Services): Promise<GridMeasures> {
  const staticRoot = rendererRoot();
  if (!existsSync(path.join(staticRoot, 'index.html'))) throw new Error(`no built renderer in ${staticRoot}: run npm run build (or set PAWPRINT_RENDERER_DIR)`);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set PAWPRINT_CHROMIUM)`);
  const web = await startWebHost({ services, staticRoot });
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  try {
    // The page code below is source text, which the app's Content-Security-Policy (no eval) would refuse.
    const page = await (await browser.newContext({ viewport: VIEWPORT, bypassCSP: true })).newPage();
    // A wait that times out names what it waited for and leaves a screenshot of the page in test-output/.
    const step = async (what: string, wait: () => Promise<unknown>): Promise<void> => {
      try {
        await wait();
      } catch (error) {
        const shot = path.join(path.resolve(import.meta.dirname, '..'), 'test-output', 'scale-grid-failed.png');
        mkdirSync(path.dirname(shot), { recursive: true });
        await page.screenshot({ path: shot }).catch(() => undefined);
        throw new Error(`waiting for ${what}: ${(error as Error).message.split('\n')[0]} (screenshot: ${shot})`);
      }
    };
    await page.goto(web.launchUrl);
    await page.locator('nav a[data-view="dataset"]').waitFor();
    const started = performance.now();
    await page.locator('nav a[data-view="dataset"]').click();
    await step('the first thumbnail', () => page.waitForFunction(FIRST_THUMBNAIL_LOADED, undefined, { polling: 'raf', timeout: 120_000 }));
    const firstThumbnailMs = performance.now() - started;
    await step('every visible thumbnail', () => page.waitForFunction(VISIBLE_THUMBNAILS_LOADED, undefined, { polling: 'raf', timeout: 120_000 }));
    const visibleThumbnailsMs = performance.now() - started;
    const visibleCells = (await page.evaluate(VISIBLE_CELLS)) as number;
    const scroll = (await page.evaluate(SCROLL_AND_TIME_FRAMES)) as { gaps: number[]; scrolled: number };
    // A jump to the middle (dragging the scrollbar): until every visible thumbnail there has decoded.
    const jumpStarted = performance.now();
    await page.evaluate(JUMP_TO_MIDDLE);
    await step('the thumbnails after a jump to the middle', () => page.waitForFunction(VISIBLE_THUMBNAILS_LOADED, undefined, { polling: 'raf', timeout: 120_000 }));
    const jumpToMiddleMs = performance.now() - jumpStarted;
    const gaps = [...scroll.gaps].sort((a, b) => a - b);
    const quantile = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? 0;
    return {
      firstThumbnailMs, visibleThumbnailsMs, visibleCells,
      frames: gaps.length, slowFrames: gaps.filter((gap) => gap > SLOW_FRAME_MS).length,
      frameP50Ms: quantile(0.5), frameP95Ms: quantile(0.95), frameMaxMs: gaps.at(-1) ?? 0,
      jumpToMiddleMs, scrolledPx: scroll.scrolled,
    };
  } finally {
    await browser.close();
    await web.close();
  }
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

async function main(): Promise<void> {
  let args: ScaleArgs;
  try {
    args = parseScaleArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`scale: ${(error as Error).message}`);
    process.exit(2);
  }
  if (process.platform !== 'linux') console.log('scale: peak memory is read from /proc; on this system only this process is measured');
  const { n } = args;
  console.log(`scale: ${n} photos (${args.nFrom}), seed ${args.seed}, stages ${args.stages.join(', ')}; ${cpus().length} CPUs, load ${loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  const repoRoot = path.resolve(import.meta.dirname, '..');
  const results: StageResult[] = [];
  const machine = { cpus: cpus().length, loadAverageAtStart: loadavg().map((v) => round(v, 2)), totalMemoryMb: Math.round(totalmem() / 2 ** 20), freeMemoryMbAtStart: Math.round(freemem() / 2 ** 20) };
  // Written after every stage: a run at 100,000 takes hours, and one stopped part-way keeps what it measured.
  const record = (result: StageResult) => {
    results.push({ ...result, date: new Date().toISOString() });
    writeResults(repoRoot, args, machine, results);
  };

  let folder = '';
  const generate = await runStage('generate photos', n, async (notes) => {
    const photos = await cachedPhotos(n, args.seed, notes);
    folder = photos.folder;
    if (photos.generated) {
      notes.threads = photos.generated.threads;
      notes.cpuMsEach = round(photos.generated.cpuMillisecondsPerImage);
    }
    else return 0;
  });
  record(generate);
  if (!generate.ok) return finish(repoRoot, args, machine, results);

  const work = args.keep ?? path.join(tmpdir(), `pawprint-scale-run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const services = createServices({ paths: resolvePaths({ db: path.join(work, 'catalogue.db'), env: {} }), host: { kind: 'web' } });
  let datasetId: number | null = null;
  let splitId: number | null = null;
  let cnnRunId: number | null = null;
  let mobilenetRunId: number | null = null;
  const skipped = (stage: StageName, missing: string): StageResult => ({ stage, ok: false, seconds: null, imagesPerSecond: null, peaks: null, notes: {}, error: `skipped: ${missing} failed` });
  try {
    for (const stage of args.stages) {
      if (stage !== 'import' && datasetId === null) {
        record(skipped(stage, 'import'));
        continue;
      }
      const dataset = datasetId!;
      switch (stage) {
        case 'import':
          record(await runStage('import (first)', n, async (notes) => {
            const finished = await runJob(services, { kind: 'import', input: { path: folder, name: `scale-${n}` } });
            if (finished.kind !== 'import' || !finished.result) throw new Error('the import answered no summary');
            datasetId = finished.result.datasetId;
            notes.imported = finished.result.imported;
            notes.rejected = finished.result.rejected.length;
            if (finished.result.imported !== n) throw new Error(`imported ${finished.result.imported} of ${n} photos`);
          }));
          break;
        case 'rescan':
          record(await runStage('re-scan (unchanged)', n, async (notes) => {
            const finished = await runJob(services, { kind: 'import', input: { path: folder, datasetId: dataset } });
            if (finished.kind !== 'import' || !finished.result) throw new Error('the re-scan answered no summary');
            notes.unchanged = finished.result.unchanged;
            if (finished.result.unchanged !== n) throw new Error(`re-scan saw ${finished.result.unchanged} of ${n} unchanged`);
          }));
          break;
        case 'thumbnails':
          // The grid's thumbnails, made (or found made by the import) through the media resolver the hosts serve.
          record(await runStage('thumbnails (all)', n, async (notes) => {
            const ids = await services.request('images.ids', { datasetId: dataset });
            let next = 0;
            let missing = 0;
            await Promise.all(Array.from({ length: 3 }, async () => {
              while (next < ids.length) {
                const file = await services.app.media.resolve('thumb', String(ids[next++]!));
                if (!file) missing++;
              }
            }));
            notes.thumbnails = ids.length - missing;
            if (missing > 0) throw new Error(`${missing} thumbnails could not be made`);
          }));
          break;
        case 'split':
          record(await runStage('split 70/20/10', n, async (notes) => {
            const split = await services.request('splits.create', { datasetId: dataset, train: 0.7, val: 0.2, test: 0.1, seed: 1 });
            splitId = split.id;
            notes.counts = split.counts;
          }));
          break;
        case 'label':
          // A 1,000-image selection moved to another class, then put back as it was (the undo the UI would send).
          record(await runStage(`label ${LABEL_SELECTION} selected`, LABEL_SELECTION, async (notes) => {
            const summary = await services.request('datasets.get', { datasetId: dataset });
            const target = summary.classes[0];
            if (!target) throw new Error('the dataset has no classes');
            const ids = shuffleInPlace(await services.request('images.ids', { datasetId: dataset }), mulberry32(mixSeeds(args.seed, 'label')));
            const selection = ids.slice(0, LABEL_SELECTION);
            const assignStarted = performance.now();
            const { changes } = await services.request('labels.assign', { datasetId: dataset, imageIds: selection, classId: target.id });
            notes.assignMs = Math.round(performance.now() - assignStarted);
            const undoStarted = performance.now();
            await services.request('labels.restore', { datasetId: dataset, labels: changes.map((change) => ({ imageId: change.imageId, classId: change.before, source: change.beforeSource ?? null })) });
            notes.undoMs = Math.round(performance.now() - undoStarted);
            notes.changed = changes.filter((change) => change.before !== change.after).length;
            const pageStarted = performance.now();
            await services.request('images.query', { datasetId: dataset, filter: { status: 'ok' }, offset: Math.floor(n / 2), limit: 200 });
            notes.middlePageMs = Math.round(performance.now() - pageStarted);
            return selection.length;
          }));
          break;
        case 'grid':
          record(await runStage('grid in Chromium', null, async (notes) => {
            const measures = await measureGrid(services);
            for (const [key, value] of Object.entries(measures)) notes[key] = round(value);
          }));
          break;
        case 'train-cnn':
        case 'train-mobilenet': {
          const preset = stage === 'train-cnn' ? 'cnn' : 'mobilenetv2';
          if (splitId === null) {
            record(skipped(stage, 'split'));
            break;
          }
          const split = splitId;
          record(await runStage(stage === 'train-cnn' ? 'train cnn 160 px, 1 epoch' : 'train mobilenetv2, 1 epoch, cold cache', null, async (notes) => {
            const finished = await runJob(services, { kind: 'train', input: { datasetId: dataset, splitId: split, name: `scale ${preset}`, config: preset === 'cnn' ? { preset, epochs: 1, imageSize: { height: 160, width: 160 } } : { preset, epochs: 1 } } });
            if (finished.kind !== 'train' || !finished.result) throw new Error('the training job answered no result');
            if (preset === 'cnn') cnnRunId = finished.result.runId;
            else mobilenetRunId = finished.result.runId;
            notes.valAccuracy = finished.result.bestValAccuracy === null ? null : round(finished.result.bestValAccuracy, 3);
            notes.testAccuracy = finished.result.testAccuracy === null ? null : round(finished.result.testAccuracy, 3);
            const summary = await services.request('datasets.get', { datasetId: dataset });
            // Images a training epoch goes through: the split's train subset.
            return summary.latestSplit?.counts.train ?? n;
          }));
          break;
        }
        case 'health':
          record(await runStage('health', n, async (notes) => {
            const { jobId } = await services.request('health.run', { datasetId: dataset });
            const finished = await services.app.jobs.wait(jobId);
            if (finished.status !== 'completed') throw new Error(`health job ${finished.status}: ${finished.error ?? 'no reason given'}`);
            const { report } = await services.request('health.latest', { datasetId: dataset });
            if (report) notes.counts = report.counts;
          }));
          break;
        case 'export': {
          // cnn's run when there is one (the export's cost does not depend on N), else mobilenetv2's.
          const exported = cnnRunId !== null ? { runId: cnnRunId, preset: 'cnn' } : mobilenetRunId !== null ? { runId: mobilenetRunId, preset: 'mobilenetv2' } : null;
          if (exported === null) {
            record(skipped(stage, 'training'));
            break;
          }
          record(await runStage(`export ${exported.preset} (tfjs zip)`, null, async (notes) => {
            const finished = await runJob(services, { kind: 'export', input: { runId: exported.runId, target: 'tfjs', out: path.join(work, 'exports', `scale-${exported.preset}.zip`), overwrite: true } });
            if (finished.kind !== 'export' || !finished.result) throw new Error('the export answered no result');
            notes.result = finished.result;
          }));
          break;
        }
      }
    }
  } finally {
    await services.close();
    if (args.keep) console.log(`kept the catalogue, thumbnails, runs and exports in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  finish(repoRoot, args, machine, results);
}

function finish(repoRoot: string, args: ScaleArgs, machine: Record<string, unknown>, results: StageResult[]): void {
  const file = writeResults(repoRoot, args, machine, results);
  const cell = (value: number | null | undefined, digits = 1) => (value === null || value === undefined ? '-' : value.toFixed(digits));
  console.log('');
  printTable(['stage', 'seconds', 'images/s', 'main MB', 'worker MB', 'chromium MB', 'notes'], results.map((r) => [
    r.stage, cell(r.seconds), cell(r.imagesPerSecond), cell(r.peaks?.mainMb, 0), cell(r.peaks?.workerMb, 0), cell(r.peaks?.chromiumMb, 0),
    r.error ?? summariseNotes(r.notes),
  ]));
  console.log(`\nwrote ${path.relative(repoRoot, file)} (n = ${args.n})`);
}

/** Writes bench-results/scale.json with this run's stages so far; returns its path. */
function writeResults(repoRoot: string, args: ScaleArgs, machine: Record<string, unknown>, results: StageResult[]): string {
  const resultsDir = path.join(repoRoot, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, 'scale.json');
  // One entry per n, so the 20,000 and 100,000 runs sit side by side; a run of some stages (--stages) replaces only
  // those stages of the entry, each stage keeping the date of the run that measured it.
  let previous: { runs?: Record<string, { stages?: Array<{ stage: string }> }> } = {};
  try {
    previous = JSON.parse(readFileSync(file, 'utf8')) as typeof previous;
  } catch {
    previous = {};
  }
  const date = new Date().toISOString();
  const measured = results.filter((r) => r.stage !== 'generate photos' || r.imagesPerSecond !== null || !r.ok);
  const stages = measured.map((r) => ({ ...r, date: r.date ?? date, seconds: r.seconds === null ? null : round(r.seconds, 2), imagesPerSecond: r.imagesPerSecond === null ? null : round(r.imagesPerSecond) }));
  const earlier = (previous.runs?.[String(args.n)]?.stages ?? []).filter((old) => !stages.some((r) => r.stage === old.stage));
  const run = {
    date, n: args.n, seed: args.seed, machine: { ...machine, loadAverageAtEnd: loadavg().map((v) => round(v, 2)) },
    stages: [...earlier, ...stages],
  };
  writeFileSync(file, JSON.stringify({ bench: 'scale', runs: { ...(previous.runs ?? {}), [String(args.n)]: run } }, null, 2) + '\n');
  return file;
}

function summariseNotes(notes: Record<string, unknown>): string {
  const keys = ['reused', 'kilobytesEach', 'cpuMsEach', 'assignMs', 'undoMs', 'middlePageMs', 'firstThumbnailMs', 'visibleThumbnailsMs', 'frameP95Ms', 'slowFrames', 'frames', 'jumpToMiddleMs', 'valAccuracy', 'testAccuracy'];
  return keys.filter((key) => notes[key] !== undefined).map((key) => `${key} ${String(notes[key])}`).join(', ');
}

if (import.meta.filename === path.resolve(process.argv[1] ?? '')) await main();
