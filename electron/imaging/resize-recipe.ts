// The resize recipe every model input goes through (issue 13): Keras' own (image_dataset_from_directory's
// tf.image.resize 'bilinear'), which a consumer of an export reproduces with TF.js alone. Pure JS over decoded
// pixels, no sharp and no tfjs, so model-format.ts (which records the recipe) and any process may import it.

/**
 * Bumped whenever decodeRgb's pixels change for some input, so caches of decoded pixels (keyed by file content)
 * are not reused across the change. 2: transparency is flattened on white instead of dropped. 3: resized by the
 * recipe below (TF's bilinear, half-pixel centres, no antialias) instead of sharp's linear kernel, which smooths
 * when shrinking and which no consumer of an export could reproduce.
 */
export const PIXEL_RULE_VERSION = 3;

/**
 * How decoded pixels are resized to a model's input, as Keras' image_dataset_from_directory does it
 * (tf.image.resize 'bilinear'): exactly what tf.image.resizeBilinear(image, [h, w], false, true) computes in TF.js.
 * Recorded in every model's metadata.json so a consumer can reproduce the pixels with TF.js alone.
 */
export const RESIZE_RECIPE = { method: 'bilinear', halfPixelCenters: true, alignCorners: false, antialias: false } as const;

/**
 * The resized values are rounded to whole 0..255 values, half to even (tf.round), before anything else sees them:
 * decoded pixels are cached (memory, disk, MobileNetV2 features) and augmented as bytes, a quarter of float32's
 * memory. The rounding moves a pixel by at most 0.5/255; a consumer that skips it gets within that of Pawprint's
 * input (see the README for the measured effect on predictions), and `.round()` after the resize gives it exactly.
 */
export const PIXEL_ROUNDING = 'half-to-even' as const;

/** A region of an image: rows top..top+height-1, columns left..left+width-1. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * The largest centred region with the target's aspect ratio (what sharp's fit 'cover' kept): Teachable Machine's
 * centre crop. The whole image when the ratios already agree.
 */
export function centreCropBox(height: number, width: number, targetHeight: number, targetWidth: number): CropBox {
  if (width * targetHeight > height * targetWidth) {
    const cropWidth = Math.max(1, Math.min(width, Math.round((height * targetWidth) / targetHeight)));
    return { top: 0, left: Math.floor((width - cropWidth) / 2), height, width: cropWidth };
  }
  const cropHeight = Math.max(1, Math.min(height, Math.round((width * targetHeight) / targetWidth)));
  return { top: Math.floor((height - cropHeight) / 2), left: 0, height: cropHeight, width };
}

/**
 * Bilinear resize with half-pixel centres, no antialias, no align-corners, stretched to outHeight x outWidth: the
 * arithmetic of TF.js' CPU ResizeBilinear kernel, step for step, so the float results agree with
 * tf.image.resizeBilinear(image, [outHeight, outWidth], false, true). `source` is HWC with `channels` values per pixel
 * and rows of `sourceWidth`; `box` (default: the whole image) is the region resized.
 */
export function resizeBilinear(
  source: ArrayLike<number>, sourceHeight: number, sourceWidth: number, channels: number,
  outHeight: number, outWidth: number, box: CropBox = { top: 0, left: 0, height: sourceHeight, width: sourceWidth },
): Float32Array {
  const out = new Float32Array(outHeight * outWidth * channels);
  const rowRatio = box.height / outHeight;
  const colRatio = box.width / outWidth;
  // Per output column: the two source columns (as value offsets) and the weight of the right one.
  const colLeft = new Int32Array(outWidth);
  const colRight = new Int32Array(outWidth);
  const colFrac = new Float64Array(outWidth);
  for (let c = 0; c < outWidth; c++) {
    const sourceCol = colRatio * (c + 0.5) - 0.5;
    const floor = Math.max(0, Math.floor(sourceCol));
    colFrac[c] = sourceCol - floor;
    colLeft[c] = (box.left + floor) * channels;
    colRight[c] = (box.left + Math.min(box.width - 1, Math.ceil(sourceCol))) * channels;
  }
  const rowStride = sourceWidth * channels;
  let o = 0;
  for (let r = 0; r < outHeight; r++) {
    const sourceRow = rowRatio * (r + 0.5) - 0.5;
    const floor = Math.max(0, Math.floor(sourceRow));
    const rowFrac = sourceRow - floor;
    const topOffset = (box.top + floor) * rowStride;
    const bottomOffset = (box.top + Math.min(box.height - 1, Math.ceil(sourceRow))) * rowStride;
    for (let c = 0; c < outWidth; c++) {
      const fraction = colFrac[c];
      for (let d = 0; d < channels; d++) {
        const topLeft = source[topOffset + colLeft[c] + d];
        const topRight = source[topOffset + colRight[c] + d];
        const bottomLeft = source[bottomOffset + colLeft[c] + d];
        const bottomRight = source[bottomOffset + colRight[c] + d];
        const top = topLeft + (topRight - topLeft) * fraction;
        const bottom = bottomLeft + (bottomRight - bottomLeft) * fraction;
        out[o++] = top + (bottom - top) * rowFrac;
      }
    }
  }
  return out;
}

/** Rounds float pixel values to bytes as tf.round does (half to even), clamped to 0..255. */
export function roundPixels(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const floor = Math.floor(v);
    const rest = v - floor;
    const rounded = rest < 0.5 ? floor : rest > 0.5 ? floor + 1 : floor % 2 === 0 ? floor : floor + 1;
    out[i] = rounded < 0 ? 0 : rounded > 255 ? 255 : rounded;
  }
  return out;
}
