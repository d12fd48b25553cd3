// Catalogue fixtures for the runs tests: a dataset with labelled images and a split, and finished runs, written
// straight into a temporary catalogue so these tests do not depend on the import pipeline.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../../../electron/catalogue/database';
import { addEpoch, createRun, finishRun, markRunning } from '../../../electron/catalogue/runs';
import { parseTrainingConfig } from '../../../shared/training-config';
import type { TrainingConfigInput } from '../../../shared/training-config';
import type { Predictor } from '../../../electron/evaluation/evaluate';

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
 * A predictor driven by a table: probabilities per (model path, file path); files missing from the table get an
 * error, as unreadable files do with the real one.
 */
export function tablePredictor(classNames: string[], table: Map<string, Map<string, number[]>>): Predictor & { calls: number } {
  const predictor = (async (modelPath, files, { onProgress }) => {
    predictor.calls++;
    const byFile = table.get(modelPath) ?? new Map<string, number[]>();
    return {
      classNames,
      results: files.map((file, i) => {
        onProgress?.(i + 1, files.length);
        const probabilities = byFile.get(file);
        return probabilities ? { probabilities } : { error: `cannot read ${file}` };
      }),
    };
  }) as Predictor & { calls: number };
  predictor.calls = 0;
  return predictor;
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
