// What Pawprint accepts as an image and how it turns one into pixels, in one place: import (validate.ts), the
// thumbnail, training's decode (data-pipeline.ts), prediction and evaluation (inference/predict.ts) all use these, so an
// image is either refused everywhere with the same reason or read everywhere as the same pixels.
import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import { AppError } from '../../shared/errors';
import { centreCropBox, resizeBilinear, roundPixels } from './resize-recipe';

/**
 * Largest image accepted, in pixels (120 MP covers medium-format cameras). Checked from the header before decoding,
 * and given to sharp as limitInputPixels so a lying header cannot make libvips allocate gigabytes either.
 */
export const MAX_PIXELS = 120_000_000;

/** Larger files are refused unread: far above any photo. */
export const MAX_IMAGE_FILE_BYTES = 256 * 1024 ** 2;

/**
 * failOn 'error': reject files libvips cannot decode completely (truncated data, broken headers, decoder errors), but
 * accept files that only raise warnings. Warnings are common in healthy photos ("extraneous bytes before marker",
 * "known incorrect sRGB profile" in PNGs from older editors); 'warning' (sharp's default) would reject those.
 */
export const FAIL_ON = 'error' as const;

/** The formats Pawprint reads, as sharp names them (AVIF after formatName). */
export const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif']);

/**
 * File names a folder scan (predict, evaluation on a folder) picks up as image candidates. Wider than the accepted
 * formats on purpose: a .heic or .bmp among the photos is reported with the reason it is refused, not skipped silently.
 */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp']);

export { PIXEL_RULE_VERSION, PIXEL_ROUNDING, RESIZE_RECIPE } from './resize-recipe';

/** Names formats from their first bytes, for a precise "unsupported format" reason when sharp cannot say. */
export function sniffFormat(bytes: Buffer): string | null {
  if (bytes.length >= 12 && bytes.toString('latin1', 4, 8) === 'ftyp') {
    const brand = bytes.toString('latin1', 8, 12);
    if (/^(heic|heix|hevc|hevx|heim|heis|mif1|msf1)$/.test(brand)) return 'HEIC';
    if (/^avi[fs]$/.test(brand)) return 'AVIF';
    return `ISO media (${brand.trim()})`;
  }
  if (bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d && bytes.readUInt32LE(2) === bytes.length) return 'BMP';
  if (bytes.length >= 4 && bytes.toString('latin1', 0, 4) === '8BPS') return 'PSD';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x00000100) return 'ICO';
  if (bytes.length >= 5 && bytes.toString('latin1', 0, 5) === '%PDF-') return 'PDF';
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0x0a) return 'JPEG XL';
  if (bytes.length >= 12 && bytes.subarray(0, 12).equals(Buffer.from([0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]))) return 'JPEG XL';
  return null;
}

function formatName(metadata: Metadata): string {
  if (metadata.format === 'heif') return metadata.compression === 'av1' ? 'avif' : 'heic';
  return metadata.format ?? 'unknown';
}

/**
 * Whether the file stops before its format's end marker. Used only after a decode failed, to name the cause without
 * relying on libvips' message text, which concurrent failures can garble ("Unknown error").
 */
export function looksTruncated(bytes: Buffer): boolean {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let end = bytes.length;
    while (end > 2 && bytes[end - 1] === 0x00) end--;
    return !(bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9);
  }
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) return !bytes.subarray(Math.max(0, bytes.length - 12)).includes('IEND');
  if (bytes.length >= 6 && bytes.toString('latin1', 0, 3) === 'GIF') return bytes[bytes.length - 1] !== 0x3b;
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return bytes.readUInt32LE(4) + 8 > bytes.length;
  return false;
}

/** The reason for a failed decode, from libvips' message and the bytes. */
export function describeDecodeFailure(message: string, bytes: Buffer): string {
  const first = message.split('\n')[0]!.trim();
  if (/exceeds pixel limit/i.test(message)) return `image too large (over ${MAX_PIXELS / 1e6} megapixels)`;
  if (/premature end|truncated|unexpected end|not enough data|Read error/i.test(message) || looksTruncated(bytes)) {
    return 'truncated file: the image data ends early';
  }
  return /^unknown error$|^$/i.test(first) ? 'corrupt image: the data cannot be decoded' : `corrupt image: ${first}`;
}

export type HeaderCheck =
  | { ok: true; format: string; width: number; height: number; metadata: Metadata }
  | { ok: false; reason: string };

/**
 * The accepted-format decision, from the header only (nothing is decoded): empty files, formats Pawprint does not
 * read (HEIC, PDF, SVG, text...), headers without dimensions and images over MAX_PIXELS are refused with a reason.
 * width and height are as stored, before EXIF orientation.
 */
export async function checkImageHeader(bytes: Buffer): Promise<HeaderCheck> {
  if (bytes.length === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  const sniffed = sniffFormat(bytes);
  if (sniffed !== null && sniffed !== 'AVIF' && !sniffed.startsWith('ISO media')) {
    // HEIC needs a patent-encumbered decoder that the prebuilt libvips leaves out; name the format instead of a decode error.
    return { ok: false, reason: `unsupported format (${sniffed}): convert it to JPEG or PNG` };
  }
  let metadata: Metadata;
  try {
    // Header only, so no pixel limit here: the size check below gives the precise reason.
    metadata = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (error) {
    const message = (error as Error).message;
    if (/unsupported image format/i.test(message)) {
      return sniffed
        ? { ok: false, reason: `unsupported format (${sniffed}): convert it to JPEG or PNG` }
        : { ok: false, reason: 'not an image: the content is not a format Pawprint can read (JPEG, PNG, WebP, GIF, AVIF, TIFF)' };
    }
    return { ok: false, reason: describeDecodeFailure(message, bytes) };
  }
  const format = formatName(metadata);
  if (!ACCEPTED_FORMATS.has(format)) {
    return { ok: false, reason: `unsupported format (${format.toUpperCase()}): Pawprint reads JPEG, PNG, WebP, GIF, AVIF and TIFF` };
  }
  const width = metadata.width ?? 0;
  const height = metadata.height ?? 0;
  if (width <= 0 || height <= 0) return { ok: false, reason: 'corrupt image: no dimensions in the header' };
  if (width * height > MAX_PIXELS) {
    return { ok: false, reason: `image too large: ${width}x${height} pixels (limit ${MAX_PIXELS / 1e6} megapixels)` };
  }
  return { ok: true, format, width, height, metadata };
}

/**
 * The one pixel rule: upright (EXIF orientation applied), transparency flattened on white (what most viewers show
 * and what the thumbnail shows, so the model trains and predicts on the pixels a person sees), sRGB. The thumbnail
 * adds sharp's resize (sharp flattens before resizing, so no premultiplied edges); pixels for a model are decoded
 * at full size and resized by the recipe (decodeRgb).
 */
export function uprightOnWhite(bytes: Buffer): Sharp {
  return sharp(bytes, { failOn: FAIL_ON, limitInputPixels: MAX_PIXELS })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb');
}

/** An upright RGB image at its stored size: height·width·3 bytes, HWC. */
export interface RgbImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/** Decodes by the pixel rule at full size (no resize: the resize is the recipe's, below). */
export async function decodeUprightRgb(bytes: Buffer): Promise<RgbImage> {
  const { data, info } = await uprightOnWhite(bytes)
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { height, width } = info;
  if (info.channels === 3) return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height, width };
  if (info.channels !== 1) throw new Error(`decoded ${info.channels} channels, expected 3`);
  const rgb = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = data[i];
  return { data: rgb, height, width };
}

/**
 * The recipe on an upright image: 'fill' stretches the whole image to height x width (training, Pawprint models),
 * 'cover' takes the centred region of the target's aspect ratio first (Teachable Machine models); then
 * resizeBilinear and roundPixels. Float values before rounding: resizeImageFloat.
 */
export function resizeImageFloat(image: RgbImage, height: number, width: number, fit: 'fill' | 'cover' = 'fill'): Float32Array {
  const box = fit === 'cover' ? centreCropBox(image.height, image.width, height, width) : undefined;
  return resizeBilinear(image.data, image.height, image.width, 3, height, width, box);
}

/**
 * Decodes to exactly height·width·3 RGB bytes by the pixel rule and the resize recipe (RESIZE_RECIPE, rounded as
 * PIXEL_ROUNDING says). Every path that feeds a model (training, evaluation, predict, Try it, export's reference
 * images) comes here, so they all see the same pixels.
 */
export async function decodeRgb(bytes: Buffer, height: number, width: number, fit: 'fill' | 'cover' = 'fill'): Promise<Uint8Array> {
  return roundPixels(resizeImageFloat(await decodeUprightRgb(bytes), height, width, fit));
}

/**
 * For images that did not come through import (predict, Try it, evaluation on a folder): refuses what import
 * refuses, with import's reason, then decodes by the pixel rule. Throws AppError('unsupported') with the reason.
 */
export async function decodeAcceptedRgb(bytes: Buffer, height: number, width: number, fit: 'fill' | 'cover' = 'fill'): Promise<Uint8Array> {
  const header = await checkImageHeader(bytes);
  if (!header.ok) throw new AppError('unsupported', header.reason);
  try {
    return await decodeRgb(bytes, height, width, fit);
  } catch (error) {
    throw new AppError('unsupported', describeDecodeFailure((error as Error).message, bytes));
  }
}
