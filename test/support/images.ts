// Deterministic test images made with sharp: same arguments, same bytes (no timestamps, no randomness).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';

export interface ImageSpec {
  width?: number;
  height?: number;
  /** '#rrggbb'; a small diagonal stripe in `accent` makes distinct images from one base colour. */
  color?: string;
  accent?: string;
  /** Varies the stripe position so images of the same colour differ (and hash differently). */
  variant?: number;
  format?: 'jpeg' | 'png' | 'webp';
  alpha?: boolean;
}

function hexToRgb(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.replace('#', ''), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/** Raw RGB(A) pixels: a flat colour with a stripe whose offset depends on `variant`. */
export function pixels(spec: ImageSpec = {}): { data: Buffer; width: number; height: number; channels: 3 | 4 } {
  const width = spec.width ?? 64;
  const height = spec.height ?? 48;
  const channels = spec.alpha ? 4 : 3;
  const base = hexToRgb(spec.color ?? '#cc5533');
  const accent = hexToRgb(spec.accent ?? '#ffffff');
  const variant = spec.variant ?? 0;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const onStripe = Math.abs(((x + y + variant * 7) % Math.max(8, width)) - 4) < 3;
      const rgb = onStripe ? accent : base;
      const offset = (y * width + x) * channels;
      data[offset] = rgb[0];
      data[offset + 1] = rgb[1];
      data[offset + 2] = rgb[2];
      if (channels === 4) data[offset + 3] = x < width / 2 ? 255 : 96;
    }
  }
  return { data, width, height, channels };
}

export async function makeImage(spec: ImageSpec = {}): Promise<Buffer> {
  const raw = pixels(spec);
  const image = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
  switch (spec.format ?? 'jpeg') {
    case 'png':
      return image.png().toBuffer();
    case 'webp':
      return image.webp({ quality: 90 }).toBuffer();
    default:
      return image.jpeg({ quality: 90 }).toBuffer();
  }
}

export async function writeImage(path: string, spec: ImageSpec = {}): Promise<Buffer> {
  const bytes = await makeImage(spec);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return bytes;
}

/** root/<class>/<class>-<n>.jpg for each class: a small labelled folder dataset. */
export async function writeClassFolders(root: string, classes: Record<string, { count: number; color: string }>, spec: Omit<ImageSpec, 'color' | 'variant'> = {}): Promise<void> {
  for (const [name, { count, color }] of Object.entries(classes)) {
    for (let i = 0; i < count; i++) {
      await writeImage(`${root}/${name}/${name}-${String(i).padStart(3, '0')}.${spec.format === 'png' ? 'png' : 'jpg'}`, { ...spec, color, variant: i });
    }
  }
}

/**
 * root/<class>/<class>-<n>.jpg like writeClassFolders, for tests that need many files rather than many pictures (an
 * import long enough to time): one JPEG is encoded per class and each file is that JPEG with its index in a comment
 * segment, so every file decodes to the class's picture yet has its own bytes and content hash. For 2,000 photos of
 * 320x240: 0.9 s of CPU instead of writeClassFolders' 7.8 s.
 */
export async function writeDistinctCopies(root: string, classes: Record<string, { count: number; color: string }>, spec: Omit<ImageSpec, 'color' | 'variant' | 'format'> = {}): Promise<void> {
  for (const [name, { count, color }] of Object.entries(classes)) {
    const jpeg = await makeImage({ ...spec, color, format: 'jpeg' });
    mkdirSync(`${root}/${name}`, { recursive: true });
    for (let i = 0; i < count; i++) {
      const text = Buffer.from(`${name} ${i}`, 'latin1');
      const comment = Buffer.alloc(4 + text.length);
      comment.writeUInt16BE(0xfffe, 0); // COM marker, then the segment length (which counts itself, not the marker)
      comment.writeUInt16BE(2 + text.length, 2);
      text.copy(comment, 4);
      writeFileSync(`${root}/${name}/${name}-${String(i).padStart(3, '0')}.jpg`, Buffer.concat([jpeg.subarray(0, 2), comment, jpeg.subarray(2)]));
    }
  }
}

/** A PNG whose IHDR claims width x height but holds no pixel data: a "decompression bomb" header. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter
  ihdr[12] = 0; // interlace
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([head, typed, crc]);
  };
  // A tiny (valid) zlib stream, far too short for the declared size.
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** PNG's chunk checksum. */
export function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
