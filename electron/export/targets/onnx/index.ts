// The ONNX export target: writes model.onnx for a Pawprint model and checks it in ONNX Runtime against TF.js.
//
//   const { written, verification } = await writeVerifiedOnnxModel(loaded, join(staging, 'model.onnx'), pixels);
// or the two steps: writeOnnxModel(folder | loaded | layersModel, path), then verifyOnnxModel / verifyOnnxWithModel.
//
// model.onnx takes the same input as model.json (float32 [batch, h, w, 3], raw 0..255 RGB pixels, resized as
// metadata.json says); the scaling (Rescaling) is inside the graph, as in model.json, and the outputs are the same
// (logits for Pawprint models: sigmoid for one unit, softmax for K).
import { rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { AppError, firstLine } from '../../../../shared/errors';
import type { LayersModel } from '../../../tfjs/tf';
import { tf } from '../../../tfjs/tf';
import { loadModel, type LoadedModel } from '../../../inference/loader';
import { externalScaling } from '../../../inference/preprocess';
import { convertLayersModel, type OnnxConversion, type OnnxConversionOptions } from './convert';

export { convertLayersModel, type OnnxConversion, type OnnxConversionOptions } from './convert';

/** Largest difference allowed between TF.js's outputs and ONNX Runtime's (issue 13). */
export const ONNX_VERIFY_TOLERANCE = 1e-4;

export interface WrittenOnnxModel extends OnnxConversion {
  path: string;
}

function isLoadedModel(value: unknown): value is LoadedModel {
  return typeof value === 'object' && value !== null && 'model' in value && 'classNames' in value && 'imageSize' in value;
}

/** What a consumer needs to feed and read the graph, as ONNX metadata_props (values are strings, JSON where structured). */
export function onnxMetadataFor(loaded: LoadedModel): Record<string, string> {
  return {
    'pawprint.classNames': JSON.stringify(loaded.classNames),
    'pawprint.imageSize': JSON.stringify(loaded.imageSize),
    'pawprint.input': 'float32 [batch, height, width, 3], RGB pixels 0..255 (NHWC, as model.json)',
    'pawprint.resize': loaded.resize,
    'pawprint.preprocessing': loaded.preprocessing,
    'pawprint.preprocessingInModel': String(loaded.preprocessingInModel),
    'pawprint.output': loaded.output,
    'pawprint.outputUnits': String(loaded.units),
    'pawprint.outputActivation': loaded.output === 'probabilities' ? 'none' : loaded.units === 1 ? 'sigmoid' : 'softmax',
  };
}

/**
 * Converts and writes model.onnx. `source` is a model folder/.zip path (a run's model folder or an export, loaded
 * with the inference loader), an already loaded model, or a bare LayersModel. The file is written under a temporary
 * name and renamed, so `outPath` never holds half a model.
 */
export async function writeOnnxModel(
  source: string | LoadedModel | LayersModel, outPath: string, options: OnnxConversionOptions = {},
): Promise<WrittenOnnxModel> {
  const loaded = typeof source === 'string' ? await loadModel(source) : isLoadedModel(source) ? source : null;
  try {
    const model = loaded ? loaded.model : (source as LayersModel);
    const conversion = convertLayersModel(model, {
      outputName: loaded?.output === 'probabilities' ? 'probabilities' : loaded ? 'logits' : undefined,
      ...options,
      metadata: { ...(loaded ? onnxMetadataFor(loaded) : {}), ...options.metadata },
    });
    const partial = `${outPath}.partial`;
    try {
      await writeFile(partial, conversion.bytes);
      await rename(partial, outPath);
    } catch (error) {
      await rm(partial, { force: true });
      throw new AppError('failed', `Could not write ${outPath}: ${firstLine(error)}`);
    }
    return { ...conversion, path: outPath };
  } finally {
    if (typeof source === 'string') loaded?.dispose();
  }
}

type OnnxRuntime = typeof import('onnxruntime-node');
let runtime: OnnxRuntime | null = null;

/** onnxruntime-node, an optional dependency: a one-line error when it is missing or its binary does not load here. */
export function onnxRuntime(): OnnxRuntime {
  if (runtime) return runtime;
  try {
    runtime = createRequire(import.meta.url)('onnxruntime-node') as OnnxRuntime;
    return runtime;
  } catch (error) {
    throw new AppError('unsupported', `ONNX Runtime (the optional onnxruntime-node package) is not available on this machine (${firstLine(error)}); ONNX exports cannot be verified: reinstall with npm install.`);
  }
}

export interface OnnxVerification {
  ok: boolean;
  maxAbsDiff: number;
  tolerance: number;
  /** Images compared. */
  images: number;
  /** ONNX Runtime's outputs, [images, units] row-major. */
  outputs: Float32Array;
}

/**
 * Runs model.onnx in ONNX Runtime (CPU) on `inputs` (float32, `shape` = [n, h, w, c], the same pixels model.json
 * takes) and compares its single output with `expected` (the TF.js outputs, [n, units] row-major).
 */
export async function verifyOnnxModel(
  onnxPath: string, inputs: Float32Array, shape: number[], expected: Float32Array, tolerance = ONNX_VERIFY_TOLERANCE,
): Promise<OnnxVerification> {
  const ort = onnxRuntime();
  if (inputs.length !== shape.reduce((a, b) => a * b, 1)) throw new AppError('invalid-payload', `The verification input has ${inputs.length} values for shape [${shape.join(', ')}].`);
  let session: import('onnxruntime-node').InferenceSession;
  try {
    // Errors only: ONNX Runtime's warnings (an unused initializer...) would otherwise go to the app's stderr.
    session = await ort.InferenceSession.create(onnxPath, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  } catch (error) {
    throw new AppError('failed', `ONNX Runtime cannot load ${onnxPath}: ${firstLine(error)}`);
  }
  try {
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', inputs, shape) });
    const output = result[session.outputNames[0]];
    const data = output.data as Float32Array;
    if (data.length !== expected.length) {
      throw new AppError('failed', `model.onnx gives ${data.length} values ([${output.dims.join(', ')}]) where TF.js gives ${expected.length}.`);
    }
    let maxAbsDiff = 0;
    for (let i = 0; i < data.length; i++) {
      const diff = Math.abs(data[i] - expected[i]);
      maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
    }
    return { ok: maxAbsDiff < tolerance, maxAbsDiff, tolerance, images: shape[0], outputs: new Float32Array(data) };
  } finally {
    await session.release();
  }
}

/** verifyOnnxModel against what `model` (TF.js) predicts for the same inputs. */
export async function verifyOnnxWithModel(
  onnxPath: string, model: LayersModel, inputs: Float32Array, shape: number[], tolerance = ONNX_VERIFY_TOLERANCE,
): Promise<OnnxVerification> {
  const expected = tf.tidy(() => Float32Array.from((model.predict(tf.tensor(inputs, shape, 'float32')) as import('@tensorflow/tfjs').Tensor).dataSync()));
  return verifyOnnxModel(onnxPath, inputs, shape, expected, tolerance);
}

export interface VerifiedOnnxExport {
  written: WrittenOnnxModel;
  verification: OnnxVerification;
}

/**
 * What the export job calls: writes model.onnx for `loaded` and checks it on `pixels` (decoded images, h·w·3 RGB
 * bytes each, as decodeForModel gives them), feeding both runtimes what predict feeds TF.js (raw pixels, or pixels
 * scaled outside the model when its scaling is not a layer). A file that differs by `tolerance` or more is deleted
 * and an AppError('failed') says by how much.
 */
export async function writeVerifiedOnnxModel(
  loaded: LoadedModel, outPath: string, pixels: readonly Uint8Array[],
  options: OnnxConversionOptions & { tolerance?: number } = {},
): Promise<VerifiedOnnxExport> {
  const { height, width } = loaded.imageSize;
  const per = height * width * 3;
  if (pixels.length === 0) throw new AppError('conflict', 'No images to verify the ONNX export on; give some images to check it with.');
  const inputs = new Float32Array(pixels.length * per);
  const scaling = loaded.preprocessingInModel ? null : externalScaling(loaded.preprocessing);
  const [scale, offset] = scaling ? [Math.fround(scaling.scale), Math.fround(scaling.offset)] : [1, 0];
  pixels.forEach((image, i) => {
    if (image.length !== per) throw new AppError('invalid-payload', `Verification image ${i + 1} has ${image.length} values; the model takes ${width}x${height}x3.`);
    // float32 multiply, then float32 add, as tf.mul(scale).add(offset) does in predict.
    for (let k = 0; k < per; k++) inputs[i * per + k] = scaling ? Math.fround(Math.fround(image[k] * scale) + offset) : image[k];
  });
  const written = await writeOnnxModel(loaded, outPath, options);
  const tolerance = options.tolerance ?? ONNX_VERIFY_TOLERANCE;
  let verification: OnnxVerification;
  try {
    verification = await verifyOnnxWithModel(written.path, loaded.model, inputs, [pixels.length, height, width, 3], tolerance);
  } catch (error) {
    await rm(written.path, { force: true });
    throw error;
  }
  if (!verification.ok) {
    await rm(written.path, { force: true });
    throw new AppError('failed', `Verification failed: model.onnx differs from the app's model by up to ${verification.maxAbsDiff.toExponential(2)} on ${pixels.length} images (allowed ${tolerance}); the ONNX file was deleted.`);
  }
  return { written, verification };
}
