// The image files a prediction or an evaluation runs on: a folder's images, or paths expanded through class folders.
// tf-free.
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { IMAGE_EXTENSIONS } from '../imaging/image-policy';

/** Image files in a folder (not recursive) that sharp may read, sorted by name. */
export async function listImageFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(dir, e.name))
    .sort();
}

/**
 * Expands paths to image files: a file stays itself (even with an unusual extension: it gets a per-file error
 * if it is not an image); a folder gives its images, with those of subfolders up to `depth` levels (class folders).
 */
export async function collectImageFiles(paths: readonly string[], depth = 3): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, level: number) => {
    out.push(...(await listImageFiles(dir)));
    if (level >= depth) return;
    const subdirs = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
    for (const sub of subdirs) await walk(join(dir, sub), level + 1);
  };
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info?.isDirectory()) await walk(path, 0);
    else out.push(path);
  }
  return out;
}
