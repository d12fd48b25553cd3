import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readVerifiedImage } from './content';
import { makeThumbnail } from './validate';

/** Thumbnails are keyed by content hash: identical files share one, and a renamed file keeps its thumbnail. */
export function thumbnailPath(directory: string, contentHash: string): string {
  return join(directory, contentHash.slice(0, 2), `${contentHash}.jpg`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes atomically (temp file + rename) so a crash never leaves half a thumbnail behind a valid name. A thumbnail
 * already there is replaced by the same bytes' thumbnail, so nothing is checked first, and the folder is made only when
 * the write finds it missing: an import stores one per file, and two calls a file were most of its file-system work.
 */
export async function storeThumbnail(directory: string, contentHash: string, bytes: Buffer): Promise<string> {
  const path = thumbnailPath(directory, contentHash);
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temporary, bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(join(directory, contentHash.slice(0, 2)), { recursive: true });
    await writeFile(temporary, bytes);
  }
  await rename(temporary, path);
  return path;
}

/**
 * The thumbnail of an image, made on first request and cached by content hash (imports only validate, so importing
 * stays close to raw decode speed and thumbnails are paid for only when shown); null when the file is unreadable,
 * not a regular file (a FIFO would block the read), or no longer holds the content the thumbnail would be cached under
 * (a swapped file must not poison the cache for every copy of the original).
 */
export async function ensureThumbnail(directory: string, contentHash: string, sourcePath: string): Promise<string | null> {
  const path = thumbnailPath(directory, contentHash);
  if (await exists(path)) return path;
  const bytes = await readVerifiedImage(sourcePath, contentHash);
  if (!bytes) return null;
  try {
    return await storeThumbnail(directory, contentHash, await makeThumbnail(bytes));
  } catch {
    return null;
  }
}
