// Loads any model Pawprint can read, with what predicting needs to know: its own exports (.zip or folder), a run's model
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
import { AppError } from '../../shared/errors';
import type { LayersModel } from '../tfjs/tf';
import { readModelMetadata, type ModelHints, type ModelMetadata, type TeachableMachineMetadata } from './model-format';
import { openModelFiles } from './model-files';
import { buildModel, readModelArtifacts } from './artifacts';
import { preprocessingOfRescaling, type InputPreprocessing, type ResizeMode } from './preprocess';

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
  const artifacts = await readModelArtifacts(files);
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
