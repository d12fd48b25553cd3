// Shape and parameter inference for layer stacks, with problems explained in words. Pure, so the renderer's
// custom-model form can show errors live; the model builder (electron/training/presets.ts) follows the same
// plan, and tests check that both agree with tfjs's own countParams().
import {
  DEFAULT_PRESET, PRESET_NAMES, customLayerSchema, presetDefaults, presetLayers, safeParseTrainingConfig,
  type CustomLayer, type ImageSize, type PresetName, type Preprocessing,
} from './training-config';
import type { ConfigValidation, PlannedLayer, PlannedLayerType, ValidationIssue } from './contract/training';

export type { PlannedLayer, PlannedLayerType, ValidationIssue };

// The contract's list of layer types must name every custom layer type (a compile error here means it misses one).
const everyCustomLayerTypeIsPlannable: CustomLayer['type'] extends PlannedLayerType ? true : false = true;
void everyCustomLayerTypeIsPlannable;

export interface ModelPlan {
  ok: boolean;
  issues: ValidationIssue[];
  layers: PlannedLayer[];
  totalParams: number;
}

export interface PlanOptions {
  imageSize: ImageSize;
  channels?: number;
  numClasses: number;
  preprocessing?: Preprocessing;
}

/** Above this the model does not fit comfortably in memory with Adam's two extra copies. */
export const MAX_PARAMS = 100_000_000;
export const LARGE_PARAMS = 20_000_000;

const TYPE_NAMES: Record<PlannedLayerType, string> = {
  conv2d: 'Conv2D',
  maxPool: 'MaxPool',
  avgPool: 'AveragePool',
  batchNorm: 'BatchNorm',
  dropout: 'Dropout',
  flatten: 'Flatten',
  dense: 'Dense',
  globalPool: 'GlobalPooling',
  rescaling: 'Rescaling',
  logits: 'Dense (logits)',
};

export function layerTypeName(type: PlannedLayerType): string {
  return TYPE_NAMES[type];
}

export function layerLabel(layer: CustomLayer): string {
  switch (layer.type) {
    case 'conv2d': {
      const extra = [layer.strides !== 1 ? `stride ${layer.strides}` : '', layer.padding === 'same' ? 'same' : '']
        .filter(Boolean)
        .join(', ');
      return `Conv2D ${layer.filters} ${layer.kernelHeight}x${layer.kernelWidth} ${layer.activation}${extra ? ` (${extra})` : ''}`;
    }
    case 'maxPool':
    case 'avgPool':
      return `${TYPE_NAMES[layer.type]} ${layer.poolSize}x${layer.poolSize}${layer.strides && layer.strides !== layer.poolSize ? ` stride ${layer.strides}` : ''}${layer.padding === 'same' ? ' (same)' : ''}`;
    case 'batchNorm':
      return 'BatchNorm';
    case 'dropout':
      return `Dropout ${layer.rate}`;
    case 'flatten':
      return 'Flatten';
    case 'dense':
      return `Dense ${layer.units} ${layer.activation}`;
    case 'globalPool':
      return `GlobalPooling ${layer.mode}`;
  }
}

/** TensorFlow's output size for one spatial axis. */
export function convOutputSize(input: number, kernel: number, stride: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? Math.ceil(input / stride) : Math.floor((input - kernel) / stride) + 1;
}

/** Units of the classifier layer: one logit for two classes (sigmoid), else one per class (softmax). */
export function logitUnits(numClasses: number): number {
  return numClasses <= 2 ? 1 : numClasses;
}

/**
 * Walks the stack, inferring each output shape and parameter count (as tfjs counts them: BatchNorm has 4 per
 * channel, two of them non-trainable), and explains every problem. The classifier head is appended.
 */
export function planModel(layers: readonly CustomLayer[], options: PlanOptions): ModelPlan {
  const issues: ValidationIssue[] = [];
  const planned: PlannedLayer[] = [];
  const channels = options.channels ?? 3;
  let shape: number[] = [options.imageSize.height, options.imageSize.width, channels];
  // Describes where the current shape came from, for messages.
  let source = `the ${shape[0]}x${shape[1]} input image`;
  let flattenedBy: string | null = null;
  const error = (layer: number | null, message: string) => issues.push({ severity: 'error', layer, message });
  const warn = (layer: number | null, message: string) => issues.push({ severity: 'warning', layer, message });

  if (options.preprocessing && options.preprocessing !== 'none') {
    planned.push({
      index: null, type: 'rescaling', auto: true, params: 0, outputShape: [...shape],
      label: options.preprocessing === 'unit' ? 'Rescaling to [0,1]' : 'Rescaling to [-1,1]',
    });
  }
  if (layers.length === 0) {
    warn(null, 'There are no hidden layers: the classifier will see the flattened raw pixels.');
  }

  let broken = false;
  layers.forEach((layer, i) => {
    if (broken) return;
    const n = i + 1;
    const name = `Layer ${n} (${TYPE_NAMES[layer.type]})`;
    const spatial = shape.length === 3;
    const push = (outputShape: number[], params: number) => {
      planned.push({ index: n, type: layer.type, label: layerLabel(layer), outputShape, params, auto: false });
      shape = outputShape;
      source = `the ${outputShape.length === 3 ? `${outputShape[0]}x${outputShape[1]} feature map` : `${outputShape[0]} features`} after layer ${n}`;
    };
    const needsSpatial = () => {
      if (spatial) return true;
      error(n, `${name} needs a 2-D feature map, but ${flattenedBy ?? 'the input'} already made it flat; move it before the first Flatten, Dense or GlobalPooling layer.`);
      broken = true;
      return false;
    };
    switch (layer.type) {
      case 'conv2d': {
        if (!needsSpatial()) return;
        const [h, w, c] = shape as [number, number, number];
        if (layer.padding === 'valid' && (layer.kernelHeight > h || layer.kernelWidth > w)) {
          error(n, `${name}: kernel ${layer.kernelHeight}x${layer.kernelWidth} is larger than ${source}; use a smaller kernel, padding "same", or less pooling before it.`);
          broken = true;
          return;
        }
        if (layer.strides > Math.max(layer.kernelHeight, layer.kernelWidth)) {
          warn(n, `${name}: stride ${layer.strides} is larger than the kernel, so some pixels are never looked at.`);
        }
        const oh = convOutputSize(h, layer.kernelHeight, layer.strides, layer.padding);
        const ow = convOutputSize(w, layer.kernelWidth, layer.strides, layer.padding);
        push([oh, ow, layer.filters], layer.kernelHeight * layer.kernelWidth * c * layer.filters + layer.filters);
        return;
      }
      case 'maxPool':
      case 'avgPool': {
        if (!needsSpatial()) return;
        const [h, w, c] = shape as [number, number, number];
        const stride = layer.strides ?? layer.poolSize;
        if (layer.padding === 'valid' && (layer.poolSize > h || layer.poolSize > w)) {
          error(n, `${name}: pool ${layer.poolSize}x${layer.poolSize} is larger than ${source}; remove a pooling layer or use padding "same".`);
          broken = true;
          return;
        }
        push([convOutputSize(h, layer.poolSize, stride, layer.padding), convOutputSize(w, layer.poolSize, stride, layer.padding), c], 0);
        return;
      }
      case 'batchNorm': {
        const c = shape[shape.length - 1];
        push([...shape], 4 * c);
        return;
      }
      case 'dropout':
        if (layer.rate === 0) warn(n, `${name}: rate 0 does nothing.`);
        push([...shape], 0);
        return;
      case 'flatten':
        if (!spatial) {
          warn(n, `${name}: the input is already flat, so Flatten does nothing.`);
          push([...shape], 0);
          return;
        }
        flattenedBy = `layer ${n} (Flatten)`;
        push([shape.reduce((a, b) => a * b, 1)], 0);
        return;
      case 'globalPool': {
        if (!needsSpatial()) return;
        flattenedBy = `layer ${n} (GlobalPooling)`;
        push([shape[2]], 0);
        return;
      }
      case 'dense': {
        if (spatial) {
          // Keras would apply Dense to the last axis only; a classifier almost always wants the whole map.
          const features = shape.reduce((a, b) => a * b, 1);
          planned.push({ index: null, type: 'flatten', label: 'Flatten', outputShape: [features], params: 0, auto: true });
          shape = [features];
        }
        flattenedBy = `layer ${n} (Dense)`;
        push([layer.units], shape[0] * layer.units + layer.units);
        return;
      }
    }
  });

  if (!broken) {
    if (shape.length === 3) {
      const features = shape.reduce((a, b) => a * b, 1);
      planned.push({ index: null, type: 'flatten', label: 'Flatten', outputShape: [features], params: 0, auto: true });
      shape = [features];
    }
    const units = logitUnits(options.numClasses);
    planned.push({
      index: null, type: 'logits', auto: true, outputShape: [units], params: shape[0] * units + units,
      label: `Dense ${units} (logits, ${units === 1 ? 'sigmoid' : 'softmax'} in the loss)`,
    });
  }
  if (options.numClasses < 2) error(null, `A classifier needs at least 2 classes; this dataset has ${options.numClasses}.`);

  const totalParams = planned.reduce((a, l) => a + l.params, 0);
  if (totalParams > MAX_PARAMS) {
    error(null, `The model has ${formatCount(totalParams)} parameters, more than the ${formatCount(MAX_PARAMS)} limit; add pooling before Flatten/Dense or use GlobalPooling.`);
  } else if (totalParams > LARGE_PARAMS) {
    warn(null, `The model has ${formatCount(totalParams)} parameters; training will be slow and likely to overfit. Consider more pooling or GlobalPooling before Dense.`);
  }
  return { ok: !issues.some((x) => x.severity === 'error'), issues, layers: planned, totalParams };
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Validates raw form/JSON input: schema problems first (in words, with 1-based layer numbers), then shape problems.
 * Returns the parsed layers when the schema accepted them.
 */
export function validateCustomLayers(
  input: unknown,
  options: PlanOptions,
): ModelPlan & { parsed: CustomLayer[] | null } {
  if (!Array.isArray(input)) {
    return { ok: false, parsed: null, layers: [], totalParams: 0, issues: [{ severity: 'error', layer: null, message: 'The layer list must be an array.' }] };
  }
  const parsed: CustomLayer[] = [];
  const issues: ValidationIssue[] = [];
  input.forEach((raw, i) => {
    const result = customLayerSchema.safeParse(raw);
    if (result.success) {
      parsed.push(result.data);
      return;
    }
    const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String((raw as { type: unknown }).type) : 'unknown';
    for (const issue of result.error.issues) {
      const field = issue.path.length ? `${issue.path.join('.')}: ` : '';
      issues.push({ severity: 'error', layer: i + 1, message: `Layer ${i + 1} (${type}): ${field}${issue.message}` });
    }
  });
  if (issues.length) return { ok: false, parsed: null, layers: [], totalParams: 0, issues };
  return { ...planModel(parsed, options), parsed };
}

/** Turns a zod issue path into words: ['customLayers', 2, 'filters'] -> "Layer 3 (conv2d): filters". */
function describePath(path: ReadonlyArray<PropertyKey>, input: unknown): { layer: number | null; where: string } {
  if (path[0] === 'customLayers' && typeof path[1] === 'number') {
    const raw = (input as { customLayers?: unknown[] } | null)?.customLayers?.[path[1]];
    const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String((raw as { type: unknown }).type) : 'unknown';
    const field = path.slice(2).map(String).join('.');
    return { layer: path[1] + 1, where: `Layer ${path[1] + 1} (${type})${field ? `: ${field}` : ''}` };
  }
  return { layer: null, where: path.length ? path.map(String).join('.') : 'config' };
}

/**
 * Everything the training form and the training service need in one call: fills a partial config from its preset,
 * reports schema problems in words, then the layer plan and its problems (none for mobilenetv2, which gets its own
 * rules). The rules are structural: custom-layer problems are recognised by their path, never by their words.
 */
export function validateTrainingConfig(input: unknown, numClasses: number): ConfigValidation {
  const parsed = safeParseTrainingConfig(input);
  const config = parsed.success ? parsed.data : null;
  const raw: Record<string, unknown> = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  const schemaIssues = parsed.success ? [] : parsed.error.issues;
  const preset: PresetName | null = config?.preset ?? (PRESET_NAMES.includes(raw.preset as PresetName) ? (raw.preset as PresetName) : null);
  const imageSize = config?.imageSize ?? presetDefaults(preset ?? DEFAULT_PRESET).imageSize;
  const planOptions = { imageSize, channels: 3, numClasses, preprocessing: config?.preprocessing ?? 'none' };

  // The layer list's schema problems are said per layer by validateCustomLayers when the preset uses the list.
  const explainsLayers = preset === 'custom';
  const issues: ValidationIssue[] = schemaIssues
    .filter((issue) => !(explainsLayers && issue.path[0] === 'customLayers'))
    .map((issue): ValidationIssue => {
      const { layer, where } = describePath(issue.path, input);
      return { severity: 'error', layer, message: `${where}: ${issue.message}` };
    });

  // planModel reports too few classes itself; it runs only on a layer list without schema problems.
  let plan: ModelPlan | null = null;
  if (preset === 'custom' && raw.customLayers !== undefined && !Array.isArray(raw.customLayers)) {
    // Its schema issue is filtered out above (layers are explained per layer), so say it here, once.
    issues.push({ severity: 'error', layer: null, message: 'The layer list must be an array.' });
  } else if (preset === 'custom') {
    const layers = Array.isArray(raw.customLayers) ? raw.customLayers : config?.customLayers ?? presetDefaults('custom').customLayers;
    const checked = validateCustomLayers(layers, planOptions);
    issues.push(...checked.issues);
    if (checked.parsed) plan = checked;
  } else if (preset === 'cnn' || preset === 'cnn-augment' || preset === 'cnn-normalize') {
    plan = planModel(presetLayers(preset), planOptions);
    issues.push(...plan.issues);
  } else if (preset === 'mobilenetv2' && config) {
    const { height, width } = config.imageSize;
    if (height !== width || height < 96 || height > 224) {
      issues.push({ severity: 'error', layer: null, message: `MobileNetV2 needs a square image size from 96 to 224 pixels; got ${width}x${height}.` });
    }
    if ((config.mobilenet.fineTuneBlocks > 0) !== (config.mobilenet.fineTuneEpochs > 0)) {
      issues.push({ severity: 'warning', layer: null, message: 'Fine-tuning needs both a number of blocks and a number of epochs; with one of them 0 the base stays frozen.' });
    }
  }
  if (!plan && numClasses < 2) {
    issues.push({ severity: 'error', layer: null, message: `A classifier needs at least 2 classes; this dataset has ${numClasses}.` });
  }
  return {
    ok: config !== null && !issues.some((issue) => issue.severity === 'error'),
    issues,
    layers: plan?.layers ?? [],
    totalParams: plan?.totalParams ?? 0,
    config,
  };
}
