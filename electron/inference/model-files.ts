// The files of a model, wherever they live: a folder, a zip archive read into memory, or a model.json's folder.
// tf-free: reading metadata (model-format.ts) and inspecting a package need no TensorFlow.js.
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, posix } from 'node:path';
import { AppError } from '../../shared/errors';
import { fileKind, readFileHead, readRegularFile } from '../files/read-regular-file';
import { readZipEntries, ArchiveError } from '../files/zip';

export interface ModelFiles {
  label: string;
  names: string[];
  /** The file's size without reading it, or null when there is no such file. */
  size(name: string): Promise<number | null>;
  /** The file's bytes, or null when there is no such file; AppError('unsupported') when it is over `maxBytes`. */
  read(name: string, maxBytes: number): Promise<Buffer | null>;
}

/** The most a model.json (or a JSON file beside it) may hold: real ones are kilobytes, a large one a few MB. */
export const MAX_JSON_BYTES = 32 * 1024 ** 2;

async function folderFiles(dir: string): Promise<ModelFiles> {
  const entries = await readdir(dir, { withFileTypes: true });
  let names = entries.filter((e) => e.isFile()).map((e) => e.name);
  // An unpacked archive often has one extra level (my-model/model.json).
  if (!names.includes('model.json')) {
    const sub = entries.filter((e) => e.isDirectory());
    for (const candidate of sub) {
      const inner = await readdir(join(dir, candidate.name)).catch(() => [] as string[]);
      if (inner.includes('model.json')) return folderFiles(join(dir, candidate.name));
    }
  }
  names = names.sort();
  return {
    label: dir,
    names,
    size: async (name) => (names.includes(name) ? (await stat(join(dir, name)).catch(() => null))?.size ?? null : null),
    read: async (name, maxBytes) => (names.includes(name) ? readRegularFile(join(dir, name), { maxBytes }) : null),
  };
}

async function zipFiles(path: string): Promise<ModelFiles> {
  let entries: Map<string, Buffer>;
  try {
    entries = await readZipEntries(path, basename(path));
  } catch (error) {
    if (error instanceof ArchiveError) throw new AppError('invalid-payload', error.message);
    throw error;
  }
  const modelJsons = [...entries.keys()]
    .filter((name) => posix.basename(name) === 'model.json' && !name.startsWith('__MACOSX/'))
    .sort((a, b) => a.split('/').length - b.split('/').length);
  if (modelJsons.length === 0) {
    throw new AppError('invalid-payload', `${basename(path)} holds no model.json: it is not a TF.js model export (found: ${[...entries.keys()].slice(0, 8).join(', ') || 'nothing'}).`);
  }
  const prefix = posix.dirname(modelJsons[0]!) === '.' ? '' : `${posix.dirname(modelJsons[0]!)}/`;
  const files = new Map<string, Buffer>();
  for (const [name, data] of entries) if (name.startsWith(prefix)) files.set(name.slice(prefix.length), data);
  return {
    label: basename(path),
    names: [...files.keys()].sort(),
    size: async (name) => files.get(name)?.length ?? null,
    read: async (name, maxBytes) => {
      const data = files.get(name) ?? null;
      if (data && data.length > maxBytes) {
        throw new AppError('unsupported', `too large (${(data.length / 1024 ** 2).toFixed(0)} MB; the limit is ${(maxBytes / 1024 ** 2).toFixed(0)} MB)`);
      }
      return data;
    },
  };
}

/** Opens a .zip export, a folder with model.json (or one level above it), or a model.json file. */
export async function openModelFiles(source: string): Promise<ModelFiles> {
  let info;
  try {
    info = await stat(source);
  } catch {
    throw new AppError('not-found', `No model at ${source}: the file or folder does not exist.`);
  }
  if (info.isDirectory()) return folderFiles(source);
  if (!info.isFile()) {
    throw new AppError('unsupported', `${basename(source)} is not a model: it is not a regular file (${fileKind(info)}); choose a .zip export, a folder with model.json, or a model.json file.`);
  }
  const ext = extname(source).toLowerCase();
  if (ext === '.zip') return zipFiles(source);
  if (ext === '.json') return folderFiles(dirname(source));
  // Uploaded files may have lost their extension: sniff the zip signature (4 bytes, whatever the file's size).
  const head = await readFileHead(source, 4);
  if (head[0] === 0x50 && head[1] === 0x4b) return zipFiles(source);
  throw new AppError('invalid-payload', `${basename(source)} is not a model: choose a .zip export, a folder with model.json, or a model.json file.`);
}

export function parseJson(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new AppError('invalid-payload', `${what} is not valid JSON (${(error as Error).message}).`);
  }
}

/** A JSON file of the model, refused with one line when it is larger than any real one (MAX_JSON_BYTES). */
export async function readJsonBytes(files: Pick<ModelFiles, 'label' | 'read'>, name: string): Promise<Buffer | null> {
  try {
    return await files.read(name, MAX_JSON_BYTES);
  } catch (error) {
    if (error instanceof AppError && error.code === 'unsupported') {
      throw new AppError('unsupported', `${name} in ${files.label} is ${error.message}: a model's JSON files hold kilobytes, so this is not one of them.`);
    }
    throw error;
  }
}

/** A JSON file of the model, parsed; undefined when there is no such file. */
export async function readJsonFile(files: Pick<ModelFiles, 'label' | 'read'>, name: string): Promise<unknown> {
  const data = await readJsonBytes(files, name);
  return data ? parseJson(data, `${name} in ${files.label}`) : undefined;
}
