// The regression corpus of bad and odd inputs: every kind of file the audit tried, written into a folder laid out as
// a two-class dataset, each with the outcome the importer must give it. Deterministic (no randomness, no clock).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { crc32, makeImage, pixels, pngHeaderOnly } from './images';

export type Expected =
  | { status: 'ok'; check?: { width?: number; height?: number; channels?: number; colorSpace?: string; hasAlpha?: boolean } }
  | { status: 'rejected'; reason: RegExp }
  | { status: 'duplicate' }
  /** Hidden and system files, and folders: never catalogued. */
  | { status: 'absent' };

export interface CorpusEntry {
  /** Path under the corpus root with '/' separators, as the catalogue stores it. */
  relPath: string;
  /** What the input is, for the report table and failure messages. */
  what: string;
  expected: Expected;
}

export interface Corpus {
  root: string;
  entries: CorpusEntry[];
  /** Faults that need the import under way: run between the importer's scan and its reads (runImport's afterScan). */
  afterScan(): void;
}

const canMakeFifo = process.platform !== 'win32';

/** A noisy photo-sized JPEG: noisy so that cutting it short really truncates the entropy-coded data. */
async function noisyJpeg(width: number, height: number): Promise<Buffer> {
  const raw = pixels({ width, height });
  for (let i = 0; i < raw.data.length; i++) raw.data[i] = (i * 2654435761) >>> 24;
  return sharp(raw.data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
}

function rawImage(width: number, height: number, variant: number) {
  const raw = pixels({ width, height, variant, color: '#4477aa' });
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
}

/** A two-frame animated GIF: the importer must read its first frame, with the frame's size. */
async function animatedGif(): Promise<Buffer> {
  const frames = Buffer.concat([pixels({ width: 32, height: 24, color: '#22aa44' }).data, pixels({ width: 32, height: 24, color: '#aa2244' }).data]);
  return sharp(frames, { raw: { width: 32, height: 48, channels: 3, pageHeight: 24 } }).gif({ loop: 0, delay: [100, 100] }).toBuffer();
}

/**
 * Writes the corpus under `root` (root/cats, root/dogs, root/outside for link targets that are not part of the
 * dataset) and returns what each file must become. `outsideDir` must not be inside `root`.
 */
export async function writeBadInputCorpus(root: string, outsideDir: string): Promise<Corpus> {
  const entries: CorpusEntry[] = [];
  const put = (relPath: string, bytes: Buffer | string, what: string, expected: Expected) => {
    const path = join(root, relPath);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    entries.push({ relPath, what, expected });
  };
  const rejected = (reason: RegExp): Expected => ({ status: 'rejected', reason });
  mkdirSync(join(root, 'cats'), { recursive: true });
  mkdirSync(join(root, 'dogs'), { recursive: true });
  mkdirSync(outsideDir, { recursive: true });

  // Broken files.
  put('cats/zero-byte.jpg', Buffer.alloc(0), 'zero-byte file', rejected(/^empty file \(0 bytes\)/));
  const big = await noisyJpeg(400, 300);
  put('cats/truncated.jpg', big.subarray(0, Math.floor(big.length / 2)), 'truncated JPEG', rejected(/^truncated file/));
  const corrupt = Buffer.from(await makeImage({ width: 320, height: 240, variant: 3 }));
  for (let i = 20; i < 400; i++) corrupt[i] = (i * 37) & 0xff;
  put('cats/corrupt.jpg', corrupt, 'JPEG with its tables overwritten', rejected(/^(corrupt image|truncated file)/));
  put('cats/notes.jpg', 'these are not the pixels you are looking for\n', 'text named .jpg', rejected(/^not an image/));
  put('cats/bomb.png', pngHeaderOnly(50_000, 50_000), 'PNG header declaring 50000x50000 (decompression bomb)', rejected(/^image too large: 50000x50000/));
  put(
    'cats/phone.jpg',
    Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(64)]),
    'HEIC named .jpg',
    rejected(/^unsupported format \(HEIC\)/),
  );
  put(
    'cats/drawing.jpg',
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>\n',
    'SVG named .jpg',
    rejected(/^(unsupported format|not an image)/),
  );
  put('cats/video.jpg', Buffer.alloc(0), 'sparse 300 MB file named .jpg (a video)', rejected(/^too large for an image \(300 MB/));
  truncateSync(join(root, 'cats/video.jpg'), 300 * 1024 ** 2);

  // Odd but valid images.
  put('cats/cmyk.jpg', await rawImage(50, 30, 1).toColourspace('cmyk').jpeg().toBuffer(), 'CMYK JPEG', { status: 'ok', check: { colorSpace: 'cmyk' } });
  put('cats/deep.png', await rawImage(50, 30, 2).toColourspace('rgb16').png().toBuffer(), '16-bit PNG', { status: 'ok', check: { colorSpace: 'rgb16' } });
  put('cats/grey.png', await rawImage(50, 30, 3).toColourspace('b-w').png().toBuffer(), 'greyscale PNG', { status: 'ok', check: { channels: 1 } });
  put('cats/alpha.png', await makeImage({ format: 'png', alpha: true, width: 40, height: 40, variant: 4 }), 'PNG with transparency', { status: 'ok', check: { hasAlpha: true } });
  put('cats/rotated.jpg', await rawImage(60, 40, 5).jpeg().withMetadata({ orientation: 6 }).toBuffer(), 'JPEG with EXIF orientation 6', { status: 'ok', check: { width: 40, height: 60 } });
  put('cats/animated.gif', await animatedGif(), 'animated GIF', { status: 'ok', check: { width: 32, height: 24 } });
  put('dogs/chien été 🐕 (1).jpg', await makeImage({ color: '#117711', variant: 6 }), 'unicode and emoji name', { status: 'ok' });
  put('dogs/כלב שלום.jpg', await makeImage({ color: '#117722', variant: 7 }), 'right-to-left name', { status: 'ok' });
  put('dogs/evil\u202Egpj.png', await makeImage({ color: '#117733', variant: 8 }), 'name with a right-to-left override', { status: 'ok' });
  put('dogs/line\nbreak\u001b[31m.jpg', await makeImage({ color: '#117744', variant: 9 }), 'name with a newline and an escape code', { status: 'ok' });
  put('dogs/original.jpg', await makeImage({ color: '#0022aa', variant: 10 }), 'an image (sorts before its copy, so it stays the original)', { status: 'ok' });
  put('dogs/original_copy.jpg', await makeImage({ color: '#0022aa', variant: 10 }), 'exact copy of another image', { status: 'duplicate' });

  // Things that are not photos at all.
  put('dogs/.hidden.jpg', await makeImage({ variant: 11 }), 'hidden file', { status: 'absent' });
  put('Thumbs.db', 'system file', 'system file', { status: 'absent' });
  mkdirSync(join(root, 'dogs/folder.jpg'));
  entries.push({ relPath: 'dogs/folder.jpg', what: 'an empty folder named .jpg', expected: { status: 'absent' } });
  symlinkSync('..', join(root, 'dogs/loop'));
  entries.push({ relPath: 'dogs/loop', what: 'symbolic link loop', expected: rejected(/^symbolic link loop/) });
  writeFileSync(join(outsideDir, 'secret.jpg'), await makeImage({ variant: 12 }));
  symlinkSync(join(outsideDir, 'secret.jpg'), join(root, 'dogs/secret.jpg'));
  entries.push({ relPath: 'dogs/secret.jpg', what: 'symbolic link to a file outside the folder', expected: rejected(/outside the imported folder/) });
  symlinkSync(outsideDir, join(root, 'dogs/elsewhere'));
  entries.push({ relPath: 'dogs/elsewhere', what: 'symbolic link to a folder outside the folder', expected: rejected(/outside the imported folder/) });
  writeFileSync(join(root, 'dogs/inside-a-target.jpg'), await makeImage({ color: '#555500', variant: 13 }));
  entries.push({ relPath: 'dogs/inside-a-target.jpg', what: 'an image', expected: { status: 'ok' } });
  symlinkSync('inside-a-target.jpg', join(root, 'dogs/inside-b-link.jpg'));
  entries.push({ relPath: 'dogs/inside-b-link.jpg', what: 'symbolic link to an image inside the folder', expected: { status: 'duplicate' } });
  if (canMakeFifo) {
    execFileSync('mkfifo', [join(root, 'cats/pipe.jpg')]);
    entries.push({ relPath: 'cats/pipe.jpg', what: 'FIFO named .jpg', expected: rejected(/not a regular file \(a named pipe/) });
    symlinkSync('/dev/zero', join(root, 'cats/zero.jpg'));
    entries.push({ relPath: 'cats/zero.jpg', what: 'link to /dev/zero named .jpg', expected: rejected(/(not a regular file \(a character device\)|outside the imported folder)/) });
  }

  // Faults during the import: each file is fine at scan time and changes before it is read.
  put('dogs/vanishing.jpg', await makeImage({ color: '#aaaa00', variant: 14 }), 'file deleted during import', rejected(/^deleted during import/));
  put('dogs/changing.jpg', await makeImage({ color: '#00aaaa', variant: 15 }), 'file growing during import', rejected(/^changed during import/));
  if (canMakeFifo) {
    put('dogs/swapped.jpg', await makeImage({ color: '#aa00aa', variant: 16 }), 'file swapped for a FIFO during import', rejected(/(not a regular file \(a named pipe|changed during import)/));
  }
  put('dogs/swapped-for-link.jpg', await makeImage({ color: '#aa5500', variant: 17 }), 'file swapped for a link to a file outside the folder during import', rejected(/^changed during import/));
  symlinkSync('inside-a-target.jpg', join(root, 'dogs/retargeted.jpg'));
  entries.push({ relPath: 'dogs/retargeted.jpg', what: 'link inside the folder retargeted outside it during import', expected: rejected(/^changed during import/) });
  // An impostor outside the folder made to look unchanged: the same size and modification time as what was scanned.
  const impostorImage = await makeImage({ width: 8, height: 8, color: '#ff00ff' });
  // Whole seconds, so the copied time matches to the nanosecond.
  const scannedTime = new Date('2026-01-02T03:04:05Z');
  utimesSync(join(root, 'dogs/swapped-for-link.jpg'), scannedTime, scannedTime);
  utimesSync(join(root, 'dogs/inside-a-target.jpg'), scannedTime, scannedTime);
  const impostorOf = (scanned: string, name: string) => {
    const path = join(outsideDir, name);
    writeFileSync(path, Buffer.concat([impostorImage, Buffer.alloc(statSync(scanned).size - impostorImage.length)]));
    utimesSync(path, scannedTime, scannedTime);
    return path;
  };
  const afterScan = () => {
    const swapped = impostorOf(join(root, 'dogs/swapped-for-link.jpg'), 'impostor-1.jpg');
    const retargeted = impostorOf(join(root, 'dogs/inside-a-target.jpg'), 'impostor-2.jpg');
    execFileSync('rm', [join(root, 'dogs/swapped-for-link.jpg'), join(root, 'dogs/retargeted.jpg')]);
    symlinkSync(swapped, join(root, 'dogs/swapped-for-link.jpg'));
    symlinkSync(retargeted, join(root, 'dogs/retargeted.jpg'));
    execFileSync('rm', [join(root, 'dogs/vanishing.jpg')]);
    writeFileSync(join(root, 'dogs/changing.jpg'), Buffer.alloc(100), { flag: 'a' });
    if (canMakeFifo) {
      execFileSync('rm', [join(root, 'dogs/swapped.jpg')]);
      execFileSync('mkfifo', [join(root, 'dogs/swapped.jpg')]);
    }
  };
  return { root, entries, afterScan };
}

/** `count` distinct tiny PNGs in one folder (the "12,000 files in one folder" case), cheap to write and decode. */
export async function writeManyTinyFiles(dir: string, count: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const template = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } }).png().toBuffer();
  // Each copy differs in one tEXt chunk byte-string before IEND, so every file has its own content hash.
  const iend = template.length - 12;
  for (let i = 0; i < count; i++) {
    const text = Buffer.from(`n\0${i}`, 'latin1');
    const chunk = Buffer.alloc(12 + text.length);
    chunk.writeUInt32BE(text.length, 0);
    chunk.write('tEXt', 4, 'latin1');
    text.copy(chunk, 8);
    chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + text.length)), 8 + text.length);
    writeFileSync(join(dir, `img-${String(i).padStart(5, '0')}.png`), Buffer.concat([template.subarray(0, iend), chunk, template.subarray(iend)]));
  }
}
