import { createHash } from 'node:crypto';
import { readRegularFile } from '../files/read-regular-file';
import { MAX_IMAGE_FILE_BYTES } from '../imaging/image-policy';

/** The content hash the catalogue stores for an image file (and keys thumbnails by). */
export function contentHashOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bytes of an image file, but only while it is still a regular file holding exactly the content the catalogue
 * hashed; null otherwise (gone, unreadable, swapped for a FIFO or for other bytes). Callers use these same bytes, so
 * there is no gap between the check and the use.
 */
export async function readVerifiedImage(path: string, contentHash: string): Promise<Buffer | null> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, { maxBytes: MAX_IMAGE_FILE_BYTES });
  } catch {
    return null;
  }
  return contentHashOf(bytes) === contentHash ? bytes : null;
}
