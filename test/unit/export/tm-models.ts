// Models for the Teachable Machine export tests, saved as a run saves them and loaded back as export loads a run:
// mobilenetv2 (alpha 0.35, random weights, frozen or fine-tuned), the CNN presets, and generated images.
import { join } from 'node:path';
import sharp from 'sharp';
import type { LayersModel } from '../../../electron/tfjs/tf';
import { saveModelToFolder } from '../../../electron/inference/model-folder';
import { loadModel, type LoadedModel } from '../../../electron/inference/loader';
import { baseWeightsFromModel } from '../../../electron/training/mobilenet/fold-batchnorm';
import { buildFeatureHead, buildMobileNetV2, buildTransferModel, type TransferHeadOptions } from '../../../electron/training/mobilenet/mobilenet-v2';
import { assembleFineTuned, buildTopModel, planFineTune } from '../../../electron/training/worker/fine-tune';
import { buildPresetModel } from '../../../electron/training/presets';
import { presetDefaults, type Preprocessing } from '../../../shared/training-config';
import { imageBatch, randomizeWeights } from './onnx-helpers';

export function classNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `class ${String.fromCharCode(97 + i)}`);
}

/** Saves `model` as a run's model folder and loads it as the export job does (kind pawprint-run, the run's facts as hints). */
export async function asRun(model: LayersModel, folder: string, classes: number, preprocessing: Preprocessing = 'symmetric'): Promise<LoadedModel> {
  await saveModelToFolder(model, folder);
  const size = model.inputs[0].shape as number[];
  return loadModel(folder, { kind: 'pawprint-run', hints: { classNames: classNames(classes), imageSize: { height: size[1], width: size[2] }, preprocessing } });
}

/** The mobilenetv2 preset's frozen model (Rescaling -> base -> pooling -> head) with random weights. */
export function frozenMobileNet(imageSize: number, head: TransferHeadOptions, seed: number): LayersModel {
  const base = buildMobileNetV2({ alpha: 0.35, imageSize });
  randomizeWeights(base, seed);
  const model = buildTransferModel(base, head, true);
  randomizeWeights(model, seed + 1);
  return model;
}

/** The mobilenetv2 preset's fine-tuned model (Rescaling -> frozen bottom -> folded top blocks + head). */
export function fineTunedMobileNet(imageSize: number, head: TransferHeadOptions, blocks: number, seed: number): { model: LayersModel; dispose(): void } {
  const base = buildMobileNetV2({ alpha: 0.35, imageSize });
  randomizeWeights(base, seed);
  const weights = baseWeightsFromModel(base, 0.35);
  base.dispose();
  const plan = planFineTune(weights, imageSize, blocks);
  const featureHead = buildFeatureHead(head);
  randomizeWeights(featureHead, seed + 1);
  const top = buildTopModel(weights, imageSize, plan, head, featureHead);
  featureHead.dispose();
  return assembleFineTuned(weights, imageSize, plan, top);
}

/** A CNN preset's model (a Sequential; 'cnn' has no Rescaling layer, 'cnn-normalize' has one) at a square size. */
export function cnnPreset(preset: 'cnn' | 'cnn-normalize', imageSize: number, classes: number, seed: number): LayersModel {
  const model = buildPresetModel({ ...presetDefaults(preset), imageSize: { height: imageSize, width: imageSize } }, classes);
  randomizeWeights(model, seed);
  return model;
}

/**
 * `count` image-like PNGs whose centre square is `size` x `size` pixels: square ones, and taller ones (size + 32
 * high) whose centre square both Pawprint's cover crop and TM's cropTo take at offset 16 with no resampling.
 */
export async function writeImages(folder: string, size: number, count: number, seed: number): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const height = i % 3 === 2 ? size + 32 : size;
    const batch = imageBatch(1, height, size, seed + i);
    const path = join(folder, `image-${size}-${i}.png`);
    await sharp(Buffer.from(Uint8Array.from(batch.data)), { raw: { width: size, height, channels: 3 } }).png().toFile(path);
    paths.push(path);
  }
  return paths;
}
