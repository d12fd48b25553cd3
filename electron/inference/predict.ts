// Inference on image files with any model Pawprint can read: its own exports (.zip or folder), a run's model
// folder, a Teachable Machine image-model export, or a plain TF.js LayersModel folder.
//
// Input handling must match what the model saw in training, or predictions silently drift:
// - Pawprint models take raw RGB 0..255 pixels: their scaling is a Rescaling layer inside the model (see
//   electron/training/presets.ts), and images are decoded exactly as the training pipeline decodes them
//   (decodeImageBuffer: EXIF rotation, 3 channels, resized to fill height x width with a linear kernel).
// - Teachable Machine models (@teachablemachine/image) crop the centre square, resize it to 224x224 and scale
//   with x / 127 - 1 (utils/tf.ts `capture`; note 127, not 127.5), then end in a softmax.
// - Pawprint models end in logits: one logit for two classes (probability of class index 1 = sigmoid(logit),
//   as the trainer's labels and accuracy use it), else K logits (softmax).
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, posix } from 'node:path';
import { z } from 'zod';
import { AppError, firstLine } from '../../shared/errors';
import { tf, type LayersModel, type Tensor } from '../tfjs/tf';
import { selectBackend } from '../tfjs/backend/select-backend';
import { IMAGE_EXTENSIONS, MAX_IMAGE_FILE_BYTES } from '../imaging/image-policy';
import { readRegularFile } from '../files/read-regular-file';
import {
  readModelMetadata, type ModelHints, type ModelMetadata, type TeachableMachineMetadata,
} from './model-format';
import { openModelFiles, parseJson, readJsonBytes, type ModelFiles } from './model-files';
import { decodeForModel, externalScaling, preprocessingOfRescaling, type InputPreprocessing, type ResizeMode } from './preprocess';
import { argmax, toProbabilities } from './probabilities';

export type { InputPreprocessing, ResizeMode } from './preprocess';
// Callers of predict.ts decode through it until the file is split (issue 12 §2.6); preprocess.ts owns it.
export { decodeForModel } from './preprocess';

type ModelArtifacts = import('@tensorflow/tfjs').io.ModelArtifacts;
type WeightsManifestEntry = import('@tensorflow/tfjs').io.WeightsManifestEntry;

export type ModelSourceKind = 'pawprint-export' | 'pawprint-run' | 'teachable-machine' | 'tfjs-layers';

export interface LoadedModel {
  model: LayersModel;
  kind: ModelSourceKind;
  /** Where it was loaded from (a path). */
  source: string;
  /** Output order. */
  classNames: string[];
  imageSize: { height: number; width: number };
  /** The scaling the model expects on top of raw pixels, wherever it is applied. */
  preprocessing: InputPreprocessing;
  /** True when that scaling is a layer inside the model (predict then feeds raw 0..255 pixels). */
  preprocessingInModel: boolean;
  resize: ResizeMode;
  /** What the model's last layer produces. */
  output: 'logits' | 'probabilities';
  /** Output units: 1 (sigmoid, two classes) or the number of classes. */
  units: number;
  /** The metadata found beside the model, as read (Pawprint or Teachable Machine format), if any. */
  metadata: ModelMetadata | TeachableMachineMetadata | null;
  dispose(): void;
}

export interface LoadModelOptions {
  /** Facts known from elsewhere (the catalogue's run row); metadata files beside the model take precedence. */
  hints?: ModelHints;
  /** Set by callers that know what the folder is (a run's model folder). */
  kind?: ModelSourceKind;
}

const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 } as const;
type ManifestDtype = keyof typeof DTYPE_BYTES;
const dtypeSchema = z.enum(Object.keys(DTYPE_BYTES) as [ManifestDtype, ...ManifestDtype[]]);

/** A weights path stays inside the model's folder (or archive): no absolute paths, no "..". */
function insideFolder(path: string): boolean {
  const name = posix.normalize(path.replace(/\\/g, '/').replace(/^\.\//, ''));
  return name !== '..' && !name.startsWith('../') && !posix.isAbsolute(name) && !/^[a-z]:/i.test(name);
}

const weightSpecSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: dtypeSchema,
  quantization: z.object({ dtype: z.enum(['uint8', 'uint16', 'float16']) }).passthrough().optional(),
}).passthrough();

/** model.json of a TF.js LayersModel, as far as loading needs it; anything else in it is passed through untouched. */
const modelJsonSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
  weightsManifest: z.array(z.object({
    paths: z.array(z.string().refine(insideFolder, { message: 'points outside the model folder' })).min(1),
    weights: z.array(weightSpecSchema),
  })),
  userDefinedMetadata: z.record(z.string(), z.unknown()).optional(),
});

/** The first schema problem, as one line: where in model.json and what is wrong. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'the file';
  return `${where}: ${issue.message}`;
}

/** Reads model.json and its weight files into memory as tfjs ModelArtifacts, checking every declared size. */
async function readArtifacts(files: ModelFiles): Promise<ModelArtifacts> {
  const raw = await readJsonBytes(files, 'model.json');
  if (!raw) throw new AppError('invalid-payload', `${files.label} has no model.json: it is not a TF.js model export.`);
  const parsed = modelJsonSchema.safeParse(parseJson(raw, `model.json in ${files.label}`));
  if (!parsed.success) {
    throw new AppError('invalid-payload', `model.json in ${files.label} is not a TF.js LayersModel (${firstIssue(parsed.error)}): choose a model exported by Pawprint, Teachable Machine or tfjs.`);
  }
  const json = parsed.data;
  if (json.format && json.format !== 'layers-model') {
    throw new AppError('unsupported', `model.json in ${files.label} is a TF.js ${json.format}; only LayersModels (Keras-style) are supported.`);
  }
  const binFiles = files.names.filter((name) => name.toLowerCase().endsWith('.bin'));
  const manifestPaths = json.weightsManifest.flatMap((group) => group.paths);
  const buffers: Buffer[] = [];
  const specs: WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    const names: string[] = [];
    const sizes: number[] = [];
    for (const path of group.paths) {
      let name = posix.normalize(path.replace(/\\/g, '/').replace(/^\.\//, ''));
      let size = await files.size(name);
      // A browser download or an upload may rename the single weights file ("weights (1).bin").
      if (size === null && manifestPaths.length === 1 && binFiles.length === 1) {
        const renamedSize = await files.size(binFiles[0]);
        if (renamedSize !== null) [name, size] = [binFiles[0], renamedSize];
      }
      if (size === null) {
        throw new AppError('invalid-payload', `The weights file ${name} named in model.json is missing from ${files.label}.`);
      }
      names.push(name);
      sizes.push(size);
    }
    // Checked per group (tfjs slices each group's weights out of that group's files), and on the files' sizes before
    // reading them: a weights file larger than the manifest declares is refused without being loaded into memory.
    const expected = group.weights.reduce((sum, spec) => sum + weightBytes(spec), 0);
    const sizeMismatch = (actual: number) => new AppError('invalid-payload', `The weights file${names.length > 1 ? 's' : ''} ${names.join(', ')} in ${files.label} ${names.length > 1 ? 'are' : 'is'} ${actual} bytes but model.json describes ${expected}: ${names.length > 1 ? 'one of the weights files' : 'the weights file'} is truncated or belongs to another model.`);
    const statedTotal = sizes.reduce((sum, size) => sum + size, 0);
    if (statedTotal !== expected) throw sizeMismatch(statedTotal);
    const groupBuffers: Buffer[] = [];
    for (const [i, name] of names.entries()) {
      let data: Buffer | null;
      try {
        // Capped at the size just checked: a file that grew since is refused, not read.
        data = await files.read(name, sizes[i]);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        const what = error.message.startsWith('too large')
          ? `grew past the ${sizes[i]} bytes checked while it was read; load the model again`
          : error.code === 'unsupported' ? `is ${error.message}` : `could not be read: ${error.message}`;
        throw new AppError(error.code, `The weights file ${name} in ${files.label} ${what}.`);
      }
      if (!data) throw new AppError('invalid-payload', `The weights file ${name} named in model.json is missing from ${files.label}.`);
      groupBuffers.push(data);
    }
    const actual = groupBuffers.reduce((sum, data) => sum + data.length, 0);
    if (actual !== expected) throw sizeMismatch(actual);
    buffers.push(...groupBuffers);
    specs.push(...(group.weights as WeightsManifestEntry[]));
  }
  const weightData = Buffer.concat(buffers);
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    weightSpecs: specs,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer,
    userDefinedMetadata: json.userDefinedMetadata as Record<string, object> | undefined,
  };
}

function weightBytes(spec: { shape: number[]; dtype: string; quantization?: { dtype: string } }): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = (spec.quantization?.dtype ?? spec.dtype) as ManifestDtype;
  return count * (DTYPE_BYTES[dtype] ?? 4);
}

// Building a LayersModel allocates every weight the topology declares, before tfjs compares them with the weights
// file: an 888-byte model.json declaring a 20000x20000 Dense layer costs 1.6 GB. So the topology is first built dry,
// with every initializer replaced by a probe that records the shape asked for and allocates nothing, and the shapes
// are matched against the manifest (whose sizes were matched against the files) before the real build.
const SHAPE_PROBE = 'PawprintShapeProbe';
const INITIALIZER_KEYS = [
  'kernel_initializer', 'bias_initializer', 'gamma_initializer', 'beta_initializer', 'moving_mean_initializer',
  'moving_variance_initializer', 'depthwise_initializer', 'pointwise_initializer', 'recurrent_initializer',
  'embeddings_initializer', 'alpha_initializer',
];
const CONTAINER_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
const probeRecords = new Map<number, number[][]>();
let nextProbeId = 0;

class ShapeProbe extends tf.serialization.Serializable {
  static className = SHAPE_PROBE;
  constructor(private readonly config: { probe?: number }) {
    super();
  }
  override getClassName(): string {
    return SHAPE_PROBE;
  }
  override getConfig(): { probe: number } {
    return { probe: this.config.probe ?? -1 };
  }
  apply(shape: number[], dtype?: import('@tensorflow/tfjs').DataType): Tensor {
    probeRecords.get(this.config.probe ?? -1)?.push([...shape]);
    return tf.zeros([0], dtype);
  }
}
tf.serialization.registerClass(ShapeProbe as unknown as Parameters<typeof tf.serialization.registerClass>[0]);

/** A copy of a Keras topology whose every layer (nested ones too) takes its weights from the probe. */
function withShapeProbes(node: unknown, probe: number): unknown {
  if (Array.isArray(node)) return node.map((item) => withShapeProbes(item, probe));
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    out[key] = /_(initializer|regularizer|constraint)$/.test(key) ? value : withShapeProbes(value, probe);
  }
  const config = out.config;
  if (typeof out.class_name === 'string' && !CONTAINER_CLASSES.has(out.class_name) && config && typeof config === 'object' && !Array.isArray(config)) {
    const probed: Record<string, unknown> = { ...(config as Record<string, unknown>) };
    for (const key of INITIALIZER_KEYS) probed[key] = { class_name: SHAPE_PROBE, config: { probe } };
    // Neither changes a weight's shape, and both allocate for real in a build: LSTM/ConvLSTM's unit_forget_bias (the
    // Keras default) builds the bias from probes of [units] and [2*units] plus a real Ones([units]), so the [4*units]
    // the manifest lists is never recorded; a stateful RNN allocates its [batch, units] states.
    if ('unit_forget_bias' in probed) probed.unit_forget_bias = false;
    if ('stateful' in probed) probed.stateful = false;
    out.config = probed;
  }
  return out;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Disposes the engine's variables created since `before` that hold nothing (what a failed dry build leaves). */
function disposeEmptyVariablesSince(before: ReadonlySet<string>): void {
  const registered = (tf.engine().state as unknown as { registeredVariables: Record<string, import('@tensorflow/tfjs').Variable> }).registeredVariables;
  for (const [name, variable] of Object.entries(registered)) if (!before.has(name) && variable.size === 0) variable.dispose();
}

function registeredVariableNames(): Set<string> {
  return new Set(Object.keys((tf.engine().state as unknown as { registeredVariables: Record<string, unknown> }).registeredVariables));
}

/** The shapes of the weights building `topology` would allocate, found without allocating them. */
async function declaredWeightShapes(topology: object, label: string): Promise<number[][]> {
  const probe = nextProbeId++;
  const shapes: number[][] = [];
  probeRecords.set(probe, shapes);
  const before = registeredVariableNames();
  try {
    const dry = await tf.models.modelFromJSON({ modelTopology: withShapeProbes(topology, probe) } as Parameters<typeof tf.models.modelFromJSON>[0]);
    dry.dispose();
    return shapes;
  } catch (error) {
    disposeEmptyVariablesSince(before);
    throw new AppError('invalid-payload', `Cannot build the model in ${label}: ${firstLine(error)}`);
  } finally {
    probeRecords.delete(probe);
  }
}

/** Largest batch a stateful layer may declare: its states ([batch, units] each) are allocated when it is built. */
const MAX_STATEFUL_BATCH = 1024;

/** The largest batch size a topology with a stateful layer declares, or 0 when no layer is stateful. */
function statefulBatch(topology: unknown): number {
  let stateful = false;
  let batch = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.stateful === true) stateful = true;
    const shape = record.batch_input_shape ?? record.batch_shape;
    if (Array.isArray(shape) && typeof shape[0] === 'number') batch = Math.max(batch, shape[0]);
    if (typeof record.batch_size === 'number') batch = Math.max(batch, record.batch_size);
    Object.values(record).forEach(visit);
  };
  visit(topology);
  return stateful ? batch : 0;
}

/**
 * Builds the model only after checking that every weight its layers need is listed in the manifest with that
 * shape, then loads the weights; frees the model and the decoded weights on every failure.
 */
async function buildModel(artifacts: ModelArtifacts, label: string): Promise<LayersModel> {
  const topology = artifacts.modelTopology as object;
  // The weights bound every weight's size, but not a stateful layer's states, whose batch only the topology declares.
  const batch = statefulBatch(topology);
  if (batch > MAX_STATEFUL_BATCH) {
    throw new AppError('unsupported', `The model in ${label} has a stateful layer that keeps state for batches of ${batch} images; Pawprint loads stateful models for batches of up to ${MAX_STATEFUL_BATCH}.`);
  }
  const needed = await declaredWeightShapes(topology, label);
  const listed = new Map<string, number>();
  for (const spec of artifacts.weightSpecs ?? []) listed.set(shapeText(spec.shape), (listed.get(shapeText(spec.shape)) ?? 0) + 1);
  for (const shape of needed) {
    const key = shapeText(shape);
    const left = listed.get(key) ?? 0;
    if (left === 0) {
      const known = (artifacts.weightSpecs ?? []).slice(0, 6).map((spec) => shapeText(spec.shape)).join(', ') || 'none';
      throw new AppError('invalid-payload', `The layers in ${label}'s model.json need a weight of shape ${key}, which its weights manifest does not list (it lists ${known}): model.json and the weights do not belong together.`);
    }
    listed.set(key, left - 1);
  }
  let model: LayersModel | null = null;
  let weights: import('@tensorflow/tfjs').NamedTensorMap | null = null;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: topology } as Parameters<typeof tf.models.modelFromJSON>[0]);
    weights = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    model.loadWeights(weights);
    return model;
  } catch (error) {
    model?.dispose();
    throw new AppError('invalid-payload', `Cannot build the model in ${label}: ${firstLine(error)}`);
  } finally {
    if (weights) tf.dispose(weights);
  }
}

/** Largest model input accepted: one image of it is a float32 tensor of 12 bytes per pixel. */
const MAX_INPUT_SIDE = 4096;
const MAX_INPUT_PIXELS = MAX_INPUT_SIDE * MAX_INPUT_SIDE;

type AnyLayer = LayersModel['layers'][number];

function innerLayers(layer: AnyLayer): AnyLayer[] | null {
  const nested = (layer as unknown as { layers?: AnyLayer[] }).layers;
  return Array.isArray(nested) ? nested : null;
}

/** The model's last computing layer, looking inside nested Sequential/Model containers (Teachable Machine nests two). */
function lastLayer(layers: AnyLayer[]): AnyLayer | null {
  for (let i = layers.length - 1; i >= 0; i--) {
    const nested = innerLayers(layers[i]);
    if (nested) {
      const found = lastLayer(nested);
      if (found) return found;
    } else if (layers[i].getClassName() !== 'InputLayer') {
      return layers[i];
    }
  }
  return null;
}

function firstLayer(layers: AnyLayer[]): AnyLayer | null {
  for (const layer of layers) {
    const nested = innerLayers(layer);
    if (nested) {
      const found = firstLayer(nested);
      if (found) return found;
    } else if (layer.getClassName() !== 'InputLayer') {
      return layer;
    }
  }
  return null;
}

/** 'probabilities' when the last layer ends in softmax/sigmoid, else 'logits'. */
function outputKind(model: LayersModel): 'logits' | 'probabilities' {
  const last = lastLayer(model.layers);
  const activation = last ? (last.getConfig() as { activation?: unknown }).activation : undefined;
  return activation === 'softmax' || activation === 'sigmoid' ? 'probabilities' : 'logits';
}

/** Scale and offset of the Rescaling layer at the model's input, if there is one. */
function inputRescaling(model: LayersModel): { scale: number; offset: number } | null {
  const first = firstLayer(model.layers);
  if (!first || first.getClassName() !== 'Rescaling') return null;
  const config = first.getConfig() as { scale?: number; offset?: number };
  return { scale: Number(config.scale ?? 1), offset: Number(config.offset ?? 0) };
}

/**
 * Loads a model with everything needed to predict with it. Throws AppError with a message for the user when the
 * source is missing, damaged or inconsistent (class count vs outputs, input size vs metadata).
 */
export async function loadModel(source: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const files = await openModelFiles(source);
  const artifacts = await readArtifacts(files);
  const found = await readModelMetadata(files);
  const pawprint = found.format === 'pawprint' ? found.metadata : null;
  const teachable = found.format === 'teachable-machine' ? found.metadata : null;
  let kind: ModelSourceKind = options.kind ?? 'tfjs-layers';
  if (pawprint && kind === 'tfjs-layers') kind = pawprint.package === 'run' ? 'pawprint-run' : 'pawprint-export';
  if (teachable) kind = 'teachable-machine';
  // Only the caller's facts (a run's catalogue row) fill in for a folder without metadata: no JSON file is guessed at.
  const hints: ModelHints = options.hints ?? {};

  const model = await buildModel(artifacts, files.label);
  try {
    return describeLoaded(model, { kind, source, label: files.label, pawprint, teachable, hints });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function describeLoaded(
  model: LayersModel,
  found: { kind: ModelSourceKind; source: string; label: string; pawprint: ModelMetadata | null; teachable: TeachableMachineMetadata | null; hints: ModelHints },
): LoadedModel {
  const { pawprint, teachable, hints, label } = found;
  const inputShape = model.inputs[0].shape;
  const outputShape = model.outputs[0].shape;
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || inputShape.length !== 4 || outputShape.length !== 2) {
    throw new AppError('unsupported', `The model in ${label} is not an image classifier: it takes ${JSON.stringify(model.inputs.map((t) => t.shape))} and returns ${JSON.stringify(model.outputs.map((t) => t.shape))}; expected one [batch, height, width, 3] input and one [batch, classes] output.`);
  }
  if (inputShape[3] !== 3) throw new AppError('unsupported', `The model in ${label} takes ${inputShape[3]} channels; only RGB (3) models are supported.`);
  const units = outputShape[1] ?? 0;

  const shapeSize = inputShape[1] && inputShape[2] ? { height: inputShape[1], width: inputShape[2] } : undefined;
  const imageSize = pawprint?.imageSize
    ?? (teachable ? { height: teachable.imageSize ?? 224, width: teachable.imageSize ?? 224 } : undefined)
    ?? hints.imageSize ?? shapeSize;
  if (!imageSize) throw new AppError('invalid-payload', `The model in ${label} accepts any image size and no metadata says which one it was trained at.`);
  if (imageSize.height * imageSize.width > MAX_INPUT_PIXELS) {
    throw new AppError('unsupported', `The model in ${label} takes ${imageSize.width}x${imageSize.height} images; Pawprint predicts with models whose input is at most ${MAX_INPUT_SIDE}×${MAX_INPUT_SIDE} pixels (or as many pixels in another shape).`);
  }
  if (shapeSize && (shapeSize.height !== imageSize.height || shapeSize.width !== imageSize.width)) {
    throw new AppError('invalid-payload', `The metadata in ${label} says ${imageSize.width}x${imageSize.height} images but the model takes ${shapeSize.width}x${shapeSize.height}.`);
  }

  const expectedNames = units === 1 ? 2 : units;
  let classNames = pawprint?.classNames ?? teachable?.labels ?? hints.classNames;
  if (!classNames) classNames = Array.from({ length: expectedNames }, (_, i) => `class ${i}`);
  if (classNames.length !== expectedNames) {
    throw new AppError('invalid-payload', `The metadata in ${label} lists ${classNames.length} classes (${classNames.join(', ')}) but the model has ${units} output${units === 1 ? ' (a two-class model)' : 's'}.`);
  }

  const rescaling = inputRescaling(model);
  let preprocessing: InputPreprocessing;
  let preprocessingInModel: boolean;
  if (teachable) {
    preprocessing = 'teachable-machine';
    preprocessingInModel = false;
  } else if (rescaling) {
    preprocessing = preprocessingOfRescaling(rescaling);
    preprocessingInModel = true;
  } else {
    preprocessing = pawprint?.preprocessing ?? hints.preprocessing ?? 'none';
    preprocessingInModel = false;
  }
  const output = pawprint?.output.kind ?? outputKind(model);
  let disposed = false;
  return {
    model,
    kind: found.kind,
    source: found.source,
    classNames: [...classNames],
    imageSize,
    preprocessing,
    preprocessingInModel,
    resize: teachable ? 'center-crop' : (pawprint?.input.resize ?? 'fill'),
    output,
    units,
    metadata: pawprint ?? teachable,
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}

export interface PixelPrediction {
  /** The model's raw output row (logits or probabilities). */
  outputs: number[];
  /** One per class name, summing to 1. */
  probabilities: number[];
  predictedIndex: number;
}

/** Runs the model on decoded images (each h·w·3 bytes, as decodeForModel returns). One batch: keep it small. */
export async function predictPixels(loaded: LoadedModel, pixels: readonly Uint8Array[]): Promise<PixelPrediction[]> {
  if (pixels.length === 0) return [];
  const { height, width } = loaded.imageSize;
  const per = height * width * 3;
  const buffer = new Float32Array(pixels.length * per);
  pixels.forEach((p, i) => {
    if (p.length !== per) throw new Error(`image ${i} has ${p.length} values, expected ${per} (${width}x${height}x3)`);
    buffer.set(p, i * per);
  });
  const scaling = loaded.preprocessingInModel ? null : externalScaling(loaded.preprocessing);
  const result = tf.tidy(() => {
    let x: Tensor = tf.tensor4d(buffer, [pixels.length, height, width, 3]);
    if (scaling) x = x.mul(scaling.scale).add(scaling.offset);
    return loaded.model.predict(x) as Tensor;
  });
  let values: Float32Array;
  try {
    values = (await result.data()) as Float32Array;
  } finally {
    result.dispose();
  }
  const units = loaded.units;
  return pixels.map((_, i) => {
    const outputs = Array.from(values.subarray(i * units, (i + 1) * units));
    const probabilities = toProbabilities(outputs, loaded.output);
    return { outputs, probabilities, predictedIndex: argmax(probabilities) };
  });
}

export type PredictInput = string | { path: string; name?: string };

export type FilePrediction =
  | { path: string; name: string; probabilities: number[]; predictedIndex: number; className: string; outputs: number[] }
  | { path: string; name: string; error: string };

export interface PredictOptions {
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Image files in a folder (not recursive) that sharp may read, sorted by name. */
export async function listImageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Expands paths to image files: a file stays itself (even with an unusual extension: it gets a per-file error
 * if it is not an image); a folder gives its images, with those of subfolders up to `depth` levels (class folders).
 */
export async function collectImageFiles(paths: readonly string[], depth = 3): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, level: number) => {
    out.push(...(await listImageFiles(dir)));
    if (level >= depth) return;
    const subdirs = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
    for (const sub of subdirs) await walk(join(dir, sub), level + 1);
  };
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info?.isDirectory()) await walk(path, 0);
    else out.push(path);
  }
  return out;
}

/**
 * Predicts each file; a file that cannot be read or decoded gets `{ error }` and the others go on. Rejects only
 * when cancelled (signal) or when the model itself fails.
 */
export async function predictFiles(loaded: LoadedModel, inputs: readonly PredictInput[], options: PredictOptions = {}): Promise<FilePrediction[]> {
  const batchSize = Math.max(1, options.batchSize ?? 16);
  const items = inputs.map((input) => (typeof input === 'string' ? { path: input, name: basename(input) } : { path: input.path, name: input.name ?? basename(input.path) }));
  const results: FilePrediction[] = new Array(items.length);
  for (let start = 0; start < items.length; start += batchSize) {
    options.signal?.throwIfAborted();
    const batch = items.slice(start, start + batchSize);
    const decoded = await Promise.all(batch.map(async (item) => {
      try {
        // A user-chosen path: never block on a FIFO or a device, never read a disk image whole.
        return await decodeForModel(loaded, await readRegularFile(item.path, { maxBytes: MAX_IMAGE_FILE_BYTES }));
      } catch (error) {
        const message = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
        return new Error(`cannot read ${item.name} as an image: ${message}`);
      }
    }));
    const good = decoded.flatMap((d, i) => (d instanceof Error ? [] : [{ index: i, pixels: d }]));
    const predictions = await predictPixels(loaded, good.map((g) => g.pixels));
    decoded.forEach((d, i) => {
      const item = batch[i];
      if (d instanceof Error) results[start + i] = { path: item.path, name: item.name, error: d.message };
    });
    good.forEach((g, j) => {
      const item = batch[g.index];
      const p = predictions[j];
      results[start + g.index] = {
        path: item.path, name: item.name, probabilities: p.probabilities, predictedIndex: p.predictedIndex,
        className: loaded.classNames[p.predictedIndex], outputs: p.outputs,
      };
    });
    options.onProgress?.(Math.min(items.length, start + batch.length), items.length);
  }
  return results;
}

let backendReady: Promise<string> | null = null;

/**
 * Inference on the plain CPU backend is slow for convolutions: pick the best backend the way training does
 * (tfjs-node, else WebAssembly, else CPU; it also finds the .wasm files when packaged). Runs once per process;
 * call before loading models.
 */
export function ensureInferenceBackend(): Promise<string> {
  backendReady ??= (async () => {
    const current = tf.getBackend();
    if (current === 'wasm' || current === 'tensorflow') return current;
    try {
      return (await selectBackend('auto')).name;
    } catch {
      // No better backend could start: the CPU backend gives the same answers, only slower.
      await tf.setBackend('cpu');
      return 'cpu';
    }
  })();
  return backendReady;
}
