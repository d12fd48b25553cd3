// Optional second phase of the mobilenetv2 preset, as in the Keras tutorial: unfreeze the top N inverted-residual
// blocks (and the final 1x1 Conv_1), continue from the trained head at a tenth of the learning rate.
//
// BatchNorm stays in inference mode: the unfrozen blocks are rebuilt with each BatchNorm folded into the preceding
// convolution (kernel·γ/σ, bias β−μ·γ/σ), so training adjusts those folded weights and never uses batch statistics
// (tfjs's BatchNormalization would, under training). The frozen bottom runs once per view, folded and in inference
// mode, on the feature threads (transfer.ts); its output map is kept in memory, so an epoch costs only the top
// blocks and the head.
import { tf, type LayersModel, type Tensor } from '../../tfjs/tf';
import type { ExampleSource } from '../data-pipeline';
import { foldKernel } from '../mobilenet/fold-batchnorm';
import { createMobileNetV2Base, type BaseWeights } from '../mobilenet/base-weights';
import { featureExampleSource } from '../mobilenet/feature-extractor';
import { applyPooledHead, copyHeadWeights, mobileNetV2Spec, type BlockSpec, type TransferHeadOptions } from '../mobilenet/mobilenet-v2';
import type { SymbolicTensor } from '@tensorflow/tfjs'; // types only

/** Refuse fine-tuning whose cached bottom maps would not fit comfortably in memory. */
export const MAX_CACHED_BYTES = 1.5 * 1024 ** 3;

export interface FineTunePlan {
  /** Index of the first unfrozen block (0..16). */
  firstBlock: number;
  /** Keras layer name of the frozen bottom's output (the first unfrozen block's input). */
  splitLayer: string;
  /** [h, w, c] of that output. */
  mapShape: [number, number, number];
}

export function planFineTune(weights: BaseWeights, imageSize: number, blocks: number): FineTunePlan {
  const spec = mobileNetV2Spec({ alpha: weights.alpha, imageSize });
  const n = Math.max(1, Math.min(blocks, spec.blocks.length - 1));
  const firstBlock = spec.blocks.length - n;
  const previous = spec.blocks[firstBlock - 1];
  const splitLayer = previous.residual ? `${previous.prefix}add` : `${previous.prefix}project_BN`;
  let side = imageSize;
  side = Math.ceil(side / 2); // stem
  for (const b of spec.blocks.slice(0, firstBlock)) if (b.stride === 2) side = Math.ceil(side / 2);
  return { firstBlock, splitLayer, mapShape: [side, side, previous.outChannels] };
}

/** The frozen bottom (Keras layers, inference mode): raw [-1,1] images -> the split map. Caller disposes the base. */
export function bottomModel(base: LayersModel, plan: FineTunePlan): LayersModel {
  return tf.model({ inputs: base.inputs, outputs: base.getLayer(plan.splitLayer).output as SymbolicTensor, name: 'frozen_bottom' });
}

/**
 * The trainable top: unfrozen blocks and Conv_1 with BatchNorm folded in, global pooling, then the head (its trained
 * weights copied from `head`, matched by layer name).
 */
export function buildTopModel(weights: BaseWeights, imageSize: number, plan: FineTunePlan, headOptions: TransferHeadOptions, head: LayersModel): LayersModel {
  const spec = mobileNetV2Spec({ alpha: weights.alpha, imageSize });
  const w = weights.tensors;
  const input = tf.input({ shape: plan.mapShape, name: 'bottom_map' });
  const assignments: Array<{ layer: { setWeights(v: Tensor[]): void }; kernel: Float32Array; shape: number[]; bias: Float32Array }> = [];
  const conv = (x: SymbolicTensor, name: string, bn: string, filters: number, activation: 'relu6' | 'linear') => {
    const k = w.get(`${name}/kernel`);
    if (!k) throw new Error(`fine-tuning: the base weights have no ${name}/kernel`);
    const folded = foldKernel(k, w, bn, 'conv');
    const layer = tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: true, activation, name: `ft_${name}` });
    const y = layer.apply(x) as SymbolicTensor;
    assignments.push({ layer, kernel: folded.kernel, shape: k.shape, bias: folded.bias });
    return y;
  };
  const depthwise = (x: SymbolicTensor, b: BlockSpec) => {
    const name = `${b.prefix}depthwise`;
    const k = w.get(`${name}/depthwise_kernel`);
    if (!k) throw new Error(`fine-tuning: the base weights have no ${name}/depthwise_kernel`);
    const folded = foldKernel(k, w, `${b.prefix}depthwise_BN`, 'depthwise');
    // TF "same" padding equals Keras's explicit correct_pad for 3x3 stride 2.
    const layer = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: b.stride, padding: 'same', depthMultiplier: 1, useBias: true, activation: 'relu6', name: `ft_${name}` });
    const y = layer.apply(x) as SymbolicTensor;
    assignments.push({ layer, kernel: folded.kernel, shape: k.shape, bias: folded.bias });
    return y;
  };
  let x: SymbolicTensor = input;
  for (const b of spec.blocks.slice(plan.firstBlock)) {
    const blockInput = x;
    if (b.expand) x = conv(x, `${b.prefix}expand`, `${b.prefix}expand_BN`, b.expandedChannels, 'relu6');
    x = depthwise(x, b);
    x = conv(x, `${b.prefix}project`, `${b.prefix}project_BN`, b.outChannels, 'linear');
    if (b.residual) x = tf.layers.add({ name: `ft_${b.prefix}add` }).apply([blockInput, x]) as SymbolicTensor;
  }
  x = conv(x, 'Conv_1', 'Conv_1_bn', spec.lastFilters, 'relu6');
  const model = tf.model({ inputs: input, outputs: applyPooledHead(x, headOptions), name: 'fine_tune_top' });
  for (const a of assignments) {
    const values = [tf.tensor(a.kernel, a.shape), tf.tensor1d(a.bias)];
    a.layer.setWeights(values);
    tf.dispose(values);
  }
  copyHeadWeights(head, model);
  return model;
}

/** Bottom maps of the K cached views per training image (epoch e reads view e mod K) or of the plain view. */
export function mapExampleSource(
  labels: ArrayLike<number>, keys: readonly string[], shape: [number, number, number], plain: Float32Array, views: Float32Array[],
): ExampleSource {
  return featureExampleSource({ labels, keys, original: plain, augmented: views, rowShape: shape });
}

/** The saved inference model: raw pixels -> Rescaling to [-1,1] -> frozen bottom -> fine-tuned top (incl. the head). */
export function assembleFineTuned(weights: BaseWeights, imageSize: number, plan: FineTunePlan, top: LayersModel): { model: LayersModel; dispose(): void } {
  const base = createMobileNetV2Base(weights, imageSize);
  const bottom = bottomModel(base, plan);
  const input = tf.input({ shape: [imageSize, imageSize, 3], name: 'image' });
  let x = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescaling' }).apply(input) as SymbolicTensor;
  x = bottom.apply(x) as SymbolicTensor;
  x = top.apply(x) as SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x, name: `mobilenetv2_fine_tuned_${imageSize}` });
  return { model, dispose: () => model.dispose() };
}
