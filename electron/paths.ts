import { homedir } from 'node:os';
import { join } from 'node:path';

export const APP_NAME = 'Pawprint';

/**
 * The folder Electron's app.getPath('userData') gives this app, computed without Electron so that the desktop app,
 * the browser host and the CLI share one catalogue.
 */
export function defaultDataDirectory(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.PAWPRINT_HOME) return env.PAWPRINT_HOME;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), APP_NAME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', APP_NAME);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), APP_NAME);
}

export interface AppPaths {
  dataDirectory: string;
  databasePath: string;
  thumbnails: string;
  models: string;
  cache: string;
  downloads: string;
}

/** --db / PAWPRINT_DB choose the catalogue; everything else the app stores lives beside it. */
export function resolvePaths(options: { db?: string; env?: NodeJS.ProcessEnv } = {}): AppPaths {
  const env = options.env ?? process.env;
  const databasePath = options.db ?? env.PAWPRINT_DB ?? join(defaultDataDirectory(env), 'pawprint.db');
  const dataDirectory = options.db || env.PAWPRINT_DB ? join(databasePath + '.data') : defaultDataDirectory(env);
  return {
    dataDirectory,
    databasePath,
    thumbnails: join(dataDirectory, 'thumbnails'),
    models: join(dataDirectory, 'models'),
    cache: join(dataDirectory, 'cache'),
    downloads: join(dataDirectory, 'downloads'),
  };
}
