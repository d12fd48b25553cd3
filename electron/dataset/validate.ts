import sharp from 'sharp';
import { FAIL_ON, MAX_PIXELS, checkImageHeader, describeDecodeFailure, uprightOnWhite } from '../imaging/image-policy';
import type { HeaderCheck } from '../imaging/image-policy';

// The format and size policy and the pixel rule live in image-policy.ts (predict and training use them too).

/** Longest side of the cached thumbnails: the grid shows ~120 px; 192 leaves room for high-DPI screens and lets
 * JPEG shrink-on-load decode typical 500 px photos at half size (measured ~1.3x faster than 256 here). */
export const THUMB_SIZE = 192;

export interface ImageFacts {
  format: string;
  /** Displayed size, after EXIF orientation. */
  width: number;
  height: number;
  colorSpace: string;
  channels: number;
  hasAlpha: boolean;
  /** EXIF orientation tag (1-8), 1 when absent. */
  orientation: number;
  bitDepth: string | null;
}

export type ProbeResult = { ok: true; facts: ImageFacts } | { ok: false; reason: string };

/**
 * Validates an image by decoding it (bounded by MAX_PIXELS) and reads its facts: format, size after EXIF orientation,
 * colour space, channels. Never throws for a bad file: every failure becomes a reason.
 */
export async function probeImage(bytes: Buffer): Promise<ProbeResult> {
  const first = await probeOnce(bytes);
  if (first.ok) return first;
  // libvips keeps one error buffer per process: when several decodes fail at once, messages can mix or read
  // "Unknown error". Failures are rare, so redo them one at a time to give each file its own precise reason.
  const retry = (serial = serial.then(() => probeOnce(bytes)));
  return retry;
}

let serial: Promise<ProbeResult> = Promise.resolve({ ok: false, reason: '' });

async function probeOnce(bytes: Buffer): Promise<ProbeResult> {
  const header = await checkImageHeader(bytes);
  if (!header.ok) return header;
  const { width, height } = header;
  try {
    // The validating decode reads every byte of image data (for JPEG every entropy-coded block: that is what fails on
    // damage or truncation) but asks for 1/8 of the size, so JPEG's DCT scaling skips most of the pixel work.
    await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: MAX_PIXELS })
      .resize(Math.max(1, Math.ceil(width / 8)), Math.max(1, Math.ceil(height / 8)), { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer();
  } catch (error) {
    return { ok: false, reason: describeDecodeFailure((error as Error).message, bytes) };
  }
  return { ok: true, facts: factsOf(header) };
}

function factsOf(header: Extract<HeaderCheck, { ok: true }>): ImageFacts {
  const { format, width, height, metadata } = header;
  const orientation = metadata.orientation ?? 1;
  const swapped = orientation >= 5 && orientation <= 8;
  return {
    format,
    width: swapped ? height : width,
    height: swapped ? width : height,
    colorSpace: metadata.space ?? 'unknown',
    channels: metadata.channels ?? 0,
    hasAlpha: metadata.hasAlpha ?? false,
    orientation,
    bitDepth: metadata.depth ?? null,
  };
}

/**
 * probeImage and the thumbnail from one decode. Making the thumbnail decodes every byte of image data under the same
 * failOn and pixel limit as the validating decode, so it validates too: an import that makes thumbnails pays for one
 * decode, not two (measured on 400x300 photos: 1/8-scale probe 5.4 ms CPU, thumbnail 9.7 ms, both 15.6 ms). When the
 * thumbnail cannot be made, the validating decode decides, so the accept/reject rule and its words stay probeImage's.
 */
export async function probeWithThumbnail(bytes: Buffer): Promise<{ probe: ProbeResult; thumbnail: Buffer | null }> {
  const header = await checkImageHeader(bytes);
  // A failure gets probeImage's serial retry, so its reason is this file's own, not a message mixed under concurrency.
  if (!header.ok) return { probe: await probeImage(bytes), thumbnail: null };
  try {
    const thumbnail = await makeThumbnail(bytes);
    return { probe: { ok: true, facts: factsOf(header) }, thumbnail };
  } catch {
    return { probe: await probeImage(bytes), thumbnail: null };
  }
}

/** The cached thumbnail: the pixel rule of image-policy.ts (upright, alpha flattened on white, sRGB), as a JPEG. */
export async function makeThumbnail(bytes: Buffer): Promise<Buffer> {
  return uprightOnWhite(bytes)
    .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
}
