import { opendir, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { AppError, firstLine } from '../../shared/errors';
import type { systemRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';
import { downloadsOf } from './downloads';
import { IMAGE_EXTENSIONS } from '../imaging/image-policy';

/** Most entries read per folder when counting its photos: a huge folder costs a bounded time, and reads "10,000+". */
export const PHOTO_COUNT_LIMIT = 10_000;

/** Folders counted at once: a folder of hundreds of subfolders must not open hundreds of handles (EMFILE) at a time. */
export const PHOTO_COUNT_CONCURRENCY = 8;

/** A folder's photo count, or why it could not be counted (shown as "?" with this reason on hover). */
export type PhotoCount = { images: number } | { imagesUnknown: string };

/** Why a folder could not be read, in words (the error's code, not a stack or "EACCES: …"). */
function unreadableReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'EMFILE':
    case 'ENFILE':
      return 'cannot be read now: too many files open; open the folder again';
    case 'ENOENT':
      return 'no longer there';
    case 'ELOOP':
      return 'cannot be read: too many symbolic links';
    default:
      return `cannot be read: ${firstLine(error)}`;
  }
}

/**
 * The image files directly inside a folder, by extension (what an import would look at; no file is opened), for the
 * folder browser; a folder that cannot be read says why instead of counting 0.
 */
export async function countPhotos(folder: string, open: typeof opendir = opendir): Promise<PhotoCount> {
  let count = 0;
  let seen = 0;
  try {
    const dir = await open(folder);
    for await (const entry of dir) {
      if (++seen > PHOTO_COUNT_LIMIT) break;
      if (entry.isFile() && !entry.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) count++;
    }
  } catch (error) {
    return { imagesUnknown: unreadableReason(error) };
  }
  return { images: count };
}

/** Counts the photos of each folder, at most `concurrency` folders at a time; answers in the folders' order. */
export async function countPhotosEach(
  folders: readonly string[],
  { concurrency = PHOTO_COUNT_CONCURRENCY, open = opendir }: { concurrency?: number; open?: typeof opendir } = {},
): Promise<PhotoCount[]> {
  const counts = new Array<PhotoCount>(folders.length);
  let next = 0;
  const worker = async () => {
    while (next < folders.length) {
      const index = next++;
      counts[index] = await countPhotos(folders[index]!, open);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, folders.length)) }, worker));
  return counts;
}

export function systemHandlers(app: AppContext): DomainHandlers<typeof systemRequests> {
  return {
    'system.info': async () => ({
      appVersion: app.appVersion,
      host: app.host.kind,
      databasePath: app.paths.databasePath,
      dataDirectory: app.paths.dataDirectory,
      nativeDialogs: app.host.pickFolder !== undefined,
      backend: app.backend,
    }),
    'system.listDirectory': async ({ path }) => {
      const target = resolve(path ?? homedir());
      let entries;
      try {
        const info = await stat(target);
        if (!info.isDirectory()) throw new AppError('invalid-payload', `Not a folder: ${target}`);
        entries = await readdir(target, { withFileTypes: true });
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError('not-found', `Cannot open folder ${target}: ${(error as Error).message}`);
      }
      const shown = entries.filter((entry) => !entry.name.startsWith('.'));
      const folders = shown.filter((entry) => entry.isDirectory()).map((entry) => join(target, entry.name));
      const counts = await countPhotosEach(folders);
      const countOf = new Map(folders.map((folder, index) => [folder, counts[index]!]));
      const listed = shown.map((entry) => {
        const path = join(target, entry.name);
        return entry.isDirectory() ? { name: entry.name, path, isDirectory: true, ...countOf.get(path) } : { name: entry.name, path, isDirectory: false };
      });
      listed.sort((a, b) => Number(b.isDirectory) - Number(a.isDirectory) || a.name.localeCompare(b.name));
      const parent = dirname(target);
      return { path: target, parent: parent === target ? null : parent, entries: listed };
    },
    'system.pickFolder': async ({ title }) => {
      if (!app.host.pickFolder) {
        throw new AppError('unsupported', 'Native folder dialogs exist only in the desktop app; type or browse a path instead.');
      }
      return app.host.pickFolder(title);
    },
    'system.openExternal': async ({ url }) => {
      if (!app.host.openExternal) throw new AppError('unsupported', 'Opening links is handled by the browser here.');
      await app.host.openExternal(url);
      return null;
    },
    'system.showInFolder': async ({ download }) => {
      if (!app.host.showItemInFolder) throw new AppError('unsupported', 'Show in folder is a desktop feature; in the browser, use the Download link.');
      const entry = downloadsOf(app).lookup(download);
      if (!entry) throw new AppError('not-found', 'That file is no longer offered (unknown or expired id): export again.');
      app.host.showItemInFolder(entry.path);
      return null;
    },
  };
}
