// Files handed over by the UI (browser host or desktop) for "Try it": stored under <cache>/uploads/<id>/ and
// referred to by id, so no host needs to give the renderer access to paths. Old uploads are pruned.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { AppError } from '../../shared/errors';

export const MAX_FILES_PER_UPLOAD = 1000;
export const MAX_BYTES_PER_UPLOAD = 500 * 1024 * 1024;
const ID_PATTERN = /^u[0-9a-f]{16}$/;

/** A file name safe on every platform, keeping the extension (Teachable Machine's names must survive). */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  let clean = base.replace(/[\u0000-\u001f<>:"|?*]/g, '_').replace(/^\.+/, '_').trim();
  if (clean.length === 0) clean = 'file';
  if (clean.length > 120) clean = clean.slice(0, 120 - extname(clean).length) + extname(clean);
  return clean;
}

export class UploadStore {
  constructor(readonly root: string) {}

  dirOf(uploadId: string): string {
    if (!ID_PATTERN.test(uploadId)) throw new AppError('invalid-payload', `Not an upload id: ${uploadId}`);
    return join(this.root, uploadId);
  }

  /** Files of an upload, sorted by name; throws not-found when the upload is gone. */
  async files(uploadId: string): Promise<string[]> {
    try {
      return (await readdir(this.dirOf(uploadId))).filter((name) => !name.endsWith('.partial')).sort();
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('not-found', `Upload ${uploadId} no longer exists (uploads are kept for a day); upload the file again.`);
    }
  }

  async add(name: string, data: Buffer, uploadId?: string): Promise<{ uploadId: string; name: string; bytes: number; files: string[] }> {
    const id = uploadId ?? `u${randomBytes(8).toString('hex')}`;
    const dir = this.dirOf(id);
    let existing: string[] = [];
    if (uploadId) {
      existing = await this.files(uploadId);
      if (existing.length >= MAX_FILES_PER_UPLOAD) throw new AppError('conflict', `An upload holds at most ${MAX_FILES_PER_UPLOAD} files.`);
      const sizes = await Promise.all(existing.map(async (file) => (await stat(join(dir, file))).size));
      if (sizes.reduce((a, b) => a + b, 0) + data.length > MAX_BYTES_PER_UPLOAD) {
        throw new AppError('conflict', `An upload holds at most ${MAX_BYTES_PER_UPLOAD / 1024 / 1024} MB.`);
      }
    }
    await mkdir(dir, { recursive: true });
    let stored = safeFileName(name);
    const ext = extname(stored);
    for (let n = 2; existing.includes(stored); n++) stored = `${stored.slice(0, stored.length - ext.length).replace(/ \(\d+\)$/, '')} (${n})${ext}`;
    await writeFile(join(dir, stored), data);
    return { uploadId: id, name: stored, bytes: data.length, files: [...existing, stored].sort() };
  }

  async discard(uploadId: string): Promise<void> {
    await rm(this.dirOf(uploadId), { recursive: true, force: true });
  }

  /** Removes uploads older than maxAgeMs; errors are ignored (another process may be pruning too). */
  async prune(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    const entries = await readdir(this.root).catch(() => [] as string[]);
    for (const entry of entries) {
      if (!ID_PATTERN.test(entry)) continue;
      const info = await stat(join(this.root, entry)).catch(() => null);
      if (info && now - info.mtimeMs > maxAgeMs) {
        await rm(join(this.root, entry), { recursive: true, force: true }).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }
}

/** Decodes base64 strictly: Buffer.from silently skips invalid characters, which would corrupt a model. */
export function decodeBase64(data: string): Buffer {
  const body = data.replace(/^data:[^,]*;base64,/, '');
  if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new AppError('invalid-payload', 'The upload is not valid base64.');
  return Buffer.from(body, 'base64');
}
