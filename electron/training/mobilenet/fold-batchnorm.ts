// Inference-only MobileNetV2 with BatchNorm folded into the preceding convolutions:
//   BN(conv(x, W)) = conv(x, W * s) + (beta - mean * s),  s = gamma / sqrt(var + eps)  (per output channel)
// so each conv + BN + ReLU6 becomes one fused op (tf.fused.conv2d / tf.fused.depthwiseConv2d with bias and
// relu6, which the WebAssembly and CPU backends implement as single kernels). Only for a frozen base: the
// folded weights are constants, nothing here is trainable.
import { tf, type LayersModel, type Tensor } from '../../tfjs/tf';
import type { Tensor4D, Tensor1D } from '@tensorflow/tfjs'; // types only: the runtime comes from ../tf
import type { BaseWeights, WeightTensorData } from './base-weights';
import { computeWeightsId } from './base-weights';
import { BN_EPSILON, mobileNetV2Spec, type MobileNetAlpha, type MobileNetV2Spec } from './mobilenet-v2';

type Activation = 'relu6' | 'linear';

interface FusedConv {
  kind: 'conv' | 'depthwise';
  filter: Tensor4D;
  bias: Tensor1D;
  strides: 1 | 2;
  activation: Activation;
}

interface FoldedBlock {
  expand?: FusedConv;
  depthwise: FusedConv;
  project: FusedConv;
  residual: boolean;
}

export interface FoldedMobileNetV2 {
  readonly alpha: MobileNetAlpha;
  readonly imageSize: number;
  readonly weightsId: string;
  /** Number of fused ops per forward pass (52 for MobileNetV2). */
  readonly fusedOps: number;
  /** x: [n, size, size, 3] preprocessed to [-1, 1] -> the `out_relu` map [n, s/32, s/32, 1280]. Caller disposes. */
  predict(x: Tensor4D): Tensor4D;
  /**
   * The map after the stem and the first `blocks` inverted-residual blocks (what a fine-tuning run keeps frozen:
   * the output of Keras's block_{blocks-1}_add or _project_BN). Caller disposes.
   */
  predictBottom(x: Tensor4D, blocks: number): Tensor4D;
  dispose(): void;
}

function get(weights: Map<string, WeightTensorData>, name: string): WeightTensorData {
  const t = weights.get(name);
  if (!t) throw new Error(`Folding BatchNorm: weight ${name} is missing`);
  return t;
}

/** Folds BN `bnName` into the kernel `kernel` (last axis = output channels for conv, axis 2 for depthwise). */
export function foldKernel(
  kernel: WeightTensorData,
  weights: Map<string, WeightTensorData>,
  bnName: string,
  kind: 'conv' | 'depthwise',
  epsilon = BN_EPSILON,
): { kernel: Float32Array; bias: Float32Array } {
  const gamma = get(weights, `${bnName}/gamma`).data;
  const beta = get(weights, `${bnName}/beta`).data;
  const mean = get(weights, `${bnName}/moving_mean`).data;
  const variance = get(weights, `${bnName}/moving_variance`).data;
  // Output channels are the last axis for conv ([kh, kw, in, out]) and axis 2 for depthwise ([kh, kw, c, 1]);
  // in both cases the channel index is (flat index) mod C, since the depthwise multiplier is 1.
  const channels = kind === 'conv' ? kernel.shape[3] : kernel.shape[2];
  const scale = new Float64Array(channels);
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
    bias[c] = beta[c] - mean[c] * scale[c];
  }
  const out = new Float32Array(kernel.data.length);
  for (let i = 0; i < out.length; i++) out[i] = kernel.data[i] * scale[i % channels];
  return { kernel: out, bias };
}

function fused(weights: Map<string, WeightTensorData>, kernelName: string, bnName: string, kind: 'conv' | 'depthwise', strides: 1 | 2, activation: Activation): FusedConv {
  const k = get(weights, kernelName);
  const f = foldKernel(k, weights, bnName, kind);
  return {
    kind,
    filter: tf.tensor4d(f.kernel, k.shape as [number, number, number, number]),
    bias: tf.tensor1d(f.bias),
    strides,
    activation,
  };
}

function run(op: FusedConv, x: Tensor4D): Tensor4D {
  // TF "same" padding equals Keras's explicit correct_pad for 3x3 stride 2 (0/1 for even sides, 1/1 for odd),
  // so the ZeroPadding2D layers disappear too.
  const args = { x, filter: op.filter, strides: op.strides, pad: 'same' as const, bias: op.bias, activation: op.activation };
  return op.kind === 'conv' ? tf.fused.conv2d(args) : tf.fused.depthwiseConv2d(args);
}

/** Builds the folded network from decoded base weights (any alpha; the size only fixes the expected input). */
export function buildFoldedMobileNetV2(weights: BaseWeights, imageSize: number): FoldedMobileNetV2 {
  const spec: MobileNetV2Spec = mobileNetV2Spec({ alpha: weights.alpha, imageSize });
  const w = weights.tensors;
  const ops: FusedConv[] = [];
  const track = (op: FusedConv) => (ops.push(op), op);
  try {
    const stem = track(fused(w, 'Conv1/kernel', 'bn_Conv1', 'conv', 2, 'relu6'));
    const blocks: FoldedBlock[] = spec.blocks.map((b) => ({
      expand: b.expand ? track(fused(w, `${b.prefix}expand/kernel`, `${b.prefix}expand_BN`, 'conv', 1, 'relu6')) : undefined,
      depthwise: track(fused(w, `${b.prefix}depthwise/depthwise_kernel`, `${b.prefix}depthwise_BN`, 'depthwise', b.stride, 'relu6')),
      project: track(fused(w, `${b.prefix}project/kernel`, `${b.prefix}project_BN`, 'conv', 1, 'linear')),
      residual: b.residual,
    }));
    const head = track(fused(w, 'Conv_1/kernel', 'Conv_1_bn', 'conv', 1, 'relu6'));
    let disposed = false;
    const forward = (x: Tensor4D, blockCount: number, withHead: boolean): Tensor4D => {
      if (disposed) throw new Error('The folded MobileNetV2 was disposed');
      if (x.shape[1] !== imageSize || x.shape[2] !== imageSize || x.shape[3] !== 3) {
        throw new Error(`Folded MobileNetV2 expects [n, ${imageSize}, ${imageSize}, 3], got [${x.shape.join(', ')}]`);
      }
      return tf.tidy(() => {
        let y = run(stem, x);
        for (const b of blocks.slice(0, blockCount)) {
          const input = y;
          if (b.expand) y = run(b.expand, y);
          y = run(b.depthwise, y);
          y = run(b.project, y);
          if (b.residual) y = tf.add(input, y);
        }
        return withHead ? run(head, y) : y;
      });
    };
    return {
      alpha: weights.alpha,
      imageSize,
      weightsId: weights.weightsId,
      fusedOps: ops.length,
      predict(x: Tensor4D): Tensor4D {
        return forward(x, blocks.length, true);
      },
      predictBottom(x: Tensor4D, count: number): Tensor4D {
        if (!Number.isInteger(count) || count < 0 || count > blocks.length) throw new Error(`predictBottom: blocks must be 0..${blocks.length}, got ${count}`);
        return forward(x, count, false);
      },
      dispose() {
        if (disposed) return;
        disposed = true;
        for (const op of ops) tf.dispose([op.filter, op.bias]);
      },
    };
  } catch (e) {
    for (const op of ops) tf.dispose([op.filter, op.bias]);
    throw e;
  }
}

/**
 * Reads the weights of a built (Keras-named) MobileNetV2 LayersModel back into the BaseWeights form, e.g. to
 * fold a model whose weights were set in memory (tests, benchmarks with random weights).
 */
export function baseWeightsFromModel(model: LayersModel, alpha: MobileNetAlpha, source = `model ${model.name}`): BaseWeights {
  const tensors = new Map<string, WeightTensorData>();
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const v = w.read() as Tensor;
      tensors.set(`${layer.name}/${w.originalName.split('/').pop()}`, { shape: v.shape as number[], data: new Float32Array(v.dataSync() as Float32Array) });
    }
  }
  return { weightsId: computeWeightsId(tensors), alpha, source, modelJsonPath: '', tensors };
}
