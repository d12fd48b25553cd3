// Random image augmentation with Keras semantics, in plain TypeScript on uint8 HWC pixels. The same functions
// feed training batches and the Augment view's previews, so what the user sees is what the model sees.
//
// Semantics (Keras preprocessing layers, applied in the order of a Sequential: flip, rotation, zoom, brightness,
// contrast):
// - RandomFlip: each enabled axis flips with probability 0.5, independently.
// - RandomRotation(f): angle uniform in [-f·2π, f·2π] about the image centre ((w-1)/2, (h-1)/2).
// - RandomZoom(f): scale uniform in [1-f, 1+f] for both axes (>1 shows more of the image, i.e. zooms out).
// - Geometric transforms sample with bilinear interpolation and "reflect" fill, reproducing TensorFlow's
//   ImageProjectiveTransformV3 (d c b a | a b c d | d c b a). Rotation and zoom are composed into one affine
//   map and sampled once (Keras samples twice), so combined rotation+zoom is slightly sharper than Keras.
// - RandomBrightness(f): adds a delta uniform in [-f, f]·255, clips to 0..255.
// - RandomContrast(f): per image and channel, (x - mean)·c + mean with c uniform in [1-f, 1+f], clips to 0..255.
// Randomness: every image draws the same number of values in the same order whatever the settings, from a
// PRNG seeded by (run seed, epoch, image key). Variant k in a preview is exactly what training feeds at epoch k.
import { mixSeeds, mulberry32, type Rng } from '../../shared/random';
import type { AugmentationConfig } from '../../shared/training-config';

export interface AugmentParams {
  flipHorizontal: boolean;
  flipVertical: boolean;
  /** Radians, counter-clockwise as in Keras (positive factor range is symmetric anyway). */
  angle: number;
  /** Sampling scale (1 = none; > 1 zooms out). */
  zoom: number;
  /** Added to every pixel value, in 0..255 units. */
  brightnessDelta: number;
  /** Contrast multiplier (1 = none). */
  contrastFactor: number;
}

export const IDENTITY_PARAMS: AugmentParams = {
  flipHorizontal: false, flipVertical: false, angle: 0, zoom: 1, brightnessDelta: 0, contrastFactor: 1,
};

export function isIdentityConfig(aug: AugmentationConfig): boolean {
  return aug.flip === 'none' && aug.rotation === 0 && aug.zoom === 0 && aug.brightness === 0 && aug.contrast === 0;
}

/** The PRNG for one image in one epoch; previews use epoch = variant number. */
export function augmentRng(seed: number, epoch: number, imageKey: string): Rng {
  return mulberry32(mixSeeds(seed, 'augment', epoch, imageKey));
}

/** Draws one image's parameters: always six draws, so changing one option does not reshuffle the others. */
export function sampleAugmentParams(aug: AugmentationConfig, rng: Rng): AugmentParams {
  const r = [rng(), rng(), rng(), rng(), rng(), rng()];
  const twoPi = 2 * Math.PI;
  return {
    flipHorizontal: (aug.flip === 'horizontal' || aug.flip === 'both') && r[0] < 0.5,
    flipVertical: (aug.flip === 'vertical' || aug.flip === 'both') && r[1] < 0.5,
    angle: aug.rotation > 0 ? -aug.rotation * twoPi + r[2] * 2 * aug.rotation * twoPi : 0,
    zoom: aug.zoom > 0 ? 1 - aug.zoom + r[3] * 2 * aug.zoom : 1,
    brightnessDelta: aug.brightness > 0 ? (-aug.brightness + r[4] * 2 * aug.brightness) * 255 : 0,
    contrastFactor: aug.contrast > 0 ? 1 - aug.contrast + r[5] * 2 * aug.contrast : 1,
  };
}

/** TensorFlow's map_coordinate for REFLECT fill mode (continuous coordinate into [0, len-1]). */
export function reflectCoordinate(coord: number, len: number): number {
  let c = coord;
  if (c < 0) {
    if (len <= 1) c = 0;
    else {
      const sz2 = 2 * len;
      if (c < sz2) c = sz2 * Math.trunc(-c / sz2) + c;
      c = c < -len ? c + sz2 : -c - 1;
    }
  } else if (c > len - 1) {
    if (len <= 1) c = 0;
    else {
      const sz2 = 2 * len;
      c -= sz2 * Math.trunc(c / sz2);
      if (c >= len) c = sz2 - c - 1;
    }
  }
  return Math.min(Math.max(c, 0), len - 1);
}

/**
 * Augments one uint8 HWC image into `out` (float32, 0..255 scale) at `outOffset`. Pure and deterministic given
 * params. With identity geometry the pixels are copied exactly (no interpolation).
 */
export function augmentInto(
  src: Uint8Array, height: number, width: number, channels: number,
  params: AugmentParams, out: Float32Array, outOffset = 0,
): void {
  const size = height * width * channels;
  if (src.length !== size) throw new Error(`image has ${src.length} values, expected ${height}x${width}x${channels}`);
  if (params.angle === 0 && params.zoom === 1) {
    // Exact path: flips are index permutations.
    for (let y = 0; y < height; y++) {
      const sy = params.flipVertical ? height - 1 - y : y;
      for (let x = 0; x < width; x++) {
        const sx = params.flipHorizontal ? width - 1 - x : x;
        const s = (sy * width + sx) * channels;
        const o = outOffset + (y * width + x) * channels;
        for (let c = 0; c < channels; c++) out[o + c] = src[s + c];
      }
    }
  } else {
    sampleAffine(src, height, width, channels, params, out, outOffset);
  }
  photometric(out, outOffset, height * width, channels, params);
}

/** Bilinear sampling of the composed flip·rotation·zoom map, as TF's projective transform does it. */
function sampleAffine(
  src: Uint8Array, height: number, width: number, channels: number,
  params: AugmentParams, out: Float32Array, outOffset: number,
): void {
  const cos = Math.cos(params.angle);
  const sin = Math.sin(params.angle);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const z = params.zoom;
  // Keras' rotation transform maps output (x, y) to input (cos·x − sin·y + ox, sin·x + cos·y + oy) with the offsets
  // chosen so that the centre is fixed; zoom maps (x, y) to (z·(x − cx) + cx, z·(y − cy) + cy). Output of the zoom
  // layer samples the rotated image, which samples the (flipped) original: input = R(Z(p)).
  const a0 = cos * z, a1 = -sin * z;
  const b0 = sin * z, b1 = cos * z;
  for (let y = 0; y < height; y++) {
    const dy = y - cy;
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      let ix = a0 * dx + a1 * dy + cx;
      let iy = b0 * dx + b1 * dy + cy;
      // Flip happens before rotation in the pipeline, so it applies to the sampled coordinate last.
      ix = reflectCoordinate(ix, width);
      iy = reflectCoordinate(iy, height);
      if (params.flipHorizontal) ix = width - 1 - ix;
      if (params.flipVertical) iy = height - 1 - iy;
      const x0 = Math.floor(ix), y0 = Math.floor(iy);
      const x1 = Math.min(x0 + 1, width - 1), y1 = Math.min(y0 + 1, height - 1);
      const fx = ix - x0, fy = iy - y0;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const p00 = (y0 * width + x0) * channels, p01 = (y0 * width + x1) * channels;
      const p10 = (y1 * width + x0) * channels, p11 = (y1 * width + x1) * channels;
      const o = outOffset + (y * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        out[o + c] = w00 * src[p00 + c] + w01 * src[p01 + c] + w10 * src[p10 + c] + w11 * src[p11 + c];
      }
    }
  }
}

function photometric(out: Float32Array, offset: number, pixels: number, channels: number, params: AugmentParams): void {
  const delta = params.brightnessDelta;
  const factor = params.contrastFactor;
  if (delta === 0 && factor === 1) return;
  const end = offset + pixels * channels;
  if (delta !== 0) {
    for (let i = offset; i < end; i++) out[i] = Math.min(255, Math.max(0, out[i] + delta));
  }
  if (factor !== 1) {
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let i = offset + c; i < end; i += channels) sum += out[i];
      const mean = sum / pixels;
      for (let i = offset + c; i < end; i += channels) out[i] = Math.min(255, Math.max(0, (out[i] - mean) * factor + mean));
    }
  }
}

/** Convenience: augment one image with the parameters training would use for (seed, epoch, key). */
export function augmentImage(
  src: Uint8Array, height: number, width: number, channels: number,
  aug: AugmentationConfig, seed: number, epoch: number, imageKey: string,
): { pixels: Float32Array; params: AugmentParams } {
  const params = sampleAugmentParams(aug, augmentRng(seed, epoch, imageKey));
  const pixels = new Float32Array(height * width * channels);
  augmentInto(src, height, width, channels, params, pixels, 0);
  return { pixels, params };
}

/** Rounds float pixels back to uint8 for display (previews). */
export function toUint8(pixels: Float32Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(pixels[i])));
  return out;
}

/**
 * The Augment view's data: N variants of one image exactly as training epochs 0..N-1 would see them.
 */
export function augmentVariants(
  src: Uint8Array, height: number, width: number, channels: number,
  aug: AugmentationConfig, seed: number, imageKey: string, count: number,
): Array<{ pixels: Uint8Array; params: AugmentParams }> {
  const variants: Array<{ pixels: Uint8Array; params: AugmentParams }> = [];
  for (let k = 0; k < count; k++) {
    const { pixels, params } = augmentImage(src, height, width, channels, aug, seed, k, imageKey);
    variants.push({ pixels: toUint8(pixels), params });
  }
  return variants;
}
