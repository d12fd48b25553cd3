// The `augment-preview` worker task: the Augment view's variants of one image. It runs in the worker because the data
// pipeline that decodes and augments loads TensorFlow.js, which stays out of the host process (issue 12 §2.5).
import { join } from 'node:path';
import type { WorkerTask } from '../../../shared/worker-task';
import { augmentPreview } from '../data-pipeline';
import type { AugmentPreviewTaskInput, AugmentPreviewTaskResult } from './task-types';

const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

export const augmentPreviewTask: WorkerTask<AugmentPreviewTaskInput, AugmentPreviewTaskResult> = async (input, io) => {
  const { image, size, options, seed, count } = input;
  const preview = await augmentPreview(image, size, size, options, seed, count, { cacheDir: join(io.settings.cacheDir, 'decoded') });
  return {
    original: dataUrl(preview.original),
    variants: preview.variants.map((png, k) => ({ dataUrl: dataUrl(png), params: preview.params[k] ?? null })),
  };
};
