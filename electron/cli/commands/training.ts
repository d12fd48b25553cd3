import { readFile } from 'node:fs/promises';
import type { Command, CommandContext, ParsedValues } from '../command';
import { UsageError } from '../command';
import { AppError } from '../../../shared/errors';
import { DEFAULT_PRESET, PRESET_NAMES } from '../../../shared/training-config';
import type { EpochMetrics, JobFinished, JobProgress, RunDetail } from '../../../shared/contract/index';
import { count, runJob } from '../job-runner';
import { terminalSafe } from '../terminal-text';

function num(values: ParsedValues, name: string, check: (n: number) => boolean, what: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${what}, not "${terminalSafe(String(raw))}"`);
  return n;
}

function choice<T extends string>(values: ParsedValues, name: string, allowed: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not "${terminalSafe(String(raw))}"`);
  return raw as T;
}

const isInt = (min: number, max = Number.MAX_SAFE_INTEGER) => (n: number) => Number.isInteger(n) && n >= min && n <= max;

/** The config the flags describe: the --config file's JSON, overridden by individual flags. */
export async function configFromFlags(values: ParsedValues): Promise<Record<string, unknown>> {
  let config: Record<string, unknown> = {};
  if (typeof values.config === 'string') {
    let text: string;
    try {
      text = await readFile(values.config, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --config ${terminalSafe(values.config)}: ${terminalSafe((error as Error).message)}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('it is not a JSON object');
      config = parsed as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--config ${terminalSafe(values.config)} is not a training config: ${terminalSafe((error as Error).message)}`);
    }
  }
  const preset = choice(values, 'preset', PRESET_NAMES);
  // No preset in the flags or the file: the training module fills DEFAULT_PRESET (mobilenetv2 on the bundled base).
  if (preset) config.preset = preset;
  const set = (key: string, value: unknown) => {
    if (value !== undefined) config[key] = value;
  };
  set('epochs', num(values, 'epochs', isInt(1, 10000), 'a whole number from 1 to 10000'));
  set('batchSize', num(values, 'batch-size', isInt(1, 4096), 'a whole number from 1 to 4096'));
  const size = num(values, 'image-size', isInt(8, 1024), 'a whole number of pixels from 8 to 1024');
  if (size !== undefined) config.imageSize = { height: size, width: size };
  set('optimizer', choice(values, 'optimizer', ['adam', 'sgd', 'rmsprop'] as const));
  set('learningRate', num(values, 'lr', (n) => n > 0, 'a positive number'));
  set('seed', num(values, 'seed', isInt(0, 0xffffffff), 'a whole number from 0 to 4294967295'));
  set('backend', choice(values, 'backend', ['auto', 'node', 'wasm', 'cpu'] as const));
  const mobilenet: Record<string, unknown> = { ...(config.mobilenet as Record<string, unknown> | undefined) };
  const alpha = choice(values, 'alpha', ['0.35', '0.5', '0.50', '0.75', '1', '1.0', '1.00'] as const);
  if (alpha !== undefined) mobilenet.alpha = Number(alpha);
  if (typeof values.base === 'string') mobilenet.baseSource = values.base;
  const blocks = num(values, 'fine-tune-blocks', isInt(0, 17), 'a whole number from 0 to 17');
  if (blocks !== undefined) mobilenet.fineTuneBlocks = blocks;
  const fineEpochs = num(values, 'fine-tune-epochs', isInt(0, 1000), 'a whole number from 0 to 1000');
  if (fineEpochs !== undefined) mobilenet.fineTuneEpochs = fineEpochs;
  const head = choice(values, 'head', ['max', 'average'] as const);
  if (head !== undefined) mobilenet.headPooling = head;
  const extraDense = num(values, 'extra-dense', isInt(0, 4096), 'a whole number of units from 0 to 4096');
  if (extraDense !== undefined) mobilenet.extraDense = extraDense;
  const views = num(values, 'views', isInt(1, 64), 'a whole number from 1 to 64');
  if (views !== undefined) mobilenet.augmentedViews = views;
  if (Object.keys(mobilenet).length > 0) config.mobilenet = mobilenet;
  // Augmentation flags change only what they name; the rest comes from the --config file, then the preset.
  const augmentation: Record<string, unknown> = { ...(config.augmentation as Record<string, unknown> | undefined) };
  const flip = choice(values, 'flip', ['none', 'horizontal', 'vertical', 'both'] as const);
  if (flip !== undefined) augmentation.flip = flip;
  const rotation = num(values, 'rotation', (n) => n >= 0 && n <= 0.5, 'a fraction of a full turn from 0 to 0.5 (Keras RandomRotation)');
  if (rotation !== undefined) augmentation.rotation = rotation;
  if (Object.keys(augmentation).length > 0) config.augmentation = augmentation;
  return config;
}

const pct = (v: number | null) => (v === null ? '   -  ' : `${(v * 100).toFixed(1).padStart(5)}%`);
const fix = (v: number | null) => (v === null ? '  -   ' : v.toFixed(4));

export function formatEpoch(m: EpochMetrics, total: number): string {
  return `epoch ${String(m.epoch).padStart(String(total).length)}/${total}${m.phase === 'fine-tune' ? ' (fine-tune)' : ''}  ` +
    `loss ${fix(m.loss)}  acc ${pct(m.accuracy)}  val_loss ${fix(m.valLoss)}  val_acc ${pct(m.valAccuracy)}  ${(m.durationMs / 1000).toFixed(1)} s`;
}

const STAGE_WORDS: Record<string, string> = {
  starting: 'starting the training process', decoding: 'decoding images', weights: 'loading the base weights',
  features: 'computing base features', evaluating: 'evaluating on the test images', saving: 'saving the model',
};

/** A stage change of the run (the training stage itself is reported by the epoch lines). */
function trainLine(progress: JobProgress): string | null {
  if (progress.phase === 'training') return null;
  const words = STAGE_WORDS[progress.phase] ?? progress.phase;
  return progress.total === null || progress.phase === 'starting' ? `${words}…` : `${words}: ${count(progress)}`;
}

async function runTrain(positionals: string[], values: ParsedValues, context: CommandContext): Promise<number> {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'give the dataset to train on (its id or name)' : `train takes one dataset, got ${positionals.length} arguments`);
  const splitId = num(values, 'split', isInt(1), 'a split id');
  const config = await configFromFlags(values);
  const services = context.services();
  const dataset = await services.request('datasets.resolve', { ref: positionals[0] });

  // Epoch lines come from the run's training.epoch events (the metrics); everything else about the run from its job.
  let runId: number | null = null;
  let total = 0;
  const off = services.app.events.onAny((name, payload) => {
    if (runId !== null && name === 'training.epoch' && (payload as { runId?: number }).runId === runId) {
      context.log(formatEpoch(payload as EpochMetrics, total));
    } else if (runId !== null && name === 'system.backendChanged') {
      const backend = payload as { active: string | null; fallbackReasons: string[] };
      context.log(terminalSafe(`backend: ${backend.active}${backend.fallbackReasons.length ? ` (${backend.fallbackReasons.join(' ')})` : ''}`));
    }
  });
  let finished: JobFinished;
  try {
    ({ finished } = await runJob(services, context, async () => {
      const { job } = await services.request('jobs.start', {
        kind: 'train',
        input: { datasetId: dataset.id, splitId, name: typeof values.name === 'string' ? values.name : undefined, config },
      });
      if (job.runId === null) throw new AppError('failed', `Job ${job.id} has no run.`);
      runId = job.runId;
      const planned = await services.request('runs.get', { runId });
      total = planned.epochsPlanned;
      context.log(`run ${runId}: ${planned.preset} on "${terminalSafe(dataset.name)}" (split ${planned.splitId}), ${total} epochs, ` +
        `${planned.config.imageSize.width}x${planned.config.imageSize.height}, batch ${planned.config.batchSize}, ${planned.config.optimizer} ${planned.config.learningRate}`);
      return job;
    }, {
      describe: trainLine,
      logs: true,
      cancelNotice: 'cancelling (the run is kept as cancelled; press Ctrl+C again to quit at once)…',
    }));
  } finally {
    off();
  }

  const run: RunDetail = await services.request('runs.get', { runId: runId! });
  // How the run ended comes from jobs.finished: when the catalogue could not record it, the row may still say "running".
  const status = finished.kind === 'train' && finished.result ? finished.result.status : finished.status;
  const error = finished.error ?? (status === run.status ? run.error : null);
  const summary = {
    runId,
    status,
    backend: run.backend,
    versions: run.versions,
    datasetId: run.datasetId,
    splitId: run.splitId,
    preset: run.preset,
    epochs: run.epochs,
    bestEpoch: run.bestEpoch,
    bestValAccuracy: run.bestValAccuracy,
    testAccuracy: run.testAccuracy,
    testLoss: run.testLoss,
    modelPath: run.modelPath,
    durationMs: run.durationMs,
    error,
  };
  context.output(summary, () =>
    `run ${runId} ${status}${error ? `: ${terminalSafe(error)}` : ''}\n` +
    `backend ${run.backend ?? '-'}, best epoch ${run.bestEpoch ?? '-'} (val acc ${pct(run.bestValAccuracy).trim()}), test acc ${pct(run.testAccuracy).trim()}\n` +
    `model: ${run.modelPath ? terminalSafe(run.modelPath) : 'not saved'}`);
  if (status === 'failed') throw new AppError('failed', `run ${runId} failed: ${terminalSafe(error ?? 'unknown error')}`);
  return status === 'completed' ? 0 : 130;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a model on a dataset\'s split (presets: mobilenetv2 (default), cnn, cnn-augment, cnn-normalize, custom)',
  usage: 'pawprint train <dataset> [--preset mobilenetv2|cnn|cnn-augment|cnn-normalize|custom] [--config FILE] [--epochs N] [--batch-size N] ' +
    '[--image-size N] [--optimizer adam|sgd|rmsprop] [--lr X] [--seed N] [--backend auto|node|wasm|cpu] [--alpha A] [--base URL|PATH] ' +
    '[--head max|average] [--extra-dense N] [--views N] [--fine-tune-blocks N] [--fine-tune-epochs N] [--flip none|horizontal|vertical|both] ' +
    '[--rotation F] [--split ID] [--name TEXT] [--json]',
  options: {
    preset: { type: 'string', description: `model preset (default ${DEFAULT_PRESET}, or the --config file's)` },
    config: { type: 'string', description: 'JSON training config (any subset; flags override it)' },
    epochs: { type: 'string', description: 'epochs (tutorial: 20)' },
    'batch-size': { type: 'string', description: 'batch size (tutorial: 32)' },
    'image-size': { type: 'string', description: 'square input size in pixels (default 224 for mobilenetv2, 160 for the cnn presets)' },
    optimizer: { type: 'string', description: 'adam | sgd | rmsprop' },
    lr: { type: 'string', description: 'learning rate (tutorial: 0.001)' },
    seed: { type: 'string', description: 'seed for shuffling, augmentation, initial weights and dropout' },
    backend: { type: 'string', description: 'auto | node | wasm | cpu' },
    alpha: { type: 'string', description: 'mobilenetv2 width: 0.35 (default, bundled) | 0.50 | 0.75 | 1.00 (downloads once)' },
    base: { type: 'string', description: 'mobilenetv2 base weights: a model.json or Keras .h5 URL, or a local folder, model.json or .h5 file' },
    'fine-tune-blocks': { type: 'string', description: 'mobilenetv2: top blocks to unfreeze for fine-tuning' },
    'fine-tune-epochs': { type: 'string', description: 'mobilenetv2: fine-tuning epochs' },
    head: { type: 'string', description: 'mobilenetv2 head pooling: max | average (default average)' },
    'extra-dense': { type: 'string', description: 'mobilenetv2: units of an extra Dense(relu) layer in the head (0 = none)' },
    views: { type: 'string', description: 'mobilenetv2: augmented views cached per training image (default 4)' },
    flip: { type: 'string', description: 'augmentation: random flips none | horizontal | vertical | both' },
    rotation: { type: 'string', description: 'augmentation: random rotation as a fraction of a full turn (0.2 = up to 72 degrees)' },
    split: { type: 'string', description: 'split id (default: the dataset\'s latest split; a dataset with none gets the default: stratified 70/20/10, seed 1)' },
    name: { type: 'string', description: 'run name' },
  },
  async run({ positionals, values }, context) {
    return runTrain(positionals, values, context);
  },
};

// CLI commands of the training domain.
export const trainingCommands: Command[] = [trainCommand];
