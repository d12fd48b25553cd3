// Numbers and settings as a person reads them: durations, counts with their noun, rotation in degrees and the
// config differences of compared runs. Pure (no stores, no DOM) so unit tests import it directly.
import type { ConfigDifference } from '../../../shared/contract/runs';
import type { PresetName } from '../../../shared/training-config';

/**
 * "0.4 s", "12 s", "1 min", "1 min 5 s", "2 h 3 min", "–". Rounds the total once, then splits it, so 119.6 s reads
 * "2 min", never "1 min 60 s".
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10_000) {
    const tenths = Math.round(ms / 100) / 10;
    if (tenths < 10) return `${tenths.toFixed(1)} s`;
  }
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  }
  const minutesTotal = Math.round(seconds / 60);
  const hours = Math.floor(minutesTotal / 60);
  const minutes = minutesTotal % 60;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

/** "1 image", "0 images", "3 classes": the count with its noun in the right number. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? one : many}`;
}

/** "812 bytes", "340 KB", "2.1 MB": a file's size as a person reads it. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1024) return plural(bytes, 'byte');
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  const mb = bytes / 1024 / 1024;
  return mb < 100 ? `${mb.toFixed(1)} MB` : `${Math.round(mb)} MB`;
}

/** An export target by the name its users know it by. */
export function exportTargetName(target: 'tfjs' | 'tm' | 'onnx'): string {
  return target === 'tfjs' ? 'TensorFlow.js' : target === 'tm' ? 'Teachable Machine' : 'ONNX';
}

/** Keras RandomRotation factor (a fraction of a full turn either way) as the degrees a person sets: 0.2 → 72. */
export function rotationDegrees(factor: number): number {
  return Math.round(factor * 360 * 10) / 10;
}

/** Degrees back to the factor the config stores. */
export function rotationFactor(degrees: number): number {
  return degrees / 360;
}

export interface ConfigDifferenceInWords {
  path: string;
  /** "Image size", "Rotation", "Layer 2 · units". */
  label: string;
  /** One per run, in order: "224 × 224 px", "up to ±72°", "(none)". */
  values: string[];
}

const FIELD_WORDS: Record<string, string> = {
  preset: 'Preset',
  epochs: 'Epochs',
  batchSize: 'Batch size',
  optimizer: 'Optimizer',
  learningRate: 'Learning rate',
  seed: 'Seed',
  backend: 'Backend',
  preprocessing: 'Pixel scaling',
  classWeights: 'Class weights',
  'augmentation.flip': 'Flip',
  'augmentation.rotation': 'Rotation',
  'augmentation.zoom': 'Zoom',
  'augmentation.brightness': 'Brightness',
  'augmentation.contrast': 'Contrast',
  'earlyStopping.enabled': 'Early stopping',
  'earlyStopping.monitor': 'Best epoch judged by',
  'earlyStopping.patience': 'Patience',
  'earlyStopping.minDelta': 'Smallest improvement',
  'earlyStopping.restoreBest': 'Keep the best epoch’s weights',
  'mobilenet.alpha': 'Base width (alpha)',
  'mobilenet.headPooling': 'Head pooling',
  'mobilenet.extraDense': 'Extra dense layer',
  'mobilenet.fineTuneBlocks': 'Blocks fine-tuned',
  'mobilenet.fineTuneEpochs': 'Fine-tuning epochs',
  'mobilenet.augmentedViews': 'Augmented views per image',
  'mobilenet.baseSource': 'Base model',
};

const VALUE_WORDS: Record<string, string> = {
  none: 'none',
  unit: '0 to 1',
  symmetric: '−1 to 1',
  horizontal: 'left–right',
  vertical: 'up–down',
  both: 'both ways',
  balanced: 'balanced',
  val_loss: 'validation loss',
  val_accuracy: 'validation accuracy',
  loss: 'training loss',
  accuracy: 'training accuracy',
  average: 'average',
  max: 'max',
  auto: 'automatic',
};

const LAYER_FIELD_WORDS: Record<string, string> = {
  type: 'kind',
  filters: 'filters',
  kernelHeight: 'kernel height',
  kernelWidth: 'kernel width',
  strides: 'stride',
  padding: 'padding',
  activation: 'activation',
  poolSize: 'pool size',
  rate: 'dropout rate',
  units: 'units',
  mode: 'mode',
};

/** A custom layer in a few words: "conv 32 × 3×3, relu", "dense 128, relu", "dropout 20%". */
export function describeLayer(layer: unknown): string {
  if (typeof layer !== 'object' || layer === null) return '(none)';
  const l = layer as Record<string, unknown>;
  switch (l.type) {
    case 'conv2d':
      return `convolution ${String(l.filters)} × ${String(l.kernelHeight)}×${String(l.kernelWidth)}, ${String(l.activation ?? 'relu')}`;
    case 'maxPool':
    case 'avgPool':
      return `${l.type === 'maxPool' ? 'max' : 'average'} pool ${String(l.poolSize ?? 2)}`;
    case 'dense':
      return `dense ${String(l.units)}, ${String(l.activation ?? 'relu')}`;
    case 'dropout':
      return `dropout ${Math.round(Number(l.rate) * 100)}%`;
    case 'batchNorm':
      return 'batch normalisation';
    case 'flatten':
      return 'flatten';
    case 'globalPool':
      return `global ${String(l.mode ?? 'average')} pool`;
    default:
      return String(l.type);
  }
}

function valueInWords(path: string, value: unknown): string {
  if (value === null || value === undefined) return '(not set)';
  if (path === 'augmentation.rotation' && typeof value === 'number') return value === 0 ? 'none' : `up to ±${rotationDegrees(value)}°`;
  if ((path === 'augmentation.zoom' || path === 'augmentation.brightness' || path === 'augmentation.contrast') && typeof value === 'number') {
    return value === 0 ? 'none' : `±${Math.round(value * 100)}%`;
  }
  if (path === 'imageSize' && typeof value === 'object') {
    const size = value as { height?: unknown; width?: unknown };
    return `${String(size.width)} × ${String(size.height)} px`;
  }
  if (path === 'mobilenet.extraDense' && typeof value === 'number') return value === 0 ? 'none' : `${value} units`;
  if (path === 'mobilenet.alpha' && typeof value === 'number') return value.toFixed(2);
  if (path === 'mobilenet.baseSource' && typeof value === 'string') return value.split(/[\\/]/).filter(Boolean).pop() ?? value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return VALUE_WORDS[value] ?? value;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

/** Whether a config field changes what a preset trains: cnn presets ignore `mobilenet`, mobilenetv2 ignores `customLayers`. */
function applies(path: string, presets: readonly PresetName[]): boolean {
  if (path.startsWith('mobilenet.') || path === 'mobilenet') return presets.includes('mobilenetv2');
  if (path.startsWith('customLayers')) return presets.some((preset) => preset !== 'mobilenetv2');
  // Patience and the smallest improvement only matter where early stopping is on in at least one run; the caller
  // cannot tell that from the diff alone, so they stay.
  return true;
}

/**
 * The config differences of compared runs in words, only for the fields that apply to at least one run's preset.
 * Image height and width merge into one "Image size" row; custom layers read "Layer 2 · units" or, where one run
 * has a layer the other lacks, "Layer 4" with the whole layer described.
 */
export function configDifferencesInWords(diff: readonly ConfigDifference[], presets: readonly PresetName[]): ConfigDifferenceInWords[] {
  const out: ConfigDifferenceInWords[] = [];
  let sizeDone = false;
  for (const d of diff) {
    if (!applies(d.path, presets)) continue;
    if (d.path === 'imageSize.height' || d.path === 'imageSize.width') {
      if (sizeDone) continue;
      sizeDone = true;
      const heights = diff.find((x) => x.path === 'imageSize.height')?.values;
      const widths = diff.find((x) => x.path === 'imageSize.width')?.values;
      // The field that did not differ is the same in every run, but the diff does not carry it: say only what differs.
      const values = presets.map((_, i) => {
        if (heights && widths) return `${String(widths[i])} × ${String(heights[i])} px`;
        return heights ? `${String(heights[i])} px high` : `${String(widths?.[i])} px wide`;
      });
      out.push({ path: 'imageSize', label: 'Image size', values });
      continue;
    }
    const layer = /^customLayers\.(\d+)(?:\.(\w+))?$/.exec(d.path);
    if (layer) {
      const number = Number(layer[1]) + 1;
      const field = layer[2];
      if (field === undefined) {
        out.push({ path: d.path, label: `Layer ${number}`, values: d.values.map(describeLayer) });
      } else {
        const values = d.values.map((value) => (value === null ? '(not set)' : field === 'rate' && typeof value === 'number' ? `${Math.round(value * 100)}%` : String(value)));
        out.push({ path: d.path, label: `Layer ${number} · ${LAYER_FIELD_WORDS[field] ?? field}`, values });
      }
      continue;
    }
    out.push({ path: d.path, label: FIELD_WORDS[d.path] ?? d.path, values: d.values.map((value) => valueInWords(d.path, value)) });
  }
  return out;
}

/**
 * The live stage of a training run: "Training · epoch 3/20 · batch 1/4", or the stage alone. Built as one string: in
 * the template, Svelte 5 trims the space that opens an {#if} block, which read "Training· epoch 3/20".
 */
export function trainingStageLine(stage: string, counts: { epoch: number; epochs: number; batch: number; batches: number } | null): string {
  return counts ? `${stage} · epoch ${counts.epoch}/${counts.epochs} · batch ${counts.batch}/${counts.batches}` : stage;
}

/**
 * A preset card's size line. The chosen preset shows the image size chosen in the form and the parameters the form's
 * config has (a CNN's Dense layer grows with the image); the others their defaults.
 */
export function presetSizeLine(
  preset: { model: { totalParams: number; trainableParams: number } | null; defaults: { imageSize: { height: number; width: number } } },
  chosen: { imageSize: { height: number; width: number }; totalParams: number | null; sizeFreeParams?: boolean } | null,
): string | null {
  if (!preset.model) return null;
  const size = chosen?.imageSize ?? preset.defaults.imageSize;
  // A frozen base with global pooling (mobilenetv2) has the same parameters at every size.
  const sameSize = chosen?.sizeFreeParams === true || (size.height === preset.defaults.imageSize.height && size.width === preset.defaults.imageSize.width);
  // The preset's own figures hold at its default size; at another size only the validated config's total is known.
  const total = sameSize ? preset.model.totalParams : chosen?.totalParams ?? null;
  const params = total === null ? '' : sameSize ? `${total.toLocaleString('en-US')} parameters (${preset.model.trainableParams.toLocaleString('en-US')} trainable) ` : `${total.toLocaleString('en-US')} parameters `;
  return `${params}at ${size.width}x${size.height}`;
}
