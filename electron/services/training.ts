import { createRequire } from 'node:module';
import { AppError, firstLine } from '../../shared/errors';
import type { trainingRequests, PresetInfo, ValidationIssue } from '../../shared/contract/index';
import { presetDefaults, PRESET_NAMES, type PresetName } from '../../shared/training-config';
import { validateTrainingConfig } from '../../shared/model-validation';
import { getImagePath } from '../catalogue/training-data';
import { failInterruptedRuns, getRun, listRuns, runLog } from '../catalogue/runs';
import { TrainingJobs } from '../jobs/kinds/train';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';

/**
 * Whether tfjs-node (an optional dependency: native libtensorflow) is installed. Resolved, never loaded, so TensorFlow.js
 * stays out of this process; `resolve` is a test seam.
 */
export function nativeBackendInstalled(resolve: (id: string) => string = (id) => createRequire(import.meta.url).resolve(id)): boolean {
  try {
    resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/** The validation issue for a backend this machine cannot give, or null. */
function backendIssue(config: unknown): ValidationIssue | null {
  const backend = typeof config === 'object' && config !== null ? (config as { backend?: unknown }).backend : undefined;
  if (backend !== 'node' || nativeBackendInstalled()) return null;
  return {
    severity: 'error',
    layer: null,
    code: 'backend-unavailable',
    backend: 'node',
    message: 'The native backend (tfjs-node) is not installed here: choose auto or WebAssembly (auto uses tfjs-node once `npm install @tensorflow/tfjs-node` has installed it).',
  };
}

const PRESET_TEXT: Record<PresetName, { title: string; description: string }> = {
  cnn: { title: 'CNN', description: 'The tutorial\'s first model: three Conv2D(32) + MaxPool blocks, Dense(128), Dropout 0.2, on raw 0-255 pixels. ~60% validation accuracy on cats vs dogs.' },
  'cnn-augment': { title: 'CNN + augmentation', description: 'Random flips and rotations (±90°) during training, a 10x5 first kernel and Conv2D(64) last. 60-65% validation accuracy.' },
  'cnn-normalize': { title: 'CNN + normalisation', description: 'Pixels scaled to [-1,1] as MobileNetV2 expects, flips and ±72° rotations, Dense(256). ~70% validation accuracy.' },
  mobilenetv2: { title: 'MobileNetV2 transfer', description: 'A frozen ImageNet MobileNetV2 base with an average-pooling + Dropout 0.2 + Dense head, horizontal flips and ±72° rotations, trained on cached base features. Uses the alpha 0.35 base that ships with Pawprint (works offline; ~95% on cats vs dogs); alpha 1.00, the tutorial\'s (~97%), downloads once.' },
  custom: { title: 'Custom', description: 'Stack your own Conv2D / pooling / BatchNorm / Dropout / Dense layers; the classifier is added for you.' },
};

/** Registers the train kind with the app's job runtime: runs start, cancel and list through jobs.start/cancel/list. */
function registerTrainKind(app: AppContext): void {
  // Runs from before the job runtime have no job to abandon them. The sweep takes this process's own rows for dead,
  // so it is skipped while another services of this process (tests, `pawprint jobs` in-process) trains here.
  if (!app.jobs.activeFor({ kind: 'train' }).some((job) => job.owner.thisProcess)) {
    const failed = failInterruptedRuns(app.db);
    if (failed.length > 0) console.warn(`Marked interrupted training runs as failed: ${failed.join(', ')}`);
  }
  const kind = new TrainingJobs({ db: app.db, events: app.events });
  app.jobs.register(kind.spec);
  // Runs after the runtime's close (which cancels and waits): kills what is left and records it.
  app.onClose(() => kind.close());
}

// Handlers for the training domain of the contract.
export function trainingHandlers(app: AppContext): DomainHandlers<typeof trainingRequests> {
  registerTrainKind(app);
  const presetCache = new Map<number, Promise<PresetInfo[]>>();
  return {
    'training.presets': async ({ numClasses }) => {
      let presets = presetCache.get(numClasses);
      if (!presets) {
        // Built from the real tfjs models, in the interactive worker: TensorFlow.js stays out of this process.
        const described = app.jobs.task('describe', { numClasses }).then(({ presets: models }) => {
          const byName = new Map(models.map((preset) => [preset.name, preset.model]));
          return PRESET_NAMES.map((name) => {
            const defaults = presetDefaults(name);
            return { name, ...PRESET_TEXT[name], defaults, model: byName.get(name) ?? null };
          });
        });
        presets = described;
        presetCache.set(numClasses, described);
        // A failed answer (the worker could not start) is asked again next time, not cached.
        described.catch(() => presetCache.delete(numClasses));
      }
      return { presets: await presets };
    },
    'training.validateConfig': async ({ config, numClasses }) => {
      const validation = validateTrainingConfig(config, numClasses);
      const backend = backendIssue(config);
      return backend ? { ...validation, ok: false, issues: [...validation.issues, backend] } : validation;
    },
    'augment.preview': async ({ imageId, options, size, seed, count }) => {
      const image = getImagePath(app.db, imageId);
      if (!image) throw new AppError('not-found', `Image ${imageId} does not exist or could not be read.`);
      // The data pipeline loads TensorFlow.js: the preview is drawn in the interactive worker.
      let preview;
      try {
        preview = await app.jobs.task('augment-preview', { image: { key: image.contentHash, path: image.path }, size, options, seed, count });
      } catch (error) {
        throw new AppError('failed', `Cannot preview ${image.path}: ${firstLine(error)}`);
      }
      return { imageId, original: { dataUrl: preview.original, params: null }, variants: preview.variants };
    },
    'runs.list': async ({ datasetId, status, limit }) => ({ runs: listRuns(app.db, { datasetId, status, limit }) }),
    // The stored log makes a finished run's page (or one trained from the CLI) show what its job logged.
    'runs.get': async ({ runId }) => ({ ...getRun(app.db, runId), log: runLog(app.db, runId) }),
  };
}
