// Fixtures for the export tests (not a test file): generated images and a tiny model trained like the app does.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { tf, type LayersModel } from '../../../electron/tfjs/tf';
import { decodeImages, type ImageItem } from '../../../electron/training/data-pipeline';
import { imageTrainData, train } from '../../../electron/training/trainer';
import { parseTrainingConfig, type TrainingConfig } from '../../../shared/training-config';
import { mulberry32 } from '../../../shared/random';
import type { RunForExport } from '../../../electron/export/task-types';

export const CLASS_NAMES = ['blue', 'red'];

/**
 * Writes `perClass` noisy JPEGs per class into dir/<class>/: "red" images are mostly red, "blue" ones mostly blue,
 * in different sizes and aspect ratios so resizing is exercised. Returns the items (label = class index).
 */
export async function writeClassImages(dir: string, perClass: number, seed = 7): Promise<ImageItem[]> {
  const rng = mulberry32(seed);
  const items: ImageItem[] = [];
  for (const [label, name] of CLASS_NAMES.entries()) {
    await mkdir(join(dir, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const width = 40 + Math.floor(rng() * 30);
      const height = 30 + Math.floor(rng() * 30);
      const raw = Buffer.alloc(width * height * 3);
      for (let p = 0; p < width * height; p++) {
        const strong = 150 + rng() * 105;
        const weak = rng() * 90;
        raw[p * 3] = name === 'red' ? strong : weak;
        raw[p * 3 + 1] = rng() * 90;
        raw[p * 3 + 2] = name === 'blue' ? strong : weak;
      }
      const path = join(dir, name, `${name}-${i}.jpg`);
      await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(path);
      items.push({ key: `${name}-${i}`, path, label });
    }
  }
  return items;
}

export function tinyConfig(overrides: Record<string, unknown> = {}): TrainingConfig {
  return parseTrainingConfig({
    preset: 'custom',
    imageSize: { height: 24, width: 24 },
    epochs: 3,
    batchSize: 8,
    learningRate: 0.01,
    seed: 3,
    preprocessing: 'unit',
    customLayers: [
      { type: 'conv2d', filters: 4, kernelHeight: 3, kernelWidth: 3, padding: 'same' },
      { type: 'maxPool', poolSize: 2 },
      { type: 'globalPool', mode: 'average' },
      { type: 'dense', units: 8 },
    ],
    ...overrides,
  });
}

/**
 * Trains the tiny config on the items and leaves the best epoch's model in modelDir the way a run does (the
 * trainer's checkpoint: model.json, weights.bin, checkpoint.json; plus the legacy pawprint.json of run folders made
 * before metadata.json formatVersion 2, so these tests also keep that reader covered).
 */
export async function trainTinyRun(items: ImageItem[], modelDir: string, config = tinyConfig()): Promise<{ config: TrainingConfig; valAccuracy: number | null }> {
  const { height, width } = config.imageSize;
  const decoded = await decodeImages(items, { height, width });
  const data = imageTrainData(config, decoded, decoded, CLASS_NAMES, 1);
  const result = await train(config, data, {}, { checkpointDir: modelDir });
  result.model?.dispose();
  if (result.status !== 'completed' || !result.checkpointDir) throw new Error(`tiny training failed: ${result.error ?? result.status}`);
  await writeFile(join(modelDir, 'pawprint.json'), JSON.stringify({
    format: 'pawprint-model', version: 1, runId: 1, classNames: CLASS_NAMES, imageSize: config.imageSize,
    preprocessing: config.preprocessing, input: { range: [0, 255], channels: 3, layout: 'NHWC' },
    output: { activation: 'sigmoid', units: 1 }, config,
  }));
  const best = result.epochs.find((e) => e.epoch === result.bestEpoch);
  return { config, valAccuracy: best?.valAccuracy ?? null };
}

/** A run record as the catalogue would give it for a model in modelDir. */
export function runRecord(modelDir: string, config: TrainingConfig, extra: Partial<RunForExport> = {}): RunForExport {
  return {
    id: 1, name: 'tiny run', preset: config.preset, status: 'completed', modelPath: modelDir, classNames: CLASS_NAMES,
    config: config as RunForExport['config'], datasetId: 1, splitId: 1, dataHash: 'abc123', backend: tf.getBackend(),
    versions: { 'tfjs-core': tf.version['tfjs-core'] }, bestEpoch: 1, bestValAccuracy: 0.9, testAccuracy: 0.875, testLoss: 0.3,
    createdAt: new Date().toISOString(), finishedAt: new Date().toISOString(),
    epochs: [{ epoch: 1, loss: 0.5, accuracy: 0.8, valLoss: 0.4, valAccuracy: 0.9 }],
    ...extra,
  };
}

/**
 * Writes a Teachable Machine image-model export (model.json, weights.bin, metadata.json) the way TM's library
 * saves one: a Sequential holding the truncated base and a GlobalAveragePooling2D, then a Sequential head of
 * Dense(relu) and Dense(softmax) without bias. The base here is one small conv with fixed random weights.
 */
export async function writeTeachableMachineExport(dir: string, labels: string[], imageSize = 32): Promise<LayersModel> {
  const base = tf.sequential({ name: 'sequential_1' });
  base.add(tf.layers.conv2d({ inputShape: [imageSize, imageSize, 3], filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'Conv1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  base.add(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d_GlobalAveragePooling2D1' }));
  const head = tf.sequential({ name: 'sequential_3' });
  head.add(tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'dense_Dense1', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  head.add(tf.layers.dense({ units: labels.length, activation: 'softmax', useBias: false, name: 'dense_Dense2', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  const model = tf.sequential({ name: 'sequential_4' });
  model.add(base);
  model.add(head);
  await mkdir(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const data = artifacts.weightData!;
    const weights = Buffer.from(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
    await writeFile(join(dir, 'weights.bin'), weights);
    await writeFile(join(dir, 'model.json'), JSON.stringify({ modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  await writeFile(join(dir, 'metadata.json'), JSON.stringify({
    tfjsVersion: '1.3.1', tmVersion: '2.4.14', packageVersion: '0.8.4', packageName: '@teachablemachine/image',
    timeStamp: '2026-01-01T00:00:00.000Z', userMetadata: {}, modelName: 'tm-my-image-model', labels, imageSize,
  }));
  return model;
}
