// Exports a run's model as a self-describing package (one .zip, or a plain folder): model.json + weights.bin (a
// TF.js LayersModel), metadata.json and README.md. Every export is verified before it is reported: the written
// package is loaded back from disk into a fresh model and must predict what the in-app model predicts.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/image-policy';
import { readRegularFile } from '../files/read-regular-file';
import { tf, type LayersModel } from '../tfjs/tf';
import {
  MODEL_METADATA_FILE, buildModelMetadata, readModelMetadata, serializeModelMetadata, trainingConfigOrNull, type ModelMetadata,
} from '../inference/model-format';
import { decodeForModel } from '../inference/preprocess';
import { loadModel, type LoadedModel } from '../inference/loader';
import { predictPixels } from '../inference/predictor';
import { WEIGHTS_FILE, serializeModel } from '../inference/artifacts';
import { writeZip } from '../files/zip';
import { VERIFY_TOLERANCE, type RunForExport, type VerifyImage } from './task-types';

export { VERIFY_TOLERANCE };

/**
 * Layers that compute the same thing at inference in TF.js and Keras. Anything else (a training-only or custom
 * layer) would make the package unusable elsewhere, so the export refuses it.
 */
export const INFERENCE_LAYERS = new Set([
  'InputLayer', 'Rescaling', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling2D', 'AveragePooling2D',
  'GlobalMaxPooling2D', 'GlobalAveragePooling2D', 'BatchNormalization', 'Dropout', 'Flatten', 'Dense', 'ReLU',
  'Activation', 'ZeroPadding2D', 'Add', 'Concatenate', 'Reshape', 'Sequential', 'Model', 'Functional',
]);

// Declared tf-free in task-types.ts (the export kind needs them without loading TensorFlow.js).

export interface ExportOptions {
  run: RunForExport;
  out: string;
  format: 'zip' | 'folder';
  appVersion: string;
  /** Images to compare the two models on (the run's test images, or any given). */
  images: VerifyImage[];
  /** Replace an existing file/folder at `out`. */
  overwrite?: boolean;
  signal?: AbortSignal;
  onProgress?: (stage: 'loading' | 'packaging' | 'verifying', done: number, total: number) => void;
}

export interface ExportResult {
  path: string;
  format: 'zip' | 'folder';
  verified: true;
  maxAbsDiff: number;
  /** Images both models predicted (unreadable images are skipped and counted in `skipped`). */
  images: number;
  skipped: number;
  /** Same predicted class on every image (implied by maxAbsDiff < tolerance, reported for the UI). */
  agreement: number;
  bytes: number;
  files: string[];
}

function checkInferenceLayers(model: LayersModel): void {
  const walk = (layers: LayersModel['layers']): string[] => layers.flatMap((layer) => {
    const nested = (layer as unknown as { layers?: LayersModel['layers'] }).layers;
    return [layer.getClassName(), ...(Array.isArray(nested) ? walk(nested) : [])];
  });
  const unknown = [...new Set(walk(model.layers).filter((name) => !INFERENCE_LAYERS.has(name)))];
  if (unknown.length > 0) {
    throw new AppError('unsupported', `The model contains layers that are not plain inference layers (${unknown.join(', ')}); it cannot be exported as a portable TF.js/Keras model.`);
  }
}

function runMetrics(run: RunForExport): ModelMetadata['run']['metrics'] {
  const best = run.epochs.find((e) => e.epoch === run.bestEpoch) ?? null;
  const last = run.epochs.at(-1) ?? null;
  return {
    bestEpoch: run.bestEpoch,
    epochs: run.epochs.length,
    bestValAccuracy: run.bestValAccuracy,
    bestValLoss: best?.valLoss ?? null,
    trainAccuracyAtBest: best?.accuracy ?? null,
    trainLossAtBest: best?.loss ?? null,
    lastValAccuracy: last?.valAccuracy ?? null,
    testAccuracy: run.testAccuracy,
    testLoss: run.testLoss,
  };
}

export function buildMetadata(run: RunForExport, loaded: LoadedModel, appVersion: string, now = new Date()): ModelMetadata {
  if (loaded.preprocessing === 'teachable-machine') throw new AppError('unsupported', 'Teachable Machine models are not run models and cannot be exported here.');
  return buildModelMetadata({
    package: 'export',
    name: run.name,
    classNames: loaded.classNames,
    imageSize: loaded.imageSize,
    preprocessing: loaded.preprocessing,
    preprocessingInModel: loaded.preprocessingInModel,
    output: { kind: loaded.output, units: loaded.units },
    run: {
      id: run.id,
      name: run.name,
      preset: run.preset,
      datasetId: run.datasetId,
      splitId: run.splitId,
      dataHash: run.dataHash,
      config: trainingConfigOrNull(run.config),
      metrics: runMetrics(run),
      backend: run.backend,
      versions: run.versions,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
    },
    versions: {
      app: appVersion,
      tfjs: tf.version.tfjs ?? tf.version['tfjs-core'],
      'tfjs-core': tf.version['tfjs-core'],
      'tfjs-layers': tf.version['tfjs-layers'],
    },
    createdAt: now,
  });
}

/** The README shipped inside every package: how to use the model without Pawprint. */
export function buildReadme(meta: ModelMetadata): string {
  const { height, width } = meta.imageSize;
  const classes = meta.classNames.map((name, i) => `${i}: ${name}`).join(', ');
  const scaling = {
    none: 'none: the model takes raw 0..255 values',
    unit: 'x / 255, to [0, 1] — done by the Rescaling layer inside the model',
    symmetric: 'x / 127.5 - 1, to [-1, 1] — done by the Rescaling layer inside the model',
  }[meta.preprocessing];
  const toProbabilities = meta.output.activation === 'sigmoid'
    ? `const p1 = tf.sigmoid(logits); // probability of "${meta.classNames[1]}" (class 1); class 0 is 1 - p1`
    : 'const probs = tf.softmax(logits); // one probability per class, in metadata.classNames order';
  return `# ${meta.name}: image classifier exported by Pawprint

A TensorFlow.js LayersModel (\`model.json\` + \`${WEIGHTS_FILE}\`) and \`metadata.json\`.

- Classes (output order): ${classes}
- Input: one RGB image resized to ${width}x${height} (whole image, aspect ratio not kept, EXIF rotation applied),
  as float32 pixels 0..255, shape [batch, ${height}, ${width}, 3]. Scaling: ${scaling}.
- Output: ${meta.output.kind}, shape [batch, ${meta.output.units}]; ${meta.output.kind === 'logits' ? `apply ${meta.output.activation} to get probabilities` : 'already probabilities'}.
- Trained by Pawprint ${meta.versions.app} with TensorFlow.js ${meta.versions.tfjs}; run "${meta.run.name}" (preset ${meta.run.preset}),
  test accuracy ${meta.run.metrics.testAccuracy === null || meta.run.metrics.testAccuracy === undefined ? 'not measured' : `${(meta.run.metrics.testAccuracy * 100).toFixed(1)}%`}. The full training config is in metadata.json.

## In a browser

Serve this folder (unzipped) next to your page, then:

\`\`\`js
import * as tf from '@tensorflow/tfjs';

const model = await tf.loadLayersModel('./model/model.json');
const meta = await (await fetch('./model/metadata.json')).json();
const logits = tf.tidy(() => {
  const pixels = tf.browser.fromPixels(document.querySelector('img'));          // int32 0..255, [h, w, 3]
  const x = tf.image.resizeBilinear(pixels, [${height}, ${width}]).toFloat().expandDims(0); // no other scaling
  return model.predict(x);
});
${toProbabilities}
\`\`\`

## In Node.js

\`\`\`js
import * as tf from '@tensorflow/tfjs-node';   // provides the file:// loader and decodeImage
import { readFileSync } from 'node:fs';

const model = await tf.loadLayersModel('file://' + process.cwd() + '/model/model.json');
const x = tf.tidy(() => tf.image
  .resizeBilinear(tf.node.decodeImage(readFileSync('photo.jpg'), 3), [${height}, ${width}])
  .toFloat().expandDims(0));
const logits = model.predict(x);
\`\`\`

Without tfjs-node, read \`model.json\` and \`${WEIGHTS_FILE}\` yourself and load them with
\`tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs: weightsManifest[0].weights, weightData }))\`.
The Pawprint command line does the same: \`pawprint predict <this .zip or folder> <images or folders>\`.

## Convert to Keras or a TensorFlow SavedModel

With the Python converter (\`pip install tensorflowjs\`, in its own virtual environment):

\`\`\`sh
tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras model/model.json model.h5
tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras_saved_model model/model.json saved_model/
\`\`\`

The converted model expects the same input (0..255 pixels at ${width}x${height}) and gives the same ${meta.output.kind}.
`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * Replacing is limited to what an export writes: a file for zip, and for a folder only an empty one or an earlier
 * Pawprint export, so a mistyped path can never delete someone's folder. A run's model folder carries the same
 * metadata.json (package 'run') and is never an export's to replace.
 */
async function assertReplaceable(out: string, format: 'zip' | 'folder'): Promise<void> {
  const info = await stat(out);
  if (format === 'zip') {
    if (!info.isFile()) throw new AppError('conflict', `${out} is a folder; a .zip export can only replace a file.`);
    return;
  }
  if (!info.isDirectory()) throw new AppError('conflict', `${out} is a file; a folder export can only replace a folder.`);
  const names = await readdir(out);
  if (names.length === 0) return;
  // Read from `out` itself, never from a subfolder: a folder holding an export is not an export.
  const files = { label: out, names, read: (name: string, maxBytes: number) => (names.includes(name) ? readRegularFile(join(out, name), { maxBytes }) : Promise.resolve(null)) };
  const found = await readModelMetadata(files).catch(() => null);
  if (found?.format === 'pawprint' && found.metadata.package === 'run') {
    throw new AppError('conflict', `${out} is a run's model folder, not an earlier export; it will not be replaced: choose another folder.`);
  }
  if (found?.format !== 'pawprint' || found.file !== MODEL_METADATA_FILE) {
    throw new AppError('conflict', `${out} is a folder that is not an earlier Pawprint export; it will not be replaced.`);
  }
}

/** Compares the in-app model with the package read back from disk, image by image. */
async function verify(
  original: LoadedModel, exported: LoadedModel, images: VerifyImage[], options: Pick<ExportOptions, 'signal' | 'onProgress'>,
): Promise<{ maxAbsDiff: number; images: number; skipped: number; agreement: number }> {
  const sameConfig = original.classNames.join('\n') === exported.classNames.join('\n')
    && original.imageSize.height === exported.imageSize.height && original.imageSize.width === exported.imageSize.width
    && original.preprocessing === exported.preprocessing && original.preprocessingInModel === exported.preprocessingInModel
    && original.resize === exported.resize && original.output === exported.output && original.units === exported.units;
  if (!sameConfig) {
    throw new AppError('failed', `Verification failed: the exported metadata does not describe the model as the app uses it (classes ${exported.classNames.join(', ')} vs ${original.classNames.join(', ')}).`);
  }
  let maxAbsDiff = 0;
  let compared = 0;
  let skipped = 0;
  let agreement = 0;
  const batchSize = 16;
  for (let start = 0; start < images.length; start += batchSize) {
    options.signal?.throwIfAborted();
    const pixels: Uint8Array[] = [];
    for (const image of images.slice(start, start + batchSize)) {
      try {
        pixels.push(await decodeForModel(original, await readRegularFile(image.path, { maxBytes: MAX_IMAGE_FILE_BYTES })));
      } catch {
        skipped++;
      }
    }
    const [a, b] = [await predictPixels(original, pixels), await predictPixels(exported, pixels)];
    a.forEach((pa, i) => {
      const pb = b[i];
      for (let k = 0; k < pa.outputs.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(pa.outputs[k] - pb.outputs[k]));
      for (let k = 0; k < pa.probabilities.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(pa.probabilities[k] - pb.probabilities[k]));
      if (!Number.isFinite(maxAbsDiff)) maxAbsDiff = Infinity;
      if (pa.predictedIndex === pb.predictedIndex) agreement++;
    });
    compared += pixels.length;
    options.onProgress?.('verifying', Math.min(images.length, start + batchSize), images.length);
  }
  return { maxAbsDiff, images: compared, skipped, agreement };
}

/**
 * Writes the package and verifies it. On any failure (including a verification difference above
 * VERIFY_TOLERANCE, or no image to verify on) the partial output is deleted and an AppError is thrown.
 */
export async function exportRun(options: ExportOptions): Promise<ExportResult> {
  const { run, out, format } = options;
  if (run.status !== 'completed' && run.status !== 'cancelled') {
    throw new AppError('conflict', `Run ${run.id} is ${run.status}; only finished runs with a saved model can be exported.`);
  }
  if (!run.modelPath) throw new AppError('not-found', `Run ${run.id} ("${run.name}") has no saved model to export.`);
  if (options.images.length === 0) throw new AppError('conflict', `No images to verify the export of run ${run.id} on; give some images to check it with.`);
  if (await exists(out)) {
    if (!options.overwrite) throw new AppError('conflict', `${out} already exists; choose another name or allow replacing it.`);
    await assertReplaceable(out, format);
  }
  await mkdir(dirname(out), { recursive: true });

  options.onProgress?.('loading', 0, options.images.length);
  const original = await loadModel(run.modelPath, {
    kind: 'pawprint-run',
    hints: { classNames: run.classNames, imageSize: run.config.imageSize, preprocessing: run.config.preprocessing },
  });
  // Written under a temporary name beside the target and renamed only once verified.
  const staging = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.partial`);
  let exported: LoadedModel | null = null;
  try {
    checkInferenceLayers(original.model);
    options.onProgress?.('packaging', 0, 1);
    const { modelJson, weights } = await serializeModel(original.model);
    const metadata = buildMetadata(run, original, options.appVersion);
    const files = new Map<string, Buffer | string>([
      ['model.json', modelJson],
      [WEIGHTS_FILE, weights],
      [MODEL_METADATA_FILE, serializeModelMetadata(metadata)],
      ['README.md', buildReadme(metadata)],
    ]);
    if (format === 'zip') {
      await writeZip(staging, files);
    } else {
      await mkdir(staging, { recursive: true });
      for (const [name, data] of files) await writeFile(join(staging, name), data);
    }
    options.onProgress?.('packaging', 1, 1);
    options.signal?.throwIfAborted();

    exported = await loadModel(staging);
    if (exported.kind !== 'pawprint-export') throw new AppError('failed', 'Verification failed: the written package does not read back as a Pawprint export.');
    const check = await verify(original, exported, options.images, options);
    if (check.images === 0) {
      throw new AppError('failed', `Verification failed: none of the ${options.images.length} verification images could be read.`);
    }
    if (!(check.maxAbsDiff < VERIFY_TOLERANCE)) {
      throw new AppError('failed', `Verification failed: the exported model differs from the app's by up to ${check.maxAbsDiff.toExponential(2)} (allowed ${VERIFY_TOLERANCE}); the export was deleted.`);
    }
    exported.dispose();
    exported = null;
    // The last moment a cancel may stop it: after this the target is replaced.
    options.signal?.throwIfAborted();
    if (await exists(out)) await rm(out, { recursive: true, force: true });
    await rename(staging, out);
    const bytes = format === 'zip'
      ? (await stat(out)).size
      : (await Promise.all((await readdir(out)).map(async (name) => (await stat(join(out, name))).size))).reduce((a, b) => a + b, 0);
    return {
      path: out, format, verified: true, maxAbsDiff: check.maxAbsDiff, images: check.images, skipped: check.skipped,
      agreement: check.agreement, bytes, files: [...files.keys()],
    };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    exported?.dispose();
    original.dispose();
  }
}
