// Exports a run's model as a self-describing package (one .zip, or a plain folder): model.json + weights.bin (a
// TF.js LayersModel), metadata.json and README.md. Every export is verified before it is reported: the written
// package is loaded back from disk into a fresh model and must predict what the in-app model predicts.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import sharp from 'sharp';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';
import { MAX_IMAGE_FILE_BYTES, decodeUprightRgb } from '../imaging/image-policy';
import { readRegularFile } from '../files/read-regular-file';
import { tf, type LayersModel } from '../tfjs/tf';
import {
  MODEL_METADATA_FILE, buildModelMetadata, readModelMetadata, serializeModelMetadata, trainingConfigOrNull, type ModelMetadata,
} from '../inference/model-format';
import { decodeForModel } from '../inference/preprocess';
import { loadModel, type LoadedModel } from '../inference/loader';
import { predictPixels } from '../inference/predictor';
import { toProbabilities } from '../inference/probabilities';
import { WEIGHTS_FILE, serializeModel } from '../inference/artifacts';
import { writeZip } from '../files/zip';
import { VERIFY_TOLERANCE, type RunForExport, type VerifyImage } from './task-types';
import type { ExportTarget } from '../../shared/contract/jobs';
import type { TrainingConfig } from '../../shared/training-config';
import { writeVerifiedOnnxModel } from './targets/onnx/index';
import { buildTmPackage, decodeForTm, verifyTmPackage } from './targets/tm/index';
import {
  REFERENCE_DIR, REFERENCE_FILE, REFERENCE_TOLERANCE, buildCheckHtml, buildClassifyJs, buildClassifyPy, buildOnnxReadme, buildTfjsReadme,
  type ReferenceFile,
} from './consumer-files';

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
  /** tfjs (default): model.json + classify.js; onnx: model.onnx + classify.py; tm: Teachable Machine's layout. */
  target?: ExportTarget;
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
  const highest = run.epochs.reduce<RunForExport['epochs'][number] | null>(
    (top, e) => (e.valAccuracy !== null && (top === null || e.valAccuracy > (top.valAccuracy ?? -1)) ? e : top), null);
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
    // The run's model folder holds the best epoch's checkpoint: that is the epoch exported.
    savedEpoch: run.bestEpoch,
    valAccuracyAtSavedEpoch: best?.valAccuracy ?? run.bestValAccuracy,
    highestValAccuracy: highest?.valAccuracy ?? null,
    highestValAccuracyEpoch: highest?.epoch ?? null,
  };
}

/**
 * The run's config as a package may say it: the base's actual alpha (the weights decide it, not the setting) and no
 * local path of the base (it means nothing on another machine; the base's name and weights id are in run.versions).
 */
export function portableConfig(run: RunForExport): TrainingConfig | null {
  const config = trainingConfigOrNull(run.config);
  if (!config) return null;
  const { baseSource, ...mobilenet } = config.mobilenet;
  const keepSource = baseSource !== undefined && /^https?:\/\//i.test(baseSource);
  const actualAlpha = Number(run.versions.mobilenetAlpha);
  const alpha = ([0.35, 0.5, 0.75, 1] as const).find((a) => Math.abs(a - actualAlpha) < 1e-9) ?? config.mobilenet.alpha;
  return { ...config, mobilenet: { ...mobilenet, alpha, ...(keepSource ? { baseSource } : {}) } };
}

/** A run's versions without anything that is a local path (a base recorded by path before H9's names). */
function portableVersions(versions: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(versions).filter(([, value]) => !isAbsolute(value) && !/^[A-Za-z]:[\\/]/.test(value) && !value.startsWith('file:')));
}

/**
 * The package's metadata.json. Dated by the run (when it finished), never by the clock, so two exports of one run
 * are byte-identical; the recipe is the run folder's own (null for a run trained before it was recorded).
 */
export function buildMetadata(run: RunForExport, loaded: LoadedModel, appVersion: string): ModelMetadata {
  if (loaded.preprocessing === 'teachable-machine') throw new AppError('unsupported', 'Teachable Machine models are not run models and cannot be exported here.');
  const runMetadata = loaded.metadata && 'format' in loaded.metadata ? (loaded.metadata as ModelMetadata) : null;
  const tfjs = tf.version.tfjs ?? tf.version['tfjs-core'];
  const recipe = runMetadata?.recipe ? { ...runMetadata.recipe } : null;
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
      config: portableConfig(run),
      metrics: runMetrics(run),
      backend: run.backend,
      versions: portableVersions(run.versions),
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
    },
    versions: {
      app: appVersion,
      tfjs,
      'tfjs-core': tf.version['tfjs-core'],
      'tfjs-layers': tf.version['tfjs-layers'],
    },
    recipe,
    createdAt: runDate(run),
  });
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

/** The run's date for everything an export writes (never the clock: two exports of one run are byte-identical). */
function runDate(run: RunForExport): Date {
  const date = new Date(run.finishedAt ?? run.createdAt);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}

/** Images shipped in reference/ with Pawprint's probabilities (check.html and the tests compare against them). */
const REFERENCE_IMAGES = 4;
/** Reference images are stored as PNG no larger than this on their longer side (the model sees them resized anyway). */
const REFERENCE_MAX_SIDE = 512;

/**
 * reference/NN.png for the first readable verification images, re-encoded losslessly as upright sRGB PNGs (every
 * browser and Pillow decode them to the same pixels, which a JPEG does not promise), and expected.json with what the
 * in-app model gives for exactly those files.
 */
async function referenceFiles(original: LoadedModel, images: VerifyImage[], signal?: AbortSignal): Promise<Map<string, Buffer | string>> {
  const files = new Map<string, Buffer | string>();
  const entries: ReferenceFile['images'] = [];
  for (const image of images) {
    if (entries.length >= REFERENCE_IMAGES) break;
    signal?.throwIfAborted();
    let png: Buffer;
    let pixels: Uint8Array;
    try {
      const upright = await decodeUprightRgb(await readRegularFile(image.path, { maxBytes: MAX_IMAGE_FILE_BYTES }));
      png = await sharp(Buffer.from(upright.data.buffer, upright.data.byteOffset, upright.data.length), { raw: { width: upright.width, height: upright.height, channels: 3 } })
        .resize({ width: REFERENCE_MAX_SIDE, height: REFERENCE_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
        .png({ compressionLevel: 9 })
        .toBuffer();
      pixels = await decodeForModel(original, png);
    } catch {
      continue;
    }
    const [prediction] = await predictPixels(original, [pixels]);
    const file = `${String(entries.length + 1).padStart(2, '0')}.png`;
    files.set(`${REFERENCE_DIR}/${file}`, png);
    entries.push({ file, className: original.classNames[prediction.predictedIndex], probabilities: prediction.probabilities });
  }
  const expected: ReferenceFile = { tolerance: REFERENCE_TOLERANCE, classNames: original.classNames, images: entries };
  files.set(REFERENCE_FILE, `${JSON.stringify(expected, null, 2)}\n`);
  return files;
}

/** Decoded verification images for the ONNX check (unreadable ones are counted, not fatal). */
async function decodedImages(
  images: VerifyImage[], decode: (bytes: Buffer) => Promise<Uint8Array>, signal?: AbortSignal,
): Promise<{ pixels: Uint8Array[]; skipped: number }> {
  const pixels: Uint8Array[] = [];
  let skipped = 0;
  for (const image of images) {
    signal?.throwIfAborted();
    try {
      pixels.push(await decode(await readRegularFile(image.path, { maxBytes: MAX_IMAGE_FILE_BYTES })));
    } catch {
      skipped++;
    }
  }
  return { pixels, skipped };
}

/**
 * Writes the package and verifies it. On any failure (including a verification difference above
 * VERIFY_TOLERANCE, or no image to verify on) the partial output is deleted and an AppError is thrown.
 */
export async function exportRun(options: ExportOptions): Promise<ExportResult> {
  const { run, out, format } = options;
  const target = options.target ?? 'tfjs';
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
  const onnxScratch = `${staging}-onnx`;
  let exported: LoadedModel | null = null;
  try {
    checkInferenceLayers(original.model);
    options.onProgress?.('packaging', 0, 1);
    const metadata = buildMetadata(run, original, options.appVersion);
    const references = target === 'tm' ? new Map<string, Buffer | string>() : await referenceFiles(original, options.images, options.signal);
    // Entry order is fixed (a Map in insertion order): zips of one run are byte-identical.
    const files = new Map<string, Buffer | string>();
    let check: { maxAbsDiff: number; images: number; skipped: number; agreement: number };
    if (target === 'tm') {
      // Teachable Machine's layout (targets/tm): its own metadata.json and README; verified on TM's centre-square input.
      const pkg = await buildTmPackage(original, {
        modelName: run.name, timeStamp: runDate(run).toISOString(), appVersion: options.appVersion,
        userMetadata: { runId: run.id, preset: run.preset, finishedAt: run.finishedAt },
      });
      const { pixels, skipped } = await decodedImages(options.images, (bytes) => decodeForTm(bytes, pkg.metadata.imageSize), options.signal);
      if (pixels.length === 0) throw new AppError('failed', `Verification failed: none of the ${options.images.length} verification images could be read.`);
      options.onProgress?.('verifying', 0, pixels.length);
      const verification = await verifyTmPackage(original, pkg, pixels);
      options.onProgress?.('verifying', pixels.length, pixels.length);
      if (!verification.ok) {
        throw new AppError('failed', `Verification failed: the Teachable Machine model differs from the app's by up to ${verification.maxAbsDiff.toExponential(2)} on ${verification.images} images (allowed ${verification.tolerance}); nothing was written.`);
      }
      for (const [name, data] of pkg.files) files.set(name, data);
      check = { maxAbsDiff: verification.maxAbsDiff, images: verification.images, skipped, agreement: verification.agreement };
      await writePackage(staging, format, files);
    } else if (target === 'onnx') {
      const { pixels, skipped } = await decodedImages(options.images, (bytes) => decodeForModel(original, bytes), options.signal);
      if (pixels.length === 0) throw new AppError('failed', `Verification failed: none of the ${options.images.length} verification images could be read.`);
      options.onProgress?.('verifying', 0, pixels.length);
      await mkdir(onnxScratch, { recursive: true });
      const { written, verification } = await writeVerifiedOnnxModel(original, join(onnxScratch, 'model.onnx'), pixels, { producerVersion: options.appVersion });
      options.onProgress?.('verifying', pixels.length, pixels.length);
      files.set('model.onnx', await readFile(written.path));
      files.set(MODEL_METADATA_FILE, serializeModelMetadata(metadata));
      files.set('README.md', buildOnnxReadme(metadata));
      files.set('classify.py', buildClassifyPy(metadata));
      for (const [name, data] of references) files.set(name, data);
      check = { maxAbsDiff: verification.maxAbsDiff, images: verification.images, skipped, agreement: await agreementOf(original, verification.outputs, pixels) };
      await writePackage(staging, format, files);
    } else {
      const { modelJson, weights } = await serializeModel(original.model);
      files.set('model.json', modelJson);
      files.set(WEIGHTS_FILE, weights);
      files.set(MODEL_METADATA_FILE, serializeModelMetadata(metadata));
      files.set('README.md', buildTfjsReadme(metadata));
      files.set('classify.js', buildClassifyJs(metadata));
      // Node reads classify.js as an ES module only inside a "type": "module" package.
      files.set('package.json', `${JSON.stringify({ name: 'pawprint-model', private: true, type: 'module' }, null, 2)}\n`);
      files.set('check.html', buildCheckHtml(metadata));
      for (const [name, data] of references) files.set(name, data);
      await writePackage(staging, format, files);
      options.onProgress?.('packaging', 1, 1);
      options.signal?.throwIfAborted();
      exported = await loadModel(staging);
      if (exported.kind !== 'pawprint-export') throw new AppError('failed', 'Verification failed: the written package does not read back as a Pawprint export.');
      check = await verify(original, exported, options.images, options);
      if (check.images === 0) {
        throw new AppError('failed', `Verification failed: none of the ${options.images.length} verification images could be read.`);
      }
      if (!(check.maxAbsDiff < VERIFY_TOLERANCE)) {
        throw new AppError('failed', `Verification failed: the exported model differs from the app's by up to ${check.maxAbsDiff.toExponential(2)} (allowed ${VERIFY_TOLERANCE}); the export was deleted.`);
      }
      exported.dispose();
      exported = null;
    }
    // The last moment a cancel may stop it: after this the target is replaced.
    options.signal?.throwIfAborted();
    if (await exists(out)) await rm(out, { recursive: true, force: true });
    await rename(staging, out);
    const bytes = format === 'zip' ? (await stat(out)).size : [...files.values()].reduce((sum, data) => sum + Buffer.byteLength(data), 0);
    return {
      path: out, format, verified: true, maxAbsDiff: check.maxAbsDiff, images: check.images, skipped: check.skipped,
      agreement: check.agreement, bytes, files: [...files.keys()],
    };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(onnxScratch, { recursive: true, force: true });
    exported?.dispose();
    original.dispose();
  }
}

/** A zip with a fixed entry date, or a folder whose files carry the run's date. */
async function writePackage(staging: string, format: 'zip' | 'folder', files: ReadonlyMap<string, Buffer | string>): Promise<void> {
  if (format === 'zip') {
    await writeZip(staging, files);
    return;
  }
  await mkdir(staging, { recursive: true });
  for (const [name, data] of files) {
    await mkdir(dirname(join(staging, name)), { recursive: true });
    await writeFile(join(staging, name), data);
  }
}

/** Images on which ONNX Runtime's outputs ([n, units] row-major) pick the class the in-app model picks. */
async function agreementOf(original: LoadedModel, onnxOutputs: Float32Array, pixels: readonly Uint8Array[]): Promise<number> {
  const units = original.units;
  let agree = 0;
  for (let start = 0; start < pixels.length; start += 16) {
    const predictions = await predictPixels(original, pixels.slice(start, start + 16));
    predictions.forEach((prediction, i) => {
      const row = Array.from(onnxOutputs.subarray((start + i) * units, (start + i + 1) * units));
      const probabilities = toProbabilities(row, original.output);
      if (probabilities.indexOf(Math.max(...probabilities)) === prediction.predictedIndex) agree++;
    });
  }
  return agree;
}
