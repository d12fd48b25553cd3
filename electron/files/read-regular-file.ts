import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { AppError } from '../../shared/errors';

/** Words for what a path is, for messages such as "not a regular file (a named pipe)". */
export function fileKind(info: Stats): string {
  if (info.isFile()) return 'a regular file';
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'not a file';
}

export interface ReadRegularFileOptions {
  /** Refuse files larger than this before reading a byte of them. */
  maxBytes?: number;
  /**
   * Refuse (ELOOP) a path whose last component is a symbolic link: for files a scan saw as regular, so a file swapped
   * for a link afterwards is not followed to wherever it now points.
   */
  noFollow?: boolean;
}

/**
 * Reads a whole file, but only if it is a regular file, checked on the open handle (so a file swapped for a FIFO or a
 * device after a scan is still refused). O_NONBLOCK makes opening a FIFO return at once: a plain open would park a
 * libuv thread until some writer appears, and four such reads freeze every file operation of the process.
 * Throws AppError('unsupported') for non-regular files and oversized ones, AppError('failed') when the file shrinks
 * while it is read; other fs errors (ENOENT, EACCES) pass through with their code.
 */
export async function readRegularFile(path: string, options: ReadRegularFileOptions = {}): Promise<Buffer> {
  const noFollow = options.noFollow ? (constants.O_NOFOLLOW ?? 0) : 0;
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | noFollow);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new AppError('unsupported', `not a regular file (${fileKind(info)})`);
    if (options.maxBytes !== undefined && info.size > options.maxBytes) {
      throw new AppError(
        'unsupported',
        `too large (${(info.size / 1024 ** 2).toFixed(0)} MB; the limit is ${(options.maxBytes / 1024 ** 2).toFixed(0)} MB)`,
      );
    }
    // Not zero-filled: every byte is overwritten by the read below, or the buffer is never returned.
    const buffer = Buffer.allocUnsafe(info.size);
    let offset = 0;
    while (offset < info.size) {
      // At most 1 GiB a call: a single read of 2 GiB or more aborts the process inside fs.read.
      const { bytesRead } = await handle.read(buffer, offset, Math.min(info.size - offset, 2 ** 30), offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    if (offset !== info.size) throw new AppError('failed', 'the file changed while it was read (it became shorter)');
    return buffer;
  } finally {
    await handle.close();
  }
}

/**
 * Reads at most the first `bytes` bytes of a regular file (fewer if it is shorter), with readRegularFile's checks: for
 * sniffing a signature without reading a file of any size whole.
 */
export async function readFileHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new AppError('unsupported', `not a regular file (${fileKind(info)})`);
    const buffer = Buffer.alloc(Math.min(bytes, info.size));
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return buffer.subarray(0, offset);
  } finally {
    await handle.close();
  }
}
