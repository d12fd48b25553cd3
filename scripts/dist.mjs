// `npm run dist`: builds the installers with electron-builder (config: electron-builder.config.cjs).
//
// electron-builder needs an Electron distribution for the target platform. It downloads one unless told where a
// local one is; offline that download fails after a long wait with a stack trace. So first find one:
//   1. ELECTRON_OVERRIDE_DIST_PATH: an unpacked Electron folder (the same variable the electron package honours);
//   2. the Electron zip already in @electron/get's cache (electron_config_cache, else the platform's cache dir);
//   3. the download server answering (ELECTRON_MIRROR, else GitHub).
// With none of them, print one line saying what to do and exit 1.
//
// Usage: node scripts/dist.mjs [--check] [electron-builder arguments, e.g. --linux AppImage]
//   --check  only report which Electron distribution would be used.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function electronVersion() {
  return JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
}

export function electronZipName(version, platform = process.platform, arch = process.arch) {
  return `electron-v${version}-${platform}-${arch}.zip`;
}

/** @electron/get's cache root (env-paths("electron").cache), or electron_config_cache when set. */
export function electronCacheRoot(env = process.env, platform = process.platform) {
  if (env.electron_config_cache) return env.electron_config_cache;
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'electron');
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'electron', 'Cache');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'electron');
}

function findFile(dir, name, depth) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return null;
  }
  for (const entry of entries) if (entry.isFile() && entry.name === name) return join(dir, entry.name);
  if (depth === 0) return null;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const found = findFile(join(dir, entry.name), name, depth - 1);
    if (found) return found;
  }
  return null;
}

async function reachable(url, timeoutMs) {
  try {
    const response = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    return response.status < 500;
  } catch {
    return false;
  }
}

/**
 * Where electron-builder will get Electron from: { kind: 'override' | 'cache' | 'download', detail } or
 * { kind: 'none', message } with the one line to print.
 */
export async function locateElectron({ env = process.env, version = electronVersion(), platform = process.platform, arch = process.arch, timeoutMs = 5000 } = {}) {
  const override = env.ELECTRON_OVERRIDE_DIST_PATH?.trim();
  if (override) {
    if (!existsSync(override) || !statSync(override).isDirectory()) {
      return { kind: 'none', message: `pawprint dist: ELECTRON_OVERRIDE_DIST_PATH=${override} is not a folder; point it at an unpacked Electron ${version} for ${platform}-${arch}.` };
    }
    return { kind: 'override', detail: override };
  }
  const zip = electronZipName(version, platform, arch);
  const cached = findFile(electronCacheRoot(env, platform), zip, 2);
  if (cached) return { kind: 'cache', detail: cached };
  const mirror = env.ELECTRON_MIRROR?.trim() || 'https://github.com/electron/electron/releases/download/';
  const url = `${mirror.endsWith('/') ? mirror : `${mirror}/`}v${version}/${zip}`;
  if (await reachable(url, timeoutMs)) return { kind: 'download', detail: url };
  return {
    kind: 'none',
    message: `pawprint dist: no Electron ${version} for ${platform}-${arch} (cannot reach ${new URL(url).host} and ${zip} is not in the Electron cache); set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron ${version} folder and run again.`,
  };
}

async function main(argv) {
  const check = argv.includes('--check');
  const builderArgs = argv.filter((arg) => arg !== '--check');
  const found = await locateElectron();
  if (found.kind === 'none') {
    process.stderr.write(`${found.message}\n`);
    return 1;
  }
  const how = { override: 'local Electron (ELECTRON_OVERRIDE_DIST_PATH)', cache: 'cached Electron zip', download: 'Electron download' }[found.kind];
  process.stdout.write(`pawprint dist: using ${how}: ${found.detail}\n`);
  if (check) return 0;
  if (!existsSync(join(root, 'dist', 'node', 'main.js')) || !existsSync(join(root, 'dist', 'renderer', 'index.html'))) {
    process.stderr.write('pawprint dist: the app is not built (dist/node, dist/renderer); run `npm run build` first.\n');
    return 1;
  }
  const bin = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'electron-builder.cmd' : 'electron-builder');
  return new Promise((resolvePromise) => {
    const child = spawn(bin, ['--config', 'electron-builder.config.cjs', ...builderArgs], { cwd: root, stdio: 'inherit', env: process.env, shell: process.platform === 'win32' });
    child.on('exit', (code) => resolvePromise(code ?? 1));
    child.on('error', (error) => {
      process.stderr.write(`pawprint dist: cannot start electron-builder: ${error.message}\n`);
      resolvePromise(1);
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exit(await main(process.argv.slice(2)));
}
