// Rewrites a Pawprint model's model.json + weights (as serializeModel writes them) into what Teachable Machine's
// library (@teachablemachine/image 0.8.5 on TensorFlow.js 1.3.1) loads and predicts with:
// - input: TM feeds t = x / 127 - 1 (x the 0..255 pixels of the centre square). The model's Rescaling layer (which
//   tfjs 1.3.1 lacks) becomes a 1x1 DepthwiseConv2D computing a·t + b per channel, with a, b chosen so that it gives
//   exactly what the Rescaling gave for x (x·scale + offset = 127·scale·t + 127·scale + offset). It stays a layer of its
//   own rather than being folded into the first convolution: MobileNetV2 zero-pads before Conv1, and a fold would
//   turn those zeros into a different value at the border.
// - output: K softmax probabilities (TM reports the outputs as they are). The last Dense gets softmax; a two-class
//   model's single logit z becomes the two logits [-z/2, z/2], whose softmax is [1 - sigmoid(z), sigmoid(z)].
// - only layers, containers and activations that tfjs 1.3.1 registers ('Functional' is written as 'Model').
// Pure (no tfjs): a JSON topology and Float32Arrays in, the same out.
import { AppError } from '../../../../shared/errors';

/** Layer classes tfjs-layers 1.3.1 registers (its dist's `className`s; test/unit/export/tm-convert checks the list). */
export const TFJS_1_3_1_LAYERS: ReadonlySet<string> = new Set([
  'Activation', 'Add', 'AlphaDropout', 'Average', 'AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
  'BatchNormalization', 'Bidirectional', 'Concatenate', 'Conv1D', 'Conv2D', 'Conv2DTranspose', 'Conv3D', 'Cropping2D',
  'Dense', 'DepthwiseConv2D', 'Dot', 'Dropout', 'ELU', 'Embedding', 'Flatten', 'GRU', 'GaussianDropout', 'GaussianNoise',
  'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'InputLayer', 'LSTM',
  'LayerNormalization', 'LeakyReLU', 'Masking', 'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'Maximum', 'Minimum',
  'Model', 'Multiply', 'PReLU', 'Permute', 'ReLU', 'RepeatVector', 'Reshape', 'SeparableConv2D', 'Sequential',
  'SimpleRNN', 'Softmax', 'ThresholdedReLU', 'TimeDistributed', 'UpSampling2D', 'ZeroPadding2D',
]);

/** Activation names tfjs 1.3.1 deserialises (camelCase as it registers them, snake_case as Keras writes them). */
const TFJS_1_3_1_ACTIVATIONS: ReadonlySet<string> = new Set([
  'elu', 'selu', 'relu', 'relu6', 'linear', 'sigmoid', 'hardSigmoid', 'hard_sigmoid', 'softplus', 'softsign', 'tanh',
  'softmax', 'logSoftmax', 'log_softmax',
]);

const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);
/** Name of the layer that takes TM's scaled input to what the model's own scaling gave. */
export const TM_INPUT_LAYER = 'tm_input_scaling';
/** Teachable Machine's capture(): x / 127 - 1 (127, not 127.5). */
export const TM_SCALE = 1 / 127;
export const TM_OFFSET = -1;

type Json = Record<string, unknown>;
interface LayerEntry extends Json {
  class_name: string;
  config: Json;
  name?: string;
  inbound_nodes?: unknown[];
}

export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface TmConversion {
  /** The Keras topology tfjs 1.3.1 builds. */
  topology: Json;
  /** The weights in manifest order (the scaling layer's last). */
  weights: NamedWeight[];
  /** Square input side. */
  imageSize: number;
  /** Output units: the number of classes (2 for a one-logit model). */
  units: number;
  /** What the input layer was made from: the model's Rescaling (scale, offset), or none found (scale 1, offset 0). */
  inputScaling: { scale: number; offset: number; from: 'rescaling-layer' | 'outside-model' | 'none' };
}

function unsupported(why: string): AppError {
  return new AppError('unsupported', `This model cannot be a Teachable Machine export: ${why}.`);
}

function isLayer(value: unknown): value is LayerEntry {
  return typeof value === 'object' && value !== null && typeof (value as Json).class_name === 'string'
    && typeof (value as Json).config === 'object' && (value as Json).config !== null;
}

function layersOf(container: LayerEntry): LayerEntry[] {
  const layers = container.config.layers;
  if (!Array.isArray(layers) || !layers.every(isLayer)) throw unsupported(`the container ${String(container.config.name)} lists no layers`);
  return layers;
}

function layerName(layer: LayerEntry): string {
  return String(layer.name ?? layer.config.name ?? '');
}

/** Every inbound reference [name, node, tensor, kwargs] in a functional container's layers. */
function inboundRefs(layer: LayerEntry): unknown[][] {
  const refs: unknown[][] = [];
  for (const node of layer.inbound_nodes ?? []) {
    if (!Array.isArray(node)) continue;
    for (const ref of node) if (Array.isArray(ref)) refs.push(ref);
  }
  return refs;
}

function scalingLayer(name: string, a: number, b: number, extra: Json = {}): { entry: LayerEntry; weights: NamedWeight[] } {
  const config: Json = {
    ...extra,
    name, trainable: false, kernel_size: [1, 1], strides: [1, 1], padding: 'valid', data_format: 'channels_last',
    dilation_rate: [1, 1], depth_multiplier: 1, activation: 'linear', use_bias: true,
    depthwise_initializer: { class_name: 'Zeros', config: {} }, bias_initializer: { class_name: 'Zeros', config: {} },
    depthwise_regularizer: null, bias_regularizer: null, activity_regularizer: null, depthwise_constraint: null, bias_constraint: null,
  };
  return {
    entry: { class_name: 'DepthwiseConv2D', config },
    weights: [
      { name: `${name}/depthwise_kernel`, shape: [1, 1, 3, 1], data: new Float32Array(3).fill(a) },
      { name: `${name}/bias`, shape: [3], data: new Float32Array(3).fill(b) },
    ],
  };
}

function rescalingOf(layer: LayerEntry): { scale: number; offset: number } {
  const scale = Number(layer.config.scale ?? 1);
  const offset = Number(layer.config.offset ?? 0);
  if (!Number.isFinite(scale) || !Number.isFinite(offset)) throw unsupported('its Rescaling layer has no numeric scale and offset');
  return { scale, offset };
}

/**
 * Puts the scaling layer at the model's input: in place of a Rescaling that is the first layer, or in front of the
 * first layer when there is none. Returns the Rescaling's scale and offset (null when there was none).
 */
function replaceInputScaling(
  top: LayerEntry, make: (found: { scale: number; offset: number } | null, extra?: Json) => { entry: LayerEntry; weights: NamedWeight[] },
): { found: { scale: number; offset: number } | null; weights: NamedWeight[] } {
  const layers = layersOf(top);
  if (top.class_name === 'Sequential') {
    const first = layers[0];
    if (!first) throw unsupported('it has no layers');
    if (first.class_name === 'InputLayer') throw unsupported('its Sequential starts with an explicit InputLayer');
    const inputKeys = Object.fromEntries(['batch_input_shape', 'dtype'].filter((k) => k in first.config).map((k) => [k, first.config[k]]));
    if (!('batch_input_shape' in inputKeys)) throw unsupported('its first layer does not declare the input shape');
    if (first.class_name === 'Rescaling') {
      const found = rescalingOf(first);
      const made = make(found, inputKeys);
      layers[0] = made.entry;
      return { found, weights: made.weights };
    }
    const made = make(null, inputKeys);
    delete first.config.batch_input_shape;
    layers.unshift(made.entry);
    return { found: null, weights: made.weights };
  }
  const inputs = top.config.input_layers;
  if (!Array.isArray(inputs) || inputs.length !== 1 || !Array.isArray(inputs[0])) throw unsupported('it does not have exactly one input');
  const inputName = String(inputs[0][0]);
  const consumers = layers.filter((layer) => inboundRefs(layer).some((ref) => ref[0] === inputName));
  const rescaling = consumers.length === 1 && consumers[0].class_name === 'Rescaling' ? consumers[0] : null;
  const found = rescaling ? rescalingOf(rescaling) : null;
  const made = make(found);
  made.entry.name = TM_INPUT_LAYER;
  made.entry.inbound_nodes = [[[inputName, 0, 0, {}]]];
  // Whatever read the old first layer (or the input) now reads the scaling layer.
  const replaced = rescaling ? layerName(rescaling) : inputName;
  for (const layer of layers) {
    if (layer === rescaling) continue;
    for (const ref of inboundRefs(layer)) if (ref[0] === replaced) [ref[0], ref[1], ref[2]] = [TM_INPUT_LAYER, 0, 0];
  }
  const at = rescaling ? layers.indexOf(rescaling) : layers.findIndex((layer) => layerName(layer) === inputName) + 1;
  layers.splice(at, rescaling ? 1 : 0, made.entry);
  return { found, weights: made.weights };
}

/** The layer whose output is the model's output, looking inside nested containers. */
function outputLayer(container: LayerEntry): LayerEntry {
  const layers = layersOf(container);
  let last: LayerEntry | undefined;
  if (container.class_name === 'Sequential') {
    last = layers.at(-1);
  } else {
    const outputs = container.config.output_layers;
    if (!Array.isArray(outputs) || outputs.length !== 1 || !Array.isArray(outputs[0])) throw unsupported('it does not have exactly one output');
    last = layers.find((layer) => layerName(layer) === String(outputs[0][0]));
  }
  if (!last) throw unsupported('its output layer is missing from model.json');
  return CONTAINERS.has(last.class_name) ? outputLayer(last) : last;
}

function visitLayers(container: LayerEntry, visit: (layer: LayerEntry) => void): void {
  for (const layer of layersOf(container)) {
    visit(layer);
    if (CONTAINERS.has(layer.class_name)) visitLayers(layer, visit);
  }
}

/**
 * `topology`: model.json's modelTopology; `weights`: its weights in manifest order (float32). Throws AppError
 * ('unsupported') with the reason when the model cannot become a TM model (not square, layers tfjs 1.3.1 lacks,
 * an output that is not a Dense layer).
 */
export function convertForTeachableMachine(
  topology: Json, weights: readonly NamedWeight[], options: { outsideScaling?: { scale: number; offset: number } | null } = {},
): TmConversion {
  const top = structuredClone(topology) as unknown as LayerEntry;
  if (!isLayer(top) || !CONTAINERS.has(top.class_name)) throw unsupported('model.json has no Keras model topology');
  const byName = new Map<string, NamedWeight>(weights.map((w) => [w.name, { ...w, data: Float32Array.from(w.data), shape: [...w.shape] }]));

  // Input: [null, n, n, 3] on the first layer (Sequential) or the InputLayer (functional).
  let inputShape: unknown;
  visitLayers(top, (layer) => { inputShape ??= layer.config.batch_input_shape; });
  if (!Array.isArray(inputShape) || inputShape.length !== 4 || inputShape[3] !== 3) {
    throw unsupported(`it takes ${JSON.stringify(inputShape ?? null)}, not [batch, height, width, 3] RGB images`);
  }
  const [, height, width] = inputShape as number[];
  if (!Number.isInteger(height) || height !== width) {
    throw unsupported(`it was trained on ${width}x${height} images and Teachable Machine's library only feeds square images (one imageSize): train at a square size`);
  }

  let scaling: TmConversion['inputScaling'] = { scale: 1, offset: 0, from: 'none' };
  const replaced = replaceInputScaling(top, (found, extra) => {
    const { scale, offset } = found ?? options.outsideScaling ?? { scale: 1, offset: 0 };
    scaling = { scale, offset, from: found ? 'rescaling-layer' : options.outsideScaling ? 'outside-model' : 'none' };
    // x = (t - TM_OFFSET) / TM_SCALE = 127·t + 127, so x·scale + offset = (127·scale)·t + 127·scale + offset.
    return scalingLayer(TM_INPUT_LAYER, scale / TM_SCALE, -TM_OFFSET * scale / TM_SCALE + offset, extra);
  });
  if (byName.has(replaced.weights[0].name)) throw unsupported(`it already has a layer named ${TM_INPUT_LAYER}`);
  for (const w of replaced.weights) byName.set(w.name, w);

  // Output: K softmax probabilities from the last Dense.
  const last = outputLayer(top);
  if (last.class_name !== 'Dense') throw unsupported(`its output layer is a ${last.class_name}, not a Dense layer`);
  const name = layerName(last);
  const activation = String(last.config.activation ?? 'linear');
  const units = Number(last.config.units);
  const kernel = byName.get(`${name}/kernel`);
  const bias = last.config.use_bias === false ? null : byName.get(`${name}/bias`);
  if (!kernel || bias === undefined) throw unsupported(`the weights of its output layer ${name} are not in the weights manifest`);
  if (units === 1 && (activation === 'linear' || activation === 'sigmoid')) {
    // z -> [-z/2, z/2]: softmax gives [1 - sigmoid(z), sigmoid(z)], Pawprint's two-class probabilities.
    const inputs = kernel.shape[0];
    const doubled = new Float32Array(inputs * 2);
    for (let i = 0; i < inputs; i++) [doubled[2 * i], doubled[2 * i + 1]] = [-kernel.data[i] / 2, kernel.data[i] / 2];
    byName.set(kernel.name, { ...kernel, shape: [inputs, 2], data: doubled });
    if (bias) byName.set(bias.name, { ...bias, shape: [2], data: Float32Array.from([-bias.data[0] / 2, bias.data[0] / 2]) });
    last.config.units = 2;
  } else if (units < 2 || (activation !== 'linear' && activation !== 'softmax')) {
    throw unsupported(`its output layer ${name} gives ${units} ${activation} value${units === 1 ? '' : 's'}, not logits or probabilities`);
  }
  last.config.activation = 'softmax';

  // Only what tfjs 1.3.1 can build.
  if (top.class_name === 'Functional') top.class_name = 'Model';
  const missing = new Set<string>();
  visitLayers(top, (layer) => {
    if (layer.class_name === 'Functional') layer.class_name = 'Model';
    if (!TFJS_1_3_1_LAYERS.has(layer.class_name)) missing.add(layer.class_name);
    const act = layer.config.activation;
    if (typeof act === 'string' && !TFJS_1_3_1_ACTIVATIONS.has(act)) missing.add(`activation ${act}`);
  });
  if (missing.size > 0) throw unsupported(`TensorFlow.js 1.3.1, which Teachable Machine's library runs on, has no ${[...missing].join(', ')}`);

  const ordered = [...weights.map((w) => byName.get(w.name)!), ...replaced.weights];
  return {
    topology: top as unknown as Json,
    weights: ordered,
    imageSize: height,
    units: Number(last.config.units),
    inputScaling: scaling,
  };
}
