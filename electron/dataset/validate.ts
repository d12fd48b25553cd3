import sharp from 'sharp';
import type { Metadata } from 'sharp';

/**
 * Largest image accepted, in pixels (120 MP covers medium-format cameras). Checked from the header before decoding,
 * and given to sharp as limitInputPixels so a lying header cannot make libvips allocate gigabytes either.
 */
export const MAX_PIXELS = 120_000_000;
/** Longest side of the cached thumbnails: the grid shows ~120 px; 192 leaves room for high-DPI screens and lets
 * JPEG shrink-on-load decode typical 500 px photos at half size (measured ~1.3x faster than 256 here). */
export const THUMB_SIZE = 192;

/**
 * failOn 'error': reject files libvips cannot decode completely (truncated data, broken headers, decoder errors), but
 * accept files that only raise warnings. Warnings are common in healthy photos ("extraneous bytes before marker",
 * "known incorrect sRGB profile" in PNGs from older editors); 'warning' (sharp's default) would reject those.
 */
export const FAIL_ON = 'error' as const;

const ACCEPTED = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif']);

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

function describeFailure(message: string, bytes: Buffer): string {
  const first = message.split('\n')[0]!.trim();
  if (/exceeds pixel limit/i.test(message)) return `image too large (over ${MAX_PIXELS / 1e6} megapixels)`;
  if (/premature end|truncated|unexpected end|not enough data|Read error/i.test(message) || looksTruncated(bytes)) {
    return 'truncated file: the image data ends early';
  }
  return /^unknown error$|^$/i.test(first) ? 'corrupt image: the data cannot be decoded' : `corrupt image: ${first}`;
}

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
  if (bytes.length === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  const sniffed = sniffFormat(bytes);
  if (sniffed !== null && sniffed !== 'AVIF' && !sniffed.startsWith('ISO media')) {
    // HEIC needs a patent-encumbered decoder that the prebuilt libvips leaves out; name the format instead of a decode error.
    return { ok: false, reason: `unsupported format (${sniffed}): convert it to JPEG or PNG` };
  }
  let metadata: Metadata;
  try {
    // Header only (nothing is decoded), so no pixel limit here: the size check below gives the precise reason.
    metadata = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (error) {
    const message = (error as Error).message;
    if (/unsupported image format/i.test(message)) {
      return sniffed
        ? { ok: false, reason: `unsupported format (${sniffed}): convert it to JPEG or PNG` }
        : { ok: false, reason: 'not an image: the content is not a format Pawprint can read (JPEG, PNG, WebP, GIF, AVIF, TIFF)' };
    }
    return { ok: false, reason: describeFailure(message, bytes) };
  }
  const format = formatName(metadata);
  if (!ACCEPTED.has(format)) {
    return { ok: false, reason: `unsupported format (${format.toUpperCase()}): Pawprint reads JPEG, PNG, WebP, GIF, AVIF and TIFF` };
  }
  const width = metadata.width ?? 0;
  const height = metadata.height ?? 0;
  if (width <= 0 || height <= 0) return { ok: false, reason: 'corrupt image: no dimensions in the header' };
  if (width * height > MAX_PIXELS) {
    return { ok: false, reason: `image too large: ${width}x${height} pixels (limit ${MAX_PIXELS / 1e6} megapixels)` };
  }
  const orientation = metadata.orientation ?? 1;
  try {
    // The validating decode reads every byte of image data (for JPEG every entropy-coded block: that is what fails on
    // damage or truncation) but asks for 1/8 of the size, so JPEG's DCT scaling skips most of the pixel work.
    await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: MAX_PIXELS })
      .resize(Math.max(1, Math.ceil(width / 8)), Math.max(1, Math.ceil(height / 8)), { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer();
  } catch (error) {
    return { ok: false, reason: describeFailure((error as Error).message, bytes) };
  }
  const swapped = orientation >= 5 && orientation <= 8;
  return {
    ok: true,
    facts: {
      format,
      width: swapped ? height : width,
      height: swapped ? width : height,
      colorSpace: metadata.space ?? 'unknown',
      channels: metadata.channels ?? 0,
      hasAlpha: metadata.hasAlpha ?? false,
      orientation,
      bitDepth: metadata.depth ?? null,
    },
  };
}

/** The cached thumbnail: upright (EXIF orientation applied), sRGB, alpha flattened on white, JPEG. */
export async function makeThumbnail(bytes: Buffer): Promise<Buffer> {
  // flatten() only acts when there is an alpha channel, so no metadata round trip is needed to decide.
  return sharp(bytes, { failOn: FAIL_ON, limitInputPixels: MAX_PIXELS })
    .rotate()
    .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .jpeg({ quality: 80 })
    .toBuffer();
}
