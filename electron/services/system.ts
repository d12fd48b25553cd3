import { opendir, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { systemRequests } from '../../shared/contract/index';
import type { AppContext } from './context';
import type { DomainHandlers } from './types';
import { downloadsOf } from './downloads';
import { IMAGE_EXTENSIONS } from '../imaging/image-policy';

/** Most entries read per folder when counting its photos: a huge folder costs a bounded time, and reads "10,000+". */
export const PHOTO_COUNT_LIMIT = 10_000;

/**
 * The image files directly inside a folder, by extension (what an import would look at; no file is opened), for the
 * folder browser. An unreadable folder counts 0.
 */
async function countPhotos(folder: string): Promise<number> {
  let count = 0;
  let seen = 0;
  try {
    const dir = await opendir(folder);
    for await (const entry of dir) {
      if (++seen > PHOTO_COUNT_LIMIT) break;
      if (entry.isFile() && !entry.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) count++;
    }
  } catch {
    return 0;
  }
  return count;
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
      const listed = await Promise.all(
        entries
          .filter((entry) => !entry.name.startsWith('.'))
          .map(async (entry) => {
            const path = join(target, entry.name);
            return entry.isDirectory() ? { name: entry.name, path, isDirectory: true, images: await countPhotos(path) } : { name: entry.name, path, isDirectory: false };
          }),
      );
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
