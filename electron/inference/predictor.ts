// Predictions with a loaded model: on decoded pixels (one batch) and on image files (batched, each unreadable file
// gets its own error, cancellable between batches).
import { basename } from 'node:path';
import { tf, type Tensor } from '../tfjs/tf';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/image-policy';
import { readRegularFile } from '../files/read-regular-file';
import type { LoadedModel } from './loader';
import { decodeForModel, externalScaling } from './preprocess';
import { argmax, toProbabilities } from './probabilities';

export interface PixelPrediction {
  /** The model's raw output row (logits or probabilities). */
  outputs: number[];
  /** One per class name, summing to 1. */
  probabilities: number[];
  predictedIndex: number;
}

/** Runs the model on decoded images (each h·w·3 bytes, as decodeForModel returns). One batch: keep it small. */
export async function predictPixels(loaded: LoadedModel, pixels: readonly Uint8Array[]): Promise<PixelPrediction[]> {
  if (pixels.length === 0) return [];
  const { height, width } = loaded.imageSize;
  const per = height * width * 3;
  const buffer = new Float32Array(pixels.length * per);
  pixels.forEach((p, i) => {
    if (p.length !== per) throw new Error(`image ${i} has ${p.length} values, expected ${per} (${width}x${height}x3)`);
    buffer.set(p, i * per);
  });
  const scaling = loaded.preprocessingInModel ? null : externalScaling(loaded.preprocessing);
  const result = tf.tidy(() => {
    let x: Tensor = tf.tensor4d(buffer, [pixels.length, height, width, 3]);
    if (scaling) x = x.mul(scaling.scale).add(scaling.offset);
    return loaded.model.predict(x) as Tensor;
  });
  let values: Float32Array;
  try {
    values = (await result.data()) as Float32Array;
  } finally {
    result.dispose();
  }
  const units = loaded.units;
  return pixels.map((_, i) => {
    const outputs = Array.from(values.subarray(i * units, (i + 1) * units));
    const probabilities = toProbabilities(outputs, loaded.output);
    return { outputs, probabilities, predictedIndex: argmax(probabilities) };
  });
}

export type PredictInput = string | { path: string; name?: string };

export type FilePrediction =
  | { path: string; name: string; probabilities: number[]; predictedIndex: number; className: string; outputs: number[] }
  | { path: string; name: string; error: string };

export interface PredictOptions {
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Each batch's predictions as soon as they are known, in file order from `offset` (streamed to the job's caller). */
  onBatch?: (offset: number, predictions: FilePrediction[]) => void;
}

/**
 * Predicts each file; a file that cannot be read or decoded gets `{ error }` and the others go on. Rejects only
 * when cancelled (signal) or when the model itself fails.
 */
export async function predictFiles(loaded: LoadedModel, inputs: readonly PredictInput[], options: PredictOptions = {}): Promise<FilePrediction[]> {
  const batchSize = Math.max(1, options.batchSize ?? 16);
  const items = inputs.map((input) => (typeof input === 'string' ? { path: input, name: basename(input) } : { path: input.path, name: input.name ?? basename(input.path) }));
  const results: FilePrediction[] = new Array(items.length);
  for (let start = 0; start < items.length; start += batchSize) {
    options.signal?.throwIfAborted();
    const batch = items.slice(start, start + batchSize);
    const decoded = await Promise.all(batch.map(async (item) => {
      try {
        // A user-chosen path: never block on a FIFO or a device, never read a disk image whole.
        return await decodeForModel(loaded, await readRegularFile(item.path, { maxBytes: MAX_IMAGE_FILE_BYTES }));
      } catch (error) {
        const message = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
        return new Error(`cannot read ${item.name} as an image: ${message}`);
      }
    }));
    const good = decoded.flatMap((d, i) => (d instanceof Error ? [] : [{ index: i, pixels: d }]));
    const predictions = await predictPixels(loaded, good.map((g) => g.pixels));
    decoded.forEach((d, i) => {
      const item = batch[i];
      if (d instanceof Error) results[start + i] = { path: item.path, name: item.name, error: d.message };
    });
    good.forEach((g, j) => {
      const item = batch[g.index];
      const p = predictions[j];
      results[start + g.index] = {
        path: item.path, name: item.name, probabilities: p.probabilities, predictedIndex: p.predictedIndex,
        className: loaded.classNames[p.predictedIndex], outputs: p.outputs,
      };
    });
    options.onBatch?.(start, results.slice(start, start + batch.length));
    options.onProgress?.(Math.min(items.length, start + batch.length), items.length);
  }
  return results;
}
