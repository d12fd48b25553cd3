// Builds the tutorial's CNN presets and custom layer stacks as tfjs LayersModels.
//
// Design choices:
// - Models are returned UNCOMPILED and end in a linear Dense layer producing logits: the trainer runs its own
//   loop (optimizer.minimize) with sigmoid/softmax cross-entropy on logits, so compile() is never needed. Anyone
//   turning outputs into probabilities applies sigmoid (1 logit, two classes) or softmax (K logits).
// - Preprocessing is a tfjs Rescaling layer at the input (0 parameters), so an exported model takes raw 0..255
//   pixels and is self-contained. Augmentation is NOT in the model (tfjs-layers has no RandomFlip/RandomRotation):
//   it runs in the data pipeline, which is identity at inference, as in Keras.
// - Initialisers are seeded from config.seed, so the same config builds the same starting weights (Dropout
//   masks are not seeded; see below).
import { tf, type LayersModel } from '../tfjs/tf';
import { rescalingFor } from '../inference/preprocess';
import { mixSeeds } from '../../shared/random';
import { planModel, logitUnits, type ModelPlan } from '../../shared/model-validation';
import { hiddenLayersFor, type CustomLayer, type TrainingConfig } from '../../shared/training-config';

export const INPUT_CHANNELS = 3;

// The scaling recipe is inference's (one definition for training and prediction). Re-exported only for
// data-pipeline.ts, until it imports inference/preprocess.ts itself.

/** The hidden layers a config trains (see hiddenLayersFor); throws for mobilenetv2. */
export function layersForConfig(config: Pick<TrainingConfig, 'preset' | 'customLayers'>): CustomLayer[] {
  const layers = hiddenLayersFor(config);
  if (!layers) {
    throw new Error('the mobilenetv2 preset is built by the MobileNetV2 module (electron/training/mobilenet/), not by buildPresetModel');
  }
  return layers;
}

/** Shape/parameter plan of the model buildPresetModel would build, with any problems in words. */
export function planForConfig(config: TrainingConfig, numClasses: number): ModelPlan {
  return planModel(layersForConfig(config), {
    imageSize: config.imageSize,
    channels: INPUT_CHANNELS,
    numClasses,
    preprocessing: config.preprocessing,
  });
}

/**
 * Builds the model for a cnn / cnn-augment / cnn-normalize / custom config. Throws an Error whose message lists
 * the validation errors when the stack cannot be built. Input: [batch, h, w, 3] float32 raw pixels 0..255.
 * Output: logits [batch, 1] for two classes, [batch, K] otherwise.
 */
export function buildPresetModel(config: TrainingConfig, numClasses: number): LayersModel {
  const layers = layersForConfig(config);
  const plan = planForConfig(config, numClasses);
  if (!plan.ok) {
    throw new Error(`cannot build the model: ${plan.issues.filter((i) => i.severity === 'error').map((i) => i.message).join(' ')}`);
  }
  const { height, width } = config.imageSize;
  const seed = config.seed;
  const kernelInit = (n: number) => tf.initializers.glorotUniform({ seed: mixSeeds(seed, 'kernel', n) });
  const model = tf.sequential({ name: `${config.preset}_model` });
  let first = true;
  // The first layer declares the input shape.
  const inputArgs = () => {
    if (!first) return {};
    first = false;
    return { inputShape: [height, width, INPUT_CHANNELS] };
  };
  const rescale = rescalingFor(config.preprocessing);
  if (rescale) model.add(tf.layers.rescaling({ ...inputArgs(), ...rescale, name: 'rescaling' }));

  let spatial = true;
  layers.forEach((layer, i) => {
    const n = i + 1;
    switch (layer.type) {
      case 'conv2d':
        model.add(tf.layers.conv2d({
          ...inputArgs(), name: `conv2d_${n}`, filters: layer.filters, kernelSize: [layer.kernelHeight, layer.kernelWidth],
          strides: layer.strides, padding: layer.padding, activation: layer.activation, kernelInitializer: kernelInit(n),
        }));
        return;
      case 'maxPool':
        model.add(tf.layers.maxPooling2d({ ...inputArgs(), name: `max_pool_${n}`, poolSize: layer.poolSize, strides: layer.strides ?? layer.poolSize, padding: layer.padding }));
        return;
      case 'avgPool':
        model.add(tf.layers.averagePooling2d({ ...inputArgs(), name: `avg_pool_${n}`, poolSize: layer.poolSize, strides: layer.strides ?? layer.poolSize, padding: layer.padding }));
        return;
      case 'batchNorm':
        // Keras defaults (momentum 0.99, epsilon 1e-3), which tfjs shares.
        model.add(tf.layers.batchNormalization({ ...inputArgs(), name: `batch_norm_${n}` }));
        return;
      case 'dropout':
        // No seed: tfjs re-seeds its generator on every call, so a seeded Dropout would reuse one mask forever.
        model.add(tf.layers.dropout({ ...inputArgs(), name: `dropout_${n}`, rate: layer.rate }));
        return;
      case 'flatten':
        if (spatial) model.add(tf.layers.flatten({ ...inputArgs(), name: `flatten_${n}` }));
        spatial = false;
        return;
      case 'globalPool':
        model.add(layer.mode === 'max'
          ? tf.layers.globalMaxPooling2d({ ...inputArgs(), name: `global_max_pool_${n}` })
          : tf.layers.globalAveragePooling2d({ ...inputArgs(), name: `global_avg_pool_${n}` }));
        spatial = false;
        return;
      case 'dense':
        if (spatial) model.add(tf.layers.flatten({ ...inputArgs(), name: `flatten_before_${n}` }));
        spatial = false;
        model.add(tf.layers.dense({ ...inputArgs(), name: `dense_${n}`, units: layer.units, activation: layer.activation, kernelInitializer: kernelInit(n) }));
        return;
    }
  });
  if (spatial) model.add(tf.layers.flatten({ ...inputArgs(), name: 'flatten_head' }));
  model.add(tf.layers.dense({ ...inputArgs(), name: 'logits', units: logitUnits(numClasses), kernelInitializer: kernelInit(0) }));
  return model;
}

export interface ModelLayerInfo {
  name: string;
  className: string;
  /** Output shape without the batch dimension. */
  outputShape: number[];
  params: number;
  trainableParams: number;
}

export interface ModelDescription {
  layers: ModelLayerInfo[];
  totalParams: number;
  trainableParams: number;
  inputShape: number[];
  outputShape: number[];
}

type Dim = number | null;
/** Drops the batch axis; a multi-output layer reports its first output. Unknown dimensions become -1. */
function dropBatch(shape: Dim[] | Dim[][]): number[] {
  const first = Array.isArray(shape[0]) ? (shape as Dim[][])[0] : (shape as Dim[]);
  return first.slice(1).map((d) => d ?? -1);
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Layer list with output shapes and parameter counts, for the UI and run records. Works on any LayersModel. */
export function describeModel(model: LayersModel): ModelDescription {
  const layers = model.layers.map((layer) => {
    const trainable = layer.trainableWeights.reduce((a, w) => a + sizeOf(w.shape as number[]), 0);
    return {
      name: layer.name,
      className: layer.getClassName(),
      outputShape: dropBatch(layer.outputShape),
      params: layer.countParams(),
      trainableParams: trainable,
    };
  });
  return {
    layers,
    totalParams: model.countParams(),
    trainableParams: layers.reduce((a, l) => a + l.trainableParams, 0),
    inputShape: dropBatch(model.inputs[0].shape),
    outputShape: dropBatch(model.outputs[0].shape),
  };
}
