import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { AppError } from '../../shared/errors';

export const TUTORIAL_URL = 'https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip';
export const TUTORIAL_BYTES = 68_606_236;
const MAX_EXTRACTED_BYTES = 4 * 1024 ** 3;
const MAX_ENTRIES = 200_000;
/** Said whenever a refused download is deleted, so the user knows trying again is enough. */
const FRESH_NEXT_TIME = 'it was deleted, so the next try downloads it afresh.';
/**
 * Errors of this machine rather than of the archive (disk full, no permission, too many open files): extraction
 * failing with one of them keeps a good 68 MB download for the next try.
 */
const LOCAL_ERROR_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'ENOMEM', 'EBUSY']);

export interface DownloadOptions {
  url: string;
  /** Final file; bytes arrive in `<destination>.part` first, which a later call resumes. */
  destination: string;
  expectedBytes?: number;
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | null) => void;
  attempts?: number;
  /** Pause before retry n is n times this (ms). */
  retryDelayMs?: number;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function unreachable(url: string, error: unknown): AppError {
  const host = new URL(url).host;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new AppError(
    'unavailable',
    `could not reach ${host} (${detail}): check the internet connection and try again, or download ${url} in a browser, unzip it and import the folder.`,
  );
}

/**
 * Downloads with resume: a dropped connection continues from the bytes already on disk with an HTTP Range request
 * (a server that ignores Range sends everything again and we start over cleanly). Only a complete file, of the
 * announced (and, when given, expected) size, is renamed to `destination`.
 */
export async function downloadFile(options: DownloadOptions): Promise<string> {
  const { url, destination, signal } = options;
  const part = `${destination}.part`;
  const attempts = options.attempts ?? 5;
  await mkdir(dirname(destination), { recursive: true });
  let total: number | null = options.expectedBytes ?? null;
  let reachedOnce = false;
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    signal?.throwIfAborted();
    if (attempt > 1) await new Promise((done) => setTimeout(done, (options.retryDelayMs ?? 500) * (attempt - 1)));
    let offset = await sizeOf(part);
    if (total !== null && offset === total) break;
    if (total !== null && offset > total) {
      await rm(part, { force: true });
      offset = 0;
    }
    let response: Response;
    try {
      response = await fetch(url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, signal, redirect: 'follow' });
    } catch (error) {
      signal?.throwIfAborted();
      lastError = error;
      if (!reachedOnce && attempt >= 2) throw unreachable(url, error);
      continue;
    }
    reachedOnce = true;
    if (response.status === 416) {
      // Our partial file does not fit what the server has now: start again from nothing.
      await response.body?.cancel();
      await rm(part, { force: true });
      lastError = new Error('the server refused to resume (HTTP 416)');
      continue;
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      lastError = new Error(`HTTP ${response.status}`);
      continue;
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.body?.cancel();
      throw new AppError('failed', `Downloading ${url} failed: the server answered HTTP ${response.status}.`);
    }
    let append = false;
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (range && Number(range[1]) === offset) {
        append = true;
        if (range[3] !== '*') total = Number(range[3]);
      } else {
        await response.body?.cancel();
        await rm(part, { force: true });
        lastError = new Error('the server resumed at the wrong offset');
        continue;
      }
    } else {
      offset = 0;
      const length = Number(response.headers.get('content-length'));
      if (Number.isFinite(length) && length > 0) total = length;
    }
    if (options.expectedBytes !== undefined && total !== null && total !== options.expectedBytes) {
      // Not the file we asked for: what was stored of it must not be resumed onto.
      await response.body?.cancel();
      await rm(part, { force: true });
      throw new AppError('failed', `Downloading ${url} failed: the server offers ${total} bytes, expected ${options.expectedBytes}; ${FRESH_NEXT_TIME}`);
    }
    if (!response.body) {
      lastError = new Error('empty response');
      continue;
    }
    let received = offset;
    options.onProgress?.(received, total);
    let lastReport = 0;
    // Each chunk is awaited onto disk before the next is read: when the connection drops, everything received so
    // far is in the .part file and the next attempt resumes from there (a stream pipeline would drop queued writes).
    const handle = await open(part, append ? 'a' : 'w');
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        await handle.write(chunk);
        received += chunk.length;
        const now = Date.now();
        if (now - lastReport > 200) {
          lastReport = now;
          options.onProgress?.(received, total);
        }
      }
    } catch (error) {
      signal?.throwIfAborted();
      lastError = error;
      continue;
    } finally {
      await handle.close();
    }
    options.onProgress?.(received, total);
    const size = await sizeOf(part);
    if (total === null || size === total) {
      await rename(part, destination);
      return destination;
    }
    lastError = new Error(`received ${size} of ${total} bytes`);
  }
  if (total !== null && (await sizeOf(part)) === total) {
    await rename(part, destination);
    return destination;
  }
  if (!reachedOnce) throw unreachable(url, lastError);
  throw new AppError('failed', `Downloading ${url} failed after ${attempts} attempts (${(lastError as Error)?.message ?? 'unknown error'}); try again to resume.`);
}

function openZip(path: string): Promise<ZipFile> {
  return new Promise((done, fail) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: true }, (error, zip) =>
      error ? fail(error) : done(zip),
    );
  });
}

/** A zip entry's path inside `target`, or null when it would land outside it (absolute, "..", drive letters). */
export function safeEntryPath(target: string, name: string): string | null {
  if (name.includes('\\') || name.includes('\0') || /^[a-zA-Z]:/.test(name) || name.startsWith('/')) return null;
  if (name.split('/').some((part) => part === '..')) return null;
  const root = resolve(target);
  const path = resolve(root, name);
  return path === root || path.startsWith(root + sep) ? path : null;
}

/**
 * Extracts into `<target>.partial`, then renames it to `target`: an archive with any entry that would escape the
 * folder (or a symbolic link entry) is refused as a whole and nothing of it is kept.
 */
export async function extractZip(
  zipPath: string,
  target: string,
  options: { signal?: AbortSignal; onProgress?: (entries: number, total: number) => void } = {},
): Promise<{ files: number }> {
  const staging = `${target}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  let zip: ZipFile;
  try {
    zip = await openZip(zipPath);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new AppError('failed', `The downloaded archive is damaged or not a zip (${(error as Error).message}).`);
  }
  let files = 0;
  let written = 0;
  let seen = 0;
  try {
    if (zip.entryCount > MAX_ENTRIES) throw new AppError('failed', `The archive has ${zip.entryCount} entries, more than the ${MAX_ENTRIES} allowed.`);
    await new Promise<void>((done, fail) => {
      zip.on('error', (error: Error) => fail(/invalid relative path|absolute path|invalid characters/.test(error.message)
        ? new AppError('failed', `Refused the archive: an entry would be written outside the target folder (${error.message}).`)
        : error));
      zip.on('end', () => done());
      zip.on('entry', (entry: Entry) => {
        void (async () => {
          options.signal?.throwIfAborted();
          seen++;
          const path = safeEntryPath(staging, entry.fileName);
          if (path === null) throw new AppError('failed', `Refused the archive: entry "${entry.fileName}" would be written outside the target folder.`);
          const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
          if (mode === 0o120000) throw new AppError('failed', `Refused the archive: entry "${entry.fileName}" is a symbolic link.`);
          if (entry.fileName.endsWith('/')) {
            await mkdir(path, { recursive: true });
          } else {
            written += entry.uncompressedSize;
            if (written > MAX_EXTRACTED_BYTES) throw new AppError('failed', 'Refused the archive: it expands to more than 4 GB.');
            await mkdir(dirname(path), { recursive: true });
            const stream = await new Promise<NodeJS.ReadableStream>((ok, ko) => zip.openReadStream(entry, (error, s) => (error ? ko(error) : ok(s))));
            await pipeline(stream, createWriteStream(path, { flags: 'wx' }));
            files++;
          }
          options.onProgress?.(seen, zip.entryCount);
          zip.readEntry();
        })().catch((error: unknown) => {
          zip.close();
          fail(error);
        });
      });
      zip.readEntry();
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await rm(target, { recursive: true, force: true });
  await rename(staging, target);
  return { files };
}

/**
 * The tutorial dataset: download (resumable), extract safely, and answer the folder to import. A finished
 * extraction is remembered by a hidden marker, so a second call skips straight to the import.
 */
export async function downloadTutorial(options: {
  url: string;
  directory: string;
  /** The archive's size in bytes (default: the real tutorial's, for its URL). */
  expectedBytes?: number;
  signal?: AbortSignal;
  onProgress?: (phase: 'download' | 'extract', received: number, total: number | null) => void;
}): Promise<string> {
  const target = join(options.directory, 'tutorial');
  const marker = join(target, '.pawprint-extracted');
  // The zip holds one top folder; import that, not the wrapper.
  const root = () => (existsSync(join(target, 'cats_and_dogs_filtered')) ? join(target, 'cats_and_dogs_filtered') : target);
  if (existsSync(marker)) return root();
  const zipPath = join(options.directory, 'cats_and_dogs_filtered.zip');
  const expectedBytes = options.expectedBytes ?? (options.url === TUTORIAL_URL ? TUTORIAL_BYTES : undefined);
  // An archive left by an older version that kept refused downloads: only one of the right size is worth extracting.
  if (existsSync(zipPath) && expectedBytes !== undefined && (await sizeOf(zipPath)) !== expectedBytes) await rm(zipPath, { force: true });
  if (!existsSync(zipPath)) {
    await downloadFile({
      url: options.url,
      destination: zipPath,
      expectedBytes,
      signal: options.signal,
      onProgress: (received, total) => options.onProgress?.('download', received, total),
    });
  }
  try {
    await extractZip(zipPath, target, { signal: options.signal, onProgress: (entries, total) => options.onProgress?.('extract', entries, total) });
  } catch (error) {
    // A cancelled extraction or a full disk says nothing against the archive; anything else does (not a zip,
    // truncated, an entry that would escape, too large): keeping it would fail the same way on every try.
    const code = (error as NodeJS.ErrnoException).code;
    if (options.signal?.aborted || (code !== undefined && LOCAL_ERROR_CODES.has(code))) throw error;
    await rm(zipPath, { force: true });
    const message = (error as Error).message.replace(/\.?$/, '');
    throw new AppError('failed', `${message}; ${FRESH_NEXT_TIME}`);
  }
  await writeFile(marker, new Date().toISOString());
  await rm(zipPath, { force: true });
  return root();
}
