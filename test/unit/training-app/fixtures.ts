// A tiny two-class dataset for the training tests: generated PNGs (reddish squares vs bluish stripes, with noise)
// put into the catalogue through the dataset helper's catalogue functions, with a seeded train/val/test split.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Database } from '../../../electron/catalogue/database';
import { createDataset } from '../../../electron/catalogue/datasets';
import { upsertImage } from '../../../electron/catalogue/images';
import { ensureClass, setLabels } from '../../../electron/catalogue/labels';
import { dataHashOf, insertSplit } from '../../../electron/catalogue/splits';
import { mulberry32 } from '../../../shared/random';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import { buildMobileNetV2 } from '../../../electron/training/mobilenet/mobilenet-v2';
import { saveModelToFolder } from '../../../electron/inference/model-folder';
import { tempDir, tempPaths } from '../../support/temp';
import type { EventName, EventPayload } from '../../../shared/contract/index';
import type { JobFinished, JobProgress, JobStartIn } from '../../../shared/contract/jobs';

// The smallest run the fixtures train: a 4-filter conv at 24x24 on WebAssembly, one epoch.
export const tinyConfig = {
  preset: 'custom',
  imageSize: { height: 24, width: 24 },
  batchSize: 8,
  backend: 'wasm',
  epochs: 1,
  customLayers: [
    { type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3 },
    { type: 'globalPool', mode: 'max' },
  ],
};

export async function writeImages(root: string, perClass: number, size: number, seed = 1): Promise<Array<{ path: string; rel: string; cls: string }>> {
  const rng = mulberry32(seed);
  const out: Array<{ path: string; rel: string; cls: string }> = [];
  for (const cls of ['cats', 'dogs']) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.alloc(size * size * 3);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const o = (y * size + x) * 3;
          const noise = Math.floor(rng() * 60);
          if (cls === 'cats') {
            pixels[o] = 180 + Math.floor(noise / 2);
            pixels[o + 1] = 60 + noise;
            pixels[o + 2] = 40;
          } else {
            const stripe = Math.floor(x / 4) % 2 === 0 ? 80 : 0;
            pixels[o] = 30;
            pixels[o + 1] = 60 + stripe;
            pixels[o + 2] = 150 + noise;
          }
        }
      }
      const rel = `${cls}/${cls}-${i}.png`;
      const path = join(root, rel);
      await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toFile(path);
      out.push({ path, rel, cls });
    }
  }
  return out;
}

/** Creates a labelled dataset with a split (every 4th image to val, every 8th to test) and returns its ids. */
export async function seedDataset(db: Database, root: string, options: { perClass?: number; size?: number; name?: string } = {}) {
  const files = await writeImages(root, options.perClass ?? 12, options.size ?? 32);
  const dataset = createDataset(db, options.name ?? 'tiny', root, 'folders');
  const classIds = new Map<string, number>();
  const assignments = new Map<number, 'train' | 'val' | 'test'>();
  const lines: Array<{ contentHash: string; className: string; subset: 'train' | 'val' | 'test' }> = [];
  const labels: Array<{ imageId: number; classId: number }> = [];
  files.forEach((file, i) => {
    const bytes = readFileSync(file.path);
    const contentHash = createHash('sha256').update(bytes).digest('hex');
    const imageId = upsertImage(db, dataset.id, {
      relPath: file.rel, contentHash, byteSize: bytes.length, mtimeMs: statSync(file.path).mtimeMs, width: options.size ?? 32,
      height: options.size ?? 32, format: 'png', colorSpace: 'srgb', channels: 3, hasAlpha: false, orientation: null, status: 'ok',
      reason: null, duplicateOf: null, folderLabel: file.cls, folderSplit: null,
    });
    if (!classIds.has(file.cls)) classIds.set(file.cls, ensureClass(db, dataset.id, file.cls));
    labels.push({ imageId, classId: classIds.get(file.cls)! });
    const subset = i % 8 === 7 ? 'test' : i % 4 === 3 ? 'val' : 'train';
    assignments.set(imageId, subset);
    lines.push({ contentHash, className: file.cls, subset });
  });
  setLabels(db, dataset.id, labels);
  const splitId = insertSplit(db, dataset.id, { method: 'stratified', seed: 1, train: 0.625, val: 0.25, test: 0.125, dataHash: dataHashOf(lines) }, assignments);
  return { datasetId: dataset.id, splitId, imageIds: [...assignments.keys()] };
}

/** Resolves with the first event of that name matching `where` (rejects after timeoutMs). */
export function waitForEvent<E extends EventName>(
  services: Services, name: E, where: (payload: EventPayload<E>) => boolean, timeoutMs = 60_000,
): Promise<EventPayload<E>> {
  return services.app.events.next(name, where, timeoutMs);
}

export type TrainFinished = Extract<JobFinished, { kind: 'train' }>;
type TrainJobInput = Extract<JobStartIn, { kind: 'train' }>['input'];
/** A train job's input with the config as the tests write it (plain objects; jobs.start checks it field by field). */
export type TrainInput = Omit<TrainJobInput, 'config'> & { config: Record<string, unknown> };

/**
 * Starts a run as a train job (jobs.start) and answers its job and run ids and its end as jobs.finished carries it,
 * listened for from before the start (a refused run can end before the answer arrives).
 */
export async function startTrain(services: Services, input: TrainInput, timeoutMs = 300_000): Promise<{ jobId: number; runId: number; finished: Promise<TrainFinished> }> {
  const ends = new Map<number, TrainFinished>();
  const waiting = new Map<number, (end: TrainFinished) => void>();
  const off = services.app.events.onAny((name, payload) => {
    const end = payload as JobFinished;
    if (name !== 'jobs.finished' || end.kind !== 'train') return;
    ends.set(end.id, end);
    waiting.get(end.id)?.(end);
  });
  let job;
  try {
    ({ job } = await services.request('jobs.start', { kind: 'train', input: { ...input, config: input.config as TrainJobInput['config'] } }));
  } catch (error) {
    off();
    throw error;
  }
  const jobId = job.id;
  if (job.runId === null) throw new Error(`train job ${jobId} has no run`);
  const finished = new Promise<TrainFinished>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`train job ${jobId} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    const done = (end: TrainFinished) => {
      clearTimeout(timer);
      off();
      resolve(end);
    };
    const already = ends.get(jobId);
    if (already) done(already);
    else waiting.set(jobId, done);
  });
  return { jobId, runId: job.runId, finished };
}

/** The next train-job progress of a job (detail.train: stage, epoch, batch) that satisfies `where`. */
export function trainProgress(services: Services, jobId: number, where: (detail: TrainDetail) => boolean, timeoutMs = 60_000): Promise<TrainDetail> {
  return services.app.events
    .next('jobs.progress', (progress) => progress.id === jobId && progress.detail?.type === 'train' && where(progress.detail), timeoutMs)
    .then((progress) => progress.detail as TrainDetail);
}
type TrainDetail = Extract<NonNullable<JobProgress['detail']>, { type: 'train' }>;

/** Records every event of a run, in order. */
export function recordEvents(services: Services): Array<{ name: EventName; payload: unknown }> {
  const seen: Array<{ name: EventName; payload: unknown }> = [];
  services.app.events.onAny((name, payload) => seen.push({ name, payload }));
  return seen;
}

/**
 * What the transfer-learning tests train on: a catalogue in a temp folder with a small seeded 2-class dataset, and a
 * random-weight alpha 0.35 MobileNetV2 base saved at 96x96 as a local model (no download).
 */
export async function openTransferFixture(prefix: string, options: { immediateProgress?: boolean; perClass?: number } = {}) {
  const dir = tempDir(prefix);
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: options.immediateProgress ? { progressIntervalMs: 0 } : {} });
  const { datasetId, splitId } = await seedDataset(services.app.db, join(dir.path, 'images'), { perClass: options.perClass ?? 8, size: 48 });
  const baseDir = join(dir.path, 'random-base');
  const base = buildMobileNetV2({ alpha: 0.35, imageSize: 96, includeTop: false });
  await saveModelToFolder(base, baseDir);
  base.dispose();
  return { dir, services, datasetId, splitId, baseDir };
}
