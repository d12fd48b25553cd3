// MobileNetV2 (Sandler et al. 2018) declared with tfjs-layers, layer for layer as Keras's
// keras.applications.MobileNetV2 (the keras_applications variant that Teachable Machine exported, with
// the explicit `Conv1_pad`), so that ImageNet weights load by layer name.
import { tf, type LayersModel } from '../../tfjs/tf';
import type { SymbolicTensor } from '@tensorflow/tfjs'; // types only: the runtime comes from ../tf

export type MobileNetAlpha = 0.35 | 0.5 | 0.75 | 1.0;
export const MOBILENET_ALPHAS: readonly MobileNetAlpha[] = [0.35, 0.5, 0.75, 1.0];
export const MIN_IMAGE_SIZE = 96;
export const MAX_IMAGE_SIZE = 224;
/** Channels of `out_relu` for every alpha <= 1 (Keras keeps 1280 there rather than scaling it). */
export const MOBILENET_FEATURE_CHANNELS = 1280;
/** Keras's epsilon for every BatchNormalization in MobileNetV2. */
export const BN_EPSILON = 1e-3;

export interface MobileNetV2Options {
  alpha: MobileNetAlpha;
  /** Square input side, 96..224. The weights are size-independent; 224 is what ImageNet training used. */
  imageSize: number;
  /** Only `false` is supported: the ImageNet classifier is never needed here. */
  includeTop?: false;
  /** Model name; Keras uses `mobilenetv2_<alpha>_<size>`. */
  name?: string;
}

/** One inverted residual block's shape, from Keras's `MobileNetV2` body. */
export interface BlockSpec {
  id: number;
  /** Layer-name prefix: `expanded_conv_` for block 0, `block_<id>_` after. */
  prefix: string;
  inChannels: number;
  expandedChannels: number;
  outChannels: number;
  stride: 1 | 2;
  /** Block 0 has no 1x1 expansion (expansion factor 1). */
  expand: boolean;
  residual: boolean;
}

export interface MobileNetV2Spec {
  alpha: MobileNetAlpha;
  imageSize: number;
  firstFilters: number;
  blocks: BlockSpec[];
  lastFilters: number;
  /** Spatial side of the `out_relu` map (ceil(size / 32)). */
  outputSize: number;
}

/** Keras's `_make_divisible`: round to a multiple of 8, never dropping more than 10%. */
export function makeDivisible(v: number, divisor = 8): number {
  let newV = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}

export function alphaLabel(alpha: MobileNetAlpha): string {
  return alpha.toFixed(2);
}

export function validateOptions(opts: MobileNetV2Options): void {
  if (!MOBILENET_ALPHAS.includes(opts.alpha)) {
    throw new Error(`MobileNetV2 alpha must be one of ${MOBILENET_ALPHAS.join(', ')}; got ${opts.alpha}`);
  }
  if (!Number.isInteger(opts.imageSize) || opts.imageSize < MIN_IMAGE_SIZE || opts.imageSize > MAX_IMAGE_SIZE) {
    throw new Error(`MobileNetV2 input size must be an integer from ${MIN_IMAGE_SIZE} to ${MAX_IMAGE_SIZE}; got ${opts.imageSize}`);
  }
  if (opts.includeTop !== undefined && opts.includeTop !== false) {
    throw new Error('MobileNetV2 is only built without the ImageNet classifier (includeTop: false)');
  }
}

// (expansion, filters, stride) per block, in order: Keras's body of 17 inverted residual blocks.
const BODY: ReadonlyArray<readonly [number, number, 1 | 2]> = [
  [1, 16, 1],
  [6, 24, 2], [6, 24, 1],
  [6, 32, 2], [6, 32, 1], [6, 32, 1],
  [6, 64, 2], [6, 64, 1], [6, 64, 1], [6, 64, 1],
  [6, 96, 1], [6, 96, 1], [6, 96, 1],
  [6, 160, 2], [6, 160, 1], [6, 160, 1],
  [6, 320, 1],
];

export function mobileNetV2Spec(opts: MobileNetV2Options): MobileNetV2Spec {
  validateOptions(opts);
  const { alpha, imageSize } = opts;
  const firstFilters = makeDivisible(32 * alpha);
  let inChannels = firstFilters;
  const blocks: BlockSpec[] = BODY.map(([expansion, filters, stride], id) => {
    const outChannels = makeDivisible(Math.trunc(filters * alpha));
    const block: BlockSpec = {
      id,
      prefix: id === 0 ? 'expanded_conv_' : `block_${id}_`,
      inChannels,
      expandedChannels: expansion * inChannels,
      outChannels,
      stride,
      expand: id !== 0,
      residual: inChannels === outChannels && stride === 1,
    };
    inChannels = outChannels;
    return block;
  });
  let side = imageSize;
  for (let i = 0; i < 5; i++) side = Math.ceil(side / 2);
  return { alpha, imageSize, firstFilters, blocks, lastFilters: MOBILENET_FEATURE_CHANNELS, outputSize: side };
}

/** Keras's `correct_pad` for a 3x3 stride-2 convolution: TF "same" padding, made explicit. */
function correctPad(side: number): [[number, number], [number, number]] {
  const adjust = 1 - (side % 2);
  // For an even side TF pads 0 before and 1 after; for an odd side 1 on both sides.
  return [[1 - adjust, 1], [1 - adjust, 1]];
}

/**
 * Builds MobileNetV2 without its classifier: input [n, size, size, 3] in [-1, 1], output the `out_relu`
 * map [n, ceil(size/32), ceil(size/32), 1280]. Weights are randomly initialised; load ImageNet weights with
 * base-weights.ts. Layer names are Keras's.
 */
export function buildMobileNetV2(opts: MobileNetV2Options): LayersModel {
  const spec = mobileNetV2Spec(opts);
  const { imageSize } = spec;
  const bn = (name: string) => tf.layers.batchNormalization({ axis: -1, epsilon: BN_EPSILON, momentum: 0.999, name });
  const relu6 = (name: string) => tf.layers.reLU({ maxValue: 6, name });

  const input = tf.input({ shape: [imageSize, imageSize, 3], name: 'input_1' });
  let side = imageSize;
  let x = tf.layers.zeroPadding2d({ padding: correctPad(side), name: 'Conv1_pad' }).apply(input) as SymbolicTensor;
  x = tf.layers.conv2d({ filters: spec.firstFilters, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'Conv1' }).apply(x) as SymbolicTensor;
  side = Math.ceil(side / 2);
  x = bn('bn_Conv1').apply(x) as SymbolicTensor;
  x = relu6('Conv1_relu').apply(x) as SymbolicTensor;

  for (const b of spec.blocks) {
    const blockInput = x;
    const p = b.prefix;
    if (b.expand) {
      x = tf.layers.conv2d({ filters: b.expandedChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${p}expand` }).apply(x) as SymbolicTensor;
      x = bn(`${p}expand_BN`).apply(x) as SymbolicTensor;
      x = relu6(`${p}expand_relu`).apply(x) as SymbolicTensor;
    }
    if (b.stride === 2) {
      x = tf.layers.zeroPadding2d({ padding: correctPad(side), name: `${p}pad` }).apply(x) as SymbolicTensor;
      side = Math.ceil(side / 2);
    }
    x = tf.layers.depthwiseConv2d({
      kernelSize: 3, strides: b.stride, padding: b.stride === 1 ? 'same' : 'valid', useBias: false, depthMultiplier: 1, name: `${p}depthwise`,
    }).apply(x) as SymbolicTensor;
    x = bn(`${p}depthwise_BN`).apply(x) as SymbolicTensor;
    x = relu6(`${p}depthwise_relu`).apply(x) as SymbolicTensor;
    x = tf.layers.conv2d({ filters: b.outChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${p}project` }).apply(x) as SymbolicTensor;
    x = bn(`${p}project_BN`).apply(x) as SymbolicTensor;
    if (b.residual) x = tf.layers.add({ name: `${p}add` }).apply([blockInput, x]) as SymbolicTensor;
  }

  x = tf.layers.conv2d({ filters: spec.lastFilters, kernelSize: 1, useBias: false, name: 'Conv_1' }).apply(x) as SymbolicTensor;
  x = bn('Conv_1_bn').apply(x) as SymbolicTensor;
  x = relu6('out_relu').apply(x) as SymbolicTensor;

  const name = opts.name ?? `mobilenetv2_${alphaLabel(spec.alpha)}_${imageSize}`;
  return tf.model({ inputs: input, outputs: x, name });
}

/** Same spelling as MobilenetConfig.headPooling in shared/training-config.ts. */
export type PoolingType = 'max' | 'average';

/** Where a pooling's half starts in a pooled feature record (POOLED_LAYOUT: the max-pooled half, then the average). */
export function poolingOffset(pooling: PoolingType): number {
  return pooling === 'max' ? 0 : MOBILENET_FEATURE_CHANNELS;
}

/** The head's Dropout rate when not given (the tutorial's Dropout(0.2)). */
export const HEAD_DROPOUT = 0.2;

export interface TransferHeadOptions {
  pooling: PoolingType;
  /** 1 logit for two classes (the tutorial), otherwise one logit per class. */
  units: number;
  dropout?: number;
  /** Units of an optional Dense(relu) layer between pooling and the output; 0 or absent = none. */
  extraDense?: number;
}

/**
 * The head alone, on pooled base features [n, 1280]: [Dense(relu)] -> Dropout -> Dense (logits, linear, like
 * the presets: the trainer applies sigmoid/softmax cross-entropy). Layer names match buildTransferModel's, so
 * a head trained on cached features drops into the full model with copyHeadWeights.
 */
export function buildFeatureHead(head: TransferHeadOptions, featureChannels = MOBILENET_FEATURE_CHANNELS): LayersModel {
  const input = tf.input({ shape: [featureChannels], name: 'features' });
  return tf.model({ inputs: input, outputs: applyHead(input, head), name: 'mobilenet_head' });
}

function applyHead(x: SymbolicTensor, head: TransferHeadOptions): SymbolicTensor {
  if (head.extraDense) x = tf.layers.dense({ units: head.extraDense, activation: 'relu', name: 'head_dense' }).apply(x) as SymbolicTensor;
  x = tf.layers.dropout({ rate: head.dropout ?? HEAD_DROPOUT, name: 'head_dropout' }).apply(x) as SymbolicTensor;
  return tf.layers.dense({ units: head.units, name: 'head_logits' }).apply(x) as SymbolicTensor;
}

/**
 * The tutorial's model: raw pixels 0..255 -> Rescaling to [-1, 1] (0 parameters) -> base (frozen by default)
 * -> GlobalMax/AveragePooling2D -> [Dense(relu)] -> Dropout -> Dense logits. Augmentation lives in the data
 * pipeline (tfjs-layers has no RandomFlip/RandomRotation), so this holds only inference layers.
 */
export function buildTransferModel(base: LayersModel, head: TransferHeadOptions, freezeBase = true): LayersModel {
  const inShape = base.inputs[0].shape.slice(1) as number[];
  const input = tf.input({ shape: inShape, name: 'image' });
  base.trainable = !freezeBase;
  let x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescaling' }).apply(input) as SymbolicTensor;
  x = base.apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: applyPooledHead(x, head), name: `${base.name}_transfer` });
}

/**
 * Global pooling of a feature map, then the head: the tail every full model shares (the transfer model and the
 * fine-tuning top), with the layer names copyHeadWeights matches.
 */
export function applyPooledHead(map: SymbolicTensor, head: TransferHeadOptions): SymbolicTensor {
  const pooled = (head.pooling === 'max'
    ? tf.layers.globalMaxPooling2d({ name: 'global_max_pooling2d' })
    : tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' })).apply(map) as SymbolicTensor;
  return applyHead(pooled, head);
}

/** Copies the weights of a head trained on features (buildFeatureHead) into a full transfer model, by layer name. */
export function copyHeadWeights(head: LayersModel, transfer: LayersModel): void {
  for (const layer of head.layers) {
    if (layer.weights.length === 0) continue;
    transfer.getLayer(layer.name).setWeights(layer.getWeights());
  }
}

/** Number of scalars in the trainable weights of a model. */
export function countTrainableParams(model: LayersModel): number {
  return model.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}
