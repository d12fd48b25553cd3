// Reading and writing the small zip archives that hold a model (model.json, weights, metadata.json, README.md).
// Archives are read fully into memory: models here are megabytes, and tfjs wants the weights as one buffer anyway.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import yauzl from 'yauzl';
import yazl from 'yazl';

/** Refuse archives that would expand beyond this (a zip bomb, or not a model at all). */
export const MAX_ARCHIVE_BYTES = 1024 ** 3;
const MAX_ENTRIES = 10_000;

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

/** Every file of a zip archive, by its path inside the archive ('/' separated). Folders are skipped. */
export async function readZipEntries(source: string | Buffer, label = typeof source === 'string' ? source : 'archive'): Promise<Map<string, Buffer>> {
  let zip: yauzl.ZipFile;
  try {
    zip = typeof source === 'string'
      ? await yauzl.openPromise(source, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true })
      : await yauzl.fromBufferPromise(source, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true });
  } catch (error) {
    throw new ArchiveError(`${label} is not a readable zip archive (${(error as Error).message}).`);
  }
  const files = new Map<string, Buffer>();
  let total = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        if (files.size >= MAX_ENTRIES) {
          reject(new ArchiveError(`${label} has more than ${MAX_ENTRIES} files; it is not a model archive.`));
          return;
        }
        if (entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        total += entry.uncompressedSize;
        if (total > MAX_ARCHIVE_BYTES) {
          reject(new ArchiveError(`${label} expands to more than ${MAX_ARCHIVE_BYTES / 1024 ** 2} MB; refusing to read it.`));
          return;
        }
        zip.openReadStream(entry, (error, stream) => {
          if (error) {
            reject(error);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    throw new ArchiveError(`${label} is a damaged zip archive (${(error as Error).message}).`);
  } finally {
    zip.close();
  }
  return files;
}

/**
 * Writes `files` (path inside the archive → bytes) as a zip at `out`. Written to a temporary name first and
 * renamed, so `out` never holds a half-written archive.
 */
export async function writeZip(out: string, files: ReadonlyMap<string, Buffer | string>): Promise<void> {
  const tmp = `${out}.${process.pid}.partial`;
  const zip = new yazl.ZipFile();
  // A fixed date keeps archives of the same content byte-identical.
  const mtime = new Date('2000-01-01T00:00:00Z');
  for (const [name, data] of files) zip.addBuffer(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, name, { mtime });
  zip.end();
  try {
    await new Promise<void>((resolve, reject) => {
      const output = createWriteStream(tmp);
      zip.outputStream.on('error', reject);
      output.on('error', reject);
      output.on('close', () => resolve());
      zip.outputStream.pipe(output);
    });
    await rename(tmp, out);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
