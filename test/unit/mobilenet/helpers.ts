// Shared fixtures for the MobileNetV2 tests (not a test file itself).
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, requireTfModule, type LayersModel, type Tensor } from '../../../electron/tfjs/tf';
import type { SymbolicTensor } from '@tensorflow/tfjs';
import { mulberry32 } from '../../../shared/random';

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const SHARED_DIR = path.resolve(REPO_ROOT, '../shared');
export const SHARED_TM_MODEL = path.join(SHARED_DIR, 'models', 'mobilenet-v2-0.35-224-teachable-machine');

/** `false` when the shared Teachable Machine model is available, otherwise the reason to skip. */
export function sharedModelSkip(): string | false {
  return existsSync(path.join(SHARED_TM_MODEL, 'model.json'))
    ? false
    : `shared model not found at ${SHARED_TM_MODEL} (../shared is absent on this machine)`;
}

/** The WebAssembly backend: convolutions on the CPU backend are too slow even for the small test models. */
export async function useWasmBackend(): Promise<void> {
  if (tf.getBackend() === 'wasm') return;
  requireTfModule('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
}

/**
 * Gives every BatchNormalization realistic statistics, like a trained network's: moving mean and variance are
 * the per-channel statistics of the layer's input on a calibration batch (so each layer normalises and the
 * signal reaches the output instead of decaying into a constant of the biases), gamma and beta are random.
 * Fresh layers (gamma 1, beta 0, mean 0, var 1) would also make BN folding trivially exact.
 */
export function randomizeBatchNorm(model: LayersModel, seed: number): void {
  const rng = mulberry32(seed);
  const size = model.inputs[0].shape[1] as number;
  const calib = tf.tidy(() => tf.tensor4d(randomPixels(4, size, seed + 1), [4, size, size, 3], 'float32').div(127.5).sub(1));
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const c = layer.weights[0].shape[0] as number;
    // Statistics of this BN's input with all earlier BNs already calibrated.
    const probe = tf.model({ inputs: model.inputs, outputs: layer.input as SymbolicTensor });
    const { mean, variance } = tf.tidy(() => tf.moments(probe.predict(calib) as Tensor, [0, 1, 2]));
    const vals = (lo: number, hi: number) => tf.tensor1d(Float32Array.from({ length: c }, () => lo + (hi - lo) * rng()));
    const ts = [vals(0.5, 1.5), vals(-0.2, 0.2), mean, variance];
    layer.setWeights(ts); // order: gamma, beta, moving_mean, moving_variance
    tf.dispose(ts);
  }
  calib.dispose();
}

/** Saves a LayersModel as model.json + `shards` weight files into `dir` (what a web server would serve). */
export async function saveModelToDir(model: LayersModel, dir: string, shards = 1): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const wd = artifacts.weightData!;
    const bytes = Buffer.from(Array.isArray(wd) ? Buffer.concat(wd.map((b) => Buffer.from(b))) : Buffer.from(wd));
    const paths: string[] = [];
    const per = Math.ceil(bytes.length / shards);
    for (let i = 0; i < shards; i++) {
      const name = `group1-shard${i + 1}of${shards}.bin`;
      await writeFile(path.join(dir, name), bytes.subarray(i * per, Math.min(bytes.length, (i + 1) * per)));
      paths.push(name);
    }
    const json = {
      format: 'layers-model',
      generatedBy: 'pawprint test',
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths, weights: artifacts.weightSpecs }],
    };
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
}

/** Deterministic pseudo-random uint8 RGB images. */
export function randomPixels(count: number, size: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

/** Largest |a - b| relative to the largest |a|. */
export function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return scale === 0 ? diff : diff / scale;
}
