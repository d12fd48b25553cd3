// A TF.js LayersModel's files as tfjs artifacts, both ways: read (model.json checked against a schema, each weights
// file's size against the manifest before it is read, a dry build before the real one) and written (model.json +
// weights.bin as export packages and run folders hold them).
import { posix } from 'node:path';
import { z } from 'zod';
import { AppError, firstLine } from '../../shared/errors';
import { tf, type LayersModel, type Tensor } from '../tfjs/tf';
import { parseJson, readJsonBytes, type ModelFiles } from './model-files';

type ModelArtifacts = import('@tensorflow/tfjs').io.ModelArtifacts;
type WeightsManifestEntry = import('@tensorflow/tfjs').io.WeightsManifestEntry;

export const MODEL_JSON_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

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
export async function readModelArtifacts(files: ModelFiles): Promise<ModelArtifacts> {
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
export async function buildModel(artifacts: ModelArtifacts, label: string): Promise<LayersModel> {
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

/** model.json and weights.bin of a model, as TF.js writes them (no training config: the model was never compiled). */
export async function serializeModel(model: LayersModel): Promise<{ modelJson: string; weights: Buffer }> {
  let captured: ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const artifacts = captured as ModelArtifacts | null;
  if (!artifacts || !artifacts.modelTopology || artifacts.modelTopology instanceof ArrayBuffer) throw new Error('the model did not serialise to JSON');
  const data = artifacts.weightData;
  const weights = Buffer.from(data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
  const modelJson = JSON.stringify({
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
  });
  return { modelJson, weights };
}
