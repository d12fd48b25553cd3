// Converts a TF.js LayersModel (any Pawprint preset: the CNN stacks, custom stacks, MobileNetV2 frozen or fine-tuned,
// nested models included) into an ONNX graph that takes the same NHWC float32 input and gives the same outputs.
//
// The Keras graph is walked backwards from the outputs through each symbolic tensor's producing layer, so Sequential,
// functional and nested models (a base inside the transfer model, the fine-tuned top inside the saved model) are all
// the same case. Convolutions and pooling run in NCHW, as ONNX defines them; a value is transposed only where an op
// needs the other layout (see GraphBuilder). Keras's "same" padding is written as explicit (possibly asymmetric) pads
// computed from the static input size, which is what TensorFlow does; ONNX's SAME_UPPER is avoided on purpose.
import { AppError } from '../../../../shared/errors';
import type { LayersModel } from '../../../tfjs/tf';
import { GraphBuilder, type Value } from './graph-builder';
import { ONNX_FLOAT, ONNX_IR_VERSION, ONNX_OPSET, encodeOnnxModel, type OnnxValueInfo } from './onnx-proto';

type Layer = LayersModel['layers'][number];
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;
type Config = Record<string, unknown>;

export interface OnnxConversionOptions {
  /** Graph input name (default 'image'). */
  inputName?: string;
  /** Graph output name (default 'output'). */
  outputName?: string;
  /** Written as ONNX metadata_props (string values). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  docString?: string;
}

export interface OnnxConversion {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** [height, width, channels] (the batch axis is dynamic, named "batch"). */
  inputShape: number[];
  /** Output shape without the batch axis. */
  outputShape: number[];
  nodes: number;
  opset: number;
}

/** Layers that compute nothing at inference (training-time noise and augmentation). */
const IDENTITY_AT_INFERENCE = new Set([
  'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization',
  'RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomContrast', 'RandomBrightness', 'RandomTranslation', 'RandomWidth', 'RandomHeight',
]);
const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);

function unsupported(layer: Layer, why: string): AppError {
  return new AppError('unsupported', `Layer "${layer.name}" (${layer.getClassName()}) cannot be exported to ONNX: ${why}.`);
}

interface WeightData {
  shape: number[];
  data: Float32Array;
}

/** The layer's weights by their short Keras name (kernel, bias, gamma, moving_mean...). */
function weightsOf(layer: Layer): Map<string, WeightData> {
  const found = new Map<string, WeightData>();
  for (const variable of layer.weights) {
    const value = variable.read();
    if (value.dtype !== 'float32') throw unsupported(layer, `its weight ${variable.originalName} is ${value.dtype}, not float32`);
    found.set(variable.originalName.split('/').pop() ?? variable.originalName, { shape: [...value.shape], data: value.dataSync() as Float32Array });
  }
  return found;
}

function need(layer: Layer, weights: Map<string, WeightData>, name: string): WeightData {
  const w = weights.get(name);
  if (!w) throw unsupported(layer, `it has no ${name} weight`);
  return w;
}

function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}

/** Transposes `data` of shape `shape` by `perm` (numpy semantics). */
export function transposeData(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let d = 0; d < perm.length; d++) source += index[d] * inStrides[perm[d]];
    out[o] = data[source];
    for (let d = perm.length - 1; d >= 0; d--) {
      if (++index[d] < outShape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

interface Window {
  /** ONNX pads: [top, left, bottom, right]. */
  pads: number[];
  out: [number, number];
}

/** TensorFlow's output size and padding for 'valid'/'same' on a known input size. */
export function windowPadding(layer: Layer, padding: unknown, size: [number, number], kernel: [number, number], strides: [number, number], dilation: [number, number] = [1, 1]): Window {
  const pads = [0, 0, 0, 0];
  const out: [number, number] = [0, 0];
  for (let axis = 0; axis < 2; axis++) {
    const effective = (kernel[axis] - 1) * dilation[axis] + 1;
    if (padding === 'valid') {
      out[axis] = Math.floor((size[axis] - effective) / strides[axis]) + 1;
    } else if (padding === 'same') {
      out[axis] = Math.ceil(size[axis] / strides[axis]);
      const total = Math.max((out[axis] - 1) * strides[axis] + effective - size[axis], 0);
      pads[axis] = Math.floor(total / 2);
      pads[axis + 2] = total - pads[axis];
    } else {
      throw unsupported(layer, `padding "${String(padding)}" has no ONNX equivalent here (only valid and same)`);
    }
    if (out[axis] < 1) throw unsupported(layer, `its ${kernel[0]}x${kernel[1]} window does not fit the ${size[0]}x${size[1]} input`);
  }
  return { pads, out };
}

class Converter {
  constructor(readonly g: GraphBuilder) {}

  container(model: LayersModel, inputs: Value[]): Value[] {
    if (model.inputs.length !== inputs.length) throw unsupported(model as unknown as Layer, `it takes ${model.inputs.length} inputs where ${inputs.length} are given`);
    const known = new Map<SymbolicTensor, Value>();
    model.inputs.forEach((tensor, i) => known.set(tensor, inputs[i]));
    const resolve = (tensor: SymbolicTensor): Value => {
      const have = known.get(tensor);
      if (have) return have;
      const layer = tensor.sourceLayer;
      if (layer.getClassName() === 'InputLayer') throw unsupported(model as unknown as Layer, `its input ${layer.name} is not one of the model's inputs`);
      const args = tensor.inputs.map(resolve);
      const value = this.layer(layer, args);
      known.set(tensor, value);
      return value;
    };
    return model.outputs.map(resolve);
  }

  layer(layer: Layer, inputs: Value[]): Value {
    const kind = layer.getClassName();
    const config = layer.getConfig() as Config;
    if (config.dataFormat === 'channelsFirst') throw unsupported(layer, 'it is channels-first; Pawprint models are channels-last');
    if (IDENTITY_AT_INFERENCE.has(kind)) return inputs[0];
    if (CONTAINERS.has(kind)) {
      const outputs = this.container(layer as unknown as LayersModel, inputs);
      if (outputs.length !== 1) throw unsupported(layer, `it has ${outputs.length} outputs; only single-output models are supported`);
      return outputs[0];
    }
    const x = inputs[0];
    switch (kind) {
      case 'Rescaling': return this.rescaling(layer, x, config);
      case 'Conv2D': return this.conv(layer, x, config);
      case 'DepthwiseConv2D': return this.depthwise(layer, x, config);
      case 'SeparableConv2D': return this.separable(layer, x, config);
      case 'MaxPooling2D': return this.pool(layer, x, config, 'MaxPool');
      case 'AveragePooling2D': return this.pool(layer, x, config, 'AveragePool');
      case 'GlobalAveragePooling2D': return this.globalPool(layer, x, 'ReduceMean');
      case 'GlobalMaxPooling2D': return this.globalPool(layer, x, 'ReduceMax');
      case 'BatchNormalization': return this.batchNorm(layer, x, config);
      case 'Dense': return this.dense(layer, x, config);
      case 'Flatten': return this.flatten(layer, x);
      case 'Reshape': return this.reshape(layer, x, config);
      case 'ZeroPadding2D': return this.zeroPadding(layer, x, config);
      case 'Activation': return this.activation(layer, x, config.activation);
      case 'ReLU': return config.maxValue === null || config.maxValue === undefined
        ? this.unary(layer, x, 'Relu')
        : this.clip(layer, x, 0, Number(config.maxValue));
      case 'LeakyReLU': return { ...x, name: this.g.node('LeakyRelu', [x.name], layer.name, { alpha: { float: Number(config.alpha ?? 0.3) } }) };
      case 'ELU': return { ...x, name: this.g.node('Elu', [x.name], layer.name, { alpha: { float: Number(config.alpha ?? 1) } }) };
      case 'Softmax': return this.softmax(layer, x, typeof config.axis === 'number' ? config.axis : -1);
      case 'Add': return this.merge(layer, inputs, 'Add');
      case 'Multiply': return this.merge(layer, inputs, 'Mul');
      case 'Maximum': return this.merge(layer, inputs, 'Max');
      case 'Minimum': return this.merge(layer, inputs, 'Min');
      case 'Average': return this.merge(layer, inputs, 'Mean');
      case 'Concatenate': return this.concatenate(layer, inputs, Number(config.axis ?? -1));
      default:
        throw unsupported(layer, 'no ONNX translation is written for this layer kind');
    }
  }

  rescaling(layer: Layer, x: Value, config: Config): Value {
    // tfjs computes x * scale + offset in float32; the same two ops in the same order.
    const scale = Number(config.scale ?? 1);
    const offset = Number(config.offset ?? 0);
    let name = x.name;
    if (scale !== 1) name = this.g.node('Mul', [name, this.g.scalar(`${layer.name}_scale`, scale)], `${layer.name}_mul`);
    if (offset !== 0) name = this.g.node('Add', [name, this.g.scalar(`${layer.name}_offset`, offset)], `${layer.name}_add`);
    return { ...x, name };
  }

  conv(layer: Layer, input: Value, config: Config): Value {
    const x = this.g.asFirst(this.image(layer, input));
    const w = weightsOf(layer);
    const kernel = need(layer, w, 'kernel');
    const [kh, kw, cin, cout] = kernel.shape;
    const strides = pair(config.strides, 1);
    const dilation = pair(config.dilationRate, 1);
    const win = windowPadding(layer, config.padding, [x.shape[0], x.shape[1]], [kh, kw], strides, dilation);
    const inputs = [x.name, this.g.floatTensor(`${layer.name}_kernel`, [cout, cin, kh, kw], transposeData(kernel.data, kernel.shape, [3, 2, 0, 1]))];
    const bias = config.useBias === false ? undefined : w.get('bias');
    if (bias) inputs.push(this.g.floatTensor(`${layer.name}_bias`, [cout], bias.data));
    const name = this.g.node('Conv', inputs, layer.name, { kernel_shape: [kh, kw], strides, dilations: dilation, pads: win.pads, group: 1 });
    return this.activation(layer, { name, layout: 'first', shape: [win.out[0], win.out[1], cout] }, config.activation);
  }

  /** Keras depthwise kernel [kh, kw, c, m] -> ONNX grouped-conv weight [c*m, 1, kh, kw] (output channel c*m + k). */
  private depthwiseConv(layer: Layer, x: Value, kernel: WeightData, bias: WeightData | undefined, config: Config, base: string): Value {
    const [kh, kw, channels, multiplier] = kernel.shape;
    const strides = pair(config.strides, 1);
    const dilation = pair(config.dilationRate, 1);
    const win = windowPadding(layer, config.padding, [x.shape[0], x.shape[1]], [kh, kw], strides, dilation);
    const weight = transposeData(kernel.data, [kh, kw, channels * multiplier], [2, 0, 1]);
    const inputs = [x.name, this.g.floatTensor(`${base}_kernel`, [channels * multiplier, 1, kh, kw], weight)];
    if (bias) inputs.push(this.g.floatTensor(`${base}_bias`, [channels * multiplier], bias.data));
    const name = this.g.node('Conv', inputs, base, { kernel_shape: [kh, kw], strides, dilations: dilation, pads: win.pads, group: channels });
    return { name, layout: 'first', shape: [win.out[0], win.out[1], channels * multiplier] };
  }

  depthwise(layer: Layer, input: Value, config: Config): Value {
    const x = this.g.asFirst(this.image(layer, input));
    const w = weightsOf(layer);
    const y = this.depthwiseConv(layer, x, need(layer, w, 'depthwise_kernel'), config.useBias === false ? undefined : w.get('bias'), config, layer.name);
    return this.activation(layer, y, config.activation);
  }

  separable(layer: Layer, input: Value, config: Config): Value {
    const x = this.g.asFirst(this.image(layer, input));
    const w = weightsOf(layer);
    const depth = this.depthwiseConv(layer, x, need(layer, w, 'depthwise_kernel'), undefined, config, `${layer.name}_depthwise`);
    const pointwise = need(layer, w, 'pointwise_kernel');
    const [, , cin, cout] = pointwise.shape;
    const inputs = [depth.name, this.g.floatTensor(`${layer.name}_pointwise_kernel`, [cout, cin, 1, 1], transposeData(pointwise.data, pointwise.shape, [3, 2, 0, 1]))];
    const bias = config.useBias === false ? undefined : w.get('bias');
    if (bias) inputs.push(this.g.floatTensor(`${layer.name}_bias`, [cout], bias.data));
    const name = this.g.node('Conv', inputs, layer.name, { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 });
    return this.activation(layer, { name, layout: 'first', shape: [depth.shape[0], depth.shape[1], cout] }, config.activation);
  }

  pool(layer: Layer, input: Value, config: Config, op: 'MaxPool' | 'AveragePool'): Value {
    const x = this.g.asFirst(this.image(layer, input));
    const size = pair(config.poolSize, 2);
    const strides = pair(config.strides ?? config.poolSize, 2);
    const win = windowPadding(layer, config.padding, [x.shape[0], x.shape[1]], size, strides);
    // TensorFlow's 'same' average excludes the padding from the count, as ONNX's count_include_pad=0 does; max pooling
    // never picks a padded value in either.
    const attributes = { kernel_shape: size, strides, pads: win.pads, ...(op === 'AveragePool' ? { count_include_pad: 0 } : {}) };
    const name = this.g.node(op, [x.name], layer.name, attributes);
    return { name, layout: 'first', shape: [win.out[0], win.out[1], x.shape[2]] };
  }

  globalPool(layer: Layer, input: Value, op: 'ReduceMean' | 'ReduceMax'): Value {
    const x = this.image(layer, input);
    const axes = x.layout === 'first' ? [2, 3] : [1, 2];
    const name = this.g.node(op, [x.name], layer.name, { axes, keepdims: 0 });
    return { name, layout: 'last', shape: [x.shape[2]] };
  }

  batchNorm(layer: Layer, input: Value, config: Config): Value {
    const rank = input.shape.length + 1;
    const axis = Number(Array.isArray(config.axis) ? config.axis[0] : config.axis ?? -1);
    if (axis !== -1 && axis !== rank - 1) throw unsupported(layer, `it normalises axis ${axis}; only the channel (last) axis is supported`);
    if (rank !== 4 && rank !== 2) throw unsupported(layer, `its input has rank ${rank}; only image maps and flat vectors are supported`);
    const x = rank === 4 ? this.g.asFirst(input) : input;
    const w = weightsOf(layer);
    const mean = need(layer, w, 'moving_mean');
    const variance = need(layer, w, 'moving_variance');
    const channels = mean.data.length;
    const gamma = w.get('gamma')?.data ?? new Float32Array(channels).fill(1);
    const beta = w.get('beta')?.data ?? new Float32Array(channels);
    const name = this.g.node('BatchNormalization', [
      x.name,
      this.g.floatTensor(`${layer.name}_gamma`, [channels], gamma),
      this.g.floatTensor(`${layer.name}_beta`, [channels], beta),
      this.g.floatTensor(`${layer.name}_mean`, [channels], mean.data),
      this.g.floatTensor(`${layer.name}_variance`, [channels], variance.data),
    ], layer.name, { epsilon: { float: Number(config.epsilon ?? 1e-3) } });
    return { ...x, name };
  }

  dense(layer: Layer, input: Value, config: Config): Value {
    // Keras's Dense acts on the last axis, so a map is brought back to channels-last first.
    const x = this.g.asLast(input);
    const w = weightsOf(layer);
    const kernel = need(layer, w, 'kernel');
    const [inUnits, units] = kernel.shape;
    if (x.shape[x.shape.length - 1] !== inUnits) throw unsupported(layer, `its kernel takes ${inUnits} inputs but it receives ${x.shape.at(-1)}`);
    let name = this.g.node('MatMul', [x.name, this.g.floatTensor(`${layer.name}_kernel`, [inUnits, units], kernel.data)], `${layer.name}_matmul`);
    const bias = config.useBias === false ? undefined : w.get('bias');
    if (bias) name = this.g.node('Add', [name, this.g.floatTensor(`${layer.name}_bias`, [units], bias.data)], layer.name);
    return this.activation(layer, { name, layout: 'last', shape: [...x.shape.slice(0, -1), units] }, config.activation);
  }

  flatten(layer: Layer, input: Value): Value {
    // Keras flattens in channels-last order (h, w, c): the Dense after it was trained on that order.
    const x = this.g.asLast(input);
    if (x.shape.length === 1) return x;
    const name = this.g.node('Flatten', [x.name], layer.name, { axis: 1 });
    return { name, layout: 'last', shape: [x.shape.reduce((a, b) => a * b, 1)] };
  }

  reshape(layer: Layer, input: Value, config: Config): Value {
    const x = this.g.asLast(input);
    const target = (Array.isArray(config.targetShape) ? config.targetShape : []).map((d) => (d === null || d === undefined ? -1 : Number(d)));
    const total = x.shape.reduce((a, b) => a * b, 1);
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const shape = target.map((d) => (d === -1 ? total / known : d));
    // 0 copies the batch dimension.
    const name = this.g.node('Reshape', [x.name, this.g.int64Tensor(`${layer.name}_shape`, [0, ...target])], layer.name);
    return { name, layout: 'last', shape };
  }

  zeroPadding(layer: Layer, input: Value, config: Config): Value {
    const x = this.image(layer, input);
    const padding = config.padding;
    const [[top, bottom], [left, right]] = Array.isArray(padding) && Array.isArray(padding[0])
      ? (padding as number[][]).map((p) => [Number(p[0]), Number(p[1] ?? p[0])])
      : [pair(padding, 1), pair(padding, 1)].map(([a]) => [a, a]);
    const pads = x.layout === 'first' ? [0, 0, top, left, 0, 0, bottom, right] : [0, top, left, 0, 0, bottom, right, 0];
    const name = this.g.node('Pad', [x.name, this.g.int64Tensor(`${layer.name}_pads`, pads)], layer.name, { mode: 'constant' });
    return { name, layout: x.layout, shape: [x.shape[0] + top + bottom, x.shape[1] + left + right, x.shape[2]] };
  }

  merge(layer: Layer, inputs: Value[], op: 'Add' | 'Mul' | 'Max' | 'Min' | 'Mean'): Value {
    const layout = inputs[0].layout;
    const names = inputs.map((v) => this.g.as(v, layout).name);
    if (op === 'Max' || op === 'Min' || op === 'Mean') return { ...inputs[0], name: this.g.node(op, names, layer.name) };
    let name = names[0];
    for (let i = 1; i < names.length; i++) name = this.g.node(op, [name, names[i]], i === names.length - 1 ? layer.name : `${layer.name}_${i}`);
    return { ...inputs[0], name };
  }

  /** The ONNX axis of Keras axis `axis` (batch included) for a value in its layout. */
  private physicalAxis(layer: Layer, x: Value, axis: number): number {
    const rank = x.shape.length + 1;
    const keras = axis < 0 ? axis + rank : axis;
    if (keras < 0 || keras >= rank) throw unsupported(layer, `axis ${axis} is outside its rank-${rank} input`);
    if (x.layout === 'last') return keras;
    return [0, 2, 3, 1][keras];
  }

  concatenate(layer: Layer, inputs: Value[], axis: number): Value {
    const layout = inputs[0].layout;
    const values = inputs.map((v) => this.g.as(v, layout));
    const onnxAxis = this.physicalAxis(layer, values[0], axis);
    const kerasAxis = (axis < 0 ? axis + values[0].shape.length + 1 : axis) - 1;
    const shape = [...values[0].shape];
    shape[kerasAxis] = values.reduce((sum, v) => sum + v.shape[kerasAxis], 0);
    return { name: this.g.node('Concat', values.map((v) => v.name), layer.name, { axis: onnxAxis }), layout, shape };
  }

  softmax(layer: Layer, x: Value, axis: number, base = layer.name): Value {
    return { ...x, name: this.g.node('Softmax', [x.name], base, { axis: this.physicalAxis(layer, x, axis) }) };
  }

  unary(layer: Layer, x: Value, op: string, base = layer.name): Value {
    return { ...x, name: this.g.node(op, [x.name], base) };
  }

  clip(layer: Layer, x: Value, min: number, max: number, base = layer.name): Value {
    const name = this.g.node('Clip', [x.name, this.g.scalar(`${base}_min`, min), this.g.scalar(`${base}_max`, max)], base);
    return { ...x, name };
  }

  /** Keras activation by its tfjs serialised name, applied after the layer's own op. */
  activation(layer: Layer, x: Value, activation: unknown): Value {
    const base = `${layer.name}_${String(activation)}`;
    switch (activation ?? 'linear') {
      case 'linear': return x;
      case 'relu': return this.unary(layer, x, 'Relu', base);
      case 'relu6': return this.clip(layer, x, 0, 6, base);
      case 'sigmoid': return this.unary(layer, x, 'Sigmoid', base);
      case 'tanh': return this.unary(layer, x, 'Tanh', base);
      case 'softplus': return this.unary(layer, x, 'Softplus', base);
      case 'softsign': return this.unary(layer, x, 'Softsign', base);
      case 'selu': return this.unary(layer, x, 'Selu', base);
      case 'elu': return { ...x, name: this.g.node('Elu', [x.name], base, { alpha: { float: 1 } }) };
      case 'hardSigmoid':
      case 'hard_sigmoid': return { ...x, name: this.g.node('HardSigmoid', [x.name], base, { alpha: { float: 0.2 }, beta: { float: 0.5 } }) };
      case 'swish': return { ...x, name: this.g.node('Mul', [x.name, this.g.node('Sigmoid', [x.name], `${base}_sigmoid`)], base) };
      case 'softmax': return this.softmax(layer, x, -1, base);
      default:
        throw unsupported(layer, `its activation "${String(activation)}" has no ONNX translation here`);
    }
  }

  /** Checks an image-map input (rank 4 with known sizes). */
  private image(layer: Layer, x: Value): Value {
    if (x.shape.length !== 3 || x.shape.some((d) => !(d > 0))) throw unsupported(layer, `it needs an image map [height, width, channels] of known size, not [${x.shape.join(', ')}]`);
    return x;
  }
}

function valueInfo(name: string, shape: number[]): OnnxValueInfo {
  return { name, type: { tensorType: { elemType: ONNX_FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...shape.map((d) => ({ dimValue: d }))] } } } };
}

/** Builds model.onnx's bytes for `model`. Throws AppError('unsupported') naming the first layer that has no translation. */
export function convertLayersModel(model: LayersModel, options: OnnxConversionOptions = {}): OnnxConversion {
  const inputName = options.inputName ?? 'image';
  const outputName = options.outputName ?? 'output';
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new AppError('unsupported', `The model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; only one image in and one output are exported to ONNX.`);
  }
  const inShape = model.inputs[0].shape.slice(1);
  if (inShape.length !== 3 || inShape.some((d) => d === null || !(d > 0))) {
    throw new AppError('unsupported', `The model takes input of shape [${model.inputs[0].shape.map((d) => d ?? '?').join(', ')}]; ONNX export needs a fixed [batch, height, width, channels] image input.`);
  }
  const g = new GraphBuilder();
  g.reserve(inputName);
  g.reserve(outputName);
  const converter = new Converter(g);
  const [result] = converter.container(model, [{ name: inputName, layout: 'last', shape: inShape as number[] }]);
  const out = g.asLast(result);
  g.nodes.push({ name: outputName, opType: 'Identity', input: [out.name], output: [outputName], attribute: [] });
  const expected = model.outputs[0].shape.slice(1);
  if (expected.length !== out.shape.length || expected.some((d, i) => d !== null && d !== out.shape[i])) {
    throw new AppError('failed', `ONNX conversion worked out an output of [${out.shape.join(', ')}] where the model gives [${expected.join(', ')}]; the export was not written.`);
  }
  const bytes = encodeOnnxModel({
    irVersion: ONNX_IR_VERSION,
    producerName: 'pawprint',
    producerVersion: options.producerVersion ?? '',
    ...(options.docString ? { docString: options.docString } : {}),
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(inputName, inShape as number[])],
      output: [valueInfo(outputName, out.shape)],
    },
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return { bytes, inputName, outputName, inputShape: inShape as number[], outputShape: out.shape, nodes: g.nodes.length, opset: ONNX_OPSET };
}
