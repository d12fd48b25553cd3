// Augmented views applied where the base runs: the training worker used to augment every view of a batch itself
// before handing the batch to a feature thread, and a profile of a cold mobilenetv2 extraction at 224 px showed its
// main thread busy (73% in the affine sampling and rounding) while the two feature threads idled at 56%. Each
// thread now augments the rows of its own batch; the result is the same bytes (toUint8 of augmentImage).
import type { AugmentationConfig } from '../../../shared/training-config';
import { augmentImage, toUint8 } from '../augment';

/** How to turn a batch of plain pixels into its views: per row, null (the plain view) or the epoch's augmentation. */
export interface ViewAugmentation {
  config: AugmentationConfig;
  seed: number;
  /** Square image side in pixels. */
  size: number;
  rows: Array<{ epoch: number; imageKey: string } | null>;
}

/** Replaces each augmented row of `pixels` (RGB HWC, rows.length images) by its view, in place. */
export function applyViews(pixels: Uint8Array, views: ViewAugmentation): void {
  const per = views.size * views.size * 3;
  if (pixels.length !== views.rows.length * per) throw new Error(`applyViews: ${views.rows.length} rows need ${views.rows.length * per} bytes, got ${pixels.length}`);
  views.rows.forEach((row, i) => {
    if (row === null) return;
    const plain = pixels.subarray(i * per, (i + 1) * per);
    pixels.set(toUint8(augmentImage(plain, views.size, views.size, 3, views.config, views.seed, row.epoch, row.imageKey).pixels), i * per);
  });
}
