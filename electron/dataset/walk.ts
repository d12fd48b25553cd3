import { lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileKind } from '../files/read-regular-file';

export interface WalkedFile {
  /** Path under the root with '/' separators (what the catalogue stores). */
  relPath: string;
  absPath: string;
  size: number;
  mtimeMs: number;
  /** For a symbolic link (to a file inside the folder): the real path it led to when scanned. */
  linkTarget?: string;
}

export interface WalkProblem {
  relPath: string;
  reason: string;
}

export interface WalkResult {
  files: WalkedFile[];
  problems: WalkProblem[];
}

// Files operating systems and tools drop into photo folders; never photos.
const SYSTEM_NAMES = new Set(['thumbs.db', 'desktop.ini', 'ehthumbs.db', 'icon\r', '__macosx', '$recycle.bin', 'system volume information', 'lost+found']);

/** Entries stat'ed between two yields to the event loop: a few milliseconds of synchronous lstat calls at most. */
const STATS_PER_SLICE = 256;

export function isHiddenOrSystem(name: string): boolean {
  return name.startsWith('.') || name.startsWith('~$') || SYSTEM_NAMES.has(name.toLowerCase());
}

/**
 * Lists every regular file under `root` (sorted, so imports are deterministic). Uses lstat and follows symbolic links
 * itself, keeping the real path of every directory it entered: a link back to an ancestor (a loop) or to a folder
 * already walked is reported once and not followed, unlike fs.readdir({ recursive }) which loops.
 * A link is followed only when its real target is inside the root's real path: a dataset never reaches outside the
 * folder the user chose. Anything that is not a regular file or folder (a FIFO, a device, a socket) is reported with
 * its kind and never opened, since reading it can block forever.
 */
export async function walkFolder(
  root: string,
  options: { signal?: AbortSignal; onProgress?: (scanned: number) => void } = {},
): Promise<WalkResult> {
  const files: WalkedFile[] = [];
  const problems: WalkProblem[] = [];
  const realRoot = await realpath(root);
  const rootPrefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  const isInside = (real: string) => real === realRoot || real.startsWith(rootPrefix);
  const visited = new Set<string>([realRoot]);
  let lastReport = 0;
  let statsInSlice = 0;

  // lstat is called synchronously: on a busy machine one async call per file costs a thread-pool round trip each
  // (measured 0.2-0.6 ms a file here, 10-25x the synchronous call), which made the walk most of an unchanged re-scan.
  // The loop yields every STATS_PER_SLICE entries so the event loop (the UI, a cancel) is never held for long.
  async function lstatInSlices(absPath: string): Promise<Stats> {
    if (++statsInSlice >= STATS_PER_SLICE) {
      statsInSlice = 0;
      await new Promise((resolve) => setImmediate(resolve));
      options.signal?.throwIfAborted();
    }
    return lstatSync(absPath);
  }

  async function visit(absDir: string, relDir: string): Promise<void> {
    options.signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(absDir, { withFileTypes: true });
    } catch (error) {
      problems.push({ relPath: relDir || '.', reason: `cannot read folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isHiddenOrSystem(entry.name)) continue;
      const absPath = join(absDir, entry.name);
      const relPath = relDir ? `${relDir}/${entry.name}` : entry.name;
      let info;
      let linkTarget: string | undefined;
      try {
        info = await lstatInSlices(absPath);
        if (info.isSymbolicLink()) {
          let real: string;
          try {
            real = await realpath(absPath);
            info = await stat(absPath);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            problems.push({ relPath, reason: code === 'ELOOP' ? 'symbolic link loop' : `broken symbolic link (${code ?? 'unreadable'})` });
            continue;
          }
          if (!info.isFile() && !info.isDirectory()) {
            problems.push({ relPath, reason: `not a regular file (${fileKind(info)})` });
            continue;
          }
          if (!isInside(real)) {
            problems.push({ relPath, reason: `symbolic link to outside the imported folder (${real})` });
            continue;
          }
          if (info.isDirectory()) {
            if (visited.has(real)) {
              problems.push({ relPath, reason: 'symbolic link loop: points to a folder already scanned' });
              continue;
            }
            visited.add(real);
            await visit(absPath, relPath);
            continue;
          }
          linkTarget = real;
        } else if (info.isDirectory()) {
          const real = await realpath(absPath);
          if (visited.has(real)) continue;
          visited.add(real);
          await visit(absPath, relPath);
          continue;
        }
      } catch (error) {
        problems.push({ relPath, reason: `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
        continue;
      }
      if (!info.isFile()) {
        problems.push({ relPath, reason: `not a regular file (${fileKind(info)})` });
        continue;
      }
      files.push({ relPath, absPath, size: info.size, mtimeMs: info.mtimeMs, ...(linkTarget ? { linkTarget } : {}) });
      if (options.onProgress && files.length - lastReport >= 200) {
        lastReport = files.length;
        options.onProgress(files.length);
      }
    }
  }

  await visit(root, '');
  options.onProgress?.(files.length);
  return { files, problems };
}
