// Catalogue fixtures for the runs tests: a dataset with labelled images and a split, and finished runs, written
// straight into a temporary catalogue so these tests do not depend on the import pipeline.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../../../electron/catalogue/database';
import { addEpoch, createRun, finishRun, markRunning } from '../../../electron/catalogue/runs';
import { parseTrainingConfig } from '../../../shared/training-config';
import type { TrainingConfigInput } from '../../../shared/training-config';
import type { TestContext } from 'node:test';
import { createServices } from '../../../electron/services/index';
import type { Services } from '../../../electron/services/index';
import type { JobRuntimeOptions } from '../../../electron/jobs/runtime';
import type { TaskRegistry } from '../../../electron/jobs/worker/tasks';
import type { PredictedRow } from '../../../electron/inference/task-types';
import type { ExportModelInfo } from '../../../shared/contract/export';
import { inProcessWorker } from '../../support/in-process-worker';
import type { InProcessWorker } from '../../support/in-process-worker';
import { tempDir, tempPaths } from '../../support/temp';

export interface FixtureImage {
  id: number;
  path: string;
  className: string;
  subset: 'train' | 'val' | 'test';
}

export interface FixtureDataset {
  datasetId: number;
  splitId: number;
  classIds: Record<string, number>;
  images: FixtureImage[];
}

/** `perClass` images per subset for each class; files are not real images (the tests' predictors never read them). */
export function insertDataset(db: Database, root: string, name: string, classes: string[], perClass: { train: number; val: number; test: number }): FixtureDataset {
  const datasetId = Number(db.prepare('INSERT INTO datasets (name, root_path) VALUES (?, ?)').run(name, root).lastInsertRowid);
  const classIds: Record<string, number> = {};
  classes.forEach((className, position) => {
    classIds[className] = Number(
      db.prepare('INSERT INTO classes (dataset_id, name, color, position) VALUES (?, ?, ?, ?)').run(datasetId, className, '#336699', position).lastInsertRowid,
    );
  });
  const splitId = Number(
    db.prepare(`INSERT INTO splits (dataset_id, method, seed, train_fraction, val_fraction, test_fraction, data_hash) VALUES (?, 'stratified', 1, 0.6, 0.2, 0.2, 'h')`)
      .run(datasetId).lastInsertRowid,
  );
  const images: FixtureImage[] = [];
  let n = 0;
  for (const className of classes) {
    for (const subset of ['train', 'val', 'test'] as const) {
      for (let i = 0; i < perClass[subset]; i++) {
        const rel = `${className}/${subset}-${i}.jpg`;
        const id = Number(
          db.prepare(`INSERT INTO images (dataset_id, rel_path, content_hash, byte_size, mtime_ms, status, folder_label) VALUES (?, ?, ?, 1, 0, 'ok', ?)`)
            .run(datasetId, rel, `${name}-hash-${n++}`, className).lastInsertRowid,
        );
        db.prepare(`INSERT INTO labels (image_id, class_id, source) VALUES (?, ?, 'folder')`).run(id, classIds[className]);
        db.prepare('INSERT INTO split_assignments (split_id, image_id, subset) VALUES (?, ?, ?)').run(splitId, id, subset);
        images.push({ id, path: join(root, className, `${subset}-${i}.jpg`), className, subset });
      }
    }
  }
  return { datasetId, splitId, classIds, images };
}

/** A completed run with a few epochs and a model folder under `modelsDir`. */
export function insertRun(
  db: Database,
  dataset: FixtureDataset,
  options: { name: string; classNames: string[]; config?: TrainingConfigInput; modelsDir: string; epochs?: number },
): { runId: number; modelPath: string } {
  const config = parseTrainingConfig({ preset: 'cnn', epochs: options.epochs ?? 3, imageSize: { height: 32, width: 32 }, ...options.config });
  const runId = createRun(db, { datasetId: dataset.datasetId, splitId: dataset.splitId, name: options.name, config, classNames: options.classNames, dataHash: 'h' });
  markRunning(db, runId, 'cpu', { tfjs: '4.22.0' });
  for (let epoch = 1; epoch <= (options.epochs ?? 3); epoch++) {
    addEpoch(db, runId, { phase: 'train', epoch, loss: 1 / epoch, accuracy: 0.5 + epoch / 10, valLoss: 1.1 / epoch, valAccuracy: 0.45 + epoch / 10, durationMs: 100 });
  }
  const modelPath = join(options.modelsDir, `run-${runId}`);
  mkdirSync(modelPath, { recursive: true });
  writeFileSync(join(modelPath, 'model.json'), '{}');
  finishRun(db, runId, { status: 'completed', bestEpoch: options.epochs ?? 3, bestValAccuracy: 0.75, testAccuracy: 0.7, testLoss: 0.6, modelPath });
  return { runId, modelPath };
}

/**
 * A fake of the worker's 'predict-files' task driven by a table: probabilities per (model path, file path), sent back
 * as 'rows' events batch by batch like the real task; files missing from the table get an error, as unreadable files
 * do with the real one. `calls` counts the predictions asked for.
 */
export function tablePredictTask(classNames: string[], table: Map<string, Map<string, number[]>>): PredictFilesTask & { calls: number } {
  const task = (async (input, io) => {
    task.calls++;
    const byFile = table.get(input.model.path) ?? new Map<string, number[]>();
    for (let offset = 0; offset < input.files.length; offset += input.batchSize) {
      if (io.signal.aborted) break;
      const rows: PredictedRow[] = input.files.slice(offset, offset + input.batchSize).map(({ path, name }) => {
        const probabilities = byFile.get(path);
        if (!probabilities) return { error: `cannot read ${name} as an image: file not found` };
        const predictedIndex = probabilities.indexOf(Math.max(...probabilities));
        return { probabilities, outputs: probabilities, predictedIndex };
      });
      io.event({ type: 'rows', offset, rows });
      const done = offset + rows.length;
      io.progress({ phase: 'predicting', done, total: input.files.length, etaSeconds: null, message: null, detail: null });
      // A turn of the event loop per batch, as between a real worker's messages: cancel can arrive in between.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { model: fakeModelInfo(input.model.hints?.classNames ?? classNames), count: input.files.length };
  }) as PredictFilesTask & { calls: number };
  task.calls = 0;
  return task;
}

export type PredictFilesTask = TaskRegistry['predict-files'];

export function fakeModelInfo(classNames: string[]): ExportModelInfo {
  return {
    kind: 'pawprint-run', label: 'table', classNames, imageSize: { height: 32, width: 32 }, preprocessing: 'none', resize: 'fill', output: 'probabilities',
  };
}

export interface RunsServices {
  services: Services;
  dir: string;
  worker: InProcessWorker;
}

/**
 * Services on a catalogue of the test's own whose worker tasks run in this process (`tasks`), with quick progress and
 * polling; closed and removed when the test ends.
 */
export function runsServices(t: TestContext, tasks: Partial<TaskRegistry>, jobs: Partial<Omit<JobRuntimeOptions, 'db' | 'paths' | 'appVersion' | 'events'>> = {}): RunsServices {
  const dir = tempDir('pawprint-runs-');
  const worker = inProcessWorker(tasks);
  let services: Services;
  try {
    services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' }, jobs: { workers: worker, progressIntervalMs: 0, pollMs: 20, ...jobs } });
  } catch (error) {
    dir.cleanup();
    throw error;
  }
  t.after(async () => {
    try {
      await services.close();
    } finally {
      dir.cleanup();
    }
  });
  return { services, dir: dir.path, worker };
}

/** Writes each fixture image as a real PNG: reddish for the first class, bluish for the others, with per-image noise. */
export async function writeFixtureImages(images: readonly FixtureImage[], classNames: readonly string[], size = 16): Promise<void> {
  const { default: sharp } = await import('sharp');
  for (const [n, image] of images.entries()) {
    const base = image.className === classNames[0] ? [190, 90, 70] : [80, 100, 180];
    const data = Buffer.alloc(size * size * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, base[i % 3]! + (((i * 31 + n * 17) % 41) - 20)));
    mkdirSync(join(image.path, '..'), { recursive: true });
    writeFileSync(image.path, await sharp(data, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer());
  }
}
