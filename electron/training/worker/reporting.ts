// What the training worker reports and records, shared by image training (job.ts) and transfer learning
// (transfer.ts): progress throttling, trainer callbacks, the best epoch's accuracy and the run's metadata.json.
import { buildModelMetadata, trainingConfigOrNull, writeModelMetadata } from '../../inference/model-format';
import type { Preprocessing } from '../../../shared/training-config';
import { logitUnits } from '../../../shared/model-validation';
import type { ImageItem } from '../data-pipeline';
import type { TrainCallbacks, TrainResult } from '../trainer';
import type { TrainRunProgress, TrainRunStart, TrainTaskEvent, WorkerImage } from './task-types';

/** Where a run's reports go: the train task's event channel (or a test's list). */
export type Emit = (event: TrainTaskEvent) => void;

/** Sends batch progress as it comes, and other stages at most every `intervalMs` (plus their last value). */
export function progressSender(emit: Emit, intervalMs: number): (progress: TrainRunProgress, force?: boolean) => void {
  let last = -Infinity;
  return (progress, force = false) => {
    const now = performance.now();
    if (!force && progress.stage !== 'training' && now - last < intervalMs) return;
    last = now;
    emit({ type: 'progress', progress });
  };
}

export function toImageItems(images: readonly WorkerImage[]): ImageItem[] {
  return images.map((image) => ({ key: image.key, path: image.path, label: image.label }));
}

export function trainerCallbacks(emit: Emit, sendProgress: ReturnType<typeof progressSender>): TrainCallbacks {
  return {
    onBatchEnd(p) {
      sendProgress({
        stage: 'training', phase: p.phase, epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches,
        loss: Number.isFinite(p.loss) ? p.loss : null, accuracy: p.accuracy, imagesPerSecond: p.imagesPerSecond, etaSeconds: p.runEtaSeconds,
      });
    },
    onEpochEnd(m) {
      // Non-finite values would become null over JSON anyway; say so here, as the contract expects.
      const finite = (value: number | null | undefined) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
      emit({ type: 'epoch', metrics: { ...m, loss: finite(m.loss), valLoss: finite(m.valLoss), valAccuracy: finite(m.valAccuracy), accuracy: finite(m.accuracy) } });
    },
    onLog(message) {
      emit({ type: 'log', level: 'info', message });
    },
  };
}

export function bestValAccuracy(result: TrainResult): number | null {
  if (result.bestEpoch === null) return null;
  return result.epochs.find((e) => e.epoch === result.bestEpoch)?.valAccuracy ?? null;
}

/** What a finished run knows about its saved model, beyond the start message. */
export interface SavedRunFacts {
  result: Pick<TrainResult, 'epochs' | 'bestEpoch'>;
  preprocessing: Preprocessing;
  testAccuracy: number | null;
  testLoss: number | null;
  backend: string;
  versions: Record<string, string>;
}

/**
 * Writes metadata.json into the run's model folder in the one model format (inference/model-format.ts), so the folder
 * loads like an export package. The scaling is a Rescaling layer inside every model Pawprint trains.
 */
export async function writeRunMetadata(start: TrainRunStart, facts: SavedRunFacts): Promise<void> {
  const { config, data } = start;
  const { result } = facts;
  const best = result.epochs.find((e) => e.epoch === result.bestEpoch) ?? null;
  const last = result.epochs.at(-1) ?? null;
  const metadata = buildModelMetadata({
    package: 'run',
    name: `run ${start.runId}`,
    classNames: data.classNames,
    imageSize: config.imageSize,
    preprocessing: facts.preprocessing,
    preprocessingInModel: facts.preprocessing !== 'none',
    output: { kind: 'logits', units: logitUnits(data.classNames.length) },
    run: {
      id: start.runId, name: null, preset: config.preset, datasetId: null, splitId: data.splitId, dataHash: data.dataHash,
      // A record only: a config the schema no longer knows must not fail a finished run.
      config: trainingConfigOrNull(config),
      metrics: {
        bestEpoch: result.bestEpoch, epochs: result.epochs.length, bestValAccuracy: best?.valAccuracy ?? null, bestValLoss: best?.valLoss ?? null,
        trainAccuracyAtBest: best?.accuracy ?? null, trainLossAtBest: finiteOrNull(best?.loss), lastValAccuracy: last?.valAccuracy ?? null,
        testAccuracy: facts.testAccuracy, testLoss: facts.testLoss,
      },
      backend: facts.backend, versions: facts.versions, createdAt: null, finishedAt: new Date().toISOString(),
    },
    versions: { ...facts.versions, app: start.appVersion, tfjs: facts.versions['tfjs-core'] ?? 'unknown' },
  });
  await writeModelMetadata(start.paths.modelDir, metadata);
}

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
