// The Teachable Machine export target: model.json + weights.bin + metadata.json in the layout Teachable Machine's
// "Export model > TensorFlow.js" gives, which its library loads with
//   const model = await tmImage.load('model.json', 'metadata.json'); await model.predict(imageOrCanvas);
// (@teachablemachine/image 0.8.5 on TensorFlow.js 1.3.1, the versions TM's snippet pins). The library centre-crops the
// image to a square, draws it at imageSize x imageSize, scales it to x / 127 - 1 and reports the model's outputs as
// the class probabilities; convert.ts makes the model take that input and give K softmax probabilities.
//
// Any preset trained at a square size converts (mobilenetv2 frozen or fine-tuned at its own size, the CNN presets,
// custom stacks of layers tfjs 1.3.1 has). A run trained at a non-square size cannot: TM's imageSize is one integer.
// Pawprint resizes the whole image to the training size while TM crops the centre square, so on non-square photos
// TM sees less of the picture than the run did: the same answers on square images, close ones on others.
//
//   const pkg = await buildTmPackage(loaded, { modelName, timeStamp, appVersion });   // files, in memory
//   const check = await verifyTmPackage(loaded, pkg, pixels);                          // tfjs 4.22 here, TM's input
//   or both and the files written into a folder: await writeTmPackage(loaded, folder, { ..., pixels }).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../../shared/errors';
import { tf, type Tensor } from '../../../tfjs/tf';
import type { LoadedModel } from '../../../inference/loader';
import { decodeAcceptedRgb } from '../../../imaging/image-policy';
import { externalScaling } from '../../../inference/preprocess';
import { predictPixels } from '../../../inference/predictor';
import { argmax } from '../../../inference/probabilities';
import { serializeModel } from '../../../inference/artifacts';
import { convertForTeachableMachine, TM_OFFSET, TM_SCALE, type NamedWeight, type TmConversion } from './convert';

export { convertForTeachableMachine, TFJS_1_3_1_LAYERS, TM_INPUT_LAYER } from './convert';

export const TM_MODEL_FILE = 'model.json';
export const TM_WEIGHTS_FILE = 'weights.bin';
export const TM_METADATA_FILE = 'metadata.json';
export const TM_README_FILE = 'README.md';
/** The library and the TensorFlow.js it runs on, as Teachable Machine's snippet pins them. */
export const TM_PACKAGE_NAME = '@teachablemachine/image';
export const TM_PACKAGE_VERSION = '0.8.5';
export const TM_TFJS_VERSION = '1.3.1';
/** Largest difference allowed between Pawprint's probabilities and the TM model's on the same centre-cropped pixels. */
export const TM_VERIFY_TOLERANCE = 1e-4;

/** metadata.json as @teachablemachine/image reads it (its Metadata interface). */
export interface TmMetadata {
  tfjsVersion: string;
  packageVersion: string;
  packageName: string;
  modelName: string;
  timeStamp: string;
  labels: string[];
  /** Square side the library crops and draws images at. */
  imageSize: number;
  userMetadata: Record<string, unknown>;
}

export interface TmPackageOptions {
  /** metadata.modelName (the run's name). */
  modelName: string;
  /** ISO time written as metadata.timeStamp: the run's, so two exports of one run are byte-identical. */
  timeStamp: string;
  appVersion: string;
  /** Extra facts under metadata.userMetadata.pawprint (run id, preset...). */
  userMetadata?: Record<string, unknown>;
}

export interface TmPackage {
  /** File name -> contents, in the order to write them. */
  files: Map<string, Buffer>;
  metadata: TmMetadata;
  conversion: Omit<TmConversion, 'topology' | 'weights'>;
}

function weightsOf(specs: Array<{ name: string; shape: number[]; dtype: string }>, data: Buffer): NamedWeight[] {
  let offset = 0;
  return specs.map((spec) => {
    if (spec.dtype !== 'float32') throw new AppError('unsupported', `This model cannot be a Teachable Machine export: its weight ${spec.name} is ${spec.dtype}, not float32.`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(data.subarray(offset, offset + count * 4));
    offset += count * 4;
    return { name: spec.name, shape: spec.shape, data: values };
  });
}

/** Builds the package's files (model.json, weights.bin, metadata.json, README.md) in memory. Throws AppError('unsupported') with the reason when the model cannot be one. */
export async function buildTmPackage(loaded: LoadedModel, options: TmPackageOptions): Promise<TmPackage> {
  if (loaded.preprocessing === 'teachable-machine') throw new AppError('unsupported', 'This model is already a Teachable Machine model; export it as it is.');
  const { modelJson, weights } = await serializeModel(loaded.model);
  const json = JSON.parse(modelJson) as { modelTopology: Record<string, unknown>; weightsManifest: Array<{ weights: Array<{ name: string; shape: number[]; dtype: string }> }> };
  const outside = loaded.preprocessingInModel ? null : externalScaling(loaded.preprocessing);
  const conversion = convertForTeachableMachine(json.modelTopology, weightsOf(json.weightsManifest.flatMap((g) => g.weights), weights), { outsideScaling: outside });
  if (conversion.units !== loaded.classNames.length) {
    throw new AppError('unsupported', `This model cannot be a Teachable Machine export: it gives ${conversion.units} probabilities for ${loaded.classNames.length} classes.`);
  }
  const weightBytes = Buffer.concat(conversion.weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  const model = {
    format: 'layers-model',
    generatedBy: `Pawprint ${options.appVersion}`,
    convertedBy: null,
    modelTopology: conversion.topology,
    weightsManifest: [{ paths: [TM_WEIGHTS_FILE], weights: conversion.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
  };
  const metadata: TmMetadata = {
    tfjsVersion: TM_TFJS_VERSION,
    packageVersion: TM_PACKAGE_VERSION,
    packageName: TM_PACKAGE_NAME,
    modelName: options.modelName,
    timeStamp: options.timeStamp,
    labels: [...loaded.classNames],
    imageSize: conversion.imageSize,
    userMetadata: {
      pawprint: {
        appVersion: options.appVersion,
        input: `centre square of the image drawn at ${conversion.imageSize}x${conversion.imageSize}, RGB, x / 127 - 1 (as @teachablemachine/image does)`,
        output: `${conversion.units} softmax probabilities in labels order`,
        ...options.userMetadata,
      },
    },
  };
  const { topology: _topology, weights: _weights, ...facts } = conversion;
  return {
    files: new Map([
      [TM_MODEL_FILE, Buffer.from(JSON.stringify(model))],
      [TM_WEIGHTS_FILE, weightBytes],
      [TM_METADATA_FILE, Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`)],
      [TM_README_FILE, Buffer.from(buildTmReadme(metadata))],
    ]),
    metadata,
    conversion: facts,
  };
}

/** README.md of the package: how to use it with Teachable Machine's library, and what differs from Pawprint. */
export function buildTmReadme(meta: TmMetadata): string {
  const size = meta.imageSize;
  return `# ${meta.modelName}: a Teachable Machine image model exported by Pawprint

\`model.json\`, \`${TM_WEIGHTS_FILE}\` and \`metadata.json\` in Teachable Machine's layout, for its library
${TM_PACKAGE_NAME} ${TM_PACKAGE_VERSION} on TensorFlow.js ${TM_TFJS_VERSION} (the versions Teachable Machine's own snippet loads).

- Classes (output order): ${meta.labels.map((name, i) => `${i}: ${name}`).join(', ')}
- Input: the library crops the centre square of the image, draws it at ${size}x${size} and scales it to x / 127 - 1.
- Output: ${meta.labels.length} probabilities (softmax), one per class.

\`\`\`html
<script src="tf.min.js"></script>                        <!-- @tensorflow/tfjs ${TM_TFJS_VERSION} -->
<script src="teachablemachine-image.min.js"></script>    <!-- ${TM_PACKAGE_NAME} ${TM_PACKAGE_VERSION} -->
<script type="module">
  const model = await tmImage.load('./model.json', './metadata.json');
  const predictions = await model.predict(document.querySelector('img'));   // [{ className, probability }]
</script>
\`\`\`

Pawprint resized the whole image to ${size}x${size} in training; the library crops the centre square first, so on
photos that are far from square it sees less of the picture. On square images (or images whose centre square is
already ${size}x${size}) it gives Pawprint's probabilities.
`;
}

/**
 * An image as Teachable Machine's library gives it to the model when the image's shorter side equals imageSize: the
 * centre square, RGB bytes. Larger images are cropped the same way and resized with Pawprint's recipe (TM draws them
 * on a canvas, the browser's resampling).
 */
export function decodeForTm(bytes: Buffer, imageSize: number): Promise<Uint8Array> {
  return decodeAcceptedRgb(bytes, imageSize, imageSize, 'cover');
}

export interface TmVerification {
  ok: boolean;
  maxAbsDiff: number;
  tolerance: number;
  images: number;
  /** Images on which both give the same class. */
  agreement: number;
}

/**
 * Loads the package's model (here, in TensorFlow.js 4.22) and compares its probabilities, on TM's input (x / 127 - 1),
 * with Pawprint's for the same pixels (`pixels`: imageSize² x 3 RGB bytes each, e.g. from decodeForTm).
 */
export async function verifyTmPackage(loaded: LoadedModel, pkg: TmPackage, pixels: readonly Uint8Array[], tolerance = TM_VERIFY_TOLERANCE): Promise<TmVerification> {
  const size = pkg.metadata.imageSize;
  const per = size * size * 3;
  if (pixels.length === 0) throw new AppError('conflict', 'No images to verify the Teachable Machine export on; give some images to check it with.');
  pixels.forEach((image, i) => {
    if (image.length !== per) throw new AppError('invalid-payload', `Verification image ${i + 1} has ${image.length} values; the model takes ${size}x${size}x3.`);
  });
  const json = JSON.parse(pkg.files.get(TM_MODEL_FILE)!.toString('utf8')) as { modelTopology: object; weightsManifest: Array<{ weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }> };
  const data = pkg.files.get(TM_WEIGHTS_FILE)!;
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
  }));
  try {
    let maxAbsDiff = 0;
    let agreement = 0;
    for (let start = 0; start < pixels.length; start += 16) {
      const batch = pixels.slice(start, start + 16);
      const expected = await predictPixels(loaded, batch);
      const values = new Int32Array(batch.length * per);
      batch.forEach((image, i) => values.set(image, i * per));
      const probabilities = tf.tidy(() => {
        const x = tf.tensor4d(values, [batch.length, size, size, 3], 'int32');
        // capture(): toFloat().div(127).sub(1), in that order.
        const input = x.toFloat().div(tf.scalar(1 / TM_SCALE)).sub(tf.scalar(-TM_OFFSET));
        return (model.predict(input) as Tensor).arraySync() as number[][];
      });
      probabilities.forEach((row, i) => {
        const want = expected[i].probabilities;
        for (let k = 0; k < row.length; k++) {
          const diff = Math.abs(row[k] - want[k]);
          maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
        }
        if (argmax(row) === argmax(want)) agreement++;
      });
    }
    return { ok: maxAbsDiff < tolerance, maxAbsDiff, tolerance, images: pixels.length, agreement };
  } finally {
    model.dispose();
  }
}

export interface WrittenTmPackage {
  folder: string;
  files: string[];
  metadata: TmMetadata;
  verification: TmVerification;
}

/**
 * What the export job calls: builds the package, verifies it on `pixels` (refusing with AppError('failed') and
 * writing nothing when it differs from Pawprint by `tolerance` or more), then writes the files into `folder`.
 */
export async function writeTmPackage(
  loaded: LoadedModel, folder: string, options: TmPackageOptions & { pixels: readonly Uint8Array[]; tolerance?: number },
): Promise<WrittenTmPackage> {
  const pkg = await buildTmPackage(loaded, options);
  const verification = await verifyTmPackage(loaded, pkg, options.pixels, options.tolerance);
  if (!verification.ok) {
    throw new AppError('failed', `Verification failed: the Teachable Machine model differs from the app's by up to ${verification.maxAbsDiff.toExponential(2)} on ${verification.images} images (allowed ${verification.tolerance}); nothing was written.`);
  }
  await mkdir(folder, { recursive: true });
  for (const [name, bytes] of pkg.files) await writeFile(join(folder, name), bytes);
  return { folder, files: [...pkg.files.keys()], metadata: pkg.metadata, verification };
}
