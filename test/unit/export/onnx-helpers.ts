// Shared by the ONNX export tests: weights that are not the initialisers' zeros and ones, image-like inputs, and one
// call that converts a model, runs it in ONNX Runtime and returns the largest difference from TF.js.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type LayersModel } from '../../../electron/tfjs/tf';
import { mulberry32 } from '../../../shared/random';
import { verifyOnnxWithModel, writeOnnxModel, type OnnxVerification, type WrittenOnnxModel } from '../../../electron/export/targets/onnx/index';
import { decodeOnnxModel, encodeOnnxModel, type OnnxModel } from '../../../electron/export/targets/onnx/onnx-proto';

/**
 * Gives every bias and BatchNorm statistic random values (initialisers leave them at 0 and 1, which would hide a
 * wrong bias or normalisation), and redraws kernels evenly within their initialised range.
 */
export function randomizeWeights(model: LayersModel, seed: number): void {
  const rng = mulberry32(seed);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rng();
  const visit = (layers: LayersModel['layers']) => {
    for (const layer of layers) {
      const nested = (layer as unknown as { layers?: LayersModel['layers'] }).layers;
      if (Array.isArray(nested)) {
        visit(nested);
        continue;
      }
      if (layer.weights.length === 0) continue;
      const values = layer.weights.map((variable) => {
        const name = variable.originalName.split('/').pop() ?? '';
        const shape = variable.shape as number[];
        const size = shape.reduce((a, b) => a * b, 1);
        const fill = (lo: number, hi: number) => tf.tensor(Float32Array.from({ length: size }, () => uniform(lo, hi)), shape);
        switch (name) {
          case 'bias': return fill(-0.3, 0.3);
          case 'gamma': return fill(0.5, 1.5);
          case 'beta': return fill(-0.3, 0.3);
          case 'moving_mean': return fill(-0.3, 0.3);
          case 'moving_variance': return fill(0.5, 2);
          default: {
            // Kernels: keep the initialiser's scale, but draw fresh values (an even distribution around 0).
            const current = variable.read().dataSync();
            let scale = 0;
            for (const v of current) scale = Math.max(scale, Math.abs(v));
            return fill(-(scale || 0.1), scale || 0.1);
          }
        }
      });
      layer.setWeights(values);
      tf.dispose(values);
    }
  };
  visit(model.layers);
}

/**
 * `count` image-like RGB batches [count, h, w, 3] of integer pixels 0..255: smooth gradients and a blob, with noise,
 * different per image (not uniform noise, which would average out in pooling layers).
 */
export function imageBatch(count: number, height: number, width: number, seed: number): { data: Float32Array; shape: number[] } {
  const rng = mulberry32(seed);
  const data = new Float32Array(count * height * width * 3);
  for (let n = 0; n < count; n++) {
    const phase = [rng() * 6, rng() * 6, rng() * 6];
    const freq = [0.05 + rng() * 0.3, 0.05 + rng() * 0.3];
    const blob = { y: rng() * height, x: rng() * width, r: 2 + rng() * Math.min(height, width) / 3, c: [rng() * 255, rng() * 255, rng() * 255] };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inBlob = (y - blob.y) ** 2 + (x - blob.x) ** 2 < blob.r ** 2;
        for (let c = 0; c < 3; c++) {
          const base = 128 + 90 * Math.sin(x * freq[0] + phase[c]) * Math.cos(y * freq[1] + phase[(c + 1) % 3]);
          const value = (inBlob ? blob.c[c] : base) + (rng() - 0.5) * 30;
          data[((n * height + y) * width + x) * 3 + c] = Math.round(Math.min(255, Math.max(0, value)));
        }
      }
    }
  }
  return { data, shape: [count, height, width, 3] };
}

export interface OnnxCheck extends OnnxVerification {
  written: WrittenOnnxModel;
}

/** Writes `model` to `<dir>/<name>.onnx` and compares ONNX Runtime with TF.js on `inputs`. */
export async function convertAndCompare(model: LayersModel, dir: string, name: string, inputs: { data: Float32Array; shape: number[] }): Promise<OnnxCheck> {
  const written = await writeOnnxModel(model, join(dir, `${name}.onnx`));
  const check = await verifyOnnxWithModel(written.path, model, inputs.data, inputs.shape);
  return { ...check, written };
}

/** Rewrites a model.onnx with `mutate` applied to its decoded form (to show a wrong translation is caught). */
export async function mutateOnnx(path: string, out: string, mutate: (model: OnnxModel) => void): Promise<void> {
  const model = decodeOnnxModel(await readFile(path));
  mutate(model);
  await writeFile(out, encodeOnnxModel(model));
}
