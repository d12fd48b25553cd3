// The base that ships with the app: ImageNet MobileNetV2 alpha 0.35 (TensorFlow's Apache-2.0 checkpoint, as Teachable
// Machine serves it), backbone only, in resources/models/. A mobilenetv2 run at alpha 0.35 that names no base uses it,
// so the default preset trains offline from the first launch. No TensorFlow.js here: the host describes it too.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../build-paths';
import type { TrainingConfig } from '../../../shared/training-config';

export const BUNDLED_BASE = {
  /** Folder under resources/models/ (source checkout) or <resourcesPath>/models/ (packaged app). */
  folder: 'mobilenet_v2_0.35_224_imagenet',
  /** How runs, logs and model metadata name it: never by its local path. */
  name: 'mobilenet_v2_0.35_224 imagenet (bundled)',
  alpha: 0.35,
  /** base-weights.ts's weightsId of these tensors (the same as KNOWN_IMAGENET_WEIGHTS_IDS[0.35]). */
  weightsId: '224a2d6db81083e9037cffa913c3dfd7cf59902451450c49d7d73f8df4fe5862',
  /** Scalars in the backbone's weights (Keras's MobileNetV2(alpha=0.35, include_top=False): 410,208). */
  parameters: 410_208,
} as const;

/**
 * Where the bundled base may be, in order: the packaged app's resources (process.resourcesPath, or the folder holding
 * app.asar when a process lacks it), then the source checkout's resources/.
 */
export function bundledBaseCandidates(
  resourcesPath: string | undefined = (process as { resourcesPath?: string }).resourcesPath, root = projectRoot(),
): string[] {
  const candidates: string[] = [];
  if (resourcesPath) candidates.push(join(resourcesPath, 'models', BUNDLED_BASE.folder));
  const asar = /^(.*?)[\\/][^\\/]+\.asar(?:[\\/]|$)/.exec(root);
  if (asar) candidates.push(join(asar[1]!, 'models', BUNDLED_BASE.folder));
  candidates.push(join(root, 'resources', 'models', BUNDLED_BASE.folder));
  return [...new Set(candidates)];
}

/** The bundled base's folder (with its model.json), or null when this installation lacks it. */
export function bundledBaseFolder(resourcesPath?: string): string | null {
  const candidates = resourcesPath === undefined ? bundledBaseCandidates() : bundledBaseCandidates(resourcesPath);
  return candidates.find((folder) => existsSync(join(folder, 'model.json'))) ?? null;
}

/** Whether a run trains on the bundled base: mobilenetv2 at its alpha with no base of its own (no network, no path). */
export function usesBundledBase(config: Pick<TrainingConfig, 'preset' | 'mobilenet'>): boolean {
  return config.preset === 'mobilenetv2' && !config.mobilenet.baseSource && config.mobilenet.alpha === BUNDLED_BASE.alpha;
}

/**
 * The run record's entries for the bundled base (the same keys base-weights.ts's baseVersions writes into the model's
 * metadata), known before the worker loads it; empty for any other base, which only the worker can identify.
 */
export function bundledBaseVersions(config: Pick<TrainingConfig, 'preset' | 'mobilenet'>): Record<string, string> {
  if (!usesBundledBase(config)) return {};
  return {
    mobilenetBase: BUNDLED_BASE.name, mobilenetWeights: BUNDLED_BASE.weightsId, mobilenetAlpha: BUNDLED_BASE.alpha.toFixed(2),
    mobilenetBaseParameters: String(BUNDLED_BASE.parameters),
  };
}
