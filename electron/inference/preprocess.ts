// The one preprocessing recipe, shared by training (the Rescaling layer it builds, the pipeline's scaling) and
// inference (what predict applies when the model does not scale its own input, how an image becomes pixels).
// tf-free: the main process may import it.
import type { Preprocessing } from '../../shared/training-config';
import { decodeAcceptedRgb } from '../imaging/image-policy';

/** The scaling a model expects on top of raw 0..255 pixels; Teachable Machine's is its own (x / 127 - 1). */
export type InputPreprocessing = Preprocessing | 'teachable-machine';
/** 'fill': the whole image resized to height x width (as training does); 'center-crop': Teachable Machine's square crop. */
export type ResizeMode = 'fill' | 'center-crop';

/** Scale and offset of the Rescaling layer for each preprocessing mode (x·scale + offset). */
export function rescalingFor(preprocessing: Preprocessing): { scale: number; offset: number } | null {
  switch (preprocessing) {
    case 'none':
      return null;
    case 'unit':
      return { scale: 1 / 255, offset: 0 };
    case 'symmetric':
      return { scale: 1 / 127.5, offset: -1 };
  }
}

/** Scale and offset predict applies before the model when the model does not scale its own input. */
export function externalScaling(preprocessing: InputPreprocessing): { scale: number; offset: number } | null {
  // Teachable Machine divides by 127, not 127.5; the other modes are exactly the trainer's Rescaling layer.
  return preprocessing === 'teachable-machine' ? { scale: 1 / 127, offset: -1 } : rescalingFor(preprocessing);
}

/** The preprocessing a Rescaling layer's scale and offset stand for ('none' for anything else). */
export function preprocessingOfRescaling(rescale: { scale: number; offset: number } | null): Preprocessing {
  if (!rescale) return 'none';
  if (Math.abs(rescale.offset + 1) < 1e-6 && Math.abs(rescale.scale - 1 / 127.5) < 1e-6) return 'symmetric';
  if (Math.abs(rescale.offset) < 1e-6 && Math.abs(rescale.scale - 1 / 255) < 1e-6) return 'unit';
  return 'none';
}

/**
 * Decodes an encoded image the way a model expects: h·w·3 RGB bytes, by the pixel rule and resize recipe training
 * uses (image-policy.ts decodeRgb: TF's bilinear with half-pixel centres, no antialias, rounded half to even), so
 * predict, Try it, evaluation and export's reference images see the pixels the model was trained on and a consumer
 * computes with tf.image.resizeBilinear(img, [h, w], false, true). Refuses what import refuses (formats,
 * MAX_PIXELS) with import's reason, as AppError.
 */
export function decodeForModel(model: { imageSize: { height: number; width: number }; resize: ResizeMode }, bytes: Buffer): Promise<Uint8Array> {
  const { height, width } = model.imageSize;
  return decodeAcceptedRgb(bytes, height, width, model.resize === 'fill' ? 'fill' : 'cover');
}
